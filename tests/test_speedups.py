"""The C extension (checkers/_speedups.c) against its Python twins: same counts, same traces."""

import json
import os
import subprocess
import sys

import pytest

from kripke.common import speedups
from kripke.checkers.explicit import _expand, _unary
from kripke.models.two_phase import TwoPhase
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(speedups() is None, reason="the C extension is not built")


def run_cli(*args, pure):
    env = dict(os.environ)
    env.pop("KRIPKE_PURE_PYTHON", None)
    if pure:
        env["KRIPKE_PURE_PYTHON"] = "1"
    proc = subprocess.run([sys.executable, "-m", "kripke.cli", *args, "--json"], cwd=ROOT,
                          env=env, capture_output=True, text=True)
    data = json.loads(proc.stdout)
    data.pop("elapsed_s")
    return proc.returncode, data


@pytest.mark.parametrize("args", [
    ("check", "two-phase", "-p", "rms=4", "--no-symmetry"),
    ("check", "two-phase", "-p", "rms=4"),
    ("check", "two-phase", "-p", "rms=4", "--strategy", "dfs"),
    ("check", "two-phase-eager", "-p", "rms=4", "--no-symmetry"),
    ("check", "toy-branch"),
    ("check", "toy-raises"),
    ("check", "tests/fixtures/liveness_toys.py:Light"),
    ("check", "tests/fixtures/liveness_toys.py:Mailbox", "--no-fairness"),
    ("check", "commit-2pc", "--property", "participants_decide"),
])
def test_extension_and_python_agree(args, tmp_path):
    c_code, c_result = run_cli(*args, "--out", tmp_path / "c", pure=False)
    py_code, py_result = run_cli(*args, "--out", tmp_path / "py", pure=True)
    for result in (c_result, py_result):
        for v in [result["violation"] or {}, *result["violations"]]:
            v.pop("trace_file", None)
    assert (c_code, c_result) == (py_code, py_result)
    if c_result["violation"]:
        assert (tmp_path / "c" / "trace.json").read_text() == \
            (tmp_path / "py" / "trace.json").read_text()


def test_expand_matches_its_twin_state_by_state():
    from array import array
    model = TwoPhase(rms=3)
    calls = [_unary(fn, args) for _, fn, args in model._calls]
    todo, seen = list(model.init()), {}
    while todo:
        s = todo.pop()
        fired_c, fired_py = (array("Q", bytes(8 * len(calls))) for _ in range(2))
        known = array("Q", bytes(8 * 1024))
        got = speedups().expand(s, calls, fired_c, seen, None, [], model.type_checks, known)
        want = _expand(s, calls, fired_py, seen, None, [], model.type_checks)
        assert got == want and fired_c == fired_py
        for _, t, f in got[1]:
            if f not in seen:
                seen[f] = None
                todo.append(t)
    assert len(seen) == 287  # every state but the initial one


def test_record_set_and_put_in_c():
    s = next(TwoPhase(rms=3).init())
    assert s.set(tm_state="aborted") == (s.rm_state, "aborted", s.tm_prepared, s.msgs)
    assert type(s.set(tm_state="aborted")) is type(s)
    with pytest.raises(TypeError, match="set\\(\\) got an unexpected keyword argument 'nope'"):
        s.set(nope=1)
    with pytest.raises(TypeError, match="takes 1 positional argument but 2 were given"):
        s.set("aborted")
    put = speedups().put
    assert put((1, 2, 3), 0, "x") == ("x", 2, 3)
    with pytest.raises(IndexError):
        put((1, 2), 2, 0)


def test_first_bad_field_matches_its_twin():
    from kripke.models.system import _first_bad_field
    model = TwoPhase(rms=3)
    checks = [t.checker(model) for t in model._types.values()]
    s = next(model.init())
    bad = s.set(tm_prepared=frozenset({7}))
    first = speedups().first_bad_field
    for t, parent, want in [(s, None, -1), (bad, None, 2), (bad, s, 2), (bad, bad, -1),
                            (s.set(rm_state=("working", True, "working")), s, 0)]:
        assert first(t, checks, parent) == _first_bad_field(t, checks, parent) == want


def test_fingerprint_matches_its_twin_on_random_values():
    from hypothesis import given, settings, strategies as st
    from kripke.models.fingerprint import _fingerprint
    from kripke.models.types import Domain, record
    A = record("A", x=Domain("D", 2))
    scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
               | st.text(max_size=20))
    values = st.recursive(scalars, lambda inner: (
        st.tuples(inner, inner) | st.lists(inner, max_size=4).map(tuple)
        | st.frozensets(scalars, max_size=5) | inner.map(lambda v: A(x=v))), max_leaves=12)

    @settings(max_examples=300, derandomize=True, database=None)
    @given(values)
    def same(v):
        assert speedups().fingerprint(v) == _fingerprint(v)
    same()


def test_part_fingerprint_matches_its_twin_and_the_parts_fingerprint():
    """A partition key (checkers/partition.py): the fingerprint of one item, or of the tuple of
    several, in C without building the tuple."""
    from kripke.models.fingerprint import _fingerprint, _part_fingerprint
    s = TwoPhase(rms=3).State(rm_state=("working",) * 3, tm_state="init",
                              tm_prepared=frozenset({1}), msgs=frozenset())
    for indices in ((0,), (2,), (1, 2), (3, 0, 2)):
        want = _fingerprint(s[indices[0]] if len(indices) == 1
                            else tuple(s[i] for i in indices))
        assert speedups().part_fingerprint(indices, s) == _part_fingerprint(indices, s) == want
    with pytest.raises(IndexError, match="no item 4"):
        speedups().part_fingerprint((4,), s)


def test_vector_dedup_kernels_match_their_twins():
    """The vectorised engine's deduplication (checkers/vector.py): each new state's first key
    among sorted (state, path) keys, and the merge of sorted arrays, in C and in numpy, on
    random keys with many repeats and a visited set that takes some of them."""
    import numpy as np
    from kripke.checkers import vector
    from kripke.checkers.vector import _fresh_firsts_numpy
    rng = np.random.default_rng(14)
    for tag_bits, size, states in ((3, 5000, 700), (1, 1, 1), (12, 20_000, 50_000), (5, 0, 10)):
        keyed = np.sort((rng.integers(0, states, size, dtype=np.uint64) << np.uint64(tag_bits))
                        | rng.integers(0, 1 << tag_bits, size, dtype=np.uint64), kind="stable")
        visited = np.unique(rng.integers(0, states, states // 3 + 1, dtype=np.uint64))
        want = _fresh_firsts_numpy(keyed, visited, tag_bits)
        n = speedups().fresh_firsts(keyed, visited, tag_bits)
        assert np.array_equal(keyed[:n], want)
        assert len(set((want >> np.uint64(tag_bits)).tolist()) & set(visited.tolist())) == 0
        out = np.empty(len(visited) + len(want), np.uint64)
        speedups().merge_into(visited, want >> np.uint64(tag_bits), out)
        assert np.array_equal(out, np.sort(np.concatenate([visited, want >> np.uint64(tag_bits)])))
    rows = np.sort(rng.integers(0, 1 << 20, 3000, dtype=np.uint64))
    for keep, bits in ((~0b1100 & (1 << 64) - 1, 0b0100), ((1 << 64) - 1, 0), (0, 7)):
        c_out, py_out = np.zeros(3100, np.uint64), np.zeros(3100, np.uint64)
        at = speedups().emit_keys(rows, keep, bits, 5, 4, c_out, 100)
        assert at == vector._emit_keys_numpy(rows, keep, bits, 5, 4, py_out, 100)
        assert np.array_equal(c_out[:at], py_out[:at])
        assert at - 100 == int(((rows & np.uint64(keep)) | np.uint64(bits) != rows).sum())
    with pytest.raises(ValueError, match="no room"):
        speedups().emit_keys(rows, 0, 1, 0, 4, np.zeros(10, np.uint64), 0)
    with pytest.raises(TypeError, match="uint64"):
        speedups().fresh_firsts(np.zeros(3, np.int64), np.zeros(0, np.uint64), 2)
    with pytest.raises(ValueError, match="len\\(a\\) \\+ len\\(b\\)"):
        speedups().merge_into(np.zeros(2, np.uint64), np.zeros(1, np.uint64),
                              np.zeros(2, np.uint64))


def _error_paths(pure):
    """Run the error paths of the C functions (or of their twins) in a fresh process: what
    each returns or raises."""
    script = """
import json
from array import array
from kripke.checkers.explicit import expand
from kripke.models.fingerprint import fingerprint
from kripke.models.system import first_bad_field
from kripke.models.types import Int, put, record
from kripke.models.two_phase import TwoPhase
Msg = record("Msg", v=Int(0, 4))
s = next(TwoPhase(rms=2).init())
model = TwoPhase(rms=2)

def outcome(f):
    try:
        return repr(f())
    except Exception as e:
        return f"{type(e).__name__}: {e}"

def boom(s, arg):
    raise ZeroDivisionError("boom")

cases = {
    "set positional": lambda: s.set("aborted"),
    "set unknown field": lambda: s.set(nope=1),
    "set no change": lambda: s.set() == s,
    "put": lambda: put((1, 2, 3), 1, "x"),
    "put negative": lambda: put((1, 2, 3), -1, "x"),
    "put out of range": lambda: put((1, 2), 2, 0),
    "put a list": lambda: put([1, 2], 0, 0),
    "put a str index": lambda: put((1, 2), "a", 0),
    "bad field sizes": lambda: first_bad_field((1, 2), model.type_checks, None),
    "bad field raises": lambda: first_bad_field(s, [None] * len(s), None),
    "fingerprint list": lambda: fingerprint([1]),
    "fingerprint a type": lambda: fingerprint(int),
    "fingerprint -1 -2": lambda: fingerprint(-1) != fingerprint(-2),
    "record keeps bool": lambda: (type(Msg(v=True).v).__name__, type(Msg(v=1).v).__name__),
    "expand raising action": lambda: expand(s, [(boom, None)], array("Q", [0]), {}, None, [],
                                            None, None),
    "expand type error": lambda: expand(s, [(lambda s, a: s.set(tm_state=1.5), None)],
                                        array("Q", [0]), {}, None, [], model.type_checks,
                                        array("Q", bytes(64))),
    "expand not a record": lambda: expand(s, [(lambda s, a: tuple(s), None)],
                                          array("Q", [0]), {}, None, [], model.type_checks,
                                        array("Q", bytes(64))),
    "expand stutter skips step checks": lambda: expand(
        s, [(lambda s, a: s, None)], array("Q", [0]), {}, None, [lambda t: False], None, None)[0],
    "expand step check": lambda: expand(
        s, [(lambda s, a: s.set(tm_state="aborted"), None)], array("Q", [0]), {}, None,
        [lambda t: False], None, None)[0],
}
print(json.dumps({k: outcome(f) for k, f in cases.items()}))
"""
    env = dict(os.environ)
    env.pop("KRIPKE_PURE_PYTHON", None)
    if pure:
        env["KRIPKE_PURE_PYTHON"] = "1"
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def test_error_paths_match_their_twins():
    c, py = _error_paths(pure=False), _error_paths(pure=True)
    assert c == py
    assert c["set positional"] == "TypeError: set() takes 1 positional argument but 2 were given"
    assert c["set unknown field"] == "TypeError: set() got an unexpected keyword argument 'nope'"
    assert c["put a list"].startswith("TypeError")
    assert c["put out of range"] == "IndexError: put: index out of range"
    assert c["bad field sizes"] == "ValueError: first_bad_field: sizes differ"
    assert c["fingerprint list"].startswith("TypeError: cannot fingerprint a value of type list")
    assert c["record keeps bool"] == "('bool', 'int')"
    assert c["expand raising action"] == "ZeroDivisionError: boom"
    assert c["expand stutter skips step checks"] == "1"
    assert c["expand step check"] == "-1"
    assert c["expand type error"].startswith("(-2, (1, 0,")
    assert c["expand not a record"].startswith("(-2, (-1, 0,")


def test_reads_remembers_answers_by_the_values_of_the_fields():
    """kripke._speedups.Reads (models.fingerprint.reads): an answer is given again for the same
    values (1 is not True), for the same model object only; a call it cannot key (not a record
    with the fields, an unfingerprintable value, other arguments) goes to the function, and an
    exception is not remembered."""
    from collections import namedtuple
    from kripke.models.fingerprint import reads
    from kripke.models.types import Int, state_record
    S = state_record("S", {"a": Int(0, 9), "b": Int(0, 9)})
    calls = []

    @reads("a")
    def small(model, s):
        """a is small"""
        calls.append(s)
        if s.a == 7:
            raise ValueError("seven")
        return s.a in (0, 1)

    assert (small.__name__, small.__doc__, small.reads) == ("small", "a is small", ("a",))
    m1, m2 = object(), object()
    assert small(m1, S(a=1, b=0)) is True and small(m1, S(a=1, b=5)) is True
    assert len(calls) == 1 and (small.hits, small.misses) == (1, 1)
    assert small(m1, S(a=True, b=0)) is True and len(calls) == 2  # True is another value
    assert small(m2, S(a=1, b=0)) is True and len(calls) == 3  # another model
    for _ in range(2):
        with pytest.raises(ValueError, match="seven"):
            small(m2, S(a=7, b=0))
    assert len(calls) == 5
    small(m2, namedtuple("N", "a b")(1, 0))  # a tuple that is not a kripke record
    small(m2, S(a=[1], b=0))  # not a value kripke fingerprints
    small(m2, s=S(a=1, b=0))  # a keyword
    assert len(calls) == 8

    @reads("a")
    def grows(model, s, t):
        return t.a >= s.a
    assert grows(m1, S(a=1, b=0), S(a=2, b=0)) and not grows(m1, S(a=2, b=0), S(a=1, b=3))
    assert grows(m1, S(a=1, b=9), S(a=2, b=9)) and grows.hits == 1


def test_laststate_and_overeach_match_their_twins():
    """kripke._speedups.LastState (the network's deliverable messages, computed once per state)
    and OverEach (an engine call of an action over a state-dependent domain) against the Python
    twins, MessagePassing.deliverable and models.system._over_each, on raft's reachable states
    with a network that loses, duplicates and reorders."""
    from kripke.models.network import MessagePassing
    from kripke.models.raft import Raft
    from kripke.models.system import _over_each
    from tests.conftest import reachable_states
    model = Raft(servers=2, max_msgs=2, lossy=True, duplicating=True, max_term=1)
    c = speedups()
    assert type(model.deliverable) is c.LastState
    calls = [(name, getattr(model, name), model._dynamic[name], args)
             for name, _, args in model._calls if name in model._dynamic]
    assert {name for name, *_ in calls} >= {"update_term", "drop_message", "duplicate_message"}
    states = sorted(reachable_states(model), key=repr)
    for s in states:
        assert model.deliverable(s) == MessagePassing.deliverable(model, s)
        assert model.deliverable(s) is model.deliverable(s)  # asked again: the same answer
        for name, method, over, args in calls:
            assert c.OverEach(method, over, args)(s) == _over_each(method, over, args)(s), name
    # A state of another class (a symbolic engine's): computed every time, not kept.
    other = tuple.__new__(type("Other", (model.State,), {"__slots__": ()}), states[-1])
    assert model.deliverable(other) is not model.deliverable(other)

"""The compact visited set (checkers/visited.py, checkers/_visited.c; issue 13, item 3): the C
FingerprintTable and its Python twin against the dict they replace, on random and adversarial
fingerprints, across resizes, through to_bytes / from_bytes and every kind of corrupt input; and
the memory bound, at most 24 bytes a state.

``python -m tests.test_visited [N]`` prints bytes a state and ns an insert / lookup for the C
table and a dict at N states (10 M by default); the slow test runs it.
"""

import importlib.util
import operator
import os
import random
import subprocess
import sys
import time
import tracemalloc
from array import array
from collections import deque
from itertools import repeat

import pytest

from kripke.checkers.visited import NO_PARENT, NOTED, FingerprintTable, PyFingerprintTable
from kripke.common import extension
from tests.conftest import ROOT

C = getattr(extension("_visited"), "FingerprintTable", None)
needs_c = pytest.mark.skipif(C is None, reason="the C extension is not built")
TOP = 2**64 - 1


@pytest.fixture(params=["c", "python"])
def Table(request):
    if request.param == "c" and C is None:
        pytest.skip("the C extension is not built")
    return C if request.param == "c" else PyFingerprintTable


def fill(Table, fps, rng, noted=0.0):
    """A table and a dict holding ``fps`` in order, each with a random earlier parent (or
    None), but for a share ``noted`` of them, noted in the table and left out of the dict (a
    parent may be noted)."""
    t, d, known = Table(), {}, []
    for fp in fps:
        if rng.random() < noted:
            t.note(fp)
        else:
            parent = rng.choice(known) if known and rng.random() < 0.9 else None
            t[fp] = d[fp] = parent
        known.append(fp)
    return t, d


def assert_same(t, d, probes, noted=frozenset()):
    """``t`` stores what ``d`` holds, and notes ``noted``."""
    assert len(t) == len(d) and list(t) == list(d)
    for fp in probes:
        assert (fp in t) == (fp in d or fp in noted)
        assert t.get(fp, "absent") == d.get(fp, "absent")
        assert t.get(fp) == d.get(fp)
        if fp in d:
            assert t[fp] == d[fp]
        else:
            with pytest.raises(KeyError):
                t[fp]


KEYS = {
    "random": lambda rng: [rng.getrandbits(64) for _ in range(3000)],
    "extremes": lambda rng: [0, TOP, 1, TOP - 1, 2**63, 2**63 - 1, 2**32, 2**32 - 1],
    "equal low bits": lambda rng: [i << 40 for i in range(3000)],
    "equal high bits": lambda rng: [TOP - i for i in range(3000)],
    "small": lambda rng: list(range(3000)),
    "one bit each": lambda rng: [1 << i for i in range(64)] + [TOP ^ (1 << i) for i in range(64)],
}


@pytest.mark.parametrize("keys", sorted(KEYS))
def test_behaves_like_a_dict(Table, keys):
    rng = random.Random(keys)
    fps = list(dict.fromkeys(KEYS[keys](rng)))
    rng.shuffle(fps)
    t, d = fill(Table, fps[: len(fps) // 2], rng)
    assert_same(t, d, fps)  # half are absent


def test_grows_across_resizes(Table):
    rng = random.Random(1)
    fps = [rng.getrandbits(64) for _ in range(100_000)]
    t, sizes = Table(), [Table().nbytes]
    for n, fp in enumerate(fps, start=1):
        t[fp] = fps[n // 2 - 1] if n > 1 else None
        if t.nbytes != sizes[-1]:  # it grew: everything stored so far is still found
            sizes.append(t.nbytes)
            assert all(map(operator.contains, repeat(t), fps[:n]))
            assert not any(map(operator.contains, repeat(t), range(1000)))
    assert len(sizes) > 8
    assert [t[fp] for fp in fps[1:]] == [fps[n // 2 - 1] for n in range(2, len(fps) + 1)]


def test_parents_lead_back_to_an_initial_state(Table):
    """As _Search._path follows them: a chain 2000 deep beside a few short branches."""
    t = Table()
    t[0] = None
    for fp in range(1, 2000):
        t[fp << 20] = (fp - 1) << 20
        t[(fp << 20) | 1] = (fp - 1) << 20
    t[TOP] = None
    path, fp = [], (1999 << 20) | 1
    while fp is not None:
        path.append(fp)
        fp = t[fp]
    assert path[::-1] == [fp << 20 for fp in range(1999)] + [(1999 << 20) | 1]
    assert t[TOP] is None and t.get(TOP, "absent") is None


def test_round_trip(Table):
    rng = random.Random(2)
    fps = [0, TOP] + [rng.getrandbits(64) for _ in range(5000)]
    t, d = fill(Table, fps, rng)
    fps_bytes, parents_bytes = t.to_bytes()
    assert len(fps_bytes) == 8 * len(fps) and len(parents_bytes) == 4 * len(fps)
    assert list(array("Q", fps_bytes)) == fps  # little-endian, as on this machine
    assert array("I", parents_bytes)[0] == NO_PARENT
    for Back in (C, PyFingerprintTable) if C is not None else (PyFingerprintTable,):
        for data in ((fps_bytes, parents_bytes),
                     (bytearray(fps_bytes), memoryview(parents_bytes))):
            u = Back.from_bytes(*data)
            assert_same(u, d, fps + [1, 2, 3])
            assert u.to_bytes() == (fps_bytes, parents_bytes)
            u[7] = TOP  # and it goes on growing
            assert u[7] == TOP and list(u)[-1] == 7
    assert Table.from_bytes(b"", b"").to_bytes() == (b"", b"")


@needs_c
@pytest.mark.parametrize("noted", [0.0, 0.4])
def test_c_and_twin_write_the_same_bytes(noted):
    rng = random.Random(3)
    fps = [rng.getrandbits(64) for _ in range(2000)]
    c, _ = fill(C, fps, random.Random(4), noted)
    py, _ = fill(PyFingerprintTable, fps, random.Random(4), noted)
    assert c.to_bytes() == py.to_bytes()


def test_noted_fingerprints_are_known_but_not_stored(Table):
    """A shard's notes (checkers.parallel): ``in`` finds them, so the search skips them; ``len``,
    iteration, ``t[fp]`` and ``get`` see the stored states only; a stored state's parent may be
    a noted one; noting what is in the table changes nothing; notes survive a round trip."""
    rng = random.Random(6)
    fps = [rng.getrandbits(64) for _ in range(20_000)]  # across resizes
    t, d = fill(Table, fps, rng, noted=0.5)
    noted = [fp for fp in fps if fp not in d]
    assert t.noted == len(noted) and 9000 < len(noted) < 11000
    assert all(fp in t for fp in noted)
    assert_same(t, d, fps + [1, 2, 3], set(noted))  # absent to [], get, len and iteration
    before = t.to_bytes()
    for fp in fps[::7]:
        t.note(fp)  # stored or noted already: nothing changes
    assert t.to_bytes() == before and t.noted == len(noted)
    kinds = array("I", before[1])
    assert [p == NOTED for p in kinds] == [fp not in d for fp in fps]
    u = Table.from_bytes(*before)
    assert u.noted == len(noted) and all(fp in u for fp in noted)
    assert_same(u, d, fps, set(noted))
    child = noted[-1] ^ 1
    u[child] = noted[-1]
    assert u[child] == noted[-1] and len(u) == len(d) + 1
    with pytest.raises(ValueError, match="already in the table"):
        u[noted[0]] = None
    with pytest.raises(TypeError):
        u.note("x")
    with pytest.raises(OverflowError):
        u.note(-1)


def le(*values, size):
    return b"".join(v.to_bytes(size, "little") for v in values)


CORRUPT = {
    "fingerprints not whole": (b"\0" * 7, b"", ("7 bytes of fingerprints and 0 of parents are "
                                                "not whole 8- and 4-byte entries")),
    "parents not whole": (b"\0" * 8, b"\xff" * 3, ("8 bytes of fingerprints and 3 of parents "
                                                   "are not whole 8- and 4-byte entries")),
    "more fingerprints": (le(1, 2, size=8), le(NO_PARENT, size=4), "2 fingerprints but 1 parents"),
    "more parents": (le(1, size=8), le(NO_PARENT, 0, size=4), "1 fingerprints but 2 parents"),
    "own parent": (le(1, size=8), le(0, size=4), "entry 0 has parent 0, not an earlier entry"),
    "later parent": (le(1, 2, 3, size=8), le(NO_PARENT, 2, 0, size=4),
                     "entry 1 has parent 2, not an earlier entry"),
    "parent beyond the end": (le(1, 2, size=8), le(NO_PARENT, NOTED - 1, size=4),
                              "entry 1 has parent 4294967293, not an earlier entry"),
    "repeated fingerprint": (le(7, 8, 7, size=8), le(NO_PARENT, 0, 1, size=4),
                             "entry 2 repeats the fingerprint 7 of entry 0"),
    "repeated zero": (le(0, 0, size=8), le(NO_PARENT, NO_PARENT, size=4),
                      "entry 1 repeats the fingerprint 0 of entry 0"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupt_input_is_refused(Table, case):
    fps, parents, message = CORRUPT[case]
    with pytest.raises(ValueError, match=f"^corrupt FingerprintTable: {message}$"):
        Table.from_bytes(fps, parents)


def test_random_damage_is_refused_or_read_alike():
    """Bytes flipped, cut or appended: the C table and the twin refuse the same entry, or read
    the same table; nothing crashes."""
    rng = random.Random(5)
    fps = [rng.getrandbits(64) for _ in range(50)]
    good = fill(PyFingerprintTable, fps, rng, noted=0.3)[0].to_bytes()
    for _ in range(2000):
        data = [bytearray(b) for b in good]
        for _ in range(rng.randint(1, 3)):
            b = data[rng.randrange(2)]
            how = rng.randrange(3)
            if how == 0 and b:
                b[rng.randrange(len(b))] = rng.randrange(256)
            elif how == 1:
                del b[rng.randrange(len(b) + 1):]
            else:
                b += bytes(rng.randrange(256) for _ in range(rng.randint(1, 9)))
        outcomes = []
        for Table in (C, PyFingerprintTable) if C is not None else (PyFingerprintTable,):
            try:
                outcomes.append(Table.from_bytes(*data).to_bytes())
            except ValueError as e:
                outcomes.append(str(e))
        assert len(set(outcomes)) == 1


def test_from_bytes_wants_bytes(Table):
    with pytest.raises(TypeError):
        Table.from_bytes([1, 2], b"")
    with pytest.raises(TypeError):
        Table.from_bytes(b"")


BAD = [("x", TypeError, "a {what} is an int in \\[0, 2\\*\\*64\\), not str"),
       (1.0, TypeError, "a {what} is an int in \\[0, 2\\*\\*64\\), not float"),
       ((1,), TypeError, "a {what} is an int in \\[0, 2\\*\\*64\\), not tuple"),
       (-1, OverflowError, "{what} -1 is outside \\[0, 2\\*\\*64\\)"),
       (2**64, OverflowError, "{what} 18446744073709551616 is outside \\[0, 2\\*\\*64\\)")]


@pytest.mark.parametrize("key, error, message", BAD)
def test_bad_fingerprints_are_refused_whatever_the_operation(Table, key, error, message):
    t = Table()
    t[5] = None
    fingerprint = message.format(what="fingerprint")
    for op in (lambda: key in t, lambda: t[key], lambda: t.get(key), lambda: t.get(key, 0),
               lambda: t.__setitem__(key, None), lambda: t.__setitem__(key, 5)):
        with pytest.raises(error, match=f"^{fingerprint}$"):
            op()
    with pytest.raises(error, match=f"^{message.format(what='parent')}$"):
        t[6] = key
    assert list(t) == [5]


def test_what_the_search_never_does_is_refused(Table):
    t = Table()
    t[5] = None
    with pytest.raises(KeyError, match="parent 6 is not in the table"):
        t[7] = 6
    with pytest.raises(ValueError, match="^fingerprint 5 is already in the table$"):
        t[5] = None
    with pytest.raises(ValueError, match="^fingerprint 5 is already in the table$"):
        t[5] = 5
    with pytest.raises(TypeError, match="does not support item deletion"):
        del t[5]
    with pytest.raises(KeyError) as absent:
        t[6]
    assert absent.value.args == (6,)
    assert list(t) == [5] and t[5] is None
    with pytest.raises(TypeError):
        Table(5)


def test_ints_by_index(Table):
    t = Table()
    t[True] = None  # bool, like anything with __index__, is the int it stands for
    t[2] = True
    assert list(t) == [1, 2] and t[2] == 1 and type(t[2]) is int and 1 in t


def test_growing_while_iterating_is_refused(Table):
    t = Table()
    t[1] = None
    with pytest.raises(RuntimeError, match="changed size during iteration"):
        for fp in t:
            t[fp + 1] = fp


def test_the_env_picks_the_twin():
    probe = "from kripke.checkers.visited import FingerprintTable as T; print(T.__name__)"
    env = {k: v for k, v in os.environ.items() if k != "KRIPKE_PURE_PYTHON"}
    names = [subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=e, capture_output=True,
                            text=True, check=True).stdout.strip()
             for e in (env, {**env, "KRIPKE_PURE_PYTHON": "1"})]
    built = importlib.util.find_spec("kripke._visited") is not None
    assert names == ["FingerprintTable" if built else "PyFingerprintTable", "PyFingerprintTable"]
    assert FingerprintTable is (C or PyFingerprintTable)


@needs_c
def test_at_most_24_bytes_a_state():
    """At 1 M states and right after every resize from 64 K states on (the worst moments: the
    arrays have just grown), counting the index's empty slots and the arrays' unused tail."""
    fps = array("Q", random.Random(6).randbytes(8 * 1_000_000))
    t, last, checked = C(), 0, 0
    for n, fp in enumerate(fps, start=1):
        t[fp] = None
        if t.nbytes != last:
            last = t.nbytes
            if n >= 2**16:
                assert last / n <= 24, (n, last)
                checked += 1
    assert checked >= 10
    assert t.nbytes / len(t) <= 24
    assert C.from_bytes(*t.to_bytes()).nbytes / len(t) <= 24


@needs_c
def test_nbytes_is_what_was_allocated():
    fps = list(array("Q", random.Random(7).randbytes(8 * 200_000)))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        t = C()
        deque(map(operator.setitem, repeat(t), fps, repeat(None)), 0)
        allocated = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert abs(allocated - t.nbytes) < 1024 and sys.getsizeof(t) >= t.nbytes


@pytest.mark.skipif(extension("_speedups") is None, reason="the C extensions are not built")
@needs_c
def test_the_c_search_loop_takes_a_table():
    """expand's membership test (PySequence_Contains) on a FingerprintTable, as on a dict."""
    from kripke.checkers.explicit import _unary
    from kripke.models.two_phase import TwoPhase
    model = TwoPhase(rms=3)
    calls = [_unary(fn, args) for _, fn, args in model._calls]
    todo, seen = [(s, None) for s in model.init()], C()
    fired, known = array("Q", bytes(8 * len(calls))), array("Q", bytes(8 * 1024))
    while todo:
        s, fp = todo.pop()
        for _, t, f in extension("_speedups").expand(s, calls, fired, seen, None, [],
                                                     model.type_checks, known)[1]:
            if f not in seen:
                seen[f] = fp
                todo.append((t, f))
    assert len(seen) == 287  # every state but the initial one (TLC counts 288)


def ns_each(fn, *iterables):
    """Nanoseconds a call of ``fn`` over the iterables' items, looped in C (map), not Python."""
    start = time.perf_counter()
    deque(map(fn, *iterables), 0)
    return (time.perf_counter() - start) * 1e9 / len(iterables[-1])


def measure(n):
    """Bytes a state, and ns an insert, a lookup that hits and one that misses, for the C table
    and for a dict, at ``n`` states of a breadth-first tree (three children a state)."""
    rng = random.Random(13)
    fps = list(dict.fromkeys(array("Q", rng.randbytes(8 * n))))
    parents = [None] + [fps[e // 3] for e in range(1, len(fps))]
    misses = list(array("Q", rng.randbytes(8 * len(fps))))
    rows = {}
    for name, make in (("FingerprintTable", C), ("dict", dict)):
        t = make()
        insert = ns_each(operator.setitem, repeat(t), fps, parents)
        hit = ns_each(operator.contains, repeat(t), fps)
        miss = ns_each(operator.contains, repeat(t), misses)
        # A dict's keys are int objects of their own (the parents are the same objects).
        nbytes = t.nbytes if make is C else sys.getsizeof(t) + sum(map(sys.getsizeof, t))
        rows[name] = (nbytes / len(fps), insert, hit, miss)
        del t
    return rows


def report(n, rows):
    lines = [f"{n:,} states: bytes/state, ns/insert, ns/hit, ns/miss"]
    lines += [f"  {name:16} {b:6.1f} {i:9.0f} {h:7.0f} {m:7.0f}"
              for name, (b, i, h, m) in rows.items()]
    return "\n".join(lines)


@pytest.mark.slow
@needs_c
def test_ten_million_states(capsys):
    rows = measure(10_000_000)
    with capsys.disabled():
        print("\n" + report(10_000_000, rows))
    assert rows["FingerprintTable"][0] <= 24


if __name__ == "__main__":
    states = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    print(report(states, measure(states)))

"""Consistency levels on histories: hand-written classics with pinned verdicts and minimal
violating subsets, brute-force oracles for every level, the hierarchy, budgets, JSON loading and
the levels as model invariants."""

import itertools
import json
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from kripke.errors import TraceFormatError, UnknownNameError
from kripke.checkers.explicit import check
from kripke.models.system import TransitionSystem, action
from kripke.models.types import Enum, Int, Optional, Seq, record
from kripke.specs.consistency import (LEVELS, BudgetExhausted, HistoryError, Operation, check_history,
                               consistency_invariant, load_history)
from tests.test_consistency_levels import oracle

HISTORIES = Path(__file__).parent / "histories"

LIN, SEQ, CAUSAL, SESSION, RYW, MR, MW, WFR = LEVELS


def W(session, value, invoked, completed, key=0):
    return Operation(session=session, kind="write", key=key, value=value, invoked=invoked,
                     completed=completed)


def R(session, value, invoked, completed, key=0):
    return Operation(session=session, kind="read", key=key, value=value, invoked=invoked,
                     completed=completed)


def verdicts(ops, budget_s=10.0):
    return {level: check_history(ops, level, budget_s).verdict for level in LEVELS}


# -- The classics: each level's verdict and its minimal violating subset (indices in the file) ----

ALL = "all"  # every operation of the history
#: history -> the minimal violating subset per level in LEVELS order (None: the level holds):
#: linearizability, sequential, causal, session, read-your-writes, monotonic reads, monotonic
#: writes, writes-follow-reads
EXPECTED = {
    # a read after a completed write returns the old value: only real time forbids it
    "stale_read": ([0, 1],) + (None,) * 7,
    # two readers see concurrent writes in opposite orders: causal memory allows it, and so do
    # the session guarantees, each session arbitrating on its own
    "opposite_orders": ([0, 1, 2, 3, 5], ALL) + (None,) * 6,
    # each session misses the other's write to another key (the store-buffering litmus test)
    "store_buffering": ([0, 3], ALL) + (None,) * 6,
    # a session writes, then reads the initial value (a lagging replica)
    "read_your_writes_initial": (ALL, ALL, ALL, ALL, ALL, None, None, None),
    # a session writes 1 and 2, then reads 1 and 2: its one arbitration cannot have each last
    "own_writes_in_both_orders": ([0, 1, 2], [0, 1, 2], [0, 1, 2], [0, 1, 2], ALL, None, None,
                                  None),
    # concurrent writes 1 and 2; a session reads 1, then 2, then 1 again
    "monotonic_reads": ([0, 1, 2], ALL, ALL, ALL, None, ALL, None, None),
    # each session reads the other's write, then makes its own: which came first?
    "writes_follow_reads": ([0, 3], ALL, ALL, ALL, None, None, None, ALL),
    # issue 9: a session writes 1, writes 2, reads 1. Read-your-writes alone lets the read see
    # both writes with 1 arbitrated last; monotonic writes puts 2 last
    "read_own_older_write": (ALL, ALL, ALL, ALL, None, None, None, None),
    # issue 9: session 0 writes 1 then 2; session 1 reads 2 then 1. Monotonic reads alone lets
    # session 1 arbitrate 1 last; monotonic writes puts 2 last
    "read_writes_in_reverse": ([0, 1, 3], ALL, ALL, ALL, None, None, None, None),
    # a session reads 2, overwrites it with 1, then reads 2 again: read-your-writes alone
    # arbitrates 1 before 2, writes-follow-reads alone 2 before 1
    "reread_after_overwrite": ([0, 2, 3], ALL, ALL, ALL, None, None, None, None),
    # x = 1 causally precedes y = 1, yet a reader of y = 1 then reads the initial x: the
    # session guarantees are per key
    "causal_across_keys": ([0, 3], ALL, ALL) + (None,) * 5,
    # each guarantee alone can be met, not both in one arbitration: 1 < 2 (read after own
    # write 1), 2 < 1 (read 2 then 1)
    "session_not_ryw_or_mr": ([0, 1, 2], ALL, ALL, ALL, None, None, None, None),
    # two concurrent writes, read 2 then 1: any order of concurrent writes is fine
    "concurrent_writes": (None,) * 8,
    # a session's write is overtaken by a concurrent write invoked before it
    "own_write_overtaken": (None,) * 8,
    # a pending write is invisible, then visible
    "pending_write": (None,) * 8,
    # a pending write read before it was invoked: linearizability only forbids it
    "pending_write_read_early": (ALL,) + (None,) * 7,
    # key 0 is linearizable, key 1 has a stale read
    "two_keys": ([1, 3],) + (None,) * 7,
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_classic_histories(name):
    ops = load_history(HISTORIES / f"{name}.json")
    for level, subset in zip(LEVELS, EXPECTED[name]):
        r = check_history(ops, level)
        if subset is None:
            assert (r.verdict, r.violation) == ("ok", ()), (level, r.explanation)
        else:
            expected = list(range(len(ops))) if subset == ALL else subset
            assert r.verdict == "violated" and r.minimal, level
            assert [ops.index(o) for o in r.violation] == expected, level


def test_explanations():
    def why(name, level):
        return check_history(load_history(HISTORIES / f"{name}.json"), level).explanation
    assert why("stale_read", LIN) == ("key 0: no order of its 2 operations that respects real "
                                      "time has every read return the latest write")
    assert why("opposite_orders", SEQ) == ("no order of the 6 operations that keeps each "
                                           "session's order has every read return the latest "
                                           "write")
    assert why("read_your_writes_initial", RYW) == (
        "session 0 sees key 0 go back: session 0 wrote 1 then read None, the initial value")
    assert why("own_writes_in_both_orders", RYW) == (
        "session 0 sees key 0 go back: session 0 wrote 2 then read 1; session 0 wrote 1 then "
        "read 2")
    assert why("monotonic_reads", MR) == (
        "session 2 sees key 0 go back: session 2 read 1 then read 2; session 2 read 2 then "
        "read 1")
    assert why("writes_follow_reads", WFR) == (
        "no order of the writes to key 0 puts each after what its session wrote and read before "
        "it: session 0 read 2 then wrote 1; session 1 read 1 then wrote 2")
    assert why("reread_after_overwrite", SESSION) == (
        "session 0 sees key 0 go back: session 0 read 2 then wrote 1; session 0 wrote 1 then "
        "read 2")
    assert why("read_writes_in_reverse", SESSION) == (
        "session 1 sees key 0 go back: session 0 wrote 1 then wrote 2; session 1 read 2 then "
        "read 1")
    assert why("causal_across_keys", CAUSAL) == (
        "s1 read k0=None [6,7] returns the initial value though s0 write k0=1 [0,1] causally "
        "precedes it")
    assert why("read_writes_in_reverse", CAUSAL) == (
        "s1 read k0=1 [6,7] returns s0 write k0=1 [0,1] though s0 write k0=2 [2,3] overwrites "
        "it and causally precedes the read")
    assert why("session_not_ryw_or_mr", CAUSAL) == (
        "session 0 has no causal view: no order of every write and of its reads that extends "
        "causal order has each read return the latest write")
    ops = [W(0, 1, 0, 1), R(1, 7, 2, 3)]
    assert {check_history(ops, level).explanation for level in LEVELS} == {
        "s1 read k0=7 [2,3] returns a value that no write wrote"}
    assert str(check_history(load_history(HISTORIES / "stale_read.json"), LIN)) == (
        "linearizability: violated: key 0: no order of its 2 operations that respects real "
        "time has every read return the latest write\n"
        "  s0 write k0=1 [0,1]\n"
        "  s1 read k0=None [2,3]")


@pytest.mark.parametrize("first,second", [(1, 2), (2, 1)])
def test_concurrent_writes_read_in_either_order_are_linearizable(first, second):
    ops = [W(0, 1, 0, 9), W(1, 2, 1, 10), R(2, first, 2, 3), R(2, second, 4, 5),
           R(3, second, 6, 7)]
    assert set(verdicts(ops).values()) == {"ok"}
    # once both writes have completed, the order is fixed
    late = [W(0, 1, 0, 1), W(1, 2, 2, 3), R(2, 2, 4, 5), R(3, 1, 6, 7)]
    assert verdicts(late)[LIN] == "violated" and verdicts(late)[SEQ] == "ok"


def test_pending_write_may_or_may_not_take_effect():
    pending = W(0, 1, 0, None)
    never = [pending, R(1, None, 1, 2), R(1, None, 3, 4)]
    later = [pending, R(1, None, 1, 2), R(1, 1, 3, 4)]
    back = [pending, R(1, 1, 1, 2), R(1, None, 3, 4)]
    assert set(verdicts(never).values()) == set(verdicts(later).values()) == {"ok"}
    assert verdicts(back) == dict.fromkeys(LEVELS, "violated") | dict.fromkeys((RYW, MW, WFR),
                                                                                "ok")
    # a pending read returned nothing: its value is not checked
    assert set(verdicts([W(0, 1, 0, 1), R(1, 99, 2, None)]).values()) == {"ok"}


def test_keys_are_independent_registers():
    ops = load_history(HISTORIES / "two_keys.json")
    by_key = {k: [o for o in ops if o.key == k] for k in (0, 1)}
    assert [check_history(by_key[k], LIN).verdict for k in (0, 1)] == ["ok", "violated"]
    # the same value may be written to different keys; each key starts from None
    assert check_history([W(0, 5, 0, 1, key=0), W(1, 5, 2, 3, key=1),
                          R(0, 5, 4, 5, key=1), R(1, 5, 6, 7, key=0)], LIN).verdict == "ok"
    # operations on another key change no verdict of a key
    noise = [W(2, 9, 8, 9, key=2), R(2, None, 10, 11, key=3)]
    for level in LEVELS:
        assert check_history(list(ops) + noise, level).verdict == \
            check_history(ops, level).verdict


def test_an_order_of_invocation_would_reject_a_linearizable_history():
    """Why read-your-writes judges "older" by an order the session could have seen, not by
    invocation: session 1's write is invoked first but takes effect after session 0's."""
    ops = load_history(HISTORIES / "own_write_overtaken.json")
    assert ops[0].invoked < ops[1].invoked and ops[2].value == ops[0].value
    assert check_history(ops, LIN).verdict == check_history(ops, RYW).verdict == "ok"


def test_malformed_histories_are_rejected():
    cases = [
        ([W(0, 1, 0, 1), W(0, 2, 1, 3)], "time 1 is used twice"),
        ([W(0, 1, 0, 3), R(0, 1, 1, 2)], "session 0 invokes operation 1 before operation 0 has "
                                         "returned"),
        ([W(0, 1, 0, None), R(0, 1, 1, 2)], "session 0 invokes operation 1 before operation 0"),
        ([W(0, 1, 0, 1), W(1, 1, 2, 3)], "operations 0 and 1 both write 1 to key 0"),
        ([W(0, None, 0, 1)], "operation 0 writes None"),
        ([R(0, None, 3, 2)], "operation 0: completed 2 is neither null nor an integer after "
                             "invoked"),
        ([R(True, None, 0, 1)], "operation 0: session True is not an integer"),
        ([Operation(session=0, kind="cas", value=1, invoked=0, completed=1)],
         "kind 'cas' is neither"),
        ([W(0, [1], 0, 1)], r"value \[1\] cannot be hashed"),
        ([(0, "write", 0, 1, 0, 1)], "operation 0 has no field 'session'"),
    ]
    for ops, message in cases:
        with pytest.raises(HistoryError, match=message):
            check_history(ops, LIN)
    with pytest.raises(UnknownNameError, match="unknown consistency level 'strong'; available: "
                                               "causal_consistency, linearizability"):
        check_history([], "strong")


# -- Oracles: each definition enumerated literally, on histories of at most 6 operations --------

def _legal(order):
    value = {}
    for o in order:
        if o.kind == "write":
            value[o.key] = o.value
        elif value.get(o.key) != o.value:
            return False
    return True


def _exists_order(ops, before):
    """Some order of the completed operations of ``ops`` and of some of its pending writes,
    respecting ``before(a, b)`` (a first), in which every read returns the latest write?"""
    done = [o for o in ops if o.completed is not None]
    pending = [o for o in ops if o.completed is None]
    for n in range(len(pending) + 1):
        for extra in itertools.combinations(pending, n):
            for order in itertools.permutations(done + list(extra)):
                if _legal(order) and not any(before(b, a) for i, a in enumerate(order)
                                             for b in order[i + 1:]):
                    return True
    return False


def _effective(ops):
    return [o for o in ops if o.kind == "write" or o.completed is not None]


def _thin_air(ops):
    written = {(o.key, o.value) for o in ops if o.kind == "write"}
    return any(o.kind == "read" and o.completed is not None and o.value is not None
               and (o.key, o.value) not in written for o in ops)


def oracle_linearizable(ops):
    return _exists_order(_effective(ops), lambda a, b: a.completed is not None
                         and a.completed < b.invoked)


def oracle_sequential(ops):
    return _exists_order(_effective(ops), lambda a, b: a.session == b.session
                         and a.invoked < b.invoked)


def oracle_causal(ops):
    """Ahamad et al.: causal order is a partial order, and each session has a legal order of
    all writes and its reads that respects it."""
    ops = _effective(ops)
    n = len(ops)
    co = [[a.session == b.session and a.invoked < b.invoked
           or a.kind == "write" and b.kind == "read" and (a.key, a.value) == (b.key, b.value)
           for b in ops] for a in ops]
    for k, i, j in itertools.product(range(n), repeat=3):  # Warshall: k is the outer loop
        co[i][j] = co[i][j] or co[i][k] and co[k][j]
    if _thin_air(ops) or any(co[i][i] for i in range(n)):
        return False
    index = {id(o): i for i, o in enumerate(ops)}
    return all(_exists_order([o for o in ops if o.kind == "write" or o.session == s],
                             lambda a, b: co[index[id(a)]][index[id(b)]])
               for s in {o.session for o in ops})


#: the session guarantees' oracle, every view and arbitration enumerated, is in
#: test_consistency_levels
ORACLES = {
    LIN: oracle_linearizable,
    SEQ: oracle_sequential,
    CAUSAL: oracle_causal,
} | {level: oracle(level) for level in (SESSION, RYW, MR, MW, WFR)}


def _events(draw_int, program):
    """Invocation and completion times for ``program`` (``(session, kind, key)`` triples):
    ``draw_int(n)`` picks one of ``n`` sessions able to move; a session's operations are
    sequential, in program order."""
    queue = {}
    for i, (s, _, _) in enumerate(program):
        queue.setdefault(s, []).append(i)
    invoked, completed, t = {}, {}, 0
    while any(queue.values()):
        ready = sorted(s for s, q in queue.items() if q)
        s = ready[draw_int(len(ready))]
        i = queue[s][0]
        if i in invoked:
            completed[i] = t
            queue[s].pop(0)
        else:
            invoked[i] = t
        t += 1
    return invoked, completed


@st.composite
def histories(draw, max_ops=6, sessions=3, keys=2):
    """Random histories: a program per session, its events interleaved at random, the last
    operation of a session sometimes pending, each read returning None or any value written to
    its key (rarely one never written)."""
    program = draw(st.lists(st.tuples(st.integers(0, sessions - 1),
                                      st.sampled_from(["write", "read"]),
                                      st.integers(0, keys - 1)), min_size=1, max_size=max_ops))
    invoked, completed = _events(lambda n: draw(st.integers(0, n - 1)), program)
    for s in {s for s, _, _ in program}:
        last = max(i for i, (t, _, _) in enumerate(program) if t == s)
        if draw(st.integers(0, 3)) == 0:
            completed[last] = None
    count, ops = {}, []
    for i in sorted(invoked, key=invoked.get):
        s, kind, key = program[i]
        if kind == "write":
            count[key] = value = count.get(key, 0) + 1
        else:
            written = sum(1 for _, k, x in program if k == "write" and x == key)
            value = draw(st.sampled_from([None, *range(1, written + 1)]))
            value = 99 if draw(st.integers(0, 15)) == 0 else value
        ops.append(Operation(session=s, kind=kind, key=key, value=value, invoked=invoked[i],
                             completed=completed[i]))
    return ops


def register_history(rng, n, sessions=3, keys=2, pending=0.2):
    """``n`` operations on an atomic register: each takes effect at one moment between its
    invocation and its response, so the history is linearizable by construction. The last
    operation of a session sometimes never returns, before or after taking effect."""
    program = [(rng.randrange(sessions), rng.choice(["write", "read"]), rng.randrange(keys))
               for _ in range(n)]
    queue = {}
    for i, (s, _, _) in enumerate(program):
        queue.setdefault(s, []).append(i)
    register, written, value, times, took_effect, t = {}, {}, {}, {}, set(), 0
    while any(queue.values()):
        s = rng.choice(sorted(s for s, q in queue.items() if q))
        i = queue[s][0]
        _, kind, key = program[i]
        if i not in times:
            times[i], t = [t, None], t + 1
            if kind == "write":
                written[key] = value[i] = written.get(key, 0) + 1
        elif len(queue[s]) == 1 and rng.random() < pending / 2:
            queue[s].pop(0)  # pending for ever
        elif i not in took_effect:
            took_effect.add(i)
            if kind == "write":
                register[key] = value[i]
            else:
                value[i] = register.get(key)
        else:
            times[i][1], t = t, t + 1
            queue[s].pop(0)
    return [Operation(session=program[i][0], kind=program[i][1], key=program[i][2],
                      value=value.get(i), invoked=times[i][0], completed=times[i][1])
            for i in sorted(times, key=lambda i: times[i][0])]


@settings(max_examples=500, deadline=None)
@given(histories())
def test_each_level_agrees_with_its_oracle(ops):
    for level in LEVELS:
        assert (check_history(ops, level).verdict == "ok") == ORACLES[level](ops), level


#: the hierarchy these definitions give; EXPECTED shows that no converse holds
IMPLIES = [(LIN, SEQ), (SEQ, CAUSAL), (CAUSAL, SESSION), (SESSION, RYW), (SESSION, MR),
           (SESSION, MW), (SESSION, WFR)]
#: pairs of levels neither of which implies the other (monotonic writes is implied by every
#: level: alone it rejects only reads out of thin air)
INCOMPARABLE = [(RYW, MR), (RYW, WFR), (MR, WFR)]


@settings(max_examples=500, deadline=None)
@given(histories(max_ops=10, sessions=4))
def test_hierarchy(ops):
    v = verdicts(ops)
    assert "unknown" not in v.values()
    for stronger, weaker in IMPLIES:
        assert v[stronger] == "violated" or v[weaker] == "ok", (stronger, weaker)


def test_no_converse_holds():
    holds = {name: [subset is None for subset in row] for name, row in EXPECTED.items()}
    for stronger, weaker in IMPLIES + INCOMPARABLE + [(b, a) for a, b in INCOMPARABLE]:
        a, b = LEVELS.index(stronger), LEVELS.index(weaker)
        assert any(row[b] and not row[a] for row in holds.values()), (weaker, stronger)


@settings(max_examples=300, deadline=None)
@given(histories(), st.sampled_from(LEVELS))
def test_violations_are_minimal(ops, level):
    """The subset violates the level, and dropping any one operation (but a write that a kept
    read returns) satisfies it: judged by the oracles."""
    r = check_history(ops, level)
    if r.verdict != "violated":
        return
    subset = list(r.violation)
    assert r.minimal and not ORACLES[level](subset)
    for op in subset:
        if op.kind == "write" and any(o.kind == "read" and o.completed is not None
                                      and (o.key, o.value) == (op.key, op.value) for o in subset):
            continue
        assert ORACLES[level]([o for o in subset if o is not op]), op


@settings(max_examples=200, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(1, 40))
def test_histories_of_an_atomic_register_satisfy_every_level(rng, n):
    ops = register_history(rng, n)
    assert set(verdicts(ops).values()) == {"ok"}


def test_a_tiny_budget_gives_unknown_never_ok():
    ops = register_history(random.Random(1), 600, sessions=6, keys=1)
    for level in (LIN, SEQ, CAUSAL):
        r = check_history(ops, level, budget_s=0)
        assert (r.verdict, r.violation, r.explanation) == ("unknown", (), "the budget of 0 s ran "
                                                                           "out")
    assert check_history(ops, LIN, budget_s=10).verdict == "ok"


# -- JSON ------------------------------------------------------------------------------------------

def test_load_history():
    ops = load_history(HISTORIES / "pending_write.json")
    assert ops[0] == W(0, 1, 0, None) and ops[-1] == R(2, 1, 5, 6)
    assert str(ops[0]) == "s0 write k0=1 [0,-]"
    path = HISTORIES / "stale_read.json"
    data = json.loads(path.read_text())
    assert [o.__dict__ for o in load_history(path)] == data["operations"]


def _doc(*operations, **top):
    return json.dumps({"format": "kripke-history", "version": 1, "operations": list(operations)}
                      | top)


OP = {"session": 0, "kind": "write", "key": 0, "value": 1, "invoked": 0, "completed": 1}


@pytest.mark.parametrize("text,message", [
    ("{", "is not JSON (Expecting property name enclosed in double quotes at line 1)"),
    ("[]", 'not a kripke history (no "format": "kripke-history")'),
    (json.dumps({"format": "kripke-trace", "version": 1}), "not a kripke history"),
    (_doc(version=2), "history version 2; this kripke reads version 1"),
    (_doc(operations={}), "field 'operations' is missing or not a list"),
    (_doc([OP]), "operation 0 is not an object"),
    (_doc(OP | {"completd": 2}), "operation 0 has an unknown field 'completd'"),
    (_doc({k: v for k, v in OP.items() if k != "completed"}), "operation 0 lacks the field "
                                                              "'completed'"),
    (_doc(OP | {"value": [1]}), "operation 0: value [1] is not an integer, a string or null"),
    (_doc(OP | {"value": 1.5}), "operation 0: value 1.5 is not an integer"),
    (_doc(OP | {"session": True}), "operation 0: session True is not an integer"),
    (_doc(OP | {"invoked": "0"}), "operation 0: invoked '0' is not an integer"),
    (_doc(OP | {"kind": "delete"}), "operation 0: kind 'delete' is neither 'write' nor 'read'"),
    (_doc(OP, OP | {"invoked": 2, "completed": 3}), "operations 0 and 1 both write 1 to key 0"),
    (_doc(OP, OP | {"session": 1, "value": 2, "invoked": 1, "completed": 2}), "time 1 is used "
                                                                              "twice"),
])
def test_corrupt_history_files(tmp_path, text, message):
    path = tmp_path / "h.json"
    path.write_text(text)
    with pytest.raises(TraceFormatError, match=re.escape(message)) as e:
        load_history(path)
    assert "\n" not in str(e.value) and str(e.value).startswith(str(path))


def test_unreadable_history_files(tmp_path):
    with pytest.raises(TraceFormatError, match="cannot read history .*missing.json"):
        load_history(tmp_path / "missing.json")
    (tmp_path / "b.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(TraceFormatError, match="b.json is not text"):
        load_history(tmp_path / "b.json")


def test_nothing_in_a_file_is_evaluated(tmp_path):
    path = tmp_path / "h.json"
    path.write_text(_doc(OP | {"value": "__import__('os').system('false')"}))
    assert load_history(path)[0].value == "__import__('os').system('false')"


# -- As invariants of a model -------------------------------------------------------------------

Op = record("Op", session=Int(0, 1), kind=Enum("write", "read"), key=Int(0, 0),
            value=Optional(Int(1, 999)), invoked=Int(0, 9999), completed=Optional(Int(0, 9999)))


def test_consistency_invariant_reads_the_history_field():
    state = record("State", history=Seq(Op, 4))
    fresh = state((Op(0, "write", 0, 1, 0, 1), Op(1, "read", 0, 1, 2, 3)))
    stale = state((Op(0, "write", 0, 1, 0, 1), Op(1, "read", 0, None, 2, 3)))
    prop = consistency_invariant(LIN)
    assert (prop.name, prop.kind) == ("linearizability", "invariant")
    assert prop.doc.startswith("Linearizability (Herlihy and Wing 1990): one order")
    assert prop.condition(None, fresh) is True and prop.condition(None, stale) is False
    assert consistency_invariant(SEQ).condition(None, stale) is True
    assert [consistency_invariant(level).name for level in LEVELS] == list(LEVELS)
    log = record("Log", log=Seq(Op, 4))
    assert consistency_invariant(LIN, field="log").condition(None, log(stale.history)) is False


def test_an_exhausted_budget_raises():
    state = record("State", history=Seq(Op, 9999))
    ops = register_history(random.Random(1), 600, sessions=2, keys=1)
    big = state(tuple(Op(o.session, o.kind, 0, o.value, o.invoked, o.completed) for o in ops))
    with pytest.raises(BudgetExhausted, match="linearizability: the budget of 0 s ran out before "
                                              "a verdict on the 600 operations in field "
                                              "'history'"):
        consistency_invariant(LIN, budget_s=0).condition(None, big)


class RecordsALongHistory(TransitionSystem):
    """One step records a 600-operation history: too long for a zero budget."""

    variables = {"history": Seq(Op, 600)}
    properties = (consistency_invariant(LIN, budget_s=0),)

    def init(self):
        yield self.State(history=())

    @action
    def record_history(self, s):
        if not s.history:
            ops = register_history(random.Random(1), 600, sessions=2, keys=1)
            return s.set(history=tuple(Op(o.session, o.kind, 0, o.value, o.invoked, o.completed)
                                       for o in ops))


def test_the_search_stops_when_the_budget_runs_out():
    with pytest.raises(BudgetExhausted, match="linearizability: the budget of 0 s ran out"):
        check(RecordsALongHistory(), deadlock=False)


class StaleBackup(TransitionSystem):
    """Session 0 writes 1 at the primary, a backup copies it later, session 1 reads the backup:
    sequentially consistent, not linearizable."""

    variables = {"primary": Optional(Int(1, 1)), "backup": Optional(Int(1, 1)),
                 "history": Seq(Op, 4)}  # three reads and the write
    properties = (consistency_invariant(LIN), consistency_invariant(SEQ))

    def init(self):
        yield self.State(primary=None, backup=None, history=())

    def _record(self, s, session, kind, value):
        t = 2 * len(s.history)
        return s.history + (Op(session, kind, 0, value, t, t + 1),)

    @action
    def client_write(self, s):
        if s.primary is None:
            return s.set(primary=1, history=self._record(s, 0, "write", 1))

    @action
    def replicate(self, s):
        if s.backup != s.primary:
            return s.set(backup=s.primary)

    @action
    def client_read(self, s):
        if len(s.history) < 3:
            return s.set(history=self._record(s, 1, "read", s.backup))


def test_a_model_checked_against_consistency_levels():
    r = check(StaleBackup(), properties=[LIN], deadlock=False)
    assert (r.verdict, r.violation.property) == ("violated", "linearizability")
    assert [step.action for step in r.violation.trace.steps] == [None, "client_write",
                                                                "client_read"]
    assert check(StaleBackup(), properties=[SEQ], deadlock=False).verdict == "ok"

"""Paxos against TLC's published counts and an independent BFS; orbits; the broken variants.

The oracle below is written apart from kripke: plain tuples for states and messages, one
function per Paxos.tla action read literally (every ``\\E`` enumerated over the whole set it
ranges over, one successor per witness, as TLC does), and orbits counted by brute force over
every permutation of the acceptors.
"""

import itertools
import json
from pathlib import Path

import pytest

from kripke.checkers.explicit import check
from kripke.models.paxos import Msg1a, Msg1b, Paxos
from kripke.models.system import load_model
from tests.oracles.bfs import bfs
from kripke.traces.trace import from_json, replay

PUBLISHED = json.loads((Path(__file__).parent / "oracles" / "published.json").read_text())
BROKEN = "tests/fixtures/paxos_broken.py"


def run(name, symmetry=False, strategy="bfs", properties=None, **params):
    return check(load_model(name)(**params), symmetry=symmetry, strategy=strategy,
                 properties=properties)


# -- the oracle ---------------------------------------------------------------------------------

def paxos_successors(acceptors, values, max_ballot):
    """Init and Next of Paxos.tla over (maxBal, maxVBal, maxVal, msgs), messages as tuples
    ("1a", bal), ("1b", acc, bal, mbal, mval), ("2a", bal, val), ("2b", acc, bal, val)."""
    A, V, B = range(acceptors), range(values), range(max_ballot + 1)
    quorums = [frozenset(q) for q in itertools.combinations(A, acceptors // 2 + 1)]
    init = ((-1,) * acceptors, (-1,) * acceptors, (None,) * acceptors, frozenset())

    def at(t, i, x):
        return t[:i] + (x,) + t[i + 1:]

    def phase2a(s, b, v):
        max_bal, max_vbal, max_val, msgs = s
        if any(m[0] == "2a" and m[1] == b for m in msgs):
            return
        for q in quorums:
            q1b = [m for m in msgs if m[0] == "1b" and m[1] in q and m[2] == b]
            q1bv = [m for m in q1b if m[3] >= 0]
            # \A a \in Q : \E m \in Q1b : m.acc = a -- TLC branches on every witness
            heard = 1
            for a in q:
                heard *= sum(1 for m in q1b if m[1] == a)
            # \/ Q1bv = {}  \/ \E m \in Q1bv : m.mval = v /\ \A mm \in Q1bv : m.mbal >= mm.mbal
            safe = (1 if not q1bv else 0) + sum(
                1 for m in q1bv if m[4] == v and all(m[3] >= mm[3] for mm in q1bv))
            for _ in range(heard * safe):
                yield max_bal, max_vbal, max_val, msgs | {("2a", b, v)}

    def succ(s):
        max_bal, max_vbal, max_val, msgs = s
        for b in B:
            yield max_bal, max_vbal, max_val, msgs | {("1a", b)}
            for v in V:
                yield from phase2a(s, b, v)
        for a in A:
            for m in msgs:
                if m[0] == "1a" and m[1] > max_bal[a]:
                    yield (at(max_bal, a, m[1]), max_vbal, max_val,
                           msgs | {("1b", a, m[1], max_vbal[a], max_val[a])})
            for m in msgs:
                if m[0] == "2a" and m[1] >= max_bal[a]:
                    yield (at(max_bal, a, m[1]), at(max_vbal, a, m[1]), at(max_val, a, m[2]),
                           msgs | {("2b", a, m[1], m[2])})
    return init, succ


def _rename(s, p):
    """Acceptor a becomes p[a]; None (no value) is written -1 so that states sort."""
    max_bal, max_vbal, max_val, msgs = s
    n = len(max_bal)

    def moved(t):
        out = [None] * n
        for a in range(n):
            out[p[a]] = -1 if t[a] is None else t[a]
        return tuple(out)

    def msg(m):
        if m[0] == "1b":
            return ("1b", p[m[1]], m[2], m[3], -1 if m[4] is None else m[4])
        if m[0] == "2b":
            return ("2b", p[m[1]]) + m[2:]
        return m
    return moved(max_bal), moved(max_vbal), moved(max_val), tuple(sorted(map(msg, msgs)))


def orbits(acceptors, values, max_ballot):
    states = bfs(*paxos_successors(acceptors, values, max_ballot))[3]
    perms = list(itertools.permutations(range(acceptors)))
    return len({min(_rename(s, p) for p in perms) for s in states})


# -- counts --------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", sorted(PUBLISHED["paxos"]))
@pytest.mark.parametrize("symmetry", [False, True])
def test_counts_equal_published_results(key, symmetry):
    """MCPaxos.cfg: one acceptor and one value, so TLC's SYMMETRY changes nothing."""
    expected = PUBLISHED["paxos"][key]
    r = run("paxos", symmetry=symmetry, **expected["params"])
    assert (r.verdict, r.distinct_states, r.states_generated, r.depth) == (
        "ok", expected["distinct"], expected["generated"], expected["depth"])


SIZES = [(1, 1, 1), (1, 2, 2), (2, 1, 2), (2, 2, 1), (3, 1, 1), (3, 2, 1), (2, 2, 2)]


@pytest.mark.parametrize("acceptors,values,max_ballot", SIZES)
def test_counts_equal_an_independent_bfs(acceptors, values, max_ballot):
    distinct, generated, depth, _ = bfs(*paxos_successors(acceptors, values, max_ballot))
    params = dict(acceptors=acceptors, values=values, max_ballot=max_ballot)
    for strategy in ("bfs", "dfs"):
        r = run("paxos", strategy=strategy, **params)
        assert (r.verdict, r.distinct_states, r.states_generated) == ("ok", distinct, generated)
        if strategy == "bfs":
            assert r.depth == depth


def test_default_counts():
    """The counts the module docstring gives for the defaults."""
    r = run("paxos")
    assert (r.distinct_states, r.states_generated, r.depth) == (3921, 23563, 17)
    assert run("paxos", symmetry=True).distinct_states == 857


@pytest.mark.parametrize("acceptors,values,max_ballot", [(2, 2, 1), (3, 1, 1), (3, 2, 1),
                                                         (2, 2, 2), (4, 1, 1)])
def test_symmetry_counts_the_orbits(acceptors, values, max_ballot):
    r = run("paxos", symmetry=True, acceptors=acceptors, values=values, max_ballot=max_ballot)
    assert r.verdict == "ok"
    assert r.distinct_states == orbits(acceptors, values, max_ballot)


def test_one_successor_per_witness():
    """Three acceptors promised ballot 0 and none voted: each of the three quorums witnesses
    Phase2a(0, v), so TLC computes the same successor three times."""
    m = Paxos()
    s = next(m.init())
    s = s.set(max_bal=(0, 0, 0),
              msgs=frozenset({Msg1a(0)} | {Msg1b(a, 0, -1, None) for a in range(3)}))
    out = m.phase2a(s, 0, 1)
    assert len(out) == 3 and len(set(out)) == 1
    assert m.phase1a(s, 0) == s  # a stutter is a successor too


def test_coverage_adds_up():
    r = run("paxos")
    assert set(r.coverage) == {"phase1a", "phase2a", "phase1b", "phase2b"}
    assert sum(c["fired"] for c in r.coverage.values()) == r.states_generated - 1
    assert sum(c["new"] for c in r.coverage.values()) == r.distinct_states - 1


# -- properties ----------------------------------------------------------------------------------

def test_every_property_holds_and_a_value_can_be_chosen():
    for symmetry in (False, True):
        r = run("paxos", symmetry=symmetry)
        assert (r.verdict, r.properties) == (
            "ok", ["type_ok", "agreement", "validity", "value_chosen"])
    assert run("paxos", properties=["value_chosen"]).verdict == "ok"


@pytest.mark.parametrize("symmetry", [False, True])
@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
def test_ignoring_the_1b_reports_breaks_agreement(strategy, symmetry):
    r = run("paxos-ignore-1b", symmetry=symmetry, strategy=strategy)
    v = r.violation
    assert (r.verdict, v.property, v.kind) == ("violated", "agreement", "invariant")
    last = v.trace.steps[-1].state
    proposed = {(m["bal"], m["val"]) for m in last["msgs"] if m["type"] == "2a"}
    assert {val for _, val in proposed} == {0, 1}
    assert replay(from_json(json.loads(json.dumps(v.trace.to_json())))).ok
    if strategy == "bfs":
        # Two 1a, four 1b (two per ballot), two 2a and four 2b (a quorum per ballot).
        assert len(v.trace.steps) - 1 == 12
        actions = [s.action for s in v.trace.steps[1:]]
        assert [actions.count(a) for a in ("phase1a", "phase1b", "phase2a", "phase2b")] == [
            2, 4, 2, 4]


@pytest.mark.parametrize("symmetry", [False, True])
def test_symmetry_on_and_off_agree_on_verdicts(symmetry):
    for name in ("paxos", "paxos-ignore-1b", f"{BROKEN}:LearnsFromOneVote",
                 f"{BROKEN}:DecidesOnPromises", f"{BROKEN}:PromisesTooHigh",
                 f"{BROKEN}:NeverVotes"):
        on, off = run(name, symmetry=symmetry), run(name, symmetry=False)
        assert on.verdict == off.verdict
        assert (on.violation and on.violation.property) == (off.violation and
                                                            off.violation.property)


@pytest.mark.parametrize("cls,prop,kind,steps", [
    ("LearnsFromOneVote", "agreement", "invariant", 10),
    ("DecidesOnPromises", "validity", "invariant", 3),
    ("PromisesTooHigh", "type_ok", "type", 2),
    ("NeverVotes", "value_chosen", "sometimes", None),
])
def test_every_property_can_fail(cls, prop, kind, steps):
    model = load_model(f"{BROKEN}:{cls}")()
    for symmetry in (False, True):
        r = check(model, properties=[prop], symmetry=symmetry)
        v = r.violation
        assert (r.verdict, v.property, v.kind) == ("violated", prop, kind)
        if steps is None:
            assert v.trace is None
        else:
            assert len(v.trace.steps) - 1 == steps
            assert replay(v.trace).ok
    # With every property checked, the same one is the first to fail.
    assert check(model).violation.property == prop

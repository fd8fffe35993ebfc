"""Vector clocks (models/vector_clock.py): the laws of the clock value as Hypothesis properties,
the ``vector-clock`` model's counts under BFS, DFS and symmetry, Fidge's and Mattern's theorem
over every network option, and broken clocks that refute each property."""

import itertools

import pytest
from hypothesis import given, strategies as st

from kripke.checkers.explicit import check
from kripke.models.symmetry import Canonicalizer
from kripke.models.system import load_model
from kripke.models.types import total_order_key
from kripke.models.vector_clock import (Edge, VectorClocks, compare, concurrent, happened_before,
                                 increment, merge)
from tests.conftest import reachable_states
from kripke.traces.trace import replay

# -- the clock value ---------------------------------------------------------------------------


def clocks(k):
    """``k`` clocks over the same processes (1..4 of them, entries 0..5)."""
    return st.integers(1, 4).flatmap(
        lambda n: st.tuples(*[st.tuples(*[st.integers(0, 5)] * n)] * k))


clock = clocks(1).map(lambda one: one[0])


def at_most(a, b):
    """Mattern's ``a <= b``, written out: every entry of ``a`` is at most ``b``'s."""
    return all(x <= y for x, y in zip(a, b))


def lifted(a, deltas):
    """``a`` with each entry raised by the corresponding (non-negative) delta."""
    return tuple(x + d for x, d in zip(a, deltas))


@given(clocks(2))
def test_merge_is_commutative(ab):
    a, b = ab
    assert merge(a, b) == merge(b, a)


@given(clocks(3))
def test_merge_is_associative(abc):
    a, b, c = abc
    assert merge(merge(a, b), c) == merge(a, merge(b, c))


@given(clock)
def test_merge_is_idempotent(a):
    assert merge(a, a) == a


@given(clocks(3))
def test_merge_is_the_least_upper_bound(abd):
    a, b, d = abd
    m = merge(a, b)
    assert at_most(a, m) and at_most(b, m)
    c = lifted(tuple(map(max, a, b)), d)  # an upper bound of a and b, built without merge
    assert at_most(m, c)
    if at_most(a, d) and at_most(b, d):  # any other upper bound
        assert at_most(m, d)


@given(clocks(2))
def test_compare_agrees_with_the_entrywise_order(ab):
    a, b = ab
    expected = ("equal" if a == b else "before" if at_most(a, b) else
                "after" if at_most(b, a) else "concurrent")
    assert compare(a, b) == expected
    assert happened_before(a, b) == (expected == "before")


@given(clock)
def test_happened_before_is_irreflexive(a):
    assert not happened_before(a, a) and compare(a, a) == "equal"


@given(clocks(3))
def test_happened_before_is_transitive(a_d1_d2):
    a, d1, d2 = a_d1_d2
    b, c = lifted(a, d1), lifted(lifted(a, d1), d2)  # a <= b <= c, strictly where a delta > 0
    assert happened_before(a, b) == any(d1) and happened_before(b, c) == any(d2)
    if happened_before(a, b) and happened_before(b, c):
        assert happened_before(a, c)


@given(clocks(2))
def test_happened_before_is_asymmetric(ab):
    a, b = ab
    assert not (happened_before(a, b) and happened_before(b, a))


@given(clocks(2))
def test_concurrent_exactly_when_neither_is_before_nor_equal(ab):
    a, b = ab
    assert concurrent(a, b) == (not happened_before(a, b) and not happened_before(b, a)
                                and a != b)
    assert concurrent(a, b) == (compare(a, b) == "concurrent") == concurrent(b, a)


@given(clocks(2))
def test_compare_is_antisymmetric(ab):
    a, b = ab
    flipped = {"before": "after", "after": "before", "equal": "equal",
               "concurrent": "concurrent"}
    assert compare(b, a) == flipped[compare(a, b)]


@given(clock, st.data())
def test_increment_makes_a_clock_strictly_after(a, data):
    p = data.draw(st.integers(0, len(a) - 1))
    b = increment(a, p)
    assert happened_before(a, b) and compare(b, a) == "after"
    assert [y - x for x, y in zip(a, b)] == [int(q == p) for q in range(len(a))]


# -- the model ---------------------------------------------------------------------------------
BROKEN = "tests/fixtures/vector_clock_broken.py:{}"
PROPERTIES = ["type_ok", "clocks_match_causality", "concurrent_events_possible",
              "causality_across_processes"]




@pytest.mark.parametrize("symmetry,counts", [(False, (4250, 8305)), (True, (725, 1442))])
def test_defaults_hold_and_bfs_and_dfs_agree(symmetry, counts):
    results = [check(VectorClocks(), strategy=strategy, symmetry=symmetry)
               for strategy in ("bfs", "dfs")]
    for r in results:
        assert (r.verdict, r.properties) == ("ok", PROPERTIES)
        assert (r.distinct_states, r.states_generated) == counts
    assert results[0].depth == 7
    assert results[0].params == {"procs": 3, "max_events": 2, "ordered": False, "lossy": False,
                                 "duplicating": False, "partitions": False, "crashes": False,
                                 "max_msgs": 2}


def test_symmetry_counts_the_orbits():
    """Renaming processes maps reachable states to reachable states, and the search under
    symmetry stores exactly one state per orbit."""
    model = VectorClocks()
    states = reachable_states(model)
    assert len(states) == 4250
    canon = Canonicalizer(model, model.symmetric_domain())
    perms = list(itertools.permutations(range(model.procs)))
    assert all({canon.permute(s, p) for s in states} == states for p in perms)
    orbits = {min((canon.permute(s, p) for p in perms), key=total_order_key) for s in states}
    assert len(orbits) == check(model, symmetry=True).distinct_states == 725


def test_a_message_carries_causality_to_its_receiver():
    model = VectorClocks(procs=2)
    s = next(model.init())
    s = model.send_message(s, 0, 1)
    (m,) = s.messages
    s = model.receive(s, m)
    assert s.clock == ((1, 0), (1, 1))
    assert {(e.proc, e.seq, e.clock) for e in s.events} == {(0, 1, (1, 0)), (1, 1, (1, 1))}
    assert s.causes == {Edge(cause=0, cause_seq=1, effect=1, effect_seq=1)}
    s = model.local_event(s, 0)
    assert compare(s.clock[0], s.clock[1]) == "concurrent"
    assert s.causes == {Edge(0, 1, 1, 1), Edge(0, 1, 0, 2)}


@pytest.mark.parametrize("option,counts", [
    ("ordered", (659, 1349)), ("lossy", (725, 2430)), ("duplicating", (1717, 3073)),
    ("partitions", (2865, 9382)), ("crashes", (5730, 22835))])
def test_the_clocks_track_causality_over_every_network(option, counts):
    """Reordering, loss, duplication, partitions and crashes change which histories happen,
    never whether the clocks match them. Loss adds no state: a send whose message is lost
    leaves the same history as a local event."""
    r = check(VectorClocks(**{option: True}))
    assert (r.verdict, r.distinct_states, r.states_generated) == ("ok",) + counts


def test_the_sometimes_properties_can_fail():
    """One process has no concurrent events; one event each is never a chain of messages."""
    r = check(VectorClocks(procs=1, max_events=3))
    v = r.violation
    assert (r.verdict, v.property, v.kind, v.trace) == (
        "violated", "concurrent_events_possible", "sometimes", None)
    r = check(VectorClocks(max_events=1), properties=["causality_across_processes"])
    assert (r.violation.property, r.violation.kind) == ("causality_across_processes",
                                                         "sometimes")


@pytest.mark.parametrize("name,prop,actions", [
    ("ForgetfulReceive", "clocks_match_causality", ["send_message", "receive"]),
    ("MergeWithoutTick", "clocks_match_causality", ["send_message", "receive"]),
    ("SilentSend", "clocks_match_causality", ["local_event", "send_message"]),
    ("DoubleTick", "type_ok", ["local_event", "local_event"]),
])
def test_every_property_can_fail(name, prop, actions):
    cls = load_model(BROKEN.format(name))
    for symmetry in (False, True):
        r = check(cls(), symmetry=symmetry)
        v = r.violation
        kind = "type" if prop == "type_ok" else "invariant"
        assert (r.verdict, v.property, v.kind) == ("violated", prop, kind)
        assert [s.action for s in v.trace.steps[1:]] == actions
        assert replay(v.trace).ok


def test_a_receive_without_merge_looks_concurrent_with_its_send():
    r = check(load_model(BROKEN.format("ForgetfulReceive"))(), symmetry=False)
    last = r.violation.trace.steps[-1].state
    send, receive = sorted(last["events"], key=lambda e: e["proc"])
    assert (send["clock"], receive["clock"]) == ([1, 0, 0], [0, 1, 0])
    assert last["causes"] == [{"type": "Edge", "cause": 0, "cause_seq": 1, "effect": 1,
                               "effect_seq": 1}]


def test_declared_types_are_enforced_when_type_ok_is_not_selected():
    """DoubleTick's clocks pass max_events: a type violation whatever properties are checked
    (the search would otherwise run on outside the declared, finite state space)."""
    model = load_model(BROKEN.format("DoubleTick"))()
    r = check(model, properties=["clocks_match_causality", "concurrent_events_possible"])
    v = r.violation
    assert (r.verdict, v.property, v.kind, len(v.trace.steps) - 1) == (
        "violated", "type_ok", "type", 2)
    assert "outside its declared type" in v.message

"""The circuit breaker and the article's CircuitBreaker, property by property; its state graph."""

import re
from collections import deque

import pytest

from kripke.errors import KripkeError
from kripke.checkers.explicit import check
from kripke.models.circuit_breaker import CircuitBreaker, CircuitBreakerArticle
from kripke.models.system import load_model, registry
from kripke.traces.graph import reachable, state_graph
from kripke.traces.trace import replay

ALL = ["type_ok", "opens_after_threshold_failures", "rejects_while_open",
       "half_open_trials_bounded", "closes_after_threshold_successes", "recovers_to_closed"]


def test_both_breakers_are_registered():
    models = registry()
    assert models["circuit-breaker"] is CircuitBreaker
    assert models["circuit-breaker-article"] is CircuitBreakerArticle


# (model, distinct, generated, depth) without symmetry, then (orbits, generated) with it, at the
# defaults; the article's space in full (type_ok only: its other properties stop the search).
# Cancellation adds the states where a cancelled call has been taken back, uncounted.
@pytest.mark.parametrize("cls,params,counts,orbits", [
    (CircuitBreaker, {}, (172, 436, 14), (115, 296)),
    (CircuitBreakerArticle, {}, (324, 776, 16), (222, 532)),
    (CircuitBreaker, {"cancellation": True}, (197, 682, 14), (133, 452)),
    (CircuitBreakerArticle, {"cancellation": True}, (359, 1147, 16), (247, 759)),
])
def test_state_counts_at_the_defaults(cls, params, counts, orbits):
    for strategy in ("bfs", "dfs"):
        r = check(cls(**params), properties=["type_ok"], strategy=strategy, symmetry=False)
        assert (r.verdict, r.distinct_states, r.states_generated) == ("ok",) + counts[:2]
        if strategy == "bfs":
            assert r.depth == counts[2]
        r = check(cls(**params), properties=["type_ok"], strategy=strategy)
        assert (r.verdict, r.distinct_states, r.states_generated) == ("ok",) + orbits


@pytest.mark.parametrize("params", [
    {},
    {"wall_clock_step": 1},
    {"callers": 1, "success_threshold": 2},
    {"callers": 3, "half_open_max_calls": 2, "success_threshold": 2, "max_time": 3},
    {"failure_threshold": 3, "recovery_timeout": 2, "max_time": 4, "max_outages": 2},
    {"cancellation": True},
    {"cancellation": True, "callers": 3, "half_open_max_calls": 2, "success_threshold": 2,
     "max_time": 3},
])
def test_the_breaker_has_every_property(params):
    for strategy in ("bfs", "dfs"):
        r = check(CircuitBreaker(**params), strategy=strategy)
        assert (r.verdict, r.properties) == ("ok", ALL)


# (parameters, property, verdict, counterexample length): what the checker says of the article.
ARTICLE = [
    ({}, "type_ok", "ok", None),
    ({}, "opens_after_threshold_failures", "ok", None),
    ({}, "rejects_while_open", "ok", None),
    ({"wall_clock_step": 1}, "rejects_while_open", "violated", 7),
    ({}, "half_open_trials_bounded", "violated", 11),
    ({}, "closes_after_threshold_successes", "violated", 10),
    ({}, "recovers_to_closed", "ok", None),
    ({"callers": 1, "success_threshold": 2}, "recovers_to_closed", "violated", None),
    # cancelled calls change nothing in it, and hide none of its bugs
    ({"cancellation": True}, "half_open_trials_bounded", "violated", 11),
    ({"cancellation": True}, "closes_after_threshold_successes", "violated", 10),
    ({"cancellation": True, "wall_clock_step": 1}, "rejects_while_open", "violated", 7),
]


@pytest.mark.parametrize("params,prop,verdict,length", ARTICLE)
def test_what_the_articles_breaker_gets_wrong(params, prop, verdict, length):
    r = check(CircuitBreakerArticle(**params), properties=[prop], symmetry=False)
    assert r.verdict == verdict
    if verdict == "violated":
        v = r.violation
        assert v.property == prop
        if length is None:
            assert (v.kind, v.trace) == ("sometimes", None)
        else:
            assert len(v.trace.steps) - 1 == length
            assert replay(v.trace).ok


def violation(cls, prop, **params):
    r = check(cls(**params), properties=[prop], symmetry=False)
    return r.violation.trace.steps


def test_a_wall_clock_set_forward_ends_the_timeout_early():
    """_should_attempt_reset() reads datetime.now(): set forward one tick, it lets a trial through
    in the tick the breaker opened."""
    steps = violation(CircuitBreakerArticle, "rejects_while_open", wall_clock_step=1)
    assert [s.action for s in steps[-2:]] == ["clock_set_forward", "caller_call"]
    opened, last = steps[-2].state, steps[-1].state
    assert (opened["circuit"], last["circuit"]) == ("open", "half_open")
    assert last["now"] == last["opened_at"] == 0
    assert last["last_failure_time"] == 0 and last["wall_offset"] == 1


def test_half_open_calls_starts_again_at_zero_with_a_trial_outstanding():
    """A late failure reopens the half-open breaker while caller 0's trial is outstanding;
    _transition_to_half_open() then sets half_open_calls to 0 and a second trial gets through."""
    steps = violation(CircuitBreakerArticle, "half_open_trials_bounded")
    last = steps[-1].state
    assert (last["circuit"], last["calls"], last["half_open_calls"]) == (
        "half_open", ["trial", "trial"], 1)
    circuits = [s.state["circuit"] for s in steps]
    assert circuits[-4:] == ["half_open", "open", "open", "half_open"]
    assert steps[-3].action == "caller_complete" and steps[-4].state["calls"][1] == "normal"


def test_a_late_success_closes_the_breaker_without_a_trial_succeeding():
    """A call let through while closed succeeds after the breaker went half-open; _on_success()
    counts it, and the breaker closes while its only trial is still outstanding."""
    steps = violation(CircuitBreakerArticle, "closes_after_threshold_successes")
    before, last = steps[-2].state, steps[-1].state
    assert steps[-1].action == "caller_complete" and steps[-1].args == {"caller": 1}
    assert before["calls"] == ["trial", "normal"] and before["circuit"] == "half_open"
    assert last["circuit"] == "closed" and last["trial_successes"] == 0
    assert last["calls"] == ["trial", "idle"]


def test_a_breaker_that_never_frees_a_trial_stays_half_open():
    """success_threshold 2 > half_open_max_calls 1: after one successful trial half_open_calls is
    at its maximum and nothing lowers it, so every later call is rejected, for good."""
    model = CircuitBreakerArticle(callers=1, success_threshold=2)
    states, _ = reachable(model, max_states=1000)
    wedged = [s for s in states if s.circuit == "half_open" and s.calls == ("idle",)
              and s.success_count == 1]
    assert wedged
    after = set(wedged)
    todo = deque(wedged)
    while todo:
        for _, _, t in model.successors(todo.popleft()):
            if t not in after:
                after.add(t)
                todo.append(t)
    assert {s.circuit for s in after} == {"half_open"}
    assert check(CircuitBreaker(callers=1, success_threshold=2)).verdict == "ok"


# (fixture, parameters, property, kind, counterexample length): every property can fail.
BROKEN = [
    ("ReleasesEveryCall", {}, "type_ok", "type", 2),
    ("CountsAllFailures", {"max_outages": 2}, "opens_after_threshold_failures", "step", 9),
    ("TimeoutCountsTheTickItOpened", {}, "rejects_while_open", "step", 6),
    ("UnlimitedTrials", {}, "half_open_trials_bounded", "invariant", 8),
    ("ClosesOnTimeout", {}, "closes_after_threshold_successes", "step", 7),
    ("NeverResets", {}, "recovers_to_closed", "sometimes", None),
]


@pytest.mark.parametrize("name,params,prop,kind,length", BROKEN)
def test_every_property_can_fail(name, params, prop, kind, length):
    model = load_model(f"tests/fixtures/breaker_broken.py:{name}")(**params)
    r = check(model, symmetry=False)
    v = r.violation
    assert (r.verdict, v.property, v.kind) == ("violated", prop, kind)
    if length is None:
        assert v.trace is None
    else:
        assert len(v.trace.steps) - 1 == length
        assert replay(v.trace).ok


def test_counting_failures_in_all_opens_after_a_success():
    steps = violation(load_model("tests/fixtures/breaker_broken.py:CountsAllFailures"),
                      "opens_after_threshold_failures", max_outages=2)
    outcomes = [s.state["failure_streak"] for s in steps if s.action == "caller_complete"]
    assert outcomes == [1, 0, 1] and steps[-1].state["circuit"] == "open"


@pytest.mark.parametrize("cls", [CircuitBreaker, CircuitBreakerArticle])
def test_the_state_graph_has_every_state_clustered_by_circuit(cls):
    distinct = check(cls(), properties=["type_ok"], symmetry=False)
    # drawn whole (max_nodes): every state, no field merged (a breaker has no self-loop: a
    # rejected call is a stutter, so every step is an edge)
    graph = state_graph(cls(), cluster="circuit", max_nodes=1000)
    svg = graph.pipe(format="svg").decode()
    assert svg.count('class="node"') == distinct.distinct_states
    # each transition is one edge: no two actions lead from one state to the same other state
    assert svg.count('class="edge"') == distinct.states_generated - 1
    titles = re.findall(r'class="cluster">\s*<title>cluster_\d+</title>.*?<text[^>]*>([^<]*)<',
                        svg, re.S)
    assert sorted(titles) == ["circuit = closed", "circuit = half_open", "circuit = open"]


def test_the_state_graph_refuses_a_large_model():
    with pytest.raises(KripkeError, match="more than 100 reachable states"):
        state_graph(CircuitBreaker(), max_states=100)
    with pytest.raises(KripkeError, match="no variable 'state'"):
        state_graph(CircuitBreaker(), cluster="state")


def test_a_cancelled_trial_frees_its_place_uncounted():
    """Half-open, the trial is cancelled: the correct breaker takes its permit back (another
    trial may go), counting nothing; the article's keeps half_open_calls at its maximum."""
    def after_cancelling_a_trial(cls):
        model = cls(cancellation=True, callers=1)
        states, _ = reachable(model, max_states=1000)
        trial = next(s for s in states if s.circuit == "half_open" and s.calls == ("trial",))
        (t,) = [t for name, _, t in model.successors(trial) if name == "caller_cancels"]
        return trial, t
    before, after = after_cancelling_a_trial(CircuitBreaker)
    assert (after.circuit, after.calls, after.trials_out) == ("half_open", ("idle",), 0)
    assert (after.successes, after.failures, after.trial_successes) == (before.successes, 0, 0)
    _, after = after_cancelling_a_trial(CircuitBreakerArticle)
    assert (after.circuit, after.half_open_calls) == ("half_open", 1)

"""The bulkhead and the article's Bulkhead, property by property."""

import pytest

from kripke.checkers.explicit import check
from kripke.models.bulkhead import Bulkhead, BulkheadArticle
from kripke.models.system import load_model
from kripke.traces.trace import replay
from tests.conftest import expect_property

ALL = ["type_ok", "active_bounded", "queue_bounded", "rejects_only_when_full",
       "serves_in_arrival_order", "call_rejected_possible"]
ACTIONS = {"bulkhead_rejects_caller", "caller_takes_slot", "caller_joins_queue",
           "waiter_takes_slot", "waiter_times_out", "caller_finishes", "clock_ticks"}


# Waiters are served in arrival order and newcomers wait behind them: at the defaults at most
# one caller waits in ``bulkhead`` (max_queue=1), so its states are those of the open order, and
# only the transitions of a newcomer overtaking a waiter are gone (1,225 -> 1,153 generated); the
# article's unbounded line orders its waiters (516 -> 564 states).
@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
@pytest.mark.parametrize("model,symmetry,counts", [
    (Bulkhead, True, (51, 98)),
    (Bulkhead, False, (592, 1153)),
    (BulkheadArticle, True, (48, 99)),
    (BulkheadArticle, False, (564, 1177)),
])
def test_counts_at_the_defaults(model, symmetry, counts, strategy):
    r = check(model(), properties=["type_ok"], symmetry=symmetry, strategy=strategy)
    assert (r.verdict, r.distinct_states, r.states_generated) == ("ok", *counts)
    if strategy == "bfs":
        assert r.depth == (11 if model is Bulkhead else 10)


@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
def test_the_bulkhead_holds_every_property(strategy):
    r = check(Bulkhead(), strategy=strategy)
    assert (r.verdict, r.properties) == ("ok", ALL)
    assert set(r.coverage) == ACTIONS
    assert all(c["fired"] > 0 for c in r.coverage.values())


@pytest.mark.parametrize("params", [{"max_queue": 0}, {"max_concurrent": 1, "callers": 3},
                                    {"queue_timeout": 2, "max_queue": 2, "callers": 5}])
def test_the_bulkhead_holds_every_property_at_other_sizes(params):
    assert check(Bulkhead(**params)).verdict == "ok"


# (parameters, property, verdict, counterexample length): what the checker says of the article.
ARTICLE = [
    ({}, "type_ok", "ok", None),
    ({}, "active_bounded", "ok", None),
    ({}, "queue_bounded", "violated", 4),
    ({}, "rejects_only_when_full", "ok", None),  # vacuously: it never rejects
    ({}, "serves_in_arrival_order", "ok", None),
    ({}, "call_rejected_possible", "violated", None),
    ({"max_queue": 0}, "queue_bounded", "violated", 3),
    ({"max_queue": 0}, "call_rejected_possible", "violated", None),
]


@pytest.mark.parametrize("params,prop,verdict,length", ARTICLE)
def test_what_the_checker_says_of_the_article(params, prop, verdict, length):
    r = expect_property(BulkheadArticle(**params), prop, verdict, length)
    assert check(BulkheadArticle(**params), properties=[prop], strategy="dfs").verdict == verdict
    if verdict == "violated" and length is None:
        assert (r.violation.property, r.violation.kind, r.violation.trace) == (
            prop, "sometimes", None)


def test_the_articles_queue_holds_every_caller_that_finds_the_slots_busy():
    """Two calls run, two callers wait (max_queue=1), and the bulkhead counts none of them."""
    r = check(BulkheadArticle(), properties=["queue_bounded"])
    steps = r.violation.trace.steps
    assert [s.action for s in steps[1:]] == ["caller_takes_slot", "caller_takes_slot",
                                             "caller_joins_queue", "caller_joins_queue"]
    last = steps[-1].state
    assert sorted(last["caller"]) == ["running", "running", "waiting", "waiting"]
    assert (last["permits"], last["queued"]) == (0, 0)


def test_the_articles_rejection_is_dead_code():
    r = check(BulkheadArticle(), properties=["type_ok"])
    assert set(r.coverage) == ACTIONS
    assert r.coverage["bulkhead_rejects_caller"]["fired"] == 0
    assert all(c["fired"] > 0 for a, c in r.coverage.items() if a != "bulkhead_rejects_caller")


@pytest.mark.parametrize("name,params,prop,length", [
    ("ReleasesOnTimeout", {}, "type_ok", 7),
    ("RunsAfterTimeout", {}, "active_bounded", 5),
    ("QueueOffByOne", {}, "queue_bounded", 4),
    ("ForgetsTimedOutWaiters", {}, "rejects_only_when_full", 6),
    ("ServesNewestFirst", {"max_concurrent": 1, "max_queue": 2}, "serves_in_arrival_order", 5),
    ("NeverRejects", {}, "call_rejected_possible", None),
])
def test_every_property_can_fail(name, params, prop, length):
    model = load_model(f"tests/fixtures/bulkhead_broken.py:{name}")(**params)
    r = check(model, properties=[prop])
    v = r.violation
    assert (r.verdict, v.property) == ("violated", prop)
    if length is None:
        assert (v.kind, v.trace) == ("sometimes", None)
    else:
        assert len(v.trace.steps) - 1 == length
        assert replay(v.trace).ok
    assert check(model, properties=[prop], strategy="dfs").verdict == "violated"


def test_a_forgotten_timeout_turns_a_caller_away_while_nobody_waits():
    model = load_model("tests/fixtures/bulkhead_broken.py:ForgetsTimedOutWaiters")()
    steps = check(model, properties=["rejects_only_when_full"]).violation.trace.steps
    assert steps[-2].action == "waiter_times_out"
    assert steps[-1].action == "bulkhead_rejects_caller"
    assert "waiting" not in steps[-2].state["caller"] and steps[-2].state["queued"] == 1


def test_the_first_waiter_gets_the_freed_slot():
    """One slot, two waiters: the slot goes to the one that came first, and a newcomer waits
    behind them (the counterexample of a bulkhead that serves the newest waiter first)."""
    model = load_model("tests/fixtures/bulkhead_broken.py:ServesNewestFirst")(
        max_concurrent=1, max_queue=2)
    steps = check(model, properties=["serves_in_arrival_order"]).violation.trace.steps
    assert [s.action for s in steps[1:]] == ["caller_takes_slot", "caller_joins_queue",
                                             "caller_joins_queue", "caller_finishes",
                                             "waiter_takes_slot"]
    first, second = steps[2].args["c"], steps[3].args["c"]
    assert steps[-2].state["waiters"] == [first, second] and steps[-1].args["c"] == second
    assert check(Bulkhead(max_concurrent=1, max_queue=2, callers=4)).verdict == "ok"

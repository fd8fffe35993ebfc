"""The article's resilience promises, checked as liveness under fairness (issue 11, item 6):
the breaker recovers (``recovers``, <>[]closed), a retried call terminates (``terminates``, <>done),
a bulkhead starves nobody (``no_starvation``, waiting ~> served, per caller).

Each verdict is pinned with its state count, which equals the safety-only search of the same
model without symmetry (the liveness check walks the same graph, symmetry off). Each refutation
is pinned by its lasso (where the loop starts, what it repeats, the field that shows the bug) and
confirmed by ``kripke.replay``, which also checks the loop is fair. The variants of
``tests/fixtures/resilience_fairness.py`` drop one fairness assumption each, to show what every
promise rests on.
"""

import pytest
from click.testing import CliRunner

import kripke
from kripke import check, load_model
from kripke.cli import main

FIXTURES = "tests/fixtures/resilience_fairness.py:"


def checked(name, prop, *, fairness=True, **params):
    """The check of ``prop`` on model ``name``, after asserting it searched the same graph as
    the safety-only check without symmetry."""
    model = load_model(name)(**params)
    live = check(model, properties=[prop], fairness=fairness)
    safe = check(model, properties=["type_ok"], symmetry=False)
    assert safe.verdict == "ok"
    assert (live.distinct_states, live.states_generated) == (safe.distinct_states,
                                                             safe.states_generated)
    return live


def lasso(result, prop):
    """The violation's trace, after asserting it is a lasso of ``prop`` that replays."""
    v = result.violation
    assert (result.verdict, v.property, v.kind) == ("violated", prop, "liveness")
    assert v.trace.loop_start is not None
    assert kripke.replay(v.trace).ok, kripke.replay(v.trace).message
    return v.trace


def stutters(trace):
    """The last state of a lasso that stutters for ever there (no loop steps)."""
    assert trace.loop_start == len(trace.steps) - 1
    return trace.steps[-1].state


# (model, parameters, property, distinct states): holds under the model's fairness, and fails
# without it (--no-fairness: a behaviour may stop anywhere).
HOLDS = [
    ("circuit-breaker", {}, "recovers", 172),
    ("circuit-breaker", {"callers": 1, "success_threshold": 2}, "recovers", 66),
    ("circuit-breaker", {"wall_clock_step": 1}, "recovers", 344),
    ("circuit-breaker", {"callers": 3, "half_open_max_calls": 2, "success_threshold": 2,
                         "max_time": 3}, "recovers", 1182),
    ("circuit-breaker", {"failure_threshold": 3, "recovery_timeout": 2, "max_time": 4,
                         "max_outages": 2}, "recovers", 938),
    # no tick within the modelled time: the clock runs only for the breaker's timeout
    ("circuit-breaker", {"max_time": 0}, "recovers", 41),
    # the article's breaker recovers when its trials can reach success_threshold
    ("circuit-breaker-article", {}, "recovers", 324),
    ("circuit-breaker-article", {"callers": 3, "half_open_max_calls": 2,
                                 "success_threshold": 2, "max_time": 3}, "recovers", 3508),
    ("retry", {}, "terminates", 165),
    ("retry", {"non_retryable": True}, "terminates", 214),
    ("retry-article", {}, "terminates", 147),
    ("retry-article", {"max_retries": 0}, "terminates", 2),
    ("bulkhead", {}, "no_starvation", 592),
    ("bulkhead", {"max_concurrent": 1, "max_queue": 2}, "no_starvation", 1326),
    # the article's bulkhead queues without bound, but every waiter still times out
    ("bulkhead-article", {}, "no_starvation", 564),
]


@pytest.mark.parametrize("name,params,prop,distinct", HOLDS)
def test_the_promise_holds_under_fairness_and_needs_it(name, params, prop, distinct):
    r = checked(name, prop, **params)
    assert (r.verdict, r.properties, r.distinct_states) == ("ok", [prop], distinct)
    assert r.symmetry is False
    unfair = checked(name, prop, fairness=False, **params)
    trace = lasso(unfair, prop)
    assert trace.fairness is False and unfair.distinct_states == distinct


def test_symmetric_models_keep_their_default_check():
    """recovers and no_starvation are checked when named (their fairness is per caller, which
    symmetry reduction is not known to keep): the default check still reduces symmetry, and
    retry, which has no symmetry, checks terminates by default."""
    for name, prop, orbits in (("circuit-breaker", "recovers", 115),
                               ("bulkhead", "no_starvation", 51)):
        r = check(load_model(name)())
        assert r.verdict == "ok" and r.symmetry and r.distinct_states == orbits
        assert prop not in r.properties
        named = check(load_model(name)(), properties=[prop])
        assert named.symmetry_note.startswith("symmetry off: temporal properties")
    assert "terminates" in check(load_model("retry")()).properties


# -- the circuit breaker ---------------------------------------------------------------------------

def test_the_articles_breaker_sticks_in_half_open():
    """success_threshold 2 > half_open_max_calls 1: the one trial succeeds, half_open_calls stays
    at its maximum, every later call is rejected (a stutter), and the breaker is half-open for
    ever, the service healthy for good."""
    r = checked("circuit-breaker-article", "recovers", callers=1, success_threshold=2)
    assert r.distinct_states == 85
    trace = lasso(r, "recovers")
    last = stutters(trace)
    assert trace.loop_start == 10
    assert (last["circuit"], last["service"], last["outages"]) == ("half_open", "healthy", 1)
    assert (last["success_count"], last["half_open_calls"], last["calls"]) == (1, 1, ["idle"])
    assert last["now"] == 2  # the clock has stopped: nothing waits for it
    actions = [s.action for s in trace.steps[1:]]
    assert actions[-3:] == ["caller_call", "caller_complete", "tick"]
    assert [s.state["circuit"] for s in trace.steps[8:]] == ["half_open"] * 3
    assert r.violation.message == ("recovers (<>[]P) is violated: after 10 steps a fair behaviour "
                                   "stutters for ever at step 10")


def test_the_articles_breaker_sticks_with_two_callers_too():
    r = checked("circuit-breaker-article", "recovers", half_open_max_calls=1,
                success_threshold=2)
    last = stutters(lasso(r, "recovers"))
    assert r.distinct_states == 303
    assert (last["circuit"], last["success_count"], last["half_open_calls"]) == ("half_open", 1, 1)
    assert last["calls"] == ["idle", "idle"]


def test_the_command_line_refutes_the_article_with_a_lasso():
    r = CliRunner().invoke(main, ["check", "circuit-breaker-article", "-p", "callers=1", "-p",
                                  "success_threshold=2", "--property", "recovers"])
    assert r.exit_code == 1
    assert "recovers violated (liveness) after 10 steps, then stuttering forever" in r.output
    r = CliRunner().invoke(main, ["check", "circuit-breaker", "--property", "recovers"])
    assert r.exit_code == 0 and "172 distinct states" in r.output


def test_a_caller_that_abandons_every_trial_keeps_the_breaker_half_open():
    """With cancellation, a trial can be taken back before it is answered, again and again: the
    answer is not enabled throughout, so weak fairness does not force it, and the breaker never
    learns that the service is back. The correct breaker and the article's both fail."""
    r = checked("circuit-breaker", "recovers", cancellation=True)
    assert r.distinct_states == 197
    trace = lasso(r, "recovers")
    k = trace.loop_start
    assert (k, len(trace.steps) - 1) == (9, 15)
    loop = trace.steps[k + 1:]
    assert [s.action for s in loop] == ["caller_cancels", "caller_call"] * 3
    assert all(s.state["circuit"] == "half_open" and s.state["service"] == "healthy"
               and s.state["trial_successes"] == 0 for s in trace.steps[k:])
    assert trace.steps[-1].state == trace.steps[k].state
    article = checked("circuit-breaker-article", "recovers", cancellation=True)
    assert stutters(lasso(article, "recovers"))["circuit"] == "half_open"


def test_a_strongly_fair_answer_makes_the_breaker_recover_despite_cancellation():
    model = load_model(FIXTURES + "BreakerAnswerStronglyFair")(cancellation=True)
    r = check(model, properties=["recovers"])
    assert (r.verdict, r.distinct_states) == ("ok", 197)


def test_a_clock_that_stops_at_max_time_would_refute_every_breaker():
    """Why the clock runs past max_time while an open breaker waits: stopped, it leaves a breaker
    that opened in the last tick open for ever, its timeout never over. (156 states: the
    breaker's whole space before the clock ran on.)"""
    r = check(load_model(FIXTURES + "BreakerClockStops")(), properties=["recovers"])
    assert r.distinct_states == 156
    last = stutters(lasso(r, "recovers"))
    assert (last["circuit"], last["service"], last["now"], last["retry_at"]) == (
        "open", "healthy", 2, 3)


# (variant, what the behaviour stutters in): each fairness recovers needs, dropped.
BREAKER_NEEDS = [
    ("BreakerNoTick", {"circuit": "open", "now": 0, "retry_at": 1}),
    ("BreakerNoCaller", {"circuit": "open", "now": 2, "retry_at": 1, "calls": ["idle", "idle"]}),
    ("BreakerNoAnswer", {"circuit": "half_open", "calls": ["trial", "idle"]}),
    ("BreakerNoRecovery", {"circuit": "open", "service": "failing"}),
]


@pytest.mark.parametrize("variant,stuck", BREAKER_NEEDS)
def test_the_breaker_recovers_only_with_each_of_its_fairness_assumptions(variant, stuck):
    r = check(load_model(FIXTURES + variant)(), properties=["recovers"])
    assert r.distinct_states == 172
    last = stutters(lasso(r, "recovers"))
    assert {k: last[k] for k in stuck} == stuck


# -- retry ---------------------------------------------------------------------------------------

def test_a_call_may_hang_at_its_first_attempt_without_fairness():
    trace = lasso(check(load_model("retry")(), properties=["terminates"], fairness=False),
                  "terminates")
    assert trace.loop_start == 0 and len(trace.steps) == 1
    assert trace.steps[0].state["phase"] == "calling"


def test_a_backoff_that_never_ends_never_terminates():
    r = check(load_model(FIXTURES + "RetryWaitsForever")(), properties=["terminates"])
    trace = lasso(r, "terminates")
    last = stutters(trace)
    assert [s.action for s in trace.steps[1:]] == ["downstream_fails"]
    assert (last["phase"], last["attempts"], last["waits"]) == ("failed", 1, [])


# -- the bulkhead ----------------------------------------------------------------------------------

def test_without_fairness_a_waiter_waits_for_ever():
    r = check(load_model("bulkhead")(), properties=["no_starvation"], fairness=False)
    last = stutters(lasso(r, "no_starvation"))
    assert r.violation.message.startswith("no_starvation (P ~> Q) is violated for caller=0")
    assert (last["caller"][0], last["waiters"], last["permits"]) == ("waiting", [0], 0)


@pytest.mark.parametrize("variant", ["BulkheadNoRelease", "BulkheadNoClock"])
def test_a_waiter_is_served_by_a_freed_slot_or_by_its_timeout(variant):
    """Either suffices: a running call that ends frees a slot for the first waiter; a clock that
    ticks times the waiter out."""
    r = check(load_model(FIXTURES + variant)(), properties=["no_starvation"])
    assert (r.verdict, r.distinct_states) == ("ok", 592)


def test_with_neither_a_waiter_waits_for_ever():
    r = check(load_model(FIXTURES + "BulkheadNoReleaseNoClock")(), properties=["no_starvation"])
    last = stutters(lasso(r, "no_starvation"))
    assert last["caller"] == ["waiting", "running", "running", "idle"]
    assert (last["permits"], last["waited"][0]) == (0, 0)


def test_a_freed_slot_must_be_handed_to_the_first_waiter():
    """The waiter's timeout runs only while every slot is busy: with a slot free and not handed
    over, nothing else moves it."""
    r = check(load_model(FIXTURES + "BulkheadNoHandOver")(), properties=["no_starvation"])
    last = stutters(lasso(r, "no_starvation"))
    assert (last["caller"][0], last["waiters"], last["permits"]) == ("waiting", [0], 2)

"""Retry with exponential backoff and jitter, and the article's retry_with_backoff, property by
property."""

import pytest

from kripke.checkers.explicit import check
from kripke.models.retry import Retry, RetryArticle
from kripke.models.system import load_model
from tests.oracles.bfs import bfs
from kripke.traces.trace import replay
from tests.conftest import expect_property

ALL = ["type_ok", "attempts_bounded", "delay_bounded", "gives_up_with_last_error", "terminates",
       "succeeds_after_retry"]


def states(model):
    """Every reachable state, by a plain BFS over the model's successors."""
    init = next(iter(model.init()))
    return bfs(init, lambda s: [t for _, _, t in model.successors(s)])[3]


@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
@pytest.mark.parametrize("model,params,props,counts", [
    (Retry, {}, None, (165, 165, 11)),
    (RetryArticle, {}, ["type_ok", "attempts_bounded", "succeeds_after_retry"], (147, 147, 9)),
    # every attempt may also fail permanently: one more leaf below each calling state (49, 40)
    (Retry, {"non_retryable": True}, None, (214, 214, 11)),
    (RetryArticle, {"non_retryable": True}, ["type_ok", "attempts_bounded",
                                             "succeeds_after_retry"], (187, 187, 9)),
])
def test_counts_at_the_defaults(model, params, props, counts, strategy):
    """The states form a tree (each is reached one way): generated = distinct."""
    r = check(model(**params), properties=props, strategy=strategy)
    assert (r.verdict, r.distinct_states, r.states_generated, r.depth) == ("ok", *counts)
    if props is None:
        assert r.properties == ALL


ACTIONS = {"downstream_succeeds", "downstream_fails", "downstream_fails_permanently",
           "retrier_backs_off", "retrier_gives_up"}


@pytest.mark.parametrize("model", [Retry, RetryArticle])
def test_every_action_fires_at_the_defaults(model):
    """Every action but the permanent failure, which only non_retryable enables."""
    r = check(model(), properties=["type_ok"])
    assert set(r.coverage) == ACTIONS
    assert [a for a, c in r.coverage.items() if c["fired"] == 0] == [
        "downstream_fails_permanently"]
    r = check(model(non_retryable=True), properties=["type_ok"])
    assert all(c["fired"] > 0 for c in r.coverage.values())


def test_an_error_outside_retry_on_goes_through_at_once():
    """Neither retrier waits after a permanent failure: the call raises it, unretried."""
    for model in (Retry(non_retryable=True), RetryArticle(non_retryable=True)):
        ends = [s for s in states(model) if s.phase == "propagated"]
        assert ends and all(s.raised == s.last_error == s.attempts == len(s.waits) + 1
                            for s in ends)


def test_the_cap_binds_at_the_defaults():
    """The fourth wait of ``retry`` is 8 s times a factor from 0.5 to 1.5, always capped to 3 s;
    the article caps the third delay, 4 s, to 3 s before the jitter stretches it to 4.5 s."""
    assert {s.waits[3] for s in states(Retry()) if len(s.waits) == 4} == {30}
    assert {s.waits[2] for s in states(RetryArticle()) if len(s.waits) == 3} == {15, 30, 45}


# (parameters, property, verdict, counterexample length): what the checker says of the article.
ARTICLE = [
    ({}, "type_ok", "ok", None),
    ({}, "attempts_bounded", "ok", None),
    ({}, "delay_bounded", "violated", 6),
    ({}, "gives_up_with_last_error", "violated", 8),
    ({}, "succeeds_after_retry", "ok", None),
    ({"non_retryable": True}, "delay_bounded", "violated", 6),
    ({"non_retryable": True}, "gives_up_with_last_error", "violated", 8),
    ({"max_retries": 0}, "gives_up_with_last_error", "violated", 1),
    ({"jitter": 0}, "delay_bounded", "ok", None),
]


@pytest.mark.parametrize("params,prop,verdict,length", ARTICLE)
def test_what_the_checker_says_of_the_article(params, prop, verdict, length):
    expect_property(RetryArticle(**params), prop, verdict, length)


def test_the_articles_wait_exceeds_max_delay():
    """Three failures: the third delay (4 s) is capped to 3 s, then jittered to 4.5 s."""
    r = check(RetryArticle(), properties=["delay_bounded"])
    steps = r.violation.trace.steps
    assert [s.action for s in steps[1:]] == ["downstream_fails", "retrier_backs_off"] * 3
    assert steps[-1].state["waits"][-1] == 45  # 1.5 * max_delay, in tenths


def test_the_article_gives_up_one_retry_early():
    """max_retries=4: the article gives up after 4 attempts (3 retries), with attempt 4's error."""
    r = check(RetryArticle(), properties=["gives_up_with_last_error"])
    last = r.violation.trace.steps[-1]
    assert last.action == "retrier_gives_up"
    assert (last.state["attempts"], len(last.state["waits"])) == (4, 3)
    assert last.state["raised"] == last.state["last_error"] == 4


def test_the_article_with_no_retries_never_calls_and_raises_no_error():
    """max_retries=0: range(0) is empty; RetryExhausted holds last_exception = None."""
    r = check(RetryArticle(max_retries=0), properties=["gives_up_with_last_error"])
    last = r.violation.trace.steps[-1].state
    assert (last["phase"], last["attempts"], last["raised"]) == ("raised", 0, None)
    # The correct retrier makes its one attempt (there is no retry to succeed after).
    assert check(Retry(max_retries=0), properties=ALL[:-1]).verdict == "ok"


@pytest.mark.parametrize("name,prop,length", [
    ("Uncapped", "type_ok", 6),
    ("OneRetryTooMany", "attempts_bounded", 11),
    ("JitterAddedAfterCap", "delay_bounded", 6),
    ("RaisesFirstError", "gives_up_with_last_error", 10),
    ("NeverRetries", "succeeds_after_retry", None),
])
def test_every_property_can_fail(name, prop, length):
    model = load_model(f"tests/fixtures/retry_broken.py:{name}")()
    for strategy in ("bfs", "dfs"):
        r = check(model, properties=[prop], strategy=strategy)
        v = r.violation
        assert (r.verdict, v.property) == ("violated", prop)
        if length is None:
            assert (v.kind, v.trace) == ("sometimes", None)
        else:
            assert len(v.trace.steps) - 1 == length
            assert replay(v.trace).ok

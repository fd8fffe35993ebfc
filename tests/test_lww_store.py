"""The last-write-wins store and the article's EventuallyConsistentStore, property by property."""

import pytest

from kripke.checkers.explicit import check
from kripke.models.lww_store import LwwStore, LwwStoreArticle
from kripke.models.system import load_model
from tests.conftest import expect_property

ALL = ["type_ok", "convergence", "quiescent_agreement", "read_your_writes",
       "no_lost_causal_update", "converged_possible"]


@pytest.mark.parametrize("params,distinct", [
    ({}, 226),
    ({"max_skew": 1}, 834),
    ({"max_skew": 1, "lossy": True, "duplicating": True}, 2096),
    ({"max_skew": 1, "keys": 2, "partitions": True, "lossy": True}, 12892),
])
def test_the_store_converges_over_an_unreliable_network(params, distinct):
    for strategy in ("bfs", "dfs"):
        # the safety properties; converges (temporal) is pinned in test_liveness_promises.py,
        # where the partitions row refutes it (a partition need never heal)
        r = check(LwwStore(**params), strategy=strategy, properties=ALL)
        assert (r.verdict, r.distinct_states, r.properties) == ("ok", distinct, ALL)


# (parameters, property, verdict, counterexample length): what the checker says of the article.
ARTICLE = [
    ({}, "convergence", "ok", None),
    ({}, "quiescent_agreement", "ok", None),
    ({}, "read_your_writes", "ok", None),
    ({}, "no_lost_causal_update", "ok", None),
    ({"max_skew": 1}, "convergence", "ok", None),
    ({"max_skew": 1}, "read_your_writes", "violated", 4),
    ({"lossy": True}, "quiescent_agreement", "violated", 3),
    ({"duplicating": True}, "convergence", "violated", 8),
    ({"duplicating": True}, "no_lost_causal_update", "violated", 6),
    ({"max_writes": 2}, "convergence", "violated", 6),
    ({"max_writes": 2}, "no_lost_causal_update", "violated", 6),
    ({"max_writes": 2}, "read_your_writes", "violated", 7),
]


@pytest.mark.parametrize("params,prop,verdict,length", ARTICLE)
def test_what_the_articles_store_gets_wrong(params, prop, verdict, length):
    expect_property(LwwStoreArticle(**params), prop, verdict, length)


def test_a_later_clock_beats_a_causally_later_write():
    """Skew 1: replica 1's clock is ahead; its write reaches replica 0, which then writes. The
    article's merge keeps the remote write (timestamp 1 > 0): replica 0 loses its own write."""
    r = check(LwwStoreArticle(max_skew=1), properties=["read_your_writes"])
    steps = r.violation.trace.steps
    assert [s.action for s in steps[1:]] == ["write", "sync_to_replicas", "receive_sync", "write"]
    last = steps[-1].state
    assert last["own"][0][0]["write"] == {"type": "Write", "node": 0, "seq": 1}
    assert last["data"][0][0]["write"] == {"type": "Write", "node": 1, "seq": 1}
    assert (last["own"][0][0]["ts"], last["data"][0][0]["ts"]) == (0, 1)


def test_a_lost_sync_is_never_sent_again():
    r = check(LwwStoreArticle(lossy=True), properties=["quiescent_agreement"])
    steps = r.violation.trace.steps
    assert [s.action for s in steps[1:]] == ["write", "sync_to_replicas", "drop_message"]
    assert steps[-1].state["pending_sync"] == [[], []] and steps[-1].state["messages"] == []


@pytest.mark.parametrize("name,params,prop,kind", [
    ("NeverReplicates", {}, "converged_possible", "sometimes"),
    ("RunawayClock", {}, "type_ok", "type"),
])
def test_every_property_can_fail(name, params, prop, kind):
    model = load_model(f"tests/fixtures/lww_broken.py:{name}")(**params)
    r = check(model, properties=[prop])
    assert (r.verdict, r.violation.property, r.violation.kind) == ("violated", prop, kind)

"""The article's promises, checked as liveness under fairness (issue 11, items 6 and 8).

Each promise holds where the protocol earns it and is refuted, as a lasso, where the article's
code or the environment breaks it. A liveness run explores the same graph as a safety run of the
same parameters without symmetry, so its distinct count is pinned against that run.
"""

import pytest

from kripke import check, replay
from kripke.models.commit_2pc import Commit2PC
from kripke.models.lww_store import LwwStore, LwwStoreArticle
from kripke.models.saga import SagaChoreography, SagaOrchestration
from kripke.models.two_phase import TwoPhase


def same_graph_as_safety(model, r):
    """The liveness run's distinct count equals a complete safety-only run's, symmetry off."""
    safety = check(model, symmetry=False, properties=["type_ok"])
    assert safety.verdict == "ok"
    assert r.distinct_states == safety.distinct_states


def lasso(r, prop):
    """The violation of ``prop``: a liveness lasso that replays (prefix, fair loop, failure)."""
    v = r.violation
    assert (r.verdict, v.property, v.kind) == ("violated", prop, "liveness")
    assert v.trace.loop_start is not None
    assert replay(v.trace).ok
    return v.trace


def actions(steps):
    return [s.action for s in steps]


# -- lww-store: "all nodes will eventually have the same data" ------------------------------------
@pytest.mark.parametrize("params,distinct", [
    ({}, 226),
    ({"lossy": True, "duplicating": True}, 570),
    ({"max_skew": 1, "lossy": True, "duplicating": True}, 2096),
])
def test_the_store_converges_over_a_lossy_duplicating_network(params, distinct):
    model = LwwStore(**params)
    r = check(model, properties=["converges"])
    assert (r.verdict, r.distinct_states, r.properties) == ("ok", distinct, ["converges"])
    same_graph_as_safety(model, r)


def test_converges_is_checked_by_default():
    r = check(LwwStore(lossy=True, duplicating=True))
    assert (r.verdict, r.distinct_states) == ("ok", 570)
    assert r.properties[-1] == "converges"


def test_weakly_fair_delivery_lets_the_network_lose_every_copy():
    """Send, drop, send, drop: the update is deliverable again and again, never continuously,
    so weak fairness of receiving is met and replica 1 never gets the write."""
    model = LwwStore(lossy=True, delivery="weak")
    r = check(model, properties=["converges"])
    trace = lasso(r, "converges")
    assert r.distinct_states == 462
    same_graph_as_safety(model, r)
    assert trace.loop_start == 1
    assert actions(trace.steps[1:]) == ["write", "send_update", "drop_message"]
    assert trace.steps[-1].state == trace.steps[1].state  # back to step 1
    assert trace.steps[1].state["data"][1] == [None]  # replica 1 holds nothing, for ever


class WeakResend(LwwStore):
    """lww-store with retransmission only weakly fair (unregistered, for the next test)."""

    name = None

    def fairness(self, name):
        return "weak" if name == "send_update" else super().fairness(name)


def test_weakly_fair_retransmission_is_starved_by_duplicates():
    """A send waits while the network (max_msgs = 2) is full; a network that duplicates a
    message whenever there is room keeps a weakly fair send disabled now and then, for ever."""
    r = check(WeakResend(duplicating=True), properties=["converges"])
    v = r.violation
    assert (v.property, v.kind) == ("converges", "liveness")
    loop = r.violation.trace.steps[r.violation.trace.loop_start + 1:]
    assert "duplicate_message" in actions(loop) and "send_update" not in actions(loop)
    assert check(LwwStore(duplicating=True), properties=["converges"]).verdict == "ok"


def test_a_partition_that_need_not_heal_refutes_convergence():
    """CAP: partitions are the environment's (never fair), so the network may be cut whenever
    the update is in flight."""
    r = check(LwwStore(max_skew=1, keys=2, partitions=True, lossy=True), properties=["converges"])
    trace = lasso(r, "converges")
    assert r.distinct_states == 12892
    loop = actions(trace.steps[trace.loop_start + 1:])
    assert "partition_network" in loop and "receive_update" not in loop


def test_the_articles_lost_sync_is_never_sent_again():
    model = LwwStoreArticle(lossy=True)
    r = check(model, properties=["converges"])
    trace = lasso(r, "converges")
    assert r.distinct_states == 138
    same_graph_as_safety(model, r)
    assert actions(trace.steps[1:]) == ["write", "sync_to_replicas", "drop_message"]
    assert trace.loop_start == len(trace.steps) - 1 == 3  # stutters for ever
    last = trace.steps[-1].state
    assert last["messages"] == [] and last["pending_sync"] == [[], []]
    assert last["data"][0][0]["write"] == {"type": "Write", "node": 0, "seq": 1}
    assert last["data"][1] == [None]
    assert "stutters for ever at step 3" in r.violation.message


def test_the_article_converges_on_a_reliable_network():
    assert check(LwwStoreArticle(), properties=["converges"]).verdict == "ok"


# -- commit-2pc: the blocking problem ------------------------------------------------------------
def test_a_participant_waits_for_ever_for_a_coordinator_that_never_recovers():
    model = Commit2PC()
    r = check(model, properties=["participants_decide"])
    trace = lasso(r, "participants_decide")
    assert r.distinct_states == 5800
    same_graph_as_safety(model, r)
    assert "for participant=0" in r.violation.message
    assert actions(trace.steps[1:]) == ["begin", "prepare", "crash_coordinator"]
    assert trace.loop_start == len(trace.steps) - 1  # stutters for ever
    last = trace.steps[-1].state
    assert last["coordinator_up"] is False and last["up"] == [True, True]
    assert last["outcome"][0][0] == "prepared"


def test_fair_recovery_alone_lets_the_coordinator_crash_whenever_the_participant_is_up():
    """With recovery fair but crashes unbounded, the coordinator and participant 0 take turns
    being down: the decision is never sent (AC5 also assumes failures stop)."""
    r = check(Commit2PC(fair_recovery=True), properties=["participants_decide"])
    trace = lasso(r, "participants_decide")
    loop = trace.steps[trace.loop_start:]
    assert {"crash_coordinator", "recover_coordinator"} <= set(actions(loop[1:]))
    assert not any(s.state["coordinator_up"] and s.state["up"][0] for s in loop)
    assert all(s.state["outcome"][0][0] == "prepared" for s in loop)


def test_failures_that_stop_do_not_help_a_coordinator_that_never_recovers():
    r = check(Commit2PC(failures_stop=True), properties=["participants_decide"])
    trace = lasso(r, "participants_decide")
    assert actions(trace.steps[1:]) == ["begin", "prepare", "crash_coordinator", "failures_end"]
    assert trace.loop_start == len(trace.steps) - 1
    assert trace.steps[-1].state["coordinator_up"] is False


def test_participants_decide_when_recovery_is_fair_and_failures_stop():
    model = Commit2PC(fair_recovery=True, failures_stop=True)
    r = check(model, properties=["participants_decide"])
    assert (r.verdict, r.distinct_states) == ("ok", 11600)
    same_graph_as_safety(model, r)


def test_the_default_2pc_check_is_unchanged():
    r = check(Commit2PC())
    assert (r.verdict, r.distinct_states) == ("ok", 5800)
    assert "participants_decide" not in r.properties


# -- sagas ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("model,distinct", [
    (SagaOrchestration(), 10),
    (SagaChoreography(), 14),
    (SagaChoreography(duplicating=True), 80),
])
def test_every_saga_terminates_under_fair_delivery(model, distinct):
    r = check(model, properties=["saga_terminates"])
    assert (r.verdict, r.distinct_states) == ("ok", distinct)
    same_graph_as_safety(model, r)
    assert check(model).properties[-1] == "saga_terminates"  # checked by default


def test_a_lost_event_leaves_the_saga_pending_for_ever():
    model = SagaChoreography(lossy=True)
    r = check(model, properties=["saga_terminates"])
    trace = lasso(r, "saga_terminates")
    assert r.distinct_states == 24
    same_graph_as_safety(model, r)
    assert actions(trace.steps[1:]) == ["drop_message"]  # OrderCreated is lost
    assert trace.loop_start == len(trace.steps) - 1 == 1
    last = trace.steps[-1].state
    assert last["order"] == "pending" and last["messages"] == [] and last["runs"] == [0, 0, 0]


# -- two-phase (item 8) --------------------------------------------------------------------------
@pytest.mark.parametrize("rms,distinct", [(3, 288), (5, 8832)])
def test_a_prepared_rm_learns_the_outcome(rms, distinct):
    model = TwoPhase(rms=rms)
    r = check(model, properties=["rm_learns_outcome"])
    assert (r.verdict, r.distinct_states) == ("ok", distinct)
    assert r.symmetry_note  # symmetry is off for the temporal run, and it says so
    same_graph_as_safety(model, r)


def test_without_fairness_the_tm_may_never_decide():
    r = check(TwoPhase(rms=3), properties=["rm_learns_outcome"], fairness=False)
    trace = lasso(r, "rm_learns_outcome")
    assert "for rm=0" in r.violation.message and "fairness not assumed" in r.violation.message
    assert actions(trace.steps[1:]) == ["rm_prepare"]
    assert trace.loop_start == 1
    assert trace.steps[-1].state["rm_state"][0] == "prepared"
    assert trace.steps[-1].state["tm_state"] == "init"


def test_the_default_two_phase_check_keeps_symmetry():
    r = check(TwoPhase(rms=3))
    assert (r.verdict, r.distinct_states, r.symmetry_note) == ("ok", 80, None)
    assert "rm_learns_outcome" not in r.properties

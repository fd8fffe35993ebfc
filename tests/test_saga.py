"""Sagas, orchestrated and choreographed, and which properties need idempotent handlers."""

import pytest

from kripke.checkers.explicit import check
from kripke.models.saga import SagaChoreography, SagaOrchestration
from kripke.models.system import load_model
from kripke.traces.trace import replay

PROPERTIES = ["type_ok", "semantic_atomicity", "compensation_order", "no_spurious_compensation",
              "saga_completed_possible", "saga_aborted_possible"]


@pytest.mark.parametrize("model,distinct", [
    (SagaOrchestration(), 10),
    (SagaChoreography(), 14),
    (SagaChoreography(lossy=True), 24),
    (SagaChoreography(duplicating=True), 80),
])
def test_sagas_hold(model, distinct):
    for strategy in ("bfs", "dfs"):
        # the safety properties; saga_terminates (temporal) is pinned in
        # test_liveness_promises.py, where the lossy row refutes it (a lost event is not resent)
        r = check(model, strategy=strategy, properties=PROPERTIES)
        assert (r.verdict, r.distinct_states, r.properties) == ("ok", distinct, PROPERTIES)


@pytest.mark.parametrize("prop,length", [
    ("semantic_atomicity", 4),
    ("compensation_order", 5),
    ("no_spurious_compensation", 5),
])
def test_duplicated_events_need_idempotent_handlers(prop, length):
    model = SagaChoreography(duplicating=True, idempotent=False)
    r = check(model, properties=[prop])
    v = r.violation
    assert (v.property, len(v.trace.steps) - 1) == (prop, length)
    assert "duplicate_message" in [s.action for s in v.trace.steps]
    assert replay(v.trace).ok


def test_a_duplicated_order_both_runs_and_fails_the_first_step():
    """The inventory service handles OrderCreated twice: once it reserves, once it fails; the
    order ends aborted with the reservation never released."""
    r = check(SagaChoreography(duplicating=True, idempotent=False),
              properties=["semantic_atomicity"])
    steps = r.violation.trace.steps
    assert [s.action for s in steps[1:]] == ["duplicate_message", "run_step", "fail_step",
                                             "finish_order"]
    last = steps[-1].state
    assert (last["order"], last["runs"][0], last["comps"][0]) == ("aborted", 1, 0)


@pytest.mark.parametrize("name,prop,kind,length", [
    ("CompensatesInOrder", "compensation_order", "invariant", 5),
    ("CompensatesTheFailedStep", "no_spurious_compensation", "invariant", 2),
    ("StopsHalfway", "semantic_atomicity", "invariant", 4),
    ("NeverFails", "saga_aborted_possible", "sometimes", 0),
    ("AlwaysFails", "saga_completed_possible", "sometimes", 0),
    ("RunsAStepTwice", "type_ok", "type", 3),
])
def test_every_property_can_fail(name, prop, kind, length):
    model = load_model(f"tests/fixtures/saga_broken.py:{name}")()
    r = check(model, properties=[prop])
    v = r.violation
    assert (r.verdict, v.property, v.kind) == ("violated", prop, kind)
    assert (len(v.trace.steps) - 1 if v.trace else 0) == length

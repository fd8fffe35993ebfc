"""CAP, demonstrated by the checker: during a partition, cp keeps linearizability and loses
availability; ap keeps availability and loses linearizability."""


import pytest

from kripke.checkers.explicit import check
from kripke.models.cap_register import CapRegister
from kripke.specs.consistency import check_history
from kripke.traces.trace import replay


def test_cp_is_linearizable_and_unavailable():
    model = CapRegister(mode="cp")
    assert check(model, properties=["linearizability", "served_during_partition",
                                    "type_ok"]).verdict == "ok"
    r = check(model, properties=["availability"])
    steps = r.violation.trace.steps
    assert [s.action for s in steps[1:]] == ["partition_network", "invoke_write", "refuse"]
    assert steps[1].args == {"sides": [[0], [1, 2]]} and steps[-1].state["refused"] == [0]
    assert replay(r.violation.trace).ok


def test_ap_is_available_and_not_linearizable(tmp_path):
    model = CapRegister(mode="ap")
    assert check(model, properties=["availability", "served_during_partition",
                                    "type_ok"]).verdict == "ok"
    r = check(model, properties=["linearizability"])
    steps = r.violation.trace.steps
    assert [s.action for s in steps[1:]] == ["partition_network", "invoke_write", "serve",
                                             "invoke_read", "serve"]
    history = steps[-1].state["history"]
    # A write of 1 completed at replica 0; then, on the other side, a read returned nothing.
    assert [(op["kind"], op["value"]) for op in history] == [("write", 1), ("read", None)]
    assert history[0]["completed"] < history[1]["invoked"]
    result = check_history(_ops(history), "linearizability")
    assert result.verdict == "violated"
    assert check_history(_ops(history), "sequential_consistency").verdict == "ok"
    assert replay(r.violation.trace).ok


def _ops(history):
    from kripke.specs.consistency import Operation
    return [Operation(**{k: v for k, v in op.items() if k != "type"}) for op in history]


@pytest.mark.parametrize("mode", ["cp", "ap"])
def test_without_a_partition_both_modes_are_linearizable_and_available(mode):
    model = CapRegister(mode=mode, partitions=False)
    r = check(model, properties=["linearizability", "availability"])
    assert r.verdict == "ok"

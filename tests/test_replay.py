"""Replay cannot be fooled (issue 9, items 5 and 6): the kind must fit the property, states and
arguments compare with their types, and exceptions are confirmed by raising them again.

The traces here are written by hand, as a user editing a trace file would, and replayed through
the CLI (exit 0 reproduced, 1 diverges, 2 bad input in one line) or ``replay``.
"""

import json

import pytest
from click.testing import CliRunner

from kripke.cli import main
from kripke.errors import KripkeError, TraceFormatError, UnknownNameError
from kripke.checkers.explicit import check
from kripke.models.system import load_model
from kripke.traces.trace import from_json, json_equal, replay

FIXTURES = "tests/fixtures/replay_models.py"
INVERSE = f"{FIXTURES}:InverseCounter"
DIV0 = "ZeroDivisionError: division by zero"


def trace_json(model, prop, kind, steps, params=None):
    """A trace file's JSON: ``steps`` are (action, state) pairs or (action, state, error)."""
    out = []
    for n, (action, state, *error) in enumerate(steps):
        step = {"action": None if n == 0 else action, "args": {}, "state": state}
        if error:
            step["error"] = error[0]
        out.append(step)
    return {"format": "kripke-trace", "version": 1, "model": model, "params": params or {},
            "property": prop, "kind": kind, "steps": out, "loop_start": None}


def counting(*xs, error=None, action="inc"):
    """Steps from x = xs[0] through each x, by ``action``; ``error`` on the last."""
    steps = [(action, {"x": x}) for x in xs]
    if error is not None:
        steps[-1] = steps[-1] + (error,)
    return steps


def kripke_replay(tmp_path, data):
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(data))
    result = CliRunner().invoke(main, ["replay", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception  # never a traceback
    return result.exit_code, result.output


# -- the kind must fit the property ---------------------------------------------------------
def test_a_trace_of_kind_sometimes_is_exit_2(tmp_path):
    data = trace_json("toy-counter", "reaches_n", "sometimes", counting(0, 1), {"n": 2})
    assert kripke_replay(tmp_path, data) == (2, (
        "kripke: error: the trace says reaches_n is violated as a sometimes property: a sometimes "
        "violation (no reachable state satisfies it) cannot be confirmed by a trace; run kripke "
        "check\n"))


@pytest.mark.parametrize("model,prop,kind,steps,message", [
    ("toy-counter", "below_limit", "deadlock", counting(0, 1),
     "a deadlock trace names the property 'deadlock', this one 'below_limit'"),
    ("toy-counter", "below_limit", "type", counting(0, 1),
     "a type trace names the property 'type_ok', this one 'below_limit'"),
    ("toy-counter", "reaches_n", "always_possible", counting(0, 1),
     "reaches_n is a sometimes property, the trace says always_possible: a sometimes violation"),
    ("toy-counter", "below_limit", "step", counting(0, 1),
     "below_limit is an invariant property, the trace says step"),
    (INVERSE, "inverse_changes", "step", counting(0),
     "a step property is violated by a step, and the trace of inverse_changes has only its "
     "initial state"),
    ("toy-counter", "below_limit", "invariant", counting(0, 1, error=DIV0),
     f"step 1 records an error \\({DIV0}\\), but the trace's kind is invariant"),
    ("toy-counter", "below_limit", "exception", [("inc", {"x": 0}), ("inc", None, DIV0)],
     "its state is null\\), so the trace's property is 'exception', not 'below_limit'"),
    (INVERSE, "inverse_changes", "exception", counting(0, error=DIV0),
     "inverse_changes is a step property: it cannot raise on an initial state alone"),
    (f"{FIXTURES}:Count", "type_ok", "type", [("up", [0])],
     "fields list, but tests/fixtures/replay_models.py:Count has \\['y'\\]"),
])
def test_a_trace_that_does_not_fit_its_property_is_bad_input(model, prop, kind, steps, message):
    with pytest.raises(TraceFormatError, match=message):
        replay(from_json(trace_json(model, prop, kind, steps)))


def test_an_unknown_property_is_bad_input_listing_the_model_s():
    data = trace_json("toy-counter", "below_limits", "invariant", counting(0, 1))
    with pytest.raises(UnknownNameError, match="unknown property of toy-counter 'below_limits'; "
                                               "available: below_limit, reaches_n, type_ok"):
        replay(from_json(data))


def test_only_the_last_step_records_an_error():
    data = trace_json("toy-counter", "exception", "exception", counting(0, 1, 2))
    data["steps"][1]["error"] = DIV0
    with pytest.raises(TraceFormatError, match="step 1 records an error but is not the last "
                                               "step"):
        from_json(data)
    data = trace_json("toy-counter", "exception", "exception", [("inc", None, DIV0)])
    with pytest.raises(TraceFormatError, match="step 0 has no state"):
        from_json(data)


# -- values compare with their types ---------------------------------------------------------
def test_json_equal_tells_true_from_1_from_1_0():
    assert json_equal({"x": [1, True, "a", None, {"k": 1.5}]}, {"x": (1, True, "a", None,
                                                                       {"k": 1.5})})
    assert not json_equal(True, 1) and not json_equal(1, 1.0) and not json_equal(0, False)
    assert not json_equal([1, [True]], [1, [1]]) and not json_equal({"k": 1}, {"k": True})
    assert not json_equal({"k": 1}, {"k": 1, "j": 1}) and not json_equal("1", 1)


def test_arguments_compare_with_their_types(tmp_path):
    data = trace_json("toy-bits", "all_set", "invariant", [], {"procs": 2})
    data["steps"] = [{"action": None, "args": {}, "state": {"bits": ["zero", "zero"]}},
                     {"action": "set_bit", "args": {"p": 1}, "state": {"bits": ["zero", "one"]}}]
    data["kind"], data["property"] = "deadlock", "deadlock"
    assert kripke_replay(tmp_path, data) == (1, "diverges: step 1: the last state is not a "
                                                "deadlock\n")
    data["steps"][1]["args"]["p"] = True  # no state of toy-bits has this call: bad input
    assert kripke_replay(tmp_path, data) == (2, (
        "kripke: error: step 1: set_bit(p=true): p=true is outside the domain of set_bit's p "
        "(PROC: 0, 1): a trace of another model, or edited?\n"))
    data["steps"][1]["args"]["p"] = 2
    assert kripke_replay(tmp_path, data)[0] == 2
    data["steps"][1]["args"] = {"p": 1, "q": 0}
    assert kripke_replay(tmp_path, data) == (2, (
        "kripke: error: step 1: set_bit(p=1, q=0): set_bit has no argument 'q': a trace of "
        "another model, or edited?\n"))
    data["steps"][1]["args"] = {}
    assert kripke_replay(tmp_path, data) == (2, (
        "kripke: error: step 1: set_bit() lacks argument 'p': a trace of another model, or "
        "edited?\n"))
    data["steps"][1]["action"] = "set_bits"
    assert kripke_replay(tmp_path, data) == (2, (
        "kripke: error: step 1: the model has no action 'set_bits' (its actions: set_bit): a "
        "trace of another model, or edited?\n"))


def test_a_message_not_in_flight_diverges(tmp_path):
    """A state-dependent domain (the messages in flight) is on offer state by state: a step
    receiving a message that is not in flight diverges (exit 1); it is not bad input."""
    CliRunner().invoke(main, ["check", "toy-pingpong", "--out", str(tmp_path / "out")])
    data = json.loads((tmp_path / "out" / "trace.json").read_text())
    assert [s["action"] for s in data["steps"]] == [None, "send_ping", "send_ping",
                                                    "receive_ping", "receive_ping"]
    data["steps"][1]["action"], data["steps"][1]["args"] = "receive_ping", data["steps"][4]["args"]
    assert kripke_replay(tmp_path, data) == (1, (
        "diverges: step 1: receive_ping(m=Ping(seq=0, src=0, dst=1)) cannot be taken: it is "
        "not a call of the model in the state of step 0 (on offer: none)\n"))


# -- exceptions (item 6) ---------------------------------------------------------------------
@pytest.mark.parametrize("prop", ["inverse_defined", "inverse_negative", "inverse_positive",
                                  "inverse_changes", "refines_count"])
def test_a_property_that_raised_is_confirmed_by_raising_again(prop, tmp_path):
    data = trace_json(INVERSE, prop, "exception", counting(0, 1, 2, error=DIV0))
    assert kripke_replay(tmp_path, data) == (0, f"ok: reproduced: {prop} raises {DIV0} on the "
                                                "state after 2 steps\n")
    data["steps"][-1]["error"] = "ZeroDivisionError: float division"
    assert kripke_replay(tmp_path, data) == (1, (
        f"diverges: step 2: {prop} raised {DIV0} on the last state, the trace records "
        "ZeroDivisionError: float division\n"))
    data = trace_json(INVERSE, prop, "exception", counting(0, 1, error=DIV0))  # ends at x = 1
    code, output = kripke_replay(tmp_path, data)
    assert code == 1 and output.startswith(f"diverges: step 1: {prop} no longer raises {DIV0} "
                                           "on the last state (it returns ")


@pytest.mark.parametrize("prop", ["inverse_defined", "inverse_negative", "inverse_positive",
                                  "refines_count"])
def test_a_property_that_raised_on_the_initial_state(prop):
    data = trace_json(INVERSE, prop, "exception", counting(2, error=DIV0), {"start": 2})
    result = replay(from_json(data))
    assert (result.ok, result.message) == (True, f"reproduced: {prop} raises {DIV0} on the "
                                                 "state after 0 steps")


def test_the_engine_s_property_exception_trace_replays():
    r = check(load_model(INVERSE)(), properties=["inverse_defined"])
    trace = r.violation.trace
    assert (trace.property, trace.kind, trace.steps[-1].state, trace.steps[-1].error) == (
        "inverse_defined", "exception", {"x": 2}, DIV0)
    assert replay(from_json(json.loads(json.dumps(trace.to_json())))).ok


def test_terminal_that_raised_is_confirmed_by_raising_again(tmp_path):
    model = f"{FIXTURES}:TerminalRaises"
    data = trace_json(model, "terminal()", "exception", counting(0, 1, 2, error=DIV0))
    assert kripke_replay(tmp_path, data) == (0, f"ok: reproduced: terminal() raises {DIV0} on "
                                                "the state after 2 steps\n")
    data = trace_json(model, "terminal()", "exception", counting(0, 1, error=DIV0))
    assert kripke_replay(tmp_path, data) == (1, f"diverges: step 1: terminal() no longer raises "
                                                f"{DIV0} on the last state (it returns True)\n")


def test_an_action_that_raised_is_confirmed_as_before(tmp_path):
    data = trace_json("toy-raises", "exception", "exception",
                      counting(0, 1, action="step") + [("step", None, "ZeroDivisionError: "
                                                        "integer division or modulo by zero")],
                      {"crash_at": 1})
    assert kripke_replay(tmp_path, data) == (0, "ok: reproduced: step 2 step() raises "
                                                "ZeroDivisionError: integer division or modulo "
                                                "by zero\n")
    data["steps"][-1]["error"] = DIV0
    assert kripke_replay(tmp_path, data)[0] == 1


def test_an_exception_trace_without_the_raising_step(tmp_path):
    data = trace_json(INVERSE, "exception", "exception", counting(0, 1, 2))
    assert kripke_replay(tmp_path, data) == (1, "diverges: an exception trace must end with the "
                                                "step that raised\n")


def test_a_step_that_raises_now_diverges_instead_of_crashing(tmp_path):
    data = trace_json("toy-raises", "invariant", "invariant", counting(0, 1, 2),
                      {"crash_at": 1})
    data["property"] = "type_ok"
    data["steps"][1]["action"] = data["steps"][2]["action"] = "step"
    assert kripke_replay(tmp_path, data) == (1, (
        "diverges: step 2: step() raised ZeroDivisionError: integer division or modulo by zero; "
        "the trace records the state it led to\n"))


def test_a_property_that_raises_on_an_invariant_trace_diverges(tmp_path):
    data = trace_json(INVERSE, "inverse_defined", "invariant", counting(0, 1, 2))
    assert kripke_replay(tmp_path, data) == (1, (
        f"diverges: step 2: evaluating inverse_defined on the last state raised {DIV0}; the "
        "trace records a violation, not an exception\n"))


# -- declared types (kind "type") ------------------------------------------------------------
def test_a_type_violation_is_confirmed_by_the_declared_types(tmp_path):
    model = f"{FIXTURES}:HalvesToFloat"
    data = trace_json(model, "type_ok", "type", counting(0, 1, 2) + [("halve", {"x": 1.0})])
    assert kripke_replay(tmp_path, data) == (0, "ok: reproduced: after 3 steps x = 1.0 (float) "
                                                "is outside its declared type 0..4\n")
    data["kind"] = "invariant"  # TypeOK is a property of every typed model, listed or not
    assert kripke_replay(tmp_path, data) == (0, "ok: reproduced: type_ok violated after 3 "
                                                "steps\n")
    data["kind"] = "type"
    data["steps"][3]["state"]["x"] = 1  # what floor_halve writes, not halve
    assert kripke_replay(tmp_path, data) == (1, (
        "diverges: step 3: halve() leads to a different state (fields x differ from the trace: "
        "x is 1.0 in the model, 1 in the trace)\n"))
    data["steps"][3]["action"] = "floor_halve"
    assert kripke_replay(tmp_path, data) == (1, "diverges: step 3: the last state is well "
                                                "typed\n")


def test_a_type_trace_of_an_untyped_model_is_bad_input():
    data = trace_json("tests/fixtures/models.py:Untyped", "type_ok", "type", [("inc", [0, []])])
    with pytest.raises(KripkeError, match="declares no types for its variables"):
        replay(from_json(data))

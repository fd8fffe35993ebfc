"""What a verdict means (README): the regression tests of every wrong verdict found (issue 9).

ok: every reachable state and step was checked, up to the reported fingerprint-collision
probability; violated: the trace replays; incomplete: says what was not covered. Each test below
failed on the code before issue 9 and pins the right verdict, counts and trace. Item 10's mutant
suite (conformance of real code, about 20 s) is ``tests/test_conformance_mutants.py``; the
symmetry test's own cases are ``tests/test_symmetry_check.py``, replay's ``tests/test_replay.py``.
"""

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from kripke.common import speedups
from kripke.cli import main
from kripke.checkers.explicit import check
from kripke.models.fingerprint import _fingerprint, fingerprint
from kripke.models.system import load_model
from kripke.models.types import Domain, record
from tests.conftest import ROOT, fixture_model
from tests.test_consistency_levels import (CAUSAL, LIN, MR, MW, OK, RYW, SEQ, SESSION, WFR, R, W,
                                           satisfies, verdicts)
from tests.test_replay import counting, kripke_replay, trace_json
from kripke.traces.trace import replay

FIXTURE = "tests/fixtures/verdicts.py:{}"


def model(name, **params):
    return load_model(FIXTURE.format(name))(**params)


# -- 1. fingerprints -------------------------------------------------------------------------
def test_states_that_python_hashes_alike_are_not_merged():
    assert hash(-1) == hash(-2)  # why a visited set keyed by hash merged them
    r = check(model("DownCounter"), properties=["not_minus_two"])
    v = r.violation
    assert (r.verdict, v.property, [s.state["x"] for s in v.trace.steps]) == (
        "violated", "not_minus_two", [0, -1, -2])
    assert replay(v.trace).ok
    r = check(model("DownCounter"), properties=["minus_two_reachable"])
    assert (r.verdict, r.distinct_states, r.states_generated, r.depth) == ("ok", 4, 4, 4)


A = record("FpA", x=Domain("D", 2))
B = record("FpB", x=Domain("D", 2))

#: groups of values Python calls equal or hashes alike, which must get different fingerprints
DISTINCT = [
    -1, -2, 0, 0.0, False, True, 1, 1.0, None, "", "1", (), (0,), (0.0,), (False,),
    frozenset(), frozenset({1}), frozenset({True}), frozenset({1.0}),
    frozenset({frozenset({1}), frozenset({2})}), frozenset({frozenset({1, 2})}),
    frozenset({frozenset({3}), frozenset({0})}), frozenset({frozenset({1}), frozenset({2, 3})}),
    A(x=1), B(x=1), ("FpA", 1), A(x=True), 2**64, 2**64 + 1, -2**64, 2**63, -2**63 - 1,
]


def test_values_python_confuses_get_different_fingerprints():
    assert len({hash(v) for v in DISTINCT}) < len(DISTINCT)
    assert len({fingerprint(v) for v in DISTINCT}) == len(DISTINCT)
    assert fingerprint(-0.0) == fingerprint(0.0)  # equal values, one fingerprint
    assert fingerprint(frozenset({3, 1, 2})) == fingerprint(frozenset({2, 3, 1}))


@pytest.mark.skipif(speedups() is None, reason="the C extension is not built")
@settings(max_examples=200, derandomize=True, database=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=4),
                    lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=4),
                    max_leaves=10),
       st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=4),
                    lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=4),
                    max_leaves=10))
def test_fingerprints_are_equal_exactly_for_equal_typed_values(a, b):
    def typed(v):  # equality that also compares types, recursively
        if isinstance(v, frozenset):
            return (type(v), frozenset(map(typed, v)))
        if isinstance(v, tuple):
            return (type(v), tuple(map(typed, v)))
        return (type(v), v)
    assert (fingerprint(a) == fingerprint(b)) == (typed(a) == typed(b))
    assert fingerprint(a) == _fingerprint(a)


def test_the_collision_probability_is_reported_as_tlc_estimates_it():
    r = check(load_model("two-phase")(rms=3), symmetry=False)
    n, g = r.distinct_states, r.states_generated
    assert (n, g) == (288, 1146)
    assert r.collision_probability == n * (g - n) / 2**64


# -- 2. values keep their types -----------------------------------------------------------------
def test_a_float_written_into_an_int_field_is_a_type_violation():
    r = check(model("RoundTrip"), properties=[])
    v = r.violation
    assert (r.verdict, v.property, v.kind) == ("violated", "type_ok", "type")
    assert [(s.action, s.state["x"]) for s in v.trace.steps] == [(None, 0), ("round_trip", 0.0)]
    assert type(v.trace.steps[-1].state["x"]) is float
    assert "sets x to 0.0 (float), outside its declared type 0..4" in v.message
    assert replay(v.trace).ok


def test_message_interning_keeps_true_and_1_apart():
    r = check(model("Ballot"))
    assert (r.verdict, r.distinct_states) == ("ok", 2)
    r = check(model("Ballot", bool_vote=True))
    v = r.violation
    assert (r.verdict, v.kind, len(v.trace.steps) - 1) == ("violated", "type", 1)
    assert v.trace.steps[-1].state["votes"] == [{"type": "Vote", "v": True}]
    assert replay(v.trace).ok


# -- 4. stuttering steps -----------------------------------------------------------------------
def test_a_stuttering_step_satisfies_a_step_property():
    r = check(model("Idler"))
    assert (r.verdict, r.distinct_states, r.coverage["idle"]["fired"]) == ("ok", 3, 3)
    r = check(model("Idler", shrink=True))
    v = r.violation
    assert (r.verdict, v.property, [s.action for s in v.trace.steps]) == (
        "violated", "x_grows", [None, "inc", "dec"])
    assert replay(v.trace).ok


# -- 6. exceptions in properties -----------------------------------------------------------------
@pytest.mark.parametrize("prop,states", [
    ("inverse_defined", [0, 1, 2]),      # invariant
    ("inverse_negative", [0, 1, 2]),     # sometimes
    ("inverse_positive", [0, 1, 2]),     # always_possible
    ("inverse_changes", [0, 1, 2]),      # step
    ("refines_count", [0, 1, 2]),        # refinement
])
def test_a_property_that_raises_ends_the_trace_where_it_raised(prop, states):
    m = load_model("tests/fixtures/replay_models.py:InverseCounter")()
    r = check(m, properties=[prop])
    v = r.violation
    assert (r.verdict, v.property, v.kind) == ("violated", prop, "exception")
    assert [s.state["x"] for s in v.trace.steps] == states
    assert v.trace.steps[-1].error == "ZeroDivisionError: division by zero"
    assert replay(v.trace).ok


def test_terminal_that_raises_is_a_finding():
    r = check(load_model("tests/fixtures/replay_models.py:TerminalRaises")())
    v = r.violation
    assert (r.verdict, v.property, v.kind) == ("violated", "terminal()", "exception")
    assert [s.state["x"] for s in v.trace.steps] == [0, 1, 2]
    assert replay(v.trace).ok


# -- 7. the C extension and its Python twin --------------------------------------------------------
def _check_json(spec, pure):
    env = dict(os.environ)
    env.pop("KRIPKE_PURE_PYTHON", None)
    if pure:
        env["KRIPKE_PURE_PYTHON"] = "1"
    proc = subprocess.run([sys.executable, "-m", "kripke.cli", "check", spec, "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    data = json.loads(proc.stdout)
    data.pop("elapsed_s")
    return proc.returncode, data


@pytest.mark.skipif(speedups() is None, reason="the C extension is not built")
def test_positional_set_is_the_same_finding_in_c_and_in_python():
    c = _check_json(FIXTURE.format("PositionalSet"), pure=False)
    py = _check_json(FIXTURE.format("PositionalSet"), pure=True)
    assert c == py
    code, data = c
    assert (code, data["violation"]["kind"], data["violation"]["length"]) == (1, "exception", 1)
    assert "TypeError" in data["violation"]["message"]


# -- 8. bounds -----------------------------------------------------------------------------------
def test_max_states_equal_to_the_state_count_is_complete():
    counter = load_model("toy-counter")(n=4)  # x = 0 .. 4: five states
    assert (check(counter, max_states=5).verdict, check(counter).distinct_states) == ("ok", 5)
    r = check(counter, max_states=4)
    assert (r.verdict, r.bound, r.distinct_states) == ("incomplete", "max_states=4", 4)


# -- 2 and 4 in the random strategies too ------------------------------------------------------
@pytest.mark.parametrize("strategy", ["simulate", "hypothesis"])
def test_random_strategies_enforce_types_and_allow_stutters(strategy):
    from kripke.checkers.simulate import simulate
    from kripke.checkers.stateful import hypothesis_check
    run = simulate if strategy == "simulate" else hypothesis_check
    r = run(model("RoundTrip"), properties=[], seed=0)
    v = r.violation
    assert (r.verdict, v.kind, v.trace.steps[-1].action) == ("violated", "type", "round_trip")
    assert type(v.trace.steps[-1].state["x"]) is float and replay(v.trace).ok
    assert run(model("Idler"), seed=0).verdict == "incomplete"  # idle stutters: allowed
    r = run(model("Idler", shrink=True), seed=0)
    assert (r.verdict, r.violation.property, r.violation.trace.steps[-1].action) == (
        "violated", "x_grows", "dec")


# -- 3. symmetry is checked before it is trusted -----------------------------------------------------
ASYMMETRIC = "tests/fixtures/asymmetric.py:{}"


@pytest.mark.parametrize("name,prop,length,cause", [
    # (a) an invariant about RM 0 and RM 2: violated in 1 step (was OK with 80 orbits)
    ("TwoPhaseWatchingRm0", "not_aborted_while_working", 1, "invariant not_aborted_while_"),
    # (b) an action that fires only for flag[1] == 1 and flag[0] == 0 (was OK with 3 orbits)
    ("FlagBoom", "not_boomed", 2, "action boom is not symmetric"),
    # an asymmetric terminal() hides a deadlock
    ("FlagsTerminal", "deadlock", 1, "terminal"),
])
def test_asymmetric_models_are_checked_without_symmetry(name, prop, length, cause):
    m = load_model(ASYMMETRIC.format(name))()
    r = check(m)
    v = r.violation
    assert (r.verdict, r.symmetry, v.property, len(v.trace.steps) - 1) == (
        "violated", False, prop, length)
    assert r.symmetry_note.startswith("symmetry off: ") and cause in r.symmetry_note
    assert "\n" not in r.symmetry_note
    assert replay(v.trace).ok
    no_symmetry = check(m, symmetry=False)
    assert (no_symmetry.distinct_states, no_symmetry.violation.property) == (
        r.distinct_states, prop)


def test_asking_for_symmetry_on_an_asymmetric_model_is_exit_2():
    out = CliRunner().invoke(main, ["check", ASYMMETRIC.format("FlagBoom"), "--symmetry"])
    assert out.exit_code == 2
    assert out.output.startswith("kripke: error: ") and out.output.count("\n") == 1
    assert "--symmetry would give wrong verdicts: action boom" in out.output


def test_symmetric_models_keep_their_reduction():
    r = check(load_model("two-phase")(rms=3))
    assert (r.verdict, r.symmetry, r.distinct_states, r.symmetry_note) == ("ok", True, 80, None)


def test_the_probe_catches_what_the_random_test_missed(monkeypatch):
    from kripke.checkers import explicit
    monkeypatch.setattr(explicit, "symmetry_problem", lambda *args, **kwargs: None)
    r = check(load_model(ASYMMETRIC.format("TwoPhaseWatchingRm0"))())
    v = r.violation
    assert (r.verdict, r.symmetry, v.property, len(v.trace.steps) - 1) == (
        "violated", False, "not_aborted_while_working", 1)
    assert "not_aborted_while_working" in r.symmetry_note


# -- 5. replay cannot be fooled ---------------------------------------------------------------------
def test_a_sometimes_property_recorded_as_an_invariant_is_exit_2(tmp_path):
    # reaches_n fails nowhere on this path (x = 1 < n = 2 is no violation of a sometimes
    # property); before issue 9 replay said "reproduced" because reaches_n is false at x = 1
    data = trace_json("toy-counter", "reaches_n", "invariant", counting(0, 1), {"n": 2})
    assert kripke_replay(tmp_path, data) == (2, (
        "kripke: error: reaches_n is a sometimes property, the trace says invariant: a sometimes "
        "violation (no reachable state satisfies it) cannot be confirmed by a trace; run kripke "
        "check\n"))


def test_a_refinement_recorded_as_an_invariant_is_exit_2_in_one_line(tmp_path):
    # before issue 9: TypeError 'NoneType' object is not callable (a refinement has no condition)
    r = CliRunner().invoke(main, ["check", "two-phase-eager", "-p", "rms=4", "--property",
                                  "refines_tcommit", "--out", str(tmp_path)])
    assert r.exit_code == 1
    data = json.loads((tmp_path / "trace.json").read_text())
    assert (data["property"], data["kind"]) == ("refines_tcommit", "refinement")
    assert kripke_replay(tmp_path, data)[0] == 0
    data["kind"] = "invariant"
    code, output = kripke_replay(tmp_path, data)
    assert code == 2 and output.count("\n") == 1
    assert output.startswith("kripke: error: refines_tcommit is a refinement property, the "
                             "trace says invariant: replay confirms a violation by the rules of "
                             "its property's kind")


def test_true_where_the_model_has_1_diverges_at_that_step(tmp_path):
    data = trace_json("toy-counter", "below_limit", "invariant", counting(0, 1, 2),
                      {"limit": 2})
    assert kripke_replay(tmp_path, data) == (0, "ok: reproduced: below_limit violated after 2 "
                                                "steps\n")
    data["steps"][1]["state"]["x"] = True
    assert kripke_replay(tmp_path, data) == (1, (
        "diverges: step 1: inc() leads to a different state (fields x differ from the trace: x "
        "is 1 in the model, true in the trace)\n"))
    data["steps"][1]["state"]["x"] = 1.0
    assert kripke_replay(tmp_path, data)[1].endswith("x is 1 in the model, 1.0 in the trace)\n")
    data["steps"][1]["state"]["x"] = 1
    data["steps"][0]["state"]["x"] = False
    assert kripke_replay(tmp_path, data) == (1, "diverges: step 0: the trace's initial state is "
                                                "not an initial state of the model\n")


# -- 9. consistency levels say what their papers say --------------------------------------------------
def test_issue_9_a_session_reads_its_older_write():
    """Session 0 writes 1, writes 2, reads 1. Read-your-writes asks only that the read see both
    writes; nothing orders them, so session 0 may arbitrate 1 last. Monotonic writes orders
    them, so session consistency, like causal consistency, forbids the read."""
    ops = [W(0, 1, 0, 1), W(0, 2, 2, 3), R(0, 1, 4, 5)]
    assert satisfies(ops, {"ryw"}) and not satisfies(ops, {"ryw", "mw"})
    everything = ("violated", [0, 1, 2])
    assert verdicts(ops) == {LIN: everything, SEQ: everything, CAUSAL: everything,
                             SESSION: everything, RYW: OK, MR: OK, MW: OK, WFR: OK}


def test_issue_9_a_session_reads_another_sessions_writes_in_reverse():
    """Session 0 writes 1 then 2; session 1 reads 2 then 1. Monotonic reads asks only that the
    second read see 2 too; session 1 may arbitrate 1 last. Monotonic writes puts 2 last."""
    ops = [W(0, 1, 0, 1), W(0, 2, 2, 3), R(1, 2, 4, 5), R(1, 1, 6, 7)]
    assert satisfies(ops, {"mr"}) and not satisfies(ops, {"mr", "mw"})
    everything = ("violated", [0, 1, 2, 3])
    assert verdicts(ops) == {LIN: ("violated", [0, 1, 3]), SEQ: everything,
                             CAUSAL: everything, SESSION: everything, RYW: OK, MR: OK, MW: OK,
                             WFR: OK}


def test_an_action_that_returns_no_state_record_is_a_type_violation():
    r = check(load_model(fixture_model("Tupled"))())
    v = r.violation
    assert (r.verdict, v.kind, v.trace.steps[-1].state) == ("violated", "type", [0])
    assert "gives a tuple, not a" in v.message

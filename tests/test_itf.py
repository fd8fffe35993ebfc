"""ITF traces (issue 15, item 6): ``kripke render T.json -o T.itf.json`` writes the Informal Trace
Format of Apalache and Quint (ADR-015, https://apalache-mc.org/docs/adr/015adr-trace.html), and
``kripke replay`` reads it back.

Every built-in model's counterexample goes to ITF, is checked against the ADR's shape value by
value (each variable in the form its declared type is written in, every integer a ``#bigint``),
comes back equal to the trace it was written from, and replays. The cases are the violations
``kripke check`` finds at default parameters (the ``-article`` variants, ``two-phase-eager``,
``paxos-ignore-1b``, the toys that break on purpose), the properties expected to fail, and lassos
of liveness properties (a stutter, a loop, one found ``--no-fairness``), each at a size that
checks in well under a second. Malformed ITF is bad input: exit 2 and one line.
"""

import json
import re

import pytest
from click.testing import CliRunner

from kripke.checkers.explicit import check
from kripke.cli import main
from kripke.models.system import load_model
from kripke.models.types import (Array, Bag, Bool, Enum, Id, Int, Map, OneOf, Optional, Seq, Set,
                                 as_type)
from kripke.traces.itf import ADR, dumps, from_itf, to_itf
from kripke.traces.trace import json_equal, replay
from tests.conftest import fixture_model

# (model, parameters, property or None for the default check, fairness)
CASES = [
    ("bulkhead-article", {}, "queue_bounded", True),
    ("cap-register", {}, "availability", True),
    ("cap-register", {"mode": "ap"}, "linearizability", True),
    ("circuit-breaker-article", {}, "closes_after_threshold_successes", True),
    ("circuit-breaker-article", {}, "half_open_trials_bounded", True),
    ("circuit-breaker-article", {"callers": 1, "success_threshold": 2}, "recovers", True),
    ("commit-2pc", {}, "participant_blocked", True),  # expected to fail: 2PC blocks
    ("commit-2pc", {}, "participants_decide", True),  # a lasso, recovery not fair
    ("commit-2pc-article", {}, "atomic_commit", True),
    ("commit-2pc-article", {}, "termination_possible", True),
    ("lww-store", {"lossy": True, "delivery": "weak"}, "converges", True),  # a loop of 3 steps
    ("lww-store-article", {"max_skew": 1}, "read_your_writes", True),
    ("paxos-ignore-1b", {}, "agreement", True),
    ("raft-article", {}, "election_safety", True),
    ("raft-article", {"ordered": True}, "election_safety", True),  # FIFO channels: a list
    ("retry-article", {}, "delay_bounded", True),
    ("retry-article", {}, "gives_up_with_last_error", True),
    ("retry", {}, "terminates", False),  # --no-fairness: the trace records fairness false
    ("toy-pingpong", {}, "in_order", True),
    ("toy-promises", {}, "not_all_promised_at_the_last_round", True),
    ("toy-raises", {}, None, True),  # the last action raises: no ITF state for it
    ("toy-stuck-counter", {}, None, True),  # deadlock
    ("two-phase-eager", {}, "tm_commit_all_prepared", True),
    ("two-phase-eager", {}, "refines_tcommit", True),
    ("two-phase-eager", {}, "tc_consistent", True),
]


def counterexample(name, params=None, prop=None, fairness=True):
    model = load_model(name)(**(params or {}))
    r = check(model, properties=None if prop is None else [prop], fairness=fairness)
    assert r.verdict == "violated" and r.violation.trace is not None
    return model, r.violation.trace


def written(trace, model):
    """``trace`` in ITF, through its text, as the file holds it."""
    return json.loads(dumps(to_itf(trace, model)))


def kripke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception  # never a traceback
    return result


# -- the ADR's shape ------------------------------------------------------------------------------

def assert_itf_value(t, v, model):
    """``v`` is the ITF form of a value of declared type ``t`` (the mapping in traces/itf.py)."""
    if isinstance(t, Enum):
        assert type(v) is str and v in t.values
    elif isinstance(t, Bool):
        assert type(v) is bool
    elif isinstance(t, (Int, Id)):
        assert v.keys() == {"#bigint"} and re.fullmatch(r"-?[0-9]+", v["#bigint"])
    elif isinstance(t, Optional):
        assert v.keys() == {"tag", "value"} and v["tag"] in ("None", "Some")
        if v["tag"] == "None":
            assert v["value"] == {"#tup": []}
        else:
            assert_itf_value(t.inner, v["value"], model)
    elif isinstance(t, Array):
        assert v.keys() == {"#map"}
        assert [k for k, _ in v["#map"]] == [{"#bigint": str(i)} for i in t.index.values(model)]
        for _, x in v["#map"]:
            assert_itf_value(t.value, x, model)
    elif isinstance(t, Seq) or isinstance(t, Bag) and getattr(model, str(t.fifo), t.fifo) is True:
        assert type(v) is list
        for x in v:
            assert_itf_value(t.elem, x, model)
    elif isinstance(t, Set):
        assert v.keys() == {"#set"}
        for x in v["#set"]:
            assert_itf_value(t.elem, x, model)
    elif isinstance(t, Bag):  # element -> count, as TLA+'s Bags
        assert v.keys() == {"#map"}
        for x, count in v["#map"]:
            assert_itf_value(t.elem, x, model)
            assert int(count["#bigint"]) >= 1
    elif isinstance(t, Map):
        assert v.keys() == {"#map"}
        for k, x in v["#map"]:
            assert_itf_value(t.key, k, model)
            assert_itf_value(t.value, x, model)
    elif isinstance(t, OneOf):
        alternative = next(a for a in t.alternatives if a.cls._tag == v["type"])
        assert_itf_value(alternative, v, model)
    else:  # a record: a JSON object, a message's tag in "type" as TLA+ writes it
        tag = t.cls._tag
        assert type(v) is dict and not any(k.startswith("#") for k in v)
        assert v.keys() == set(t.fields) | ({"type"} if tag else set())
        assert tag is None or v["type"] == tag
        for k, ft in t.fields.items():
            assert_itf_value(ft, v[k], model)


def numbers(v):
    """The bare JSON numbers in ``v`` (ADR-015 since 2023-09-14: every integer a #bigint)."""
    if isinstance(v, dict):
        return [x for k, w in v.items() if k != "#meta" for x in numbers(w)]
    if isinstance(v, list):
        return [x for w in v for x in numbers(w)]
    return [v] if type(v) in (int, float) else []


def assert_itf_trace(itf, model, trace):
    meta = itf["#meta"]
    assert (meta["format"], meta["format-description"], meta["source"]) == ("ITF", ADR,
                                                                            trace.model)
    kripke_meta = meta["kripke"]
    assert (kripke_meta["model"], kripke_meta["params"], kripke_meta["property"],
            kripke_meta["kind"]) == (trace.model, trace.params, trace.property, trace.kind)
    assert kripke_meta.get("fairness", True) is trace.fairness
    types = {n: as_type(t) for n, t in model.variables.items()}
    assert itf["vars"] == list(model.variables)
    last = trace.steps[-1]
    # a last step whose action raised has no ITF state; it rides in #meta
    assert ("final_step" in kripke_meta) is (last.state is None)
    assert len(itf["states"]) == len(trace.steps) - ("final_step" in kripke_meta)
    for n, (state, step) in enumerate(zip(itf["states"], trace.steps)):
        assert state.keys() == {"#meta", *itf["vars"]}
        call = {"action": step.action, "args": step.args} if n else {}
        assert state["#meta"] == {"index": n, **call}
        for name, t in types.items():
            assert_itf_value(t, state[name], model)
    assert numbers(itf["states"]) == []
    assert itf.get("loop") == trace.loop_start


@pytest.mark.parametrize("name,params,prop,fairness", CASES)
def test_every_counterexample_goes_to_itf_and_back_and_replays(name, params, prop, fairness):
    model, trace = counterexample(name, params, prop, fairness)
    itf = written(trace, model)
    assert_itf_trace(itf, model, trace)
    back = from_itf(itf, "t.itf.json")
    assert json_equal(back.to_json(), trace.to_json())
    result = replay(back)
    assert result.ok, result.message


def test_the_forms_of_the_types_are_adrs():
    """Pinned by hand on two-phase-eager: an array is a TLA+ function (#map over the RM ids), a
    set #set, a message a record with its type."""
    model, trace = counterexample("two-phase-eager", {}, "tc_consistent")
    last = written(trace, model)["states"][-1]
    assert last["rm_state"] == {"#map": [[{"#bigint": "0"}, "committed"],
                                         [{"#bigint": "1"}, "aborted"],
                                         [{"#bigint": "2"}, "working"]]}
    assert last["tm_state"] == "committed"
    assert last["tm_prepared"] == {"#set": [{"#bigint": "0"}]}
    assert last["msgs"] == {"#set": [{"type": "Prepared", "rm": {"#bigint": "0"}},
                                     {"type": "Commit"}]}
    assert last["#meta"] == {"index": 5, "action": "rm_rcv_commit_msg", "args": {"rm": 0}}


def test_options_bags_and_maps():
    """raft-article's voted_for is Quint's Option, its messages in flight a bag (TLA+'s element
    -> count), or a list over FIFO channels; toy-promises' promises a #map."""
    model, trace = counterexample("raft-article", {}, "election_safety")
    states = written(trace, model)["states"]
    voted = [x for s in states for _, x in s["voted_for"]["#map"]]
    assert {"tag": "None", "value": {"#tup": []}} in voted
    assert {"tag": "Some", "value": {"#bigint": "0"}} in voted
    assert all(s["messages"].keys() == {"#map"} for s in states)
    assert any(s["messages"]["#map"] for s in states)
    model, trace = counterexample("raft-article", {"ordered": True}, "election_safety")
    states = written(trace, model)["states"]
    assert all(type(s["messages"]) is list for s in states) and any(s["messages"] for s in states)
    model, trace = counterexample("toy-promises", {}, "not_all_promised_at_the_last_round")
    assert any(s["promised"]["#map"] for s in written(trace, model)["states"])


def test_a_message_twice_in_flight_counts_two():
    model, trace = counterexample("toy-pingpong", {}, "in_order")
    state = trace.steps[1].state
    ping = state["messages"][0]
    state["messages"] = [ping, ping]
    itf = written(trace, model)
    assert itf["states"][1]["messages"]["#map"][0][1] == {"#bigint": "2"}
    assert from_itf(itf).steps[1].state["messages"] == [ping, ping]


def test_reading_puts_sets_in_order_and_takes_json_integers():
    """An ITF file from elsewhere may order a set otherwise, or write an integer as a JSON
    number (the ADR allowed it before 2023-09-14): it is the same trace."""
    model, trace = counterexample("two-phase-eager", {}, "tc_consistent")
    itf = written(trace, model)
    last = itf["states"][-1]
    last["msgs"]["#set"].reverse()
    last["tm_prepared"] = {"#set": [0]}
    last["rm_state"]["#map"].reverse()
    assert json_equal(from_itf(itf).to_json(), trace.to_json())


# -- values outside their types, untyped models ----------------------------------------------------

FILE_MODELS = '''
from typing import NamedTuple

from kripke import Int, TransitionSystem, action, invariant


@invariant
def small(model, s):
    return s[0] < 2


class Halved(TransitionSystem):
    """Its action writes a float into the Int field: a type violation."""
    variables = {"x": Int(0, 4), "y": Int(0, 4)}

    def init(self):
        yield self.State(x=2, y=0)

    @action
    def halve(self, s):
        return s.set(x=s.x / 2)


class Point(NamedTuple):
    x: int
    label: object


class Untyped(TransitionSystem):
    """Untyped states, tuples holding None and a float: x counts up, small fails at 2."""
    properties = (small,)

    def init(self):
        yield (0, None, 0.5, ("a",))

    @action
    def inc(self, s):
        return (s[0] + 1, None, 0.5, ("a",))


class UntypedRecords(TransitionSystem):
    """Untyped states that are records (a NamedTuple): one ITF variable per field."""
    properties = (small,)

    def init(self):
        yield Point(0, None)

    @action
    def inc(self, s):
        return Point(s.x + 1, "up")
'''


@pytest.fixture
def file_models(tmp_path):
    path = tmp_path / "itf_models.py"
    path.write_text(FILE_MODELS)
    return f"{path}:"


def round_trip(name):
    model, trace = counterexample(name)
    itf = written(trace, model)
    back = from_itf(itf)
    assert json_equal(back.to_json(), trace.to_json())
    assert replay(back).ok, replay(back).message
    return itf, trace


def test_a_value_outside_its_type_is_written_by_its_json_shape(file_models):
    itf, trace = round_trip(file_models + "Halved")
    assert trace.kind == "type" and trace.steps[-1].state == {"x": 1.0, "y": 0}
    last = itf["states"][-1]
    assert last["#meta"]["untyped"] == ["x"]
    assert last["x"] == {"#unserializable": "1.0"} and last["y"] == {"#bigint": "0"}


def test_a_last_step_that_is_no_state_record_rides_in_meta():
    itf, trace = round_trip(fixture_model("Tupled"))
    assert itf["#meta"]["kripke"]["final_step"] == {"action": "flatten", "args": {},
                                                    "state": [0]}
    assert len(itf["states"]) == 1


def test_untyped_models(file_models):
    itf, _ = round_trip(file_models + "Untyped")
    assert itf["vars"] == ["state"]
    assert itf["states"][0]["state"] == [{"#bigint": "0"}, {"tag": "None", "value": {"#tup": []}},
                                         {"#unserializable": "0.5"}, ["a"]]
    itf, _ = round_trip(file_models + "UntypedRecords")
    assert itf["vars"] == ["x", "label"]
    assert itf["states"][-1]["label"] == "up"


# -- the command line -----------------------------------------------------------------------------

def test_render_writes_itf_that_replay_confirms(tmp_path):
    r = kripke("check", "two-phase-eager", "--property", "tc_consistent", "--out", tmp_path)
    assert r.exit_code == 1
    r = kripke("render", tmp_path / "trace.json", "-o", tmp_path / "t.itf.json")
    assert (r.exit_code, r.output) == (0, f"wrote {tmp_path / 't.itf.json'}\n")
    itf = json.loads((tmp_path / "t.itf.json").read_text())
    assert itf["vars"] == ["rm_state", "tm_state", "tm_prepared", "msgs"]
    r = kripke("replay", tmp_path / "t.itf.json")
    assert (r.exit_code, r.output) == (0, "ok: reproduced: tc_consistent violated after 5 steps\n")
    r = kripke("render", tmp_path / "t.itf.json", "-o", tmp_path / "t.html")  # ITF in, too
    assert r.exit_code == 0 and (tmp_path / "t.html").stat().st_size > 0


def test_a_lasso_replays_from_itf(tmp_path):
    model, trace = counterexample("lww-store", {"lossy": True, "delivery": "weak"}, "converges")
    (tmp_path / "l.itf.json").write_text(dumps(to_itf(trace, model)))
    r = kripke("replay", tmp_path / "l.itf.json")
    assert r.exit_code == 0 and "repeats steps 2-3 for ever" in r.output


def test_an_edited_itf_state_diverges(tmp_path, two_phase_itf):
    data = json.loads(two_phase_itf)
    data["states"][4]["tm_state"] = "aborted"
    (tmp_path / "e.itf.json").write_text(json.dumps(data))
    r = kripke("replay", tmp_path / "e.itf.json")
    assert (r.exit_code, r.output) == (1, (
        "diverges: step 4: rm_choose_to_abort(rm=1) leads to a different state (fields tm_state "
        "differ from the trace: tm_state is \"committed\" in the model, \"aborted\" in the "
        "trace)\n"))


def test_itf_is_no_chart(tmp_path):
    kripke("check", "toy-pingpong", "--out", tmp_path)
    r = kripke("render", tmp_path / "trace.json", "-o", tmp_path / "t.itf.json", "--msc")
    assert r.exit_code == 2 and "must end in .svg" in r.output


# (a change to two-phase-eager's ITF trace, what the error says)
MALFORMED = [
    (lambda d: d.pop("#meta"), "without kripke's #meta (model, actions): name the model whose "
     "variables it records with --model MODEL"),
    (lambda d: d["#meta"]["kripke"].update(version=7),
     "#meta.kripke version 7; this kripke reads version 1"),
    (lambda d: d["#meta"]["kripke"].update(model="no-such-model"),
     "unknown model 'no-such-model'"),
    (lambda d: d["#meta"]["kripke"]["params"].update(rms=99),
     "#meta.kripke.params do not fit two-phase-eager"),
    (lambda d: d.update(vars=["rm_state", "tm_state", "tm_prepared", "messages"]),
     "vars ['rm_state', 'tm_state', 'tm_prepared', 'messages'] are not the variables of "
     "two-phase-eager"),
    (lambda d: d.update(states={}), "\"states\" is missing, empty or not a list"),
    (lambda d: d.update(loop=99), "\"loop\" 99 is not the index of a state"),
    (lambda d: d["states"][1].pop("msgs"), "state 1 lacks msgs"),
    (lambda d: d["states"][1].update(extra=True), "state 1 has variables not in \"vars\": extra"),
    (lambda d: d["states"][2]["#meta"].pop("action"),
     "state 2: #meta needs the action (a string) and args (an object)"),
    (lambda d: d["states"][0]["rm_state"]["#map"][0].__setitem__(0, {"#bigint": "1e3"}),
     "state 0, variable rm_state: expected {\"#bigint\": \"[-][0-9]+\"}, got {\"#bigint\": "
     "\"1e3\"}"),
    (lambda d: d["states"][0].update(tm_prepared=[]),
     "state 0, variable tm_prepared: expected {\"#set\": [...]}, got []"),
    (lambda d: d["states"][0].update(tm_state={"#unserializable": "<lambda>"}),
     "state 0, variable tm_state: expected a string"),
    (lambda d: d["states"][1]["msgs"]["#set"][0].update(type="Vote"),
     "state 1, variable msgs: expected a record with \"type\" one of Prepared, Commit, Abort"),
    (lambda d: d["states"][3]["#meta"].update(index=4),
     "state 3 says it is state 4 (#meta.index)"),
]


@pytest.fixture(scope="module")
def two_phase_itf():
    model, trace = counterexample("two-phase-eager", {}, "tc_consistent")
    return dumps(to_itf(trace, model))


@pytest.mark.parametrize("change,message", MALFORMED)
def test_malformed_itf_is_exit_2_in_one_line(tmp_path, two_phase_itf, change, message):
    data = json.loads(two_phase_itf)
    change(data)
    (tmp_path / "bad.itf.json").write_text(json.dumps(data))
    r = kripke("replay", tmp_path / "bad.itf.json")
    assert r.exit_code == 2
    assert r.output.count("\n") == 1 and r.output.startswith("kripke: error: ")
    assert message in r.output


# -- ITF written by other tools: no kripke #meta, replayed against --model ------------------------

def foreign(itf):
    """``itf`` as Apalache or Quint would write it: no ``#meta.kripke``, no actions."""
    out = dict(itf, **{"#meta": {"format": "ITF", "source": "Spec.tla"}})
    out["states"] = [dict(s, **{"#meta": {"index": n}}) for n, s in enumerate(itf["states"])]
    return out


def foreign_file(tmp_path, name, params, prop, change=None):
    model, trace = counterexample(name, params, prop)
    data = foreign(written(trace, model))
    if change is not None:
        change(data)
    path = tmp_path / "f.itf.json"
    path.write_text(json.dumps(data))
    return path, trace


def test_a_foreign_invariant_violation_is_confirmed(tmp_path):
    path, trace = foreign_file(tmp_path, "two-phase-eager", {}, "tc_consistent")
    r = kripke("replay", path)
    assert r.exit_code == 2 and r.output.count("\n") == 1 and "--model MODEL" in r.output
    r = kripke("replay", path, "--model", "two-phase-eager", "-p", "rms=3",
               "--property", "tc_consistent")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "ok: reproduced: tc_consistent violated after 5 steps"
    # the steps found are the ones the kripke trace records
    assert [line.split(None, 1)[1] for line in lines[1:]] == [s.label() for s in trace.steps]
    r = kripke("replay", path, "--model", "two-phase-eager")
    assert r.exit_code == 0 and r.output.startswith(
        "ok: a behaviour of two-phase-eager: each of its 5 steps is a step of the model (no "
        "--property given: no violation confirmed)\n")


def test_foreign_values_as_apalache_and_quint_write_them(tmp_path):
    """JSON integers, sets and maps in another order, raft's Option and bags: the same trace."""
    def plain(d):
        for s in d["states"]:
            s["tm_prepared"] = {"#set": [int(x["#bigint"]) for x in s["tm_prepared"]["#set"]]}
            s["rm_state"]["#map"].reverse()
            s["msgs"]["#set"].reverse()
    path, _ = foreign_file(tmp_path, "two-phase-eager", {}, "tc_consistent", plain)
    r = kripke("replay", path, "--model", "two-phase-eager", "--property", "tc_consistent")
    assert r.exit_code == 0, r.output
    path, trace = foreign_file(tmp_path, "raft-article", {}, "election_safety")
    r = kripke("replay", path, "--model", "raft-article", "--property", "election_safety")
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"ok: reproduced: election_safety violated after "
                               f"{len(trace.steps) - 1} steps\n")


def test_a_foreign_lasso_confirms_a_temporal_property(tmp_path):
    params = {"callers": 1, "success_threshold": 2}
    path, trace = foreign_file(tmp_path, "circuit-breaker-article", params, "recovers")
    assert trace.loop_start is not None
    args = ["replay", path, "--model", "circuit-breaker-article", "-p", "callers=1",
            "-p", "success_threshold=2"]
    r = kripke(*args, "--property", "recovers")
    assert r.exit_code == 0 and r.output.startswith("ok: reproduced: recovers"), r.output
    assert "<- the loop starts here" in r.output.splitlines()[1 + trace.loop_start]
    r = kripke(*args, "--property", "half_open_trials_bounded")  # an invariant: no lasso
    assert r.exit_code == 2 and "a lasso shows a temporal property failing" in r.output


def test_a_foreign_loop_may_end_before_its_return(tmp_path):
    """A loop of three steps (lww-store converges), once with its last state repeating the
    state at "loop" (kripke's lassos) and once without it: the step back to "loop" is found."""
    params = {"lossy": True, "delivery": "weak"}
    args = ["--model", "lww-store", "-p", "lossy=true", "-p", "delivery=weak",
            "--property", "converges"]
    path, trace = foreign_file(tmp_path, "lww-store", params, "converges")
    r = kripke("replay", path, *args)
    assert r.exit_code == 0 and "repeats steps 2-3 for ever" in r.output, r.output
    path, _ = foreign_file(tmp_path, "lww-store", params, "converges",
                           lambda d: d["states"].pop())
    r = kripke("replay", path, *args)
    assert r.exit_code == 0 and "repeats steps 2-3 for ever" in r.output, r.output
    assert r.output.splitlines()[1:] == [f"  {n:>3} {s.label()}" + (
        "   <- the loop starts here" if n == trace.loop_start else "")
        for n, s in enumerate(trace.steps)]


def test_a_foreign_state_no_step_reaches_diverges(tmp_path):
    def skip(d):  # state 3 (tm_commit) dropped: state 2 cannot reach state 3 in one step
        del d["states"][3]
        for n, s in enumerate(d["states"]):
            s["#meta"]["index"] = n
    path, _ = foreign_file(tmp_path, "two-phase-eager", {}, "tc_consistent", skip)
    r = kripke("replay", path, "--model", "two-phase-eager", "--property", "tc_consistent")
    assert r.exit_code == 1
    assert r.output.startswith("diverges: step 3: no step of two-phase-eager leads from state 2 "
                               "to state 3: the closest successor is tm_commit()'s, and its fields rm_state "
                               "differ from the trace: rm_state is [\"prepared\", \"working\", "
                               "\"working\"] in the model, [\"prepared\", \"aborted\", "
                               "\"working\"] in the trace\n")


# (a change to two-phase-eager's foreign ITF trace, the option changed, what the error says)
FOREIGN_MALFORMED = [
    (lambda d: d["states"][2].pop("msgs"), None, "state 2 lacks msgs"),
    (lambda d: d["states"][1].update(votes=[]), None,
     "state 1 has variables not in \"vars\": votes"),
    (lambda d: d.update(vars=d["vars"][:3]), None, "vars lack msgs of two-phase-eager"),
    (lambda d: d["states"][4].update(tm_state="undecided"), None,
     "state 4, variable tm_state: expected one of {'init', 'committed', 'aborted'}"),
    (lambda d: d["states"][1]["tm_prepared"]["#set"].append({"#bigint": "7"}), None,
     "state 1, variable tm_prepared: expected an id of RM (0..2), got 7"),
    (lambda d: d["states"][0].update(tm_state="committed"), None,
     "state 0 is not an initial state of two-phase-eager: fields tm_state differ"),
    (None, ("--model", "no-such-model"), "unknown model 'no-such-model'"),
    (None, ("-p", "rms=4"), "state 0, variable rm_state: expected a function of RM (4 ids)"),
    (None, ("--property", "commit_possible"), "commit_possible is a sometimes property"),
]


@pytest.mark.parametrize("change,options,message", FOREIGN_MALFORMED)
def test_malformed_foreign_itf_is_exit_2_in_one_line(tmp_path, two_phase_itf, change, options,
                                                     message):
    data = foreign(json.loads(two_phase_itf))
    if change is not None:
        change(data)
    (tmp_path / "bad.itf.json").write_text(json.dumps(data))
    options = dict(zip(*[iter(("--model", "two-phase-eager") + (options or ()))] * 2))
    r = kripke("replay", tmp_path / "bad.itf.json", *[x for kv in options.items() for x in kv])
    assert r.exit_code == 2, r.output
    assert r.output.count("\n") == 1 and r.output.startswith("kripke: error: ")
    assert message in r.output


@pytest.mark.parametrize("options,message", [
    (("--model", "two-phase"), "--model two-phase: "),
    (("-p", "rms=4"), "was recorded with rms=3"),
    (("--property", "atomic_commit"), "records a violation of tc_consistent"),
])
def test_options_given_with_a_kripke_itf_must_agree_with_it(tmp_path, two_phase_itf, options,
                                                            message):
    (tmp_path / "t.itf.json").write_text(two_phase_itf)
    r = kripke("replay", tmp_path / "t.itf.json", *options)
    assert r.exit_code == 2 and r.output.count("\n") == 1 and message in r.output
    r = kripke("replay", tmp_path / "t.itf.json", "--model", "two-phase-eager", "-p", "rms=3",
               "--property", "tc_consistent")
    assert r.exit_code == 0

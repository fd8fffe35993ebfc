"""Trace JSON, replay (confirm or name the diverging step), rendering."""

import re

import pytest

from kripke.errors import TraceFormatError
from kripke.checkers.explicit import check
from kripke.models.system import load_model
from kripke.traces.render import changes, format_trace, to_dot
from kripke.traces.report import html_report
from kripke.traces.trace import from_json, load, replay
from tests.conftest import fixture_model

CASES = [
    ("two-phase-eager", {"rms": 3}, ["tc_consistent"], "invariant"),
    ("two-phase-eager", {"rms": 4}, None, "refinement"),
    ("toy-stuck-counter", {"n": 2}, None, "deadlock"),
    ("toy-raises", {"crash_at": 2}, None, "exception"),
    ("toy-counter", {"n": 9, "limit": 6}, None, "invariant"),
    (fixture_model("OutOfType"), {}, None, "type"),
    (fixture_model("Untyped"), {"bound": 5}, None, "invariant"),
]


def violation_trace(name, params, props, strategy="bfs", symmetry=None):
    r = check(load_model(name)(**params), properties=props, strategy=strategy,
              symmetry=symmetry)
    assert r.verdict == "violated"
    return r.violation.trace


@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
@pytest.mark.parametrize("symmetry", [None, False])
@pytest.mark.parametrize("name,params,props,kind", CASES)
def test_every_counterexample_replays(name, params, props, kind, strategy, symmetry, tmp_path):
    trace = violation_trace(name, params, props, strategy, symmetry)
    assert trace.kind == kind
    path = tmp_path / "trace.json"
    trace.save(path)
    loaded = load(path)
    assert loaded == trace
    result = replay(loaded)
    assert result.ok, result.message
    assert result.message.startswith("reproduced")


def test_trace_json_follows_the_contract(tmp_path):
    trace = violation_trace("two-phase-eager", {"rms": 3}, ["tc_consistent"])
    data = trace.to_json()
    assert list(data) == ["format", "version", "model", "params", "property", "kind", "steps",
                          "loop_start"]
    assert (data["format"], data["version"], data["model"], data["params"]) == (
        "kripke-trace", 1, "two-phase-eager", {"rms": 3})
    assert data["steps"][0] == {"action": None, "args": {}, "state": {
        "rm_state": ["working"] * 3, "tm_state": "init", "tm_prepared": [], "msgs": []}}
    assert data["steps"][1]["action"] == "rm_prepare" and data["steps"][1]["args"] == {"rm": 0}
    assert data["steps"][1]["state"]["msgs"] == [{"type": "Prepared", "rm": 0}]
    assert data["loop_start"] is None


def test_a_tampered_trace_diverges_at_the_step_that_changed():
    data = violation_trace("two-phase-eager", {"rms": 3}, ["tc_consistent"]).to_json()
    data["steps"][2]["state"]["tm_prepared"] = [1]
    result = replay(from_json(data))
    assert (result.ok, result.step) == (False, 2)
    assert "step 2: tm_rcv_prepared(rm=0) leads to a different state (fields tm_prepared" in \
        result.message

    data = violation_trace("two-phase-eager", {"rms": 3}, ["tc_consistent"]).to_json()
    data["steps"][3]["action"] = "tm_abort"
    data["steps"][3]["args"] = {}
    result = replay(from_json(data))
    assert (result.ok, result.step) == (False, 3)

    data = violation_trace("two-phase-eager", {"rms": 3}, ["tc_consistent"]).to_json()
    data["steps"] = data["steps"][:-1]  # the last state is consistent
    result = replay(from_json(data))
    assert not result.ok and "tc_consistent holds in the last state" in result.message

    data = violation_trace("two-phase-eager", {"rms": 3}, ["tc_consistent"]).to_json()
    data["steps"][1]["action"] = "rm_rcv_commit_msg"
    result = replay(from_json(data))
    assert result.message == "step 1: rm_rcv_commit_msg(rm=0) is not enabled in the state of step 0"


def test_the_fixed_protocol_refuses_the_eager_trace():
    data = violation_trace("two-phase-eager", {"rms": 3}, ["tc_consistent"]).to_json()
    data["model"] = "two-phase"
    result = replay(from_json(data))
    assert (result.ok, result.step) == (False, 3)
    assert "tm_commit() is not enabled" in result.message


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d.update(format="other"), "not a kripke trace"),
    (lambda d: d.update(version=2), "trace version 2; this kripke reads version 1"),
    (lambda d: d.pop("steps"), "field 'steps' is missing"),
    (lambda d: d.update(steps=[]), "at least the initial state"),
    (lambda d: d["steps"][1].pop("state"), "step 1 needs action, args and state"),
    (lambda d: d.update(kind="weird"), "unknown kind 'weird'"),
    (lambda d: d.update(loop_start=99), "loop_start 99 is not a step index"),
])
def test_corrupt_traces_are_rejected(mutate, message):
    data = violation_trace("toy-counter", {"n": 9, "limit": 2}, None).to_json()
    mutate(data)
    with pytest.raises(TraceFormatError, match=message):
        from_json(data)


def test_a_trace_of_another_model_is_bad_input():
    data = violation_trace("toy-counter", {"n": 9, "limit": 2}, None).to_json()
    data["model"], data["params"] = "two-phase", {"rms": 3}
    with pytest.raises(TraceFormatError, match="fields \\['x'\\], but two-phase has"):
        replay(from_json(data))
    data["params"] = {"rms": -1}
    with pytest.raises(TraceFormatError, match="parameters do not fit two-phase"):
        replay(from_json(data))


def test_files_that_are_not_traces(tmp_path):
    (tmp_path / "bad.json").write_text("{ not json")
    with pytest.raises(TraceFormatError, match="is not JSON"):
        load(tmp_path / "bad.json")
    with pytest.raises(TraceFormatError, match="cannot read trace"):
        load(tmp_path / "missing.json")


def test_terminal_rendering_shows_only_changed_fields():
    trace = violation_trace("two-phase-eager", {"rms": 3}, ["tc_consistent"])
    text = format_trace(trace, {"tm_prepared", "msgs"}, "out/trace.json")
    lines = text.splitlines()
    assert lines[0] == "two-phase-eager (rms=3): tc_consistent violated (invariant) after 5 steps"
    assert "rm_prepare(rm=0)" in lines[5] and "rm_state[0]: working -> prepared" in lines[5]
    assert lines[6].strip() == "msgs: +Prepared(rm=0)"
    assert "tm_commit()" in lines[8] and "tm_state: init -> committed" in lines[8]
    assert lines[-1] == "replay: kripke replay out/trace.json"
    assert changes({"a": [1, 2]}, {"a": [1, 3]}, {"a"}) == ["a: +3 -2"]
    assert changes({"a": {"k": 1}}, {"a": {"k": 2}}) == ["a.k: 1 -> 2"]


def test_drawings():
    trace = violation_trace("two-phase-eager", {"rms": 3}, ["tc_consistent"])
    dot = to_dot(trace).source
    assert len(re.findall(r"s\d+ -> s\d+", dot)) == 5  # one edge per step
    assert 'label="rm_prepare(rm=0)"' in dot and "color=red" in dot
    page = html_report(trace)
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "tm_commit()" in page


def test_a_file_that_is_not_text(tmp_path):
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TraceFormatError, match="is not text"):
        load(tmp_path / "binary.json")

"""Lasso counterexamples rendered with their loop marked (issue 11, item 4): text, the Graphviz
drawing, the message sequence chart and the HTML report.

The lassos are made by hand, walking real models (their states are the models' own, so every
renderer sees what a liveness checker would give it): two-phase with a one-step loop (the TM
receives the same Prepared again and again) and with a stuttering end; lww-store with loss, where
a replica sends its update and the network drops it, forever (a two-step loop).
"""

import re
import shutil

import pytest

from kripke.models.system import load_model
from kripke.traces.msc import events, sequence_chart
from kripke.traces.render import LOOP_FILL, format_trace, to_dot
from kripke.traces.report import html_report
from kripke.traces.trace import Trace, from_json, json_equal
from tests.conftest import walk_calls

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is needed")


def lasso(name, params, calls, loop_start, prop="eventually_decided"):
    """The trace of ``calls`` (each an action name, the first enabled call of it, or a full label
    such as ``rm_prepare(rm=0)``) from the initial state of model ``name``, as a lasso whose loop
    starts at step ``loop_start``; the model's own successors make every state."""
    model, steps = walk_calls(name, params, calls)
    trace = Trace(name, model.params, prop, "liveness", steps, loop_start)
    if loop_start < len(steps) - 1:  # the format: the last step closes the loop
        assert json_equal(steps[-1].state, steps[loop_start].state)
    return from_json(trace.to_json())  # and it is a valid trace file


def two_phase_loop():
    """RM 0 prepares, the TM receives its Prepared (step 2), then receives it again forever."""
    return lasso("two-phase", {"rms": 2}, ["rm_prepare(rm=0)", "tm_rcv_prepared(rm=0)",
                                           "tm_rcv_prepared(rm=0)"], loop_start=2)


def two_phase_stutter():
    """RM 0 prepares, and then nothing happens: the behaviour stutters forever at step 1."""
    return lasso("two-phase", {"rms": 2}, ["rm_prepare(rm=0)"], loop_start=1)


def lww_loss_loop():
    """Replica 0 writes (step 1); its update is sent and dropped, sent and dropped, forever."""
    return lasso("lww-store", {"lossy": True}, ["write", "send_update", "drop_message"],
                 loop_start=1, prop="converges")


SETS = {"tm_prepared", "msgs"}


def loop_cluster(source):
    """The body of the DOT source's ``cluster_loop`` subgraph (its braces matched)."""
    start = source.index("subgraph cluster_loop {") + len("subgraph cluster_loop {")
    depth, i = 1, start
    while depth:
        depth += {"{": 1, "}": -1}.get(source[i], 0)
        i += 1
    return source[start:i - 1]


def test_text_brackets_the_loop_and_says_where_it_goes_back():
    lines = format_trace(two_phase_loop(), SETS, "out/trace.json").splitlines()
    assert lines[0] == ("two-phase (rms=2): eventually_decided violated (liveness) after 3 steps, "
                        "then back to step 2 forever")
    # The prefix keeps a blank gutter; the loop (steps 2 and 3) is bracketed from its first line.
    assert lines[1].startswith("     0  init") and lines[5].startswith("     1  rm_prepare(rm=0)")
    assert lines[6].startswith("        ") and lines[6].strip() == "msgs: +Prepared(rm=0)"
    assert lines[7].startswith(" ┌   2  tm_rcv_prepared(rm=0)") and "tm_prepared: +0" in lines[7]
    assert lines[8].startswith(" │   3  tm_rcv_prepared(rm=0)") and "(no change" in lines[8]
    assert lines[9] == " └⟳ back to step 2 (the loop repeats forever)"
    assert lines[-1] == "replay: kripke replay out/trace.json"


def test_text_of_a_stuttering_end_and_of_a_finite_trace():
    lines = format_trace(two_phase_stutter(), SETS).splitlines()
    assert lines[0].endswith("after 1 step, then stuttering forever")
    assert lines[-3].startswith(" ┌   1  rm_prepare(rm=0)")
    assert lines[-2] == " │" + " " * 24 + "msgs: +Prepared(rm=0)"
    assert lines[-1] == " └⟳ stutters forever at step 1 (the behaviour stays in this state)"
    finite = two_phase_stutter()
    finite.loop_start, finite.kind = None, "invariant"
    text = format_trace(finite, SETS)
    assert "⟳" not in text and "┌" not in text  # a finite trace keeps its layout, no gutter
    assert text.splitlines()[-2].startswith("   1  rm_prepare")


def test_a_multi_line_loop_step_stays_inside_the_bracket():
    lines = format_trace(lww_loss_loop()).splitlines()
    first = next(i for i, x in enumerate(lines) if x.startswith(" ┌   1  write("))
    assert all(x.startswith(" │") for x in lines[first + 1:-1])
    assert any(x.startswith(" │   3  drop_message(") for x in lines)
    assert lines[-1] == " └⟳ back to step 1 (the loop repeats forever)"


def test_drawing_groups_the_loop_and_draws_the_edge_back():
    dot = to_dot(two_phase_loop(), SETS).source
    loop = loop_cluster(dot)
    assert 'label="loop: repeats forever"' in loop and "s2 [" in loop and "s1 [" not in loop
    # Step 3 closes the loop: no node of its own, its action is the bold edge back to step 2.
    assert "s3" not in dot
    assert re.search(r's2 -> s2 \[label="tm_rcv_prepared\(rm=0\)\\nback to step 2"[^]]*bold', dot)
    assert re.findall(r"(s\d+) -> (s\d+)", dot) == [("s0", "s1"), ("s1", "s2"), ("s2", "s2")]

    dot = to_dot(lww_loss_loop()).source
    assert re.findall(r"(s\d+) -> (s\d+)", dot) == [("s0", "s1"), ("s1", "s2"), ("s2", "s1")]
    assert 'drop_message(' in dot and "back to step 1" in dot
    assert re.findall(r"\b(s\d+) \[", loop_cluster(dot)) == ["s1", "s2"]


def test_drawing_of_a_stuttering_end():
    dot = to_dot(two_phase_stutter(), SETS).source
    assert 'label="stutters forever"' in dot
    assert re.search(r's1 -> s1 \[label="stutters forever"', dot)


@needs_dot
def test_svg_shows_the_loop_cluster_and_the_edge_back():
    svg = to_dot(lww_loss_loop()).pipe(format="svg").decode()
    assert "loop: repeats forever" in svg and "back to step 1" in svg
    assert re.search(r"<title>s2&#45;&gt;s1</title>", svg)  # the back edge itself
    assert "#1f5fbf" in svg


def test_sequence_chart_marks_the_loop_rows_and_notes_the_way_back():
    trace = lww_loss_loop()
    model = load_model(trace.model)(**trace.params)
    chart = events(model, trace)
    # The loop starts at step 1, which is marked; its lost message is drawn as loss.
    assert (chart.loop_start, chart.violation) == (1, 1)
    assert [(m.sent, m.dropped, m.fate) for m in chart.messages] == [(2, 3, "dropped")]
    svg = sequence_chart(model, trace)
    # Steps 2 and 3 are tinted as the loop (step 1, where it starts, as the violation), and the
    # way back is said under the last row.
    assert svg.count(f'fill="{LOOP_FILL}"') == 2 and ">loop<" in svg
    assert ">⟳ back to step 1 (the loop repeats forever)<" in svg
    assert ">✕ dropped<" in svg


def test_html_report_marks_the_loop_rows_and_says_so():
    page = html_report(two_phase_loop(), SETS)
    rows = re.findall(r"<tr( class=\"[\w-]+\")?><td>([^<]*)</td>", page)
    assert rows == [("", "0"), ("", "1"), (' class="loop"', "2 ⟳"), (' class="loop"', "3"),
                    (' class="loop-back"', "⟳")]
    assert "back to step 2 (the loop repeats forever)" in page
    assert ("Steps 2–3 are a loop, marked ⟳: step 3 returns to the state of step 2, and the "
            "behaviour goes round the loop forever.") in page
    assert 'class="bad"' not in page  # no state is the bad one: the loop is
    page = html_report(two_phase_stutter(), SETS)
    assert "The behaviour stutters forever at step 1" in page

"""Message sequence charts drawn for people (issue 15, item 3): the events read from real
counterexamples (raft-article, cap-register in ap mode, lww-store-article with clock skew), and
the SVG drawn from them: well-formed, at most 1400 pixels wide, titled with the model and only
the parameters that differ from its defaults, labels clear of notes and of one another.

Traces with loss, duplication, crashes and partitions are walked by hand through the models' own
successors, so that every kind of mark is drawn from states a checker would give."""

import itertools
import json
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from kripke.checkers.explicit import check
from kripke.cli import main
from kripke.models.system import load_model
from kripke.traces.msc import (Interaction, Operation, Partition, _Drawing, _Layout, events,
                               sequence_chart)
from kripke.traces.trace import Trace, from_json
from tests.conftest import walk_calls

SVG = "{http://www.w3.org/2000/svg}"


def counterexample(name, params, prop):
    model = load_model(name)(**params)
    r = check(model, properties=[prop])
    assert r.verdict == "violated"
    return model, r.violation.trace


def walk(name, params, calls, prop="p"):
    """The trace of ``calls`` (an action name, or a full label such as ``crash_node(node=1)``:
    the first enabled call that fits) from model ``name``'s initial state."""
    model, steps = walk_calls(name, params, calls)
    return model, from_json(Trace(name, model.params, prop, "invariant", steps).to_json())


def arrows(chart):
    return [(m.kind, m.src, m.dst, m.sent, m.received) for m in chart.messages]


def parsed(svg):
    """The SVG as XML (it must parse), with its width checked against the issue's 1400."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert float(root.get("width")) <= 1400
    return root


def texts(root):
    return [t.text for t in root.iter(f"{SVG}text")]


@pytest.fixture(scope="module")
def raft():
    return counterexample("raft-article", {}, "election_safety")


@pytest.fixture(scope="module")
def cap():
    return counterexample("cap-register", {"mode": "ap"}, "linearizability")


@pytest.fixture(scope="module")
def lww():
    return counterexample("lww-store-article", {"max_skew": 1}, "read_your_writes")


# -- the events --------------------------------------------------------------------------------
def test_raft_article_each_vote_goes_from_its_send_to_its_receipt(raft):
    chart = events(*raft)
    # Server 0 asks 1 at step 3, 1 answers at 4, 0 hears it at 5; 1 asks 0 at step 6, after 0
    # has become leader at 7 the request is received at 8 and answered, and 1 hears it at 9.
    assert arrows(chart) == [("RequestVoteRequest", 0, 1, 3, 4),
                             ("RequestVoteResponse", 1, 0, 4, 5),
                             ("RequestVoteRequest", 1, 0, 6, 8),
                             ("RequestVoteResponse", 0, 1, 8, 9)]
    assert all(m.fate == "received" for m in chart.messages)
    # the two leaders of term 2, drawn in red on their lifelines, and the step that breaks it
    leaders = [(n.node, n.step, n.lines) for n in chart.notes if n.highlight]
    assert leaders == [(0, 7, ["state = leader"]), (1, 10, ["state = leader"])]
    assert (chart.violation, chart.violation_text) == (10, "✗ election_safety violated")
    # the declared notes, in the declared order (msc_notes = ("state", "current_term"))
    assert [n.lines for n in chart.notes if n.step == 1] == [["state = candidate",
                                                              "current_term = 2"]]
    # the history variable is shared state, beside the rows
    assert chart.rows[10].shared == ["elections +Election(term=2, leader=1)"]
    assert chart.rows[8].actor == 0 and chart.rows[8].args == "m=RequestVoteRequest 1→0"


def test_message_fields_come_in_declaration_order(raft):
    model, trace = raft
    # Even from a trace file whose messages list their fields alphabetically, as the old chart
    # drew them, the fields come in the order RequestVoteRequest declares them.
    scrambled = from_json(json.loads(json.dumps(trace.to_json(), sort_keys=True)))
    for t in (trace, scrambled):
        m = events(model, t).messages[0]
        assert list(m.fields) == ["type", "term", "last_log_term", "last_log_index", "src",
                                  "dst"]
        assert m.body() == "term=2, last_log_term=0, last_log_index=0"
    assert ">term=2, last_log_term=0, last_log_index=0<" in sequence_chart(model, scrambled)


def test_cap_register_ap_draws_the_partition_and_the_stale_read(cap):
    chart = events(*cap)
    # The network carries no message (replication is atomic within a side): the clients'
    # requests and responses are the arrows, and the read on the far side returns nothing.
    assert chart.messages == []
    assert chart.partitions == [Partition([[0], [1, 2]], 1, None)]
    assert chart.operations == [Operation(0, 2, "request", "write(1)"),
                                Operation(0, 3, "response", "write(1) ok"),
                                Operation(1, 4, "request", "read()"),
                                Operation(1, 5, "response", "read() = null")]
    assert [(n.node, n.step, n.lines) for n in chart.notes if n.step] == [
        (0, 3, ["value = 1", "version = 1"])]
    assert chart.violation == 5


def test_cap_register_replication_within_a_side_is_an_atomic_arrow():
    model, trace = walk("cap-register", {"mode": "ap"},
                        ["invoke_write(c=0)", "serve(r=0)", "partition_network",
                         "invoke_write(c=1)", "serve(r=1)", "heal_partition",
                         "anti_entropy(a=1, b=0)"])
    chart = events(model, trace)
    assert chart.interactions == [Interaction(0, 1, 2, "serve"), Interaction(0, 2, 2, "serve"),
                                  Interaction(1, 2, 5, "serve"),
                                  Interaction(1, 0, 7, "anti_entropy")]
    assert chart.partitions == [Partition([[0], [1, 2]], 3, 6)]
    root = parsed(sequence_chart(model, trace))
    assert {"partition {0} | {1, 2}", "healed", "anti_entropy", "atomic update"} <= set(
        texts(root))


def test_lww_store_article_sends_the_update_that_hides_the_own_write(lww):
    chart = events(*lww)
    assert arrows(chart) == [("Update", 1, 0, 2, 3)]
    assert list(chart.messages[0].fields) == ["type", "key", "version", "src", "dst"]
    # No notes declared: every per-node variable is noted; at step 4 replica 0 writes, but what
    # it stores is still replica 1's write (its timestamp, 1, beats the skewed 0).
    lines = next(n.lines for n in chart.notes if (n.node, n.step) == (0, 4))
    assert ("data[0] = Version(write=Write(node=1, seq=1), ts=1, vc=[1, 1], after=[])"
            in lines)
    assert lines[2].startswith("own[0] = Version(write=Write(node=0, seq=1), ts=0")
    assert chart.rows[1].shared == [] and chart.violation == 4


def test_loss_duplication_crash_and_what_is_still_in_flight():
    model, trace = walk("toy-pingpong", {"pings": 3, "max_msgs": 3, "lossy": True,
                                         "duplicating": True, "crashes": True},
                        ["send_ping", "send_ping", "duplicate_message", "drop_message",
                         "receive_ping", "send_ping", "crash_node(node=1)",
                         "recover_node(node=1)", "receive_ping"])
    chart = events(model, trace)
    got = [(m.fields["seq"], m.sent, m.duplicated, m.fate, m.received or m.dropped)
           for m in chart.messages]
    # ping 0 sent at 1 and copied by the network at 3: one copy dropped at 4, the other
    # received at 5; ping 1 never arrives; ping 2, sent at 6, arrives at 9.
    assert got == [(0, 1, None, "dropped", 4), (1, 2, None, "in flight", None),
                   (0, 1, 3, "received", 5), (2, 6, None, "received", 9)]
    assert [(c.node, c.start, c.end) for c in chart.crashes] == [(1, 7, 8)]
    root = parsed(sequence_chart(model, trace))
    words = set(texts(root))
    assert {"Ping (copy)", "✕ dropped", "… in flight", "crashed", "recovered", "dropped",
            "duplicate", "in flight at the end", "crash"} <= words
    dashes = {p.get("stroke-dasharray") for p in root.iter(f"{SVG}path")}
    assert {"7 4", "2 3"} <= dashes  # in flight dashed, the copy dotted


def test_a_lossy_counterexample_draws_its_drop():
    chart = events(*counterexample("lww-store-article", {"lossy": True}, "quiescent_agreement"))
    assert "dropped" in {m.fate for m in chart.messages}


# -- the drawing -------------------------------------------------------------------------------
@pytest.mark.parametrize("which, title", [("raft", "raft-article"),
                                          ("cap", "cap-register (mode=ap)"),
                                          ("lww", "lww-store-article (max_skew=1)")])
def test_the_charts_are_svg_at_most_1400_wide_with_a_short_title(which, title, request):
    model, trace = request.getfixturevalue(which)
    chart = events(model, trace)
    assert chart.title == title  # only the parameters that differ from the defaults
    root = parsed(sequence_chart(model, trace))
    words = texts(root)
    assert words[0] == title and len(title) < 40
    assert f"✗ {trace.property} violated" in words
    assert root.find(f"{SVG}title").text.startswith(title)


@pytest.mark.parametrize("which", ["raft", "cap", "lww"])
def test_labels_notes_and_pills_do_not_overlap(which, request):
    """What a reader has to read is never hidden under something else."""
    chart = events(*request.getfixturevalue(which))
    drawing = _Drawing(chart, _Layout(chart, 1400))
    drawing.draw()
    overlaps = [(a, b) for a, b in itertools.combinations(drawing.boxes, 2) if a.overlap(b)]
    assert overlaps == []


def test_check_out_and_render_write_the_chart(tmp_path):
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["check", "cap-register", "-p", "mode=ap", "--out", str(out)])
    assert r.exit_code == 1
    svg = (out / "msc.svg").read_text()
    assert "partition {0} | {1, 2}" in parsed(svg).itertext()
    r = CliRunner().invoke(main, ["render", str(out / "trace.json"), "--msc", "-o",
                                  str(tmp_path / "again.svg")])
    assert r.exit_code == 0 and (tmp_path / "again.svg").read_text() == svg
    r = CliRunner().invoke(main, ["render", str(out / "trace.json"), "--msc", "-o",
                                  str(tmp_path / "x.dot")])
    assert r.exit_code == 2 and "must end in .svg" in r.output


def test_a_model_without_a_network_has_no_chart():
    model, trace = counterexample("two-phase-eager", {}, "tc_consistent")
    assert sequence_chart(model, trace) is None

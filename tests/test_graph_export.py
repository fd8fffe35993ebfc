"""The reachable state graph as data (issue 11, item 7): ``to_networkx`` and ``kripke graph
--format graphml|gexf``, counted against the checker and against the model's own successors."""

import networkx
import pytest

import kripke
from kripke.models.fingerprint import fingerprint
from kripke.models.two_phase import TwoPhase
from kripke.traces.graph import TooManyStates, to_networkx, write_graph
from tests.conftest import kripke as kripke_cli

LONG_RUNS = "tests/fixtures/long_runs.py"



def successor_pairs(model):
    """The distinct (state, next state) pairs and the number of successors computed, by a plain
    search of ``model.successors`` (independent of ``traces.graph.reachable``)."""
    seen = {fingerprint(s): s for s in model.init()}
    todo, pairs, computed = list(seen.values()), set(), 0
    while todo:
        s = todo.pop()
        for _, _, t in model.successors(s):
            computed += 1
            pairs.add((fingerprint(s), fingerprint(t)))
            if fingerprint(t) not in seen:
                seen[fingerprint(t)] = t
                todo.append(t)
    return pairs, computed


def test_the_digraph_of_two_phase_has_the_checkers_states_and_the_models_steps():
    model = TwoPhase(rms=2)
    g = kripke.to_networkx(model)
    result = kripke.check(TwoPhase(rms=2), symmetry=False)
    pairs, computed = successor_pairs(model)
    assert isinstance(g, networkx.DiGraph)
    assert g.number_of_nodes() == result.distinct_states == 56
    assert g.number_of_edges() == len(pairs) == 130
    # Every successor computed is one action label on an edge: generated less the initial state.
    assert sum(len(a) for *_, a in g.edges(data="actions")) == computed \
        == result.states_generated - 1
    assert g.nodes[0] == {"rm_state": ["working", "working"], "tm_state": "init",
                          "tm_prepared": [], "msgs": [], "initial": True}
    assert [n for n, initial in g.nodes(data="initial") if initial] == [0]
    prepare = [j for j in g.successors(0) if g.edges[0, j]["label"] == "rm_prepare(rm=0)"]
    assert len(prepare) == 1 and g.nodes[prepare[0]]["rm_state"] == ["prepared", "working"]
    assert g.nodes[prepare[0]]["msgs"] == [{"type": "Prepared", "rm": 0}]
    assert g.graph == {"model": "two-phase", "params": {"rms": 2}, "symmetry": False}


def test_several_actions_between_two_states_share_one_edge():
    # TMRcvPrepared of an RM already in tm_prepared changes nothing (TwoPhase.tla has no guard
    # against it): once both RMs are in, each RM's call is a self-loop, and they share one edge.
    g = to_networkx(TwoPhase(rms=2))
    [both] = [n for n, a in g.nodes(data=True)
              if a["tm_state"] == "init" and a["tm_prepared"] == [0, 1]]
    assert g.edges[both, both] == {
        "actions": ["tm_rcv_prepared(rm=0)", "tm_rcv_prepared(rm=1)"],
        "label": "tm_rcv_prepared(rm=0); tm_rcv_prepared(rm=1)"}


def test_fields_symmetry_and_the_bound():
    g = to_networkx(TwoPhase(rms=3), fields=["tm_state"])
    assert g.number_of_nodes() == 288 and set(g.nodes[0]) == {"tm_state", "initial"}
    assert to_networkx(TwoPhase(rms=3), symmetry=True).number_of_nodes() < 288
    with pytest.raises(TooManyStates, match="more than 100 reachable states"):
        to_networkx(TwoPhase(rms=3), max_states=100)
    with pytest.raises(kripke.KripkeError, match="no variable 'nope'; its variables are rm_state"):
        to_networkx(TwoPhase(rms=2), fields=["nope"])


def test_a_state_outside_the_constraint_is_a_node_marked_not_within():
    model = kripke.load_model(f"{LONG_RUNS}:Unbounded")(bound=3)
    g = to_networkx(model)
    assert [x for _, x in g.nodes(data="x")] == [0, 1, 2, 3, 4]
    assert [w for _, w in g.nodes(data="within")] == [True, True, True, True, False]
    assert list(g.edges) == [(0, 1), (1, 2), (2, 3), (3, 4)]  # x = 4 is not expanded


@pytest.mark.parametrize("fmt,read", [("graphml", networkx.read_graphml),
                                      ("gexf", networkx.read_gexf)])
def test_graph_files_read_back_with_the_same_nodes_edges_and_fields(tmp_path, fmt, read):
    g = to_networkx(TwoPhase(rms=2))
    path = tmp_path / f"two-phase.{fmt}"
    r = kripke_cli("graph", "two-phase", "-p", "rms=2", "-o", path)
    assert r.exit_code == 0 and r.output == f"56 nodes and 130 edges\nwrote {path}\n"
    back = read(path)
    assert (back.number_of_nodes(), back.number_of_edges()) == (56, 130)
    assert back.is_directed()
    # Non-scalar values are compact text, booleans stay booleans.
    first = back.nodes["0"]
    assert (first["rm_state"], first["tm_state"], first["msgs"], first["initial"]) == (
        "[working, working]", "init", "[]", True)
    labels = sorted(a for *_, a in back.edges(data="label"))
    assert labels == sorted(a for *_, a in g.edges(data="label"))
    assert "tm_rcv_prepared(rm=0); tm_rcv_prepared(rm=1)" in labels
    # A file named otherwise says its format with --format; the same graph.
    other = tmp_path / "graph.xml"
    assert kripke_cli("graph", "two-phase", "-p", "rms=2", "--format", fmt, "-o",
                      other).exit_code == 0
    assert read(other).number_of_edges() == 130


def test_write_graph_makes_each_attribute_one_scalar_type(tmp_path):
    g = networkx.DiGraph(model="m", params={"n": 1})
    g.add_node(0, x=1, y=None, initial=True)
    g.add_node(1, x=None, y=None, initial=False)
    g.add_edge(0, 1, actions=["a()"], label="a()")
    write_graph(g, tmp_path / "g.graphml", "graphml")
    back = networkx.read_graphml(tmp_path / "g.graphml")
    # x is an int beside a None: both written as text; y is always None: text too.
    assert back.nodes["0"] == {"x": "1", "y": "null", "initial": True}
    assert back.nodes["1"] == {"x": "null", "y": "null", "initial": False}
    assert back.edges["0", "1"] == {"label": "a()"} and back.graph["params"] == "n=1"


@pytest.mark.parametrize("args,message", [
    (["nope", "-o", "OUT/g.graphml"], "unknown model 'nope'; available: bulkhead"),
    (["two-phase", "-p", "zz=1", "-o", "OUT/g.graphml"],
     "unknown parameter of two-phase 'zz'; available: rms"),
    (["two-phase", "--format", "png", "-o", "OUT/g.png"],
     "unknown graph format 'png'; available: dot, gexf, graphml, svg"),
    (["two-phase", "-o", "OUT/g.png"], "-o OUT/g.png: the file must end in .svg, .dot, .graphml "
                                       "or .gexf (or name its format with --format)"),
    (["two-phase", "-p", "rms=9", "--max-states", "1000", "-o", "OUT/g.gexf"],
     "two-phase has more than 1,000 reachable states: explore fewer with -p"),
    (["two-phase", "--cluster", "tm_state", "-o", "OUT/g.graphml"],
     "--cluster is for a drawing (svg, dot); a graphml file holds the whole graph"),
    (["two-phase", "--around", "3", "-o", "OUT/g.gexf"], "--around is for a drawing"),
    (["two-phase", "--around", "3", "--components", "-o", "OUT/g.svg"],
     "--around or --components"),
    (["two-phase", "--radius", "3", "-o", "OUT/g.svg"], "--radius is the neighbourhood's"),
    (["two-phase", "--around", "999", "-o", "OUT/g.svg"],
     "there is no node #999: the nodes are #0 to #287"),
    (["two-phase", "--field", "nope", "-o", "OUT/g.gexf"], "two-phase has no variable 'nope'"),
    (["two-phase", "-o", "OUT/missing/g.graphml"], "the folder OUT/missing does not exist"),
])
def test_graph_export_errors_are_one_line_and_exit_2(tmp_path, args, message):
    args = [str(a).replace("OUT", str(tmp_path)) for a in args]
    r = kripke_cli("graph", *args)
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kripke: error: ")
    assert message.replace("OUT", str(tmp_path)) in lines[0]
    assert list(tmp_path.iterdir()) == []  # nothing written

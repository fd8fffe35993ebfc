"""State graphs people can read (issue 15, item 4): ``kripke graph --field`` merges the states
equal on the chosen variables, a node says how many it stands for, and the output says what was
drawn and how it compares with check's count; above ``--max-nodes`` the strongly connected
components or the neighbourhood of a state are drawn instead of everything."""

import re

import pytest

import kripke
from kripke.models.circuit_breaker import CircuitBreaker, CircuitBreakerArticle
from kripke.models.system import Param, TransitionSystem, action
from kripke.models.two_phase import TwoPhase
from kripke.models.types import Int
from kripke.traces.graph import MAX_NODES, state_view, to_networkx
from tests.conftest import kripke as kripke_cli

CHECK_SAYS = ("kripke check counts 115 distinct states: by default it reduces by symmetry, "
              "storing one state per orbit under permutations of Caller; --symmetry draws one "
              "node per orbit.")


class Rounds(TransitionSystem):
    """``phase`` only goes up (0..3); in every phase ``x`` goes round 0..4. Hand count: 4 x 5 =
    20 states in 4 strongly connected components (one per phase, 5 states each), 20 steps
    round the circles and 3 from a phase to the next (from x = 0 only)."""

    phases = Param(4, "the phases", min=1)
    variables = {"phase": Int(0, 3), "x": Int(0, 4)}

    def init(self):
        yield self.State(phase=0, x=0)

    @action
    def turn(self, s):
        return s.set(x=(s.x + 1) % 5)

    @action
    def next_phase(self, s):
        if s.phase < self.phases - 1 and s.x == 0:
            return s.set(phase=s.phase + 1, x=0)



def svg_nodes(svg):
    return svg.count('class="node"')


def test_the_breaker_projected_on_its_circuit_is_three_nodes_that_count_every_state():
    reached = kripke.check(CircuitBreaker(), symmetry=False)
    view = state_view(CircuitBreaker(), fields=["circuit"])
    g = view.graph
    assert [(a["value"], a["count"]) for _, a in g.nodes(data=True)] == [
        ({"circuit": "closed"}, 76), ({"circuit": "open"}, 60), ({"circuit": "half_open"}, 36)]
    assert sum(a["count"] for _, a in g.nodes(data=True)) == reached.distinct_states == 172
    # every step of the state graph is on one edge (a self-loop: it stays in one circuit)
    assert sum(len(a) for *_, a in g.edges(data="actions")) == reached.states_generated - 1
    # closed -> open -> half_open, and back to open (a failed trial) or to closed
    assert {(i, j) for i, j in g.edges if i != j} == {(0, 1), (1, 2), (2, 1), (2, 0)}
    assert sorted(g.edges[0, 1]["actions"]) == (["caller_complete(caller=0)"] * 6
                                                + ["caller_complete(caller=1)"] * 6)
    assert (view.mode, view.states, view.nodes, view.check_count) == ("all", 172, 3, 115)
    assert view.message == ("drew 3 nodes and 4 edges: the 172 reachable states merged by "
                            "projection onto circuit. " + CHECK_SAYS)
    svg = view.digraph.pipe(format="svg").decode()
    assert svg_nodes(svg) == 3 and svg.count('class="edge"') == 4
    assert "#0 · 76 states" in svg and "circuit = half_open" in svg
    assert "caller_complete ×12" in svg and "caller_call ×36" in svg
    assert "↺ caller_call ×76, service_fail ×12" in svg  # what keeps a breaker closed
    # small enough to read on a page (the breaker's whole graph was 5,000 x 6,800 pt)
    width, height = map(float, re.search(r'width="([\d.]+)pt" height="([\d.]+)pt"',
                                         svg).groups())
    assert width < 800 and height < 400


def test_the_articles_breaker_projected_likewise():
    view = state_view(CircuitBreakerArticle(), fields=["circuit"])
    assert [a["count"] for _, a in view.graph.nodes(data=True)] == [176, 98, 50]
    assert view.states == sum(a["count"] for _, a in view.graph.nodes(data=True)) == 324
    assert view.check_count == 222


def test_kripke_graph_says_what_it_drew(tmp_path):
    out = tmp_path / "breaker.svg"
    r = kripke_cli("graph", "circuit-breaker", "--field", "circuit", "-o", out)
    assert r.exit_code == 0
    assert r.output == ("drew 3 nodes and 4 edges: the 172 reachable states merged by "
                        f"projection onto circuit. {CHECK_SAYS}\nwrote {out}\n")
    assert svg_nodes(out.read_text()) == 3
    # under symmetry: the orbits, as check counts them
    r = kripke_cli("graph", "circuit-breaker", "--field", "circuit", "--symmetry", "-o", out)
    assert r.output.splitlines()[0] == (
        "drew 3 nodes and 4 edges: the 115 reachable orbits merged by projection onto "
        "circuit. kripke check --symmetry counts the same 115.")
    # without a symmetric domain: the same count; the first levels only
    r = kripke_cli("graph", "toy-counter", "--max-depth", "3", "-o", out)
    assert r.output.splitlines()[0] == (
        "drew 3 nodes and 2 edges: the 3 reachable states of the first 3 levels. kripke "
        "check counts the same 3.")


def test_projected_data_files_merge_too(tmp_path):
    g = to_networkx(TwoPhase(rms=3), fields=["tm_state"], merge=True)
    assert {a["tm_state"]: a["count"] for _, a in g.nodes(data=True)} == {
        "init": 64, "committed": 8, "aborted": 216}
    assert sum(c for _, c in g.nodes(data="count")) == 288
    r = kripke_cli("graph", "two-phase", "--field", "tm_state", "-o", tmp_path / "g.graphml")
    assert r.output.splitlines()[0] == "3 nodes and 5 edges, merged by projection onto tm_state"


def test_states_outside_the_constraint_are_drawn_and_not_counted_by_check():
    model = kripke.load_model("tests/fixtures/long_runs.py:Unbounded")(bound=3)
    view = state_view(model)
    assert view.message == (
        "drew 5 nodes and 4 edges: the 5 reachable states. 1 of the states is outside the "
        "constraint within(), drawn dashed and not explored; kripke check counts 4 distinct "
        "states: it does not store the states outside the constraint.")
    assert 'style="rounded,dashed"' in view.digraph.source


def test_above_the_size_a_dag_is_drawn_as_the_neighbourhood_of_the_initial_state():
    # two-phase's 288 states form 288 components (its steps never go back): no help there
    view = state_view(TwoPhase(rms=3))
    g = to_networkx(TwoPhase(rms=3))
    assert (view.mode, view.nodes) == ("around", 288)
    drawn = set(view.graph)
    assert 0 in drawn and len(drawn) <= MAX_NODES
    # radius 2 either way: the initial state, its successors and theirs (no predecessors)
    one = set(g.successors(0))
    assert drawn == {0} | one | {k for j in one for k in g.successors(j)} and len(drawn) == 29
    hidden = {n for n, h in view.graph.nodes(data="hidden") if h}
    assert hidden and all(set(g.successors(n)) - drawn for n in hidden)
    assert view.message.startswith(
        "drew 29 nodes and 46 edges: the neighbourhood of #0, an initial state, within 2 "
        "steps either way, of the 288 reachable states, since the 288 states and their 653 "
        "edges are more than --max-nodes 30 nodes and 60 edges, and so are their 288 strongly "
        "connected components; a grey node has neighbours that are not drawn")
    assert "kripke check counts 80 distinct states" in view.message
    svg = view.digraph.pipe(format="svg").decode()
    assert svg_nodes(svg) == 29 and "neighbours not drawn" in svg
    assert "two-phase: 29 of 288 nodes: within 2 steps of #0" in view.digraph.source


def test_around_a_node_of_ones_choice(tmp_path):
    g = to_networkx(TwoPhase(rms=2))
    view = state_view(TwoPhase(rms=2), around=5, radius=1)
    assert set(view.graph) == {5} | set(g.successors(5)) | set(g.predecessors(5))
    assert view.message.startswith(f"drew {len(view.graph)} nodes")
    assert "the neighbourhood of #5 within 1 step either way, of the 56 reachable states;" \
        in view.message
    r = kripke_cli("graph", "two-phase", "-p", "rms=2", "--around", "5", "--radius", "1", "-o",
                   tmp_path / "g.svg")
    assert r.exit_code == 0 and r.output.startswith(view.message.split(".")[0])
    assert svg_nodes((tmp_path / "g.svg").read_text()) == len(view.graph)


def test_above_the_size_a_graph_with_cycles_is_drawn_as_its_components():
    view = state_view(Rounds(), max_nodes=10)
    assert (view.mode, view.states) == ("components", 20)
    # numbered by their first state in breadth-first order: (0, 0) is #0, (1, 0) #2 (after
    # (0, 1)), (2, 0) #5 and (3, 0) #9
    every_x = [0, 1, 2, 3, 4]
    assert [(n, a["count"], a["values"]) for n, a in view.graph.nodes(data=True)] == [
        (0, 5, {"phase": [0], "x": every_x}), (2, 5, {"phase": [1], "x": every_x}),
        (5, 5, {"phase": [2], "x": every_x}), (9, 5, {"phase": [3], "x": every_x})]
    # the steps round a circle are the component's self-loop, the others its edges
    assert [len(view.graph.edges[n, n]["actions"]) for n in view.graph] == [5, 5, 5, 5]
    assert [(i, j) for i, j in view.graph.edges if i != j] == [(0, 2), (2, 5), (5, 9)]
    assert view.message.startswith(
        "drew 4 nodes and 3 edges: the strongly connected components of the 20 reachable "
        "states (a node stands for states that can all reach one another), since the 20 states "
        "and their 23 edges are more than --max-nodes 10 nodes and 20 edges.")
    svg = view.digraph.pipe(format="svg").decode()
    assert "#2 · 5 states" in svg and "x: 5 values" in svg and "↺ turn ×5" in svg
    # asked for: the components whatever the size
    view = state_view(Rounds(), components_only=True)
    assert view.mode == "components" and len(view.graph) == 4
    assert "more than" not in view.message
    # under the size: everything
    assert state_view(Rounds()).mode == "all"


def test_one_or_two_components_are_not_drawn_for_the_whole():
    # the breaker on service and calls: 26 projections, one component: its neighbourhood
    view = state_view(CircuitBreaker(), cluster="circuit", fields=["service", "calls"])
    assert (view.mode, view.nodes) == ("around", 26)
    assert "they form only 1 strongly connected component" in view.message
    assert "merged by projection onto circuit, service, calls" in view.message
    assert sum(a["count"] for _, a in view.graph.nodes(data=True)) < 172


def test_fields_the_same_everywhere_are_written_once_and_long_values_cut():
    view = state_view(TwoPhase(rms=3))
    assert "tm_state = init" not in view.digraph.source.split("\n", 3)[1]  # not the title
    view = state_view(CircuitBreaker())  # 16 variables; 8 are the same in every node drawn
    title = re.search(r'label="([^"]*)"', view.digraph.source).group(1)
    assert "in every node: wall_offset = 0, circuit = closed" in title
    assert "wall_offset = 0<BR" not in view.digraph.source
    view = state_view(kripke.load_model("lww-store-article")())
    texts = re.findall(r'<BR ALIGN="LEFT"/>([^<>]*)', view.digraph.source)
    longest = max(len(x.replace("&quot;", '"').replace("&#x27;", "'")) for x in texts)
    assert longest <= 64


def test_a_chain_is_drawn_down_the_page_and_a_wide_tree_across():
    assert "rankdir=TB" in state_view(CircuitBreaker(), fields=["circuit"]).digraph.source
    assert "rankdir=TB" in state_view(kripke.load_model("toy-promises")()).digraph.source
    assert "rankdir=LR" in state_view(TwoPhase(rms=3)).digraph.source


def test_the_help_gives_max_nodes_default():
    r = kripke_cli("graph", "--help")
    assert f"[default: {MAX_NODES}]" in " ".join(r.output.split())


@pytest.mark.parametrize("kwargs,message", [
    ({"around": 3, "components_only": True}, "either the components or the neighbourhood"),
    ({"radius": 2}, "a radius is for the neighbourhood of a state"),
    ({"around": 56}, "there is no node #56: the nodes are #0 to #55"),
    ({"fields": ["nope"]}, "two-phase has no variable 'nope'"),
])
def test_view_errors(kwargs, message):
    with pytest.raises(kripke.KripkeError, match=message):
        state_view(TwoPhase(rms=2), **kwargs)

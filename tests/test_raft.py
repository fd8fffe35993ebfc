"""Raft (raft.tla) and the article's RaftNode: counts, symmetry, every Figure 3 property, the
election_safety counterexample drawn as a message sequence chart, and broken variants."""

import itertools
import json

import pytest

from kripke.checkers.explicit import check
from kripke.models.raft import Raft
from kripke.models.symmetry import Canonicalizer
from kripke.models.system import load_model
from kripke.models.types import total_order_key
from tests.conftest import fixture_model, reachable_states
from kripke.traces.trace import replay

SMALL = dict(servers=2, max_msgs=2)  # 12,483 states, under a second
PROPERTIES = ["type_ok", "election_safety", "leader_append_only", "log_matching",
              "leader_completeness", "state_machine_safety", "leader_elected", "entry_committed"]




def test_properties_are_raft_figure_3():
    assert [p.name for p in Raft.properties] == PROPERTIES


@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
def test_small_raft_holds_and_strategies_agree(strategy):
    r = check(Raft(**SMALL), symmetry=False, strategy=strategy)
    assert (r.verdict, r.distinct_states, r.states_generated) == ("ok", 12483, 50111)
    assert r.properties == PROPERTIES


def test_symmetry_counts_the_orbits():
    model = Raft(**SMALL)
    states = reachable_states(model)
    assert len(states) == 12483
    canon = Canonicalizer(model, model.symmetric_domain())
    perms = list(itertools.permutations(range(model.servers)))
    orbits = {min((canon.permute(s, p) for p in perms), key=total_order_key) for s in states}
    r = check(model, symmetry=True)
    assert (r.verdict, r.distinct_states) == ("ok", len(orbits)) == ("ok", 6257)


def test_renaming_servers_maps_reachable_states_to_reachable_states():
    """The permutation code is right for Raft's nested types: the reachable set is closed under
    renaming, and renaming changes no property's verdict."""
    model = Raft(**SMALL)
    states = reachable_states(model)
    canon = Canonicalizer(model, model.symmetric_domain())
    swapped = {canon.permute(s, [1, 0]) for s in states}
    assert swapped == states


def _declared(model):
    """Raft's properties that declare the fields they read: (property, fields, the function)."""
    return [(p, p.condition.reads, getattr(p.condition, "__wrapped__", p.condition))
            for p in model.properties if hasattr(p.condition, "reads")]


def test_properties_read_only_the_fields_they_declare():
    """Each ``reads`` declaration (models.fingerprint) is right: two random well-typed states
    (and steps) that agree on the declared fields get the same answer from the property itself,
    whatever the other fields hold."""
    from hypothesis import HealthCheck, given, settings, strategies as st
    from kripke.checkers.symmetry_check import state_strategy
    model = Raft(servers=3, max_log_len=2, max_term=3, values=2)
    declared = _declared(model)
    assert {p.name for p, _, _ in declared} == set(PROPERTIES) - {"type_ok"}
    states = state_strategy(model)
    index = {f: i for i, f in enumerate(model.State._fields)}  # (a state record has no tag)

    def mix(a, b, fields):  # a's declared fields, b's others
        keep = {index[f] for f in fields}
        return tuple.__new__(model.State, [x if i in keep else y
                                           for i, (x, y) in enumerate(zip(a, b))])

    @settings(max_examples=300, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.tuples(states, states, states, states))
    def agree(four):
        s, t, u, v = four
        for p, fields, fn in declared:
            if p.kind == "step":
                assert fn(model, s, t) == fn(model, mix(s, u, fields), mix(t, v, fields)), p.name
            else:
                assert fn(model, s) == fn(model, mix(s, u, fields)), p.name
    agree()


def test_remembered_answers_are_the_properties_own():
    """Along a search, the properties as declared (answers remembered by the values of the
    fields they read) agree with the functions themselves on every state and step."""
    model = Raft(**SMALL)
    declared = _declared(model)
    states = sorted(reachable_states(model), key=repr)
    for s in states:
        steps = [t for _, _, t in model.successors(s)]
        for p, _, fn in declared:
            if p.kind == "step":
                assert all(p.condition(model, s, t) == fn(model, s, t) for t in steps), p.name
            else:
                assert p.condition(model, s) == fn(model, s), p.name


@pytest.mark.slow
def test_three_servers_with_symmetry():
    """The configuration the issue asks for at small bounds (max_msgs=1, no restarts)."""
    model = Raft(servers=3, max_msgs=1, restarts=False)
    r = check(model)
    assert (r.verdict, r.distinct_states, r.states_generated, r.depth) == ("ok", 57021, 133793, 48)


def test_the_articles_votes_elect_two_leaders_in_one_term(tmp_path):
    from kripke.cli import main
    from click.testing import CliRunner
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["check", "raft-article", "-p", "servers=3", "-p",
                                       "restarts=false", "--out", str(out), "--json"])
    assert result.exit_code == 1
    v = json.loads(result.output)["violation"]
    assert (v["property"], v["kind"], v["length"]) == ("election_safety", "invariant", 10)
    trace = json.loads((out / "trace.json").read_text())
    last = trace["steps"][-1]["state"]
    assert last["state"].count("leader") == 2 and len(set(last["current_term"][:2])) == 1
    assert sorted((e["term"], e["leader"]) for e in last["elections"]) == [(2, 0), (2, 1)]
    svg = (out / "msc.svg").read_text()
    assert all(f"server {i}" in svg for i in range(3))
    assert svg.count(">state = leader<") == 2 and "RequestVoteResponse" in svg
    from kripke.traces.trace import load
    assert replay(load(out / "trace.json")).ok


def test_raft_itself_never_elects_two_leaders_in_a_term():
    r = check(Raft(servers=3, max_msgs=1, restarts=False), properties=["election_safety"])
    assert r.verdict == "ok"


BROKEN = [
    ("OverwritingLeader", dict(servers=1, values=2, restarts=False), "leader_append_only",
     "step", 7),
    ("CorruptingFollower", dict(servers=2, values=2, max_msgs=1, restarts=False), "log_matching",
     "invariant", 12),
    ("ForgetfulRestart", dict(servers=1, max_term=3), "leader_completeness", "invariant", 13),
    ("EndlessTerms", dict(servers=1), "type_ok", "type", 2),
]


@pytest.mark.parametrize("name,params,prop,kind,length", BROKEN)
def test_every_property_can_fail(name, params, prop, kind, length):
    model = load_model(fixture_model(name).replace("models.py", "raft_broken.py"))(**params)
    r = check(model, properties=[prop])
    v = r.violation
    assert (r.verdict, v.property, v.kind, len(v.trace.steps) - 1) == (
        "violated", prop, kind, length)
    assert replay(v.trace).ok


@pytest.mark.slow
def test_committing_without_a_quorum_breaks_state_machine_safety():
    model = load_model("tests/fixtures/raft_broken.py:LonelyCommit")(
        servers=3, max_term=3, values=2, max_msgs=1, restarts=False)
    r = check(model, properties=["state_machine_safety"])
    v = r.violation
    assert (v.property, len(v.trace.steps) - 1) == ("state_machine_safety", 22)
    committed = [s for s in v.trace.steps[-1].state["commit_index"] if s]
    assert len(committed) == 2 and replay(v.trace).ok


def test_a_raft_without_leaders_is_caught_by_leader_elected():
    model = load_model("tests/fixtures/raft_broken.py:NeverLeads")(servers=2, restarts=False)
    r = check(model)
    assert (r.violation.property, r.violation.kind) == ("leader_elected", "sometimes")


def test_raft_holds_over_an_unreliable_network():
    """Loss, FIFO channels, partitions and crashes: every property still holds (2 servers; one
    message in flight, so nothing can be duplicated: tests/test_network.py covers that)."""
    model = Raft(servers=2, lossy=True, duplicating=True, partitions=True, crashes=True,
                 ordered=True)
    r = check(model)
    assert (r.verdict, r.distinct_states, r.states_generated) == ("ok", 6894, 36225)
    for action in ("drop_message", "partition_network", "crash_node"):
        assert r.coverage[action]["new"] > 0
    assert r.coverage["heal_partition"]["fired"] > 0 and r.coverage["recover_node"]["fired"] > 0


def test_without_room_in_the_log_nothing_is_committed():
    r = check(Raft(servers=1, max_log_len=0))
    assert (r.violation.property, r.violation.kind) == ("entry_committed", "sometimes")

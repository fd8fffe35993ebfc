"""TCommit and TwoPhase against TLC's published counts and an independent BFS; the broken variant."""

import json
from pathlib import Path

import pytest

from kripke.checkers.explicit import check
from kripke.models.system import load_model
from tests.conftest import MAX_RMS, fixture_model
from tests.oracles import commit as oracle

PUBLISHED = json.loads((Path(__file__).parent / "oracles" / "published.json").read_text())


def run(name, rms, **opts):
    return check(load_model(name)(rms=rms), **opts)


@pytest.mark.parametrize("name,rms", [(m, int(n)) for m in ("tcommit", "two-phase")
                                      for n in PUBLISHED[m]])
def test_counts_equal_published_results(name, rms):
    expected = PUBLISHED[name][str(rms)]
    r = run(name, rms, symmetry=False)
    assert r.verdict == "ok"
    assert r.distinct_states == expected["distinct"]
    if "generated" in expected:
        assert (r.states_generated, r.depth) == (expected["generated"], expected["depth"])


@pytest.mark.parametrize("rms", range(1, 6))
@pytest.mark.parametrize("name,successors", [("tcommit", oracle.tcommit_successors),
                                             ("two-phase", oracle.two_phase_successors)])
def test_counts_equal_an_independent_bfs(name, successors, rms):
    distinct, generated, depth, _ = oracle.bfs(*successors(rms))
    for strategy in ("bfs", "dfs"):
        r = run(name, rms, symmetry=False, strategy=strategy)
        assert (r.verdict, r.distinct_states, r.states_generated) == ("ok", distinct, generated)
        if strategy == "bfs":
            assert r.depth == depth


@pytest.mark.parametrize("rms", range(1, 6))
def test_symmetry_counts_the_orbits(rms):
    assert run("two-phase", rms, symmetry=True).distinct_states == oracle.two_phase_orbits(rms)
    assert run("tcommit", rms, symmetry=True).distinct_states == oracle.tcommit_orbits(rms)


@pytest.mark.slow
def test_larger_sizes():
    """Exhaustive runs up to KRIPKE_MAX_RMS (6 by default: 50,816 states, TLC's count)."""
    for rms in range(6, MAX_RMS + 1):
        distinct, generated, depth, _ = oracle.bfs(*oracle.two_phase_successors(rms))
        r = run("two-phase", rms, symmetry=False)
        assert (r.verdict, r.distinct_states, r.states_generated, r.depth) == (
            "ok", distinct, generated, depth)
        assert run("two-phase", rms, symmetry=True).verdict == "ok"


def test_coverage_of_two_phase():
    r = run("two-phase", 3, symmetry=False)
    assert set(r.coverage) == {"tm_commit", "tm_abort", "tm_rcv_prepared", "rm_prepare",
                               "rm_choose_to_abort", "rm_rcv_commit_msg", "rm_rcv_abort_msg"}
    assert sum(c["fired"] for c in r.coverage.values()) == r.states_generated - 1
    assert sum(c["new"] for c in r.coverage.values()) == r.distinct_states - 1
    assert r.coverage["tm_commit"] == {"fired": 1, "new": 1}


@pytest.mark.parametrize("symmetry", [False, True])
@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
def test_eager_commit_breaks_tc_consistent(strategy, symmetry):
    r = run("two-phase-eager", 3, properties=["tc_consistent"], strategy=strategy,
            symmetry=symmetry)
    v = r.violation
    assert (r.verdict, v.property, v.kind) == ("violated", "tc_consistent", "invariant")
    last = v.trace.steps[-1].state["rm_state"]
    assert "committed" in last and "aborted" in last
    assert any(s.action == "tm_commit" for s in v.trace.steps)
    if strategy == "bfs":
        # The shortest: prepare, receive, commit, another RM aborts, the first one commits.
        assert len(v.trace.steps) - 1 == 5
        assert v.trace.steps[3].state["tm_prepared"] == [0]


def test_eager_commit_is_not_a_tcommit_step():
    """All properties: the refinement breaks first, when an RM commits before all prepared."""
    r = run("two-phase", 3)
    assert r.verdict == "ok"
    r = run("two-phase-eager", 3, symmetry=False)
    v = r.violation
    assert (v.property, v.kind) == ("refines_tcommit", "refinement")
    assert [s.action for s in v.trace.steps] == [
        None, "rm_prepare", "tm_rcv_prepared", "tm_commit", "rm_rcv_commit_msg"]
    assert v.trace.steps[-1].state["rm_state"] == ["committed", "working", "working"]


@pytest.mark.parametrize("symmetry", [False, True])
def test_symmetry_on_and_off_agree_on_verdicts(symmetry):
    for name in ("tcommit", "two-phase", "two-phase-eager"):
        assert run(name, 4, symmetry=symmetry).verdict == run(name, 4, symmetry=False).verdict


def test_a_tm_that_never_commits_is_caught_by_commit_possible():
    model = load_model(fixture_model("NeverCommits"))(rms=3)
    r = check(model)
    assert (r.verdict, r.violation.property, r.violation.kind) == (
        "violated", "commit_possible", "sometimes")
    assert r.violation.trace is None
    # ... while tc_consistent holds, vacuously.
    assert check(model, properties=["tc_consistent"]).verdict == "ok"

"""Two-phase commit with data, locks and crashes, and the article's coordinator and participants."""

import pytest

from kripke.checkers.explicit import check
from kripke.models.commit_2pc import Commit2PC, Commit2PCArticle
from kripke.models.system import load_model
from kripke.traces.trace import replay


@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
def test_2pc_commits_atomically_and_loses_no_write(strategy):
    r = check(Commit2PC(), strategy=strategy)
    assert (r.verdict, r.distinct_states, r.states_generated) == ("ok", 5800, 23993)
    assert r.properties == ["type_ok", "atomic_commit", "no_lost_committed_write",
                            "termination_possible", "commit_possible", "abort_possible"]


def test_2pc_blocks_when_the_coordinator_is_down_after_prepare():
    """The blocking problem: expected to fail, so only checked when asked for."""
    r = check(Commit2PC(), properties=["participant_blocked"])
    steps = r.violation.trace.steps
    assert [s.action for s in steps[1:]] == ["begin", "prepare", "crash_coordinator"]
    assert steps[-1].state["outcome"][0][0] == "prepared"


def test_atomic_commit_is_checked_on_tcommit_and_two_phase_too():
    assert check(load_model("tcommit")(), properties=["atomic_commit"]).verdict == "ok"
    assert check(load_model("two-phase")(), properties=["atomic_commit"]).verdict == "ok"
    r = check(load_model("two-phase-eager")(), properties=["atomic_commit"], symmetry=False)
    assert (r.violation.property, len(r.violation.trace.steps) - 1) == ("atomic_commit", 5)


def test_the_article_reports_a_commit_a_crashed_participant_never_applied():
    r = check(Commit2PCArticle(), properties=["atomic_commit"])
    steps = r.violation.trace.steps
    assert [s.action for s in steps[1:]] == [
        "begin", "prepare", "prepare", "decide_commit", "send_decision", "crash_participant",
        "report"]
    last = steps[-1].state
    assert last["reported"][0] == "committed" and last["outcome"][1][0] == "lost"
    assert last["data"] == [[1], [0]]  # applied at participant 0 only
    assert replay(r.violation.trace).ok


def test_the_articles_abort_undoes_another_transactions_commit():
    r = check(Commit2PCArticle(), properties=["no_lost_committed_write"])
    steps = r.violation.trace.steps
    assert len(steps) - 1 == 9
    assert steps[-2].state["data"][0] == [1] and steps[-1].state["data"][0] == [0]
    assert steps[-1].action == "send_decision" and steps[-1].args == {"t": 1, "p": 0}
    assert steps[-1].state["last_commit"][0] == [0]  # transaction 0 committed there
    assert replay(r.violation.trace).ok


@pytest.mark.parametrize("prop", ["type_ok", "commit_possible", "abort_possible"])
def test_what_the_article_gets_right(prop):
    assert check(Commit2PCArticle(), properties=[prop]).verdict == "ok"


@pytest.mark.parametrize("name,params,prop,kind,length", [
    ("NeverCommits", {}, "commit_possible", "sometimes", 0),
    ("NeverAborts", {"txs": 1}, "abort_possible", "sometimes", 0),
    ("SkippedTransaction", {}, "type_ok", "type", 1),
])
def test_every_property_can_fail(name, params, prop, kind, length):
    model = load_model(f"tests/fixtures/commit_broken.py:{name}")(**params)
    r = check(model, properties=[prop])
    v = r.violation
    assert (v.property, v.kind) == (prop, kind)
    assert (len(v.trace.steps) - 1 if v.trace else 0) == length


def test_ac5_every_transaction_can_still_be_decided():
    assert check(Commit2PC(), properties=["termination_possible"]).verdict == "ok"
    r = check(Commit2PCArticle(), properties=["termination_possible"])
    v = r.violation
    assert (v.kind, [s.action for s in v.trace.steps[1:]]) == (
        "always_possible", ["begin", "crash_coordinator"])
    assert replay(v.trace).ok

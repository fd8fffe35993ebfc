"""The explicit-state engine on models whose counts are derived by hand (models/toys.py)."""

import pytest

from kripke.checkers.explicit import check
from kripke.models.system import load_model


def run(name, strategy="bfs", symmetry=None, **params):
    opts = {k: params.pop(k) for k in ("properties", "max_states", "max_depth", "deadlock")
            if k in params}
    return check(load_model(name)(**params), strategy=strategy, symmetry=symmetry, **opts)


def counts(r):
    return r.verdict, r.distinct_states, r.states_generated, r.depth


@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
@pytest.mark.parametrize("n", [0, 1, 5, 20])
def test_counter_hand_count(strategy, n):
    assert counts(run("toy-counter", strategy, n=n)) == ("ok", n + 1, n + 1, n + 1)


@pytest.mark.parametrize("n", [0, 1, 3, 7])
def test_grid_hand_count_bfs_and_dfs_agree(n):
    bfs, dfs = run("toy-grid", "bfs", n=n), run("toy-grid", "dfs", n=n)
    assert counts(bfs) == ("ok", (n + 1) ** 2, 1 + 2 * n * (n + 1), 2 * n + 1)
    assert (dfs.verdict, dfs.distinct_states, dfs.states_generated) == counts(bfs)[:3]
    assert bfs.coverage["inc_x"]["fired"] == bfs.coverage["inc_y"]["fired"] == n * (n + 1)
    assert sum(c["new"] for c in bfs.coverage.values()) == (n + 1) ** 2 - 1


@pytest.mark.parametrize("procs", [1, 2, 4, 6])
def test_bits_hand_count_with_and_without_symmetry(procs):
    plain = run("toy-bits", symmetry=False, procs=procs)
    reduced = run("toy-bits", symmetry=True, procs=procs)
    assert counts(plain) == ("ok", 2 ** procs, 1 + procs * 2 ** (procs - 1), procs + 1)
    assert counts(reduced) == ("ok", procs + 1, 1 + procs * (procs + 1) // 2, procs + 1)
    assert reduced.symmetry and not plain.symmetry


def test_symmetry_is_on_by_default_when_declared():
    assert run("toy-bits").symmetry is True
    assert run("toy-grid").symmetry is False


def test_action_with_several_outcomes():
    r = run("toy-branch")
    assert counts(r) == ("ok", 3, 3, 2)
    assert r.coverage == {"choose": {"fired": 2, "new": 2}}


def test_invariant_violation_has_the_shortest_trace():
    r = run("toy-counter", n=10, limit=4)
    assert r.verdict == "violated"
    v = r.violation
    assert (v.property, v.kind) == ("below_limit", "invariant")
    assert [s.state["x"] for s in v.trace.steps] == [0, 1, 2, 3, 4]
    assert [s.action for s in v.trace.steps] == [None, "inc", "inc", "inc", "inc"]


def test_deadlock_is_found_and_can_be_switched_off():
    r = run("toy-stuck-counter", n=3)
    assert (r.verdict, r.violation.kind, len(r.violation.trace.steps) - 1) == (
        "violated", "deadlock", 3)
    assert r.violation.trace.steps[-1].state == {"x": 3}
    assert run("toy-stuck-counter", n=3, deadlock=False).verdict == "ok"


def test_exception_in_an_action_is_a_finding_with_its_trace():
    r = run("toy-raises", crash_at=2)
    v = r.violation
    assert (r.verdict, v.kind, v.property) == ("violated", "exception", "exception")
    steps = v.trace.steps
    assert [s.state for s in steps[:-1]] == [{"x": 0}, {"x": 1}, {"x": 2}]
    assert steps[-1].action == "step" and steps[-1].state is None
    assert steps[-1].error == "ZeroDivisionError: integer division or modulo by zero"


@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
def test_max_states_bound_is_incomplete(strategy):
    r = run("toy-grid", strategy, n=5, max_states=10)
    assert (r.verdict, r.distinct_states, r.bound) == ("incomplete", 10, "max_states=10")


def test_max_depth_bound_is_incomplete():
    r = run("toy-counter", n=10, max_depth=4)
    assert (r.verdict, r.distinct_states, r.depth, r.bound) == ("incomplete", 4, 4, "max_depth=4")
    # A bound the search never reaches leaves the verdict complete.
    assert run("toy-counter", n=3, max_depth=4).verdict == "ok"


def test_sometimes_property_guards_against_vacuity():
    r = run("toy-counter", n=3, properties=["reaches_n"])
    assert r.verdict == "ok"
    # With n=3 and max_depth 3, x=3 is never reached, and the search is incomplete:
    # an unwitnessed sometimes-property is not reported as a violation then.
    assert run("toy-counter", n=3, max_depth=3, properties=["reaches_n"]).verdict == "incomplete"


def test_counts_are_identical_on_every_run():
    first = [counts(run("toy-bits", procs=5, symmetry=s)) for s in (True, False)]
    again = [counts(run("toy-bits", procs=5, symmetry=s)) for s in (True, False)]
    assert first == again


def test_a_property_that_raises_is_a_finding_not_a_crash():
    from tests.conftest import fixture_model
    r = check(load_model(fixture_model("PropertyRaises"))())
    v = r.violation
    assert (r.verdict, v.kind, v.property) == ("violated", "exception", "divides")
    # The trace ends at the state the invariant raised on (x = 2), not at its parent.
    assert [s.state for s in v.trace.steps] == [{"x": 0}, {"x": 1}, {"x": 2}]
    assert v.trace.steps[-1].error.startswith("ZeroDivisionError")


def test_always_possible_is_checked_backwards_over_the_whole_graph():
    from tests.conftest import fixture_model
    from kripke.traces.trace import replay
    r = check(load_model(fixture_model("OneWay"))())
    v = r.violation
    assert (v.property, v.kind, [s.state["x"] for s in v.trace.steps]) == (
        "back_home", "always_possible", [0, 2])
    assert replay(v.trace).ok
    # Incomplete searches cannot decide it.
    assert check(load_model(fixture_model("OneWay"))(), max_states=2).verdict == "incomplete"

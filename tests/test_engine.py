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


# -- one search, every violation (keep_going: TLC's -continue) ----------------------------------
def long_runs(name, **params):
    return load_model(f"tests/fixtures/long_runs.py:{name}")(**params)


def found(r):
    """(property, kind, trace length) of every violation, in the order found."""
    return [(v.property, v.kind, None if v.trace is None else len(v.trace.steps) - 1)
            for v in r.violations]


def test_keep_going_reports_every_violation_once_in_the_order_found():
    from kripke.traces.trace import replay
    first = check(long_runs("TwoFaults"))
    assert counts(first) == ("violated", 2, 4, 2)
    assert found(first) == [("small_steps", "step", 2)] and first.violation is first.violations[0]
    r = check(long_runs("TwoFaults"), keep_going=True)
    assert counts(r) == ("violated", 6, 7, 4)  # the whole state space (hand count)
    assert found(r) == [("small_steps", "step", 2), ("not_two", "invariant", 2),
                        ("not_three", "invariant", 3), ("reaches_a_million", "sometimes", None)]
    assert r.violation == first.violation
    assert all(replay(v.trace).ok for v in r.violations if v.trace is not None)


@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
def test_keep_going_finds_each_protocol_violation_as_its_own_search_does(strategy):
    """two-phase-eager: each violation found in one search is the one a search for that property
    alone finds (BFS: the shortest), and the search covers the whole state space."""
    model = load_model("two-phase-eager")(rms=3)
    r = check(model, keep_going=True, strategy=strategy, symmetry=False)
    whole = check(model, properties=["type_ok"], strategy=strategy, symmetry=False)
    assert (r.distinct_states, r.states_generated) == (whole.distinct_states,
                                                       whole.states_generated)
    assert [v.property for v in r.violations] == ["refines_tcommit", "tc_consistent",
                                                  "atomic_commit"]
    for v in r.violations:
        alone = check(model, properties=[v.property], strategy=strategy, symmetry=False)
        assert (v.kind, v.trace.steps, v.message) == (alone.violation.kind,
                                                      alone.violation.trace.steps,
                                                      alone.violation.message)


def test_keep_going_skips_states_outside_their_types():
    """Overflow counts without end; its out-of-type successor (x = 4) is reported once and not
    stored, so the search ends (4 states) rather than running forever."""
    r = check(long_runs("Overflow"), keep_going=True)
    assert counts(r) == ("violated", 4, 5, 4)
    assert found(r) == [("not_two", "invariant", 2), ("type_ok", "type", 4)]
    assert r.violations[1].message == ("step 4 inc() sets x to 4 (int), outside its declared "
                                       "type 0..3")


def test_keep_going_does_not_expand_a_state_an_action_raises_on():
    r = run("toy-raises", crash_at=2)
    k = check(load_model("toy-raises")(crash_at=2), keep_going=True)
    assert found(k) == found(r) == [("exception", "exception", 3)]
    assert k.violation.trace.steps == r.violation.trace.steps
    assert counts(k) == ("violated", 3, 3, 3)  # x = 0, 1, 2; x = 2 raises


def test_keep_going_after_a_property_raises_checks_the_rest():
    from tests.conftest import fixture_model
    r = check(load_model(fixture_model("PropertyRaises"))(), keep_going=True)
    assert found(r)[0] == ("divides", "exception", 2)
    assert r.violations[0].trace.steps[-1].error.startswith("ZeroDivisionError")


# -- the state constraint within() -----------------------------------------------------------------
def test_within_bounds_an_infinite_model():
    r = check(long_runs("Unbounded", bound=3))
    assert counts(r) == ("ok", 4, 5, 4) and r.outside_constraint == 1
    assert counts(check(long_runs("Unbounded", bound=3), strategy="dfs")) == ("ok", 4, 5, 4)


def test_invariants_are_checked_on_states_outside_the_constraint_as_tlc_does():
    """x = 4 is outside the constraint (not stored), yet its invariant is checked: the
    violation's trace ends there and replays."""
    from kripke.traces.trace import replay
    for keep_going in (False, True):
        r = check(long_runs("Unbounded", bound=3, forbidden=4), keep_going=keep_going)
        assert counts(r) == ("violated", 4, 5, 4) and r.outside_constraint == 1
        assert found(r) == [("not_at_forbidden", "invariant", 4)]
        assert [s.state["x"] for s in r.violation.trace.steps] == [0, 1, 2, 3, 4]
        assert replay(r.violation.trace).ok


def test_a_sometimes_property_is_witnessed_outside_the_constraint():
    """leaves_the_constraint holds only at x = bound + 1, outside the constraint: a reachable
    state all the same, so it is witnessed; under a depth bound that stops short of it, not."""
    assert check(long_runs("Unbounded", bound=3), properties=["leaves_the_constraint"]).verdict \
        == "ok"
    r = check(long_runs("Unbounded", bound=3), max_depth=4, properties=["leaves_the_constraint"])
    assert (r.verdict, r.bound, r.outside_constraint) == ("incomplete", "max_depth=4", 0)


def test_within_with_symmetry_counts_orbits_and_an_asymmetric_constraint_turns_it_off():
    plain = check(long_runs("Counters"), symmetry=False)
    reduced = check(long_runs("Counters"))
    assert counts(plain) == ("ok", 27, 82, 7) and plain.outside_constraint == 27
    assert counts(reduced) == ("ok", 10, 31, 7) and reduced.outside_constraint == 10
    assert reduced.symmetry
    r = check(long_runs("CountersFirstBounded"))
    assert (r.symmetry, counts(r), r.outside_constraint) == (False, ("ok", 48, 145, 9), 40)
    assert r.symmetry_note.startswith("symmetry off: within() is not symmetric under PROC")


# -- long runs: bounds, time limit, Ctrl-C -----------------------------------------------------------
@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
@pytest.mark.parametrize("keep_going", [False, True])
def test_max_states_stores_at_most_n_states(strategy, keep_going):
    for n in range(1, 18):
        r = check(load_model("toy-grid")(n=3), strategy=strategy, max_states=n,
                  keep_going=keep_going)
        assert r.distinct_states == min(n, 16)
        assert (r.verdict, r.bound) == (("incomplete", f"max_states={n}") if n < 16
                                        else ("ok", None))
    # States outside the constraint are not stored: they do not count against the bound.
    r = check(long_runs("Unbounded", bound=3), max_states=4)
    assert (r.verdict, r.distinct_states, r.outside_constraint) == ("ok", 4, 1)


@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
def test_time_limit_stops_bfs_and_dfs_as_incomplete(strategy):
    model = load_model("two-phase")(rms=7)
    r = check(model, strategy=strategy, symmetry=False, time_limit=0.3)
    assert (r.verdict, r.bound) == ("incomplete", "time_limit=0.3")
    assert 0 < r.distinct_states < 296_448 and r.elapsed_s < 5
    assert check(load_model("toy-counter")(), time_limit=60).verdict == "ok"


def test_ctrl_c_ends_the_search_with_the_counts_so_far():
    """A KeyboardInterrupt raised anywhere in the search (here by an invariant, on its 500th
    call) ends it with the verdict interrupted and the counts so far."""
    from kripke.specs.properties import invariant
    calls = []

    @invariant
    def interrupted_by_the_user(model, s):
        calls.append(s)
        if len(calls) == 500:
            raise KeyboardInterrupt
        return True

    model = load_model("two-phase")(rms=5)
    model.properties = (interrupted_by_the_user,)  # this instance's only property
    r = check(model, symmetry=False)
    assert r.verdict == "interrupted" and r.bound is None and r.violation is None
    assert 0 < r.distinct_states < 8_832 and r.states_generated >= r.distinct_states


def test_bounds_below_one_are_bad_input():
    from kripke.errors import ParamError
    for bad in ({"max_states": 0}, {"max_depth": -1}, {"max_states": 2.5}, {"time_limit": -1}):
        with pytest.raises(ParamError):
            check(load_model("toy-counter")(), **bad)

"""Is symmetry sound for a model and its properties (checkers/symmetry_check.py, issue 9 item 3)?

Pinned: issue 9's two examples (an invariant about RMs 0 and 2 of two-phase; an action that fires
only for RM 1 of a two-RM model) and one asymmetry of each other kind are reported in one line
with a witness; every built-in model with a symmetric domain passes with its default properties;
the probe the engine runs on each new state catches issue 9's invariant on the states a
symmetric search explores; the strategies draw only well-typed states on every built-in model;
and the check runs inside a pytest test and inside another Hypothesis test.
"""

import math
import os
import subprocess
import sys
from collections import deque

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kripke.checkers.symmetry_check as symmetry_check
from kripke.errors import DefinitionError
from kripke.checkers.explicit import select_properties
from kripke.checkers.symmetry_check import (TranspositionProbe, state_strategy, strategy,
                                     symmetry_problem)
from kripke.models.symmetry import Canonicalizer
from kripke.models.system import load_model, registry
from kripke.models.toys import Ping
from kripke.models.types import Bag, Type
from tests.conftest import ROOT
from tests.fixtures import asymmetric

#: every built-in model that declares a symmetric domain
SYMMETRIC = sorted(name for name, cls in registry().items()
                   if cls.variables is not None and cls().symmetric_domain() is not None)


def problem(model, extra=(), **options):
    """``symmetry_problem`` of ``model`` with its default properties and ``extra`` ones."""
    props = select_properties(model, None) + list(extra)
    return symmetry_problem(model, model.symmetric_domain(), props, **options)


# -- issue 9's two examples ------------------------------------------------------------------------
ISSUE_A = ("invariant not_aborted_while_working is not symmetric under RM: it does not hold in "
           "State(rm_state=('working', 'working', 'aborted'), tm_state='init', "
           "tm_prepared=frozenset(), msgs=frozenset()) but holds in "
           "State(rm_state=('aborted', 'working', 'working'), tm_state='init', "
           "tm_prepared=frozenset(), msgs=frozenset()) (renaming RM 0->1, 1->2, 2->0)")

ISSUE_B = ("action boom is not symmetric under RM: it leads from State(flag=(0, 1), boomed=False) "
           "to State(flag=(0, 1), boomed=True) but not from State(flag=(1, 0), boomed=False) to "
           "State(flag=(1, 0), boomed=True) (renaming RM 0->1, 1->0)")


def test_an_invariant_about_rm0_and_rm2_is_not_symmetric():
    """(a): violated in 1 step without symmetry, OK (80 orbits) with it."""
    model = load_model("two-phase")(rms=3)
    assert problem(model, [asymmetric.not_aborted_while_working]) == ISSUE_A
    assert problem(asymmetric.TwoPhaseWatchingRm0()) == ISSUE_A


def test_an_action_that_fires_for_rm1_only_is_not_symmetric():
    """(b): boom needs flag[1] == 1 and flag[0] == 0."""
    assert problem(asymmetric.FlagBoom()) == ISSUE_B
    assert problem(asymmetric.FlagBoom(n=3)) == (
        "action boom is not symmetric under RM: it leads from State(flag=(0, 1, 0), "
        "boomed=False) to State(flag=(0, 1, 0), boomed=True) but not from State(flag=(0, 0, 1), "
        "boomed=False) to State(flag=(0, 0, 1), boomed=True) (renaming RM 0->1, 1->2, 2->0)")


# -- one asymmetry of each other kind --------------------------------------------------------------
def test_asymmetric_initial_states():
    assert problem(asymmetric.FlagBoomFirstUp()) == (
        "the initial states are not symmetric under RM: State(flag=(1, 0), boomed=False) is "
        "initial but State(flag=(0, 1), boomed=False) is not (renaming RM 0->1, 1->0)")


KINDS = [
    (asymmetric.first_up_alone,
     "sometimes first_up_alone is not symmetric under RM: it does not hold in "
     "State(flag=(0, 1), boomed=False) but holds in State(flag=(1, 0), boomed=False) "
     "(renaming RM 0->1, 1->0)"),
    (asymmetric.first_up,
     "always_possible first_up is not symmetric under RM: it does not hold in "
     "State(flag=(0, 1), boomed=False) but holds in State(flag=(1, 0), boomed=False) "
     "(renaming RM 0->1, 1->0)"),
    (asymmetric.first_raised_last,
     "step first_raised_last is not symmetric under RM: it holds of the step "
     "State(flag=(0, 0), boomed=False) -> State(flag=(0, 1), boomed=False) but does not hold "
     "of State(flag=(0, 0), boomed=False) -> State(flag=(1, 0), boomed=False) "
     "(renaming RM 0->1, 1->0)"),
]


@pytest.mark.parametrize("prop, expected", KINDS, ids=[p.kind for p, _ in KINDS])
def test_asymmetric_property_of_each_kind(prop, expected):
    model = asymmetric.FlagsTerminal()  # symmetric actions; terminal() is left out below
    assert symmetry_problem(model, model.symmetric_domain(), [prop], deadlock=False) == expected


REFINEMENT_RM0 = (
    "refinement refines_tcommit_rm0 is not symmetric under RM: it does not hold of the step "
    "State(rm_state=('working', 'working', 'working'), tm_state='init', "
    "tm_prepared=frozenset(), msgs=frozenset({Commit()})) -> "
    "State(rm_state=('committed', 'working', 'working'), tm_state='init', "
    "tm_prepared=frozenset(), msgs=frozenset({Commit()})) but holds of "
    "State(rm_state=('working', 'working', 'working'), tm_state='init', "
    "tm_prepared=frozenset(), msgs=frozenset({Commit()})) -> "
    "State(rm_state=('working', 'committed', 'working'), tm_state='init', "
    "tm_prepared=frozenset(), msgs=frozenset({Commit()})) (renaming RM 0->1, 1->2, 2->0)")


def test_asymmetric_refinement_mapping():
    """Several successors fail; the witness is the least one, whatever the process."""
    model = load_model("two-phase")(rms=3)
    assert symmetry_problem(model, model.symmetric_domain(),
                            [asymmetric.refines_tcommit_rm0]) == REFINEMENT_RM0


def test_a_refinements_initial_condition_is_compared_on_the_initial_states():
    class OneAbortedAtStart(asymmetric.TwoPhase):
        """Starts with any one RM aborted: a set of initial states closed under renaming, which
        the refinement watching RM 0 alone maps to a TCommit initial state for some of them."""

        def init(self):
            for rm in range(self.rms):
                yield self.State(rm_state=tuple("aborted" if k == rm else "working"
                                                for k in range(self.rms)),
                                 tm_state="init", tm_prepared=frozenset(), msgs=frozenset())

    model = OneAbortedAtStart(rms=3)
    assert symmetry_problem(model, model.symmetric_domain(), [asymmetric.refines_tcommit_rm0],
                            examples=0) == (
        "refinement refines_tcommit_rm0's initial condition is not symmetric under RM: it does "
        "not hold in State(rm_state=('aborted', 'working', 'working'), tm_state='init', "
        "tm_prepared=frozenset(), msgs=frozenset()) but holds in "
        "State(rm_state=('working', 'aborted', 'working'), tm_state='init', "
        "tm_prepared=frozenset(), msgs=frozenset()) (renaming RM 0->1, 1->0)")


def test_terminal_is_checked_only_with_deadlock_checking():
    model = asymmetric.FlagsTerminal()
    assert problem(model) == (
        "terminal() is not symmetric under RM: it does not hold in State(flag=(0, 1), "
        "boomed=False) but holds in State(flag=(1, 0), boomed=False) (renaming RM 0->1, 1->0)")
    assert problem(model, deadlock=False) is None


def test_raising_on_a_state_and_on_its_renaming_is_symmetric():
    """Random states are often unreachable and a model may raise on them: both sides raising is
    no asymmetry; one side raising is."""
    assert problem(asymmetric.RaisesSymmetrically()) is None
    assert problem(asymmetric.RaisesOnRm0()) == (
        "action audit is not symmetric under RM: it raises ValueError: boomed with RM 0's flag "
        "down in State(flag=(0, 1), boomed=True) but not in State(flag=(1, 0), boomed=True) "
        "(renaming RM 0->1, 1->0)")


# -- the built-in models --------------------------------------------------------------------------
@pytest.mark.parametrize("name", SYMMETRIC)
def test_built_in_symmetric_models_are_symmetric(name):
    assert problem(load_model(name)()) is None


def test_every_symmetric_built_in_is_covered():
    assert SYMMETRIC == [
        "bulkhead", "bulkhead-article", "circuit-breaker", "circuit-breaker-article", "paxos",
        "paxos-ignore-1b", "raft", "raft-article", "tcommit", "toy-bits", "two-phase",
        "two-phase-eager", "vector-clock"]


def test_nothing_to_check_with_fewer_than_two_ids():
    assert problem(load_model("toy-bits")(procs=1)) is None
    assert problem(load_model("two-phase")(rms=1), [asymmetric.not_aborted_while_working]) \
        is None


def test_untyped_models_are_refused():
    model = load_model("tests/fixtures/models.py:Untyped")()
    with pytest.raises(DefinitionError, match="typed variables"):
        symmetry_problem(model, asymmetric.RM, [])


# -- Hypothesis: in-process, shrinking, nesting -------------------------------------------------
def test_runs_inside_another_hypothesis_test():
    runs = []

    @settings(max_examples=3, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.integers(0, 10))
    def outer(k):
        runs.append(k)
        assert problem(asymmetric.FlagBoom(), examples=20) == ISSUE_B
        assert problem(load_model("two-phase")(), examples=20) is None

    outer()
    assert len(runs) == 3


@pytest.mark.parametrize("budget", ["SHRINK_EXAMPLES", "SHRINK_SECONDS"])
def test_a_witness_found_when_shrinking_has_had_its_turn(monkeypatch, budget):
    """With no examples or time left to shrink, the last replay passes (Hypothesis calls that
    flaky) and the first witness found is returned, unshrunk but still a witness."""
    monkeypatch.setattr(symmetry_check, budget, 0)
    found = problem(asymmetric.FlagBoom())
    assert found.startswith("action boom is not symmetric under RM: it leads from State(flag=(0, "
                            "1), boomed=False) to State(flag=(0, 1), boomed=True) but not from "
                            "State(flag=(1, 0), boomed=False)")


def test_a_model_that_is_not_a_function_of_its_state_gives_a_reason():
    assert problem(asymmetric.FlagBoomFlaky()).startswith(
        "action boom is not symmetric under RM: it leads from State(flag=")


@pytest.mark.parametrize("hash_seed", ["1", "2"])
def test_the_verdict_does_not_depend_on_the_process(hash_seed):
    """Strings hash with a per-process seed, and a Bag is ordered by hash; the examples depend
    only on the model (derandomize), so another process gives the same lines."""
    code = ("from kripke.models.system import load_model\n"
            "from tests.test_symmetry_check import problem\n"
            "from tests.fixtures.asymmetric import TwoPhaseWatchingRm0, refines_tcommit_rm0\n"
            "print(problem(TwoPhaseWatchingRm0()))\n"
            "print(problem(load_model('two-phase')(), [refines_tcommit_rm0]))\n"
            "print(problem(load_model('vector-clock')()))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONHASHSEED": hash_seed}, check=True).stdout
    assert out.splitlines() == [ISSUE_A, REFINEMENT_RM0, "None"]


# -- the probe during the search -------------------------------------------------------------------
def symmetric_search(model, probe):
    """The new states of a breadth-first search under symmetry, as the engine meets them (the
    successors of the explored states whose orbit is new); the probe's first reason, or None."""
    canon = Canonicalizer(model, model.symmetric_domain())
    seen, frontier = set(), deque()

    def new(t):
        c = canon(t)
        if c in seen:
            return None
        seen.add(c)
        frontier.append(t)
        return probe(t)

    for s in model.init():
        found = new(s)
        if found:
            return found
    while frontier:
        for _, _, t in model.successors(frontier.popleft()):
            found = new(t)
            if found:
                return found
    return None


def probe_for(model, **options):
    props = select_properties(model, None)
    canon = Canonicalizer(model, model.symmetric_domain())
    return TranspositionProbe(model, canon, props, **options)


def test_probe_catches_issue_a_on_a_reachable_state():
    model = asymmetric.TwoPhaseWatchingRm0()
    probe = probe_for(model, swap_only=True)
    s = model.State(rm_state=("aborted", "working", "aborted"), tm_state="init",
                    tm_prepared=frozenset(), msgs=frozenset())
    assert probe(s) == (
        "invariant not_aborted_while_working is not symmetric under RM: it holds in "
        "State(rm_state=('aborted', 'working', 'aborted'), tm_state='init', "
        "tm_prepared=frozenset(), msgs=frozenset()) but does not hold in "
        "State(rm_state=('working', 'aborted', 'aborted'), tm_state='init', "
        "tm_prepared=frozenset(), msgs=frozenset()) (renaming RM 0->1, 1->0)")


def test_probe_catches_issue_a_during_a_symmetric_search():
    found = symmetric_search(asymmetric.TwoPhaseWatchingRm0(),
                             probe_for(asymmetric.TwoPhaseWatchingRm0()))
    assert found.startswith("invariant not_aborted_while_working is not symmetric under RM: ")


def test_probe_compares_successors_every_nth_state():
    model = asymmetric.FlagBoom()
    probe = probe_for(model, every=2)
    up = model.State(flag=(0, 1), boomed=False)
    assert probe(up) == ISSUE_B  # the first state probed: its successors are compared
    assert probe(up) is None     # the second: only its properties
    assert probe(up) == ISSUE_B
    assert (probe.calls, probe.compared, probe.expanded) == (3, 3, 2)
    assert symmetric_search(model, probe_for(model, every=1)) == ISSUE_B


@pytest.mark.parametrize("name, params", [
    ("two-phase", {"rms": 4}), ("tcommit", {}), ("toy-bits", {}), ("circuit-breaker", {}),
    ("circuit-breaker-article", {}), ("bulkhead", {}), ("paxos", {}), ("vector-clock", {}),
    ("raft", {"max_term": 1}),
])
def test_probe_is_quiet_on_built_in_models(name, params):
    model = load_model(name)(**params)
    probe = probe_for(model, every=4)
    assert symmetric_search(model, probe) is None
    assert probe.expanded > 0


@pytest.mark.parametrize("model", [
    load_model("two-phase")(rms=3), load_model("paxos")(), load_model("vector-clock")(),
    load_model("raft")(servers=3, max_term=1), load_model("raft")(servers=2, max_msgs=2),
    asymmetric.TwoPhaseWatchingRm0(), asymmetric.FlagBoom(), asymmetric.FlagsTerminal(),
    asymmetric.RaisesSymmetrically(), asymmetric.RaisesOnRm0(),
], ids=lambda m: type(m).__name__)
def test_the_probes_first_pass_in_c_agrees_with_the_comparison(model):
    """kripke._speedups.probe_states finds a difference exactly where the Python comparison
    does; probe_steps finds none only where the comparison finds none (it leaves what raises to
    it), on every reachable state and each of its renamings."""
    import itertools
    from kripke.common import speedups
    c = speedups()
    if c is None:
        pytest.skip("the C extension is not built")
    probe = probe_for(model)
    states = reachable(model)
    if "boomed" in model.State._fields:  # the flag toys: every state, reachable or not
        states |= {model.State(flag=f, boomed=b) for b in (False, True)
                   for f in itertools.product((0, 1), repeat=probe.n)}
    compare, states = probe._compare, sorted(states, key=repr)[:400]
    perms = [p for p in itertools.permutations(range(probe.n)) if list(p) != sorted(p)]
    nothing_known = (False,) * len(probe._state_fns)
    differ = 0
    for t in states:
        for perm in perms:
            pt = probe._permute(t, perm)
            reason = compare.states(t, [(perm, pt)])
            assert (c.probe_states(t, pt, probe._state_fns, nothing_known) >= 0) == \
                (reason is not None), (t, perm)
            steps = compare.steps(t, [(perm, pt)])
            if c.probe_steps(probe._calls, probe._desc, perm, t, pt, probe._step_fns):
                assert steps is None, (t, perm)
            differ += reason is not None or steps is not None
    assert (differ > 0) == (type(model).__module__ == asymmetric.__name__
                            and type(model) is not asymmetric.RaisesSymmetrically)


def reachable(model):
    seen, todo = set(model.init()), list(model.init())
    while todo:
        for _, _, t in model.successors(todo.pop()):
            if t not in seen:
                seen.add(t)
                todo.append(t)
    return seen


def test_probe_does_nothing_with_one_id():
    model = load_model("toy-bits")(procs=1)
    probe = probe_for(model, every=1)
    assert symmetric_search(model, probe) is None


# -- the strategies --------------------------------------------------------------------------------
TYPED = sorted((name, {}) for name, cls in registry().items() if cls.variables is not None)
# FIFO channels order a Bag by channel (src, dst) instead of by hash.
TYPED += [("toy-pingpong", {"ordered": True}), ("raft", {"ordered": True}),
          ("vector-clock", {"ordered": True})]


@pytest.mark.parametrize("name, params", TYPED, ids=[f"{n}{'-fifo' if p else ''}"
                                                      for n, p in TYPED])
def test_strategies_draw_only_well_typed_states(name, params):
    model = load_model(name)(**params)
    drawn = set()

    @settings(max_examples=60, database=None, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(state_strategy(model))
    def well_typed(s):
        assert type(s) is model.State
        assert model.type_ok(s) is None, (model.type_ok(s), s)
        drawn.add(s)

    well_typed()
    universes = [t.universe(model) for t in model._types.values()]
    size = math.prod(map(len, universes)) if None not in universes else math.inf
    assert len(drawn) >= min(10, size)  # not one state over and over


def test_a_fifo_bag_is_drawn_in_channel_order():
    model = load_model("toy-pingpong")(pings=3)
    bag = Bag(Ping, 4, fifo=True)
    ok = bag.checker(model)

    @settings(max_examples=80, database=None, derandomize=True, deadline=None)
    @given(strategy(bag, model))
    def ordered(v):
        assert ok(v)
        assert [(m.src, m.dst) for m in v] == sorted((m.src, m.dst) for m in v)

    ordered()


class Opaque(Type):
    """A type kripke has no strategy for: any value, no universe."""

    def checker(self, model):
        return lambda v: True


def test_a_type_without_strategy_makes_symmetry_untestable():
    with pytest.raises(DefinitionError, match="no strategy for the type"):
        strategy(Opaque(), load_model("two-phase")())

    class TwoPhaseWithOpaque(asymmetric.TwoPhase):
        variables = {**asymmetric.TwoPhase.variables, "note": Opaque()}

        def init(self):
            yield self.State(rm_state=("working",) * self.rms, tm_state="init",
                             tm_prepared=frozenset(), msgs=frozenset(), note=None)

    model = TwoPhaseWithOpaque()
    assert problem(model).startswith("symmetry under RM cannot be tested: no strategy for the "
                                     "type ")

"""Proofs for every size (issue 12, item 4): checkers/parametric.py.

TwoPhase's tc_consistent proved for every number of RMs from the model's own traced actions, the
broken TM refuted with a decoded counterexample, the encoding compared with the explicit engine
at 1..3 RMs; the vector-clock laws for every dimension; the article's jitter bound refuted with
its exact worst case.
"""

from fractions import Fraction

import pytest
import z3
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from kripke.checkers.parametric import (Finite, ParametricModel, SClock, TraceError, clock_ops,
                                        cross_check, prove_all_sizes, prove_vector_clock_laws,
                                        retry_jitter_bound)
from kripke.cli import main
from kripke.common import OK, VIOLATED
from kripke.models.system import action
from kripke.models.two_phase import COMMIT, RM, Prepared, TwoPhase, TwoPhaseEager
from kripke.models.vector_clock import merge as concrete_merge
from kripke.specs.commit_all_sizes import two_phase_all_sizes


def reachable(model):
    seen, frontier = set(model.init()), list(model.init())
    while frontier:
        for _, _, t in model.successors(frontier.pop()):
            if t not in seen:
                seen.add(t)
                frontier.append(t)
    return seen


# -- two-phase, every number of RMs -------------------------------------------------------------
def test_tc_consistent_proved_for_every_number_of_rms():
    r = prove_all_sizes(TwoPhase, "tc_consistent")
    assert r.verdict == OK, r.message
    assert r.domain == "RM" and r.cti is None
    assert r.invariants == [p.name for p in two_phase_all_sizes]
    # initiation and the seven actions, for the property and each of its 7 auxiliaries
    assert len(r.obligations) == 8 * 8
    assert {o.verdict for o in r.obligations} == {"proved"}
    assert {o.action for o in r.obligations} == {
        "init", "tm_commit", "tm_abort", "tm_rcv_prepared", "rm_prepare", "rm_choose_to_abort",
        "rm_rcv_commit_msg", "rm_rcv_abort_msg"}


def test_tc_consistent_alone_is_not_inductive():
    r = prove_all_sizes(TwoPhase, "tc_consistent", invariants=[])
    assert r.verdict != OK
    assert r.cti["invariant"] == "tc_consistent"
    # the decoded counterexample is a step of the concrete model that breaks the property
    model = TwoPhase(rms=r.cti["size"])
    assert not model.properties[1].condition(model, r.cti["after"])
    assert r.cti["reachable"] is False  # TwoPhase is correct: the CTI is unreachable


def test_eager_tm_is_refuted_with_a_concrete_counterexample():
    r = prove_all_sizes(TwoPhaseEager, "tc_consistent")
    assert r.verdict == VIOLATED
    c = r.cti
    assert (c["action"], c["args"], c["invariant"]) == ("tm_commit", (),
                                                          "commit_only_after_all_prepared")
    assert c["size"] == 2  # the smallest universe: one RM prepared, the TM commits anyway
    before, after = c["before"], c["after"]
    assert before.tm_state == "init" and after.tm_state == "committed"
    assert COMMIT in after.msgs and COMMIT not in before.msgs
    assert len(before.tm_prepared) == 1
    missing = [rm for rm in range(2) if Prepared(rm) not in after.msgs]
    assert len(missing) == 1
    assert after in {t for n, _, t in TwoPhaseEager(rms=2).successors(before) if n == "tm_commit"}
    assert c["reachable"] and c["search"] == VIOLATED
    assert "rms=2" in r.message and "tm_commit" in r.message


@pytest.mark.parametrize("rms", [1, 2, 3, 4])
def test_auxiliary_invariants_hold_on_every_reachable_state(rms):
    model = TwoPhase(rms=rms)
    states = reachable(model)
    assert len(states) == {1: 12, 2: 56, 3: 288, 4: 1568}[rms]  # TLC: 288 at 3, 1,568 at 4
    for s in states:
        for p in two_phase_all_sizes:
            assert p.condition(model, s), (p.name, s)


@pytest.mark.parametrize("cls,n,count", [(TwoPhase, 1, 12), (TwoPhase, 2, 56), (TwoPhase, 3, 288),
                                         (TwoPhaseEager, 1, 12), (TwoPhaseEager, 2, 76)])
def test_encoding_restricted_to_n_rms_is_the_explicit_relation(cls, n, count):
    """The traced encoding over n named RMs (quantifiers unrolled): the same initial states, the
    same successors per action instance and the same invariant verdicts as the explicit model,
    on every reachable state."""
    states, mismatches = cross_check(cls, n, ["tc_consistent"] + list(two_phase_all_sizes))
    assert states == count
    assert mismatches == []


def test_the_action_code_is_traced_not_restated():
    pm = ParametricModel(TwoPhase())
    actions = {name: steps for name, _, steps in pm.actions()}
    # TMCommit's guard len(tm_prepared) == rms became "every RM is in tm_prepared"
    (cond, _), = actions["tm_commit"]
    assert "ForAll" in str(cond) and "x.tm_prepared" in str(cond)
    # RMPrepare: put(rm_state, rm, "prepared") became a store at the chosen rm
    (_, terms), = actions["rm_prepare"]
    assert str(terms[0]).startswith("Store(x.rm_state, rm_prepare.0")
    assert len(pm.init()) == 1


class CountsRMs(TwoPhase):
    """A TM that needs a concrete number of RMs: refused, with the line."""

    name = None

    @action
    def tm_commit(self, s):
        if s.tm_state == "init" and all(rm in s.tm_prepared for rm in range(self.rms)):
            return s.set(tm_state="committed", msgs=s.msgs | {COMMIT})


def test_code_needing_a_concrete_size_is_refused_with_its_line():
    with pytest.raises(TraceError, match=r"tm_commit .*test_parametric.py:\d+.*size of the "
                                         r"domain is unknown"):
        ParametricModel(CountsRMs()).actions()


def test_finite_universe_has_named_elements():
    pm = ParametricModel(TwoPhase(), universe=Finite(RM, 2))
    assert [str(e) for e in pm.universe.elems] == ["RM0", "RM1"]


# -- vector clocks, every dimension ----------------------------------------------------------
def test_vector_clock_merge_laws_proved_for_every_dimension():
    r = prove_vector_clock_laws()
    assert r.verdict == OK
    assert set(r.laws) >= {"merge_commutative", "merge_associative", "merge_idempotent",
                           "merge_monotone", "happened_before_irreflexive",
                           "happened_before_transitive", "happened_before_asymmetric"}
    assert set(r.laws.values()) == {"proved"}


def test_a_wrong_merge_is_refuted():
    r = prove_vector_clock_laws(merge=lambda a, b: tuple(map(min, a, b)))
    assert r.laws["merge_commutative"] == "proved"
    assert r.laws["merge_idempotent"] == "proved"
    assert r.laws["merge_monotone"] == "refuted"
    assert "merge_monotone" in r.counterexamples


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5).flatmap(lambda n: st.tuples(
    st.lists(st.integers(0, 50), min_size=n, max_size=n),
    st.lists(st.integers(0, 50), min_size=n, max_size=n))))
def test_traced_merge_agrees_with_the_concrete_one(clocks):
    a, b = map(tuple, clocks)
    proc, merge, _ = clock_ops()
    arr = z3.ArraySort(proc, z3.IntSort())
    x, y = SClock(z3.Const("a", arr)), SClock(z3.Const("b", arr))
    procs = [z3.Const(f"p{i}", proc) for i in range(len(a))]
    s = z3.Solver()
    s.add(z3.Distinct(*procs) if len(procs) > 1 else z3.BoolVal(True))
    s.add(*[x.term[p] == v for p, v in zip(procs, a)], *[y.term[p] == v for p, v in zip(procs, b)])
    assert s.check() == z3.sat
    m = s.model()
    got = tuple(m.eval(merge(x, y).term[p]).as_long() for p in procs)
    assert got == concrete_merge(a, b)


# -- the article's retry jitter --------------------------------------------------------------
def test_article_jitter_bound_refuted_with_the_exact_worst_case():
    r = retry_jitter_bound("retry-article")
    assert r.worst_ratio == Fraction(3, 2)
    assert not r.attained  # random() < 1: approached, never reached
    assert not r.bound_holds
    cap = z3.Real("max_delay")
    assert z3.simplify(r.worst_delay(cap) - z3.RealVal("3/2") * cap).eq(z3.RealVal(0))
    w = r.witness
    # the witness, recomputed with the article's formula in exact arithmetic, exceeds the cap
    backoff = w["base_delay"] * w["exponential_base"] ** w["attempt"]
    delay = min(backoff, w["max_delay"]) * (Fraction(1, 2) + w["random"])
    assert delay == w["delay"] > w["max_delay"]
    assert 0 <= w["random"] < 1


def test_capped_jitter_respects_the_bound():
    r = retry_jitter_bound("retry")
    assert r.bound_holds and r.witness is None
    assert r.worst_ratio == Fraction(1) and r.attained


# -- the command line ----------------------------------------------------------------------------
def test_cli_prove_all_sizes():
    runner = CliRunner()
    ok = runner.invoke(main, ["prove", "two-phase", "--property", "tc_consistent", "--all-sizes"])
    assert ok.exit_code == 0, ok.output
    assert "every number of RMs (an uninterpreted sort): PROVED" in ok.output
    bad = runner.invoke(main, ["prove", "two-phase-eager", "--property", "tc_consistent",
                               "--all-sizes", "--json"])
    assert bad.exit_code == 1, bad.output
    import json
    out = json.loads(bad.output)
    assert out["verdict"] == "violated" and out["cti"]["size"] == 2
    assert out["cti"]["action"] == "tm_commit" and out["cti"]["after"]["tm_state"] == "committed"


def test_cli_laws():
    runner = CliRunner()
    vc = runner.invoke(main, ["laws", "vector-clock"])
    assert vc.exit_code == 0 and "merge_associative              proved" in vc.output
    rj = runner.invoke(main, ["laws", "retry-jitter"])
    assert rj.exit_code == 1
    assert "retry-article  sup delay = 3/2 x max_delay (not attained): refuted" in rj.output
    assert "retry          sup delay = 1 x max_delay (attained): holds" in rj.output

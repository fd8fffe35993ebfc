"""The symbolic back end (issue 12): the model's own actions traced on z3 terms, bounded model
checking against the explicit engine, and the constructs it refuses."""

import pytest

from kripke import check, load_model, replay
from kripke.checkers.bmc import bmc
from kripke.checkers.symbolic import SymbolicModel, TraceError
from kripke.models.two_phase import TwoPhase, TwoPhaseEager


def test_bmc_finds_the_shortest_counterexample_and_it_replays():
    r = bmc(TwoPhaseEager(rms=3), properties=["tc_consistent"], max_depth=8)
    explicit = check(TwoPhaseEager(rms=3), properties=["tc_consistent"])
    assert (r.verdict, r.violation.property, r.violation.kind) == ("violated", "tc_consistent",
                                                                  "invariant")
    assert len(r.violation.trace.steps) == len(explicit.violation.trace.steps) == 6
    assert replay(r.violation.trace).ok


def test_bmc_reaches_where_search_cannot():
    """two-phase-eager at 30 RMs: about 10^18 states, refuted in 5 steps."""
    r = bmc(TwoPhaseEager(rms=30), properties=["tc_consistent"], max_depth=6)
    assert r.verdict == "violated" and len(r.violation.trace.steps) == 6
    assert replay(r.violation.trace).ok


def test_no_violation_up_to_the_depth_is_incomplete():
    r = bmc(TwoPhase(rms=3), max_depth=11)
    assert (r.verdict, r.bound) == ("incomplete", "bmc: no violation up to depth 11")
    assert set(r.not_checked) == {"refines_tcommit", "commit_possible", "abort_possible"}


def test_the_traced_relation_has_one_path_per_branch():
    sym = SymbolicModel(TwoPhase(rms=2))
    paths = {(name, args): len(steps) for name, args, steps in sym.actions}
    assert paths[("tm_commit", ())] == 1 and paths[("rm_prepare", (0,))] == 1


@pytest.mark.parametrize("name, construct", [
    ("Identity", "'is' between values (only 'is None' can be traced)"),
    ("Guarded", "'try'"),
    ("Iterates", "iterating over a set of 16 elements that may or may not be in it (at most 8"),
    ("KeyedByState", "a state value used as a dict key or set element (hash)"),
])
def test_untraceable_constructs_are_refused_with_the_action_and_line(name, construct):
    model = load_model(f"tests/fixtures/untraceable.py:{name}")()
    with pytest.raises(TraceError) as e:
        bmc(model, max_depth=2)
    assert "action step" in str(e.value) and construct in str(e.value)
    assert "tests/fixtures/untraceable.py:" in str(e.value)


def test_an_int_as_a_dict_key_is_forked_over_its_values():
    model = load_model("tests/fixtures/untraceable.py:KeyedByInt")()
    (_, _, steps), = SymbolicModel(model).actions
    assert len(steps) == 4  # x = 0, 1, 2, 3: the key found, or the default
    assert check(model, engine="vector").distinct_states == check(model).distinct_states


def test_a_negative_index_counts_from_the_end_as_in_python():
    model = load_model("tests/fixtures/untraceable.py:NegPut")()
    sym = SymbolicModel(model)
    (_, _, steps), = sym.actions
    assert sym.hazards == [] and len(steps) == 1
    r = bmc(model, max_depth=3)
    assert (r.verdict, r.bound) == ("incomplete", "bmc: no violation up to depth 3")


def test_bmc_refutes_the_articles_2pc_deeper_than_search_goes_quickly():
    """commit-2pc-article with 4 participants: atomic_commit fails after 11 steps."""
    from kripke.models.commit_2pc import Commit2PCArticle
    model = Commit2PCArticle(participants=4, txs=2)
    r = bmc(model, properties=["atomic_commit"], max_depth=12)
    assert (r.verdict, r.violation.property, len(r.violation.trace.steps) - 1) == (
        "violated", "atomic_commit", 11)
    assert replay(r.violation.trace).ok


def test_a_step_out_of_the_types_is_found_by_bmc_and_stops_a_proof():
    from kripke.checkers.prove import prove
    model = load_model("tests/fixtures/untraceable.py:Spoils")()
    explicit = check(model)
    r = bmc(model, max_depth=5)
    assert (r.violation.kind, len(r.violation.trace.steps) - 1) == (
        explicit.violation.kind, len(explicit.violation.trace.steps) - 1) == ("type", 3)
    assert replay(r.violation.trace).ok
    proof = prove(model, "small")
    assert proof.verdict != "ok"
    assert "spoil may raise or leave the declared types" in proof.reason


def test_an_aggregation_that_raises_for_an_element_that_may_be_absent_is_refused():
    """``all(...)`` over a symbolic set is unrolled over the set's universe; a body that raises
    for an element (a dict read for each event, as vector-clock's properties read theirs) may
    raise only for elements absent from the state, where Python never evaluates it, so the
    tracer refuses rather than calling the property one that raises (the vector engine then
    runs it on each decoded state, and finds the exception the plain engine finds)."""
    model = load_model("tests/fixtures/vector_clock_broken.py:FirstEventsOnly")(procs=2)
    prop = next(p for p in model.properties if p.name == "first_events_only")
    with pytest.raises(TraceError, match=r"raises \(KeyError\) for an element that may not be"):
        SymbolicModel(model).invariant(prop, [])
    vector = check(model, properties=["first_events_only"], engine="vector", symmetry=False)
    plain = check(model, properties=["first_events_only"], symmetry=False)
    assert vector.per_state.keys() == {"first_events_only"}
    assert (vector.violation.kind, len(vector.violation.trace.steps)) == \
        (plain.violation.kind, len(plain.violation.trace.steps)) == ("exception", 3)

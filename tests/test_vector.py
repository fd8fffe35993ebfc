"""The vectorised engine (checkers/vector.py, issue 14) against the plain one: the same sets of
reachable states (not only their sizes), the same generated counts per action and depth, the
same verdicts with counterexamples of the same length that replay, and one line for what it
cannot run."""

import math
from collections import deque

import pytest

from kripke.checkers.explicit import check, select_properties
from kripke.checkers import vector as vector_module
from kripke.checkers.vector import VectorSearch
from kripke.models.fingerprint import fingerprint
from kripke.models.system import load_model
from kripke.traces.trace import replay
from tests.conftest import fixture_model, kripke


#: (model, parameters) that the vector engine runs, at small sizes
SUPPORTED = [
    ("two-phase", {"rms": 2}), ("two-phase", {"rms": 3}), ("two-phase", {"rms": 4}),
    ("tcommit", {}), ("commit-2pc", {}), ("bulkhead", {}), ("circuit-breaker", {}),
    ("saga-orchestration", {}), ("toy-bits", {}), ("toy-grid", {}), ("toy-counter", {}),
    ("retry", {}), ("retry", {"non_retryable": True}),
    ("paxos", {"acceptors": 1, "values": 1}), ("paxos", {"acceptors": 2}),
    (fixture_model("Ballots"), {}),  # max, min and sum over a set, as the tracer unrolls them
    # events put into sets by set_add, receive traced once per message of the bag's universe
    # (deliverable's test, delivers), counts as pseudo-Boolean constraints, the properties run
    # on each decoded state; and the network's failures (droppable and duplicable's tests)
    ("vector-clock", {"procs": 2}),
    ("vector-clock", {"procs": 2, "lossy": True, "duplicating": True}),
    ("vector-clock", {"procs": 2, "partitions": True, "crashes": True}),
]
#: broken variants (with their parameters): the plain engine's verdict is "violated"
BROKEN = [(name, {}) for name in [
    "two-phase-eager", "commit-2pc-article", "circuit-breaker-article", "bulkhead-article",
    "retry-article", "paxos-ignore-1b", "toy-stuck-counter", "toy-raises", "toy-promises",
    fixture_model("BallotsBelowTwo"),
    fixture_model("OneWay"), fixture_model("Marking")]]  # (the last two: always-possible)
BROKEN += [(f"tests/fixtures/vector_clock_broken.py:{name}", {"procs": 2}) for name in (
    "ForgetfulReceive", "MergeWithoutTick", "SilentSend", "DoubleTick")]


def safety(model):
    """The model's default invariants, sometimes-, step and always-possible properties (what
    the engine checks; the breaker's and the bulkhead's step properties, commit-2pc's
    termination_possible among them)."""
    return [p.name for p in select_properties(model, None)
            if p.kind in ("invariant", "sometimes", "step", "always_possible")
            and not p.temporal]


def reachable(model):
    """Every reachable state, by a plain BFS over model.successors (the oracle)."""
    seen = {fingerprint(s): s for s in model.init()}
    todo = deque(seen.values())
    while todo:
        for _, _, t in model.successors(todo.popleft()):
            if fingerprint(t) not in seen:
                seen[fingerprint(t)] = t
                todo.append(t)
    return set(seen)


@pytest.mark.parametrize("name,params", SUPPORTED, ids=lambda v: str(v))
def test_the_same_states_counts_and_depth(name, params):
    model = load_model(name)(**params)
    props = safety(model)
    search = VectorSearch(model, select_properties(model, props),
                          (None, None, None, math.inf), True, None, False)
    search.run()
    states = list(search.states())
    assert len(states) == len({fingerprint(s) for s in states})  # each state once
    assert {fingerprint(s) for s in states} == reachable(model)
    plain = check(model, properties=props, symmetry=False)
    vector = check(model, properties=props, engine="vector", symmetry=False)
    assert plain.verdict == vector.verdict == "ok"
    assert (vector.distinct_states, vector.states_generated, vector.depth) == \
        (plain.distinct_states, plain.states_generated, plain.depth) == \
        (len(states), search.n_init + sum(search.fired), search.depth)
    assert {a: c["fired"] for a, c in vector.coverage.items()} == \
        {a: c["fired"] for a, c in plain.coverage.items()}
    # "new" is credited per level, not per parent in the plain queue's order: only its sum agrees
    assert sum(c["new"] for c in vector.coverage.values()) == \
        sum(c["new"] for c in plain.coverage.values()) == len(states) - search.n_init
    assert vector.collision_probability == 0  # whole states are compared


def test_the_numpy_twins_of_the_c_kernels_give_the_same_search(monkeypatch):
    """Without the C extension (``KRIPKE_PURE_PYTHON``), deduplication by numpy alone: the same
    counts, on one thread and on two (a level split in halves)."""
    model = load_model("two-phase")(rms=5)
    want = check(model, properties=["tc_consistent"], engine="vector", symmetry=False)
    monkeypatch.setattr(vector_module, "_C", None)
    for split in (vector_module._SPLIT, 1000):
        monkeypatch.setattr(vector_module, "_SPLIT", split)
        got = check(model, properties=["tc_consistent"], engine="vector", symmetry=False)
        assert (got.distinct_states, got.states_generated, got.depth) == \
            (want.distinct_states, want.states_generated, want.depth) == (8832, 58146, 17)
        assert got.coverage == want.coverage


@pytest.mark.parametrize("name,params", BROKEN, ids=lambda v: str(v))
@pytest.mark.parametrize("symmetry", [False, None])  # None: when the model declares it
def test_the_same_violations(name, params, symmetry):
    model = load_model(name)(**params)
    props = safety(model)
    plain = check(model, properties=props, symmetry=symmetry)
    vector = check(model, properties=props, engine="vector", symmetry=symmetry)
    assert plain.verdict == vector.verdict == "violated"
    v, w = plain.violation, vector.violation
    assert (w.property, w.kind, len(w.trace.steps)) == (v.property, v.kind, len(v.trace.steps))
    assert replay(w.trace).ok  # an ordinary trace, rebuilt and replayed by the plain model


def test_vector_clock_properties_run_on_each_decoded_state():
    """vector-clock's properties build Lamport's happened-before in dicts, which the tracer
    refuses (a loop over a set of events that may or may not be in it): they run on each
    decoded state, and the result says so, with the tracer's reason; the plain engine's counts
    without symmetry, with each message of the bag's universe traced as one instance of
    receive (72 at 2 processes)."""
    model = load_model("vector-clock")(procs=2)
    search = VectorSearch(model, select_properties(model, None),
                          (None, None, None, math.inf), True, None, False)
    assert sum(name == "receive" for name, _, _ in search.actions) == 72
    result = check(model, engine="vector", symmetry=False)
    assert (result.verdict, result.distinct_states, result.states_generated, result.depth) == \
        ("ok", 97, 145, 5)
    assert sorted(result.per_state) == ["causality_across_processes", "clocks_match_causality",
                                        "concurrent_events_possible"]
    assert "iterating over a set of 16 elements" in result.per_state["clocks_match_causality"]
    assert check(model, symmetry=False).per_state == {}
    plain, vector = check(model), check(model, engine="vector")  # (the processes' symmetry)
    assert (vector.symmetry, vector.distinct_states, vector.states_generated, vector.depth) == \
        (plain.symmetry, plain.distinct_states, plain.states_generated, plain.depth) == \
        (True, 52, 79, 5)


def test_pseudo_boolean_constraints_evaluate_on_a_batch():
    """The counts the tracer compares as pseudo-Boolean constraints (``SCount``: z3's PbLe,
    PbGe, PbEq, and AtMost / AtLeast that z3's simplifier makes of them), evaluated on random
    rows as their weights and bound say."""
    import numpy as np
    import z3
    model = load_model("vector-clock")(procs=2)
    search = VectorSearch(model, [], (None, None, None, math.inf), False, None, False)
    packing, program = search.packing, search.program
    bits = [x for x in packing.sm.x if z3.is_bool(x)][:8]
    weights = (1, 2, 1, 3, 1, 1, 2, 1)
    pairs = list(zip(bits, weights))
    rows = np.random.default_rng(7).integers(0, 2 ** 63, size=(300, packing.words),
                                             dtype=np.uint64)
    values = []
    for x in bits:
        word, shift, _, _ = packing.slots[packing.index[x.get_id()]]
        values.append((rows[:, word] >> np.uint64(shift)) & np.uint64(1))
    weighted = sum(w * v.astype(int) for w, v in zip(weights, values))
    ones = sum(v.astype(int) for v in values)
    for term, want in [(z3.PbLe(pairs, 6), weighted <= 6), (z3.PbGe(pairs, 7), weighted >= 7),
                       (z3.PbEq(pairs, 5), weighted == 5), (z3.AtMost(*bits, 3), ones <= 3),
                       (z3.AtLeast(*bits, 5), ones >= 5)]:
        got = program.value(program.compile(term, "test"), vector_module._Batch(packing, rows))
        assert want.any() and not want.all()  # (the rows test both outcomes)
        assert (got == want).all(), term


def test_two_phase_packs_into_one_word():
    """TwoPhase with 9 RMs: 9 two-bit RM states, a two-bit TM state, 9 prepared bits, 11
    message bits: 40 bits, one uint64 a state (as in ../shared/bench/numpy_twophase.py)."""
    model = load_model("two-phase")(rms=9)
    search = VectorSearch(model, select_properties(model, ["tc_consistent"]),
                          (None, None, None, math.inf), True, None, False)
    assert (search.packing.words, search.packing.bits) == (1, 40)


@pytest.mark.parametrize("args,message", [
    (("lww-store", "--property", "convergence"),
     "lww-store.outbox: a Set of Item has no finite universe to encode; use --engine plain"),
    (("retry",), "--engine vector does not check temporal properties yet; use --engine plain"),
    (("two-phase", "--property", "tc_consistent", "--strategy", "dfs"),
     "--engine vector runs --strategy bfs, not dfs"),
    (("two-phase", "--property", "tc_consistent", "--workers", "2"), "drop --workers"),
])
def test_what_it_cannot_run_is_one_line(args, message):
    r = kripke("check", *args, "--engine", "vector")
    assert r.exit_code == 2
    assert message in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


@pytest.mark.parametrize("params,props,symmetry,engine", [
    ({"rms": 3}, ["tc_consistent"], False, "plain"),  # 288 states: below AUTO_STATES
    ({"rms": 5}, ["tc_consistent"], False, "vector"),  # 8,832 states
    ({"rms": 5}, ["tc_consistent"], None, "plain"),  # symmetry: orbits, on the plain engine
    ({"rms": 5}, None, False, "vector"),  # refines_tcommit too: a refinement, on the batch
])
def test_auto_picks_by_size_and_by_what_the_model_needs(params, props, symmetry, engine,
                                                         monkeypatch):
    from kripke.checkers import explicit
    monkeypatch.setattr(explicit, "AUTO_STATES", 5000)  # the crossover, made small
    model = load_model("two-phase")(**params)
    auto = check(model, properties=props, symmetry=symmetry, engine="auto")
    alone = check(model, properties=props, symmetry=symmetry, engine=engine)
    assert auto.engine == engine == alone.engine
    assert (auto.verdict, auto.distinct_states, auto.states_generated, auto.depth) == \
        (alone.verdict, alone.distinct_states, alone.states_generated, alone.depth)


@pytest.mark.parametrize("name", ["two-phase", "commit-2pc"])  # one word; several words
def test_a_level_split_over_two_threads_searches_alike(name, monkeypatch):
    """A large level is expanded in two halves on two threads (``_SPLIT``): made small here,
    the counts, the credit of each call and the violation are those of one thread."""
    from kripke.checkers import vector
    model = load_model(name)(**({"rms": 4} if name == "two-phase" else {}))
    props = safety(model)
    whole = check(model, properties=props, engine="vector")  # two-phase: orbits
    monkeypatch.setattr(vector, "_SPLIT", 8)
    halves = check(model, properties=props, engine="vector")
    assert (halves.verdict, halves.distinct_states, halves.states_generated, halves.depth,
            halves.coverage) == (whole.verdict, whole.distinct_states, whole.states_generated,
                                 whole.depth, whole.coverage)


@pytest.mark.parametrize("name,params,bound", [
    ("two-phase", {"rms": 16}, 5),  # 68 bits: two words a state, sorted as rows
    ("two-phase", {"rms": 4}, 6),  # one word, with room for the path's number
])
def test_a_depth_bound_counts_as_the_plain_engine(name, params, bound):
    """The last level within --max-depth is expanded (its successors counted), and the bound
    reported only when a state lies beyond it, as in the plain engine; with two words a state
    the rows are sorted as rows."""
    model = load_model(name)(**params)
    plain = check(model, properties=["tc_consistent"], symmetry=False, max_depth=bound)
    vector = check(model, properties=["tc_consistent"], engine="vector", symmetry=False,
                   max_depth=bound)
    assert (vector.verdict, vector.bound, vector.distinct_states, vector.states_generated,
            vector.depth) == (plain.verdict, plain.bound, plain.distinct_states,
                              plain.states_generated, plain.depth)
    assert {a: c["fired"] for a, c in vector.coverage.items()} == \
        {a: c["fired"] for a, c in plain.coverage.items()}


def test_a_step_property_is_checked_on_every_step_but_stutters():
    """tests/fixtures/models.py's Dial: its reset from 3 to 0 fails always_up; its stutter,
    from the initial state on, would fail it too if a stutter were checked."""
    Dial = load_model(fixture_model("Dial"))
    plain = check(Dial(), symmetry=False)
    vector = check(Dial(), engine="vector")
    assert plain.verdict == vector.verdict == "violated"
    v, w = plain.violation, vector.violation
    assert (w.property, w.kind, len(w.trace.steps)) == (v.property, v.kind, len(v.trace.steps)) \
        == ("always_up", "step", 5)  # init, up, up, up, then the reset that fails
    assert w.trace.steps[-1].action == "reset" and replay(w.trace).ok
    ok = check(Dial(), engine="vector", properties=[])  # no property: every state reached
    assert (ok.verdict, ok.distinct_states) == ("ok", check(Dial(), properties=[]).distinct_states)


@pytest.mark.parametrize("name,params", [("two-phase", {"rms": n}) for n in (1, 2, 3, 4, 5, 6)]
                         + [("tcommit", {}), ("circuit-breaker", {}), ("paxos", {}),
                            ("paxos", {"values": 1, "max_ballot": 2})])
def test_orbits_on_the_batch_count_as_the_plain_engine(name, params):
    """Symmetry on the batch (Orbits): each id's slots sorted as one key give one state per
    orbit; the orbit counts, generated counts per action and depth are the plain engine's
    (two-phase with 3 RMs: 80 orbits of 288 states, as TLC's symmetry gives for TwoPhase).
    Paxos takes four words a state and an acceptor's key two (its 1b and 2b messages); the
    breaker's ``opened_at`` is an Optional, whose value is probed with it present."""
    model = load_model(name)(**params)
    props = safety(model)
    plain = check(model, properties=props)
    vector = check(model, properties=props, engine="vector")
    assert plain.symmetry and vector.symmetry and vector.symmetry_note is None
    assert (vector.verdict, vector.distinct_states, vector.states_generated, vector.depth) == \
        (plain.verdict, plain.distinct_states, plain.states_generated, plain.depth)
    assert {a: c["fired"] for a, c in vector.coverage.items()} == \
        {a: c["fired"] for a, c in plain.coverage.items()}
    if params.get("rms") == 3:
        assert vector.distinct_states == 80
    if name == "paxos" and not params:  # as the paxos module's docstring says
        assert (vector.distinct_states, vector.states_generated, vector.depth) == (857, 5190, 17)


@pytest.mark.parametrize("name,prop,length,cause", [
    ("TwoPhaseWatchingRm0", "not_aborted_while_working", 1, "invariant not_aborted_while_"),
    ("FlagBoom", "not_boomed", 2, "action boom is not symmetric"),
    ("FlagsTerminal", "deadlock", 1, "terminal() is not symmetric"),
])
def test_the_probe_on_the_batch_catches_what_the_random_test_missed(name, prop, length, cause,
                                                                     monkeypatch):
    """Each new state of a symmetric search is compared with a renaming of it on the batch, as
    the plain engine's probe does (its state properties and terminal(); the successors of every
    16th): without the random test before the search, an asymmetric model is still searched
    again without symmetry, and its violation found, as without symmetry."""
    from kripke.checkers import explicit
    monkeypatch.setattr(explicit, "symmetry_problem", lambda *args, **kwargs: None)
    model = load_model(f"tests/fixtures/asymmetric.py:{name}")()
    r = check(model, engine="vector")
    v = r.violation
    assert (r.verdict, r.symmetry, v.property, len(v.trace.steps) - 1) == (
        "violated", False, prop, length)
    assert r.symmetry_note.startswith("symmetry off: ") and cause in r.symmetry_note
    assert replay(v.trace).ok


def test_symmetry_the_layout_does_not_allow_is_said_or_refused():
    """The bulkhead's callers appear in values (the queue of waiting callers), not only as
    places: the vector engine runs without symmetry and says why, or refuses --symmetry."""
    model = load_model("bulkhead")()
    props = safety(model)
    r = check(model, properties=props, engine="vector")
    assert not r.symmetry and r.distinct_states == check(model, properties=props,
                                                         symmetry=False).distinct_states
    assert r.symmetry_note.startswith("symmetry off: --engine vector cannot reduce "
                                      "bulkhead by symmetry: renaming ids changes the "
                                      "value of slot")
    with pytest.raises(vector_module.Unsupported, match="use --engine plain"):
        check(model, properties=props, engine="vector", symmetry=True)


#: models with refinements (two-phase's refines_tcommit; the fixture clocks' HourClock, by a
#: name and a function, and by a mapping that branches), run with their default properties
REFINING = [("two-phase", {"rms": 2}), ("two-phase", {"rms": 4}),
            (fixture_model("MinuteClock"), {})]


@pytest.mark.parametrize("name,params", REFINING, ids=lambda v: str(v))
@pytest.mark.parametrize("symmetry", [False, None])
def test_refinements_count_as_the_plain_engine(name, params, symmetry):
    """Every step that changes the image is an abstract step (TwoPhase.tla's THEOREM TPSpec =>
    TC!TCSpec), checked on the batch: the same verdict, counts per action and depth."""
    model = load_model(name)(**params)
    assert any(p.kind == "refinement" for p in select_properties(model, None))
    plain = check(model, symmetry=symmetry)
    vector = check(model, engine="vector", symmetry=symmetry)
    assert plain.verdict == vector.verdict == "ok" and vector.properties == plain.properties
    assert (vector.distinct_states, vector.states_generated, vector.depth) == \
        (plain.distinct_states, plain.states_generated, plain.depth)
    assert {a: c["fired"] for a, c in vector.coverage.items()} == \
        {a: c["fired"] for a, c in plain.coverage.items()}


@pytest.mark.parametrize("name,length", [
    ("two-phase-eager", 5),  # rm_prepare, tm_rcv_prepared, tm_commit, then an RM commits
    (fixture_model("MinuteClockSkipping"), 7),  # 1:02 to 3:00, on the 6th step
    (fixture_model("MinuteClockLate"), 1),  # 1:00 is no initial state of HourClock
])
@pytest.mark.parametrize("symmetry", [False, None])
def test_a_refused_step_is_the_plain_engine_s(name, length, symmetry):
    model = load_model(name)()
    plain = check(model, symmetry=symmetry)
    vector = check(model, engine="vector", symmetry=symmetry)
    assert plain.verdict == vector.verdict == "violated"
    v, w = plain.violation, vector.violation
    assert (w.property, w.kind, len(w.trace.steps)) == (v.property, v.kind, len(v.trace.steps))
    assert w.kind == "refinement" and len(w.trace.steps) == length
    assert w.message == v.message and replay(w.trace).ok
    assert vector.depth == plain.depth  # (where a search stops within its level differs)


def test_every_violated_refinement_with_continue():
    """--continue: the refinement is reported once and checked no more, and the search goes
    on with the same counts as the plain engine's."""
    model = load_model("two-phase-eager")()
    plain = check(model, symmetry=False, keep_going=True)
    vector = check(model, engine="vector", symmetry=False, keep_going=True)
    assert [(v.property, v.kind, len(v.trace.steps)) for v in vector.violations] == \
        [(v.property, v.kind, len(v.trace.steps)) for v in plain.violations]
    assert (vector.distinct_states, vector.states_generated, vector.depth) == \
        (plain.distinct_states, plain.states_generated, plain.depth)

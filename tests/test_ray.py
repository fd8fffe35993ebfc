"""``--engine ray`` (checkers/ray_engine.py, issue 13, item 6) on a local Ray instance with two
CPUs, against the one-process engines.

The partitioned BFS with its shards as Ray actors counts the same distinct and generated states
and the same depth as ``check`` in one process, with and without symmetry, on every built-in
model; a violated model has the same verdict and a counterexample of the same length that
replays. Random walks spread over Ray tasks find the violations one process finds, and repeat
for a seed. An exception raised in an actor reaches the caller as itself.
"""

import math
import sys

import pytest

from kripke import check, load_model
from kripke.checkers import ray_engine
from kripke.checkers.explicit import _SymmetryBroken, select_properties
from kripke.checkers.parallel import ShardRecipe
from kripke.checkers.simulate import simulate
from kripke.errors import ParamError
from kripke.models.system import registry
from kripke.traces.trace import replay

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'kripke[ray]'")

#: parameters that keep a model's search under a second
SMALL = {"raft": {"servers": 2}, "two-phase": {"rms": 4}, "two-phase-eager": {"rms": 4}}


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One local Ray instance for the module: starting one takes several seconds."""
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    yield
    ray.shutdown()


def counts(r):
    return r.verdict, r.distinct_states, r.states_generated, r.depth


def outcome(r):
    """What a partitioned search shares with the one-process search: all counts of a complete
    search; of a violated one, the kind of violation and the counterexample's length."""
    v = r.violation
    if v is None:
        return counts(r)
    return r.verdict, v.kind, None if v.trace is None else len(v.trace.steps)


@pytest.mark.parametrize("name, params, symmetry", [
    ("two-phase", {"rms": 4}, False), ("two-phase", {"rms": 4}, True),
    ("two-phase", {"rms": 5}, False), ("two-phase", {"rms": 5}, True),
    ("raft", {"servers": 2, "max_msgs": 2}, False), ("raft", {"servers": 2, "max_msgs": 2}, True),
])
def test_counts_equal_one_process(name, params, symmetry):
    model = load_model(name)(**params)
    props = [p.name for p in select_properties(model, None) if not p.temporal]
    one = check(model, properties=props, symmetry=symmetry)
    two = check(model, properties=props, symmetry=symmetry, engine="ray", workers=2)
    assert counts(two) == counts(one)
    assert two.symmetry == one.symmetry == symmetry
    assert {a: c["fired"] for a, c in two.coverage.items()} == \
        {a: c["fired"] for a, c in one.coverage.items()}


def test_tlc_counts_for_two_phase():
    """TwoPhase.tla: TLC's 1,568 distinct states at 4 RMs, 8,832 at 5 (tests/oracles)."""
    for rms, distinct in ((4, 1568), (5, 8832)):
        r = check(load_model("two-phase")(rms=rms), symmetry=False, engine="ray", workers=2)
        assert (r.verdict, r.distinct_states) == ("ok", distinct)


@pytest.mark.parametrize("name", sorted(registry()))
def test_every_built_in_model_counts_alike_on_ray(name):
    model = load_model(name)(**SMALL.get(name, {}))
    props = [p.name for p in select_properties(model, None) if not p.temporal]
    one = check(model, properties=props)
    two = check(model, properties=props, engine="ray", workers=2)
    assert outcome(two) == outcome(one)
    assert (two.symmetry, two.symmetry_note) == (one.symmetry, one.symmetry_note)
    if two.violation is not None and two.violation.trace is not None:
        assert replay(two.violation.trace).ok


def test_a_violation_has_a_shortest_counterexample_that_replays():
    model = load_model("two-phase-eager")()
    one = check(model, properties=["tc_consistent"])
    two = check(model, properties=["tc_consistent"], engine="ray", workers=2)
    assert (two.verdict, two.violation.property) == (one.verdict, one.violation.property) == (
        "violated", "tc_consistent")
    assert len(two.violation.trace.steps) == len(one.violation.trace.steps)
    assert replay(two.violation.trace).ok


def test_a_model_file_is_found_by_the_actors():
    """A model loaded from a file travels by its path, made absolute (an actor's working
    directory is not the coordinator's)."""
    model = load_model("tests/fixtures/bulkhead_broken.py:ForgetsTimedOutWaiters")()
    one = check(model, properties=["rejects_only_when_full"])
    two = check(model, properties=["rejects_only_when_full"], engine="ray", workers=2)
    assert outcome(two) == outcome(one)
    assert replay(two.violation.trace).ok


def recipe(name, params, symmetry=False, partition=()):
    model = load_model(name)(**params)
    props = [p.name for p in select_properties(model, None) if not p.temporal]
    return ShardRecipe(name, params, props, symmetry, (None, None, None, math.inf), True, False,
                       None, partition)


def test_an_interrupted_level_goes_on_where_it_stopped():
    """Asked to stop at every step (as Ctrl-C or a due checkpoint does), the actors stop
    between states and the coordinator resumes the level: the counts are unchanged (shards
    owning states by a variable, checkers/partition.py)."""
    shards = ray_engine.RayShards(recipe("two-phase", {"rms": 5}, partition=("tm_prepared",)), 2)
    assert shards.neighbours == [2, 2]  # two shards on this node share its memory
    try:
        reports = shards.start()
        depth, new_level, paused = 1, True, 0
        while any(r["queued"] for r in reports):
            reports = shards.step(depth, new_level, lambda: True)
            new_level = not any(r["left"] for r in reports)
            paused += not new_level
            depth += new_level
    finally:
        shards.close()
    one = check(load_model("two-phase")(rms=5), symmetry=False)
    assert paused > 0  # levels of more than 256 states a shard are paused (polled every 256)
    assert (sum(r["distinct"] for r in reports), depth - 1) == (one.distinct_states, one.depth)
    assert sum(r["n_init"] + sum(r["fired"]) for r in reports) == one.states_generated


def test_errors_raised_in_actors_and_tasks_are_raised_as_themselves():
    shards = ray_engine.RayShards(recipe("two-phase", {"rms": 4})._replace(params={"rms": 0}), 2)
    try:
        with pytest.raises(ParamError, match="rms"):
            shards.start()
    finally:
        shards.close()
        shards.close()  # a second close does nothing
    with pytest.raises(_SymmetryBroken, match="not symmetric"):
        ray_engine.run_tasks(_raise_symmetry_broken, [()])


def _raise_symmetry_broken():
    raise _SymmetryBroken("action boom is not symmetric under RM")


def test_more_shards_than_cpus_is_refused():
    with pytest.raises(ParamError, match="the Ray cluster has 2 CPUs"):
        check(load_model("two-phase")(rms=3), engine="ray", workers=3)


def test_without_ray_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    model = load_model("two-phase")(rms=3)
    for run in (lambda: check(model, engine="ray", workers=2),
                lambda: simulate(model, engine="ray")):
        with pytest.raises(ParamError, match=r"pip install 'kripke\[ray\]'"):
            run()


# -- random walks on Ray -------------------------------------------------------------------------
@pytest.mark.parametrize("name, prop", [("raft-article", "election_safety"),
                                        ("two-phase-eager", "refines_tcommit")])
def test_walks_on_ray_find_the_violation_and_repeat_for_a_seed(name, prop):
    model = load_model(name)()
    first, again = (simulate(model, seed=5, engine="ray", workers=2, max_states=20_000)
                    for _ in range(2))
    assert (first.verdict, first.violation.property) == ("violated", prop)
    assert replay(first.violation.trace).ok
    assert counts(again) == counts(first)
    assert again.violation.trace.to_json() == first.violation.trace.to_json()
    assert again.coverage == first.coverage


def test_walks_on_ray_share_the_budget():
    model = load_model("two-phase")(rms=3)
    r = simulate(model, seed=1, engine="ray", workers=2, max_states=2001, max_depth=20)
    assert (r.verdict, r.workers) == ("incomplete", 2)
    assert r.states_generated == 2001
    assert r.bound.startswith("simulation on Ray (2 tasks): ")
    assert r.bound.endswith(" walks, 2,001 states (seed 1)")
    assert 0 < r.distinct_states <= 288  # the union: two-phase at 3 RMs has 288 states

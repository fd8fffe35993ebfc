"""The partitioned search (``--workers``, checkers/parallel.py) and the frontier that spills to
disk (checkers/frontier.py) against the one-process search (issue 13, items 3 and 4).

A complete search counts the same distinct and generated states and the same depth whatever
the number of shards and whether the frontier spilled; a violated model has the same verdict,
the same property when it is the only one violated at that depth, and a counterexample of the
same (shortest) length that replays.
"""

import pytest

from kripke import check, load_model
from kripke.checkers import frontier as frontier_module
from kripke.checkers.explicit import select_properties
from kripke.checkers.frontier import Frontier, MemoryBudget, _resident, parse_size
from kripke.checkers import parallel
from kripke.checkers.parallel import InProcess, Processes
from kripke.checkers.partition import Partition, choose
from kripke.errors import ParamError
from kripke.models.system import registry
from kripke.traces.trace import replay
from tests.conftest import kripke

#: parameters that keep a model's search under a second (raft at its defaults takes ~15 s)
SMALL = {"raft": {"servers": 2}, "two-phase": {"rms": 4}, "two-phase-eager": {"rms": 4}}


def safety(model):
    """The model's default properties but the temporal ones (which need one process)."""
    return [p.name for p in select_properties(model, None) if not p.temporal]


def outcome(r):
    v = r.violation
    return (r.verdict, r.distinct_states if v is None else None,
            r.states_generated if v is None else None, r.depth if v is None else None,
            None if v is None else v.kind,
            None if v is None or v.trace is None else len(v.trace.steps))


@pytest.mark.parametrize("name", sorted(registry()))
def test_every_built_in_model_counts_alike_on_two_workers(name):
    model = load_model(name)(**SMALL.get(name, {}))
    props = safety(model)
    one = check(model, properties=props)
    two = check(model, properties=props, workers=2)
    assert outcome(two) == outcome(one)
    assert (two.symmetry, two.symmetry_note) == (one.symmetry, one.symmetry_note)
    if one.violation is not None:
        if len({v.property for v in check(model, properties=props, keep_going=True)
                .violations if v.trace is not None
                and len(v.trace.steps) == len(one.violation.trace.steps)}) == 1:
            assert two.violation.property == one.violation.property
        if two.violation.trace is not None:
            assert replay(two.violation.trace).ok


def test_counts_equal_tlc_with_three_workers_and_in_process_shards(monkeypatch):
    """TwoPhase.tla with 4 RMs: TLC's 1,568 distinct states (5,549 generated... as kripke's own
    one-process count), over 3 worker processes and over 3 shards in one process."""
    model = load_model("two-phase")(rms=4)
    one = check(model, symmetry=False)
    assert (one.distinct_states, one.depth) == (1568, 14)
    three = check(model, symmetry=False, workers=3)
    assert (three.distinct_states, three.states_generated, three.depth) == (
        one.distinct_states, one.states_generated, one.depth)
    assert three.coverage.keys() == one.coverage.keys()
    assert all(three.coverage[a]["fired"] == one.coverage[a]["fired"] for a in one.coverage)
    assert sum(c["new"] for c in three.coverage.values()) == one.distinct_states - 1
    monkeypatch.setattr(Processes, "__init__", lambda self, make, n, m: InProcess.__init__(
        self, make, n))
    monkeypatch.setattr(Processes, "start", InProcess.start)
    monkeypatch.setattr(Processes, "step", InProcess.step)
    monkeypatch.setattr(Processes, "parent", InProcess.parent)
    monkeypatch.setattr(Processes, "close", InProcess.close)
    inproc = check(model, symmetry=False, workers=3)
    assert (inproc.distinct_states, inproc.states_generated) == (1568, one.states_generated)


@pytest.mark.parametrize("name, params, variables", [
    ("two-phase", {"rms": 3}, None),
    ("two-phase-eager", {"rms": 3}, None),
    ("paxos-ignore-1b", {}, None),
    ("raft", {"servers": 2}, ["voted_for", "current_term", "messages", "up"]),
])
def test_counts_alike_whatever_variable_owns_the_states(monkeypatch, name, params, variables):
    """Partitioned by one variable instead of the fingerprint (Lerda and Sisto's partition,
    checkers/partition.py), even one that never changes (raft's ``up``: one shard owns every
    state): the same counts, verdict and counterexample length, and the trace replays (the
    coordinator asks every shard for a parent, since a key is not a fingerprint). Without
    symmetry: a variable's value is not invariant under renaming (choose() keeps the
    fingerprint under symmetry)."""
    model = load_model(name)(**params)
    props = safety(model)
    one = check(model, properties=props, symmetry=False)
    for variable in variables or type(model).variables:
        monkeypatch.setattr(parallel, "choose", lambda *_: Partition((variable,)))
        two = check(model, properties=props, symmetry=False, workers=2)
        assert two.partition == f"by {variable}"
        assert outcome(two) == outcome(one), variable
        if two.violation is not None and two.violation.trace is not None:
            assert replay(two.violation.trace).ok


def test_the_partition_keeps_successors_with_their_parent():
    """choose() samples the first levels: raft is split by who each server voted for, which
    few steps change (issue 13, item 4); symmetry, one shard, or too few states to judge
    keep the fingerprint."""
    raft = load_model("raft")()
    assert "voted_for" in choose(raft, 2, False).fields
    assert choose(raft, 2, True) == choose(raft, 1, False) == Partition()
    assert choose(load_model("toy-counter")(), 2, False) == Partition()
    commit = load_model("commit-2pc")()
    r = check(commit, properties=safety(commit), workers=2)
    assert r.partition == choose(commit, 2, False).describe() != "fingerprint"
    assert check(commit, properties=safety(commit)).partition is None
    out = kripke("check", "commit-2pc", "--workers", 2, "--property", "atomic_commit").output
    assert f"2 workers, the states split among them by {r.partition[3:]}\n" in out
    assert "states split" not in kripke("check", "commit-2pc", "--property",
                                        "atomic_commit").output


def test_bounds_and_keep_going_across_workers():
    model = load_model("two-phase")(rms=4)
    deep = check(model, symmetry=False, max_depth=5)
    assert check(model, symmetry=False, max_depth=5, workers=2).distinct_states == \
        deep.distinct_states
    r = check(model, symmetry=False, max_states=100, workers=2)
    assert r.verdict == "incomplete" and r.bound == "max_states=100"
    assert r.distinct_states > 100  # checked between levels: the level that passed it is whole
    eager = load_model("two-phase-eager")(rms=3)
    one = check(eager, symmetry=False, keep_going=True)
    two = check(eager, symmetry=False, keep_going=True, workers=2)
    assert sorted(v.property for v in two.violations) == sorted(v.property
                                                                for v in one.violations)
    assert {v.property: len(v.trace.steps) for v in two.violations if v.trace} == \
        {v.property: len(v.trace.steps) for v in one.violations if v.trace}


def test_workers_refuse_what_they_cannot_check():
    model = load_model("lww-store")()
    temporal = [p.name for p in model.properties if p.temporal]
    assert temporal
    with pytest.raises(ParamError, match="temporal properties"):
        check(model, properties=temporal, workers=2)
    with pytest.raises(ParamError, match="dfs"):
        check(model, strategy="dfs", workers=2, properties=safety(model))
    with pytest.raises(ParamError, match="workers must be"):
        check(model, workers=0)


def test_an_exception_in_a_worker_is_a_finding_with_its_trace():
    model = load_model("toy-raises")()
    one, two = check(model), check(model, workers=2)
    assert (two.verdict, two.violation.kind) == (one.verdict, one.violation.kind) == (
        "violated", "exception")
    assert len(two.violation.trace.steps) == len(one.violation.trace.steps)
    assert two.violation.trace.steps[-1].error == one.violation.trace.steps[-1].error


# -- the frontier --------------------------------------------------------------------------------
def test_parse_size():
    assert parse_size("600MB") == 600 * 2 ** 20
    assert parse_size("1.5G") == int(1.5 * 2 ** 30)
    assert parse_size("2GiB") == 2 * 2 ** 30
    assert parse_size("1000") == 1000
    assert parse_size("lots") is None and parse_size("-1G") is None and parse_size("0") is None


@pytest.mark.parametrize("lifo", [False, True])
def test_a_spilling_frontier_keeps_its_order(monkeypatch, tmp_path, lifo):
    monkeypatch.setattr(frontier_module, "CHUNK", 7)
    model = load_model("two-phase")(rms=2)
    state = next(iter(model.init()))
    q = Frontier(model, lifo=lifo)
    q.spilling = True
    popped, pushed = [], 0
    for round_ in range(20):
        for _ in range(round_ % 5 * 4):
            q.push((state, pushed, 1))
            pushed += 1
        q.relieve()
        assert len(q) == pushed - len(popped)
        assert [x[1] for x in q.items()][:3] == [x[1] for x in list(q.items())[:3]]
        for _ in range(3):
            if q.head or q.refill():
                popped.append(q.pop()[1])
    assert q.on_disk > 0 or lifo
    order = [x[1] for x in q.items()]
    while q.head or q.refill():
        popped.append(q.pop()[1])
    assert popped[len(popped) - len(order):] == order
    assert sorted(popped) == list(range(pushed))
    if not lifo:
        assert popped == list(range(pushed))
    q.close()


@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
def test_a_search_that_spills_counts_alike(monkeypatch, strategy):
    """A budget that the process has half used from the start: the frontier spills (in chunks
    of 10 states), the counts and the counterexample are those of a search that did not."""
    monkeypatch.setattr(frontier_module, "CHUNK", 10)
    spilled = []
    original = Frontier._spill
    monkeypatch.setattr(Frontier, "_spill", lambda self, items: (
        spilled.append(len(items)), original(self, items)))
    for name, params in (("two-phase", {"rms": 4}), ("two-phase-eager", {"rms": 4})):
        model = load_model(name)(**params)
        plain = check(model, symmetry=False, strategy=strategy)
        tight = check(model, symmetry=False, strategy=strategy,
                      memory_limit=int(1.5 * _resident()))
        assert outcome(tight) == outcome(plain)
    assert spilled


def test_a_memory_budget_stops_the_search_cleanly():
    model = load_model("two-phase")(rms=5)
    r = check(model, symmetry=False, memory_limit=_resident() // 2)
    assert r.verdict == "incomplete" and r.bound.startswith("memory_limit=")
    assert 0 < r.distinct_states < 8832
    assert MemoryBudget(1).state() == "stop"
    assert MemoryBudget(10 ** 15).state() == "ok"
    with pytest.raises(ParamError, match="memory_limit"):
        check(model, memory_limit=0)


def test_a_worker_that_dies_is_one_line_not_a_hang(monkeypatch):
    """A worker killed mid-level (here it exits as the OOM killer would leave it) ends the
    search with a KripkeError naming it, and the other worker is stopped."""
    import os
    from kripke.checkers.parallel import Shard
    from kripke.errors import KripkeError
    expand = Shard.expand

    def dying(self, interrupted, new_level=True):
        if self.index == 1:
            os._exit(137)
        return expand(self, interrupted, new_level)

    monkeypatch.setattr(Shard, "expand", dying)
    with pytest.raises(KripkeError, match=r"worker process kripke-shard-1 died \(exit code 137"):
        check(load_model("two-phase")(rms=3), symmetry=False, workers=2)

"""Liveness under fairness (issue 11): hand-derived verdicts on toy models, lassos that replay,
replay that refuses an unfair or non-closing loop, and the graph passes against networkx."""

import json
import random
from array import array

import networkx as nx
import pytest
from click.testing import CliRunner

from kripke import check, load_model, replay
from kripke.checkers import liveness
from kripke.common import speedups
from kripke.errors import DefinitionError, TraceFormatError
from kripke.traces.trace import from_json
from kripke.cli import main

TOYS = "tests/fixtures/liveness_toys.py"


def run_kripke(*args):
    """The ``kripke`` command in this process: ``(exit code, output)``."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def toy(name, **params):
    return load_model(f"{TOYS}:{name}")(**params)


def lasso(trace):
    """``(actions of the prefix, actions of the loop, loop_start)`` of a lasso trace."""
    actions = [s.action for s in trace.steps[1:]]
    k = trace.loop_start
    return actions[:k], actions[k:], k


@pytest.mark.parametrize("name, params, fairness, distinct, verdicts", [
    # a cycle that never reaches P, and []<>P / <>[]P on the same cycle
    ("Flip", {}, True, 2, {"reaches_two": ([], ["flip", "flip"], 0), "flips_back": None,
                           "settles": ([], ["flip", "flip"], 0)}),
    # holds only under weak fairness: noise may loop for ever, but inc is enabled throughout
    ("Race", {}, True, 6, {"reaches_two": None, "settles": None, "toggles": None}),
    ("Race", {}, False, 6, {"reaches_two": ([], [], 0), "settles": ([], [], 0),
                            "toggles": ([], [], 0)}),
    ("Race", {"noisy_fair": False}, True, 6, {"reaches_two": None, "settles": None,
                                              "toggles": (["inc", "inc"], [], 2)}),
    # needs strong fairness: drive is disabled at red, so WF(drive) allows never driving
    ("Light", {}, True, 4, {"passes": ([], ["toggle", "toggle"], 0)}),
    ("Light", {"strength": "strong"}, True, 4, {"passes": None}),
    # a stuttering dead end
    ("DeadEnd", {}, True, 3, {"reaches_two": (["to_one"], [], 1)}),
    # leads_to
    ("Grant", {}, True, 3, {"served": None}),
    ("Grant", {}, False, 3, {"served": (["request"], [], 1)}),
    # fairness per message of a state-dependent domain
    ("Mailbox", {}, True, 4, {"gets_b": None}),
    ("Mailbox", {}, False, 4, {"gets_b": ([], [], 0)}),
])
@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
def test_hand_derived_verdicts(name, params, fairness, distinct, verdicts, strategy):
    model = toy(name, **params)
    result = check(model, keep_going=True, fairness=fairness, strategy=strategy)
    assert result.distinct_states == distinct
    assert result.distinct_states == check(model, properties=[]).distinct_states
    found = {v.property: v for v in result.violations}
    assert set(found) == {p for p, v in verdicts.items() if v is not None}
    assert result.verdict == ("violated" if found else "ok")
    for prop, v in found.items():
        assert v.kind == "liveness" and v.trace.kind == "liveness"
        if strategy == "bfs":  # shortest prefixes; DFS finds another lasso that replays
            assert lasso(v.trace) == verdicts[prop]
        if v.trace.loop_start < len(v.trace.steps) - 1:  # the loop closes on its first state
            assert v.trace.steps[-1].state == v.trace.steps[v.trace.loop_start].state
        assert v.trace.fairness is fairness
        confirmed = replay(from_json(json.loads(json.dumps(v.trace.to_json()))))
        assert confirmed.ok, confirmed.message


def test_messages_say_where_the_loop_is():
    result = check(toy("DeadEnd"))
    assert result.violation.message == ("reaches_two (<>P) is violated: after 1 step a fair "
                                        "behaviour stutters for ever at step 1")
    result = check(toy("Flip"), properties=["settles"])
    assert result.violation.message == ("settles (<>[]P) is violated: after 0 steps a fair "
                                        "behaviour repeats steps 1-2 for ever (back to step 0)")
    result = check(toy("Grant"), fairness=False)
    assert "a behaviour (fairness not assumed) stutters for ever at step 1" in \
        result.violation.message


def test_replay_refuses_an_unfair_loop():
    trace = check(toy("Light")).violation.trace  # a fair loop under WF(drive)
    trace.params = {"strength": "strong"}  # the same loop is not fair under SF(drive)
    verdict = replay(trace)
    assert not verdict.ok
    assert verdict.message == ("the loop is not fair: drive() is strongly fair, enabled in the "
                               "loop and never taken in it")


def test_replay_refuses_stuttering_where_a_weakly_fair_call_is_enabled():
    trace = check(toy("DeadEnd")).violation.trace
    del trace.steps[1:]  # stutter in the initial state, where to_one and to_two are enabled
    trace.loop_start = 0
    verdict = replay(trace)
    assert not verdict.ok and "to_one() is weakly fair, enabled in every state of the loop" in \
        verdict.message
    trace.fairness = False  # without fairness the same stutter is a counterexample
    assert replay(trace).ok


def test_replay_refuses_a_loop_that_does_not_close_or_a_property_that_holds():
    trace = check(toy("Flip"), properties=["reaches_two"]).violation.trace
    trace.loop_start = 1  # steps 1..2 are x = 1, x = 0: the last state is not step 1's
    verdict = replay(trace)
    assert not verdict.ok and verdict.message.startswith("step 2: the loop does not close")
    trace.loop_start, trace.property = 0, "flips_back"  # []<>(x = 0) holds on this loop
    verdict = replay(trace)
    assert not verdict.ok and verdict.message == ("flips_back holds on the behaviour that "
                                                  "repeats steps 1-2 for ever")


def test_trace_files_carry_the_lasso():
    data = check(toy("Grant"), fairness=False).violation.trace.to_json()
    assert (data["loop_start"], data["fairness"]) == (1, False)
    assert "fairness" not in check(toy("Flip")).violation.trace.to_json()
    with pytest.raises(TraceFormatError, match="needs loop_start"):
        from_json(dict(data, loop_start=None))
    with pytest.raises(TraceFormatError, match="fairness 'no' is not true or false"):
        from_json(dict(data, fairness="no"))
    with pytest.raises(TraceFormatError, match="a invariant trace has no loop"):
        from_json(dict(data, kind="invariant"))
    with pytest.raises(TraceFormatError, match="is not a step index"):
        from_json(dict(data, loop_start=True))


def test_a_temporal_property_turns_symmetry_off_and_says_so():
    model = toy("Workers", procs=3)
    result = check(model)
    assert (result.verdict, result.distinct_states, result.symmetry) == ("ok", 8, False)
    assert result.symmetry_note.startswith("symmetry off: temporal properties are checked on "
                                           "the whole state graph")
    assert check(model, properties=[]).symmetry  # safety alone is reduced: 4 orbits
    assert check(model, properties=[]).distinct_states == 4
    with pytest.raises(DefinitionError, match="all_done is a temporal property, checked "
                                              "without symmetry reduction"):
        check(model, symmetry=True)


def test_a_predicate_that_raises_is_a_finding_with_its_trace():
    from kripke.specs.properties import eventually
    model = toy("Flip")
    model.properties = [eventually(lambda m, s: 1 // s.x == 1, name="divides")]
    v = check(model).violation
    assert (v.property, v.kind) == ("divides", "exception")
    assert v.trace.steps[-1].error == "ZeroDivisionError: integer division or modulo by zero"


def test_temporal_properties_are_not_checked_when_states_lie_outside_the_constraint():
    class Bounded(type(toy("Race"))):
        def within(self, s):
            return s.x < 2

    result = check(Bounded())
    assert result.verdict == "incomplete"
    assert result.bound == ("temporal properties are not checked when states lie outside the "
                            "constraint within()")


def test_cli_check_prints_the_lasso_and_exits_by_the_verdict(tmp_path):
    code, out = run_kripke("check", f"{TOYS}:Light", "--out", tmp_path / "light")
    assert code == 1
    assert "passes violated (liveness)" in out and "back to step 0" in out
    assert ("passes (<>P) is violated: after 0 steps a fair behaviour repeats steps 1-2 for "
            "ever (back to step 0)\n") in out
    assert replay(from_json(json.loads((tmp_path / "light" / "trace.json").read_text()))).ok
    assert run_kripke("check", f"{TOYS}:Light", "-p", "strength=strong")[0] == 0
    assert run_kripke("check", f"{TOYS}:Grant")[0] == 0
    code, out = run_kripke("check", f"{TOYS}:Grant", "--no-fairness", "--json", "--trace")
    data = json.loads(out)
    assert code == 1 and data["violation"]["kind"] == "liveness"
    assert data["violation"]["trace"]["loop_start"] == 1
    code, out = run_kripke("replay", tmp_path / "light" / "trace.json")
    assert code == 0 and "reproduced: passes fails" in out


# -- the graph passes against networkx ---------------------------------------------------------
def random_graph(rng):
    """A random graph in the engine's flat form (the states' edge slices laid out in a random
    order, as a DFS expands them) and a random mask."""
    n = rng.randint(1, 40)
    p = rng.choice([0.02, 0.05, 0.1, 0.3])
    start, count, dst = array("q", [0]) * n, array("q", [0]) * n, array("i")
    for i in rng.sample(range(n), n):
        targets = [j for j in range(n) if rng.random() < p]
        start[i], count[i] = len(dst), len(targets)
        dst.extend(targets)
    mask = bytearray(1 if rng.random() < 0.8 else 0 for _ in range(n))
    return start, count, dst, mask


def twins():
    found = [("python", liveness._reach, liveness._strongly_connected)]
    if speedups() is not None:
        found.append(("c", liveness._c_reach, liveness._c_strongly_connected))
    return found


@pytest.mark.parametrize("label, reach, strongly_connected", twins())
def test_components_and_reach_agree_with_networkx(label, reach, strongly_connected):
    rng = random.Random(11)
    for _ in range(2000):
        start, count, dst, mask = random_graph(rng)
        n = len(mask)
        # the edges as the flat arrays hold them, for networkx
        flat = nx.DiGraph()
        flat.add_nodes_from(i for i in range(n) if mask[i])
        flat.add_edges_from((i, dst[e]) for i in range(n) if mask[i]
                            for e in range(start[i], start[i] + count[i]) if mask[dst[e]])
        comp, sizes = strongly_connected(start, count, dst, mask)
        assert sorted(sizes) == sorted(map(len, nx.strongly_connected_components(flat)))
        mine = {}
        for i, c in enumerate(comp):
            assert (c >= 0) == bool(mask[i])
            if c >= 0:
                mine.setdefault(c, set()).add(i)
        assert sorted(map(sorted, mine.values())) == \
            sorted(map(sorted, nx.strongly_connected_components(flat)))
        # numbered as completed: every edge leaves a component for one numbered no later
        assert all(comp[i] >= comp[j] for i, j in flat.edges)
        roots = [i for i in range(n) if rng.random() < 0.2]
        order, parent, region = reach(start, count, dst, mask,
                                      bytearray(i in roots for i in range(n)))
        expected = set()
        for r in roots:
            if mask[r]:
                expected |= {r} | nx.descendants(flat, r)
        assert set(order) == expected and len(order) == len(expected)
        assert region == bytearray(i in expected for i in range(n))
        for i in order:  # each reached state hangs from a root by edges of the graph
            assert parent[i] == -1 and i in roots or flat.has_edge(parent[i], i)
        assert all(parent[i] == -2 for i in range(n) if i not in expected)


@pytest.mark.parametrize("strategy", ["simulate", "hypothesis"])
def test_random_strategies_report_temporal_properties_as_not_checked(strategy):
    from kripke.checkers.stateful import hypothesis_check
    from kripke.checkers.simulate import simulate
    model = toy("Light")  # passes is violated: a random walk must not call it anything
    result = (simulate(model, max_states=200) if strategy == "simulate"
              else hypothesis_check(model, max_examples=5))
    assert result.verdict == "incomplete" and result.violation is None
    assert result.not_checked == {"passes": "eventually: a random walk cannot decide it; check "
                                            "it with --strategy bfs"}
    assert result.to_json()["not_checked"] == result.not_checked
    code, out = run_kripke("check", f"{TOYS}:Light", "--strategy", strategy, "--walks", "3")
    assert code == 3 and "  not checked: passes (eventually: a random walk" in out


def test_bench_times_liveness_beside_safety():
    code, out = run_kripke("bench", "--liveness", "--sizes", "3", "--repeat", "1", "--json")
    rows = json.loads(out)["rows"]
    assert code == 0
    assert [(r["model"], r["params"], r["run"], r["distinct_states"], r["verdict"])
            for r in rows] == [
        ("two-phase", "rms=3", "safety", 288, "ok"),
        ("two-phase", "rms=3", "liveness", 288, "ok"),
        ("commit-2pc", "", "safety", 5800, "ok"),
        ("commit-2pc", "", "liveness", 5800, "violated"),
    ]
    assert rows[1]["properties"] == "rm_learns_outcome"
    assert all(r["time_ratio"] > 0 and r["memory_ratio"] > 0 for r in rows[1::2])


def test_replay_of_leads_to_looks_for_a_request_that_is_never_served():
    """Grant's cycle request, serve, reset: a trace where Q follows the first P but not a later
    one is a counterexample only if that later P is never served."""
    trace = check(toy("Grant"), fairness=False).violation.trace  # request, then stutter
    assert replay(trace).ok
    cycle = [("request", {"req": True, "grant": False}), ("serve", {"req": True, "grant": True}),
             ("reset", {"req": False, "grant": False})]
    from kripke.traces.trace import Step
    trace.steps[1:] = [Step(a, {}, state) for a, state in cycle + cycle[:1]]
    trace.loop_start, trace.fairness = 4, False  # served once, requested again, stutters
    assert replay(trace).ok
    del trace.steps[4:]
    trace.loop_start = 0  # the whole cycle repeats: every request is served
    verdict = replay(trace)
    assert not verdict.ok and verdict.message == ("served holds on the behaviour that repeats "
                                                  "steps 1-3 for ever")

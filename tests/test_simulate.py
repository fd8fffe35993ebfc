"""Random simulation: reproducible from its seed, bounded by walks, states or time, and able to
find violations where exhaustive search is out of reach."""

import json
import os
import subprocess
import sys

import pytest

from kripke.checkers.simulate import simulate
from kripke.models.system import Param, TransitionSystem, action, load_model
from kripke.models.types import Domain, Int
from kripke.traces.trace import replay
from tests.conftest import ROOT

Item = Domain("Item", "items")


class ManyAndOne(TransitionSystem):
    """``touch(i)`` for each of ``items`` items (a stutter) and one ``flip`` of a bit: in every
    state ``items + 1`` calls are enabled, ``items`` of them of one action."""

    items = Param(20, "instances of touch", min=1)
    variables = {"x": Int(0, 1)}

    def init(self):
        yield self.State(x=0)

    @action(each=Item)
    def touch(self, s, i):
        return s

    @action
    def flip(self, s):
        return s.set(x=1 - s.x)


def test_an_action_is_drawn_first_then_one_of_its_calls():
    """Issue 10, item 7: an action with many instances does not drown the rest. Drawing one of
    the 21 enabled calls would flip about 1,000 / 21 = 48 times in 1,000 steps; drawing the
    action first flips about 500 times."""
    r = simulate(ManyAndOne(), seed=0, walks=1, max_depth=1000)
    fired = {name: c["fired"] for name, c in r.coverage.items()}
    assert sum(fired.values()) == 1000
    assert 450 <= fired["flip"] <= 550, fired


def test_finds_the_articles_two_leaders_at_five_servers():
    model = load_model("raft-article")(servers=5, restarts=False, max_msgs=3)
    r = simulate(model, seed=1, max_depth=60)
    v = r.violation
    assert (r.verdict, v.property) == ("violated", "election_safety")
    assert v.trace.steps[-1].state["state"].count("leader") >= 1
    assert replay(v.trace).ok


def test_the_same_seed_gives_the_same_run():
    def run(seed):
        model = load_model("lww-store-article")(max_skew=1, lossy=True, duplicating=True)
        r = simulate(model, seed=seed, max_states=3000)
        return (r.verdict, r.distinct_states, r.states_generated,
                r.violation and [s.action for s in r.violation.trace.steps])
    assert run(3) == run(3)
    assert run(3) != run(4)


def test_budgets_and_coverage():
    model = load_model("two-phase")(rms=3)
    r = simulate(model, walks=20, seed=0)
    assert (r.verdict, r.bound) == ("incomplete", "simulation: 20 walks, 2,000 states (seed 0)")
    assert sum(c["fired"] for c in r.coverage.values()) > 0
    assert simulate(model, time_limit=0.0).states_generated == 0
    assert simulate(model, max_states=123).states_generated == 123


#: Walks per seed for the test below. Measured (seeds 0-99, walks of 100 steps): the first
#: violation came after at most 59 walks (5,840 states; median 9 walks), at most 54 for seeds
#: 0-9. The old uniform draw over all enabled calls found it for none of seeds 0-9 within 100
#: walks (10,000 states), and for 3 of them within 100,000 states.
ARTICLE_WALKS = 110


@pytest.mark.parametrize("seed", range(10))
def test_finds_election_safety_at_five_servers_with_the_defaults(seed):
    """``raft-article`` with ``servers=5``, everything else at its default (restarts on, one
    message in flight): five ``restart`` calls are on offer in nearly every state."""
    model = load_model("raft-article")(servers=5)
    r = simulate(model, seed=seed, walks=ARTICLE_WALKS)
    v = r.violation
    assert (r.verdict, v.property, r.seed) == ("violated", "election_safety", seed)
    assert replay(v.trace).ok


def _check_json(*args, hashseed):
    env = dict(os.environ, PYTHONHASHSEED=str(hashseed))
    out = subprocess.run([sys.executable, "-m", "kripke.cli", "check", *args, "--json"],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    data = json.loads(out.stdout)
    data.pop("elapsed_s")
    return out.returncode, data


@pytest.mark.parametrize("params", [["servers=5"], ["servers=5", "max_msgs=3"]])
def test_a_seed_gives_the_same_trace_in_another_process(tmp_path, params):
    """Strings hash with a per-process seed, and raft's messages in flight sit in a frozenset;
    the enabled calls are ordered independently of it, so a seed repeats across processes.
    (With one message in flight, the default, the order hardly matters; with three, walks
    drawn from the calls in their hash order differ between these two hash seeds.)"""
    def run(hashseed):
        out = tmp_path / str(hashseed)
        code, data = _check_json("raft-article", *(a for p in params for a in ("-p", p)),
                                 "--strategy", "simulate", "--seed", "3", "--out", out,
                                 hashseed=hashseed)
        assert (code, data["verdict"], data["seed"]) == (1, "violated", 3), data
        trace = json.loads((out / "trace.json").read_text())
        return json.dumps(data).replace(str(out), "OUT"), trace  # trace_file names the folder
    first = run(1)
    assert first == run(3)
    assert len(first[1]["steps"]) > 1


def test_the_json_records_the_seed_of_an_incomplete_run():
    code, data = _check_json("two-phase", "--strategy", "simulate", "--seed", "7", "--walks",
                             "2", hashseed=0)
    assert (code, data["verdict"], data["seed"]) == (3, "incomplete", 7)
    assert data["bound"] == "simulation: 2 walks, 200 states (seed 7)"

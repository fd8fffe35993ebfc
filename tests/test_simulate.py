"""Random simulation: reproducible from its seed, bounded by walks, states or time, and able to
find violations where exhaustive search is out of reach."""

from kripke.checkers.simulate import simulate
from kripke.models.system import load_model
from kripke.traces.trace import replay


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

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "models.py"
sys.path.insert(0, str(ROOT))


@pytest.fixture(autouse=True)
def _run_from_root(monkeypatch):
    """Model specs like tests/fixtures/models.py:X are relative to the project root."""
    monkeypatch.chdir(ROOT)


def kripke(*args):
    """``kripke ARGS...`` through click's test runner: its result (exit code, output); an
    exception other than the CLI's own exit is raised, never taken for an exit code."""
    from click.testing import CliRunner
    from kripke.cli import main
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def fixture_model(name):
    return f"tests/fixtures/models.py:{name}"


#: the largest rms the slow exhaustive tests run (CI runs the default; raise it locally)
MAX_RMS = int(os.environ.get("KRIPKE_MAX_RMS", "6"))


def walk_calls(name, params, calls):
    """``(model, steps)``: the steps of ``calls`` (each an action name, the first enabled call
    of it, or a full label such as ``rm_prepare(rm=0)``) from the initial state of model
    ``name``, each state made by the model's own successors."""
    from kripke.models.system import load_model
    from kripke.traces.trace import Step
    model = load_model(name)(**params)
    s = next(iter(model.init()))
    steps = [Step(None, {}, model.encode(s))]
    for call in calls:
        for action, args, t in model.successors(s):
            step = Step(action, model.action_args(action, args), model.encode(t))
            if call in (action, step.label()):
                steps.append(step)
                s = t
                break
        else:
            raise AssertionError(f"{call} is not enabled after step {len(steps) - 1}")
    return model, steps


def reachable_states(model):
    """Every reachable state of ``model``, by the plain search of traces/graph.py."""
    from kripke.traces.graph import reachable
    states, _ = reachable(model, max_states=10**7)
    return set(states)


def expect_property(model, prop, verdict, length=None):
    """Check one property of ``model``; assert the verdict and, for a violation with a trace of
    ``length`` steps, the violated property, the length, and that the trace replays."""
    from kripke.checkers.explicit import check
    from kripke.traces.trace import replay
    r = check(model, properties=[prop])
    assert r.verdict == verdict
    if length is not None:
        v = r.violation
        assert (v.property, len(v.trace.steps) - 1) == (prop, length)
        assert replay(v.trace).ok
    return r

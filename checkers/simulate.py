"""Random simulation (``--strategy simulate``): random walks from the initial states.

Like TLC's ``-simulate``: each walk starts at a random initial state and follows random enabled
actions for at most ``max_depth`` steps (default 100), checking invariants, refinement, deadlock
and exceptions on the way, until ``max_states`` states have been visited in all (default
100,000). A walk *is* its own trace, so a violation is reported with it at once. Simulation never
proves a property: without a violation the verdict is ``incomplete``.
"""

import random
import time

from checkers.explicit import select_properties
from checkers.errors import KripkeError
from checkers.result import INCOMPLETE, VIOLATED, Result, Violation
from models.system import model_spec
from traces.trace import Step, Trace

__all__ = ["simulate"]


def simulate(model, *, properties=None, seed=0, max_states=None, max_depth=None, deadlock=True,
             symmetry=None):
    """Run random walks over ``model``; return a ``Result`` (violated or incomplete)."""
    props = select_properties(model, properties)
    invariants = [p for p in props if p.kind == "invariant"]
    refinements = [(p.name, p.checker(model)) for p in props if p.kind == "refinement"]
    max_states, max_depth = max_states or 100_000, max_depth or 100
    rng = random.Random(seed)
    inits = list(model.init())
    seen, visited, longest = set(), 0, 0
    coverage = {name: {"fired": 0, "new": 0} for name in model._actions}
    started = time.perf_counter()
    violation = None
    while visited < max_states and violation is None:
        s = rng.choice(inits)
        walk = [(None, (), s)]
        violation = _check(model, invariants, refinements, walk, None)
        while violation is None and len(walk) <= max_depth and visited < max_states:
            visited += 1
            seen.add(s)
            try:
                options = list(model.successors(s))
            except KripkeError:
                raise
            except Exception as e:  # the model raised: find which action, report the walk
                violation = _exception(model, s, walk, e)
                break
            if not options:
                if deadlock and not model.terminal(s):
                    violation = _violation(model, walk, "deadlock", "deadlock",
                                           f"deadlock: no action is enabled after "
                                           f"{len(walk) - 1} steps")
                break
            name, args, t = rng.choice(options)
            coverage[name]["fired"] += 1
            if t not in seen:
                coverage[name]["new"] += 1
            walk.append((name, args, t))
            violation = _check(model, invariants, refinements, walk, s)
            s = t
        longest = max(longest, len(walk))
    return Result(
        model=model_spec(type(model)), params=model.params, strategy="simulate",
        symmetry=False, verdict=VIOLATED if violation else INCOMPLETE,
        distinct_states=len(seen), states_generated=visited, depth=longest,
        elapsed_s=time.perf_counter() - started, properties=[p.name for p in props],
        coverage=coverage, violation=violation,
        bound=None if violation else f"simulation of {visited:,} states (seed {seed})")


def _check(model, invariants, refinements, walk, previous):
    _, _, s = walk[-1]
    if previous is None:
        for name, ref in refinements:
            if not ref.init_ok(s):
                return _violation(model, walk, name, "refinement", "bad initial state")
    for name, ref in refinements:
        if previous is not None and not ref.step_ok(previous, s):
            return _violation(model, walk, name, "refinement",
                              f"step {len(walk) - 1} is not allowed by {name}")
    for p in invariants:
        if not p.condition(model, s):
            return _violation(model, walk, p.name, "invariant",
                              f"{p.name} is violated after {len(walk) - 1} steps")
    return None


def _exception(model, s, walk, error):
    text = f"{type(error).__name__}: {error}"
    for name, fn, args in model._calls:
        try:
            fn(s, *args)
        except Exception:
            trace = _trace(model, walk, "exception", "exception")
            trace.steps.append(Step(name, model.action_args(name, args), None, text))
            return Violation("exception", "exception", trace,
                             f"step {len(walk)} {trace.steps[-1].label()} raised {text}")
    raise error


def _violation(model, walk, prop, kind, message):
    return Violation(prop, kind, _trace(model, walk, prop, kind), message)


def _trace(model, walk, prop, kind):
    steps = [Step(name, model.action_args(name, args) if name else {}, model.encode(s))
             for name, args, s in walk]
    return Trace(model_spec(type(model)), model.params, prop, kind, steps)

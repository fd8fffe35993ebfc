"""Random simulation (``--strategy simulate``): random walks from the initial states.

Like TLC's ``-simulate``: each walk starts at a random initial state and follows random enabled
actions for at most ``max_depth`` steps (default 100), checking the declared types, invariants,
step properties (but on stuttering steps), refinement, deadlock and exceptions on the way, until
``max_states`` states have been visited in all (default 100,000), ``walks`` walks have been
made, or ``time_limit`` seconds have passed. A walk *is* its own trace, so a violation is
reported with it at once. Simulation never proves a property: without a violation the verdict
is ``incomplete``.

Each step draws an enabled *action* first, uniformly, then one of its enabled calls and
outcomes, uniformly (as ``--strategy hypothesis`` does, see ``checkers/stateful.py``), so that an
action with many instances does not drown the rest: ``raft-article`` at five servers offers
five ``restart`` calls in nearly every state, and a uniform draw over all enabled calls spends
its walks restarting servers (issue 10, item 7). Measured on that model with ``servers=5`` and
every other parameter at its default (walks of 100 steps): action first, the election_safety
violation was found for 100 seeds of 100 within 10,000 states (at most 5,840, median 830);
one uniform draw over all enabled calls found it for 2 seeds of 100 within 10,000 states, and
for 8 seeds of 30 within 100,000 (none of seeds 0-9 within 10,000). A step costs the same
either way (about 88 us on that model).

Runs repeat exactly for a seed, in any process: the actions are taken in the model's order and
each one's calls in an order that does not depend on the process (messages in flight are kept
in hash order, and strings hash with a per-process seed) before one is drawn. The seed is in the
``Result`` (``"seed"`` in ``--json``) and in the bound of an incomplete run.
"""

import random
import time
from functools import partial

from kripke.checkers.explicit import select_properties
from kripke.errors import KripkeError
from kripke.checkers.result import INCOMPLETE, VIOLATED, Result, Violation, not_checked
from kripke.models.fingerprint import fingerprint, same_value
from kripke.models.system import model_spec
from kripke.models.types import total_order_key
from kripke.traces.trace import Step, walk_trace

__all__ = ["simulate"]


def simulate(model, *, properties=None, seed=0, max_states=None, max_depth=None, deadlock=True,
             symmetry=None, walks=None, time_limit=None):
    """Run random walks over ``model``; return a ``Result`` (violated or incomplete)."""
    props = select_properties(model, properties)
    invariants = [p for p in props if p.kind == "invariant"]
    refinements = [(p.name, p.checker(model)) for p in props if p.kind == "refinement"]
    steps = [(name, "refinement", ref.step_ok) for name, ref in refinements]
    steps += [(p.name, "step", partial(p.condition, model)) for p in props if p.kind == "step"]
    max_states, max_depth = max_states or 100_000, max_depth or 100
    rng = random.Random(seed)
    inits = list(model.init())
    seen, visited, longest = set(), 0, 0
    coverage = {name: {"fired": 0, "new": 0} for name in model._actions}
    order = {name: k for k, name in enumerate(model._actions)}
    started = time.perf_counter()
    deadline = started + time_limit if time_limit is not None else float("inf")
    violation, walked = None, 0
    while (visited < max_states and violation is None and walked < (walks or float("inf"))
           and time.perf_counter() < deadline):
        walked += 1
        s = rng.choice(inits)
        walk = [(None, (), s)]
        violation = next((_violation(model, walk, name, "refinement", "the initial state maps to "
                                     "no initial state of the abstract model")
                          for name, ref in refinements if not ref.init_ok(s)), None)
        violation = violation or _check(model, invariants, (), walk, None)
        while violation is None and len(walk) <= max_depth and visited < max_states:
            visited += 1
            seen.add(fingerprint(s))
            try:
                groups = _enabled(model, s, order)
            except KripkeError:
                raise
            except Exception as e:  # the model raised: find which action, report the walk
                violation = _exception(model, s, walk, e)
                break
            if not groups:
                if deadlock and not model.terminal(s):
                    violation = _violation(model, walk, "deadlock", "deadlock",
                                           f"deadlock: no action is enabled after "
                                           f"{len(walk) - 1} steps")
                break
            name, options = rng.choice(groups)  # an action first, then one of its steps
            args, t = rng.choice(options)
            coverage[name]["fired"] += 1
            if fingerprint(t) not in seen:
                coverage[name]["new"] += 1
            walk.append((name, args, t))
            violation = _check(model, invariants, steps, walk, s)
            s = t
        longest = max(longest, len(walk))
    return Result(
        model=model_spec(type(model)), params=model.params, strategy="simulate",
        symmetry=False, verdict=VIOLATED if violation else INCOMPLETE,
        distinct_states=len(seen), states_generated=visited, depth=longest,
        elapsed_s=time.perf_counter() - started, properties=[p.name for p in props],
        coverage=coverage, violation=violation, seed=seed, not_checked=not_checked(props),
        bound=None if violation else f"simulation: {walked:,} walks, {visited:,} states (seed {seed})")


def _enabled(model, s, order):
    """The enabled steps of ``s`` by action, ``[(action, [(args, t), ...]), ...]``: the actions
    in the model's order, each one's steps in a run-independent order (by arguments, then the
    outcomes of one call by value), so that a seed draws the same steps in every process."""
    groups = {}
    for name, args, thunk in model.each_call(s):
        out = thunk()
        if out is None:
            continue
        if type(out) is list:
            if not out:
                continue
            if len(out) > 1:
                out = sorted(out, key=total_order_key)
            groups.setdefault(name, []).extend((args, t) for t in out)
        else:
            groups.setdefault(name, []).append((args, out))
    for steps in groups.values():
        steps.sort(key=lambda step: total_order_key(step[0]))  # stable: outcomes stay sorted
    return sorted(groups.items(), key=lambda group: order[group[0]])


def _check(model, invariants, steps, walk, previous):
    """The first property the walk's last step or last state breaks, or None: the declared
    types first, then the step properties (but on a stuttering step), then the invariants. A
    property that raises is a finding of kind ``exception`` at the state it raised on."""
    _, _, s = walk[-1]
    n = len(walk) - 1
    wrong = model.type_error(s, previous)
    if wrong is not None:
        return _violation(model, walk, "type_ok", "type",
                          f"step {n} {wrong}" if n else f"the initial state {wrong}")
    stutter = previous is not None and same_value(previous, s)
    name = None
    try:
        for name, kind, step_ok in steps:
            if not (kind == "step" and stutter) and not step_ok(previous, s):
                return _violation(model, walk, name, kind, f"step {n} is not allowed by {name}")
        for p in invariants:
            name = p.name
            if not p.condition(model, s):
                return _violation(model, walk, name, "invariant",
                                  f"{name} is violated after {n} steps")
    except KripkeError:
        raise
    except Exception as e:
        violation = _violation(model, walk, name, "exception",
                               f"evaluating {name} on the state after {n} steps raised "
                               f"{type(e).__name__}: {e}")
        violation.trace.steps[-1].error = f"{type(e).__name__}: {e}"
        return violation
    return None


def _exception(model, s, walk, error):
    """The walk, ending with the call that raised ``error``."""
    for name, args, thunk in model.each_call(s):
        try:
            thunk()
        except Exception as e:
            text = f"{type(e).__name__}: {e}"
            trace = walk_trace(model, walk, "exception", "exception")
            trace.steps.append(Step(name, model.action_args(name, args), None, text))
            return Violation("exception", "exception", trace,
                             f"step {len(walk)} {trace.steps[-1].label()} raised {text}")
    raise error


def _violation(model, walk, prop, kind, message):
    return Violation(prop, kind, walk_trace(model, walk, prop, kind), message)

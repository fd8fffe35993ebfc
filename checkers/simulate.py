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

``--engine ray`` spreads the walks over a Ray cluster's CPUs (issue 13, item 6): walks are
independent, so each task walks its share of the budget with its own seed and nothing crosses
between tasks but the results. Because a walk repeats in any process, so does the merged run,
for a given seed and number of tasks.
"""

import random
import time
from array import array
from functools import partial
from typing import NamedTuple

from kripke.checkers.explicit import select_properties
from kripke.errors import KripkeError, ParamError, UnknownNameError
from kripke.checkers.result import INCOMPLETE, VIOLATED, Result, Violation, not_checked
from kripke.models.fingerprint import fingerprint, same_value
from kripke.models.system import load_model, model_spec
from kripke.models.types import total_order_key
from kripke.traces.trace import Step, walk_trace

__all__ = ["ENGINES", "simulate"]

#: "plain": the walks in this process; "ray": spread over a Ray cluster's CPUs
ENGINES = ("plain", "ray")


def simulate(model, *, properties=None, seed=0, max_states=None, max_depth=None, deadlock=True,
             symmetry=None, walks=None, time_limit=None, engine="plain", address=None,
             workers=None):
    """Run random walks over ``model``; return a ``Result`` (violated or incomplete).

    ``engine="ray"`` splits the walks into ``workers`` Ray tasks (None: one per CPU of the
    cluster at ``address``, or of a local Ray instance; see ``checkers.ray_engine``), each with
    its share of ``max_states`` and ``walks`` and a seed drawn from ``seed``, so that a run
    repeats for a given seed and number of tasks. The merged result sums the counts (distinct
    states: of the union), reports the violation with the shortest trace (on a tie, that of the
    lowest task) and, like one process, is violated or incomplete."""
    if engine not in ENGINES:
        raise UnknownNameError("engine", engine, ENGINES)
    if workers is not None and (type(workers) is not int or workers < 1):
        raise ParamError(f"workers must be a whole number >= 1, got {workers!r}")
    props = select_properties(model, properties)
    max_states, max_depth = max_states or 100_000, max_depth or 100
    started = time.perf_counter()
    if engine == "ray":
        runs = _on_ray(model, props, seed, max_states, max_depth, deadlock, walks, time_limit,
                       address, workers)
        where = f" on Ray ({len(runs)} tasks)"
    else:
        runs = [_walks(model, props, random.Random(seed), max_states, max_depth, deadlock, walks,
                       time_limit)]
        where = ""
    seen = set().union(*(run.seen for run in runs))
    visited = sum(run.visited for run in runs)
    walked = sum(run.walked for run in runs)
    coverage = {name: {key: sum(run.coverage[name][key] for run in runs)
                       for key in ("fired", "new")} for name in model._actions}
    found = [(len(run.violation.trace.steps), k) for k, run in enumerate(runs) if run.violation]
    violation = runs[min(found)[1]].violation if found else None
    return Result(
        model=model_spec(type(model)), params=model.params, strategy="simulate",
        symmetry=False, verdict=VIOLATED if violation else INCOMPLETE,
        distinct_states=len(seen), states_generated=visited,
        depth=max(run.longest for run in runs), elapsed_s=time.perf_counter() - started,
        properties=[p.name for p in props], coverage=coverage, violation=violation, seed=seed,
        not_checked=not_checked(props), workers=len(runs),
        bound=None if violation else
        f"simulation{where}: {walked:,} walks, {visited:,} states (seed {seed})")


class _Run(NamedTuple):
    """What one batch of walks found: the fingerprints of the states it visited (``seen``), the
    states it visited in all, its longest walk, the walks made, coverage, the violation."""

    seen: set
    visited: int
    longest: int
    walked: int
    coverage: dict
    violation: Violation


def _walks(model, props, rng, max_states, max_depth, deadlock, walks, time_limit):
    """Walk from random initial states until a violation, ``max_states`` states, ``walks`` walks
    or ``time_limit`` seconds: a ``_Run``."""
    invariants = [p for p in props if p.kind == "invariant"]
    refinements = [(p.name, p.checker(model)) for p in props if p.kind == "refinement"]
    steps = [(name, "refinement", ref.step_ok) for name, ref in refinements]
    steps += [(p.name, "step", partial(p.condition, model)) for p in props if p.kind == "step"]
    inits = list(model.init())
    seen, visited, longest = set(), 0, 0
    coverage = {name: {"fired": 0, "new": 0} for name in model._actions}
    order = {name: k for k, name in enumerate(model._actions)}
    deadline = time.perf_counter() + time_limit if time_limit is not None else float("inf")
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
    return _Run(seen, visited, longest, walked, coverage, violation)


def _on_ray(model, props, seed, max_states, max_depth, deadlock, walks, time_limit, address,
            workers):
    """The ``_Run`` of each Ray task, in task order. Task ``k`` gets the ``k``-th seed that
    ``random.Random(seed)`` draws and its share of the states and walks; a task whose share is
    nothing is not started."""
    from kripke.checkers import ray_engine
    tasks = workers or ray_engine.cluster_cpus(address)
    tasks = max(1, min(tasks, max_states, walks or tasks))
    draw = random.Random(seed)
    seeds = [draw.getrandbits(64) for _ in range(tasks)]
    spec, names = ray_engine.absolute_spec(model_spec(type(model))), [p.name for p in props]
    runs = ray_engine.run_tasks(_walk_share, [
        (spec, dict(model.params), names, seeds[k], _share(max_states, k, tasks), max_depth,
         deadlock, None if walks is None else _share(walks, k, tasks), time_limit)
        for k in range(tasks)], address)
    return [run._replace(seen=set(array("Q", run.seen))) for run in runs]


def _share(total, k, n):
    """Task ``k``'s share of ``total`` split over ``n`` tasks (the first ones get one more)."""
    return total // n + (k < total % n)


def _walk_share(spec, params, properties, seed, max_states, max_depth, deadlock, walks,
                time_limit):
    """One Ray task of ``_on_ray``: the model loaded by name, walked; the fingerprints it saw
    travel as 8 bytes each."""
    model = load_model(spec)(**params)
    run = _walks(model, select_properties(model, properties), random.Random(seed), max_states,
                 max_depth, deadlock, walks, time_limit)
    return run._replace(seen=array("Q", run.seen).tobytes())


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

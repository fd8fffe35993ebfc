"""Bounded model checking with z3 (issue 12): every behaviour of at most K steps, at once.

The transition relation is the model's own actions traced symbolically (``checkers.symbolic``):
per action instance, a disjunction of (path condition, next-state terms). Unrolled K times from
the initial states, it asks z3, depth by depth, whether some state at depth k violates an
invariant or leaves its declared types; the first depth that is satisfiable gives a shortest
counterexample, decoded into concrete states and turned into an ordinary kripke trace (each step's
action found by running the model on the decoded state), which the explicit engine replays.
Unsatisfiable up to K is "no violation up to depth K": verdict ``incomplete``, as Apalache
reports it; so is a solver ``unknown`` or a timeout.

Also found: a step that raises or leaves the declared types (an action's path marked as such by
the tracer), reported as the explicit engine reports it (kind ``exception`` or ``type``). Only
invariants (and the declared types) are checked; the other properties of the selection are
listed in ``Result.not_checked``. Depth counts steps (a trace of k steps has k + 1 states).
"""

import time

import z3

from kripke.checkers.explicit import select_properties
from kripke.checkers.result import INCOMPLETE, VIOLATED, Result, Violation
from kripke.checkers.symbolic import SymbolicModel
from kripke.errors import NondeterminismError, ParamError
from kripke.models.system import model_spec
from kripke.traces.trace import Step, Trace, encode_any

__all__ = ["bmc", "DEFAULT_DEPTH"]

#: the depth ``--strategy bmc`` unrolls to without ``--max-depth``
DEFAULT_DEPTH = 10


def bmc(model, *, properties=None, max_depth=None, time_limit=None, progress=None):
    """Check ``model``'s invariants on every behaviour of at most ``max_depth`` steps."""
    depth = DEFAULT_DEPTH if max_depth is None else max_depth
    if type(depth) is not int or depth < 0:
        raise ParamError(f"max_depth must be a whole number >= 0, got {max_depth!r}")
    started = time.perf_counter()
    props = select_properties(model, properties)
    invariants = [p for p in props if p.kind == "invariant" and p.name != "type_ok"]
    sym = SymbolicModel(model)
    checks = [(p.name, sym.invariant(p)) for p in invariants]
    checks.append(("type_ok", z3.And(*sym.x_facts)))
    relation, hazard = sym.relation(), sym.hazard()
    solver = z3.SolverFor("QF_BV")
    if time_limit is not None:
        solver.set("timeout", max(1, int(time_limit * 1000)))
    first, typed = sym.variables("s0")
    states, facts = [first], [typed]
    solver.add(z3.Or(*[z3.And(*[v == t for v, t in zip(states[0], init)])
                       for init in sym.init_terms()]))
    bound, violation, k = None, None, 0
    while True:
        now = states[k]
        pairs = list(zip(sym.x, now))
        solver.push()
        solver.add(z3.Or(*[z3.Not(z3.substitute(f, pairs)) for _, f in checks]))
        answer = solver.check()
        if answer == z3.sat:
            violation = _violation(model, sym, solver.model(), states, checks, invariants)
            break
        solver.pop()
        # Every state at depth k is well typed (type_ok is one of the checks): saying so bounds
        # the solver's search at the depths below.
        solver.add(*facts[k])
        if answer == z3.unknown:
            bound = f"bmc: the solver gave up at depth {k} ({solver.reason_unknown()})"
            break
        if progress is not None:
            progress({"depth": k, "elapsed": time.perf_counter() - started})
        if k == depth:
            bound = f"bmc: no violation up to depth {depth}"
            break
        # A step from depth k that raises or leaves the types: a finding at depth k + 1
        solver.push()
        solver.add(z3.substitute(hazard, pairs))
        answer = solver.check()
        if answer == z3.sat:
            violation = _hazard(model, sym, solver.model(), states)
            k += 1
            break
        solver.pop()
        if time_limit is not None and time.perf_counter() - started > time_limit:
            bound = f"time_limit={time_limit:g}"
            break
        nxt, typed = sym.variables(f"s{k + 1}")
        solver.add(z3.substitute(relation, pairs + list(zip(sym.y, nxt))))
        states.append(nxt)
        facts.append(typed)
        k += 1
    not_checked = {p.name: f"{p.kind}: bmc checks invariants and the declared types"
                   for p in props if p.kind != "invariant"}
    return Result(
        model=model_spec(type(model)), params=model.params, strategy="bmc", symmetry=False,
        verdict=VIOLATED if violation else INCOMPLETE, distinct_states=0, states_generated=0,
        depth=k + 1, elapsed_s=time.perf_counter() - started, properties=[p.name for p in props],
        violation=violation, bound=None if violation else bound, not_checked=not_checked)


def _hazard(model, sym, zmodel, states):
    """The finding of a path whose last step raises or leaves the declared types, found by
    running the model's calls on the last decoded state, as the explicit engine reports it."""
    concrete, steps = sym.path(zmodel, states, "the symbolic counterexample")
    last, n, spec = concrete[-1], len(concrete), model_spec(type(model))
    for name, args, thunk in model.each_call(last):
        try:
            out = thunk()
        except Exception as e:
            error = f"{type(e).__name__}: {e}"
            steps.append(Step(name, model.action_args(name, args), None, error))
            trace = Trace(spec, model.params, "exception", "exception", steps)
            return Violation("exception", "exception", trace,
                             f"step {n} {steps[-1].label()} raised {error}")
        for t in [] if out is None else out if type(out) is list else [out]:
            bad = model.type_error(t)
            if bad is not None:
                steps.append(Step(name, model.action_args(name, args), encode_any(model, t)))
                trace = Trace(spec, model.params, "type_ok", "type", steps)
                return Violation("type_ok", "type", trace, f"step {n} {steps[-1].label()} {bad}")
    raise NondeterminismError(
        f"{model.display_name()}: no step from the last state of the symbolic counterexample "
        "raises or leaves the declared types when the model runs on it: the symbolic encoding "
        "disagrees with the model (please report it)")


def _violation(model, sym, zmodel, states, checks, invariants):
    """The counterexample in a satisfying model: its concrete states, each step's action found
    by running the model, and the first property the last state violates."""
    concrete, steps = sym.path(zmodel, states, "the symbolic counterexample")
    last, n = concrete[-1], len(concrete) - 1
    bad_type = model.type_error(last)
    if bad_type is not None:
        trace = Trace(model_spec(type(model)), model.params, "type_ok", "type", steps)
        return Violation("type_ok", "type", trace, f"step {n} {bad_type}")
    prop = next((p for p in invariants if not p.condition(model, last)), None)
    if prop is None:
        raise NondeterminismError(
            f"{model.display_name()}: the symbolic counterexample's last state satisfies every "
            "invariant when evaluated concretely: the symbolic encoding disagrees with the model "
            "(please report it)")
    trace = Trace(model_spec(type(model)), model.params, prop.name, "invariant", steps)
    return Violation(prop.name, "invariant", trace, f"{prop.name} is violated after {n} steps")

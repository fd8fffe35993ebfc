"""Conformance testing of real code against a model (model-based testing), driven by Hypothesis.

An ``Adapter`` connects an implementation to a model: ``apply(action, args)`` performs a model
action on the implementation (or on the fake environment around it: a service that starts
failing, a clock that ticks), and ``observe()`` is the abstraction function, from what the
implementation and its environment show to the model's state. ``conformance_check`` runs them in
lockstep: in each step Hypothesis picks a call the model enables, the adapter performs it, and the
state observed must be one the model allows after that call; the first step where it is not fails
the run, with a kripke trace (JSON, rendered, and replayed against the model by ``confirm``).
Hypothesis then shrinks the run, as ``checkers.stateful`` does for a model alone.

What an adapter declares, beyond ``reset``, ``apply`` and ``observe``:

* ``observe()`` may return a whole ``model.State``, or a dict of some of its fields: the
  variables an implementation cannot be asked about (a model's history variables, counters the
  implementation need not keep) are then taken from the model's successor, and every successor
  that agrees with the observation stays a candidate (the runner follows the set);
* ``internal``: actions the implementation takes on its own, right after a driven step (a waiter
  that gets a freed slot, a retrier that gives up): the observed state may be reached from the
  step's outcome by any number of them (at most ``max_internal``), and they are never driven;
* ``refusable(action, args, state)``: calls the runner may also try when the model disables them
  (a call the model's breaker rejects); the implementation must then leave the observed state
  unchanged, the model's stutter;
* ``choose(options)``: a choice of the environment (does the call return or raise, the value of
  a random draw), drawn by Hypothesis, so that it is reproduced and shrunk with the run.

A nondeterministic action conforms when the implementation reaches any of its outcomes; the run
continues from the one it reached. The failing trace is the model's path up to the step, then the
step itself with the state the implementation showed (the fields it did not show filled in from
the model's closest outcome); a step where the implementation raised records the error instead.
Its kind is ``refinement`` (the implementation refines the model) and its property
``conformance``; ``traces.trace.replay`` diverges at exactly that last step, which ``confirm``
checks.
"""

import time
from collections import deque

from checkers.errors import DefinitionError, KripkeError
from checkers.result import INCOMPLETE, VIOLATED, Result, Violation
from checkers.stateful import PropertyViolation, Run, run_machine, settings_for
from models.system import model_spec
from models.types import total_order_key
from traces.trace import ReplayResult, Step, Trace

__all__ = ["Adapter", "conformance_check", "conformance_machine", "confirm", "Conformance",
           "in_units"]

PROPERTY = "conformance"


class Adapter:
    """Connects an implementation to ``model`` (subclass it; see the module docstring).

    ``reset()`` starts a fresh implementation in the model's initial state; ``apply(action,
    args)`` performs a driven call (``args`` as the model passes them); ``observe()`` returns the
    abstract state (a ``model.State`` or a dict of some of its fields); ``close()`` frees what a
    run holds (threads, event loops).
    """

    #: actions the implementation takes by itself after a driven step; never driven
    internal = frozenset()
    #: the most internal steps after one driven step
    max_internal = 8

    def __init__(self, model):
        self.model = model
        self._draw = None

    def reset(self):
        raise NotImplementedError(f"{type(self).__name__} must define reset()")

    def apply(self, action, args):
        raise NotImplementedError(f"{type(self).__name__} must define apply(action, args)")

    def observe(self):
        raise NotImplementedError(f"{type(self).__name__} must define observe()")

    def refusable(self, action, args, state):
        """May the runner try this call, which the model disables in ``state``? (Then the
        implementation must refuse it: the observed state stays the same.)"""
        return False

    def close(self):
        """Free what the last run holds (called after every run)."""

    def choose(self, options, label="environment"):
        """One of ``options``, chosen by Hypothesis during a run (the first one outside it)."""
        options = list(options)
        if self._draw is None or len(options) == 1:
            return options[0]
        from hypothesis import strategies as st
        return self._draw(st.sampled_from(options), label)


def in_units(value, unit):
    """``value / unit`` as an int when it is a whole number of units to within float rounding
    (a relative 1e-12), else as it is: a value no model state holds, which fails the step and
    shows in the trace. An abstraction function that rounds instead would hide an
    implementation that is off by less than half a unit (a wait 49 ms over a cap kept in
    tenths of a second)."""
    x = value / unit
    n = round(x)
    return int(n) if abs(x - n) <= 1e-12 * max(1.0, abs(x)) else x


class Conformance(Run):
    """Statistics and failures shared by the runs of one conformance check."""


def _outcomes(model, name, args, s):
    out = getattr(model, name)(s, *args)
    outs = [] if out is None else out if type(out) is list else [out]
    return sorted(outs, key=total_order_key) if len(outs) > 1 else outs


def _agrees(model, observed, t):
    if isinstance(observed, dict):
        return all(getattr(t, k) == v for k, v in observed.items())
    return observed == t


def _check_observation(model, observed):
    if isinstance(observed, dict):
        unknown = set(observed) - set(model.State._fields)
        if unknown:
            raise DefinitionError(f"observe() returned fields {sorted(unknown)} that "
                                  f"{model.display_name()} does not have")
    elif not isinstance(observed, model.State):
        raise DefinitionError(f"observe() must return a {type(model).__name__}.State or a dict "
                              f"of its fields, got {type(observed).__name__}")


def _shown(model, observed, nearest):
    """The state the implementation showed, as JSON: its fields over ``nearest``'s."""
    t = nearest.set(**observed) if isinstance(observed, dict) else observed
    try:
        return model.encode(t)
    except Exception:  # a value outside the field's type: show it as it is
        return {k: (v if isinstance(v, (int, str, bool, type(None))) else repr(v))
                for k, v in zip(t._fields, t)}


def _values(states, field):
    """The values of ``field`` in ``states``, as text: ``1``, or ``1 or 2``."""
    values = sorted({getattr(t, field) for t in states}, key=total_order_key)
    shown = " or ".join(repr(v) for v in values[:4])
    return shown + (f" (or {len(values) - 4} more)" if len(values) > 4 else "")


def _differences(model, observed, t):
    fields = observed.items() if isinstance(observed, dict) else zip(t._fields, observed)
    return [(k, v, getattr(t, k)) for k, v in fields if getattr(t, k) != v]


def conformance_machine(adapter, *, run=None):
    """A ``RuleBasedStateMachine`` that runs ``adapter``'s implementation in lockstep with its
    model (``run``: a ``Conformance`` collecting statistics and failures)."""
    from hypothesis import strategies as st
    from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

    model = adapter.model
    if model.variables is None:
        raise DefinitionError(f"{model.display_name()}: conformance needs typed variables")
    unknown = set(adapter.internal) - set(model._actions)
    if unknown:
        raise DefinitionError(f"{type(adapter).__name__}.internal names no action of "
                              f"{model.display_name()}: {sorted(unknown)}")
    run = run or Conformance(model)
    inits = sorted(model.init(), key=total_order_key)
    set_fields = model.set_fields()
    order = {name: k for k, name in enumerate(model._actions)}

    def trace(path, last=None):
        steps = [Step(name, model.action_args(name, args) if name else {}, model.encode(s))
                 for name, args, s in path]
        if last is not None:
            steps.append(last)
        return Trace(model_spec(type(model)), model.params, PROPERTY, "refinement", steps)

    def fail(path, last, message):
        violation = Violation(PROPERTY, "refinement", trace(path, last), message)
        run.failures.append(violation)
        raise PropertyViolation(violation, set_fields)

    def closure(outs, path, name, args):
        """Every state the implementation may show after the call: an outcome, then at most
        max_internal internal steps; each with its path."""
        found = {}
        queue = deque((t, path + [(name, args, t)], 0) for t in outs)
        while queue:
            t, p, depth = queue.popleft()
            if t in found:
                continue
            found[t] = p
            if depth == adapter.max_internal or not adapter.internal:
                continue
            for n, a, thunk in model.each_call(t):
                if n in adapter.internal:
                    out = thunk()
                    for u in ([] if out is None else out if type(out) is list else [out]):
                        queue.append((u, p + [(n, a, u)], depth + 1))
        return found

    class Machine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.candidates = None
            run.runs += 1

        def teardown(self):
            adapter._draw = None
            try:
                adapter.close()
            finally:
                if self.candidates:
                    run.longest = max(run.longest, len(next(iter(self.candidates.values()))))

        def _observe(self, path, step_label, step):
            try:
                observed = adapter.observe()
            except Exception as e:
                text = f"{type(e).__name__}: {e}"
                fail(path, Step(step.action, step.args, None, text),
                     f"step {len(path)} {step_label}: observe() raised {text}")
            _check_observation(model, observed)
            return observed

        @initialize(data=st.data())
        def init(self, data):
            adapter._draw = lambda strategy, label: data.draw(strategy, label=label)
            try:
                adapter.reset()
            except Exception as e:
                text = f"{type(e).__name__}: {e}"
                raise KripkeError(f"{type(adapter).__name__}.reset() raised {text}") from e
            observed = adapter.observe()
            _check_observation(model, observed)
            matching = [s for s in inits if _agrees(model, observed, s)]
            if not matching:
                diff = "; ".join(f"{k} = {v!r}, the model starts with {w!r}"
                                 for k, v, w in _differences(model, observed, inits[0]))
                violation = Violation(PROPERTY, "refinement", trace([]), "step 0: the "
                                      f"implementation starts in no initial state: {diff}")
                violation.trace.steps.append(Step(None, {}, _shown(model, observed, inits[0])))
                run.failures.append(violation)
                raise PropertyViolation(violation, set_fields)
            self.candidates = {s: [(None, (), s)] for s in matching}
            for s in matching:
                run.visit(None, s)

        @rule(data=st.data())
        def step(self, data):
            s, path = next(iter(self.candidates.items()))
            calls = {}
            for name, args, thunk in model.each_call(s):
                if name in adapter.internal:
                    continue
                out = thunk()
                if (out is not None and out != []) or adapter.refusable(name, args, s):
                    calls.setdefault(name, []).append(args)
            if not calls:
                return  # nothing to drive: the run stutters
            names = sorted(calls, key=order.get)
            name = names[0] if len(names) == 1 else data.draw(st.sampled_from(names),
                                                              label="action")
            options = sorted(calls[name], key=total_order_key)
            args = options[0] if len(options) == 1 else options[
                data.draw(st.integers(0, len(options) - 1), label=name)]
            label = Step(name, model.action_args(name, args), None).label()
            n = len(path)
            try:
                adapter.apply(name, args)
            except Exception as e:
                text = f"{type(e).__name__}: {e}"
                fail(path, Step(name, model.action_args(name, args), None, text),
                     f"step {n} {label}: the implementation raised {text}")
            observed = self._observe(path, label, Step(name, model.action_args(name, args),
                                                       None))
            matched, nearest = {}, []
            for c, cpath in self.candidates.items():
                outs = _outcomes(model, name, args, c)
                refused = not outs
                if refused:
                    if not adapter.refusable(name, args, c):
                        continue
                    found = {c: cpath}  # the model stutters: the implementation must too
                else:
                    found = closure(outs, cpath, name, args)
                nearest.extend(found)
                for t, tpath in found.items():
                    if _agrees(model, observed, t):
                        matched.setdefault(t, tpath)
            if not matched:
                allowed = nearest or [s]
                best = min(allowed, key=lambda t: len(_differences(model, observed, t)))
                diff = "; ".join(f"{k} = {v!r}, the model allows {_values(allowed, k)}"
                                 for k, v, _ in _differences(model, observed, best))
                what = "refused" if not _outcomes(model, name, args, s) else "performed"
                fail(path, Step(name, model.action_args(name, args),
                                _shown(model, observed, best)),
                     f"step {n} {label} ({what}): the implementation's state is no state the "
                     f"model allows after it: {diff}")
            for t, tpath in matched.items():
                for step_name, _, u in tpath[len(path):]:
                    run.visit(step_name, u)
            self.candidates = dict(list(matched.items())[:64])

    Machine.__name__ = Machine.__qualname__ = f"{type(adapter).__name__}Conformance"
    Machine.adapter, Machine.run = adapter, run
    return Machine


def conformance_check(adapter, *, seed=0, max_examples=None, max_depth=None, max_states=None,
                      time_limit=None):
    """Run ``adapter``'s implementation in lockstep with ``adapter.model``: ``max_examples`` runs
    (default 100) of at most ``max_depth`` driven steps (default 50). Returns a ``Result``
    (strategy ``conformance``): violated, with the shrunk failing run as its trace, or
    incomplete (testing never proves conformance)."""
    model = adapter.model
    run = Conformance(model, max_states, time_limit)
    machine = conformance_machine(adapter, run=run)
    started = time.perf_counter()
    violation, spent = run_machine(machine, seed, settings_for(max_examples, max_depth), run)
    return Result(
        model=model_spec(type(model)), params=model.params, strategy="conformance",
        symmetry=False, verdict=VIOLATED if violation else INCOMPLETE,
        distinct_states=len(run.seen), states_generated=run.visited, depth=run.longest,
        elapsed_s=time.perf_counter() - started, properties=[PROPERTY], coverage=run.coverage,
        violation=violation,
        bound=None if violation else (
            f"conformance of {type(adapter).__name__}: {run.runs:,} runs of at most "
            f"{max_depth or 50} steps, {run.visited:,} states (seed {seed})"
            + (" (budget spent)" if spent else "")))


def confirm(trace, internal=()):
    """Replay a conformance trace against its model: every step but the last is a step of the
    model (``internal`` actions included), and the last is not, nor is any state that internal
    actions reach from it. Returns a ``traces.trace.ReplayResult``."""
    from models.system import load_model
    model = load_model(trace.model)(**trace.params)
    n = len(trace.steps) - 1
    current = next((s for s in model.init() if model.encode(s) == trace.steps[0].state), None)
    if n == 0:
        return (ReplayResult(True, "reproduced: the implementation starts in no initial state")
                if current is None else ReplayResult(False, "step 0 is an initial state", 0))
    if current is None:
        return ReplayResult(False, "step 0 is no initial state of the model", 0)
    for k, step in enumerate(trace.steps[1:], start=1):
        try:
            args = model.action_args_from(step.action, step.args, current)
        except (KeyError, LookupError) as e:
            return ReplayResult(False, f"step {k}: {step.label()} cannot be taken: {e}", k)
        outs = _outcomes(model, step.action, args, current)
        if k < n:
            match = next((t for t in outs if model.encode(t) == step.state), None)
            if match is None:
                return ReplayResult(False, f"step {k}: {step.label()} is no step of the model",
                                    k)
            current = match
            continue
        if step.state is None:
            return ReplayResult(True, f"reproduced: the implementation raised at step {k} "
                                      f"{step.label()}: {step.error}", k)
        reach, frontier = set(), list(outs) or [current]
        while frontier:
            t = frontier.pop()
            if t in reach:
                continue
            reach.add(t)
            for name, _, thunk in model.each_call(t):
                if name in internal:
                    out = thunk()
                    frontier.extend([] if out is None else out if type(out) is list else [out])
        if any(model.encode(t) == step.state for t in reach):
            return ReplayResult(False, f"step {k}: {step.label()} is allowed by the model", k)
        return ReplayResult(True, f"reproduced: the model's path replays, and step {k} "
                                  f"{step.label()} reaches a state it does not allow", k)
    return ReplayResult(False, "the trace has no step to confirm", n)


"""Conformance testing of real code against a model (model-based testing), driven by Hypothesis.

An ``Adapter`` connects an implementation to a model: ``apply(action, args)`` performs a model
action on the implementation (or on the fake environment around it: a service that starts
failing, a clock that ticks), and ``observe()`` is the abstraction function, from what the
implementation and its environment show to the model's state. ``conformance_check`` runs them in
lockstep: in each step a call the model enables is chosen (from a number Hypothesis draws), the
adapter performs it, and the state observed must be one the model allows after that call; the
first step where it is not fails the run, with a kripke trace (JSON, rendered, and replayed
against the model by ``confirm``). Hypothesis then shrinks the run, as ``checkers.stateful`` does
for a model alone.

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
  a random draw), drawn by Hypothesis, so that it is reproduced with the run;
* ``concurrency`` and ``concurrent``: how many driven calls one step may run at once, and of
  which actions (``may_overlap`` says which pairs: by default calls with different arguments,
  that is, by different callers); ``apply_together(calls)`` performs them at once (threads that
  interleave inside the implementation), and the observed state must then be one the model
  reaches by the calls in some order, each performed or refused: linearizability, for the
  model's steps.

Observations should be exact: an abstraction function that rounds (a wait to tenths of a
second, a clock to whole ticks) hides an implementation that is off by less than the rounding;
``in_units`` turns a float into a whole number of units only when it is one.

Runs are guided (``_Guide``): each heads for a transition of the model drawn among those ahead
of it, weighted towards the states that random runs seldom reach, so that a mistake the
implementation makes deep in the model is met in most checks, not in a few.

A nondeterministic action conforms when the implementation reaches any of its outcomes; the run
continues from the one it reached. The failing trace is the model's path up to the step, then the
step itself with the state the implementation showed (the fields it did not show filled in from
the model's closest outcome); a step where the implementation raised records the error instead.
Calls run at once appear in the order of the model's closest outcome, the last one showing the
implementation's state.
Its kind is ``refinement`` (the implementation refines the model) and its property
``conformance``; ``traces.trace.replay`` diverges at exactly that last step, which ``confirm``
checks.
"""

import itertools
import random
import time
from collections import deque

from kripke.errors import DefinitionError, KripkeError
from kripke.checkers.result import INCOMPLETE, VIOLATED, Result, Violation
from kripke.checkers.stateful import PropertyViolation, Run, run_machine, settings_for
from kripke.models.system import model_spec
from kripke.models.types import json_equal, total_order_key
from kripke.traces.trace import ReplayResult, Step, Trace

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
    #: the most driven calls one step may run at once, and the actions they may be
    concurrency = 1
    concurrent = frozenset()

    def __init__(self, model):
        self.model = model
        self._rng = None

    def reset(self):
        raise NotImplementedError(f"{type(self).__name__} must define reset()")

    def apply(self, action, args):
        raise NotImplementedError(f"{type(self).__name__} must define apply(action, args)")

    def observe(self):
        raise NotImplementedError(f"{type(self).__name__} must define observe()")

    def apply_together(self, calls):
        """Perform ``calls`` (``(action, args)`` pairs) at once, as concurrent callers would:
        the observed state must then be one the model reaches by the calls in some order. By
        default they run one after the other."""
        for action, args in calls:
            self.apply(action, args)

    def may_overlap(self, call, other):
        """May ``call`` and ``other`` (``(action, args)`` pairs) run at once? By default when
        their arguments differ: calls by different callers."""
        return call[1] != other[1]

    def refusable(self, action, args, state):
        """May the runner try this call, which the model disables in ``state``? (Then the
        implementation must refuse it: the observed state stays the same.)"""
        return False

    def close(self):
        """Free what the last run holds (called after every run)."""

    def choose(self, options, label="environment"):
        """One of ``options``, chosen by Hypothesis during a run (the first one outside it):
        the step's choices are seeded by one number Hypothesis draws (see ``_Guide``)."""
        options = list(options)
        if self._rng is None or len(options) == 1:
            return options[0]
        return options[self._rng.randrange(len(options))]


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
    """Statistics and failures shared by the runs of one conformance check, and the model's
    transitions its runs have taken (``covered``)."""

    def __init__(self, model, max_states=None, time_limit=None):
        super().__init__(model, max_states, time_limit)
        self.covered = set()


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


def _label(model, name, args):
    return Step(name, model.action_args(name, args), None).label()


def _with(model, batch, but=None):
    """`` (at once with a(...), b(...))``: the other calls of a batch, or nothing."""
    others = [_label(model, n, a) for n, a in batch if (n, a) != (but or batch[0])]
    return f" (at once with {', '.join(others)})" if others else ""


def _differences(model, observed, t):
    fields = observed.items() if isinstance(observed, dict) else zip(t._fields, observed)
    return [(k, v, getattr(t, k)) for k, v in fields if getattr(t, k) != v]


def _listed(out):
    return [] if out is None else out if type(out) is list else [out]


class _Guide:
    """The model's graph of driven steps, and in it the way to every call a run may drive
    (``targets``: a state and a call enabled or refusable there, a transition of the model).

    Runs of uniformly drawn steps circle near the initial state: a call that only goes wrong
    deep in the model (a success answered while half-open, with a call of the closed breaker
    still out) was met in some checks and not in others. So a run draws a target among the
    transitions ahead of it, weighted towards the states random runs seldom pass (the square
    root of 1 / their expected visits in ``RARITY_DEPTH`` random steps), heads for it along a
    shortest way (one of them, drawn), takes it and draws the next; one step in eight is a free
    one instead. Measured on the circuit breaker (cancellation on, 683 transitions; 4 checks of
    100 runs of 25 steps): uniformly drawn steps took about 170 transitions a check, and never
    one of the article's half-open success bug (in 416 runs); guided runs took about 320, and
    one of the bug's in 11% of runs (uniformly drawn targets: 4-7%).

    Every step draws one number from Hypothesis, which seeds the step's choices (the adapter's
    too), chained to the run's earlier numbers: Hypothesis draws small numbers, and the first
    numbers of earlier runs, far more often than others (in 159 runs, 46 distinct first
    numbers), which drawn directly as indices would aim most runs at a few targets; chained,
    runs that start alike part ways for good at their first difference. A guide that
    remembered what earlier runs took, to aim at what none has, would be better still, but it
    would make a run depend on more than Hypothesis's choices, and Hypothesis replays a run from
    them alone (it then finds the data generation flaky). None when the model has more than
    ``LIMIT`` reachable states."""

    LIMIT = 20_000
    RARITY_DEPTH = 25

    def __init__(self, model, adapter, inits):
        self.edges, self.targets = {}, []
        preds, frontier = {}, deque(inits)
        seen = set(inits)
        while frontier:
            s = frontier.popleft()
            edges = []
            for name, args, thunk in model.each_call(s):
                if name in adapter.internal:
                    continue
                outs = _listed(thunk())
                if outs:
                    after = self._closure(model, adapter, outs)
                    edges.append((name, args, after))
                    for t in after:
                        preds.setdefault(t, set()).add(s)
                        if t not in seen:
                            seen.add(t)
                            if len(seen) > self.LIMIT:
                                raise OverflowError
                            frontier.append(t)
                if outs or adapter.refusable(name, args, s):
                    self.targets.append((s, name, args))
            self.edges[s] = edges
        # A target's weight: how seldom runs of uniformly random steps pass its state (the
        # square root of 1 / the expected visits in RARITY_DEPTH steps), so that runs aim at
        # what they would otherwise miss, without aiming only at the rarest
        visits, now = {}, {s: 1.0 / len(inits) for s in inits}
        for _ in range(self.RARITY_DEPTH):
            nxt = {}
            for s, p in now.items():
                visits[s] = visits.get(s, 0.0) + p
                edges = self.edges[s]
                for _, _, after in edges:
                    for t in after:
                        nxt[t] = nxt.get(t, 0.0) + p / len(edges) / len(after)
            now = nxt
        self.weight = {s: max(v, 1e-9) ** -0.5 for s, v in visits.items()}
        self.preds, self._distances, self._ahead = preds, {}, {}

    @staticmethod
    def _closure(model, adapter, outs):
        """The states after a driven step: its outcomes, then at most max_internal internal
        steps, in a run-independent order."""
        found, queue = {}, deque((t, 0) for t in sorted(outs, key=total_order_key))
        while queue:
            t, depth = queue.popleft()
            if t in found:
                continue
            found[t] = None
            if depth < adapter.max_internal and adapter.internal:
                for name, _, thunk in model.each_call(t):
                    if name in adapter.internal:
                        queue.extend((u, depth + 1) for u in _listed(thunk()))
        return list(found)

    @classmethod
    def of(cls, model, adapter, inits):
        try:
            return cls(model, adapter, inits)
        except OverflowError:
            return None

    def _reach(self, s):
        """The states reachable from ``s``, nearest first (breadth-first)."""
        seen, frontier = {s: None}, deque([s])
        while frontier:
            for _, _, after in self.edges.get(frontier.popleft(), ()):
                for t in after:
                    if t not in seen:
                        seen[t] = None
                        frontier.append(t)
        return seen

    def draw(self, s, rng):
        """A target ahead of ``s``, drawn by ``rng`` by its weight, or None."""
        ahead = self._ahead.get(s)
        if ahead is None:
            reach = self._reach(s)
            targets = [t for t in self.targets if t[0] in reach]
            ahead = self._ahead[s] = (targets, list(itertools.accumulate(
                self.weight.get(t[0], 1.0) for t in targets)))
        targets, cumulative = ahead
        return rng.choices(targets, cum_weights=cumulative)[0] if targets else None

    def distances(self, target):
        """Driven steps from each state to ``target`` at best (a backward breadth-first
        search, kept)."""
        dist = self._distances.get(target)
        if dist is None:
            dist, frontier = {target: 0}, deque([target])
            while frontier:
                t = frontier.popleft()
                for s in self.preds.get(t, ()):
                    if s not in dist:
                        dist[s] = dist[t] + 1
                        frontier.append(s)
            self._distances[target] = dist
        return dist

    def toward(self, s, target, rng=None):
        """A call (``(name, args)``) that starts a shortest way from ``s`` to ``target`` (one
        drawn by ``rng`` when several do), or None when there is none."""
        dist = self.distances(target)
        here = dist.get(s)
        if here is None or here == 0:
            return None
        calls = [(name, args) for name, args, after in self.edges.get(s, ())
                 if min((dist[t] for t in after if t in dist), default=here) < here]
        return calls[0] if rng is None or len(calls) < 2 else rng.choice(calls)


def conformance_machine(adapter, *, run=None, guided=True):
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
    guide = _Guide.of(model, adapter, inits) if guided else None

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

    def after(c, cpath, batch):
        """Every state the implementation may show after the calls of ``batch``, run at once
        from ``c`` (reached by ``cpath``): each call in turn, in any order, performed (then
        internal steps) or refused (the model stutters, if the adapter may refuse it); each
        with its path. A call that is neither rules its order out."""
        found = {}
        for calls in dict.fromkeys(itertools.permutations(batch)):
            frontier = {c: cpath}
            for name, args in calls:
                nxt = {}
                for t, tpath in frontier.items():
                    outs = _outcomes(model, name, args, t)
                    if outs:
                        for u, upath in closure(outs, tpath, name, args).items():
                            nxt.setdefault(u, upath)
                    elif adapter.refusable(name, args, t):
                        nxt.setdefault(t, tpath)  # the implementation must stutter too
                frontier = nxt
            for t, tpath in frontier.items():
                found.setdefault(t, tpath)
        return found

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
            self.candidates, self.target, self.chain = None, None, 0
            run.runs += 1

        def teardown(self):
            adapter._rng = None
            try:
                adapter.close()
            finally:
                if self.candidates:
                    run.longest = max(run.longest, len(next(iter(self.candidates.values()))))

        def _observe(self, path, name, args):
            try:
                observed = adapter.observe()
            except Exception as e:
                text = f"{type(e).__name__}: {e}"
                fail(path, Step(name, model.action_args(name, args), None, text),
                     f"step {len(path)} {_label(model, name, args)}: observe() raised {text}")
            _check_observation(model, observed)
            return observed

        @initialize(data=st.data())
        def init(self, data):
            self.chain = random.Random(f"{data.draw(st.integers(0, 2 ** 64 - 1))}").getrandbits(64)
            adapter._rng = random.Random(self.chain)
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
            # the step's one draw (see _Guide), chained to the run's earlier ones: runs that
            # Hypothesis starts alike part ways, for good, at their first difference
            self.chain = random.Random(f"{self.chain}/{data.draw(st.integers(0, 2 ** 64 - 1))}"
                                       ).getrandbits(64)
            rng = adapter._rng = random.Random(self.chain)
            calls = {}
            for name, args, thunk in model.each_call(s):
                if name in adapter.internal:
                    continue
                out = thunk()
                if (out is not None and out != []) or adapter.refusable(name, args, s):
                    calls.setdefault(name, []).append(args)
            if not calls:
                return  # nothing to drive: the run stutters
            planned = self._planned(rng, s)
            if planned is not None and planned[1] in calls.get(planned[0], ()):
                name, args = planned
            else:
                name = rng.choice(sorted(calls, key=order.get))
                args = rng.choice(sorted(calls[name], key=total_order_key))
            run.covered.add((s, name, args))
            batch = [(name, args)] + self._together(rng, calls, name, args)
            n = len(path)
            try:
                if len(batch) == 1:
                    adapter.apply(name, args)
                else:
                    adapter.apply_together(batch)
            except Exception as e:
                text = f"{type(e).__name__}: {e}"
                fail(path, Step(name, model.action_args(name, args), None, text),
                     f"step {n} {_label(model, name, args)}{_with(model, batch)}: the "
                     f"implementation raised {text}")
            observed = self._observe(path, name, args)
            matched, nearest = {}, {}
            for c, cpath in self.candidates.items():
                for t, tpath in after(c, cpath, batch).items():
                    nearest.setdefault(t, tpath)
                    if _agrees(model, observed, t):
                        matched.setdefault(t, (tpath, len(cpath)))
            if not matched:
                allowed = list(nearest) or [s]
                best = min(allowed, key=lambda t: len(_differences(model, observed, t)))
                diff = "; ".join(f"{k} = {v!r}, the model allows {_values(allowed, k)}"
                                 for k, v, _ in _differences(model, observed, best))
                shown = _shown(model, observed, best)
                if len(batch) == 1:
                    what = "refused" if not _outcomes(model, name, args, s) else "performed"
                    fail(path, Step(name, model.action_args(name, args), shown),
                         f"step {n} {_label(model, name, args)} ({what}): the implementation's "
                         f"state is no state the model allows after it: {diff}")
                # the model's run of the batch in the order nearest to what was observed, up to
                # its last driven call, which shows the implementation's state instead
                bpath = nearest.get(best, path)
                last = max((k for k, (a, _, _) in enumerate(bpath) if k >= n
                            and a in {b for b, _ in batch}), default=None)
                prefix, (lname, largs) = (bpath[:last], bpath[last][:2]) if last is not None \
                    else (path, batch[-1])
                fail(prefix, Step(lname, model.action_args(lname, largs), shown),
                     f"step {len(prefix)} {_label(model, lname, largs)}"
                     f"{_with(model, batch, (lname, largs))}: the "
                     f"implementation's state is no state the model allows after them, in any "
                     f"order: {diff}")
            for t, (tpath, k) in matched.items():
                for step_name, _, u in tpath[k:]:
                    run.visit(step_name, u)
            self.candidates = {t: tpath for t, (tpath, _) in list(matched.items())[:64]}

        def _planned(self, rng, s):
            """The call on the way to this run's target (drawn among the transitions ahead when
            it has none, or none is in reach), unless the step is a free one (one in eight)."""
            if guide is None or s not in guide.edges or rng.random() < 1 / 8:
                return None
            target = self.target
            if target is None or (target[0] != s and guide.toward(s, target[0]) is None):
                target = self.target = guide.draw(s, rng)
                if target is None:
                    return None
            at, name, args = target
            if s == at:
                self.target = None  # reached: the next step heads for another
                return name, args
            return guide.toward(s, at, rng)

        def _together(self, rng, calls, name, args):
            """The calls drawn to run at once with ``name(args)`` (none, half the time)."""
            if adapter.concurrency < 2 or name not in adapter.concurrent:
                return []
            others = [(n, a) for n in sorted(calls, key=order.get) if n in adapter.concurrent
                      for a in sorted(calls[n], key=total_order_key) if (n, a) != (name, args)]
            if not others:
                return []
            together = []
            if rng.random() < 1 / 2:
                return []
            for _ in range(1 + rng.randrange(min(adapter.concurrency - 1, len(others)))):
                others = [o for o in others if adapter.may_overlap(o, (name, args))
                          and all(adapter.may_overlap(o, t) for t in together)]
                if not others:
                    break
                together.append(others.pop(rng.randrange(len(others))))
            return together

    Machine.__name__ = Machine.__qualname__ = f"{type(adapter).__name__}Conformance"
    Machine.adapter, Machine.run = adapter, run
    return Machine


def conformance_check(adapter, *, seed=0, max_examples=None, max_depth=None, max_states=None,
                      time_limit=None, guided=True, shrink=True):
    """Run ``adapter``'s implementation in lockstep with ``adapter.model``: ``max_examples`` runs
    (default 100) of at most ``max_depth`` driven steps (default 50), guided towards the
    model's transitions (``guided``, see ``_Guide``). Returns a ``Result`` (strategy
    ``conformance``): violated, with the failing run as its trace (shrunk, unless ``shrink`` is
    False: shrinking a guided run takes most of a check's time, and seldom shortens it by much),
    or incomplete (testing never proves conformance)."""
    model = adapter.model
    run = Conformance(model, max_states, time_limit)
    machine = conformance_machine(adapter, run=run, guided=guided)
    started = time.perf_counter()
    settings = settings_for(max_examples, max_depth)
    if not shrink:
        from hypothesis import Phase, settings as hypothesis_settings
        settings = hypothesis_settings(settings, phases=(Phase.generate,))
    violation, spent = run_machine(machine, seed, settings, run)
    return Result(
        model=model_spec(type(model)), params=model.params, strategy="conformance",
        symmetry=False, verdict=VIOLATED if violation else INCOMPLETE,
        distinct_states=len(run.seen), states_generated=run.visited, depth=run.longest,
        elapsed_s=time.perf_counter() - started, properties=[PROPERTY], coverage=run.coverage,
        violation=violation,
        bound=None if violation else (
            f"conformance of {type(adapter).__name__}: {run.runs:,} runs of at most "
            f"{max_depth or 50} steps, {run.visited:,} states, {len(run.covered):,} "
            f"transitions (seed {seed})" + (" (budget spent)" if spent else "")))


def confirm(trace, internal=()):
    """Replay a conformance trace against its model: every step but the last is a step of the
    model (``internal`` actions included), and the last is not, nor is any state that internal
    actions reach from it. Returns a ``traces.trace.ReplayResult``."""
    from kripke.models.system import load_model
    model = load_model(trace.model)(**trace.params)
    n = len(trace.steps) - 1
    current = next((s for s in model.init()
                    if json_equal(model.encode(s), trace.steps[0].state)), None)
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
            match = next((t for t in outs if json_equal(model.encode(t), step.state)), None)
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
        if any(json_equal(model.encode(t), step.state) for t in reach):
            return ReplayResult(False, f"step {k}: {step.label()} is allowed by the model", k)
        return ReplayResult(True, f"reproduced: the model's path replays, and step {k} "
                                  f"{step.label()} reaches a state it does not allow", k)
    return ReplayResult(False, "the trace has no step to confirm", n)


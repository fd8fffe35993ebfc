"""Explicit-state model checking: one search loop, with a BFS or a DFS frontier.

The loop follows TLC and Stateright. The visited set holds 64-bit *fingerprints* (the hash of a
state, or of its canonical representative under symmetry) mapped to the parent's fingerprint,
rather than whole states: a counterexample path is the chain of parents, rebuilt into concrete
states by re-executing the model from an initial state and picking, at each step, the successor
with the next fingerprint. Like TLC we report the chance that two distinct states shared a
fingerprint (which would make the search skip a state): ``n * (g - n) / 2**64`` for ``n``
distinct and ``g`` generated states.

Checked on the way: invariants on every new state, *sometimes* properties until each is
witnessed, refinement on every step, deadlock (a state with no successor that the model does not
declare terminal), and exceptions raised by the model (a finding of kind ``exception``).

Python's ``hash`` is the fingerprint: tuples hash in C with xxHash-style mixing. Strings hash with
a per-process seed, so fingerprints differ between runs while counts do not (barring a
collision, whose chance is reported).
"""

import time
from array import array
from collections import deque
from functools import partial

from checkers import speedups
from checkers.errors import DefinitionError, KripkeError, NondeterminismError, UnknownNameError
from checkers.result import INCOMPLETE, OK, VIOLATED, Result, Violation
from models.symmetry import Canonicalizer
from models.system import model_spec
from traces.trace import Step, Trace

__all__ = ["check", "STRATEGIES"]

STRATEGIES = ("bfs", "dfs")


def check(model, *, properties=None, strategy="bfs", symmetry=None, max_states=None,
          max_depth=None, deadlock=True, progress=None):
    """Explore ``model`` exhaustively and return a ``Result``.

    ``properties``: names to check (None: all the model's); ``symmetry``: None means "on when
    the model declares a symmetric domain"; ``max_states`` / ``max_depth`` bound the search (the
    verdict is then ``incomplete`` unless a violation is found); ``progress`` is called now and
    then with a dict of counts.
    """
    if strategy not in STRATEGIES:
        raise UnknownNameError("strategy", strategy, STRATEGIES)
    props = select_properties(model, properties)
    domain = model.symmetric_domain() if symmetry is not False else None
    if symmetry and domain is None:
        raise DefinitionError(f"{model.display_name()} declares no symmetric domain")
    if domain is not None and model.variables is None:
        raise DefinitionError(f"{model.display_name()}: symmetry needs typed variables")
    canon = Canonicalizer(model, domain) if domain is not None else None
    search = _Search(model, props, canon, strategy == "dfs", max_states, max_depth, deadlock,
                     progress)
    started = time.perf_counter()
    found = search.run()

    violation = None
    if found is not None:
        violation = search.violation(found)
    elif search.bound is None and search.pending:
        # The search is complete and some sometimes-property was never witnessed.
        first = search.pending[0]
        violation = Violation(first[0], "sometimes",
                              message=f"no reachable state satisfies {first[0]}")
    elif search.bound is None:
        possible = [p for p in props if p.kind == "always_possible"]
        violation = search.always_possible(possible) if possible else None
    elapsed = time.perf_counter() - started
    verdict = VIOLATED if violation else INCOMPLETE if search.bound else OK
    generated = search.n_init + sum(search.fired)
    distinct = len(search.seen)
    coverage = {}
    for (name, _, _), fired, new in zip(model._calls, search.fired, search.new):
        c = coverage.setdefault(name, {"fired": 0, "new": 0})
        c["fired"] += fired
        c["new"] += new
    return Result(
        model=model_spec(type(model)), params=model.params, strategy=strategy,
        symmetry=canon is not None, verdict=verdict, distinct_states=distinct,
        states_generated=generated, depth=search.depth, elapsed_s=elapsed,
        properties=[p.name for p in props], coverage=coverage, violation=violation,
        bound=search.bound,
        collision_probability=distinct * max(generated - distinct, 0) / 2.0 ** 64)


def select_properties(model, names):
    """The model's properties (but those expected to fail), or those named (an unknown name
    lists the available ones)."""
    available = {p.name: p for p in model.properties}
    if names is None:
        return [p for p in model.properties if not p.expected_to_fail]
    for n in names:
        if n not in available:
            raise UnknownNameError(f"property of {model.display_name()}", n, available)
    return [available[n] for n in dict.fromkeys(names)]


def _expand(s, calls, fired, seen, fingerprint, checks):
    """The inner loop for one state; the Python twin of ``checkers._speedups.expand``.

    Calls every action on ``s`` and counts each successor in ``fired``; checks each step with
    ``checks``: a refinement's ``(image, a, allowed)`` (allowed when ``image(t) == a or image(t)
    in allowed``) or a predicate ``check(t)``; returns ``(number of successors, [(call index, t,
    fingerprint)...])`` for the successors whose fingerprint is not in ``seen``, or ``(-1, (check
    index, call index, t))`` for a step that fails a check.
    """
    found = []
    n = 0
    for k, (fn, arg) in enumerate(calls):
        out = fn(s, arg)
        if out is None:
            continue
        for t in (out if out.__class__ is list else (out,)):
            n += 1
            fired[k] += 1
            for r, check in enumerate(checks):
                if check.__class__ is tuple:
                    image, a, allowed = check
                    b = image(t)
                    if b is not a and b != a and b not in allowed:
                        return -1, (r, k, t)
                elif not check(t):
                    return -1, (r, k, t)
            f = hash(t) if fingerprint is None else fingerprint(t)
            if f not in seen:
                found.append((k, t, f))
    return n, found


#: the C twin when the extension is built (see checkers/_speedups.c)
expand = getattr(speedups(), "expand", _expand)


def _unary(fn, args):
    """Call every action as ``fn(state, arg)``: the common one-argument case needs no wrapper."""
    if len(args) == 1:
        return fn, args[0]
    if not args:
        return (lambda s, _, fn=fn: fn(s)), None
    return (lambda s, a, fn=fn: fn(s, *a)), args


class _Search:
    """The state of one search; ``run`` is the hot loop."""

    def __init__(self, model, props, canon, dfs, max_states, max_depth, deadlock, progress):
        self.model, self.canon, self.dfs = model, canon, dfs
        self.max_states, self.max_depth = max_states, max_depth
        self.deadlock, self.progress = deadlock, progress
        self.invariants = [(p.name, p.condition, p.after) for p in props
                           if p.kind == "invariant"]
        self.pending = [(p.name, p.condition) for p in props if p.kind == "sometimes"]
        self.refinements = [(p.name, p.checker(model)) for p in props if p.kind == "refinement"]
        self.steps = [(p.name, p.condition) for p in props if p.kind == "step"]
        self.seen = {}  # fingerprint -> parent fingerprint (None for an initial state)
        self.fired = array("Q", bytes(8 * len(model._calls)))  # counters that expand() bumps
        self.new = [0] * len(model._calls)
        self.n_init = 0
        self.depth = 0
        self.bound = None
        self.error = None  # the text of an exception the model raised

    def fingerprint(self, s):
        return hash(self.canon(s)) if self.canon is not None else hash(s)

    def run(self):
        """Search; return None, or what was found: ("state"|"step", ...) for ``violation``."""
        model, seen = self.model, self.seen
        fingerprint = None if self.canon is None else self.fingerprint
        invariants, pending = self.invariants, self.pending
        refinements, steps = self.refinements, self.steps
        fired, new = self.fired, self.new
        calls = [_unary(fn, args) for _, fn, args in model._calls]
        max_states = self.max_states or float("inf")
        max_depth = self.max_depth or float("inf")
        frontier = deque()
        pop, push = (frontier.pop if self.dfs else frontier.popleft), frontier.append

        for s in model.init():
            self.n_init += 1
            fp = self._init_fingerprint(s)
            if fp in seen:
                continue
            seen[fp] = None
            for name, ref in refinements:
                if not ref.init_ok(s):
                    return ("init", name, fp)
            try:
                found = self._check_state(s, fp)
            except KripkeError:
                raise
            except Exception as e:  # a property raised on an initial state
                self.error = f"{type(e).__name__}: {e}"
                return ("state", "exception", "exception", fp)
            if found:
                return found
            push((s, fp, 1))
        self.depth = 1 if seen else 0

        started = time.perf_counter()
        expanded, next_report = 0, started + 2.0
        while frontier:
            s, fp, d = pop()
            if d > self.depth:
                self.depth = d
            expanded += 1
            if self.progress is not None and not expanded & 4095:
                now = time.perf_counter()
                if now >= next_report:
                    next_report = now + 1.0
                    self.progress({"distinct": len(seen), "generated": self.n_init + sum(fired),
                                   "queue": len(frontier), "depth": self.depth,
                                   "elapsed": now - started})
            # The checks of every step from s: a refinement's (image, image of s, allowed
            # images), or a step property bound to s.
            checks = [ref.context_of(s) for _, ref in refinements]
            if steps:
                checks += [partial(cond, model, s) for _, cond in steps]
            try:
                n, found = expand(s, calls, fired, seen, fingerprint, checks)
                if n < 0:  # found = (check index, call index, t); the step is found again later
                    r = found[0]
                    name, kind = ((refinements[r][0], "refinement") if r < len(refinements)
                                  else (steps[r - len(refinements)][0], "step"))
                    return ("step", name, kind, fp)
                for i, t, f in found:
                    if f in seen:  # two steps from s reached the same new state
                        continue
                    if d >= max_depth:
                        self.bound = f"max_depth={self.max_depth}"
                        continue
                    seen[f] = fp
                    new[i] += 1
                    for name, cond, after in invariants:
                        if not (cond(model, t) if after is None else after(model, s, t)):
                            return ("state", name, "invariant", f)
                    if pending:
                        for name, cond in pending:
                            if cond(model, t):
                                self._witness(t)
                                break
                    push((t, f, d + 1))
                    if len(seen) >= max_states:
                        self.bound = f"max_states={self.max_states}"
                        return None
            except KripkeError:
                raise
            except Exception as e:  # the model (or a property) raised: a finding, with its trace
                return self._exception(s, fp, e)
            if not n and self.deadlock and not model.terminal(s):
                return ("state", "deadlock", "deadlock", fp)
        return None

    def _init_fingerprint(self, s):
        try:
            return self.fingerprint(s)
        except TypeError:
            self.model.check_immutable(s)  # names the field that cannot be hashed
            raise

    def _check_state(self, s, fp):
        for name, cond, _ in self.invariants:
            if not cond(self.model, s):
                return ("state", name, "invariant", fp)
        if self.pending:
            self._witness(s)
        return None

    def _witness(self, s):
        self.pending[:] = [(n, c) for n, c in self.pending if not c(self.model, s)]

    def _exception(self, s, fp, error):
        """Find the call that raised by making each again; tell it from a state that cannot be
        hashed, which is bad model input rather than a finding."""
        self.error = f"{type(error).__name__}: {error}"
        for name, args, thunk in self.model.each_call(s):
            try:
                out = thunk()
            except Exception:
                return ("step", "exception", "exception", fp)
            for t in (out if type(out) is list else [out]):
                if t is not None:
                    try:
                        self.fingerprint(t)
                    except TypeError:
                        self.model.check_immutable(t)  # raises, naming the field
        # Not an action: a property (or the fingerprint) raised while a successor was checked.
        return ("state", "exception", "exception", fp)

    def always_possible(self, props):
        """Check AG EF p for each property p: explore the reachable graph again, keeping every
        edge, then search backwards from the states where p holds. A state not reached is one
        from which p can never hold again: the violation, with the path to it."""
        model, fingerprint = self.model, self.fingerprint
        parent, preds, good = {}, {}, {p.name: set() for p in props}
        frontier = deque()
        for s in model.init():
            f = fingerprint(s)
            if f not in parent:
                parent[f] = None
                frontier.append((s, f))
        while frontier:
            s, f = frontier.popleft()
            for p in props:
                if p.condition(model, s):
                    good[p.name].add(f)
            for _, _, t in model.successors(s):
                g = fingerprint(t)
                preds.setdefault(g, set()).add(f)
                if g not in parent:
                    parent[g] = f
                    frontier.append((t, g))
        for p in props:
            reach, todo = set(good[p.name]), list(good[p.name])
            while todo:
                for q in preds.get(todo.pop(), ()):
                    if q not in reach:
                        reach.add(q)
                        todo.append(q)
            stuck = next((f for f in parent if f not in reach), None)  # BFS order: shortest
            if stuck is not None:
                fps = []
                while stuck is not None:
                    fps.append(stuck)
                    stuck = parent[stuck]
                trace, _ = self._trace(p.name, "always_possible", fps[::-1])
                return Violation(p.name, "always_possible", trace,
                                 f"after {len(trace.steps) - 1} steps no state satisfying "
                                 f"{p.name} can be reached any more")
        return None

    # -- counterexamples ---------------------------------------------------------------------
    def violation(self, found):
        what = found[0]
        if what == "init":
            _, prop, fp = found
            trace, _ = self._trace(prop, "refinement", self._path(fp))
            return Violation(prop, "refinement", trace,
                             f"the initial state does not map to an initial state of {prop}")
        if what == "state":
            _, prop, kind, fp = found
            trace, _ = self._trace(prop, kind, self._path(fp))
            n = len(trace.steps) - 1
            msg = (f"deadlock: no action is enabled after {n} steps" if kind == "deadlock"
                   else f"checking the state after {n} steps, or its successors, raised "
                        f"{self.error}" if kind == "exception"
                   else f"{prop} is violated after {n} steps")
            return Violation(prop, kind, trace, msg)
        _, prop, kind, fp = found
        trace, last = self._trace(prop, kind, self._path(fp))
        # Find the failing step again from the rebuilt state (under symmetry it may be another
        # member of the orbit of the state the search expanded).
        name, args, t, error = self._failing_step(last, prop, kind)
        encoded = None if t is None else self.model.encode(t)
        trace.steps.append(Step(name, self.model.action_args(name, args), encoded, error))
        n = len(trace.steps) - 1
        msg = (f"step {n} {trace.steps[-1].label()} raised {error}" if kind == "exception"
               else f"step {n} {trace.steps[-1].label()} is not allowed by {prop}")
        return Violation(prop if kind != "exception" else "exception", kind, trace, msg)

    def _failing_step(self, s, prop, kind):
        """``(action, args, t, error)`` of the first step from ``s`` that raises (kind
        ``exception``) or fails the step check ``prop``."""
        model = self.model
        if kind == "exception":
            for name, args, thunk in model.each_call(s):
                try:
                    thunk()
                except Exception as e:
                    return name, args, None, f"{type(e).__name__}: {e}"
        else:
            if kind == "refinement":
                check = next(ref for n, ref in self.refinements if n == prop)
                fails = lambda t: not check.step_ok(s, t)  # noqa: E731
            else:
                cond = next(c for n, c in self.steps if n == prop)
                fails = lambda t: not cond(model, s, t)  # noqa: E731
            for name, args, t in model.successors(s):
                if fails(t):
                    return name, args, t, None
        raise NondeterminismError(
            f"{model.display_name()}: the step that failed {prop} during the search does not "
            "fail when the model is run again; actions and properties must be functions of "
            "(state, parameters)")

    def _path(self, fp):
        fps = []
        while fp is not None:
            fps.append(fp)
            fp = self.seen[fp]
        return fps[::-1]

    def _trace(self, prop, kind, fps):
        """Re-execute the model along a chain of fingerprints (Stateright's Path::from_fingerprints)."""
        model = self.model
        current = next((s for s in model.init() if self.fingerprint(s) == fps[0]), None)
        if current is None:
            raise NondeterminismError(
                f"{model.display_name()}: no initial state has the fingerprint the search stored; "
                "init() must yield the same states on every call")
        steps = [Step(None, {}, model.encode(current))]
        for n, target in enumerate(fps[1:], start=1):
            for name, args, t in model.successors(current):
                if self.fingerprint(t) == target:
                    steps.append(Step(name, model.action_args(name, args), model.encode(t)))
                    current = t
                    break
            else:
                raise NondeterminismError(
                    f"{model.display_name()}: cannot rebuild step {n} of the counterexample: "
                    "re-executing the actions from the previous state gives no successor the "
                    "search saw. Actions must be functions of (state, parameters): does one "
                    "depend on randomness, time, a global variable or the iteration order of a "
                    "set?")
        return Trace(model_spec(type(model)), model.params, prop, kind, steps), current

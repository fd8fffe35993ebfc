"""Explicit-state model checking: one search loop, with a BFS or a DFS frontier.

The loop follows TLC and Stateright. The visited set holds 64-bit *fingerprints* (of a state, or
of its canonical representative under symmetry: ``models.fingerprint``) mapped to the parent's
fingerprint, rather than whole states: a counterexample path is the chain of parents, rebuilt
into concrete states by re-executing the model from an initial state and picking, at each step,
the successor with the next fingerprint. Like TLC we report the chance that two distinct states
shared a fingerprint (which would make the search skip a state): ``n * (g - n) / 2**64`` for
``n`` distinct and ``g`` generated states, assuming the fingerprint behaves as a random function
(see ``models.fingerprint`` for what that rests on).

Checked on the way: the declared types of every successor, before it is deduplicated (a value
outside its type is a violation of kind ``type``, whatever properties were selected); invariants
on every new state; *sometimes* properties until each is witnessed; step properties on every step
that changes the state (a stuttering step satisfies TLA+'s ``[][A]_vars``); refinement on every
step; deadlock (a state with no successor that the model does not declare terminal); and
exceptions raised by the model or a property (a finding of kind ``exception`` whose trace ends
where it was raised).
"""

import time
from array import array
from collections import deque
from functools import partial

from kripke.common import speedups
from kripke.errors import DefinitionError, KripkeError, NondeterminismError, UnknownNameError
from kripke.checkers.result import INCOMPLETE, OK, VIOLATED, Result, Violation
from kripke.checkers.symmetry_check import TranspositionProbe, symmetry_problem
from kripke.models.fingerprint import fingerprint as value_fingerprint, same_value
from kripke.models.symmetry import Canonicalizer
from kripke.models.system import first_bad_field, model_spec
from kripke.specs.properties import type_ok
from kripke.traces.trace import Step, Trace, encode_any

__all__ = ["check", "STRATEGIES"]

STRATEGIES = ("bfs", "dfs")


def check(model, *, properties=None, strategy="bfs", symmetry=None, max_states=None,
          max_depth=None, deadlock=True, progress=None):
    """Explore ``model`` exhaustively and return a ``Result``.

    ``properties``: names to check (None: all the model's); ``symmetry``: None means "on when
    the model declares a symmetric domain and the symmetry test passes" (``checkers.
    symmetry_check``: before the search on random states, during it on each new state; when it
    fails the search runs without, saying why in ``Result.symmetry_note``), True insists (a
    ``DefinitionError`` when the test fails); ``max_states`` / ``max_depth`` bound the search (the
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
    started = time.perf_counter()
    # Symmetry is tested before it is trusted (random states, then each new state).
    note = symmetry_problem(model, domain, props, deadlock=deadlock) if domain else None
    while True:
        if note is not None and symmetry:
            raise DefinitionError(f"{model.display_name()}: --symmetry would give wrong "
                                  f"verdicts: {note}")
        canon = Canonicalizer(model, domain) if domain is not None and note is None else None
        probe = (TranspositionProbe(model, canon, props, deadlock=deadlock, domain=domain,
                                    invariants_hold=True) if canon is not None else None)
        search = _Search(model, props, canon, probe, strategy == "dfs", max_states, max_depth,
                         deadlock, progress)
        try:
            found = search.run()
            break
        except _SymmetryBroken as e:  # search again without symmetry
            note = str(e)

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
        bound=search.bound, symmetry_note=None if note is None else f"symmetry off: {note}",
        collision_probability=distinct * max(generated - distinct, 0) / 2.0 ** 64)


class _SymmetryBroken(KripkeError):
    """A state of a symmetric search is not treated like its renaming: search without."""


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


def _expand(s, calls, fired, seen, fingerprint, checks, type_checks, known=None):
    """The inner loop for one state; the Python twin of ``kripke._speedups.expand``.

    Calls every action on ``s`` and counts each successor ``t`` in ``fired``; checks that ``t``
    is a record of ``s``'s class whose changed fields pass ``type_checks`` (one predicate per
    field, or None); checks each step with ``checks``: a refinement's ``(image, a, allowed)``
    (allowed when ``image(t) == a or image(t) in allowed``) or a predicate ``check(t)``, skipped
    when ``t`` equals ``s``; returns ``(number of successors, [(call index, t, fingerprint)...])``
    for the successors whose fingerprint (``fingerprint(t)``, or the value's own) is not in
    ``seen``, ``(-1, (check index, call index, t))`` for a step that fails a check, or ``(-2,
    (field index, call index, t))`` for a successor outside its types (field -1: not a record of
    ``s``'s class). ``known`` is the C function's cache of values that passed their types; the
    twin checks every changed field instead.
    """
    own = value_fingerprint(s)
    found = []
    n = 0
    for k, (fn, arg) in enumerate(calls):
        out = fn(s, arg)
        if out is None:
            continue
        for t in (out if out.__class__ is list else (out,)):
            n += 1
            fired[k] += 1
            if type_checks is not None:
                if t.__class__ is not s.__class__ or len(t) != len(s):
                    return -2, (-1, k, t)
                bad = first_bad_field(t, type_checks, s)
                if bad >= 0:
                    return -2, (bad, k, t)
            raw = value_fingerprint(t)
            stutter = None
            for r, check in enumerate(checks):
                if check.__class__ is tuple:
                    image, a, allowed = check
                    b = image(t)
                    if b is not a and b != a and b not in allowed:
                        return -1, (r, k, t)
                    continue
                if stutter is None:
                    stutter = raw == own and t == s  # same_value(s, t), with the fingerprints known
                if not stutter and not check(t):
                    return -1, (r, k, t)
            f = raw if fingerprint is None else fingerprint(t)
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

    def __init__(self, model, props, canon, probe, dfs, max_states, max_depth, deadlock,
                 progress):
        self.model, self.canon, self.probe, self.dfs = model, canon, probe, dfs
        self.max_states, self.max_depth = max_states, max_depth
        self.deadlock, self.progress = deadlock, progress
        #: declared types are enforced on every state (type_ok needs no separate evaluation)
        self.type_checks = model.type_checks
        self.known = array("Q", bytes(8 * 65536)) if model.type_checks is not None else None
        self.invariants = [(p.name, p.condition) for p in props if p.kind == "invariant"
                           and not (p is type_ok and self.type_checks is not None)]
        self.pending = [(p.name, p.condition) for p in props if p.kind == "sometimes"]
        self.refinements = [(p.name, p.checker(model)) for p in props if p.kind == "refinement"]
        self.steps = [(p.name, p.condition) for p in props if p.kind == "step"]
        self.seen = {}  # fingerprint -> parent fingerprint (None for an initial state)
        self.fired = array("Q", bytes(8 * len(model._calls)))  # counters that expand() bumps
        self.new = [0] * len(model._calls)
        self.n_init = 0
        self.depth = 0
        self.bound = None
        self.error = None  # the text of an exception the model or a property raised
        self._raising = None  # the property being evaluated, named if it raises

    def fingerprint(self, s):
        return value_fingerprint(self.canon(s) if self.canon is not None else s)

    def run(self):
        """Search; return None, or what was found: ("state"|"step", ...) for ``violation``."""
        model, seen = self.model, self.seen
        fingerprint = None if self.canon is None else self.fingerprint
        invariants, pending = self.invariants, self.pending
        refinements, steps, type_checks = self.refinements, self.steps, self.type_checks
        known, probe = self.known, self.probe
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
            if len(seen) >= max_states:
                self.bound = f"max_states={self.max_states}"
                return None
            seen[fp] = None
            if type_checks is not None and first_bad_field(s, type_checks, None) >= 0:
                return ("state", "type_ok", "type", fp)
            for name, ref in refinements:
                if not ref.init_ok(s):
                    return ("init", name, fp)
            found = self._guarded(self._check_state, s, fp)
            if found:
                return found
            self._probe(s)
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
            checking = None  # the fingerprint of the state a property (self._raising) is on
            try:
                checks = [ref.context_of(s) for _, ref in refinements]
                if steps:
                    checks += [partial(cond, model, s) for _, cond in steps]
                n, found = expand(s, calls, fired, seen, fingerprint, checks, type_checks, known)
                if n == -2:  # found = (field index, call index, t)
                    if type(found[2]) is model.State:  # a list or a dict is bad input
                        model.check_immutable(found[2])
                    return ("step", "type_ok", "type", fp)
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
                    if len(seen) >= max_states:  # a state beyond the bound exists
                        self.bound = f"max_states={self.max_states}"
                        return None
                    seen[f] = fp
                    new[i] += 1
                    checking = f
                    for name, cond in invariants:
                        self._raising = name
                        if not cond(model, t):
                            return ("state", name, "invariant", f)
                    if pending:
                        for name, cond in pending:
                            self._raising = name
                            if cond(model, t):
                                self._witness(t)
                                break
                    checking = None
                    if probe is not None:
                        self._probe(t)
                    push((t, f, d + 1))
                if not n and self.deadlock:
                    checking, self._raising = fp, "terminal()"
                    if not model.terminal(s):
                        return ("state", "deadlock", "deadlock", fp)
            except KripkeError:
                raise
            except Exception as e:  # the model (or a property) raised: a finding, with its trace
                if checking is not None:
                    self.error = f"{type(e).__name__}: {e}"
                    return ("state", self._raising, "exception", checking)
                return self._exception(s, fp, e)
        return None

    def _probe(self, s):
        """Compare ``s`` with a renaming of it (symmetric searches only)."""
        reason = self.probe(s) if self.probe is not None else None
        if reason is not None:
            raise _SymmetryBroken(reason)

    def _guarded(self, check, s, fp):
        """``check(s, fp)``, turning an exception a property raises into a finding."""
        try:
            return check(s, fp)
        except KripkeError:
            raise
        except Exception as e:
            self.error = f"{type(e).__name__}: {e}"
            return ("state", self._raising, "exception", fp)

    def _init_fingerprint(self, s):
        try:
            return self.fingerprint(s)
        except TypeError:
            self.model.check_immutable(s)  # names the field that cannot be fingerprinted
            raise

    def _check_state(self, s, fp):
        for name, cond in self.invariants:
            self._raising = name
            if not cond(self.model, s):
                return ("state", name, "invariant", fp)
        self._witness(s)
        return None

    def _witness(self, s):
        """Drop the pending sometimes-properties that ``s`` satisfies."""
        keep = []
        for name, cond in self.pending:
            self._raising = name
            if not cond(self.model, s):
                keep.append((name, cond))
        self.pending[:] = keep

    def _exception(self, s, fp, error):
        """Find what raised while ``s`` was expanded: an action (the trace ends with the call
        that raised), or a step property or refinement on a step (the trace ends with that
        step); tell both from a successor that cannot be fingerprinted, which is bad model
        input rather than a finding."""
        self.error = f"{type(error).__name__}: {error}"
        model = self.model
        for name, args, thunk in model.each_call(s):
            try:
                out = thunk()
            except Exception:
                return ("step", "exception", "exception", fp)
            for t in (out if type(out) is list else [out]):
                if t is not None:
                    try:
                        self.fingerprint(t)
                    except TypeError:
                        model.check_immutable(t)  # raises, naming the field
        for name, check in self._step_checks(s):
            for _, _, t in model.successors(s):
                try:
                    check(t)
                except Exception as e:
                    self.error = f"{type(e).__name__}: {e}"
                    return ("step", name, "exception", fp)
        return ("state", "exception", "exception", fp)

    def _step_checks(self, s):
        """``(property, check(t))`` for every step property and refinement, from ``s``."""
        for name, ref in self.refinements:
            yield name, (lambda t, ref=ref: ref.step_ok(s, t))
        for name, cond in self.steps:
            yield name, (lambda t, cond=cond: same_value(s, t) or cond(self.model, s, t))

    def always_possible(self, props):
        """Check AG EF p for each property p: explore the reachable graph again, keeping every
        edge, then search backwards from the states where p holds. A state not reached is one
        from which p can never hold again: the violation, with the path to it. A condition that
        raises is a finding of kind ``exception`` at the state it raised on."""
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
                try:
                    if p.condition(model, s):
                        good[p.name].add(f)
                except KripkeError:
                    raise
                except Exception as e:
                    self.error = f"{type(e).__name__}: {e}"
                    return self.violation(("state", p.name, "exception", f), parent)
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
                trace, _ = self._trace(p.name, "always_possible", self._path(stuck, parent))
                return Violation(p.name, "always_possible", trace,
                                 f"after {len(trace.steps) - 1} steps no state satisfying "
                                 f"{p.name} can be reached any more")
        return None

    # -- counterexamples ---------------------------------------------------------------------
    def violation(self, found, parents=None):
        """The ``Violation`` for what ``run`` found (``parents``: the parent links to follow,
        by default the search's)."""
        what, prop = found[0], found[1]
        if what == "init":
            trace, _ = self._trace(prop, "refinement", self._path(found[2], parents))
            return Violation(prop, "refinement", trace,
                             f"the initial state does not map to an initial state of {prop}")
        kind, fp = found[2], found[3]
        trace, last = self._trace(prop, kind, self._path(fp, parents))
        n = len(trace.steps) - 1
        if what == "state":
            if kind == "exception":
                trace.steps[-1].error = self.error
                msg = (f"checking the state after {n} steps, or its successors, raised "
                       f"{self.error}" if prop == "exception" else
                       f"evaluating {prop} on the state after {n} steps raised {self.error}")
            elif kind == "type":
                msg = f"the initial state {self.model.type_error(last)}"
            else:
                msg = (f"deadlock: no action is enabled after {n} steps" if kind == "deadlock"
                       else f"{prop} is violated after {n} steps")
            return Violation(prop, kind, trace, msg)
        # Find the failing step again from the rebuilt state (under symmetry it may be another
        # member of the orbit of the state the search expanded).
        name, args, t, error = self._failing_step(last, prop, kind)
        encoded = None if t is None else (self.model.encode(t) if kind != "type"
                                          else encode_any(self.model, t))
        trace.steps.append(Step(name, self.model.action_args(name, args), encoded, error))
        label = f"step {n + 1} {trace.steps[-1].label()}"
        msg = (f"{label} raised {error}" if kind == "exception" and prop == "exception"
               else f"evaluating {prop} on {label} raised {error}" if kind == "exception"
               else f"{label} {self.model.type_error(t)}" if kind == "type"
               else f"{label} is not allowed by {prop}")
        return Violation(prop, kind, trace, msg)

    def _failing_step(self, s, prop, kind):
        """``(action, args, t, error)`` of the first step from ``s`` that raises (kind
        ``exception``: an action, or the step check ``prop``), leaves the declared types (kind
        ``type``) or fails the step check ``prop``."""
        model = self.model
        if kind == "exception" and prop == "exception":
            for name, args, thunk in model.each_call(s):
                try:
                    thunk()
                except Exception as e:
                    return name, args, None, f"{type(e).__name__}: {e}"
        elif kind == "exception":
            check = next(c for n, c in self._step_checks(s) if n == prop)
            for name, args, t in model.successors(s):
                try:
                    check(t)
                except Exception as e:
                    return name, args, t, f"{type(e).__name__}: {e}"
        else:
            if kind == "type":
                fails = self.model.type_error
            elif kind == "refinement":
                check = next(ref for n, ref in self.refinements if n == prop)
                fails = lambda t: not check.step_ok(s, t)  # noqa: E731
            else:
                cond = next(c for n, c in self.steps if n == prop)
                fails = lambda t: not same_value(s, t) and not cond(model, s, t)  # noqa: E731
            for name, args, t in model.successors(s):
                if fails(t):
                    return name, args, t, None
        raise NondeterminismError(
            f"{model.display_name()}: the step that failed {prop} during the search does not "
            "fail when the model is run again; actions and properties must be functions of "
            "(state, parameters)")

    def _path(self, fp, parents=None):
        """The fingerprints from an initial state to ``fp``, following ``parents``."""
        parents = self.seen if parents is None else parents
        fps = []
        while fp is not None:
            fps.append(fp)
            fp = parents[fp]
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

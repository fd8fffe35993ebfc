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

The state constraint ``model.within(s)`` (TLC's CONSTRAINT, Stateright's ``within_boundary``)
is applied as TLC applies it (``tlc2.tool.Worker.addElement``): a successor outside it is checked
like any other (types, step properties, invariants, sometimes-witnesses) but neither stored nor
expanded, and is counted in ``Result.outside_constraint`` each time it is generated.

Temporal (liveness) properties need the whole graph: when one is selected, the search also
records every step into a compact ``checkers.liveness.StateGraph`` (numbered states, flat edge
arrays labelled with the fairness unit of the call), evaluates the properties' predicates on each
new state, and at the end looks for a fair lasso that violates each property. Such a search runs
without symmetry reduction (merging symmetric states does not preserve the fairness of each call
on its own), and says so in ``Result.symmetry_note``.

By default the search stops at the first violation. With ``keep_going`` (TLC's ``-continue``) it
records the violation and goes on without that property: every violated property is reported
once, each with its own shortest trace (under BFS), in the order found. A successor outside its
declared types is then not stored, a state on which an action raises is not expanded, and the
search goes on; such findings are reported once (``type_ok``, ``exception``).

A search also stops at ``time_limit`` and past its memory budget (verdict ``incomplete``; the
queue of states to expand spills to disk past half of the budget: ``checkers.frontier``), and
on ``KeyboardInterrupt`` (Ctrl-C: verdict ``interrupted``, with the counts so far). With
``workers``, ``engine="ray"``, ``checkpoint`` or ``resume`` the same per-state code runs as the
shards of a level-synchronous search partitioned by fingerprint (``checkers.parallel``).
"""

import dataclasses
import gc
import math
import time
from array import array
from collections import deque
from contextlib import contextmanager
from functools import partial
from typing import NamedTuple

from kripke.common import speedups
from kripke.errors import (DefinitionError, KripkeError, NondeterminismError, ParamError,
                           UnknownNameError)
from kripke.checkers.frontier import Frontier, MemoryBudget
from kripke.checkers.liveness import StateGraph, find_lasso
from kripke.checkers.result import INCOMPLETE, INTERRUPTED, OK, VIOLATED, Result, Violation
from kripke.checkers.symmetry_check import TranspositionProbe, symmetry_problem
from kripke.checkers.visited import FingerprintTable
from kripke.models.fingerprint import fingerprint as value_fingerprint, same_value
from kripke.models.symmetry import Canonicalizer
from kripke.models.system import TransitionSystem, first_bad_field, model_spec
from kripke.specs.properties import type_ok
from kripke.traces.trace import Step, Trace, encode_any

__all__ = ["check", "STRATEGIES"]

STRATEGIES = ("bfs", "dfs")
#: "plain": this process (or --workers forked ones); "ray": shards as Ray actors
ENGINES = ("plain", "vector", "auto", "ray")
#: ``engine="auto"``: the plain engine explores up to this many states; a search that needs more
#: runs again on the vector engine, when the model and the options allow it. Below it the
#: vector engine's fixed cost (tracing the model, about 0.1-0.6 s) loses: two-phase with 6 RMs
#: (50,816 states) takes both engines about 0.6 s (the whole command), with 7 RMs (296,448) the
#: plain one 2.25 s and the vector one 0.35 s (``kripke bench --engine vector``).
AUTO_STATES = 50_000


def check(model, *, properties=None, strategy="bfs", symmetry=None, max_states=None,
          max_depth=None, deadlock=True, progress=None, keep_going=False, time_limit=None,
          fairness=True, memory_limit=None, workers=1, engine="plain", address=None,
          checkpoint=None, resume=None, checkpoint_every=None):
    """Explore ``model`` exhaustively and return a ``Result``.

    ``properties``: names to check (None: all the model's); ``symmetry``: None means "on when
    the model declares a symmetric domain and the symmetry test passes" (``checkers.
    symmetry_check``: before the search on random states, during it on each new state; when it
    fails the search runs without, saying why in ``Result.symmetry_note``), True insists (a
    ``DefinitionError`` when the test fails); ``max_states`` (states stored) / ``max_depth``
    (levels) / ``time_limit`` (seconds, from the call) bound the search: the verdict is then
    ``incomplete`` unless a violation is found; ``keep_going``: report every violated property
    (``Result.violations``), not only the first; ``progress`` is called now and then with a
    dict of counts. Ctrl-C (``KeyboardInterrupt``) ends the search with the verdict
    ``interrupted`` and the counts so far. ``fairness=False`` checks temporal properties
    without the fairness the model declares (to show what it is needed for).
    ``memory_limit`` (bytes; by default 90% of the memory available when the search starts):
    past half of it the frontier spills to disk, past all of it the search stops (verdict
    ``incomplete``, ``bound`` "memory_limit=...") before the machine swaps. ``workers`` > 1
    runs a level-synchronous BFS partitioned over that many worker processes
    (``checkers.parallel``); ``engine="ray"`` runs the same search with its shards as Ray
    actors (``workers`` of them; None: one per CPU of the cluster), on the cluster at
    ``address`` or on a local one. ``checkpoint`` (a folder) saves the search there every
    ``checkpoint_every`` seconds (default ``checkers.checkpoint.EVERY``) and when it is stopped
    (Ctrl-C, SIGTERM); ``resume`` (a folder) takes up the search saved there, for the same
    model, parameters, properties and options, and goes on saving to it (or to
    ``checkpoint``). Both run the partitioned search, with one shard in this process when
    ``workers`` is 1.
    """
    if strategy not in STRATEGIES:
        raise UnknownNameError("strategy", strategy, STRATEGIES)
    for name, bound in (("max_states", max_states), ("max_depth", max_depth)):
        if bound is not None and (type(bound) is not int or bound < 1):
            raise ParamError(f"{name} must be a whole number >= 1, got {bound!r}")
    if time_limit is not None and not time_limit >= 0:
        raise ParamError(f"time_limit must be a number of seconds >= 0, got {time_limit!r}")
    if memory_limit is not None and (type(memory_limit) is not int or memory_limit < 1):
        raise ParamError(f"memory_limit must be a number of bytes >= 1, got {memory_limit!r}")
    budget = MemoryBudget(memory_limit)
    if engine not in ENGINES:
        raise UnknownNameError("engine", engine, ENGINES)
    if engine == "auto":
        return _auto(model, properties=properties, strategy=strategy, symmetry=symmetry,
                     max_states=max_states, max_depth=max_depth, deadlock=deadlock,
                     progress=progress, keep_going=keep_going, time_limit=time_limit,
                     fairness=fairness, memory_limit=memory_limit, workers=workers,
                     checkpoint=checkpoint, resume=resume, checkpoint_every=checkpoint_every)
    if engine == "ray" and workers is None:  # a shard per CPU of the cluster
        from kripke.checkers.ray_engine import cluster_cpus
        workers = cluster_cpus(address)
    if type(workers) is not int or workers < 1:
        raise ParamError(f"workers must be a whole number >= 1, got {workers!r}")
    saving = checkpoint or resume
    partition = workers > 1 or engine == "ray" or bool(saving)
    props = select_properties(model, properties)
    if engine == "vector" and (strategy != "bfs" or partition):
        what = ("--strategy " + strategy if strategy != "bfs"
                else "--workers, --checkpoint and --resume")
        raise ParamError(f"--engine vector runs a level-synchronous BFS in one process: drop "
                         f"{what}, or use --engine plain")
    domain = model.symmetric_domain() if symmetry is not False else None
    if symmetry and domain is None:
        raise DefinitionError(f"{model.display_name()} declares no symmetric domain")
    temporal = [p.name for p in props if p.temporal]
    off = None  # why a declared symmetry is not used, when that is decided before the search
    if temporal and domain is not None:
        if symmetry:
            are = "is a temporal property" if len(temporal) == 1 else "are temporal properties"
            raise DefinitionError(f"{model.display_name()}: {', '.join(temporal)} {are}, "
                                  "checked without symmetry reduction; drop --symmetry or "
                                  "select safety properties only")
        off = ("temporal properties are checked on the whole state graph (symmetry reduction "
               "is not known to keep each call's fairness)")
        domain = None
    if partition and (strategy != "bfs" or temporal):
        what = ("--strategy dfs" if strategy != "bfs" else
                f"the temporal properties ({', '.join(temporal)}), which need the whole state "
                "graph in one process")
        how = ("--engine ray" if engine == "ray" else "--workers" if workers > 1
               else "--checkpoint/--resume")
        raise ParamError(f"{how} runs a level-by-level BFS: it does not check {what}; "
                         f"drop {how} or " + ("use bfs" if strategy != "bfs" else
                                              "select safety properties"))
    if domain is not None and model.variables is None:
        raise DefinitionError(f"{model.display_name()}: symmetry needs typed variables")
    started = time.perf_counter()
    raised = init_raises(model)
    if raised is not None:  # no initial state to search from: a finding without a trace
        return Result(
            model=model_spec(type(model)), params=model.params, strategy=strategy,
            symmetry=False, verdict=VIOLATED, distinct_states=0, states_generated=0, depth=0,
            elapsed_s=time.perf_counter() - started, properties=[p.name for p in props],
            violation=Violation("init()", "exception", None, f"init() raised {raised}"))
    limits = (max_states, max_depth, time_limit,
              math.inf if time_limit is None else started + time_limit)
    search, note, canon, interrupted, violations = None, None, None, False, []
    try:
        # Symmetry is tested before it is trusted (random states, then each new state).
        note = symmetry_problem(model, domain, props, deadlock=deadlock) if domain else None
        while True:
            if note is not None and symmetry:
                raise DefinitionError(f"{model.display_name()}: --symmetry would give wrong "
                                      f"verdicts: {note}")
            canon = Canonicalizer(model, domain) if domain is not None and note is None else None
            probe = (TranspositionProbe(model, canon, props, deadlock=deadlock, domain=domain,
                                        invariants_hold=True) if canon is not None else None)
            if engine == "vector":
                from kripke.checkers.vector import VectorSearch
                search = VectorSearch(model, props, limits, deadlock, progress, keep_going,
                                      canon, insist=bool(symmetry))
                canon, off = search.canon, off or search.symmetry_off
            elif partition:
                from kripke.checkers import checkpoint as ckpt
                from kripke.checkers.parallel import partitioned
                ident = ckpt.identity(model, props, canon is not None,
                                      {"deadlock": deadlock, "keep_going": keep_going,
                                       "max_depth": max_depth, "strategy": strategy}, workers)
                saved = ckpt.load(resume, ident) if resume else None
                writer = (ckpt.Checkpointer(saving, ident, checkpoint_every or ckpt.EVERY)
                          if saving else None)
                search = partitioned(model, props, canon, probe, limits, deadlock, progress,
                                     keep_going, budget, workers,
                                     "ray" if engine == "ray" else "processes", address,
                                     writer, saved, memory_limit)
            else:
                search = _Search(model, props, canon, probe, strategy == "dfs", limits,
                                 deadlock, progress, keep_going, fairness, budget)
            try:
                search.run()
                break
            except _SymmetryBroken as e:  # search again without symmetry
                search.close()
                note = str(e)
        try:
            violations = [search.violation(f) for f in search.findings]
            interrupted = search.interrupted
            if not interrupted and search.bound is None and (keep_going or not violations):
                violations += search.after_the_search(props)
        finally:
            search.close()
    except KeyboardInterrupt:
        interrupted = True
    elapsed = time.perf_counter() - started
    verdict = (INTERRUPTED if interrupted else VIOLATED if violations
               else INCOMPLETE if search.bound else OK)
    if search is None:  # interrupted while symmetry was tested: nothing was searched
        search = _Search(model, props, None, None, False, limits, deadlock, None, keep_going,
                         fairness)
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
        properties=[p.name for p in props], coverage=coverage,
        violation=violations[0] if violations else None, violations=violations,
        bound=search.bound, symmetry_note=None if (note or off) is None
        else f"symmetry off: {note or off}",
        collision_probability=0.0 if engine == "vector"  # whole states, no fingerprints
        else distinct * max(generated - distinct, 0) / 2.0 ** 64,
        outside_constraint=search.outside, workers=workers,
        partition=(search.partition.describe()
                   if hasattr(search, "partition") and (workers > 1 or engine == "ray")
                   else None),
        engine=engine, per_state=dict(getattr(search, "per_state", {})),
        checkpoint=str(saving) if saving and getattr(search, "saved", 0) else None)


def _auto(model, **options):
    """``check(engine="auto")``: the plain engine up to ``AUTO_STATES`` states, and beyond them
    the vector engine, unless the options or the model keep to the plain one (a symmetry to use:
    the plain engine reduces every model's, the vector engine only the layouts where ids merely
    index slots; other strategies, workers, temporal properties, an encoding or property the
    vector engine does not support): then the plain engine, unbounded."""
    from kripke.checkers.vector import Unsupported, unsupported
    props = select_properties(model, options["properties"])
    symmetric = options["symmetry"] is not False and model.symmetric_domain() is not None
    plain_only = (symmetric or options["strategy"] != "bfs" or options["workers"] != 1
                  or options["checkpoint"] or options["resume"]
                  or unsupported(model, props) is not None)
    limit = options["max_states"]
    if plain_only:
        return check(model, engine="plain", **options)
    started = time.perf_counter()
    first = check(model, engine="plain", **{**options, "max_states": min(
        limit or AUTO_STATES, AUTO_STATES)})
    if first.bound != f"max_states={min(limit or AUTO_STATES, AUTO_STATES)}" or (
            limit is not None and limit <= AUTO_STATES):
        return first
    try:  # tracing the model decides: what the vector engine cannot encode stays plain
        result = check(model, engine="vector", **options)
    except Unsupported:
        result = check(model, engine="plain", **options)
    return dataclasses.replace(result, elapsed_s=time.perf_counter() - started)


@contextmanager
def paused_gc():
    """Pause Python's cyclic garbage collector: a search allocates tuples by the million and
    keeps most of them, and each full collection walks every one of them, for nothing (states
    are immutable tuples, which cannot form cycles). Measured on two-phase with 7 RMs: 5% of a
    search's time, and 35% of a search split in two shards. A cycle the model makes anyway is
    collected when the search ends."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class _SymmetryBroken(KripkeError):
    """A state of a symmetric search is not treated like its renaming: search without."""


def init_raises(model):
    """The text of the exception ``model.init()`` raises ("Type: message"), or None."""
    try:
        for _ in model.init():
            pass
    except KripkeError:
        raise
    except Exception as e:
        return _error_text(e)
    return None


def select_properties(model, names):
    """The model's properties (but those expected to fail and those checked only when named),
    or those named (an unknown name lists the available ones)."""
    available = {p.name: p for p in model.properties}
    if names is None:
        return [p for p in model.properties if not p.expected_to_fail and p.default]
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
    ``seen`` (a shard's table also holds what it sent to other shards), ``(-1, (check index,
    call index, t))`` for a step that fails a check, or ``(-2, (field index, call index, t))`` for a successor outside its
    types (field -1: not a record of ``s``'s class). ``known`` is the C function's cache of
    values that passed their types; the twin checks every changed field instead.
    """
    own = value_fingerprint(s)
    found = []
    n = 0
    for k, call in enumerate(calls):
        out = call[0](s, *call[1]) if len(call) == 3 else call[0](s, call[1])
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
    """An action call as ``expand`` makes it: ``(fn, arg)`` for ``fn(state, arg)``, the common
    one-argument case, or ``(fn, args, None)`` for ``fn(state, *args)`` (no Python wrapper
    between the engine and the action)."""
    if len(args) == 1:
        return fn, args[0]
    return fn, tuple(args), None


class _Finding(NamedTuple):
    """What the search found: at the state ``fp`` (``what`` = "state"), on a step from it
    ("step": the step is found again when the trace is rebuilt), or the refinement's initial
    condition on it ("init"); ``error`` is the text of the exception of kind ``exception``."""

    what: str
    prop: str
    kind: str
    fp: int
    error: str = None


def _error_text(e):
    return f"{type(e).__name__}: {e}"


#: the parent of a state the search stored (the parent of other states is passed on)
_STORED = object()


class _Search:
    """The state of one search; ``run`` is the hot loop."""

    def __init__(self, model, props, canon, probe, dfs, limits, deadlock, progress, keep_going,
                 fairness=True, budget=None):
        self.model, self.canon, self.probe, self.dfs = model, canon, probe, dfs
        self.budget = budget if budget is not None else MemoryBudget(None)
        self.max_states, self.max_depth, self.time_limit, self.deadline = limits
        self.max_states_or_inf = self.max_states or math.inf
        self.max_depth_or_inf = self.max_depth or math.inf
        self.deadlock, self.progress, self.keep_going = deadlock, progress, keep_going
        #: the state constraint, when the model overrides TransitionSystem.within
        self.within = None if type(model).within is TransitionSystem.within else model.within
        #: declared types are enforced on every state (type_ok needs no separate evaluation)
        self.type_checks = model.type_checks
        self.known = array("Q", bytes(8 * 65536)) if model.type_checks is not None else None
        self.invariants = [(p.name, p.condition) for p in props if p.kind == "invariant"
                           and not (p is type_ok and self.type_checks is not None)]
        self.pending = [(p.name, p.condition) for p in props if p.kind == "sometimes"]
        self.refinements = [(p.name, p.checker(model)) for p in props if p.kind == "refinement"]
        self.steps = [(p.name, p.condition) for p in props if p.kind == "step"]
        #: as selected (the lists above lose the properties found violated)
        self.all_refinements, self.all_steps = list(self.refinements), list(self.steps)
        #: fingerprint -> parent fingerprint (None for an initial state), about 20 bytes a
        #: state; a shard's also notes other shards' states (``checkers.parallel``)
        self.seen = FingerprintTable()
        #: fingerprint -> parent of a state with a finding that was not stored (outside the
        #: constraint or its types): the last link of its trace
        self.boundary = {}
        self.fired = array("Q", bytes(8 * len(model._calls)))  # counters that expand() bumps
        self.new = [0] * len(model._calls)
        self.n_init = 0
        self.depth = 0
        self.outside = 0  # successors outside the constraint (each time one is generated)
        self.bound = None
        self.interrupted = False
        self.frontier = None  # a Frontier while the search runs
        self.findings = []  # _Finding, in the order found
        self.reported = set()  # the properties (and type_ok, exception, ...) found violated
        #: whether states were skipped (out of type, or an action raised on them): what was
        #: not found violated is then unknown, and always_possible is not checked
        self.broken = False
        #: the reachable graph, recorded when temporal properties are selected
        temporal = [p for p in props if p.temporal]
        instances = [(p, label, holds, then) for p in temporal
                     for label, holds, then in p.instances(model)]
        raw = [(holds, then, x) for p in temporal
               for _, holds, then, x in p.instances(model, raw=True)]
        self.graph = StateGraph(instances, model, raw) if instances else None
        if self.graph is not None:  # the graph numbers the states it stores
            self.seen = self.graph.index
        self.fairness = fairness

    def close(self):
        """Release what the search holds beyond its results (worker processes, files)."""

    def fingerprint(self, s):
        """The name of ``s`` in the visited set: its fingerprint, or its orbit's under
        symmetry (the representative's, computed without building it)."""
        return value_fingerprint(s) if self.canon is None else self.canon.fingerprint(s)

    def _unit(self, name, args):
        """The fairness unit of the call ``name(args)``, or -1 when it is not fair."""
        strength = self.model.fairness(name) if self.fairness else None
        return -1 if strength is None else self.graph.unit((name, args), strength)

    def _graph_calls(self, s):
        """``(calls, call indices, units)`` of every call in ``s``, an action over a
        state-dependent domain giving one call per element (each its own fairness unit)."""
        model = self.model
        calls, ks, units = [], [], []
        for k, (name, fn, args) in enumerate(model._calls):
            over = model._dynamic.get(name)
            if over is None:
                calls.append(self._calls[k])
                ks.append(k)
                units.append(self._units[k])
                continue
            method = getattr(model, name)
            for v in over(s):
                calls.append(_unary(method, args + (v,)))
                ks.append(k)
                units.append(self._unit(name, args + (v,)))
        return calls, ks, units

    def _graph_raised(self, f, raised):
        """A temporal property's predicate raised on the new state ``f`` (``raised``: the
        instance and the exception, as ``StateGraph.add_state`` returns them): a finding;
        False when the search stops."""
        k, e = raised
        return self._found(_Finding("state", self.graph.instances[k][0].name, "exception", f,
                                    _error_text(e)))

    def run(self):
        """Search, collecting ``findings``; Ctrl-C ends it (``interrupted``)."""
        try:
            with paused_gc():
                self._run()
        except KeyboardInterrupt:
            self.interrupted = True
        finally:
            if self.frontier is not None:
                self.frontier.close()

    def _run(self):
        model, seen = self.model, self.seen
        self._calls = [_unary(fn, args) for _, fn, args in model._calls]
        graph = self.graph
        if graph is not None:
            self._units = [self._unit(name, args) for name, _, args in model._calls]
        progress, fired = self.progress, self.fired
        frontier = self.frontier = Frontier(model, lifo=self.dfs)
        head, pop, push = frontier.head, frontier.pop, frontier.push

        for s in model.init():
            fp = self._init_fingerprint(s)
            stored = self._start(s, fp)
            if stored is None:
                return
            if stored:
                push((s, fp, 1))
        self.depth = 1 if seen else 0

        started = time.perf_counter()
        expanded, next_report = 0, started + 2.0
        successors, admit = self._successors, self._admit
        while head or frontier.refill():
            s, fp, d = pop()
            if d > self.depth:
                self.depth = d
            expanded += 1
            if not expanded & 255:
                now = time.perf_counter()
                if self._past_limits(now, frontier):
                    return
                if progress is not None and now >= next_report:
                    next_report = now + 1.0
                    progress({"distinct": len(seen), "generated": self.n_init + sum(fired),
                              "queue": len(frontier), "depth": self.depth,
                              "elapsed": now - started})
            out = successors(s, fp)
            if out is None:
                return
            n, found, edges = out
            for i, t, f in found:
                if f not in seen and not admit(i, t, f, fp, d, push):
                    return
            if edges is not None:
                graph.add_edges(fp, *edges)
            if not n and self.deadlock and not self._check_deadlock(s, fp):
                return

    def _past_limits(self, now, *queues):
        """Asked every 256 states: past the time limit or the memory budget, set ``bound`` and
        say True (the search stops); past half the budget, let ``queues`` spill to disk."""
        if now >= self.deadline:
            self.bound = f"time_limit={self.time_limit:g}"
            return True
        memory = self.budget.state()
        if memory == "stop":
            self.bound = self.budget.label()
            return True
        for q in queues:
            q.spilling = q.spilling or memory == "spill"
            q.relieve()
        return False

    def _start(self, s, fp):
        """Count and check the initial state ``s`` (fingerprint ``fp``): True when it is stored
        (to be expanded), False when not, None when the search stops."""
        self.n_init += 1
        if fp in self.seen or fp in self.boundary:
            return False
        if self.type_checks is not None and first_bad_field(s, self.type_checks, None) >= 0:
            return None if not self._found(_Finding("state", "type_ok", "type", fp),
                                           parent=None) else False
        inside = self._within(s, fp, None) if self.within is not None else True
        if inside is None:
            return None
        if not inside:
            self.outside += 1
            return False if self._check_state(s, fp, parent=None) else None
        if len(self.seen) >= self.max_states_or_inf:
            self.bound = f"max_states={self.max_states}"
            return None
        if self.graph is None:
            self.seen[fp] = None
        else:
            raised = self.graph.add_state(fp, s, None)
            if raised is not None and not self._graph_raised(fp, raised):
                return None
        if not (self._init_refinements(s, fp) and self._check_state(s, fp)):
            return None
        self._probe(s)
        return True

    def _successors(self, s, fp):
        """Expand ``s``: ``(n, found, edges)`` with ``n`` successors (-1: an action raised and,
        with ``keep_going``, ``s`` is not expanded), ``found`` the ``[(call index, t, f)]`` not
        seen before, ``edges`` what the liveness graph records of the step (None without a
        graph); None when the search stops on a finding."""
        model, fired, graph = self.model, self.fired, self.graph
        calls, type_checks, known = self._calls, self.type_checks, self.known
        fingerprint = None if self.canon is None else self.canon.fingerprint
        # The checks of every step from s: a refinement's (image, image of s, allowed images),
        # or a step property bound to s.
        try:
            if self.keep_going:
                before = fired[:]
            checks = [ref.context_of(s) for _, ref in self.refinements]
            if self.steps:
                checks += [partial(cond, model, s) for _, cond in self.steps]
            if graph is None:
                n, found = expand(s, calls, fired, self.seen, fingerprint, checks, type_checks,
                                  known)
            else:  # every successor is wanted: a "seen" dict that stays empty
                dynamic = bool(model._dynamic)
                here, ks, units = (self._graph_calls(s) if dynamic
                                   else (calls, range(len(calls)), self._units))
                counts = array("Q", bytes(8 * len(here))) if dynamic else fired
                n, found = expand(s, here, counts, {}, fingerprint, checks, type_checks, known)
        except KripkeError:
            raise
        except Exception as e:  # the model or a property raised: a finding, with its trace
            n, found = -3, e
        if n < 0:
            if not self.keep_going:
                self._found(self._expansion_finding(s, fp, n, found))
                return None
            if graph is None:
                fired[:] = before  # expanded again, one successor at a time
                n, found = self._expand_slowly(s, fp, calls, fired, self.seen)
            else:
                if not dynamic:
                    fired[:] = before
                counts = array("Q", bytes(8 * len(here))) if dynamic else fired
                n, found = self._expand_slowly(s, fp, here, counts, {})
            if n < 0:  # an action raised: s is not expanded
                return -1, (), None
        if graph is None:
            return n, found, None
        steps_from = found  # every step; the search skips the states seen before
        if dynamic:
            for j, c in enumerate(counts):
                fired[ks[j]] += c
            found = [(ks[j], t, f) for j, t, f in found]
        return n, found, (steps_from, units)

    def _admit(self, i, t, f, parent, d, push):
        """The successor ``t`` (fingerprint ``f``, not seen before) of the state ``parent`` at
        depth ``d``, by call ``i``: stored, checked and pushed for expansion, unless it lies
        beyond the depth bound or outside the constraint. False when the search stops."""
        if d >= self.max_depth_or_inf:
            self.bound = f"max_depth={self.max_depth}"
            return True
        if self.within is not None:
            inside = self._within(t, f, parent)
            if inside is None:
                return False
            if not inside:  # checked as TLC does, but neither stored nor expanded
                self.outside += 1
                return self._check_state(t, f, parent=parent)
        if len(self.seen) >= self.max_states_or_inf:  # a state beyond the bound exists
            self.bound = f"max_states={self.max_states}"
            return False
        if self.graph is None:
            self.seen[f] = parent
        else:
            raised = self.graph.add_state(f, t, parent)
            if raised is not None and not self._graph_raised(f, raised):
                return False
        self.new[i] += 1
        # The hot path: the invariants hold and no sometimes-property is witnessed. Anything
        # else (a property that fails, raises or is witnessed) is handled by _check_state,
        # which evaluates them again one at a time.
        model = self.model
        try:
            for _, cond in self.invariants:
                if not cond(model, t):
                    break
            else:
                for _, cond in self.pending:
                    if cond(model, t):
                        break
                else:
                    if self.probe is not None:
                        self._probe(t)
                    push((t, f, d + 1))
                    return True
        except KripkeError:
            raise
        except Exception:
            pass
        if not self._check_state(t, f):
            return False
        if self.probe is not None:
            self._probe(t)
        push((t, f, d + 1))
        return True

    # -- findings, off the hot path --------------------------------------------------------------
    def _found(self, finding, parent=_STORED):
        """Record ``finding`` (once per property) and drop its property from the search; False
        when the search stops there (without ``keep_going``). ``parent``: the parent of a state
        the search did not store."""
        if parent is not _STORED:
            self.boundary[finding.fp] = parent
        if finding.prop not in self.reported:
            self.reported.add(finding.prop)
            self.findings.append(finding)
        if finding.kind == "type" or finding.prop in ("exception", "within()"):
            self.broken = True  # states were skipped
        self._drop(finding.prop)
        return self.keep_going

    def _drop(self, name):
        """Check the property ``name`` no more (it was found violated)."""
        for props in (self.invariants, self.pending, self.refinements, self.steps):
            props[:] = [p for p in props if p[0] != name]
        if self.probe is not None:
            self.probe.forget(name)
        if name in ("deadlock", "terminal()"):
            self.deadlock = False

    def _check_state(self, s, fp, parent=_STORED):
        """Every invariant and pending sometimes-property on ``s``, one at a time: a violation,
        or an exception, is a finding; a witness drops its sometimes-property. False when the
        search stops."""
        model = self.model
        for name, cond in list(self.invariants):
            try:
                finding = None if cond(model, s) else _Finding("state", name, "invariant", fp)
            except KripkeError:
                raise
            except Exception as e:
                finding = _Finding("state", name, "exception", fp, _error_text(e))
            if finding is not None and not self._found(finding, parent):
                return False
        for name, cond in list(self.pending):
            try:
                if cond(model, s):
                    self.pending[:] = [p for p in self.pending if p[0] != name]
            except KripkeError:
                raise
            except Exception as e:
                if not self._found(_Finding("state", name, "exception", fp, _error_text(e)),
                                   parent):
                    return False
        return True

    def _init_refinements(self, s, fp):
        """Each refinement's initial condition on the initial state ``s``."""
        for name, ref in list(self.refinements):
            try:
                finding = None if ref.init_ok(s) else _Finding("init", name, "refinement", fp)
            except KripkeError:
                raise
            except Exception as e:
                finding = _Finding("state", name, "exception", fp, _error_text(e))
            if finding is not None and not self._found(finding):
                return False
        return True

    def _within(self, t, f, parent):
        """``model.within(t)``; None when it raised and the search stops."""
        try:
            return self.within(t)
        except KripkeError:
            raise
        except Exception as e:
            if not self._found(_Finding("state", "within()", "exception", f, _error_text(e)),
                               parent):
                return None
            return False

    def _check_deadlock(self, s, fp):
        """``s`` has no successor: is it terminal? False when the search stops."""
        try:
            if self.model.terminal(s):
                return True
            finding = _Finding("state", "deadlock", "deadlock", fp)
        except KripkeError:
            raise
        except Exception as e:
            finding = _Finding("state", "terminal()", "exception", fp, _error_text(e))
        return self._found(finding)

    def _expansion_finding(self, s, fp, n, found):
        """The finding behind a failed ``expand`` of ``s``: ``n`` and ``found`` as it returned
        them, or ``n = -3`` and the exception it raised."""
        if n == -2:  # found = (field index, call index, t)
            if type(found[2]) is self.model.State:  # a list or a dict is bad input
                self.model.check_immutable(found[2])
            return _Finding("step", "type_ok", "type", fp)
        if n == -1:  # found = (check index, call index, t); the step is found again later
            r = found[0]
            name, kind = ((self.refinements[r][0], "refinement") if r < len(self.refinements)
                          else (self.steps[r - len(self.refinements)][0], "step"))
            return _Finding("step", name, kind, fp)
        return self._exception(s, fp, found)

    def _expand_slowly(self, s, fp, calls, fired, seen):
        """``expand`` for ``keep_going``, after it failed on ``s``: every finding is recorded
        and its property dropped, and a successor outside its types is skipped. Returns ``(n,
        found)`` as ``expand`` does (counting in ``fired``, leaving out the successors in
        ``seen``), or ``(-1, None)`` when an action raised (``s`` is then not expanded)."""
        model, type_checks = self.model, self.type_checks
        outs = []
        for k, call in enumerate(calls):
            try:
                out = call[0](s, *call[1]) if len(call) == 3 else call[0](s, call[1])
            except KripkeError:
                raise
            except Exception as e:
                self._found(self._exception(s, fp, e))
                return -1, None
            if out is not None:
                outs.append((k, out))
        n, found = 0, []
        for k, out in outs:
            for t in (out if out.__class__ is list else (out,)):
                n += 1
                fired[k] += 1
                if type_checks is not None and (
                        t.__class__ is not s.__class__ or len(t) != len(s)
                        or first_bad_field(t, type_checks, s) >= 0):
                    if type(t) is model.State:
                        model.check_immutable(t)
                    self._found(_Finding("step", "type_ok", "type", fp))
                    continue
                for name, kind, ok in list(self._step_checks(s)):
                    try:
                        finding = None if ok(t) else _Finding("step", name, kind, fp)
                    except KripkeError:
                        raise
                    except Exception as e:
                        finding = _Finding("step", name, "exception", fp, _error_text(e))
                    if finding is not None:
                        self._found(finding)
                try:
                    f = self.fingerprint(t)
                except TypeError:
                    model.check_immutable(t)  # names the field that cannot be fingerprinted
                    raise
                if f not in seen:
                    found.append((k, t, f))
        return n, found

    def _probe(self, s):
        """Compare ``s`` with a renaming of it (symmetric searches only)."""
        reason = self.probe(s) if self.probe is not None else None
        if reason is not None:
            raise _SymmetryBroken(reason)

    def _init_fingerprint(self, s):
        try:
            return self.fingerprint(s)
        except TypeError:
            self.model.check_immutable(s)  # names the field that cannot be fingerprinted
            raise

    def _exception(self, s, fp, error):
        """Find what raised while ``s`` was expanded: an action (the trace ends with the call
        that raised), or a step property or refinement on a step (the trace ends with that
        step); tell both from a successor that cannot be fingerprinted, which is bad model
        input rather than a finding."""
        model = self.model
        for name, args, thunk in model.each_call(s):
            try:
                out = thunk()
            except Exception:
                return _Finding("step", "exception", "exception", fp, _error_text(error))
            for t in (out if type(out) is list else [out]):
                if t is not None:
                    try:
                        self.fingerprint(t)
                    except TypeError:
                        model.check_immutable(t)  # raises, naming the field
        for name, _, check in self._step_checks(s):
            for _, _, t in model.successors(s):
                try:
                    check(t)
                except Exception as e:
                    return _Finding("step", name, "exception", fp, _error_text(e))
        return _Finding("state", "exception", "exception", fp, _error_text(error))

    def _step_checks(self, s, every=False):
        """``(property, kind, ok(t))`` for every refinement and step property still checked
        (``every``: also those found violated), from ``s``."""
        refinements, steps = ((self.all_refinements, self.all_steps) if every
                              else (self.refinements, self.steps))
        for name, ref in refinements:
            yield name, "refinement", (lambda t, ref=ref: ref.step_ok(s, t))
        for name, cond in steps:
            yield name, "step", (lambda t, cond=cond: same_value(s, t) or cond(self.model, s, t))

    # -- after a complete search -----------------------------------------------------------------
    def after_the_search(self, props):
        """The violations a complete search decides at its end: the sometimes-properties never
        witnessed (no trace), then the always_possible properties. Without ``keep_going``, the
        first of them only; always_possible is not checked when states were skipped."""
        found = [Violation(name, "sometimes", message=f"no reachable state satisfies {name}")
                 for name, _ in self.pending]
        if found and not self.keep_going:
            return found[:1]
        possible = [p for p in props if p.kind == "always_possible"]
        if possible and not self.broken:
            found += self.always_possible(possible)
            if found and not self.keep_going:
                return found[:1]
        if self.graph is not None and not self.broken:
            if self.outside:  # the graph lacks the steps that leave the constraint
                self.bound = ("temporal properties are not checked when states lie outside "
                              "the constraint within()")
            else:
                found += self.liveness()
        return found if self.keep_going else found[:1]

    def liveness(self):
        """Look for a fair lasso that violates each temporal property (each instance of one
        over a domain, until one fails); the violations (without ``keep_going``, the first)."""
        graph, found, failed = self.graph, [], set()
        for k, (prop, label, _, _) in enumerate(graph.instances):
            if prop.name in self.reported or prop.name in failed:
                continue
            lasso = find_lasso(graph, k, prop.kind, self.fairness)
            if lasso is None:
                continue
            failed.add(prop.name)
            found.append(self._lasso_violation(prop, lasso))
            if not self.keep_going:
                break
        return found

    def _lasso_violation(self, prop, lasso):
        """The ``Violation`` of ``prop`` for a lasso: its path, rebuilt like any trace, then its
        loop, each step of a fair call taken by that very call."""
        graph, model = self.graph, self.model
        fps = self._path(graph.fps[lasso.prefix[0]]) + [graph.fps[i] for i in lasso.prefix[1:]]
        trace, current = self._trace(prop.name, "liveness", fps)
        trace.loop_start = n = len(trace.steps) - 1
        trace.fairness = self.fairness
        for i, u in lasso.loop:
            target, call = graph.fps[i], None if u is None else graph.units[u]
            for name, args, t in model.successors(current):
                if self.fingerprint(t) == target and (call is None or (name, args) == call):
                    trace.steps.append(Step(name, model.action_args(name, args),
                                            model.encode(t)))
                    current = t
                    break
            else:
                raise NondeterminismError(
                    f"{model.display_name()}: cannot rebuild the loop of the counterexample to "
                    f"{prop.name}: re-executing the actions gives no successor the search saw")
        what = {"eventually": "<>P", "leads_to": "P ~> Q", "always_eventually": "[]<>P",
                "eventually_always": "<>[]P"}[prop.kind]
        which = "".join(f" for {k}={v}" for k, v in lasso.label.items())
        after = f"after {n} step{'s' * (n != 1)}"
        end = (f"stutters for ever at step {n}" if not lasso.loop else
               f"repeats steps {n + 1}-{len(trace.steps) - 1} for ever (back to step {n})")
        how = "a fair behaviour" if self.fairness else "a behaviour (fairness not assumed)"
        return Violation(prop.name, "liveness", trace,
                         f"{prop.name} ({what}) is violated{which}: {after} {how} "
                         f"{end}")

    def always_possible(self, props):
        """Check AG EF p for each property p: explore the reachable graph again, keeping every
        edge, then search backwards from the states where p holds. A state not reached is one
        from which p can never hold again: the violation, with the path to it. A condition that
        raises is a finding of kind ``exception`` at the state it raised on. A state outside
        the constraint (not expanded) counts as one from which p may still hold. Returns the
        violations (without ``keep_going``, the first)."""
        model, fingerprint, within = self.model, self.fingerprint, self.within
        parent, preds = {}, {}
        good = {p.name: set() for p in props}
        live = list(props)
        found, expanded = [], 0
        frontier = deque()
        for s in model.init():
            f = fingerprint(s)
            if f not in parent:
                parent[f] = None
                frontier.append((s, f))
        while frontier:
            s, f = frontier.popleft()
            expanded += 1
            if not expanded & 255 and time.perf_counter() >= self.deadline:
                self.bound = f"time_limit={self.time_limit:g}"
                return found
            if within is not None and not within(s):
                for p in live:
                    good[p.name].add(f)
                continue
            for p in list(live):
                try:
                    if p.condition(model, s):
                        good[p.name].add(f)
                except KripkeError:
                    raise
                except Exception as e:
                    found.append(self.violation(
                        _Finding("state", p.name, "exception", f, _error_text(e)), parent))
                    if not self.keep_going:
                        return found
                    live.remove(p)
            for _, _, t in model.successors(s):
                g = fingerprint(t)
                preds.setdefault(g, set()).add(f)
                if g not in parent:
                    parent[g] = f
                    frontier.append((t, g))
        for p in live:
            reach, todo = set(good[p.name]), list(good[p.name])
            while todo:
                for q in preds.get(todo.pop(), ()):
                    if q not in reach:
                        reach.add(q)
                        todo.append(q)
            stuck = next((f for f in parent if f not in reach), None)  # BFS order: shortest
            if stuck is not None:
                found.append(self._stuck(p.name, self._path(stuck, parent)))
                if not self.keep_going:
                    return found
        return found

    def _stuck(self, prop, fps):
        """The violation of the always-possible ``prop`` at the end of the path ``fps``: no
        state satisfying it can be reached from there."""
        trace, _ = self._trace(prop, "always_possible", fps)
        return Violation(prop, "always_possible", trace, f"after {len(trace.steps) - 1} steps "
                         f"no state satisfying {prop} can be reached any more")

    # -- counterexamples ---------------------------------------------------------------------
    def violation(self, found, parents=None):
        """The ``Violation`` for a ``_Finding`` (``parents``: the parent links to follow, by
        default the search's)."""
        what, prop, kind, fp, error = found
        if what == "init":
            trace, _ = self._trace(prop, "refinement", self._path(fp, parents))
            return Violation(prop, "refinement", trace,
                             f"the initial state does not map to an initial state of {prop}")
        trace, last = self._trace(prop, kind, self._path(fp, parents))
        n = len(trace.steps) - 1
        if what == "state":
            if kind == "exception":
                trace.steps[-1].error = error
                msg = (f"checking the state after {n} steps, or its successors, raised "
                       f"{error}" if prop == "exception" else
                       f"evaluating {prop} on the state after {n} steps raised {error}")
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
                    return name, args, None, _error_text(e)
        elif kind == "exception":
            check = next(ok for n, _, ok in self._step_checks(s, every=True) if n == prop)
            for name, args, t in model.successors(s):
                try:
                    check(t)
                except Exception as e:
                    return name, args, t, _error_text(e)
        else:
            if kind == "type":
                fails = self.model.type_error
            else:
                check = next(ok for n, _, ok in self._step_checks(s, every=True) if n == prop)
                fails = lambda t: not check(t)  # noqa: E731
            for name, args, t in model.successors(s):
                if fails(t):
                    return name, args, t, None
        raise NondeterminismError(
            f"{model.display_name()}: the step that failed {prop} during the search does not "
            "fail when the model is run again; actions and properties must be functions of "
            "(state, parameters)")

    def _path(self, fp, parents=None):
        """The fingerprints from an initial state to ``fp``, following ``parents`` (and, for a
        state the search did not store, ``boundary``)."""
        if parents is None:
            parents = self.seen if self.graph is None else self.graph.parents
        fps = []
        while fp is not None:
            fps.append(fp)
            fp = parents[fp] if fp in parents else self.boundary[fp]
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

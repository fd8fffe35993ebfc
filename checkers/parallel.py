"""Level-synchronous, fingerprint-partitioned BFS: ``--workers N`` on one machine, ``--engine
ray`` beyond it, and the search that ``--checkpoint`` saves and ``--resume`` restores (issue 13,
items 4-6).

TLC's workers share one fingerprint set and one queue. Python processes cannot share objects, so
kripke partitions the search instead, as distributed TLC, Stern and Dill's parallel Murphi and
Lerda and Sisto's distributed SPIN do: of ``n`` shards, shard ``k`` owns the states whose
partition key ``h`` has ``h % n == k``; it holds their part of the visited set and expands them.
The key is the state's fingerprint, or the fingerprint of the one or two variables that
``checkers.partition`` finds few steps change (raft: ``voted_for``), so that most successors
stay with their parent's shard. The search goes a level at a time:

1. *expand*: every shard expands each state of the current level (depth ``d``). A successor it
   owns is admitted at once: stored, checked and queued for the next level (depth ``d + 1``)
   unless seen, exactly as the one-process search does (``checkers.explicit._Search._admit``).
   Any other is *offered* to the shard that owns it, by its fingerprint, unless this shard
   offered it before: a shard *notes* in its visited set what it offered, and the parents it
   hears of, so that the C inner loop skips them with the one lookup a stored state costs
   (``FingerprintTable.note``);
2. *want*: every shard answers each offer with the fingerprints it has not seen;
3. *give*: every shard sends the states it was asked for, in one batch per shard;
4. *admit*: every shard takes the batches meant for it and admits their states.

Offering fingerprints before states is the pattern of distributed fingerprint servers: most
successors a shard offers were already reached by their owner (two-phase: 94%, raft: 48%), and
a state costs 1-4 us to write and read, a fingerprint nothing to speak of.

No state of depth ``d + 1`` is expanded before every state of depth ``d`` is admitted, so depths
are BFS depths and counterexamples are shortest, and a complete search counts the same distinct
and generated states and the same depth as the one-process search. What may differ: which of
several shortest counterexamples is reported, and which action is credited with a new state
(coverage's "new"), as with TLC's workers. ``max_states`` is checked between levels, on the sum
of the shards.

A shard is a ``checkers.explicit._Search`` that owns a share of the visited set; the coordinator
is another, whose visited set asks the shards for parents when it rebuilds a counterexample.
Transports: ``InProcess`` (the shards in this process: a checkpointed search without workers),
``Processes`` (forked worker processes, batches through files in a private directory) and
``checkers.ray_engine``'s Ray actors.
"""

import gc
import json
import math
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import tempfile
import threading
import time
from array import array
from typing import NamedTuple

from kripke.checkers.explicit import _Finding, _Search, _unary, paused_gc
from kripke.checkers.frontier import Frontier, MemoryBudget
from kripke.checkers.partition import Partition, choose
from kripke.checkers.visited import FingerprintTable
from kripke.checkers.wire import Wire, from_plain, record_classes, to_plain
from kripke.errors import CheckpointError, KripkeError
from kripke.models.system import first_bad_field, model_spec

__all__ = ["Shard", "ShardRecipe", "Coordinator", "InProcess", "Processes", "partitioned"]


class Shard(_Search):
    """Shard ``index`` of ``count``: the states whose partition key (``partition``, a
    ``checkers.partition.Partition``) is ``index`` modulo ``count``. ``level`` holds the states
    of the level being expanded, ``next`` those admitted for the next one."""

    def __init__(self, model, props, canon, probe, limits, deadlock, keep_going, budget,
                 index, count, partition):
        max_states, max_depth, time_limit, deadline = limits
        super().__init__(model, props, canon, probe, False, (None, max_depth, time_limit,
                                                            deadline),
                         deadlock, None, keep_going, budget=budget)
        self.index, self.count = index, count
        self.key = partition.key(model)  # None: the fingerprint is the key
        self._calls = [_unary(fn, args) for _, fn, args in model._calls]
        self.level, self.next = Frontier(model), Frontier(model)
        self.outbox = None  # by owner, [(call index, t, f, parent)] offered in this step
        self.stopped = False  # a finding ended the search (without keep_going), or a bound
        self._told = 0  # findings already reported

    def start(self):
        """Count, check and queue the initial states this shard owns."""
        for s in self.model.init():
            fp = self._init_fingerprint(s)
            if (fp if self.key is None else self.key(s)) % self.count != self.index:
                continue
            stored = self._start(s, fp)
            if stored is None:
                self.stopped = True
                break
            if stored:
                self.next.push((s, fp, 1))
        return self.report()

    def expand(self, interrupted, new_level=True):
        """Expand the states of the current level until they run out, the search stops, or
        ``interrupted()`` says so (the rest stays for the next call, with ``new_level`` False);
        admits the successors this shard owns, keeps the others in ``outbox`` and returns the
        offers: for each shard, the fingerprints of the successors it owns (its own: none)."""
        out = self.outbox = [[] for _ in range(self.count)]
        offers = [[] for _ in range(self.count)]
        if self.stopped:  # on a finding (another shard's may be shallower: see the level out)
            return offers
        if new_level:
            self.level, self.next = self.next, self.level
        level, count, index, key = self.level, self.count, self.index, self.key
        head, pop, seen, note = level.head, level.pop, self.seen, self.seen.note
        admit, push = self._admit, self.next.push
        expanded = 0
        while head or level.refill():
            expanded += 1
            if not expanded & 255:
                if interrupted() or self._past_limits(time.perf_counter(), level, self.next):
                    break
            s, fp, d = pop()
            got = self._successors(s, fp)
            if got is None:
                self.stopped = True
                break
            n, found, _ = got
            for i, t, f in found:
                if f in seen:  # found twice in this expansion
                    continue
                owner = (f if key is None else key(t)) % count
                if owner != index:
                    note(f)
                    offers[owner].append(f)
                    out[owner].append((i, t, f, fp))
                elif not admit(i, t, f, fp, d, push):
                    self.stopped = True
                    return offers
            if not n and self.deadlock and not self._check_deadlock(s, fp):
                self.stopped = True
                break
        return offers

    def wanted(self, offers):
        """For each shard's offer (a list of fingerprints), the positions in it of those this
        shard has not seen, each asked of one shard only; nothing once stopped."""
        seen, asked, wants = self.seen, set(), []
        for fps in offers:
            wants.append([] if self.stopped else
                         [j for j, f in enumerate(fps) if f not in seen and f not in asked])
            if len(offers) > 2:
                asked.update(fps[j] for j in wants[-1])
        return wants

    def give(self, wants):
        """For each shard, the batch ``[(call index, t, f, parent)]`` of the states it asked
        for (``wants``: its answer to this shard's offer); empties ``outbox``."""
        out, self.outbox = self.outbox, None
        return [[batch[j] for j in want] for batch, want in zip(out, wants)]

    def admit(self, batches, depth):
        """Store, check and queue the successors of depth ``depth + 1`` in ``batches`` that
        this shard has not seen."""
        seen, note, admit, push = self.seen, self.seen.note, self._admit, self.next.push
        for batch in batches if not self.stopped else ():
            for i, t, f, parent in batch:
                if f in seen:
                    continue
                note(parent)  # another shard's state, or this shard's own
                if not admit(i, t, f, parent, depth, push):
                    self.stopped = True
                    return self.report()
            self.next.relieve()
        return self.report()

    def parent(self, fp):
        """``(True, parent)`` when this shard stored ``fp`` (parent None for an initial
        state) or recorded it as the last state of a finding's trace, else ``(False, None)``."""
        try:  # a state another shard owns may be noted here: in the table, not stored
            return True, self.seen[fp]
        except KeyError:
            pass
        if fp in self.boundary:
            return True, self.boundary[fp]
        return False, None

    def report(self):
        """What the coordinator needs after each phase: counts, the new findings (with the
        parent of each state not stored), the sometimes-properties still pending, bounds."""
        new = self.findings[self._told:]
        self._told = len(self.findings)
        return {"fired": list(self.fired), "new": list(self.new), "n_init": self.n_init,
                "outside": self.outside, "distinct": len(self.seen),
                "queued": len(self.level) + len(self.next), "left": len(self.level),
                "findings": [tuple(f) for f in new],
                "boundary": {f.fp: self.boundary[f.fp] for f in new if f.fp in self.boundary},
                "pending": [name for name, _ in self.pending], "bound": self.bound,
                "broken": self.broken, "stopped": self.stopped}

    def snapshot(self):
        """This shard's part of a checkpoint (``checkers.checkpoint``), as ``{name: bytes}``:
        its visited set (raw little-endian arrays), its queued states (JSON lines ``[0 for the
        level being expanded or 1 for the next, fingerprint, depth, state]``) and its counts."""
        fps, table = self.seen.to_bytes()
        files = {"fps": fps, "table": table}
        ids = {cls: n for n, cls in enumerate(record_classes(self.model))}
        lines = [json.dumps([which, fp, d, to_plain(s, ids)])
                 for which, q in ((0, self.level), (1, self.next)) for s, fp, d in q.items()]
        files["frontier"] = "\n".join(lines).encode()
        files["counts"] = json.dumps({
            "fired": list(self.fired), "new": self.new, "n_init": self.n_init,
            "outside": self.outside, "pending": [name for name, _ in self.pending],
            "reported": sorted(self.reported), "findings": [list(f) for f in self.findings],
            "boundary": [[k, v] for k, v in self.boundary.items()],
            "broken": self.broken}).encode()
        return files

    def restore(self, files):
        """Take up a ``snapshot`` (read from a checkpoint: anything amiss is a
        ``CheckpointError``)."""
        try:
            counts = json.loads(files["counts"])
            self.seen = FingerprintTable.from_bytes(files["fps"], files["table"])
            fired = counts["fired"]
            if len(fired) != len(self.fired) or len(counts["new"]) != len(self.new):
                raise ValueError("the counts are of another model's actions")
            self.fired = array("Q", fired)
            self.new = [int(n) for n in counts["new"]]
            self.n_init, self.outside = int(counts["n_init"]), int(counts["outside"])
            self.findings = [_Finding(*f) for f in counts["findings"]]
            self._told, self.broken = 0, bool(counts["broken"])  # a new coordinator: tell all
            self.boundary = {int(k): v for k, v in counts["boundary"]}
            for name in counts["reported"]:
                self.reported.add(name)
                self._drop(name)
            pending = set(counts["pending"])
            self.pending = [p for p in self.pending if p[0] in pending]
            classes = record_classes(self.model)
            for line in files["frontier"].splitlines():
                which, fp, d, plain = json.loads(line)
                s = from_plain(plain, classes)
                if (self.type_checks is not None
                        and first_bad_field(s, self.type_checks, None) >= 0) \
                        or self.fingerprint(s) != fp or fp not in self.seen:
                    raise ValueError(f"a queued state is not the one its fingerprint {fp} "
                                     "names")
                (self.level if which == 0 else self.next).push((s, fp, int(d)))
        except (CheckpointError, KeyError, TypeError, ValueError, OverflowError) as e:
            raise CheckpointError(f"shard {self.index}'s part of the checkpoint is corrupt: "
                                  f"{e}") from None
        return self.report()

    def close(self):
        self.level.close()
        self.next.close()


def _first_known(answers):
    """The first of the shards' answers ``(known, parent)`` to "whose parent is ``fp``?" that
    knows it (a partition key is not a fingerprint: the coordinator asks each shard in turn)."""
    return next((a for a in answers if a[0]), (False, None))


class _Parents:
    """The coordinator's view of the visited set: parents, asked of the shards in turn (a
    fingerprint does not name its owner: ``_first_known``); its length is the shards' total."""

    def __init__(self, transport):
        self.transport, self.cache, self.size = transport, {}, 0

    def _ask(self, fp):
        if fp not in self.cache:
            self.cache[fp] = self.transport.parent(fp)
        return self.cache[fp]

    def __contains__(self, fp):
        return self._ask(fp)[0]

    def __getitem__(self, fp):
        known, parent = self._ask(fp)
        if not known:
            raise KeyError(fp)
        return parent

    def __len__(self):
        return self.size


class Coordinator(_Search):
    """Runs a partitioned search over ``transport``'s shards, level by level, and keeps the
    totals ``check`` reads (``fired``, ``new``, ``n_init``, ``depth``, ``findings`` ...)."""

    def __init__(self, model, props, canon, probe, limits, deadlock, progress, keep_going,
                 transport, partition, checkpointer=None, resume=None):
        super().__init__(model, props, canon, probe, False, limits, deadlock, progress,
                         keep_going)
        self.transport, self.partition = transport, partition
        self.seen = _Parents(transport)
        self.stop_requested = False
        #: a checkers.checkpoint.Checkpointer, and the (state, shard files) to resume from
        self.checkpointer, self.resume = checkpointer, resume
        self.saved = 0  # checkpoints written

    def run(self):
        with _StopOnSignal(self), paused_gc():
            self._levels()

    def close(self):
        self.transport.close()

    def _levels(self):
        transport, max_states = self.transport, self.max_states or math.inf
        checkpointer = self.checkpointer
        started = time.perf_counter()
        if self.resume is None:
            reports = transport.start()
            depth, new_level = 1, True
        else:
            state, shards = self.resume
            try:
                depth, new_level = int(state["depth"]), bool(state["new_level"])
            except (KeyError, TypeError, ValueError):
                raise CheckpointError("the checkpoint's manifest is corrupt") from None
            reports = transport.restore(shards)
        if self._merge(reports):
            return
        self.depth = depth if len(self.seen) else 0

        def pause():  # stop between states: to stop, or to save a checkpoint
            return self.stop_requested or (checkpointer is not None and checkpointer.due())

        while any(r["queued"] for r in reports):
            reports = transport.step(depth, new_level, pause)
            if self._merge(reports):
                return
            new_level = not any(r["left"] for r in reports)
            if new_level and any(r["queued"] for r in reports):
                depth += 1
                self.depth = depth
            if checkpointer is not None and (self.stop_requested or checkpointer.due()):
                checkpointer.write({"depth": depth, "new_level": new_level,
                                    "partition": list(self.partition.fields)},
                                   transport.snapshot())
                self.saved += 1
            if self.stop_requested:
                self.interrupted = True
                return
            if len(self.seen) > max_states:
                self.bound = f"max_states={self.max_states}"
                return
            if self.progress is not None:
                self.progress({"distinct": len(self.seen),
                               "generated": self.n_init + sum(self.fired),
                               "queue": sum(r["queued"] for r in reports), "depth": self.depth,
                               "elapsed": time.perf_counter() - started})

    def _merge(self, reports):
        """Take the shards' totals and findings; True when the search stops here."""
        self.fired = array("Q", map(sum, zip(*(r["fired"] for r in reports))))
        self.new = list(map(sum, zip(*(r["new"] for r in reports))))
        self.n_init = sum(r["n_init"] for r in reports)
        self.outside = sum(r["outside"] for r in reports)
        self.seen.size = sum(r["distinct"] for r in reports)
        pending = set.intersection(*(set(r["pending"]) for r in reports))
        self.pending = [p for p in self.pending if p[0] in pending]
        for r in reports:
            self.boundary.update(r["boundary"])
            self.broken = self.broken or r["broken"]
            for f in r["findings"]:
                finding = _Finding(*f)
                if finding.prop not in self.reported:
                    self.reported.add(finding.prop)
                    self.findings.append(finding)
        bounds = [r["bound"] for r in reports if r["bound"] is not None]
        if bounds:  # the depth bound only keeps deeper states out; the others stop the search
            self.bound = bounds[0]
            if not all(b.startswith("max_depth=") for b in bounds):
                self.bound = next(b for b in bounds if not b.startswith("max_depth="))
                return True
        return any(r["stopped"] for r in reports) or (self.findings and not self.keep_going)


class _StopOnSignal:
    """While a partitioned search runs, Ctrl-C and SIGTERM ask it to stop at the next state
    boundary (the shards finish the state in hand, admit what was sent, and stop) instead of
    raising wherever the interpreter happens to be."""

    def __init__(self, search):
        self.search, self.saved = search, {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.saved[sig] = signal.signal(sig, self._stop)
        return self

    def _stop(self, signum, frame):
        self.search.stop_requested = True

    def __exit__(self, *exc):
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)


class InProcess:
    """The shards in this process, one after another."""

    def __init__(self, make_shard, count):
        self.shards = [make_shard(k, count) for k in range(count)]

    def start(self):
        return [s.start() for s in self.shards]

    def step(self, depth, new_level, interrupted):
        shards = self.shards
        offers = [s.expand(interrupted, new_level) for s in shards]
        wants = [s.wanted([o[k] for o in offers]) for k, s in enumerate(shards)]
        batches = [s.give([w[k] for w in wants]) for k, s in enumerate(shards)]
        return [s.admit([b[k] for b in batches], depth) for k, s in enumerate(shards)]

    def parent(self, fp):
        return _first_known(s.parent(fp) for s in self.shards)

    def snapshot(self):
        return [s.snapshot() for s in self.shards]

    def restore(self, files):
        return [s.restore(f) for s, f in zip(self.shards, files)]

    def close(self):
        for s in self.shards:
            s.close()


class Processes:
    """Each shard in a forked worker process. Commands and reports go over a pipe per worker;
    offers, wants and batches go through files in a private directory (``Wire``), written by
    a worker in one phase and read by the one they are for in the next. Workers ignore Ctrl-C:
    the coordinator asks them to stop between states."""

    def __init__(self, make_shard, count, model):
        ctx = multiprocessing.get_context("fork")
        self.dir = tempfile.mkdtemp(prefix="kripke-workers-")
        self.count, self.conns, self.procs = count, [], []
        for k in range(count):
            ours, theirs = ctx.Pipe()
            p = ctx.Process(target=_worker, args=(theirs, make_shard, k, count, model, self.dir),
                            daemon=True, name=f"kripke-shard-{k}")
            p.start()
            theirs.close()
            self.conns.append(ours)
            self.procs.append(p)

    def _all(self, message, interrupted=None):
        for c in self.conns:
            c.send(message)
        replies, waiting, told = {}, set(self.conns), False
        while waiting:
            for c in multiprocessing.connection.wait(list(waiting), timeout=0.2):
                replies[c] = self._reply(c)
                waiting.discard(c)
            if interrupted is not None and not told and interrupted():
                told = True
                for c in waiting:
                    c.send(("interrupt",))
        return [replies[c] for c in self.conns]

    def _reply(self, conn):
        try:
            kind, value = conn.recv()
        except EOFError:
            proc = self.procs[self.conns.index(conn)]
            proc.join(timeout=1)
            raise KripkeError(f"worker process {proc.name} died (exit code {proc.exitcode}: "
                              "killed for lack of memory? --memory sets a budget)") from None
        if kind == "error":
            raise value
        return value

    def start(self):
        return self._all(("start",))

    def step(self, depth, new_level, interrupted):
        self._all(("expand", new_level), interrupted)
        self._all(("want",))
        self._all(("give",))
        return self._all(("admit", depth))

    def snapshot(self):
        return self._all(("snapshot",))

    def restore(self, files):
        for c, f in zip(self.conns, files):
            c.send(("restore", f))
        return [self._reply(c) for c in self.conns]

    def parent(self, fp):
        def ask(conn):
            conn.send(("parent", fp))
            return self._reply(conn)
        return _first_known(map(ask, self.conns))

    def close(self):
        for c in self.conns:
            try:
                c.send(("stop",))
            except OSError:
                pass
        self.conns = []
        for p in self.procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
        shutil.rmtree(self.dir, ignore_errors=True)


def _worker(conn, make_shard, index, count, model, folder):
    """A worker process: one shard, serving the coordinator's commands until "stop"."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    gc.disable()  # as in the search (explicit.paused_gc); the process ends with it
    gc.freeze()  # what the fork shares is never walked (nor copied for the collector's sake)
    wire, shard, stop = Wire(model), None, False

    def interrupted():
        nonlocal stop
        if not stop and conn.poll():
            conn.recv()  # the only message sent while a worker expands: ("interrupt",)
            stop = True
        return stop

    def path(kind, sender, owner):
        return os.path.join(folder, f"{sender}-{owner}.{kind}")

    def send(kind, values):  # values[k] for each other shard k
        for owner, value in enumerate(values):
            if owner != index:
                with open(path(kind, index, owner), "wb") as f:
                    f.write(wire.dumps(value))

    def receive(kind):  # what each other shard sent, in their order; nothing from this one
        got = []
        for sender in range(count):
            if sender == index:
                got.append([])
                continue
            with open(path(kind, sender, index), "rb") as f:
                got.append(wire.loads(f.read()))
            os.unlink(path(kind, sender, index))
        return got

    while True:
        message = conn.recv()
        command = message[0]
        try:
            if command == "stop":
                break
            if command == "interrupt":  # arrived after the phase it was meant for
                continue
            if shard is None:
                shard = make_shard(index, count)
            if command == "start":
                reply = shard.start()
            elif command == "restore":
                reply = shard.restore(message[1])
            elif command == "snapshot":
                reply = shard.snapshot()
            elif command == "expand":
                stop = False  # a pause (a checkpoint) lasts one phase
                send("offer", shard.expand(interrupted, message[1]))
                reply = None
            elif command == "want":
                send("want", shard.wanted(receive("offer")))
                reply = None
            elif command == "give":
                send("batch", shard.give(receive("want")))
                reply = None
            elif command == "admit":
                reply = shard.admit(receive("batch"), message[1])
            elif command == "parent":
                reply = shard.parent(message[1])
            else:
                raise ValueError(f"unknown command {command!r}")
            conn.send(("ok", reply))
        except BaseException as e:  # the coordinator raises it
            try:
                conn.send(("error", e))
            except Exception:
                conn.send(("error", RuntimeError(f"{type(e).__name__}: {e}")))
    if shard is not None:
        shard.close()
    conn.close()


class ShardRecipe(NamedTuple):
    """What a process that did not fork from the coordinator (a Ray actor) needs to build its
    shard: the model by name and parameters, the properties by name, whether symmetry is on,
    and the search's options; plain values, so that it travels by pickle."""

    model: str  # as models.system.model_spec names it
    params: dict
    properties: list
    symmetry: bool
    limits: tuple
    deadlock: bool
    keep_going: bool
    memory_limit: int  # this shard's share, or None
    partition: tuple  # checkers.partition.Partition's fields

    def build(self, index, count):
        from kripke.checkers.explicit import select_properties
        from kripke.checkers.symmetry_check import TranspositionProbe
        from kripke.models.symmetry import Canonicalizer
        from kripke.models.system import load_model
        model = load_model(self.model)(**self.params)
        props = select_properties(model, self.properties)
        canon = probe = None
        if self.symmetry:
            domain = model.symmetric_domain()
            canon = Canonicalizer(model, domain)
            probe = TranspositionProbe(model, canon, props, deadlock=self.deadlock,
                                       domain=domain, invariants_hold=True)
        return Shard(model, props, canon, probe, self.limits, self.deadlock, self.keep_going,
                     MemoryBudget(self.memory_limit), index, count,
                     Partition(self.partition))


def partitioned(model, props, canon, probe, limits, deadlock, progress, keep_going, budget,
                workers, engine="processes", address=None, checkpointer=None, resume=None,
                memory_limit=None):
    """The ``Coordinator`` of a partitioned search with ``workers`` shards (not yet run):
    ``engine`` "processes" (forked workers, or one shard in this process) or "ray" (actors on
    the Ray cluster at ``address``, or a local one). Each shard's memory budget is its share
    of ``budget``; on Ray, of ``memory_limit`` when the user set one, else of its own
    machine's memory (``checkers.ray_engine``). The partition is chosen by
    ``checkers.partition.choose``, or is the one a resumed search was saved with."""
    share = budget.limit // workers if budget.limit else None
    if resume is None:
        partition = choose(model, workers, canon is not None)
    else:
        partition = _saved_partition(model, resume[0], canon is not None)

    def make_shard(index, count):
        return Shard(model, props, canon, probe, limits, deadlock, keep_going,
                     MemoryBudget(share), index, count, partition)

    if engine == "ray":
        from kripke.checkers.ray_engine import RayShards
        recipe = ShardRecipe(model_spec(type(model)), dict(model.params),
                             [p.name for p in props], canon is not None, limits, deadlock,
                             keep_going, memory_limit // workers if memory_limit else None,
                             partition.fields)
        transport = RayShards(recipe, workers, address)
    elif workers > 1:
        transport = Processes(make_shard, workers, model)
    else:
        transport = InProcess(make_shard, workers)
    return Coordinator(model, props, canon, probe, limits, deadlock, progress, keep_going,
                       transport, partition, checkpointer, resume)


def _saved_partition(model, state, symmetric):
    """The partition a checkpoint's manifest ``state`` was saved with, checked: a key that
    names no variable, or names one under symmetry (where a variable's value is not invariant
    under renaming), would scatter the saved states."""
    fields = state.get("partition", []) if isinstance(state, dict) else None
    names = list(type(model).variables or ())
    if not isinstance(fields, list) or not all(f in names for f in fields) or len(fields) > 2 \
            or (fields and symmetric):
        raise CheckpointError("the checkpoint's manifest names an unknown partition "
                              f"{fields!r}")
    return Partition(tuple(fields))

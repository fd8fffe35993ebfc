"""A bulkhead, as a user would write it, and its adapter to the kripke model ``bulkhead``.

``Bulkhead`` lets at most ``max_concurrent`` calls run at once. A caller that finds every slot
busy waits, in order of arrival, for at most ``queue_timeout`` seconds (then
``BulkheadTimeout``), unless ``max_queue`` callers already wait: then it is turned away at once
(``BulkheadFull``). A slot freed while callers wait is handed to the first of them, so a
newcomer never overtakes a waiter. The article's ``Bulkhead`` meant to do this with an
``asyncio.Queue`` it never puts anything in, so it never turns anyone away (see
``models/bulkhead.py``); here the waiters are the queue.

The same bulkhead serves asyncio tasks (``async with bulkhead.acquire():``, ``await
bulkhead.call(func)``) and threads (``with bulkhead.acquire_sync():``, ``bulkhead.call_sync``),
and decorates either kind of function; its counters are guarded by a ``threading.Lock`` and a
slot is handed to a waiter of either kind. An async waiter times out on its event loop's clock
(``asyncio.wait_for``); a thread waits on an event (``event=``, ``threading.Event`` by default)
with a timeout. Both are how the adapter runs it on the model's ticks: on an event loop with a
virtual clock, or on lockstep events whose timeouts run on one (``examples.lockstep``).

``BulkheadAdapter`` connects it to the model for ``checkers.conformance``, on the async path
(each of the model's callers is a task) or the sync path (a thread). A caller calls through the
bulkhead (by ``call``/``call_sync`` or by ``acquire()``/``acquire_sync()``, in turn) a fake
function, which runs until the model's ``caller_finishes`` lets it return, raise, or cancels
the caller mid-call (Hypothesis chooses which: each ends the call and frees its slot); the
model's three ways for a caller to arrive (``caller_takes_slot``, ``caller_joins_queue``,
``bulkhead_rejects_caller``) are one event for the implementation, a caller calling;
``clock_ticks`` moves the virtual clock one tick. ``waiter_takes_slot`` and ``waiter_times_out``
are internal: the bulkhead does them on its own. The abstraction: the free slots and the waiters
the bulkhead counts, each caller's state as its task or thread shows it, and the ticks each
waiter has waited (exactly: ``checkers.conformance.in_units``). The order of the waiters is left
to the model, which serves them in order of arrival: a bulkhead that serves another shows the
wrong caller running.
"""

import asyncio
import threading
from collections import deque
from contextlib import asynccontextmanager, contextmanager

from kripke import Adapter, in_units
from examples import sync_or_async
from examples.lockstep import Cancelled, Lockstep

__all__ = ["Bulkhead", "BulkheadFull", "BulkheadTimeout", "BulkheadAdapter", "WorkError"]


class BulkheadFull(Exception):
    """Every slot is busy and max_queue callers wait: the caller is turned away."""


class BulkheadTimeout(Exception):
    """The caller waited queue_timeout seconds without getting a slot."""


class _Waiter:
    """A caller waiting for a slot: an asyncio future, or an event for a thread."""

    def __init__(self, loop=None, event=threading.Event):
        self.loop, self.granted = loop, False
        self.future = loop.create_future() if loop is not None else None
        self.event = event() if loop is None else None

    def grant(self):
        """Hand this waiter a slot (False: it has given up already)."""
        if self.future is not None:
            if self.future.done():
                return False
            self.granted = True
            try:
                same_loop = asyncio.get_running_loop() is self.loop
            except RuntimeError:
                same_loop = False
            if same_loop:
                self.future.set_result(None)
            else:
                self.loop.call_soon_threadsafe(
                    lambda f=self.future: f.done() or f.set_result(None))
            return True
        self.granted = True
        self.event.set()
        return True


class Bulkhead:
    """At most max_concurrent calls, max_queue waiters (see the module docstring)."""

    def __init__(self, name="bulkhead", *, max_concurrent=10, max_queue=100, queue_timeout=5.0,
                 event=threading.Event):
        self.name, self.max_concurrent = name, max_concurrent
        self.max_queue, self.queue_timeout = max_queue, queue_timeout
        self.event = event  # what a waiting thread waits on
        self._lock = threading.Lock()
        self.available = max_concurrent  # free slots
        self._waiters = deque()
        self.total_accepted = self.total_rejected = self.total_timeouts = 0

    @property
    def waiting(self):
        """Callers waiting for a slot."""
        return len(self._waiters)

    @property
    def active(self):
        """Calls running."""
        return self.max_concurrent - self.available

    # -- slots ----------------------------------------------------------------------------------
    def _enter(self, make_waiter):
        """Take a free slot (None), join the waiters (their _Waiter) or raise BulkheadFull."""
        with self._lock:
            if self.available > 0 and not self._waiters:
                self.available -= 1
                self.total_accepted += 1
                return None
            if len(self._waiters) >= self.max_queue:
                self.total_rejected += 1
                raise BulkheadFull(f"bulkhead {self.name}: {self.max_concurrent} calls running "
                                   f"and {self.max_queue} waiting")
            waiter = make_waiter()
            self._waiters.append(waiter)
            return waiter

    def _give_up(self, waiter):
        """A waiter stops waiting: True if it got a slot meanwhile (it must then use it or
        release it)."""
        with self._lock:
            if waiter.granted:
                return True
            self._waiters.remove(waiter)
            return False

    def _release(self):
        """A call is over: its slot goes to the first waiter, or is free again."""
        with self._lock:
            while self._waiters:
                waiter = self._waiters.popleft()
                if waiter.grant():
                    self.total_accepted += 1
                    return
            self.available += 1

    def _timed_out(self):
        with self._lock:
            self.total_timeouts += 1
        return BulkheadTimeout(f"bulkhead {self.name}: no slot within {self.queue_timeout} s")

    async def _enter_async(self):
        waiter = self._enter(lambda: _Waiter(asyncio.get_running_loop()))
        if waiter is None:
            return
        try:
            await asyncio.wait_for(waiter.future, self.queue_timeout)
        except asyncio.TimeoutError:
            if not self._give_up(waiter):
                raise self._timed_out() from None
        except BaseException:  # cancelled while waiting
            if self._give_up(waiter):
                self._release()
            raise
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            # The slot came as the task was cancelled, and wait_for returned it rather than
            # raising (Python 3.11, bpo-42130): pass the slot on and honour the cancellation.
            self._release()
            raise asyncio.CancelledError()

    def _enter_sync(self):
        waiter = self._enter(lambda: _Waiter(event=self.event))
        if waiter is not None and not waiter.event.wait(self.queue_timeout):
            if not self._give_up(waiter):
                raise self._timed_out()

    # -- the ways to call through it ----------------------------------------------------------
    @asynccontextmanager
    async def acquire(self):
        """``async with bulkhead.acquire():`` holds a slot for the block."""
        await self._enter_async()
        try:
            yield
        finally:
            self._release()

    @contextmanager
    def acquire_sync(self):
        """``with bulkhead.acquire_sync():`` holds a slot for the block (threads)."""
        self._enter_sync()
        try:
            yield
        finally:
            self._release()

    async def call(self, func, *args, **kwargs):
        """``await func(*args, **kwargs)`` in a slot."""
        async with self.acquire():
            return await func(*args, **kwargs)

    def call_sync(self, func, *args, **kwargs):
        """``func(*args, **kwargs)`` in a slot (threads)."""
        with self.acquire_sync():
            return func(*args, **kwargs)

    def __call__(self, func):
        """Decorate a function or a coroutine function."""
        return sync_or_async(func, self.call_sync, self.call)


# -- the adapter ---------------------------------------------------------------------------------

class WorkError(Exception):
    """The fake function's failure (a call that raises still frees its slot)."""


class BulkheadAdapter(Adapter):
    """``bulkhead`` <-> ``Bulkhead`` on the ``"async"`` or ``"sync"`` path; ``bulkhead_class``
    lets a test connect another bulkhead (a mutant)."""

    TICK = 1.0  # seconds per model tick
    internal = frozenset({"waiter_takes_slot", "waiter_times_out"})

    def __init__(self, model, path="async", bulkhead_class=Bulkhead):
        super().__init__(model)
        self.path, self.bulkhead_class, self.lockstep = path, bulkhead_class, None

    def reset(self):
        m = self.model
        self.lockstep = ls = Lockstep(self.path)
        self.bulkhead = self.bulkhead_class(
            "model", max_concurrent=m.max_concurrent, max_queue=m.max_queue,
            queue_timeout=m.queue_timeout * self.TICK,
            **({"event": ls.event} if self.path == "sync" else {}))
        self.callers = [None] * m.callers  # per caller: its Caller, once it has called
        self.work = [None] * m.callers  # per caller: the gate its running call waits at
        self.arrived = [0.0] * m.callers
        self.arrivals = 0

    def close(self):
        if self.lockstep is not None:
            self.lockstep.close()
            self.lockstep = None

    def apply(self, action, args):
        if action in ("caller_takes_slot", "caller_joins_queue", "bulkhead_rejects_caller"):
            self.arrive(*args)
        else:
            getattr(self, "do_" + action)(*args)

    def arrive(self, c):
        ls, bulkhead = self.lockstep, self.bulkhead
        self.arrivals += 1
        by_call = self.arrivals % 2  # call()/call_sync() and acquire()/acquire_sync() in turn

        def started(me):  # the fake function: it runs until caller_finishes
            self.work[c] = ls.gate(me, f"the call of caller {c}")
            return self.work[c]

        if self.path == "async":
            async def work(me):
                return await started(me).wait_async()

            if by_call:
                async def body(me):
                    return await bulkhead.call(work, me)
            else:
                async def body(me):
                    async with bulkhead.acquire():
                        return await work(me)
        else:
            def work(me):
                return started(me).wait()

            if by_call:
                def body(me):
                    return bulkhead.call_sync(work, me)
            else:
                def body(me):
                    with bulkhead.acquire_sync():
                        return work(me)
        self.arrived[c] = ls.time()
        self.callers[c] = ls.start(body, f"caller {c}")
        ls.settle()

    def do_caller_finishes(self, c):
        how = self.choose(("returns", "raises", "is cancelled"), "the call")
        if how == "is cancelled":
            self.lockstep.cancel(self.callers[c])
            return
        if how == "returns":
            self.work[c].open(value="done")
        else:
            self.work[c].open(error=WorkError("the call raised"))
        self.lockstep.settle()

    def do_clock_ticks(self):
        self.lockstep.advance(self.TICK)

    # -- the abstraction function ----------------------------------------------------------------
    def status(self, c):
        caller = self.callers[c]
        if caller is None:
            return "idle"
        if caller.done:
            error = caller.error
            if error is None or isinstance(error, (WorkError, asyncio.CancelledError, Cancelled)):
                return "done"  # returned, raised, or was cancelled: the call is over
            return ("rejected" if isinstance(error, BulkheadFull) else "timed_out"
                    if isinstance(error, BulkheadTimeout) else f"crashed: {error!r}")
        gate = self.work[c]
        return "running" if gate is not None and not gate.opened else "waiting"

    def observe(self):
        now = self.lockstep.time()
        caller = tuple(self.status(c) for c in range(self.model.callers))
        return {
            "permits": self.bulkhead.available, "queued": self.bulkhead.waiting,
            "caller": caller,
            "waited": tuple(in_units(now - self.arrived[c], self.TICK) if s == "waiting" else 0
                            for c, s in enumerate(caller)),
        }

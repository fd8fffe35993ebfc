"""A circuit breaker, as a user would write it, and its adapter to the kripke model
``circuit-breaker``.

``CircuitBreaker`` guards calls to a downstream service: closed it lets every call through and
counts failures in a row, opening at ``failure_threshold``; open it rejects calls
(``CircuitOpenError``) until ``recovery_timeout`` seconds have passed on its clock (monotonic by
default, never the wall clock); then it goes half-open and lets ``half_open_max_calls`` trial
calls be outstanding at once. ``success_threshold`` trial successes close it; any failure answered
while half-open opens it again. A caller's call holds a ``Permit`` that says whether it is a
trial, and hands it back when the call is answered, so a trial's place is freed then, and only
the successes of the current period's trials count towards closing (it does not go half-open
again while a trial of the last period is outstanding). These are the places where the article's
``CircuitBreaker`` goes wrong (see ``models/circuit_breaker.py``).

Every decision is one short critical section under a ``threading.Lock`` with no ``await`` in it,
so the same breaker serves threads (``call``, ``with breaker.guard():``) and asyncio tasks
(``await call_async``, ``async with breaker.guard():``), and decorates either kind of function.
The clock and the lock are injectable (``clock=``, ``lock=``), which is how the adapter runs it on
the model's ticks and interleaves threads inside its decisions.

``BreakerAdapter`` connects it to the model for ``checkers.conformance``: each of the model's
callers is a real caller on the async path (a task) or the sync path (a thread), calling by
``call``/``call_async`` and by ``guard()`` in turn; the service is a fake whose calls wait until
the model's ``caller_complete`` answers them, with a success while the fake service is healthy
and a ``ServiceError`` while it is failing (``service_fail``, ``service_recover``), or until
``caller_cancels`` cancels the caller mid-call (its task, or its thread at the service call);
``tick`` moves the breaker's clock a whole tick; ``clock_set_forward`` moves only the wall clock,
which the breaker does not read. While the breaker is open (when its decisions read the clock)
the clock creeps within its tick, a quarter of a tick at a time (Hypothesis chooses when), never
a whole tick over a run: a correct breaker decides in ticks as the model does (it opens at
k + g and waits to j + g' >= k + g + R, which is j >= k + R when g <= g' < 1), but one that
lets a trial through a fraction of a tick early is caught. On the sync path two
calls may run at once (``apply_together``): the breaker's lock is a lockstep lock, and every
clock read of theirs is held until both have come to rest (in the service, at the lock, or at
a clock read), then let go one at a time in an order Hypothesis chooses, so threads interleave
inside the breaker's decisions as the scheduler would let them.

The abstraction: the breaker's ``state``, counters and ``retry_at`` (exactly, in ticks from a
moment of its clock), each caller's call (``"trial"`` or ``"normal"``, as the permit the breaker
handed it says: the adapter records the permits ``acquire`` hands out), the fake environment's
clock and service; the model's history variables are left to the model.
"""

import asyncio
import threading
import time
from contextlib import contextmanager

from kripke import Adapter, in_units
from examples import sync_or_async
from examples.lockstep import Cancelled, Lockstep

__all__ = ["CircuitBreaker", "CircuitOpenError", "Permit", "BreakerAdapter", "ServiceError"]

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitOpenError(Exception):
    """The breaker rejected the call; ``retry_after``: seconds until it may let one through."""

    def __init__(self, name, retry_after):
        super().__init__(f"circuit {name} is open; retry after {retry_after:.1f} s")
        self.name, self.retry_after = name, retry_after


class Permit:
    """A call let through: hand it back with ``success()`` or ``failure()`` (once)."""

    __slots__ = ("breaker", "trial", "returned")

    def __init__(self, breaker, trial):
        self.breaker, self.trial, self.returned = breaker, trial, False

    def success(self):
        self.breaker._answered(self, ok=True)

    def failure(self):
        self.breaker._answered(self, ok=False)

    def release(self):
        """Hand the permit back without counting the call (an excluded exception)."""
        self.breaker._answered(self, ok=None)


class CircuitBreaker:
    """Closed, open, half-open; thread-safe and asyncio-ready (see the module docstring)."""

    def __init__(self, name="breaker", *, failure_threshold=5, success_threshold=2,
                 recovery_timeout=60.0, half_open_max_calls=1, excluded_exceptions=(),
                 clock=time.monotonic, lock=threading.Lock):
        self.name = name
        self.failure_threshold, self.success_threshold = failure_threshold, success_threshold
        self.recovery_timeout, self.half_open_max_calls = recovery_timeout, half_open_max_calls
        self.excluded_exceptions, self.clock = tuple(excluded_exceptions), clock
        self._lock = lock()
        self.state = CLOSED
        self.failure_count = 0  # failures in a row, while closed
        self.success_count = 0  # trial successes, while half-open
        self.trials_out = 0  # trials let through and not yet answered
        self.retry_at = None  # clock time from which an open breaker may try again
        self.total_calls = self.total_rejections = 0

    # -- the decisions, each one critical section ---------------------------------------------
    def acquire(self):
        """Let a call through (a ``Permit``) or raise ``CircuitOpenError``."""
        with self._lock:
            if self.state == OPEN:
                now = self.clock()
                if not self._recovered(now) or self.trials_out:
                    self.total_rejections += 1
                    raise CircuitOpenError(self.name, max(0.0, self.retry_at - now))
                self.state, self.success_count = HALF_OPEN, 0
            if self.state == HALF_OPEN:
                if self.trials_out >= self.half_open_max_calls:
                    self.total_rejections += 1
                    raise CircuitOpenError(self.name, 0.0)
                self.trials_out += 1
            self.total_calls += 1
            return Permit(self, trial=self.state == HALF_OPEN)

    def _recovered(self, now):
        """Has the open breaker waited recovery_timeout, its clock reading ``now``?"""
        return now >= self.retry_at

    def _answered(self, permit, ok):
        with self._lock:
            if permit.returned:
                raise RuntimeError("a permit is handed back once")
            permit.returned = True
            if permit.trial:
                self.trials_out -= 1
            if ok is None:
                return
            if ok:
                self._on_success(permit)
            else:
                self._on_failure(permit)

    def _on_success(self, permit):
        if self.state == CLOSED:
            self.failure_count = 0
        elif self.state == HALF_OPEN and permit.trial:
            self.success_count += 1
            if self.success_count >= self.success_threshold:
                self._close()

    def _on_failure(self, permit):
        if self.state == HALF_OPEN:
            self._trip()
        elif self.state == CLOSED:
            self.failure_count += 1
            if self.failure_count >= self.failure_threshold:
                self._trip()

    def _trip(self):
        self.state, self.failure_count, self.success_count = OPEN, 0, 0
        self.retry_at = self.clock() + self.recovery_timeout

    def _close(self):
        self.state, self.failure_count, self.success_count, self.retry_at = CLOSED, 0, 0, None

    # -- the ways to call through it ----------------------------------------------------------
    def _cancelled(self, permit):
        """The call was cancelled or interrupted: the service's answer will never be seen, so
        the call counts neither way, and a trial's place is free again."""
        permit.release()

    def _settle(self, permit, error):
        if error is None:
            permit.success()
        elif isinstance(error, self.excluded_exceptions):
            permit.release()
        else:
            permit.failure()

    def call(self, func, *args, **kwargs):
        """``func(*args, **kwargs)`` through the breaker (sync)."""
        permit = self.acquire()
        try:
            result = func(*args, **kwargs)
        except Exception as e:
            self._settle(permit, e)
            raise
        except BaseException:  # cancelled or interrupted: no answer from the service
            self._cancelled(permit)
            raise
        permit.success()
        return result

    async def call_async(self, func, *args, **kwargs):
        """``await func(*args, **kwargs)`` through the breaker (func may also be sync)."""
        permit = self.acquire()
        try:
            result = func(*args, **kwargs)
            if asyncio.iscoroutine(result):
                result = await result
        except Exception as e:
            self._settle(permit, e)
            raise
        except BaseException:  # asyncio.CancelledError: no answer from the service
            self._cancelled(permit)
            raise
        permit.success()
        return result

    @contextmanager
    def _guard(self):
        permit = self.acquire()
        try:
            yield permit
        except Exception as e:
            self._settle(permit, e)
            raise
        except BaseException:
            self._cancelled(permit)
            raise
        permit.success()

    def guard(self):
        """``with breaker.guard():`` or ``async with breaker.guard():`` around a call."""
        return _Guard(self)

    def __call__(self, func):
        """Decorate a function or a coroutine function."""
        return sync_or_async(func, self.call, self.call_async)


class _Guard:
    """The context manager of ``guard()``, for ``with`` and ``async with``."""

    def __init__(self, breaker):
        self.breaker, self._cm = breaker, None

    def __enter__(self):
        self._cm = self.breaker._guard()
        return self._cm.__enter__()

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)

    async def __aenter__(self):
        return self.__enter__()

    async def __aexit__(self, *exc):
        return self.__exit__(*exc)


# -- the adapter ---------------------------------------------------------------------------------

class ServiceError(Exception):
    """The fake service's failure."""


class BreakerAdapter(Adapter):
    """``circuit-breaker`` <-> ``CircuitBreaker``, on the ``"async"`` or ``"sync"`` path.
    ``breaker_class`` lets a test connect another breaker (a mutant)."""

    TICK = 1.0  # seconds per model tick
    #: how far into its tick the clock may creep, in ticks (it only ever creeps forward)
    CREEP = (0.25, 0.5, 0.75, 1 - 2 ** -20)
    concurrent = frozenset({"caller_call", "caller_complete", "caller_cancels"})

    def __init__(self, model, path="async", breaker_class=CircuitBreaker):
        super().__init__(model)
        self.path, self.breaker_class = path, breaker_class
        self.concurrency = 2 if path == "sync" else 1  # tasks never interleave in a decision
        self.lockstep = None

    def reset(self):
        m = self.model
        self.lockstep = ls = Lockstep(self.path)
        self.now, self.creep, self.creeps = 0, 0.0, [0.0]
        self.wall_offset, self.service, self.outages = 0, "healthy", 0
        self.holding, self.clock_reads = False, []
        self.breaker = self.breaker_class(
            "model", failure_threshold=m.failure_threshold, success_threshold=m.success_threshold,
            recovery_timeout=m.recovery_timeout * self.TICK,
            half_open_max_calls=m.half_open_max_calls, clock=self._clock, lock=ls.lock)
        self.kinds = {}  # per Caller: the permit it was handed, "trial" or "normal"
        acquire = self.breaker.acquire

        def recording_acquire():
            permit = acquire()
            self.kinds[ls.current()] = "trial" if permit.trial else "normal"
            return permit
        self.breaker.acquire = recording_acquire
        self.callers = [None] * m.callers  # per caller: its latest call's Caller
        self.service_calls = [None] * m.callers  # per caller: the gate its call waits at
        self.made = [0] * m.callers

    def close(self):
        if self.lockstep is not None:
            self.lockstep.close()
            self.lockstep = None

    def refusable(self, action, args, state):
        """A call the model's breaker rejects is tried too: the real one must reject it."""
        return action == "caller_call" and state.calls[args[0]] == "idle"

    # -- the clock -----------------------------------------------------------------------------
    def time(self):
        return (self.now + self.creep) * self.TICK

    def _clock(self):
        """The breaker's clock; while calls run at once on threads, a read is held until the
        adapter lets it go (with the time then)."""
        me = self.lockstep.current() if self.holding else None
        if me is None:
            return self.time()
        gate = self.lockstep.gate(me, "clock read")
        self.clock_reads.append(gate)
        return gate.wait()

    def _ticks(self, t):
        """A time the breaker computed from its clock, in ticks: whole ticks from a moment the
        clock showed (a tick and a creep), exactly, or as it is."""
        for creep in self.creeps:
            ticks = in_units(t - creep * self.TICK, self.TICK)
            if type(ticks) is int:
                return ticks
        return t / self.TICK

    # -- the model's actions on the implementation and its environment -------------------------
    def apply(self, action, args):
        # Only an open breaker's decisions depend on where in its tick the clock is (a trip
        # reads it, and so does the next call): the clock creeps then, one level at a time.
        further = [c for c in self.CREEP if c > self.creep]
        if further and self.breaker.state == OPEN and self.choose((False, True), "creep"):
            self.creep = further[0]
            self.creeps.append(self.creep)
        getattr(self, "do_" + action)(*args)

    def apply_together(self, calls):
        """Start the calls' callers one after the other, holding their clock reads; once all
        have come to rest, let the reads go one at a time, in an order Hypothesis chooses."""
        self.holding = True
        try:
            for action, args in calls:
                self.apply(action, args)
            while True:
                held = [g for g in self.clock_reads if not g.opened]
                if not held:
                    break
                gate = held[self.choose(range(len(held)), "the clock read to let go")]
                gate.open(value=self.time())
                self.lockstep.settle()
        finally:
            self.holding = False

    def do_caller_call(self, c):
        ls, self.made[c] = self.lockstep, self.made[c] + 1

        def request(me):  # the fake service: the call waits until it is answered or cancelled
            self.service_calls[c] = ls.gate(me, f"service call of caller {c}")
            return self.service_calls[c]

        breaker = self.breaker
        self.service_calls[c] = None
        if self.path == "async":
            if self.made[c] % 2:
                async def body(me):
                    return await breaker.call_async(lambda: request(me).wait_async())
            else:
                async def body(me):
                    async with breaker.guard():
                        return await request(me).wait_async()
        else:
            if self.made[c] % 2:
                def body(me):
                    return breaker.call(lambda: request(me).wait())
            else:
                def body(me):
                    with breaker.guard():
                        return request(me).wait()
        self.callers[c] = ls.start(body, f"caller {c}")
        ls.settle()

    def do_caller_complete(self, c):
        if self.service == "healthy":
            self.service_calls[c].open(value="ok")
        else:
            self.service_calls[c].open(error=ServiceError("the service is failing"))
        self.lockstep.settle()

    def do_caller_cancels(self, c):
        self.lockstep.cancel(self.callers[c])

    def do_service_fail(self):
        self.service, self.outages = "failing", self.outages + 1

    def do_service_recover(self):
        self.service = "healthy"

    def do_tick(self):
        self.now += 1

    def do_clock_set_forward(self):
        self.wall_offset = self.model.wall_clock_step  # datetime.now(): the breaker never reads it

    # -- the abstraction function ----------------------------------------------------------------
    def call_of(self, c):
        """Caller c's call as the model names it: "idle", or the permit of the call waiting in
        the service."""
        caller = self.callers[c]
        if caller is None:
            return "idle"
        if caller.done:
            error = caller.error
            over = error is None or isinstance(error, (ServiceError, CircuitOpenError, Cancelled,
                                                       asyncio.CancelledError))
            return "idle" if over else f"crashed: {error!r}"
        gate = self.service_calls[c]
        if gate is None or gate.opened:
            return f"stuck: {caller!r}"
        return self.kinds.get(caller, "no permit")

    def observe(self):
        b = self.breaker
        return {
            "now": self.now, "wall_offset": self.wall_offset, "service": self.service,
            "outages": self.outages,
            "calls": tuple(self.call_of(c) for c in range(self.model.callers)),
            "circuit": b.state, "failures": b.failure_count, "successes": b.success_count,
            "trials_out": b.trials_out,
            "retry_at": None if b.retry_at is None else self._ticks(b.retry_at),
        }

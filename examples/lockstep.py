"""Running real callers one step at a time, for the adapters of ``checkers.conformance``.

A caller of an implementation runs until it waits for its environment: a downstream call, a
sleep, a clock. The adapter decides what the environment does next, lets the callers run until
every one waits again (``settle``), and looks. ``Lockstep`` does this for both call paths:

* ``"async"``: callers are tasks on an event loop whose clock is virtual (``VirtualClockLoop``):
  ``asyncio.sleep``, ``asyncio.wait_for`` and ``loop.call_later`` all wait on it, and time moves
  only when the adapter calls ``advance``. Settling runs the loop until nothing is ready;
* ``"sync"``: callers are threads. Settling waits until every caller has finished or waits:
  at a ``Gate``, on a lockstep ``event()`` (``threading.Event``'s counterpart, whose timeouts run
  on a virtual clock that ``advance`` moves too) or for a lockstep ``lock()`` another caller
  holds. A thread blocked anywhere else (a real lock, a real sleep) never comes to rest:
  ``NotAtRest`` says which. Only the callers the adapter sets going run at once: after a gate
  opens, that one caller (and whoever it wakes); several, when the adapter starts several before
  it settles, which is how it makes threads interleave inside an implementation (a gate in the
  clock an implementation reads under its lock holds one caller there while another comes).

A ``Gate`` is where the fake environment holds a caller (``await gate.wait_async()`` or
``gate.wait()``) until the adapter opens it with a value or an exception. ``cancel`` cancels a
caller mid-call: its task (``asyncio.CancelledError``), or its thread at the gate it waits at
(``Cancelled``, the thread's counterpart: a ``KeyboardInterrupt``, a timeout raised around the
call). Closing abandons every waiting caller (its gate raises ``Abandoned``, a ``BaseException``
that an implementation's ``except Exception`` does not swallow) and joins the threads, so no run
leaks a thread or a loop.
"""

import asyncio
import selectors
import threading
from collections import deque

__all__ = ["VirtualClockLoop", "Lockstep", "Gate", "Caller", "Abandoned", "Cancelled",
           "NotAtRest", "LockstepEvent", "LockstepLock"]


class Abandoned(BaseException):
    """Raised in a caller whose gate is closed at the end of a run."""


class Cancelled(BaseException):
    """Raised in a thread that the adapter cancels mid-call, at the gate it waits at (a
    ``BaseException``, as ``asyncio.CancelledError`` and ``KeyboardInterrupt`` are)."""


class NotAtRest(Exception):
    """A caller neither finished nor came to wait at a gate in time (it hangs, or blocks on
    something the environment does not control)."""


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose ``time()`` is virtual: it moves only by ``advance``."""

    def __init__(self):
        super().__init__(selectors.DefaultSelector())
        self.now = 0.0

    def time(self):
        return self.now

    def idle(self):
        """Is nothing ready to run? (asyncio keeps its ready callbacks in ``_ready``; timers due
        at the current virtual time are moved there by the next iteration.)"""
        return not self._ready and not any(h.when() <= self.now for h in self._scheduled
                                           if not h.cancelled())


class Caller:
    """One call running on a Lockstep: ``done``, and its ``result`` or ``error``."""

    def __init__(self, name):
        self.name, self.done, self.result, self.error = name, False, None, None
        self.gate = None  # the gate it waits at, if any
        self.blocked = None  # what else of the lockstep's it waits for (an event, a lock)

    def finish(self, result=None, error=None):
        self.done, self.result, self.error, self.gate = True, result, error, None

    def __repr__(self):
        state = ("error " + type(self.error).__name__ if self.error else "done") if self.done \
            else f"at {self.gate.name}" if self.gate else f"waiting for {self.blocked}" \
            if self.blocked else "running"
        return f"<Caller {self.name}: {state}>"


class Gate:
    """A point where the environment holds one caller until the adapter opens it."""

    def __init__(self, lockstep, caller, name):
        self.lockstep, self.caller, self.name = lockstep, caller, name
        self.opened, self.value, self.error = False, None, None
        self._future = None
        self._event = threading.Event()

    def open(self, value=None, error=None):
        """Let the caller go on, returning ``value`` or raising ``error``."""
        if self.opened:
            raise RuntimeError(f"gate {self.name} is already open")
        self.opened, self.value, self.error = True, value, error
        if self.lockstep.mode == "async":
            if self._future is not None and not self._future.done():
                self._future.set_exception(error) if error is not None \
                    else self._future.set_result(value)
        else:
            with self.lockstep._rest:
                self.lockstep._running += 1
            self._event.set()

    async def wait_async(self):
        self.caller.gate = self
        if not self.opened:
            self._future = self.lockstep.loop.create_future()
            await self._future
        self.caller.gate = None
        return self._outcome()

    def wait(self):
        ls = self.lockstep
        with ls._rest:
            self.caller.gate = self
            ls._running -= 1
            ls._rest.notify_all()
        self._event.wait()
        self.caller.gate = None
        return self._outcome()

    def _outcome(self):
        if self.error is not None:
            raise self.error
        return self.value


class _Blocked:
    """A sync caller waiting on a lockstep event or lock: woken by the one who sets or releases
    it (who counts it as running again), by the virtual clock at ``deadline``, or abandoned."""

    def __init__(self, caller, what, deadline=None):
        self.caller, self.what, self.deadline = caller, what, deadline
        self.woken = self.timed_out = self.abandoned = False

    def wake(self, lockstep, timed_out=False):
        if not self.woken:
            self.woken, self.timed_out = True, timed_out
            lockstep._running += 1


class LockstepEvent:
    """``threading.Event`` for the callers of a sync Lockstep: a thread that waits on it is at
    rest, and a wait's timeout runs on the lockstep's virtual clock."""

    def __init__(self, lockstep, name="event"):
        self.lockstep, self.name = lockstep, name
        self._flag, self._waiting = False, []

    def is_set(self):
        return self._flag

    def set(self):
        ls = self.lockstep
        with ls._rest:
            self._flag = True
            for b in self._waiting:
                b.wake(ls)
            self._waiting.clear()
            ls._rest.notify_all()

    def clear(self):
        self._flag = False

    def wait(self, timeout=None):
        ls = self.lockstep
        with ls._rest:
            if self._flag:
                return True
            if timeout is not None and timeout <= 0:
                return False
            b = ls._block(self.name, None if timeout is None else ls.now + timeout)
            self._waiting.append(b)
            ls._wait_until_woken(b)
            if b in self._waiting:
                self._waiting.remove(b)
            return self._flag


class LockstepLock:
    """``threading.Lock`` for the callers of a Lockstep: a thread that waits for it is at rest,
    and a release hands it to the longest waiter. On the async path a task never waits for a
    lock (no task runs while another holds it, unless an implementation awaits inside its
    critical section, which would hang a real event loop: that raises)."""

    def __init__(self, lockstep, name="lock"):
        self.lockstep, self.name = lockstep, name
        self._held, self._queue = False, deque()

    def acquire(self, blocking=True, timeout=-1):
        ls = self.lockstep
        with ls._rest:
            if not self._held:
                self._held = True
                return True
            if not blocking:
                return False
            if ls.mode == "async":
                raise RuntimeError(f"a task waits for {self.name}, which another task holds: "
                                   "the implementation awaits inside a critical section")
            b = ls._block(self.name, None if timeout is None or timeout < 0 else ls.now + timeout)
            self._queue.append(b)
            ls._wait_until_woken(b)
            if b.timed_out:
                self._queue.remove(b)
                return False
            return True  # handed over by release()

    def release(self):
        ls = self.lockstep
        with ls._rest:
            if not self._held:
                raise RuntimeError(f"release of {self.name}, which is not held")
            while self._queue:
                b = self._queue.popleft()
                if not b.woken:
                    b.wake(ls)  # the lock passes to it, held all along
                    ls._rest.notify_all()
                    return
            self._held = False

    def locked(self):
        return self._held

    __enter__ = acquire

    def __exit__(self, *exc):
        self.release()


class Lockstep:
    """Callers of an implementation, run one step at a time on one call path."""

    #: seconds a sync caller may take to come to rest (it only ever waits for gates)
    REST_TIMEOUT = 10.0

    def __init__(self, mode="async"):
        if mode not in ("async", "sync"):
            raise ValueError(f"mode must be 'async' or 'sync', got {mode!r}")
        self.mode = mode
        self.callers, self.gates = [], []
        self.loop = VirtualClockLoop() if mode == "async" else None
        self.now = 0.0  # the sync path's virtual clock (the async path's is the loop's)
        self._threads, self._running, self._blocked, self._tasks = [], 0, [], {}
        self._rest = threading.Condition()
        self._local = threading.local()

    # -- callers ------------------------------------------------------------------------------
    def start(self, call, name="caller"):
        """Start ``call(caller)``: a coroutine function on the async path, a plain function on
        the sync path, given its own ``Caller`` (to make gates for it). Returns the ``Caller``;
        call ``settle()`` to let it run."""
        caller = Caller(name)
        self.callers.append(caller)
        if self.mode == "async":
            async def body():
                try:
                    caller.finish(result=await call(caller))
                except (Exception, asyncio.CancelledError) as e:
                    caller.finish(error=e)
            self._tasks[caller] = self.loop.create_task(body())
        else:
            def body():
                self._local.caller = caller
                try:
                    caller.finish(result=call(caller))
                except BaseException as e:  # Abandoned included: the thread ends either way
                    caller.finish(error=e)
                finally:
                    with self._rest:
                        self._running -= 1
                        self._rest.notify_all()
            thread = threading.Thread(target=body, name=f"lockstep-{name}", daemon=True)
            with self._rest:
                self._running += 1
            self._threads.append(thread)
            thread.start()
        return caller

    def gate(self, caller, name):
        """A new gate for ``caller`` (the fake environment makes it wait there)."""
        g = Gate(self, caller, name)
        self.gates.append(g)
        return g

    def current(self):
        """The caller running this code (its thread or task), or None."""
        if self.mode == "sync":
            return getattr(self._local, "caller", None)
        try:
            task = asyncio.current_task(self.loop)
        except RuntimeError:
            return None
        return next((c for c, t in self._tasks.items() if t is task), None)

    def cancel(self, caller):
        """Cancel ``caller`` mid-call, then settle: its task is cancelled; its thread gets
        ``Cancelled`` at the gate it waits at."""
        if self.mode == "async":
            self._tasks[caller].cancel()
        elif caller.gate is not None:
            caller.gate.open(error=Cancelled())
        else:
            raise RuntimeError(f"{caller} waits at no gate: a thread is cancelled only there")
        self.settle()

    def event(self, name="event"):
        """A ``threading.Event`` the sync callers wait on at rest (timeouts on the virtual
        clock)."""
        return LockstepEvent(self, name)

    def lock(self, name="lock"):
        """A ``threading.Lock`` the sync callers wait for at rest."""
        return LockstepLock(self, name)

    def _block(self, what, deadline):
        """Count the calling thread at rest, waiting for ``what`` (call with ``_rest`` held)."""
        caller = self.current()
        b = _Blocked(caller, what, deadline)
        if caller is not None:
            caller.blocked = what
        self._blocked.append(b)
        self._running -= 1
        self._rest.notify_all()
        return b

    def _wait_until_woken(self, b):
        while not b.woken:
            self._rest.wait()
        self._blocked.remove(b)
        if b.caller is not None:
            b.caller.blocked = None
        if b.abandoned:
            raise Abandoned()

    # -- time and rest ------------------------------------------------------------------------
    def settle(self):
        """Let every caller run until it has finished or waits (at a gate, or on the loop's
        virtual clock)."""
        if self.mode == "async":
            for _ in range(10_000):
                self.loop.run_until_complete(asyncio.sleep(0))
                if self.loop.idle():
                    return
            raise NotAtRest("the event loop never came to rest")
        with self._rest:
            if not self._rest.wait_for(lambda: self._running == 0, self.REST_TIMEOUT):
                busy = [c for c in self.callers if not c.done and c.gate is None
                        and c.blocked is None]
                raise NotAtRest(f"callers {busy} did not come to rest in {self.REST_TIMEOUT} s "
                                "(do they wait for a lock, an event or a sleep that is not the "
                                "lockstep's?)")

    def time(self):
        """The virtual clock."""
        return self.loop.now if self.mode == "async" else self.now

    def advance(self, seconds):
        """Move the virtual clock forward (the sync path's wakes the waits it ends), then
        settle."""
        if self.mode == "async":
            self.loop.now += seconds
        else:
            with self._rest:
                self.now += seconds
                for b in self._blocked:
                    if b.deadline is not None and b.deadline <= self.now:
                        b.wake(self, timed_out=True)
                self._rest.notify_all()
        self.settle()

    def close(self):
        """Abandon every caller still waiting: cancel the tasks and close the loop (async), or
        open each gate with ``Abandoned`` and join the threads (sync)."""
        if self.mode == "async":
            # Cancel until nothing is left: an implementation may swallow a cancellation (a
            # wait_for whose future completes as it is cancelled), so never wait on a gather.
            for _ in range(100):
                tasks = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
                if not tasks:
                    break
                for task in tasks:
                    task.cancel()
                for _ in range(10):
                    self.loop.run_until_complete(asyncio.sleep(0))
            self.loop.close()
            return
        for _ in range(100):
            waiting = [g for g in self.gates if not g.opened and not g.caller.done]
            with self._rest:
                blocked = [b for b in self._blocked if not b.woken]
                for b in blocked:
                    b.abandoned = True
                    b.wake(self)
                self._rest.notify_all()
            if not waiting and not blocked:
                break
            for g in waiting:
                g.open(error=Abandoned())
            try:
                self.settle()
            except NotAtRest:
                break
        for thread in self._threads:
            thread.join(self.REST_TIMEOUT)

"""Running real callers one step at a time, for the adapters of ``checkers.conformance``.

A caller of an implementation runs until it waits for its environment: a downstream call, a
sleep, a clock. The adapter decides what the environment does next, lets the callers run until
every one waits again (``settle``), and looks. ``Lockstep`` does this for both call paths:

* ``"async"``: callers are tasks on an event loop whose clock is virtual (``VirtualClockLoop``):
  ``asyncio.sleep``, ``asyncio.wait_for`` and ``loop.call_later`` all wait on it, and time moves
  only when the adapter calls ``advance``. Settling runs the loop until nothing is ready;
* ``"sync"``: callers are threads. Only one runs at a time: settling waits until every caller
  has finished or waits at a ``Gate``.

A ``Gate`` is where the fake environment holds a caller (``await gate.wait_async()`` or
``gate.wait()``) until the adapter opens it with a value or an exception. Closing abandons every
waiting caller (its gate raises ``Abandoned``, a ``BaseException`` that an implementation's
``except Exception`` does not swallow) and joins the threads, so no run leaks a thread or a loop.
"""

import asyncio
import selectors
import threading

__all__ = ["VirtualClockLoop", "Lockstep", "Gate", "Caller", "Abandoned", "NotAtRest"]


class Abandoned(BaseException):
    """Raised in a caller whose gate is closed at the end of a run."""


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

    def finish(self, result=None, error=None):
        self.done, self.result, self.error, self.gate = True, result, error, None

    def __repr__(self):
        state = ("error " + type(self.error).__name__ if self.error else "done") if self.done \
            else f"at {self.gate.name}" if self.gate else "running"
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
        self._threads, self._running = [], 0
        self._rest = threading.Condition()

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
                except asyncio.CancelledError:
                    caller.finish(error=Abandoned())
                except Exception as e:
                    caller.finish(error=e)
            self.loop.create_task(body())
        else:
            def body():
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
                busy = [c for c in self.callers if not c.done and c.gate is None]
                raise NotAtRest(f"callers {busy} did not come to rest in "
                                f"{self.REST_TIMEOUT} s")

    def advance(self, seconds):
        """Move the virtual clock (async path) forward, then settle."""
        if self.mode != "async":
            raise RuntimeError("only the async path has a virtual clock")
        self.loop.now += seconds
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
            if not waiting:
                break
            for g in waiting:
                g.open(error=Abandoned())
            try:
                self.settle()
            except NotAtRest:
                break
        for thread in self._threads:
            thread.join(self.REST_TIMEOUT)

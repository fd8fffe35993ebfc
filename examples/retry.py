"""Retry with exponential backoff and jitter, as a user would write it, and its adapter to the
kripke model ``retry``.

``Retry`` calls a function, and when it raises one of ``retry_on`` tries again, up to
``max_retries`` times after the first attempt, waiting ``base_delay * exponential_base ** n``
seconds after attempt ``n`` (from 0) failed, times a jitter factor drawn from ``1 - jitter`` to
``1 + jitter``, and capped at ``max_delay`` *after* the jitter, so no wait exceeds the cap
(Brooker, "Exponential Backoff and Jitter", AWS Architecture Blog, 2015). When every attempt has
failed it raises ``RetryExhausted`` holding the last error. These are the two places where the
article's ``retry_with_backoff`` goes wrong (see ``models/retry.py``).

The same object retries sync functions (``call``, sleeping with ``sleep``) and coroutine
functions (``await call_async``, sleeping with ``async_sleep``), and decorates either. The
clock's sleeps and the random source are injectable (``sleep=``, ``async_sleep=``, ``random=``):
that is how the adapter runs it without waiting and with jitter it chooses.

``RetryAdapter`` connects it to the model for ``checkers.conformance``: one call, on the async
path (a task) or the sync path (a thread), of a retrier whose ``retry_on`` is
``DownstreamError``. Each attempt calls a fake operation that waits until the model's
``downstream_succeeds``, ``downstream_fails`` (a ``DownstreamError``: attempt ``n`` fails with
error ``n``) or ``downstream_fails_permanently`` (a ``DownstreamRejected``, outside
``retry_on``; the model's ``non_retryable``) answers it; a wait is a fake sleep that holds the
retrier until ``retrier_backs_off``; the random draw behind the jitter is chosen by Hypothesis
among the model's three factors (both ends of the range and its middle: ``random()`` returns 0,
0.5 or the largest float below 1). ``retrier_gives_up`` is internal: the retrier raises on its own
right after the last failure. The abstraction: the attempts answered, the waits slept (in tenths
of a second, exactly: ``checkers.conformance.in_units``, so a wait 1 ms over the cap is a wait
no model state has), the call's outcome (returned, the error number inside ``RetryExhausted``, or
the error that went through), and whether the retrier holds a failure it has not yet acted on
(the model's ``failed``).
"""

import asyncio
import math
import random as _random
import time

from kripke import Adapter, in_units
from examples import sync_or_async
from examples.lockstep import Lockstep

__all__ = ["Retry", "RetryExhausted", "RetryAdapter", "DownstreamError", "DownstreamRejected"]


class RetryExhausted(Exception):
    """Every attempt failed; ``last_exception`` is the last attempt's error."""

    def __init__(self, last_exception, attempts):
        super().__init__(f"all {attempts} attempts failed: {last_exception!r}")
        self.last_exception, self.attempts = last_exception, attempts


class Retry:
    """Retries with capped, jittered exponential backoff (see the module docstring)."""

    def __init__(self, *, max_retries=3, base_delay=1.0, exponential_base=2.0, max_delay=60.0,
                 jitter=0.5, retry_on=(Exception,), sleep=time.sleep, async_sleep=asyncio.sleep,
                 random=_random.random, on_retry=None):
        if max_retries < 0 or not 0 <= jitter <= 1:
            raise ValueError("max_retries must be >= 0 and jitter within [0, 1]")
        self.max_retries, self.base_delay = max_retries, base_delay
        self.exponential_base, self.max_delay, self.jitter = exponential_base, max_delay, jitter
        self.retry_on, self.on_retry = tuple(retry_on), on_retry
        self.sleep, self.async_sleep, self.random = sleep, async_sleep, random

    def delay(self, n):
        """The wait after attempt n (from 0) failed: backed off, jittered, then capped."""
        factor = 1 - self.jitter + 2 * self.jitter * self.random()
        return min(self.base_delay * self.exponential_base ** n * factor, self.max_delay)

    def _after_failure(self, n, error):
        """The wait before the next attempt, or raise: no attempt is left."""
        if n >= self.max_retries:
            raise RetryExhausted(error, n + 1) from error
        if self.on_retry is not None:
            self.on_retry(error, n + 1)
        return self.delay(n)

    def call(self, func, *args, **kwargs):
        """``func(*args, **kwargs)``, retried (sync)."""
        for n in range(self.max_retries + 1):
            try:
                return func(*args, **kwargs)
            except self.retry_on as e:
                self.sleep(self._after_failure(n, e))
        raise AssertionError("unreachable: the last failure raises RetryExhausted")

    async def call_async(self, func, *args, **kwargs):
        """``await func(*args, **kwargs)``, retried; ``func`` may also be sync."""
        for n in range(self.max_retries + 1):
            try:
                result = func(*args, **kwargs)
                return await result if asyncio.iscoroutine(result) else result
            except self.retry_on as e:
                await self.async_sleep(self._after_failure(n, e))
        raise AssertionError("unreachable: the last failure raises RetryExhausted")

    def __call__(self, func):
        """Decorate a function or a coroutine function."""
        return sync_or_async(func, self.call, self.call_async)


# -- the adapter ---------------------------------------------------------------------------------

class DownstreamError(Exception):
    """The fake operation's failure of attempt ``n`` (the model's error n)."""

    def __init__(self, n):
        super().__init__(f"attempt {n} failed")
        self.n = n


class DownstreamRejected(Exception):
    """The fake operation's error outside ``retry_on`` (the model's ``non_retryable``): a bad
    request, which retrying cannot mend."""

    def __init__(self, n):
        super().__init__(f"attempt {n} was rejected")
        self.n = n


class RetryAdapter(Adapter):
    """``retry`` <-> ``Retry`` on the ``"async"`` or ``"sync"`` path; ``retry_class`` lets a test
    connect another retrier (a mutant)."""

    internal = frozenset({"retrier_gives_up"})

    def __init__(self, model, path="async", retry_class=Retry):
        super().__init__(model)
        self.path, self.retry_class = path, retry_class
        self.lockstep = None

    def reset(self):
        m, ls = self.model, Lockstep(self.path)
        self.lockstep = ls
        self.attempt_gate = self.sleep_gate = None
        self.answered, self.slept, self.last_error, self.jitter_draw = 0, [], None, 0.5
        self.retrier = self.retry_class(
            max_retries=m.max_retries, base_delay=float(m.base_delay),
            exponential_base=float(m.exponential_base), max_delay=float(m.max_delay),
            jitter=m.jitter / 10, retry_on=(DownstreamError,), sleep=self._sleep,
            async_sleep=self._async_sleep, random=lambda: self.jitter_draw)
        if self.path == "async":
            async def body(me):
                return await self.retrier.call_async(lambda: self._attempt(me).wait_async())
        else:
            def body(me):
                return self.retrier.call(lambda: self._attempt(me).wait())
        self.caller = ls.start(body, "the call")
        ls.settle()

    def close(self):
        if self.lockstep is not None:
            self.lockstep.close()
            self.lockstep = None

    # -- the fake environment ------------------------------------------------------------------
    def _attempt(self, me):
        self.attempt_gate = self.lockstep.gate(me, f"attempt {self.answered + 1}")
        return self.attempt_gate

    def _sleep(self, seconds):
        self.slept.append(("asleep", seconds))
        self.sleep_gate = self.lockstep.gate(self.caller, f"sleep {seconds}")
        self.sleep_gate.wait()

    async def _async_sleep(self, seconds):
        self.slept.append(("asleep", seconds))
        self.sleep_gate = self.lockstep.gate(self.caller, f"sleep {seconds}")
        await self.sleep_gate.wait_async()

    # -- the model's actions -------------------------------------------------------------------
    def apply(self, action, args):
        getattr(self, "do_" + action)(*args)

    def _answer(self, **outcome):
        gate, self.attempt_gate = self.attempt_gate, None
        self.answered += 1
        gate.open(**outcome)
        self.lockstep.settle()

    def do_downstream_succeeds(self):
        self._answer(value="result")

    def do_downstream_fails(self):
        # the jitter the retrier will draw next: one of the model's factors, random() in [0, 1)
        self.jitter_draw = self.choose((0.0, 0.5, math.nextafter(1.0, 0.0)), "random()")
        self.last_error = self.answered + 1
        self._answer(error=DownstreamError(self.last_error))

    def do_downstream_fails_permanently(self):
        self.last_error = self.answered + 1
        self._answer(error=DownstreamRejected(self.last_error))

    def do_retrier_backs_off(self):
        gate, self.sleep_gate = self.sleep_gate, None
        self.slept[-1] = ("slept", self.slept[-1][1])
        gate.open()
        self.lockstep.settle()

    # -- the abstraction function ----------------------------------------------------------------
    def observe(self):
        c, raised = self.caller, None
        if not c.done:
            phase = "failed" if self.sleep_gate is not None else "calling"
        elif c.error is None:
            phase = "returned"
        elif isinstance(c.error, RetryExhausted):
            phase, last = "raised", c.error.last_exception
            raised = last.n if isinstance(last, DownstreamError) else repr(last)
        elif isinstance(c.error, DownstreamRejected):
            phase, raised = "propagated", c.error.n
        else:
            phase = f"raised {type(c.error).__name__}"
        return {
            "phase": phase, "attempts": self.answered, "last_error": self.last_error,
            "waits": tuple(in_units(s, 0.1) for state, s in self.slept if state == "slept"),
            "raised": raised,
        }

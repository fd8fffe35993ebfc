"""Real implementations connected to kripke models, as a user would connect their own code.

``circuit_breaker.py``, ``retry.py`` and ``bulkhead.py`` each hold an implementation of a
resilience pattern from the article ("CAP theorem explained", ../shared/reference), written
correctly, asyncio-ready and with its clock, sleeps and random source injectable, and an
``Adapter`` (``checkers.conformance``) that maps the model's actions to calls on it and its
observable state back to the model's: ``circuit-breaker``, ``retry`` and ``bulkhead``.
``lockstep.py`` runs real callers one step at a time (asyncio tasks on a virtual clock, or
threads on lockstep locks and events), cancels them mid-call, and lets threads interleave inside
an implementation. ``tests/test_conformance.py`` shows each conforming, and a mutant of each
caught; ``tests/test_conformance_mutants.py`` catches, for every seed, the mutants of
``tests/fixtures/resilience_mutants.py`` (a wait 49 ms over the cap, a trial 0.9 s early, a
breaker without its lock, a slot leaked on the thread path, a permit kept on cancellation, a
newest-first queue, a retrier that retries every exception, the article's half-open success
bug).
"""

import asyncio
import functools


def sync_or_async(func, call_sync, call_async):
    """Decorate ``func`` to run through ``call_async`` when it is a coroutine function, through
    ``call_sync`` otherwise: the decorator each resilience pattern offers."""
    if asyncio.iscoroutinefunction(func):
        @functools.wraps(func)
        async def async_wrapper(*args, **kwargs):
            return await call_async(func, *args, **kwargs)
        return async_wrapper

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return call_sync(func, *args, **kwargs)
    return wrapper

"""Conformance of real code to its model: the circuit breaker, the retrier and the bulkhead of
``examples/`` conform to ``circuit-breaker``, ``retry`` and ``bulkhead`` on their async and sync
call paths, at several sizes, and a deliberately broken version of each is caught at a pinned
step, with a trace that replays against the model up to that step; the lockstep that runs
callers one step at a time. ``tests/test_conformance_mutants.py`` has the mutants of issue 9,
each caught for every seed."""

import asyncio
import json
import threading

import pytest

from kripke.checkers.conformance import Adapter, confirm, conformance_check, in_units
from kripke.errors import DefinitionError
from examples.bulkhead import Bulkhead, BulkheadAdapter, BulkheadFull, BulkheadTimeout
from examples.circuit_breaker import BreakerAdapter, CircuitBreaker, CircuitOpenError
from examples.lockstep import Abandoned, Cancelled, Lockstep
from examples.retry import Retry, RetryAdapter, RetryExhausted
from kripke.models.system import load_model
from kripke.traces.render import format_trace
from kripke.traces.trace import from_json, replay

# -- mutants: each breaks the property its model states ------------------------------------------

class BreakerOpensLate(CircuitBreaker):
    """Opens one failure after failure_threshold (> for >=)."""

    def _on_failure(self, permit):
        if self.state == "half_open":
            self._trip()
        elif self.state == "closed":
            self.failure_count += 1
            if self.failure_count > self.failure_threshold:
                self._trip()


class BreakerIgnoresTimeout(CircuitBreaker):
    """Goes half-open at once when open: lets a call through before recovery_timeout."""

    def acquire(self):
        if self.state == "open" and not self.trials_out:
            self.retry_at = self.clock()
        return super().acquire()


class RetryWithoutCap(Retry):
    """Forgets max_delay."""

    def delay(self, n):
        return self.base_delay * self.exponential_base ** n * (
            1 - self.jitter + 2 * self.jitter * self.random())


class BulkheadLeaksOnError(Bulkhead):
    """Releases its slot only when the call returns (no ``finally``)."""

    async def call(self, func, *args, **kwargs):
        await self._enter_async()
        result = await func(*args, **kwargs)
        self._release()
        return result


# -- each implementation conforms ----------------------------------------------------------------

BIG_BREAKER = dict(callers=3, max_time=6, max_outages=2, half_open_max_calls=2,
                   success_threshold=2, recovery_timeout=2, wall_clock_step=2, cancellation=True)


CONFORMING = {
    # name: the adapter, and how many runs (a run of a retried call is short: it ends); the
    # sizes the mutant suite runs are in tests/test_conformance_mutants.py
    "breaker-async-default": (lambda: BreakerAdapter(load_model("circuit-breaker")(), "async"),
                              30),
    "breaker-async-big": (lambda: BreakerAdapter(load_model("circuit-breaker")(**BIG_BREAKER),
                                                 "async"), 30),
    "breaker-sync-big": (lambda: BreakerAdapter(load_model("circuit-breaker")(**BIG_BREAKER),
                                                "sync"), 30),
    "retry-sync-no-jitter": (lambda: RetryAdapter(load_model("retry")(
        max_retries=2, jitter=0, max_delay=60, non_retryable=True), "sync"), 60),
    "retry-no-retries": (lambda: RetryAdapter(load_model("retry")(
        max_retries=0, non_retryable=True), "async"), 50),
    "bulkhead-default": (lambda: BulkheadAdapter(load_model("bulkhead")()), 40),
    "bulkhead-sync-long-wait": (lambda: BulkheadAdapter(load_model("bulkhead")(
        max_concurrent=1, max_queue=2, queue_timeout=2), "sync"), 40),
    "bulkhead-no-wait": (lambda: BulkheadAdapter(load_model("bulkhead")(
        queue_timeout=0, max_queue=2)), 40),
    "bulkhead-sync-no-wait": (lambda: BulkheadAdapter(load_model("bulkhead")(
        queue_timeout=0, max_queue=2), "sync"), 40),
}


@pytest.mark.parametrize("name", CONFORMING)
def test_the_implementations_conform(name):
    threads = threading.active_count()
    adapter, examples = CONFORMING[name]
    r = conformance_check(adapter(), seed=0, max_examples=examples, max_depth=25)
    assert r.verdict == "incomplete", r.violation and r.violation.message
    assert r.states_generated >= 100 and r.distinct_states > 3
    assert threading.active_count() == threads  # every run's callers were wound up


# -- each mutant is caught, at a pinned step, with a trace of the model --------------------------

MUTANTS = [
    # adapter, the failing step: its number and label, and what differs there (generated: the
    # shrunk run of seed 0)
    (lambda: BreakerAdapter(load_model("circuit-breaker")(), "async", BreakerOpensLate),
     7, "caller_complete(caller=0) (performed)", "circuit = 'closed', the model allows 'open'"),
    (lambda: BreakerAdapter(load_model("circuit-breaker")(), "sync", BreakerOpensLate),
     6, "caller_complete(caller=1) (at once with caller_complete(caller=0))",
     "circuit = 'closed', the model allows 'open'"),
    (lambda: BreakerAdapter(load_model("circuit-breaker")(recovery_timeout=2, max_time=3),
                            "async", BreakerIgnoresTimeout),
     7, "caller_call(caller=0) (refused)", "circuit = 'half_open', the model allows 'open'"),
    (lambda: RetryAdapter(load_model("retry")(), "sync", RetryWithoutCap),
     6, "retrier_backs_off() (performed)",
     "waits = (10, 30, 40), the model allows (10, 30, 20) or (10, 30, 30)"),
    (lambda: BulkheadAdapter(load_model("bulkhead")(), "async", BulkheadLeaksOnError),
     2, "caller_finishes(c=0) (performed)", "permits = 1, the model allows 2"),
]


@pytest.mark.parametrize("adapter, n, label, differs", MUTANTS,
                         ids=["breaker-opens-late-async", "breaker-opens-late-sync",
                              "breaker-ignores-timeout", "retry-without-cap",
                              "bulkhead-leaks-on-error"])
def test_a_mutant_is_caught_at_the_step_it_breaks(adapter, n, label, differs):
    adapter = adapter()
    r = conformance_check(adapter, seed=0, max_examples=200)
    v = r.violation
    assert (r.verdict, v.property, v.kind) == ("violated", "conformance", "refinement")
    assert v.message.startswith(f"step {n} {label}: "), v.message
    assert differs in v.message
    assert len(v.trace.steps) - 1 == n == v.shrunk_length <= v.first_found_length
    # the trace: JSON that loads back; the model's path up to the failing step replays, and the
    # failing step is none of the model's
    trace = from_json(json.loads(json.dumps(v.trace.to_json())))
    assert confirm(trace, adapter.internal).ok
    diverges = replay(trace)
    assert (diverges.ok, diverges.step) == (False, n)
    assert "conformance violated" in format_trace(trace, adapter.model.set_fields())


def test_a_seed_repeats_a_conformance_run():
    def run(seed):
        adapter = BulkheadAdapter(load_model("bulkhead")(), "async", BulkheadLeaksOnError)
        r = conformance_check(adapter, seed=seed, max_examples=50)
        return r.distinct_states, r.states_generated, r.violation.trace.to_json()
    assert run(3) == run(3)


def test_an_adapter_that_observes_a_field_the_model_lacks_is_an_error():
    class Confused(Adapter):
        def reset(self):
            pass

        def observe(self):
            return {"x": 0, "colour": "blue"}
    with pytest.raises(DefinitionError, match="colour"):
        conformance_check(Confused(load_model("toy-counter")()), max_examples=2)


def test_observations_are_exact_to_within_float_rounding():
    assert (in_units(3.0, 0.1), in_units(0.7, 0.1), in_units(2.0, 1.0)) == (30, 7, 2)
    assert all(type(v) is int for v in (in_units(0.7, 0.1), in_units(1e9 + 0.3, 0.1)))
    assert in_units(3.049, 0.1) == pytest.approx(30.49)  # 49 ms over a cap of 3 s: no tenth
    assert type(in_units(3.0 + 1e-6, 1.0)) is float


# -- the lockstep ---------------------------------------------------------------------------------

def test_a_thread_waiting_for_a_lockstep_lock_or_event_is_at_rest():
    """One thread holds the lock while the environment holds it at a gate; another waits for the
    lock (at rest), gets it when the first lets go, then waits on an event that times out on the
    virtual clock."""
    threads = threading.active_count()
    ls = Lockstep("sync")
    lock, event, order = ls.lock(), ls.event("the event"), []

    def holder(me):
        with lock:
            order.append("holder")
            ls.gate(me, "inside").wait()

    def waiter(me):
        with lock:
            order.append("waiter")
        return event.wait(2.0)
    ls.start(holder, "holder")
    ls.settle()
    b = ls.start(waiter, "waiter")
    ls.settle()
    assert (order, b.blocked, lock.locked()) == (["holder"], "lock", True)
    ls.gates[0].open()
    ls.settle()
    assert (order, b.blocked, lock.locked()) == (["holder", "waiter"], "the event", False)
    ls.advance(1.5)
    assert not b.done
    ls.advance(0.5)
    assert (b.done, b.result) == (True, False)
    ls.close()
    assert threading.active_count() == threads


def test_a_caller_is_cancelled_mid_call_and_the_rest_abandoned_at_close():
    for mode in ("async", "sync"):
        ls = Lockstep(mode)
        if mode == "async":
            async def call(me, ls=ls):
                return await ls.gate(me, "the service").wait_async()
        else:
            def call(me, ls=ls):
                return ls.gate(me, "the service").wait()
        a, b = ls.start(call, "a"), ls.start(call, "b")
        ls.settle()
        ls.cancel(a)
        assert a.done and isinstance(a.error, asyncio.CancelledError if mode == "async"
                                     else Cancelled), mode
        assert not b.done
        ls.close()
    ls = Lockstep("sync")
    waiting = ls.start(lambda me: ls.event().wait(), "waits for good")
    ls.settle()
    ls.close()
    assert waiting.done and isinstance(waiting.error, Abandoned)


def test_a_task_that_would_block_the_event_loop_on_a_lock_is_an_error():
    ls = Lockstep("async")
    lock = ls.lock("the breaker's lock")

    async def awaits_inside(me):
        with lock:
            await ls.gate(me, "inside").wait_async()

    async def takes(me):
        with lock:
            return "never"
    ls.start(awaits_inside, "a")
    ls.settle()
    b = ls.start(takes, "b")
    ls.settle()
    assert isinstance(b.error, RuntimeError) and "awaits inside a critical section" in str(
        b.error)
    ls.close()


# -- the implementations as their users call them ------------------------------------------------

def test_the_breaker_on_both_paths_and_as_a_decorator():
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=2, success_threshold=1, recovery_timeout=10,
                             clock=lambda: now[0])

    @breaker
    def fails():
        raise ConnectionError("down")

    @breaker
    async def works():
        return "ok"

    for _ in range(2):
        with pytest.raises(ConnectionError):
            fails()
    assert breaker.state == "open"
    with pytest.raises(CircuitOpenError) as rejected:
        asyncio.run(works())
    assert rejected.value.retry_after == 10
    now[0] = 10.0
    assert asyncio.run(works()) == "ok" and breaker.state == "closed"
    with breaker.guard():
        pass
    assert breaker.total_calls == 4 and breaker.total_rejections == 1


def test_the_retrier_on_both_paths():
    slept = []
    retry = Retry(max_retries=3, base_delay=1, max_delay=3, jitter=0.5, random=lambda: 0.5,
                  sleep=slept.append)
    attempts = []

    def flaky():
        attempts.append(1)
        if len(attempts) < 3:
            raise TimeoutError("slow")
        return "ok"
    assert retry.call(flaky) == "ok" and slept == [1.0, 2.0]

    async def never():
        raise ConnectionError("down")

    async def no_sleep(seconds):
        slept.append(seconds)
    retry = Retry(max_retries=3, base_delay=1, max_delay=3, jitter=0.5, random=lambda: 0.999,
                  async_sleep=no_sleep)
    with pytest.raises(RetryExhausted) as exhausted:
        asyncio.run(retry(never)())
    assert exhausted.value.attempts == 4 and isinstance(exhausted.value.last_exception,
                                                        ConnectionError)
    assert max(slept) == 3  # capped after the jitter


def test_the_bulkhead_on_both_paths():
    bulkhead = Bulkhead(max_concurrent=1, max_queue=1, queue_timeout=0.05)

    async def scenario():
        release = asyncio.Event()

        async def hold():
            await release.wait()
            return "held"
        first = asyncio.create_task(bulkhead.call(hold))
        await asyncio.sleep(0)
        second = asyncio.create_task(bulkhead.call(hold))
        await asyncio.sleep(0)
        assert (bulkhead.active, bulkhead.waiting) == (1, 1)
        with pytest.raises(BulkheadFull):
            await bulkhead.call(hold)
        with pytest.raises(BulkheadTimeout):
            await second
        release.set()
        return await first
    assert asyncio.run(scenario()) == "held"
    assert (bulkhead.available, bulkhead.waiting) == (1, 0)

    entered, leave = threading.Event(), threading.Event()

    def hold_sync():
        entered.set()
        leave.wait(5)
    worker = threading.Thread(target=bulkhead.call_sync, args=(hold_sync,))
    worker.start()
    entered.wait(5)
    with pytest.raises(BulkheadTimeout):
        bulkhead.call_sync(lambda: None)
    leave.set()
    worker.join(5)
    assert bulkhead.call_sync(lambda: "free") == "free" and bulkhead.available == 1


def test_each_pattern_decorates_sync_and_async_functions():
    import asyncio
    from examples.bulkhead import Bulkhead
    from examples.circuit_breaker import CircuitBreaker
    from examples.retry import Retry
    for pattern in (CircuitBreaker(), Retry(), Bulkhead()):
        @pattern
        def add_one(x):
            return x + 1

        @pattern
        async def double(x):
            return x * 2
        assert (add_one(1), asyncio.run(double(3))) == (2, 6)
        assert add_one.__name__ == "add_one" and asyncio.iscoroutinefunction(double)

"""Properties of resilience patterns, stated as the callers of a protected service see them:
the circuit breaker, retry with backoff, the bulkhead (each section names what it reads).

Sources: Nygard, "Release It!" (Pragmatic Bookshelf, 2007), chapter 5, "Circuit Breaker";
Fowler, "CircuitBreaker" (martinfowler.com bliki, 2014); the article's ``CircuitBreaker`` and
``CircuitBreakerConfig`` ("CAP theorem explained", ../shared/reference).

The circuit-breaker properties read what a breaker model records of what its callers saw, never
the breaker's own counters (a property that restates the counters would hold of any breaker).
A breaker model provides, per state:

* ``circuit``: the breaker's state, ``"closed"``, ``"open"`` or ``"half_open"`` (callers see it:
  the article's ``metrics["state"]``);
* ``calls``: per caller, ``"idle"`` or the call it has outstanding, let through while the breaker
  was closed (``"normal"``) or half-open (``"trial"``);
* ``now``: real time;
* ``service``: ``"healthy"`` or ``"failing"``;
* history: ``failure_streak``, the calls in a row that failed (at most ``failure_threshold``);
  ``opened_at``, the real time the breaker last opened (None: never); ``trial_successes``, the
  trial calls let through since the breaker last opened or went half-open that succeeded;

and the parameters ``failure_threshold``, ``recovery_timeout``, ``half_open_max_calls`` and
``success_threshold``.
"""

from kripke.specs.properties import eventually, eventually_always, invariant, sometimes, step

__all__ = ["opens_after_threshold_failures", "rejects_while_open", "half_open_trials_bounded",
           "closes_after_threshold_successes", "recovers_to_closed", "recovers", "attempts_bounded",
           "delay_bounded", "gives_up_with_last_error", "succeeds_after_retry", "terminates",
           "active_bounded", "queue_bounded", "rejects_only_when_full", "serves_in_arrival_order",
           "call_rejected_possible", "caller_waiting", "caller_served"]


@step
def opens_after_threshold_failures(model, s, t):
    """A closed breaker opens only after failure_threshold calls in a row have failed.

    Nygard 2007: the breaker trips once failures pass a threshold; Fowler: the failure
    threshold; the article: ``CircuitBreakerConfig.failure_threshold``."""
    if s.circuit == "closed" and t.circuit == "open":
        return t.failure_streak >= model.failure_threshold
    return True


@step
def rejects_while_open(model, s, t):
    """No call gets through an opened breaker until recovery_timeout has passed.

    Unless it has closed since (going half-open early counts as letting a call through). Nygard
    2007: an open breaker fails calls at once, without calling the service; Fowler: the reset
    timeout; the article: ``CircuitBreakerConfig.timeout``."""
    if s.circuit == "closed" or s.now - s.opened_at >= model.recovery_timeout:
        return True
    return all(a != "idle" or b == "idle" for a, b in zip(s.calls, t.calls))


@invariant
def half_open_trials_bounded(model, s):
    """While half-open, at most half_open_max_calls trial calls are outstanding.

    Whichever half-open period let them through: a recovering service sees them all. Nygard
    2007 and Fowler: half-open lets a trial call through; the article:
    ``CircuitBreakerConfig.half_open_max_calls``."""
    return s.circuit != "half_open" or s.calls.count("trial") <= model.half_open_max_calls


@step
def closes_after_threshold_successes(model, s, t):
    """The breaker closes again only after success_threshold of its trial calls succeeded.

    Trials let through since it last opened or went half-open: a call let through before, which
    happens to succeed now, tested nothing. Nygard 2007 and Fowler: a successful trial resets the
    breaker; the article: ``CircuitBreakerConfig.success_threshold``."""
    if s.circuit != "closed" and t.circuit == "closed":
        return t.trial_successes >= model.success_threshold
    return True


@sometimes
def recovers_to_closed(model, s):
    """The breaker can close again after it opened, once the service is healthy.

    Nygard 2007 and Fowler: the breaker resets itself when the service works again (without an
    operator); it guards the other properties against a breaker that never leaves open."""
    return s.circuit == "closed" and s.opened_at is not None and s.service == "healthy"


@eventually_always(default=False)
def recovers(model, s):
    """Once the service is up for good, the breaker closes, and stays closed: <>[]closed.

    Nygard 2007 and Fowler: the breaker resets itself when the service works again; the
    article: "Testing if service recovered". The promise is ``<>[]up => <>[]closed``. Whether
    the service is up from some point on is the environment's to say, so the breaker model
    makes it so on every fair behaviour: outages are bounded (``max_outages``) and each one ends
    (its ``service_recover`` is weakly fair), so ``<>[]up`` holds and the promise is this
    ``<>[]closed``. Not ``<>closed``, which the breaker's initial state satisfies; and not
    ``up ~> closed``, which holds of a breaker that keeps opening again while the service is
    healthy, provided it closes in between. Progress comes from the callers (each keeps calling: its
    ``caller_call`` is weakly fair, and so is the service's answer, ``caller_complete``) and the
    clock (``tick``); a call the breaker rejects changes nothing, a stutter. Checked when named
    (``--property recovers``): the callers' fairness is per caller, so the check runs without
    the symmetry reduction the breaker's default check uses."""
    return s.circuit == "closed"


# -- Retry with exponential backoff and jitter ----------------------------------------------------
# The article; Brooker, "Exponential Backoff And Jitter" (AWS Architecture Blog, 2015).

@invariant
def attempts_bounded(model, s):
    """A call makes at most 1 + max_retries attempts: the first and max_retries retries."""
    return s.attempts <= 1 + model.max_retries


@invariant
def delay_bounded(model, s):
    """Every wait between two attempts is at most max_delay."""
    return all(w <= 10 * model.max_delay for w in s.waits)


@invariant
def gives_up_with_last_error(model, s):
    """A call gives up only once all 1 + max_retries attempts have failed, and raises the error
    of the last one."""
    return s.phase != "raised" or (s.attempts == 1 + model.max_retries
                                   and s.raised is not None and s.raised == s.last_error)


@sometimes
def succeeds_after_retry(model, s):
    """Some call returns after a failed attempt and a wait."""
    return s.phase == "returned" and s.attempts > 1


@eventually
def terminates(model, s):
    """Every call ends: it returns, raises RetryExhausted, or raises an error outside retry_on.

    The article's ``retry_with_backoff`` loop is bounded (``max_retries``), so a call ends
    provided each attempt ends and each wait ends: the retry model declares every step weakly
    fair. Without fairness (``--no-fairness``) a behaviour may stop anywhere: an attempt that
    never answers, which no retry bounds (the article has no per-attempt timeout either)."""
    return s.phase in ("returned", "raised", "propagated")


# -- The bulkhead ---------------------------------------------------------------------------------
# Nygard, "Release It!" (2007), chapter 5; the article. A bulkhead model provides ``caller`` (per
# caller: idle, waiting, running, done, rejected or timed_out) and ``waiters``.

@invariant
def active_bounded(model, s):
    """At most max_concurrent calls run at once."""
    return s.caller.count("running") <= model.max_concurrent


@invariant
def queue_bounded(model, s):
    """At most max_queue callers wait for a slot."""
    return s.caller.count("waiting") <= model.max_queue


@step
def rejects_only_when_full(model, s, t):
    """A caller is turned away only when max_concurrent calls run and max_queue callers wait."""
    full = (s.caller.count("running") >= model.max_concurrent
            and s.caller.count("waiting") >= model.max_queue)
    return full or not any(a != "rejected" and b == "rejected" for a, b in zip(s.caller, t.caller))


@step
def serves_in_arrival_order(model, s, t):
    """A waiting caller gets a slot only when every caller that arrived before it has stopped
    waiting (``waiters``: the callers waiting, in order of arrival).

    The bulkhead's queue (the article's ``asyncio.Semaphore`` serves its waiters this way too):
    without it a caller can wait its whole timeout while later callers are served."""
    return all(c == s.waiters[0] for c, (a, b) in enumerate(zip(s.caller, t.caller))
               if a == "waiting" and b == "running")


@sometimes
def call_rejected_possible(model, s):
    """Some caller is turned away."""
    return "rejected" in s.caller


# ``no_starvation`` (every waiting caller eventually runs or is turned away by its timeout) is
# bound in ``models/bulkhead.py``, over the model's Caller domain, from these two predicates.

def caller_waiting(model, s, c):
    """Caller c waits for a slot."""
    return s.caller[c] == "waiting"


def caller_served(model, s, c):
    """Caller c has had its answer from the bulkhead: its call runs (or has run), or it was
    turned away (rejected at once, or by its queue timeout)."""
    return s.caller[c] in ("running", "done", "rejected", "timed_out")

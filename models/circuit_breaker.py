"""A circuit breaker guarding a downstream service, and the article's CircuitBreaker.

Sources: Nygard, "Release It!" (2007), "Circuit Breaker": closed, open, half-open; Fowler's
CircuitBreaker bliki (2014): a reset timeout, then a trial call; the article's ``CircuitBreaker``
("CAP theorem explained", ../shared/reference), modelled as written in
``circuit-breaker-article``.

``callers`` callers each call the service through the breaker, one call at a time. An admitted
call is outstanding until the service answers it: a success while the service is healthy, a
failure while it is failing (the service starts failing at most ``max_outages`` times, within
the first ``max_time`` ticks, and recovers at any time). Real time is a discrete clock ``now``,
advanced by ``tick`` for ``max_time`` ticks, and after them only while the service is healthy and
an open breaker waits out its timeout (see "Liveness" below); the breaker waits
``recovery_timeout`` ticks before a trial. The wall clock
(``datetime.now()``) is real time plus an offset that may once be set forward by
``wall_clock_step`` ticks, as an NTP step or a daylight-saving change does; a monotonic clock
is not. Each breaker step is atomic, as under asyncio, where ``_check_state``, ``_on_success``
and ``_on_failure`` run without an ``await``. With ``cancellation``, a caller may also abandon its
outstanding call (an asyncio cancellation, a timeout around the call): it never sees the answer,
and the breaker is told neither a success nor a failure.

What is abstracted: a call's payload and duration (it is outstanding until answered); the
metrics (``total_calls``, ``total_rejections``); ``excluded_exceptions``. A rejected call changes
nothing the breaker decides on, so it is a stutter, not a step. Counters saturate at the
threshold they are compared with: both breakers only ever ask ``count >= threshold``, so this
keeps the state space finite without changing what they do.

The correct breaker (``circuit-breaker``):

* counts failures in a row while closed and opens at ``failure_threshold``;
* measures the timeout on the monotonic clock, from the moment it opened;
* in half-open lets at most ``half_open_max_calls`` trials be outstanding, and frees a trial's
  place when the trial is answered;
* counts towards closing only the successes of its own trials: a caller hands back the permit
  it was given (``calls`` says whether it was a trial), and the breaker does not go half-open
  again while a trial of the last period is outstanding, so every trial answered in half-open is
  one of this period's (sony/gobreaker's generations serve the same end);
* opens again on any failure answered while half-open, and ignores answers while open;
* takes back the permit of a cancelled call without counting the call.

The article's breaker (``circuit-breaker-article``) differs exactly where its code does:
``_should_attempt_reset`` measures the timeout on the wall clock, from ``last_failure_time``,
which ``_on_failure`` stamps on every failure in any state (a late failure answered while open
starts the timeout again); ``_transition_to_half_open`` sets ``half_open_calls`` to 0 while
trials of the previous period may be outstanding, and nothing decrements it when a trial is
answered; ``_on_success`` counts every success answered in half-open towards closing, trial or
not. Like the correct breaker, it counts failures in a row while closed (``_on_success`` resets
``failure_count``) and opens again on a failure in half-open. A cancelled call changes nothing
in it: ``call_async`` catches ``Exception``, which ``asyncio.CancelledError`` is not (its
``CircuitBreakerContext`` would count the cancellation as a failure; not modelled).

Liveness: ``recovers`` (``specs.resilience``), "once the service is up for good, the breaker
closes and stays closed" (<>[]closed), is checked under the fairness the actions declare: each
caller keeps calling (``caller_call``, per caller), the service answers every call
(``caller_complete``, per caller), an outage ends (``service_recover``) and time passes (``tick``),
all weakly fair; a new outage, the wall clock's step and a cancellation are the environment's and
never forced. Bounded outages that each end are how the model makes "the service is up from some
point on" hold on every fair behaviour. The end of the modelled time must not decide the
verdict: a clock that simply stopped at ``max_time`` would leave a breaker that opened near the
end open for ever, its timeout never over (a state with no step is a stutter for ever), and
refute ``recovers`` for every breaker. So past ``max_time`` the clock still runs while an open
breaker waits for its timeout and the service is healthy, and stops otherwise, where no
decision of either breaker reads it any more: after ``max_time`` no outage starts, so no call
fails, the breaker opens no more and every timeout it compares the clock with is already set
(``now`` stays below ``max_time + recovery_timeout``). A later clock would change nothing the
breakers decide, and the state space stays finite. Under this clock ``recovers`` holds of the
correct breaker; it fails for the article's when ``success_threshold`` exceeds
``half_open_max_calls`` (``-p callers=1 -p success_threshold=2``): one trial succeeds,
``half_open_calls`` stays at its maximum, every call is rejected, and the breaker is half-open for
ever (a lasso that stutters at its last state, as a rejected call does). With ``cancellation`` it
fails for both: a caller that abandons every trial before it is answered keeps the breaker
half-open for ever, which weak fairness of the answer allows (the call is taken back, so the
answer is not enabled throughout); the breaker learns that the service is back only from an
answered trial.

History, for the properties only (what callers see, not what the breaker counts):
``failure_streak``, the calls in a row that failed; ``opened_at``, the real time the breaker
last opened; ``trials_pending`` and ``trial_successes``, the trials let through since the
breaker last opened or went half-open that are outstanding, and that succeeded.

Parameters: ``callers`` (2), ``failure_threshold`` (2), ``success_threshold`` (1),
``half_open_max_calls`` (1), ``recovery_timeout`` (1), ``max_time`` (2), ``max_outages`` (1),
``wall_clock_step`` (0), ``cancellation`` (False): the article's configuration (5, 2, 3, 60 s)
scaled down. Reachable states at the defaults: 172 for ``circuit-breaker`` (436 generated, depth
14) and 324 for ``circuit-breaker-article`` (776 generated, depth 16); callers are
interchangeable, and under that symmetry (the checker's default) 115 and 222 orbits. With
``cancellation``: 197 states (682 generated) and 359 (1,147 generated), 133 and 247 orbits.
``recovers`` is checked on the states themselves (the callers' fairness is per caller, and the
checker does not reduce symmetry under fairness): 172, and 85 for the article's at ``callers=1,
success_threshold=2``.
"""

from kripke.models.system import Param, TransitionSystem, action
from kripke.models.types import Array, Domain, Enum, Int, Optional, Set, put
from kripke.specs.properties import type_ok
from kripke.specs.resilience import (closes_after_threshold_successes, half_open_trials_bounded,
                              opens_after_threshold_failures, recovers, recovers_to_closed,
                              rejects_while_open)

Caller = Domain("Caller", "callers", symmetric=True, doc="callers of the protected service")

CIRCUIT = Enum("closed", "open", "half_open")  # the article's CircuitState
SERVICE = Enum("healthy", "failing")
#: a caller's call: none outstanding, or outstanding and let through while closed (a normal
#: call) or while half-open (a trial)
CALL = Enum("idle", "normal", "trial")


class ProtectedService(TransitionSystem):
    """What both breakers share: callers, the service, the clocks and the callers' history.
    The subclasses give the breaker's counters (``breaker_init``), how it admits a call
    (``admit``) and what it makes of the answer (``on_success``, ``on_failure``)."""

    callers = Param(2, "concurrent callers", min=1, max=4)
    failure_threshold = Param(2, "failures in a row that open the breaker (article: 5)",
                              min=1, max=5)
    success_threshold = Param(1, "trial successes that close it again (article: 2)", min=1, max=4)
    half_open_max_calls = Param(1, "trials half-open lets through (article: 3)", min=1, max=4)
    recovery_timeout = Param(1, "ticks the breaker stays open before a trial (article: 60 s)",
                             min=1, max=4)
    max_time = Param(2, "ticks of the clock in which outages start (after them it runs only "
                        "while an open breaker waits out its timeout)", min=0, max=8)
    max_outages = Param(1, "times the service starts failing", min=0, max=3)
    wall_clock_step = Param(0, "ticks the wall clock is once set forward (0: never)", min=0, max=4)
    cancellation = Param(False, "callers may abandon an outstanding call (asyncio cancellation)")

    #: the variables both breakers have; each adds its own counters
    common = {
        # the world
        "now": Int(0, lambda m: m.max_time + m.recovery_timeout),
        "wall_offset": Int(0, "wall_clock_step"),
        "service": SERVICE,
        "outages": Int(0, "max_outages"),
        "calls": Array(Caller, CALL),
        # the breaker's state, which callers see (the article's metrics["state"])
        "circuit": CIRCUIT,
        # history
        "failure_streak": Int(0, "failure_threshold"),
        "opened_at": Optional(Int(0, "max_time")),
        "trials_pending": Set(Caller),
        "trial_successes": Int(0, "success_threshold"),
    }
    properties = (type_ok, opens_after_threshold_failures, rejects_while_open,
                  half_open_trials_bounded, closes_after_threshold_successes, recovers_to_closed,
                  recovers)

    def init(self):
        """The breaker closed, every caller idle, the service healthy, time 0."""
        yield self.State(
            now=0, wall_offset=0, service="healthy", outages=0, calls=("idle",) * self.callers,
            circuit="closed", failure_streak=0, opened_at=None, trials_pending=frozenset(),
            trial_successes=0, **self.breaker_init())

    def terminal(self, s):
        """Runs end when the clock has run out (the breaker may then reject every call)."""
        return s.now >= self.max_time

    def wall_clock(self, s):
        """``datetime.now()``."""
        return s.now + s.wall_offset

    # -- callers -------------------------------------------------------------------------------
    # Fairness, for ``recovers`` only: each caller keeps calling, and the service answers every
    # call; a caller's cancellation is its own choice, never forced.
    @action(each=Caller, fair="weak")
    def caller_call(self, s, caller):
        """An idle caller calls the service and the breaker lets the call through."""
        if s.calls[caller] != "idle":
            return None
        t = self.admit(s)
        if t is None:
            return None
        kind = "trial" if t.circuit == "half_open" else "normal"
        t = self.observe(s, t.set(calls=put(t.calls, caller, kind)))
        if kind == "trial":
            t = t.set(trials_pending=t.trials_pending | {caller})
        return t

    @action(each=Caller, fair="weak")
    def caller_complete(self, s, caller):
        """The service answers a caller's call: a success while healthy, a failure while failing;
        the breaker is told."""
        if s.calls[caller] == "idle":
            return None
        ok = s.service == "healthy"
        t = self.on_success(s, caller) if ok else self.on_failure(s, caller)
        t = t.set(calls=put(t.calls, caller, "idle"), failure_streak=0 if ok else min(
            s.failure_streak + 1, self.failure_threshold))
        if caller in s.trials_pending:
            t = t.set(trials_pending=t.trials_pending - {caller},
                      trial_successes=min(t.trial_successes + ok, self.success_threshold))
        return self.observe(s, t)

    @action(each=Caller)
    def caller_cancels(self, s, caller):
        """A caller abandons its outstanding call: the breaker is told (on_cancel), the call
        counts as neither a success nor a failure."""
        if self.cancellation and s.calls[caller] != "idle":
            t = self.on_cancel(s, caller)
            return t.set(calls=put(t.calls, caller, "idle"),
                         trials_pending=t.trials_pending - {caller})

    def observe(self, s, t):
        """``t`` with the history updated for a change of the breaker's state from ``s``."""
        if t.circuit == s.circuit:
            return t
        t = t.set(trials_pending=frozenset())
        if t.circuit == "closed":
            return t
        t = t.set(trial_successes=0)
        return t.set(opened_at=s.now) if t.circuit == "open" else t

    # -- the service and the clocks ------------------------------------------------------------
    # Fairness, for ``recovers``: an outage ends (the service is up from some point on, as the
    # promise assumes: outages are bounded and each one ends) and time passes; a new outage and
    # the wall clock's step are the environment's, never forced.
    @action
    def service_fail(self, s):
        """The service starts failing (within the max_time ticks modelled)."""
        if s.service == "healthy" and s.outages < self.max_outages and s.now <= self.max_time:
            return s.set(service="failing", outages=s.outages + 1)

    @action(fair="weak")
    def service_recover(self, s):
        """The service recovers."""
        if s.service == "failing":
            return s.set(service="healthy")

    @action(fair="weak")
    def tick(self, s):
        """Real time advances one tick: for max_time ticks, and after them while the service
        is healthy and an open breaker waits out its timeout."""
        if s.now < self.max_time or (s.service == "healthy" and self.waiting_out_timeout(s)):
            return s.set(now=s.now + 1)

    @action
    def clock_set_forward(self, s):
        """The wall clock is set forward (NTP, daylight saving); the monotonic clock is not."""
        if s.wall_offset < self.wall_clock_step:
            return s.set(wall_offset=self.wall_clock_step)


class CircuitBreaker(ProtectedService):
    """A correct breaker: failures in a row, a monotonic timeout, bounded trials that decide.

    Only the successes of its own trials close it."""

    name = "circuit-breaker"
    variables = {
        **ProtectedService.common,
        "failures": Int(0, "failure_threshold"),
        "successes": Int(0, "success_threshold"),
        "trials_out": Int(0, "half_open_max_calls"),
        "retry_at": Optional(Int(0, lambda m: m.max_time + m.recovery_timeout)),
    }

    def breaker_init(self):
        return {"failures": 0, "successes": 0, "trials_out": 0, "retry_at": None}

    def waiting_out_timeout(self, s):
        """Is the breaker open, its timeout still running?"""
        return s.circuit == "open" and s.now < s.retry_at

    def admit(self, s):
        """Let a call through (the breaker's state after admitting it), or None to reject it:
        closed lets every call through; open goes half-open once the timeout has passed and no
        trial of the last period is outstanding; half-open lets half_open_max_calls trials be
        outstanding."""
        if s.circuit == "closed":
            return s
        if s.circuit == "open":
            if s.now < s.retry_at or s.trials_out:
                return None
            s = s.set(circuit="half_open", successes=0)
        if s.trials_out >= self.half_open_max_calls:
            return None
        return s.set(trials_out=s.trials_out + 1)

    def on_success(self, s, caller):
        """Closed: the failures in a row are over. Half-open: a trial's success counts towards
        closing. Other answers change nothing."""
        trial = s.calls[caller] == "trial"
        s = self.release(s, caller)
        if s.circuit == "closed":
            return s.set(failures=0)
        if s.circuit == "half_open" and trial:
            if s.successes + 1 >= self.success_threshold:
                return s.set(circuit="closed", failures=0, successes=0, retry_at=None)
            return s.set(successes=s.successes + 1)
        return s

    def on_failure(self, s, caller):
        """Closed: one more failure in a row, opening at failure_threshold. Half-open: open
        again. Open: nothing."""
        s = self.release(s, caller)
        if s.circuit == "half_open":
            return self.trip(s)
        if s.circuit == "closed":
            if s.failures + 1 >= self.failure_threshold:
                return self.trip(s)
            return s.set(failures=s.failures + 1)
        return s

    def on_cancel(self, s, caller):
        """A cancelled call hands back its permit, uncounted."""
        return self.release(s, caller)

    def release(self, s, caller):
        """The caller hands back its permit: a trial's place is free again."""
        return s.set(trials_out=s.trials_out - (s.calls[caller] == "trial"))

    def trip(self, s):
        """Open, and allow a trial recovery_timeout ticks from now, by the monotonic clock."""
        return s.set(circuit="open", failures=0, successes=0,
                     retry_at=s.now + self.recovery_timeout)


class CircuitBreakerArticle(ProtectedService):
    """The article's CircuitBreaker: _check_state, _on_success and _on_failure as written."""

    name = "circuit-breaker-article"
    variables = {
        **ProtectedService.common,
        "failure_count": Int(0, "failure_threshold"),
        "success_count": Int(0, "success_threshold"),
        "last_failure_time": Optional(Int(0, lambda m: m.max_time + m.wall_clock_step)),
        "half_open_calls": Int(0, "half_open_max_calls"),
    }

    def breaker_init(self):
        return {"failure_count": 0, "success_count": 0, "last_failure_time": None,
                "half_open_calls": 0}

    def waiting_out_timeout(self, s):
        """Is the breaker open, ``_should_attempt_reset()`` still false?"""
        return s.circuit == "open" and not self.should_attempt_reset(s)

    def admit(self, s):
        """_check_state(): closed lets every call through; open goes half-open once
        _should_attempt_reset(); half-open lets through half_open_max_calls calls in all."""
        if s.circuit == "open":
            if not self.should_attempt_reset(s):
                return None
            # _transition_to_half_open()
            s = s.set(circuit="half_open", half_open_calls=0, success_count=0)
        if s.circuit == "half_open":
            if s.half_open_calls >= self.half_open_max_calls:
                return None
            return s.set(half_open_calls=s.half_open_calls + 1)
        return s

    def should_attempt_reset(self, s):
        """_should_attempt_reset(): timeout elapsed since the last failure, by datetime.now()."""
        return (s.last_failure_time is None
                or self.wall_clock(s) - s.last_failure_time >= self.recovery_timeout)

    def on_success(self, s, caller):
        """_on_success(): in half-open count towards closing; otherwise reset failure_count."""
        if s.circuit == "half_open":
            if s.success_count + 1 >= self.success_threshold:
                # _close()
                return s.set(circuit="closed", failure_count=0, success_count=0,
                             half_open_calls=0)
            return s.set(success_count=s.success_count + 1)
        return s.set(failure_count=0)

    def on_cancel(self, s, caller):
        """``except Exception`` lets ``asyncio.CancelledError`` through: nothing happens."""
        return s

    def on_failure(self, s, caller):
        """_on_failure(): count the failure and stamp last_failure_time in any state; open from
        half-open, or at failure_threshold."""
        count = min(s.failure_count + 1, self.failure_threshold)
        s = s.set(failure_count=count, last_failure_time=self.wall_clock(s))
        if s.circuit == "half_open" or count >= self.failure_threshold:
            return s.set(circuit="open")  # _open()
        return s

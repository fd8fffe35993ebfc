"""Retry with exponential backoff and jitter: the article's retry_with_backoff, and a correct one.

Sources: the article's RetryConfig and retry_with_backoff ("CAP theorem explained",
../shared/reference), modelled as written in ``retry-article``; Brooker, "Exponential Backoff
and Jitter" (AWS Architecture Blog, 2015), whose jittered backoffs all keep a sleep within the
cap.

One call of a function wrapped by the retrier. Each attempt of the downstream operation succeeds
or fails, nondeterministically; a failure is told apart by the attempt that raised it (error n is
attempt n's). By default every failure is retryable (the article's default
``retryable_exceptions``, ``Exception``); with ``non_retryable`` an attempt may also raise an
error outside ``retry_on`` (a bad request, which retrying cannot mend), and the retrier lets it
through to the caller at once, as both retriers' ``except retry_on`` clauses do.
After attempt n (counting from 0) fails and attempts are left, the retrier waits
``base_delay * exponential_base ** n`` seconds, capped at ``max_delay``, times a jitter factor.
The article draws the factor as ``0.5 + random.random()``, anywhere in [0.5, 1.5); here the
spread is the parameter ``jitter`` and the factor one of three values: both ends of the range and
its middle (the upper end is the supremum of the half-open range). Waits are integers in tenths of
a second, so each factor is exact. Left out: the logging, the ``on_retry`` callback, the async
wrapper (the same loop as the sync one) and the time the attempts themselves take.

The correct retrier (``retry``) makes the first attempt and up to ``max_retries`` retries, and
caps the jittered wait, so no wait exceeds ``max_delay``. The article's (``retry-article``)
differs in two places, as written: its loop makes ``max_retries`` attempts in all (one retry
fewer; none at all when max_retries=0, when it raises RetryExhausted holding no error), and it
caps the delay before multiplying it by the jitter factor, so a wait reaches 1.5 * max_delay.

History variables, for the properties: ``waits`` (every wait, in order), ``last_error`` (the
downstream's most recent failure) and ``raised`` (the error the caller got).

Liveness: ``terminates`` (the call returns or raises) holds of both retriers because their loops
are bounded, given that each step ends: the model makes every action weakly fair (an attempt is
answered, a backoff's sleep ends, a retrier out of attempts raises). Without fairness a call may
hang at its first attempt, which no retry bounds (neither retrier times an attempt out); with
the sleep not fair, in its first backoff.

Parameters: ``max_retries`` (4), ``base_delay`` (1 s), ``exponential_base`` (2), ``max_delay``
(3 s), ``jitter`` (5 tenths, the article's), ``non_retryable`` (False). At the defaults the cap
binds from the third failure on (4 s > 3 s); ``retry`` has 165 states (165 generated: the states
form a tree; depth 11), ``retry-article`` 147 (147 generated, depth 9); with ``non_retryable``,
``retry`` has 214 (214 generated) and ``retry-article`` 187.
"""

from kripke.models.system import Param, TransitionSystem, action
from kripke.models.types import Enum, Int, Optional, Seq
from kripke.specs.properties import type_ok
from kripke.specs.resilience import (attempts_bounded, delay_bounded, gives_up_with_last_error,
                              succeeds_after_retry, terminates)

#: "raised": RetryExhausted, every attempt failed; "propagated": an error outside retry_on
PHASE = Enum("calling", "failed", "returned", "raised", "propagated")
# Counts leave room for one attempt more than max_retries allows, so that a retrier making it
# is named by attempts_bounded, with its trace, rather than by type_ok.
ERROR = Int(1, lambda m: m.max_retries + 2)  # error n: the failure of attempt n
# A wait, in tenths of a second: at most a capped delay times the largest jitter factor.
WAIT = Int(0, lambda m: (10 + m.jitter) * m.max_delay)


# -- the retriers -------------------------------------------------------------------------------

class Retry(TransitionSystem):
    """Up to max_retries retries, with jittered exponential backoff capped at max_delay."""

    name = "retry"
    max_retries = Param(4, "retries after the first attempt (RetryConfig.max_retries)",
                        min=0, max=6)
    base_delay = Param(1, "the first delay, in seconds (RetryConfig.base_delay)", min=1, max=10)
    exponential_base = Param(2, "growth of the delay per failed attempt "
                                "(RetryConfig.exponential_base)", min=1, max=4)
    max_delay = Param(3, "cap on a wait, in seconds (RetryConfig.max_delay)", min=1, max=60)
    jitter = Param(5, "jitter spread in tenths: a delay is multiplied by a factor from "
                      "1 - jitter/10 to 1 + jitter/10 (the article's 0.5 + random.random() is 5, "
                      "jitter=False is 0)", min=0, max=10)
    non_retryable = Param(False, "an attempt may also raise an error outside retry_on "
                                 "(RetryConfig.retryable_exceptions)")

    variables = {
        "phase": PHASE,
        "attempts": Int(0, lambda m: m.max_retries + 2),
        "last_exception": Optional(ERROR),
        # history
        "waits": Seq(WAIT, lambda m: m.max_retries + 1),
        "last_error": Optional(ERROR),
        "raised": Optional(ERROR),
    }
    properties = (type_ok, attempts_bounded, delay_bounded, gives_up_with_last_error,
                  terminates, succeeds_after_retry)
    #: every step is weakly fair, for ``terminates``: an attempt ends (the downstream answers,
    #: with a success or an error), a wait ends, a retrier with no attempt left raises
    fair = "weak"

    def init(self):
        """The call starts: no attempt yet."""
        yield self.State(phase="calling", attempts=0, last_exception=None, waits=(),
                         last_error=None, raised=None)

    def terminal(self, s):
        """The call has returned or raised."""
        return s.phase in ("returned", "raised", "propagated")

    def attempts_allowed(self):
        """How many times the loop calls the operation: the first attempt and every retry."""
        return 1 + self.max_retries

    def delay(self, n, factor):
        """The wait, in tenths, after attempt n (from 0) failed, for a jitter factor in tenths:
        the backed-off delay times the factor, then capped."""
        return min(self.base_delay * self.exponential_base ** n * factor, 10 * self.max_delay)

    def jitter_factors(self):
        """The jitter factors, in tenths: both ends of the range and its middle."""
        return sorted({10 - self.jitter, 10, 10 + self.jitter})

    @action
    def downstream_succeeds(self, s):
        """An attempt: the operation returns, and so does the call."""
        if s.phase == "calling" and s.attempts < self.attempts_allowed():
            return s.set(phase="returned", attempts=s.attempts + 1)

    @action
    def downstream_fails(self, s):
        """An attempt: the operation raises; the retrier keeps the error as last_exception."""
        if s.phase == "calling" and s.attempts < self.attempts_allowed():
            error = s.attempts + 1
            return s.set(phase="failed", attempts=error, last_exception=error, last_error=error)

    @action
    def downstream_fails_permanently(self, s):
        """An attempt: the operation raises an error outside retry_on; the retrier does not
        catch it, so the call raises it at once."""
        if self.non_retryable and s.phase == "calling" and s.attempts < self.attempts_allowed():
            error = s.attempts + 1
            return s.set(phase="propagated", attempts=error, last_error=error, raised=error)

    @action
    def retrier_backs_off(self, s):
        """An attempt failed and attempts are left: the retrier waits the delay, jittered."""
        if s.phase == "failed" and s.attempts < self.attempts_allowed():
            waits = sorted({self.delay(s.attempts - 1, f) for f in self.jitter_factors()})
            return [s.set(phase="calling", waits=s.waits + (w,)) for w in waits]

    @action
    def retrier_gives_up(self, s):
        """No attempt is left (the last one failed, or the loop had none): the retrier raises
        RetryExhausted holding last_exception."""
        if s.phase in ("calling", "failed") and s.attempts >= self.attempts_allowed():
            return s.set(phase="raised", raised=s.last_exception)


class RetryArticle(Retry):
    """The article's retry_with_backoff: max_retries attempts in all, the cap before jitter."""

    name = "retry-article"

    def attempts_allowed(self):
        """``for attempt in range(max_retries)``: the first attempt counts as a retry."""
        return self.max_retries

    def delay(self, n, factor):
        """``min(base_delay * exponential_base ** attempt, max_delay)``, then times the jitter
        factor: the cap comes first, so the wait can exceed it."""
        return min(self.base_delay * self.exponential_base ** n, self.max_delay) * factor

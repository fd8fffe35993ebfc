"""The bulkhead: at most max_concurrent calls at once and max_queue callers waiting; the article's
Bulkhead, and a correct one.

Sources: the article's Bulkhead and BulkheadConfig ("CAP theorem explained",
../shared/reference), modelled as written in ``bulkhead-article``; Nygard, "Release It!" (Pragmatic
Bookshelf, 2007), chapter 5, "Bulkheads", for the pattern.

``callers`` callers each make one call through the bulkhead. A caller that finds a free slot
runs at once; one that finds every slot busy waits, or is turned away when max_queue callers are
already waiting. A waiting caller takes a slot when one is freed, or gives up after
``queue_timeout`` ticks of a discrete clock. The clock moves only while every slot is busy: a
freed slot goes to a waiter before time passes. A running call ends at any time. Waiters are
served in order of arrival (``waiters``), and a newcomer never takes a slot while anyone waits:
both bulkheads promise it (the article's through ``asyncio.Semaphore``, which in Python 3.11 wakes
its first waiter and counts itself locked while any wait), and a conformance test can only catch
an implementation that breaks the promise if the model keeps it. Left out: the metrics
(``active_count`` and the totals, which no decision reads) and the decorator.

The correct bulkhead (``bulkhead``) holds a semaphore of max_concurrent permits and counts the
callers waiting for one; it turns a caller away when no permit is free and the count has reached
max_queue.

The article's (``bulkhead-article``) decides the same way (``semaphore.locked() and
self._queue.full()``), but nothing is ever put in ``self._queue``: its size stays 0, so the queue
is never full (with max_queue=0 asyncio's queue is unbounded anyway), the rejection is never
raised, and every caller that finds the slots busy waits, however many they are.

The callers' own states (``caller``, and ``waited``) and their order in the line (``waiters``)
are what the properties read; ``permits`` and ``queued`` are the bulkhead's.

Liveness: ``no_starvation`` (every waiting caller eventually runs or is turned away by its
timeout, for each caller) holds of both bulkheads under fair scheduling: a running call ends
(``caller_finishes``), a freed slot goes to the first waiter (``waiter_takes_slot``), the clock
ticks while every slot is busy (``clock_ticks``) and a waiter past its timeout leaves
(``waiter_times_out``), each weakly fair, each caller's on its own; when an idle caller calls is
its own choice. A waiter needs either a call to end or the clock to tick (with both unfair it
may wait for ever), and the hand-over of a freed slot (the clock stops while a slot is free).
The article's unbounded queue starves nobody either: every waiter times out.

Parameters: ``max_concurrent`` (2), ``max_queue`` (1), ``queue_timeout`` (1 tick), ``callers``
(4, one more than the bulkhead holds). Callers are interchangeable (symmetry). At the defaults
``bulkhead`` has 51 orbits (98 generated, depth 11; 592 states, 1,153 generated without
symmetry), ``bulkhead-article`` 48 orbits (99 generated, depth 10; 564 states, 1,177 generated).
``no_starvation``, checked when named and without symmetry (its fairness is per caller), searches
the 592 and 564 states.
"""

from kripke.models.system import Param, TransitionSystem, action
from kripke.models.types import Array, Domain, Enum, Id, Int, Seq, put
from kripke.specs.properties import leads_to, type_ok
from kripke.specs.resilience import (active_bounded, call_rejected_possible, caller_served,
                              caller_waiting, queue_bounded, rejects_only_when_full,
                              serves_in_arrival_order)

Caller = Domain("Caller", "callers", symmetric=True, doc="the callers, one call each")
CALLER = Enum("idle", "waiting", "running", "done", "rejected", "timed_out")


def leave(line, c):
    """``line`` without caller c."""
    return tuple(x for x in line if x != c)


no_starvation = leads_to(
    caller_waiting, caller_served, name="no_starvation", each=Caller, default=False,
    doc="Every waiting caller eventually runs or is turned away by its timeout (Nygard 2007: a "
        "bulkhead bounds the wait; the article's queue_timeout). Under fair scheduling: a "
        "running call ends, the first waiter takes a freed slot, the clock ticks and a waiter "
        "past its timeout leaves, each caller's step fair on its own. Checked when named: "
        "per-caller fairness is checked without the symmetry reduction of the default check.")


# -- the bulkheads ------------------------------------------------------------------------------

class Bulkhead(TransitionSystem):
    """A bulkhead that counts its waiting callers and turns callers away when it is full."""

    name = "bulkhead"
    max_concurrent = Param(2, "calls running at once (BulkheadConfig.max_concurrent)",
                           min=1, max=4)
    max_queue = Param(1, "callers waiting for a slot (BulkheadConfig.max_queue)", min=0, max=4)
    queue_timeout = Param(1, "ticks a caller waits for a slot (BulkheadConfig.queue_timeout)",
                          min=0, max=4)
    callers = Param(4, "callers, one call each", min=1, max=6)

    variables = {
        "permits": Int(0, "max_concurrent"),  # the semaphore's free permits
        "queued": Int(0, "callers"),  # the bulkhead's count of waiting callers
        "caller": Array(Caller, CALLER),
        "waited": Array(Caller, Int(0, "queue_timeout")),  # ticks waited, while waiting
        "waiters": Seq(Id(Caller), "callers"),  # the waiting callers, in order of arrival
    }
    properties = (type_ok, active_bounded, queue_bounded, rejects_only_when_full,
                  serves_in_arrival_order, call_rejected_possible, no_starvation)

    def init(self):
        """Every permit free, nobody waiting, no caller has called yet."""
        yield self.State(permits=self.max_concurrent, queued=0, caller=("idle",) * self.callers,
                         waited=(0,) * self.callers, waiters=())

    def terminal(self, s):
        """Every caller has had its answer."""
        return all(c in ("done", "rejected", "timed_out") for c in s.caller)

    def moved(self, s, c, status):
        """``s`` with caller c in ``status``, its waiting time reset."""
        return s.set(caller=put(s.caller, c, status), waited=put(s.waited, c, 0))

    def queue_full(self, s):
        """Have max_queue callers been counted waiting?"""
        return s.queued >= self.max_queue

    def joined(self, s):
        """The count of waiting callers once one more waits."""
        return s.queued + 1

    def left(self, s):
        """The count of waiting callers once one stops waiting."""
        return s.queued - 1

    @action(each=Caller)
    def bulkhead_rejects_caller(self, s, c):
        """A caller arrives to find every slot busy and the queue full: it is turned away."""
        if s.caller[c] == "idle" and s.permits == 0 and self.queue_full(s):
            return self.moved(s, c, "rejected")

    @action(each=Caller)
    def caller_takes_slot(self, s, c):
        """A caller arrives to find a free slot and nobody waiting: its call runs at once."""
        if s.caller[c] == "idle" and s.permits > 0 and not s.waiters:
            return self.moved(s, c, "running").set(permits=s.permits - 1)

    @action(each=Caller)
    def caller_joins_queue(self, s, c):
        """A caller arrives to find every slot busy and the queue not full: it waits."""
        if s.caller[c] == "idle" and s.permits == 0 and not self.queue_full(s):
            return self.moved(s, c, "waiting").set(queued=self.joined(s),
                                                   waiters=s.waiters + (c,))

    # Fairness, for no_starvation: the bulkhead's own steps (a freed slot goes to the first
    # waiter, a waiter past its timeout leaves), a running call's end and the clock are weakly
    # fair, each caller's on its own; when an idle caller calls is its own choice.
    @action(each=Caller, fair="weak")
    def waiter_takes_slot(self, s, c):
        """The first waiting caller gets a freed slot: it leaves the queue and its call runs."""
        if s.waiters and s.waiters[0] == c and s.permits > 0:
            return self.moved(s, c, "running").set(permits=s.permits - 1, queued=self.left(s),
                                                   waiters=s.waiters[1:])

    @action(each=Caller, fair="weak")
    def waiter_times_out(self, s, c):
        """A caller has waited queue_timeout with every slot still busy: it leaves the queue,
        rejected by the timeout."""
        if s.caller[c] == "waiting" and s.waited[c] == self.queue_timeout and s.permits == 0:
            return self.moved(s, c, "timed_out").set(queued=self.left(s),
                                                     waiters=leave(s.waiters, c))

    @action(each=Caller, fair="weak")
    def caller_finishes(self, s, c):
        """A running call returns (or raises): its slot is released."""
        if s.caller[c] == "running":
            return self.moved(s, c, "done").set(permits=s.permits + 1)

    @action(fair="weak")
    def clock_ticks(self, s):
        """Time passes while callers wait, every slot is busy and none has reached its
        timeout."""
        waiting = [c for c, status in enumerate(s.caller) if status == "waiting"]
        if waiting and s.permits == 0 and all(s.waited[c] < self.queue_timeout for c in waiting):
            return s.set(waited=tuple(w + 1 if status == "waiting" else w
                                      for status, w in zip(s.caller, s.waited)))


class BulkheadArticle(Bulkhead):
    """The article's Bulkhead: its queue is never used, so it never turns a caller away."""

    name = "bulkhead-article"

    def queue_full(self, s):
        """``self._queue.full()``: an asyncio.Queue with maxsize 0 is unbounded, never full."""
        return self.max_queue > 0 and s.queued >= self.max_queue

    def joined(self, s):
        """A caller that waits on the semaphore is not put in ``self._queue``."""
        return s.queued

    def left(self, s):
        """Nothing is taken out of ``self._queue`` either."""
        return s.queued

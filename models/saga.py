"""Sagas: a three-step order (inventory, payment, shipping), orchestrated and choreographed.

Sources: Garcia-Molina and Salem, "Sagas" (SIGMOD 1987): a long-lived transaction as a sequence of
steps T1..Tn with compensations C1..Cn, executed as T1..Tn or as T1..Tj Cj..C1; the article's
"Saga Pattern" section and its two diagrams, orchestration (a saga manager sends commands) and
choreography (services react to each other's events).

Any step may fail; a failed step has no effect, and the steps that completed are compensated in
reverse order. Compensations themselves do not fail (they are retried until they succeed, which
the models take as one step). History variables count, per step, how often it ran (``runs``) and
was compensated (``comps``), and record the order of compensations (``compensated``), so the
properties say what a customer would observe.

``saga-orchestration``: the saga manager runs the steps in turn and, after a failure, the
compensations in turn: synchronous commands, no network.

``saga-choreography``: the order service and the three services exchange events over
``models.network`` (loss and duplication are its parameters). With ``idempotent`` (the default)
each service ignores an event it has already handled (it remembers events by their identity);
``-p idempotent=false -p duplicating=true`` shows which properties need that.

Liveness, ``saga_terminates`` (every saga eventually completes or is fully compensated): the
saga's own steps are weakly fair (the manager commands the next step or compensation; a service
handles an event delivered to it), a step's failure is the environment's choice and never fair,
and so are the network's faults. In the choreography receiving is strongly fair per event, as in
``lww-store``. It holds on both; with ``-p lossy=true`` the choreography is refuted, since an
event the network loses is never sent again (the order waits for ever). The orchestration's
commands are synchronous calls: it has no network to lose them.

Parameters: ``steps`` (3). Each model at its defaults: a few dozen states.
"""

from kripke.models.network import MessagePassing, network_variables
from kripke.models.system import Param, TransitionSystem, action
from kripke.models.types import Array, Domain, Enum, Int, Seq, Set, put, record
from kripke.specs.commit import (compensation_order, no_spurious_compensation, saga_aborted_possible,
                                 saga_completed_possible, saga_terminates, semantic_atomicity)
from kripke.specs.properties import type_ok

Step = Domain("Step", "steps", doc="the saga's steps: 0 inventory, 1 payment, 2 shipping")
STEP_NAMES = ("inventory", "payment", "shipping")
COUNT = Int(0, 2)


class Saga(TransitionSystem):
    """What both sagas share: the history and what the properties read."""

    steps = Param(3, "number of steps (inventory, payment, shipping, ...)", min=1, max=3)
    properties = (type_ok, semantic_atomicity, compensation_order, no_spurious_compensation,
                  saga_completed_possible, saga_aborted_possible, saga_terminates)
    history = {
        "runs": Array(Step, COUNT),
        "comps": Array(Step, COUNT),
        "compensated": Seq(Step, lambda m: 2 * m.steps),
    }

    def history_init(self):
        return {"runs": (0,) * self.steps, "comps": (0,) * self.steps, "compensated": ()}

    def ran(self, s, i):
        return s.set(runs=put(s.runs, i, min(s.runs[i] + 1, 2)))  # saturates, as below

    def undone(self, s, i):
        # The history saturates (counts at 2, the order after 2 * steps entries), so that
        # duplicated events cannot make the state space infinite; what it records is enough for
        # every property to fail when it should.
        order = s.compensated + (i,) if len(s.compensated) < 2 * self.steps else s.compensated
        return s.set(comps=put(s.comps, i, min(s.comps[i] + 1, 2)), compensated=order)

    def terminal(self, s):
        return True


class SagaOrchestration(Saga):
    """A saga manager that commands each service in turn, then compensates in reverse."""

    name = "saga-orchestration"
    variables = {
        "manager": Enum("running", "compensating", "completed", "aborted"),
        "next_step": Int(0, "steps"),  # running: the step to run; compensating: one past the
        **Saga.history,                # step to compensate next
    }

    def init(self):
        yield self.State(manager="running", next_step=0, **self.history_init())

    def ended(self, s):
        return s.manager in ("completed", "aborted")

    @action(fair="weak")
    def step_succeeds(self, s):
        """The manager commands the next step, which completes."""
        if s.manager == "running":
            i = s.next_step
            done = i + 1 == self.steps
            return self.ran(s, i).set(next_step=i + 1, manager="completed" if done else "running")

    @action(fair=False)
    def step_fails(self, s):
        """The manager commands the next step, which fails (and has no effect)."""
        if s.manager == "running":
            i = s.next_step
            return s.set(manager="compensating" if i else "aborted")

    @action(fair="weak")
    def compensate_step(self, s):
        """The manager compensates the latest step not yet compensated."""
        if s.manager == "compensating":
            i = s.next_step - 1
            return self.undone(s, i).set(next_step=i, manager="aborted" if i == 0
                                         else "compensating")


Node = Domain("Node", lambda m: m.steps + 1, doc="0: the order service; i + 1: step i's service")
EVENT_KIND = Enum("done", "failed", "undone")
Event = record("Event", kind=EVENT_KIND, step=Int(-1, "steps"), src=Node, dst=Node)


class SagaChoreography(Saga, MessagePassing):
    """Services that react to each other's events: step i runs when step i-1 reports done;
    a failure (or a compensation) travels back down the chain."""

    name = "saga-choreography"
    NODE = Node
    idempotent = Param(True, "services ignore an event they have already handled")
    variables = {
        "order": Enum("pending", "completed", "aborted"),
        "handled": Array(Node, Set(Event)),
        **Saga.history,
        **network_variables(Node, Event),
    }

    def init(self):
        started = Event("done", -1, 0, 1)  # OrderCreated: the order service starts step 0
        yield self.State(order="pending", handled=(frozenset(),) * (self.steps + 1),
                         **self.history_init(), **dict(self.network_init(), messages=(started,)))

    def ended(self, s):
        return s.order != "pending"

    def handle(self, s, m):
        """``s`` with m received by its recipient, or None if it is a duplicate to ignore."""
        if self.idempotent and m in s.handled[m.dst]:
            return None
        return s.set(messages=self.discard(s.messages, m),
                     handled=put(s.handled, m.dst, s.handled[m.dst] | {m}))

    def emit(self, s, kind, step, src, dst):
        msgs = self.send(s.messages, Event(kind, step, src, dst))
        return None if msgs is None else s.set(messages=msgs)

    @action(each="deliverable", fair="strong")
    def run_step(self, s, m):
        """Service i receives "step i-1 done" (OrderCreated for step 0), runs, reports done."""
        i = m.dst - 1
        if m.kind == "done" and m.dst > 0 and m.step == i - 1:
            s = self.handle(s, m)
            return s and self.emit(self.ran(s, i), "done", i, m.dst, (m.dst + 1) % (self.steps + 1))

    @action(each="deliverable", fair=False)
    def fail_step(self, s, m):
        """Service i receives "step i-1 done", fails, and reports it back down the chain."""
        i = m.dst - 1
        if m.kind == "done" and m.dst > 0 and m.step == i - 1:
            s = self.handle(s, m)
            return s and self.emit(s, "failed", i, m.dst, m.dst - 1)

    @action(each="deliverable", fair="strong")
    def compensate_step(self, s, m):
        """Service i receives a failure or compensation from step i+1: compensates, passes on."""
        i = m.dst - 1
        if m.kind in ("failed", "undone") and m.dst > 0 and m.step == i + 1:
            s = self.handle(s, m)
            return s and self.emit(self.undone(s, i), "undone", i, m.dst, m.dst - 1)

    @action(each="deliverable", fair="strong")
    def finish_order(self, s, m):
        """The order service learns the outcome: the last step done, or step 0 undone/failed."""
        if m.dst == 0:
            s = self.handle(s, m)
            return s and s.set(order="completed" if m.kind == "done" else "aborted")

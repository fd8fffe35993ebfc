"""Message passing over an unreliable network: the article's "fallacies" as model parameters.

A message-passing model subclasses ``MessagePassing``, declares its node domain as ``NODE`` and
its message records (each with ``src`` and ``dst`` fields), and keeps the messages in flight in
a variable ``messages`` of type ``Bag(MESSAGE, "max_msgs", fifo="ordered")``, plus ``partition``
(``Set(Set(NODE))``: the two sides, or empty) and ``up`` (``Array(NODE, Bool())``);
``network_variables(NODE, MESSAGE)`` declares the three. Its handlers receive messages with
``@action(each="deliverable")`` and use ``send`` / ``discard`` / ``reply`` (after raft.tla's Send,
Discard and Reply), and ``room`` as the guard of a send (tested before the message is built); the
network's own actions below lose, duplicate, partition, crash and restart.

The eight fallacies of distributed computing (the article's list) and what models them here:

1. *The network is reliable*: ``lossy`` (``drop_message``: any message in flight may vanish) and
   ``duplicating`` (``duplicate_message``: a copy is added, so a message may be delivered twice;
   delivering and leaving a copy behind is the same behaviour in two steps).
2. *Latency is zero*: always modelled. Sending and receiving are separate steps with any number
   of other steps in between; without ``ordered`` messages overtake each other (reordering).
3. *Bandwidth is infinite*: ``max_msgs`` bounds the messages in flight; a send that would exceed
   it is not enabled (the sender waits). This is also what keeps the state space finite.
4. *The network is secure*: out of scope (no adversary; messages are never forged).
5. *Topology doesn't change*: ``partitions`` (``partition_network`` splits the nodes in two
   sides, messages across the cut are not delivered until ``heal_partition``) and ``crashes``
   (``crash_node`` takes a node down; ``recover_node`` brings it back with its volatile state
   lost and its persistent state kept, as the model's ``restarted(s, node)`` says).
6. *There is one administrator*, 7. *Transport cost is zero*, 8. *The network is homogeneous*:
   out of scope; they concern operations and cost, not the order of events.

With ``ordered`` each channel ``(src, dst)`` is FIFO: only its oldest message can be delivered.
"""

import itertools

from kripke.common import speedups
from kripke.models.system import Param, TransitionSystem, action, among
from kripke.models.types import Array, Bag, Bool, Set, bag_add, bag_remove, put

__all__ = ["MessagePassing", "network_variables"]


def network_variables(node, message):
    """The variables of the network, to merge into a model's ``variables``."""
    return {"messages": Bag(message, "max_msgs", fifo="ordered"),
            "partition": Set(Set(node)),
            "up": Array(node, Bool())}


class MessagePassing(TransitionSystem):
    """Base of message-passing models: network parameters, send/receive helpers, failures."""

    #: the Domain of nodes (servers, replicas); a subclass sets it
    NODE = None
    #: per-node variables whose changes a message sequence chart notes on the lifelines, and
    #: the values it draws in red (``{"state": ("leader",)}``)
    msc_notes = ()
    msc_highlight = {}

    ordered = Param(False, "FIFO channels: each (src, dst) delivers in the order sent")
    lossy = Param(False, "the network may drop any message in flight")
    duplicating = Param(False, "the network may duplicate a message in flight")
    partitions = Param(False, "the network may split the nodes in two sides, then heal")
    crashes = Param(False, "a node may crash and restart, losing its volatile state")
    max_msgs = Param(2, "bound on the messages in flight (a send beyond it waits)", min=1)

    def __init__(self, **params):
        c = speedups()
        if c is not None:
            # deliverable in C (kripke._speedups.LastState): asked by every handler in every
            # state, it is one C call instead of a Python frame, and none when the engine's
            # call of a handler is in C too
            self.deliverable = c.LastState(self._deliverable_now, getattr(self, "State", None))
        super().__init__(**params)

    # -- helpers for the model's actions (raft.tla's Send, Discard, Reply) ---------------------
    def room(self, msgs):
        """Is there room in the network for one more message? A guard, to test before building
        the message (a send into a full network waits)."""
        return len(msgs) < self.max_msgs

    def send(self, msgs, m):
        """``msgs`` with ``m`` added, or None when the network is full (the step waits)."""
        if len(msgs) >= self.max_msgs:
            return None
        return bag_add(msgs, m, self.ordered)

    def discard(self, msgs, m):
        """``msgs`` with one copy of ``m`` removed (it has been received, or lost)."""
        return bag_remove(msgs, m)

    def reply(self, msgs, response, request):
        """Receive ``request`` and answer it with ``response`` in one step."""
        return self.send(self.discard(msgs, request), response)

    @among("messages", "delivers")
    def deliverable(self, s):
        """The messages that can be received now, each once: the oldest of its channel when
        ``ordered``; not across a partition; not to a node that is down.

        Every message handler asks for them in the same state, one after the other: the last
        answer is kept with its state (a reference, so the same object) and given again, for a
        state of the model's own class (not a symbolic one, whose answer depends on the path).
        With the C extension an instance's ``deliverable`` is its C twin (see ``__init__``)."""
        last = self.__dict__.get("_deliverable")
        if last is not None and last[0] is s:
            return last[1]
        out = self._deliverable_now(s)
        if type(s) is self.State:
            self._deliverable = (s, out)
        return out

    def _deliverable_now(self, s):
        out, heads = [], set()
        for m in s.messages:
            if self.ordered:
                if (m.src, m.dst) in heads:
                    continue
                heads.add((m.src, m.dst))
            if m in out or not s.up[m.dst]:
                continue
            if self.separated(s, m.src, m.dst):
                continue
            out.append(m)
        return out

    def delivers(self, s, m):
        """Is ``m`` one of ``deliverable(s)``? (What the symbolic back end asks of each message
        of the bag's universe.)"""
        if m not in s.messages or not s.up[m.dst] or self.separated(s, m.src, m.dst):
            return False
        return not self.ordered or next(x for x in s.messages
                                        if (x.src, x.dst) == (m.src, m.dst)) == m

    @among("messages", "lost")
    def droppable(self, s):
        """The distinct messages in flight, when the network is ``lossy``."""
        return list(dict.fromkeys(s.messages)) if self.lossy else []

    @among("messages", "copied")
    def duplicable(self, s):
        """The distinct messages in flight, when the network is ``duplicating``."""
        return list(dict.fromkeys(s.messages)) if self.duplicating else []

    def lost(self, s, m):
        """Is ``m`` one of ``droppable(s)``?"""
        return self.lossy and m in s.messages

    def copied(self, s, m):
        """Is ``m`` one of ``duplicable(s)``?"""
        return self.duplicating and m in s.messages

    def separated(self, s, a, b):
        """Are nodes ``a`` and ``b`` on different sides of a partition?"""
        return any((a in side) != (b in side) for side in s.partition)

    def partition_sides(self, s):
        """Every way to split the nodes in two non-empty sides, as the set of the two sides
        (which renaming the nodes maps to another such set: no side is special)."""
        if not self.partitions or s.partition:
            return []
        nodes = frozenset(self.NODE.values(self))
        first, rest = min(nodes), sorted(nodes - {min(nodes)})
        splits = [frozenset((first,) + c) for k in range(len(rest))
                  for c in itertools.combinations(rest, k)]
        return [frozenset((side, nodes - side)) for side in splits]

    def sequence_chart(self):
        """How a trace of this model is drawn as a message sequence chart, as data that
        ``kripke.traces.render`` reads: the lifelines, the per-node fields noted on them, the
        values drawn in red, and what a lifeline is called."""
        return {"nodes": list(self.NODE.values(self)), "notes": self.msc_notes,
                "highlight": self.msc_highlight, "node_name": self.NODE.name.lower()}

    def network_init(self):
        """The network's variables in the initial state: empty, whole, every node up."""
        n = len(self.NODE.values(self))
        return {"messages": (), "partition": frozenset(), "up": (True,) * n}

    def restarted(self, s, node):
        """``s`` after ``node`` restarts: a model resets the node's volatile state here."""
        return s

    # -- the network's own actions -----------------------------------------------------------
    # The environment's choices, never fair (fair=False, whatever the model's default): a
    # network that may lose a message need not lose it, and a crashed node need not come back.
    @action(each="droppable", fair=False)
    def drop_message(self, s, m):
        """The network loses a message (raft.tla's DropMessage)."""
        return s.set(messages=self.discard(s.messages, m))

    @action(each="duplicable", fair=False)
    def duplicate_message(self, s, m):
        """The network duplicates a message (raft.tla's DuplicateMessage)."""
        msgs = self.send(s.messages, m)
        if msgs is not None:
            return s.set(messages=msgs)

    @action(each="partition_sides", fair=False)
    def partition_network(self, s, sides):
        """The network splits in two sides: messages between them are held back."""
        return s.set(partition=sides)

    @action(fair=False)
    def heal_partition(self, s):
        """The partition heals."""
        if s.partition:
            return s.set(partition=frozenset())

    @action(each="NODE", fair=False)
    def crash_node(self, s, node):
        """A node crashes: it takes no step and receives nothing until it recovers."""
        if self.crashes and s.up[node]:
            return s.set(up=put(s.up, node, False))

    @action(each="NODE", fair=False)
    def recover_node(self, s, node):
        """A crashed node comes back from its persistent state."""
        if not s.up[node]:
            return self.restarted(s.set(up=put(s.up, node, True)), node)

"""Vector clocks: the clock as a value for models, and a model checking that it tracks causality.

Sources: Colin J. Fidge, "Timestamps in Message-Passing Systems That Preserve the Partial
Ordering" (11th Australian Computer Science Conference, 1988) and Friedemann Mattern, "Virtual
Time and Global States of Distributed Systems" (Parallel and Distributed Algorithms, 1989), for
the clocks; Leslie Lamport, "Time, Clocks, and the Ordering of Events in a Distributed System"
(CACM 21(7), 1978), for happened-before. The article's ``VectorClock`` (a dict from node names
to counters) is what is modelled; here a clock is a tuple indexed by process id.

The clock value: a plain tuple of ints, entry ``q`` counting the events of process ``q`` that
the clock's owner knows of. ``increment``, ``merge`` (element-wise max), ``compare`` ("before",
"after", "equal" or "concurrent") and ``happened_before`` are functions of such tuples, so a
clock hashes, compares and renames under symmetry like any other tuple. Declare a clock variable
with ``VectorClockType(PROC, "max_events")`` (that is ``Array(PROC, Int(0, "max_events"))``).

The model ``vector-clock`` (class ``VectorClocks``): ``procs`` processes over
``models.network``, each taking local, send and receive events by Fidge's and Mattern's rules:
tick your own entry at every event; a message carries the sender's clock; a receive merges it
and ticks. Two history variables (auxiliary variables in the sense of Abadi and Lamport,
"The Existence of Refinement Mappings", 1991: the protocol writes them and never reads them)
record what really happened: ``events``, every event with its process, local sequence number
and clock, and ``causes``, the direct causal edges: each event after its predecessor on the
same process, each receive after its send (for this a message also carries the sequence number
of its send event). Lamport's happened-before is the transitive closure of ``causes``, and
``clocks_match_causality`` is Fidge's and Mattern's theorem: ``e -> f`` exactly when
``clock(e) < clock(f)``.

What is abstracted: event contents (an event is only its place in the order), node names (ids
0..procs-1), and time. Bounds: each process takes at most ``max_events`` events, counted in the
history (a state constraint, as TLC's would be, not a step of the protocol), so every clock
entry is at most ``max_events``; a send waits while ``max_msgs`` messages are in flight. The
processes are symmetric.

Parameters: ``procs`` (3), ``max_events`` (2), and the network options (``max_msgs`` 2, the
failures off; the property holds under each of them). At the defaults: 725 orbits under
symmetry (1,442 generated, depth 7, 0.1 s on a 2-core machine), 4,250 distinct states without
(8,305 generated, 0.2 s); all properties hold. ``-p max_events=3``: 38,056 orbits (70,206
generated, depth 10), about 6 s (228,048 states, about 22 s, without symmetry).
"""

from operator import le

from kripke.models.network import MessagePassing, network_variables
from kripke.models.system import Param, action
from kripke.models.types import Array, Domain, Int, Set, put, record, set_add
from kripke.specs.properties import invariant, sometimes, type_ok

__all__ = ["increment", "merge", "compare", "happened_before", "concurrent", "VectorClockType",
           "VectorClocks", "clocks_match_causality", "concurrent_events_possible",
           "causality_across_processes"]


# -- the clock value ---------------------------------------------------------------------------
def increment(clock, p):
    """``clock`` after an event of process ``p``: its own entry ticks."""
    return clock[:p] + (clock[p] + 1,) + clock[p + 1:]


def merge(a, b):
    """The least clock at or after both ``a`` and ``b``: the element-wise maximum."""
    return tuple(map(max, a, b))


def _at_most(a, b):
    """``a <= b`` entry by entry."""
    return all(map(le, a, b))


def happened_before(a, b):
    """``a < b``: every entry of ``a`` is at most ``b``'s and the clocks differ (Mattern's
    ``<``; with Fidge's and Mattern's rules it is exactly Lamport's happened-before)."""
    return a != b and _at_most(a, b)


def concurrent(a, b):
    """Neither clock is at or before the other (Lamport's ``a -/-> b`` and ``b -/-> a``)."""
    return not _at_most(a, b) and not _at_most(b, a)


def compare(a, b):
    """How ``a`` stands to ``b``: "before", "after", "equal" or "concurrent"."""
    if a == b:
        return "equal"
    if _at_most(a, b):
        return "before"
    if _at_most(b, a):
        return "after"
    return "concurrent"


class VectorClockType(Array):
    """The field type of a vector clock over the processes ``procs`` (a Domain), each entry in
    ``0..bound`` (an int or a parameter's name): ``Array(procs, Int(0, bound))``."""

    def __init__(self, procs, bound):
        super().__init__(procs, Int(0, bound))


# -- the model ---------------------------------------------------------------------------------
PROC = Domain("Proc", "procs", symmetric=True, doc="the processes, interchangeable")
SEQ = Int(1, "max_events")
CLOCK = VectorClockType(PROC, "max_events")

Event = record("Event", proc=PROC, seq=SEQ, clock=CLOCK)
# A direct causal edge from event (cause, cause_seq) to event (effect, effect_seq).
Edge = record("Edge", cause=PROC, cause_seq=SEQ, effect=PROC, effect_seq=SEQ)
# The sender's clock, and (for the history only) the sequence number of the send event.
Message = record("Message", clock=CLOCK, sent_at=SEQ, src=PROC, dst=PROC)


def causal_past(s):
    """Lamport's happened-before on the recorded events: ``{(proc, seq): every (proc, seq)
    that happened before it}``, the transitive closure of the direct edges ``s.causes``."""
    direct = {}
    for c in s.causes:
        direct.setdefault((c.effect, c.effect_seq), []).append((c.cause, c.cause_seq))
    past = {}

    def of(e):
        if e not in past:
            seen = set()
            for d in direct.get(e, ()):
                seen.add(d)
                seen |= of(d)
            past[e] = seen
        return past[e]
    for e in s.events:
        of((e.proc, e.seq))
    return past


@invariant
def clocks_match_causality(model, s):
    """Fidge's and Mattern's theorem: for recorded events e, f, clock(e) < clock(f) exactly
    when e happened before f (the transitive closure of the recorded causal edges)."""
    past = causal_past(s)
    return all(happened_before(e.clock, f.clock) == ((e.proc, e.seq) in past[f.proc, f.seq])
               for e in s.events for f in s.events)


@sometimes
def concurrent_events_possible(model, s):
    """Two recorded events are concurrent: neither happened before the other."""
    past = causal_past(s)
    return any(e != f and e not in past[f] and f not in past[e] for e in past for f in past)


@sometimes
def causality_across_processes(model, s):
    """An event happened before an event of another process that it has no direct edge to
    (causality carried by a chain of messages, which the clocks must also see)."""
    past = causal_past(s)
    direct = {((c.cause, c.cause_seq), (c.effect, c.effect_seq)) for c in s.causes}
    return any(e[0] != f[0] and (e, f) not in direct for f in past for e in past[f])


class VectorClocks(MessagePassing):
    """Processes exchanging messages stamped with vector clocks (Fidge 1988, Mattern 1989).

    Each event ticks the process's own entry; a send carries the clock; a receive also merges
    it. The history records every event and its direct causes, so that the clocks can be
    checked against Lamport's happened-before.
    """

    name = "vector-clock"
    NODE = PROC
    procs = Param(3, "number of processes", min=1)
    max_events = Param(2, "events (local, send or receive) each process takes at most", min=1)
    variables = {
        "clock": Array(PROC, CLOCK),       # each process's current clock
        "events": Set(Event),              # history: every event, with its clock
        "causes": Set(Edge),               # history: the direct causal edges
        **network_variables(PROC, Message),
    }
    properties = (type_ok, clocks_match_causality, concurrent_events_possible,
                  causality_across_processes)
    msc_notes = ("clock",)

    def init(self):
        zero = (0,) * self.procs
        yield self.State(clock=(zero,) * self.procs, events=frozenset(), causes=frozenset(),
                         **self.network_init())

    # -- the history --------------------------------------------------------------------------
    def taken(self, s, p):
        """How many events process ``p`` has taken (its last event's sequence number)."""
        return sum(e.proc == p for e in s.events)

    def history_after(self, s, p, clock, *more_causes):
        """The history after an event of ``p`` stamped ``clock``: ``(events, causes, seq)``,
        the event following ``p``'s previous one and the events in ``more_causes``."""
        seq = self.taken(s, p) + 1
        causes = [(p, seq - 1)] if seq > 1 else []
        causes += more_causes
        edges = [Edge(q, n, p, seq) for q, n in causes]
        return set_add(s.events, Event(p, seq, clock)), set_add(s.causes, *edges), seq

    def can_act(self, s, p):
        """Can process ``p`` take an event: it is up and has events left?"""
        return s.up[p] and self.taken(s, p) < self.max_events

    # -- the protocol ---------------------------------------------------------------------------
    def stamp(self, s, p):
        """The clock of a local or send event of ``p``: its own entry ticks."""
        return increment(s.clock[p], p)

    def stamp_receive(self, s, p, m):
        """The clock of ``p``'s receive of ``m``: merge the message's clock, then tick."""
        return increment(merge(s.clock[p], m.clock), p)

    @action(each=PROC)
    def local_event(self, s, p):
        """Process ``p`` takes an internal step."""
        if self.can_act(s, p):
            clock = self.stamp(s, p)
            events, causes, _ = self.history_after(s, p, clock)
            return s.set(clock=put(s.clock, p, clock), events=events, causes=causes)

    @action(each=(PROC, PROC))
    def send_message(self, s, p, q):
        """Process ``p`` sends its clock to process ``q``."""
        if p != q and self.can_act(s, p):
            clock = self.stamp(s, p)
            events, causes, seq = self.history_after(s, p, clock)
            msgs = self.send(s.messages, Message(clock, seq, p, q))
            if msgs is not None:
                return s.set(clock=put(s.clock, p, clock), events=events, causes=causes,
                             messages=msgs)

    @action(each="deliverable")
    def receive(self, s, m):
        """Process ``m.dst`` receives ``m``."""
        q = m.dst
        if self.can_act(s, q):
            clock = self.stamp_receive(s, q, m)
            events, causes, _ = self.history_after(s, q, clock, (m.src, m.sent_at))
            return s.set(clock=put(s.clock, q, clock), events=events, causes=causes,
                         messages=self.discard(s.messages, m))

    def terminal(self, s):
        """Every process has taken all its events."""
        return len(s.events) == self.procs * self.max_events

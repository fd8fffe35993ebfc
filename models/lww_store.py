"""A last-write-wins replicated key-value store, and the article's EventuallyConsistentStore.

Sources: the article's EventuallyConsistentStore and ReplicatedValue ("CAP theorem explained",
../shared/reference), modelled as written in ``lww-store-article``; Shapiro et al., "Conflict-free
Replicated Data Types" (SSS 2011), the LWW register (section 3.2.1) and strong eventual
consistency; Kulkarni et al., "Logical Physical Clocks" (OPODIS 2014) for timestamps that respect
causality.

``replicas`` replicas each hold, per key, the version they believe is the latest: the write (its
value is the write's identity, replica and sequence number), its timestamp, and its vector clock.
Writes happen at any replica and replicate asynchronously over ``models.network``: loss,
duplication, reordering and partitions are parameters. Each replica reads a wall clock,
real time (``now``, advanced by ``tick``) plus a fixed offset of at most ``max_skew``.

The correct store (``lww-store``):

* a write's timestamp is the replica's wall clock, or one more than the largest timestamp it has
  seen if that is larger (the hybrid-logical-clock rule), so timestamps never contradict
  causality;
* merge keeps the causally later of two versions, and of two concurrent ones the larger
  (timestamp, replica id);
* replication retransmits: each update stays in the sender's outbox until the recipient
  acknowledges it, and may be sent again at any time before, so a lost update still arrives.

The article's store (``lww-store-article``) differs exactly where the article's code does: its
write timestamps are raw wall-clock readings; its merge decides non-concurrent versions by
timestamp alone (``elif self.timestamp > other.timestamp``), resolves equal timestamps in favour
of the other version, and gives the result the merged vector clock; its local write path merges
the new value into the stored one; and its sync queue is sent once, with no acknowledgement, so
a message the network loses is gone.

Two history variables, for the properties only: ``delivered`` (the writes each replica has made
or received) and, in each version, ``after`` (the writes it causally follows).

Liveness, ``converges`` (once writes stop, every replica eventually holds the same value and
keeps it): clients' writes, time and the network's faults are the environment's and never fair;
receiving a message is strongly fair, each message on its own: a message that is lost and resent
is deliverable again and again but not continuously, so weak fairness would let the network lose
every copy (``-p delivery=weak`` shows it). Sending (``send_update``, the article's
``sync_to_replicas``) is strongly fair too: it waits while the network is full (``max_msgs``),
and a network that duplicates a message whenever there is room would otherwise starve it.
Receiving is as in Lamport's alternating bit protocol over a lossy channel (AB.tla in the TLA+
examples: ``SF_vars(ARcv) /\\ SF_vars(BRcv) /\\ WF_vars(ASnd) /\\ WF_vars(BSnd)``), whose
channels have no bound, so its sending needs only weak fairness. With those, ``lww-store``
converges with loss and duplication on; ``lww-store-article`` with ``lossy`` does
not: a sync sent once and lost is never sent again.

Parameters: ``replicas`` (2), ``keys`` (1), ``max_writes`` per replica (1), ``max_time`` (1),
``max_skew`` (0), ``max_msgs`` (2) and the network options. Replica ids break timestamp ties, so
they are not interchangeable: no symmetry.
"""

import itertools

from kripke.models.network import MessagePassing, network_variables
from kripke.models.system import Param, action
from kripke.models.types import Array, Domain, Int, OneOf, Optional, Seq, Set, put, record
from kripke.models.vector_clock import compare, increment, merge as merge_clocks
from kripke.specs.convergence import (converged_possible, converges, convergence,
                                      no_lost_causal_update, quiescent_agreement,
                                      read_your_writes)
from kripke.specs.properties import type_ok

Replica = Domain("Replica", "replicas", doc="the replicas (not symmetric: ids break ties)")
Key = Domain("Key", "keys", doc="the keys")

SEQ = Int(0, "max_writes")
TS = Int(0, lambda m: m.max_time + m.max_skew + m.replicas * m.max_writes)

Write = record("Write", node=Replica, seq=Int(1, "max_writes"))
Version = record("Version", write=Write, ts=TS, vc=Array(Replica, SEQ), after=Set(Write))
Item = record("Item", key=Key, version=Version)
Update = record("Update", key=Key, version=Version, src=Replica, dst=Replica)
Ack = record("Ack", key=Key, write=Write, src=Replica, dst=Replica)


def lww_merge(mine, incoming):
    """The causally later version; of two concurrent ones the larger (timestamp, replica)."""
    if mine is None or mine.write == incoming.write:
        return mine or incoming
    order = compare(mine.vc, incoming.vc)
    if order == "before":
        return incoming
    if order == "after":
        return mine
    return max(mine, incoming, key=lambda v: (v.ts, v.write.node))


class ReplicatedStore(MessagePassing):
    """What both stores share: replicas, wall clocks, writes' bookkeeping, what the properties
    read. The subclasses say how a write is stamped and stored and how updates travel."""

    NODE = Replica
    replicas = Param(2, "number of replicas", min=1, max=4)
    keys = Param(1, "number of keys", min=1, max=3)
    max_writes = Param(1, "writes each replica makes", min=0, max=3)
    max_time = Param(1, "ticks of real time", min=0, max=4)
    max_skew = Param(0, "largest offset of a replica's wall clock from real time", min=0, max=3)
    delivery = Param("strong", "fairness of receiving each message: strong, or weak (too weak "
                               "for a lossy network: converges is refuted)",
                     choices=("strong", "weak"))

    #: the variables both stores have; each adds how its updates wait to be sent
    common = {
        "now": Int(0, "max_time"),
        "offset": Array(Replica, Int(0, "max_skew")),
        "clock": Array(Replica, Array(Replica, SEQ)),
        "data": Array(Replica, Array(Key, Optional(Version))),
        "own": Array(Replica, Array(Key, Optional(Version))),
        "delivered": Array(Replica, Set(Write)),
    }
    properties = (type_ok, convergence, quiescent_agreement, read_your_writes,
                  no_lost_causal_update, converged_possible, converges)

    def init(self):
        """No writes yet; every combination of clock offsets within max_skew (one at 0)."""
        n, k = self.replicas, self.keys
        for offset in _offsets(n, self.max_skew):
            yield self.State(
                now=0, offset=offset, clock=((0,) * n,) * n, data=((None,) * k,) * n,
                own=((None,) * k,) * n, delivered=(frozenset(),) * n,
                **self.queues_init(), **self.network_init())

    def terminal(self, s):
        """Bounded runs end when writes, time and messages are used up."""
        return True

    def fairness(self, name):
        """Receiving is strongly fair, or weakly with ``-p delivery=weak``."""
        if name in ("receive_update", "receive_ack", "receive_sync"):
            return self.delivery
        return super().fairness(name)

    def wall_clock(self, s, i):
        return s.now + s.offset[i]

    # -- what the convergence properties read --------------------------------------------------
    def held(self, s):
        return s.data

    def replica_values(self, s):
        return [tuple(None if v is None else v.write for v in row) for row in s.data]

    def delivered(self, s):
        return s.delivered

    def own_writes(self, s):
        return s.own

    def causally_before(self, a, b):
        return a.write in b.after

    # -- shared steps --------------------------------------------------------------------------
    @action
    def tick(self, s):
        """Real time advances."""
        if s.now < self.max_time:
            return s.set(now=s.now + 1)

    def new_write(self, s, i, ts):
        """Replica i's next write, stamped ``ts``, or None when i has written max_writes."""
        seq = s.clock[i][i] + 1
        if seq > self.max_writes:
            return None
        return Version(Write(i, seq), ts, increment(s.clock[i], i), self.causal_past(s, i))

    def wrote(self, s, i, k, version, stored):
        """``s`` after replica i wrote ``version`` to key k and now stores ``stored``."""
        return self.stored(s, i, k, stored).set(
            clock=put(s.clock, i, version.vc), own=put(s.own, i, put(s.own[i], k, version)),
            delivered=put(s.delivered, i, s.delivered[i] | {version.write}))

    def received(self, s, i, k, version, stored):
        """``s`` after replica i received ``version`` for key k and now stores ``stored``."""
        return self.stored(s, i, k, stored).set(
            clock=put(s.clock, i, merge_clocks(s.clock[i], version.vc)),
            delivered=put(s.delivered, i, s.delivered[i] | {version.write}))

    def causal_past(self, s, i):
        """The writes a new write at i causally follows: those i holds, and their pasts."""
        past = set(s.delivered[i])
        for v in s.data[i]:
            if v is not None:
                past |= v.after
        return frozenset(past)

    def stored(self, s, i, k, version):
        return s.set(data=put(s.data, i, put(s.data[i], k, version)))


class LwwStore(ReplicatedStore):
    """A last-write-wins store: causal order first, then (timestamp, replica); retransmission."""

    name = "lww-store"
    variables = {
        **ReplicatedStore.common,
        "last_ts": Array(Replica, TS),
        "outbox": Array(Replica, Array(Replica, Set(Item))),
        **network_variables(Replica, OneOf(Update, Ack)),
    }

    def queues_init(self):
        n = self.replicas
        return {"last_ts": (0,) * n, "outbox": ((frozenset(),) * n,) * n}

    def quiescent(self, s):
        return not s.messages and not any(box for row in s.outbox for box in row)

    @action(each=(Replica, Key), fair=False)
    def write(self, s, i, k):
        """A client writes key k at replica i: stamped after everything i has seen, stored,
        and put in the outbox for every other replica."""
        ts = max(self.wall_clock(s, i), s.last_ts[i] + 1)
        version = self.new_write(s, i, ts)
        if version is None or not s.up[i]:
            return None
        item = Item(k, version)
        outbox = tuple(box if j == i else box | {item} for j, box in enumerate(s.outbox[i]))
        return self.wrote(s, i, k, version, lww_merge(s.data[i][k], version)).set(
            last_ts=put(s.last_ts, i, ts), outbox=put(s.outbox, i, outbox))

    def unacknowledged(self, s):
        """(sender, recipient, item) for every update waiting for an acknowledgement."""
        return [(i, j, item) for i, row in enumerate(s.outbox) if s.up[i]
                for j, box in enumerate(row) for item in sorted(box, key=hash)]

    @action(each="unacknowledged", fair="strong")
    def send_update(self, s, entry):
        """Replica i sends (or sends again) an unacknowledged update to j."""
        i, j, item = entry
        msgs = self.send(s.messages, Update(item.key, item.version, i, j))
        if msgs is not None:
            return s.set(messages=msgs)

    @action(each="deliverable", fair="strong")
    def receive_update(self, s, m):
        """Replica m.dst merges an update and acknowledges it."""
        if type(m) is not Update:
            return None
        i, v = m.dst, m.version
        msgs = self.reply(s.messages, Ack(m.key, v.write, i, m.src), m)
        if msgs is None:
            return None
        return self.received(s, i, m.key, v, lww_merge(s.data[i][m.key], v)).set(
            messages=msgs, last_ts=put(s.last_ts, i, max(s.last_ts[i], v.ts)))

    @action(each="deliverable", fair="strong")
    def receive_ack(self, s, m):
        """Replica m.dst stops resending what m.src acknowledged."""
        if type(m) is not Ack:
            return None
        i, j = m.dst, m.src
        box = frozenset(x for x in s.outbox[i][j]
                        if not (x.key == m.key and x.version.write == m.write))
        return s.set(outbox=put(s.outbox, i, put(s.outbox[i], j, box)),
                     messages=self.discard(s.messages, m))


def _offsets(n, max_skew):
    """Clock offsets in 0..max_skew with the smallest at 0 (only differences matter)."""
    return [o for o in itertools.product(range(max_skew + 1), repeat=n) if min(o) == 0]


def article_merge(this, other):
    """ReplicatedValue.merge as the article writes it (``self`` is the stored value)."""
    if compare(this.vc, other.vc) == "concurrent":
        if (this.ts, this.write.node) > (other.ts, other.write.node):
            winner = this
        else:
            winner = other
    elif this.ts > other.ts:
        winner = this
    else:
        winner = other
    return winner.set(vc=merge_clocks(this.vc, other.vc))


class LwwStoreArticle(ReplicatedStore):
    """The article's EventuallyConsistentStore: wall-clock timestamps, its merge, a send-once
    sync queue."""

    name = "lww-store-article"
    variables = {
        **ReplicatedStore.common,
        "pending_sync": Array(Replica, Seq(Item, lambda m: m.keys * m.max_writes)),
        **network_variables(Replica, Update),
    }

    def queues_init(self):
        return {"pending_sync": ((),) * self.replicas}

    def quiescent(self, s):
        return not s.messages and not any(s.pending_sync)

    @action(each=(Replica, Key), fair=False)
    def write(self, s, i, k):
        """write(): increment the vector clock, stamp the wall-clock time, merge into the stored
        value, queue for sync."""
        version = self.new_write(s, i, self.wall_clock(s, i))
        if version is None or not s.up[i]:
            return None
        stored = s.data[i][k]
        new = version if stored is None else article_merge(stored, version)
        return self.wrote(s, i, k, version, new).set(
            pending_sync=put(s.pending_sync, i, s.pending_sync[i] + (Item(k, version),)))

    @action(each=Replica, fair="strong")
    def sync_to_replicas(self, s, i):
        """sync_to_replicas(): pop the oldest queued update and send it to every other replica,
        once: a message the network loses is not sent again."""
        if not s.up[i] or not s.pending_sync[i]:
            return None
        item, msgs = s.pending_sync[i][0], s.messages
        for j in range(self.replicas):
            if j != i:
                msgs = self.send(msgs, Update(item.key, item.version, i, j))
                if msgs is None:
                    return None
        return s.set(messages=msgs, pending_sync=put(s.pending_sync, i, s.pending_sync[i][1:]))

    @action(each="deliverable", fair="strong")
    def receive_sync(self, s, m):
        """receive_sync(): merge the incoming value into the stored one; merge vector clocks."""
        i, v = m.dst, m.version
        stored = s.data[i][m.key]
        new = v if stored is None else article_merge(stored, v)
        return self.received(s, i, m.key, v, new).set(messages=self.discard(s.messages, m))

"""CAP: a replicated register that must choose, during a partition, between consistency and
availability.

Source: Gilbert and Lynch, "Brewer's Conjecture and the Feasibility of Consistent, Available,
Partition-Tolerant Web Services" (SIGACT News 33(2), 2002), theorem 1: no register implementation
is both atomic (linearizable) and available in every execution with lost messages; the article's
headline. The checker demonstrates it on both sides of the choice:

* In both modes a replica serves a request by writing to every replica it can reach, or by
  reading the newest copy among them: without a partition, both are linearizable and available.
* ``mode=cp``: a replica serves only while it can reach a majority; on the minority side of a
  partition it refuses. ``linearizability`` holds and ``availability`` is refuted.
* ``mode=ap``: every replica serves whatever it can reach. ``availability`` holds and
  ``linearizability`` is refuted: across a partition, a read misses a completed write.

After a partition heals, anti-entropy copies the newer values to the replicas that missed them.

Each replica has one client session. The history of operations (invocation and response times,
the value written or read) is recorded in the state, in the format of ``specs.consistency``, and
checked for linearizability in every reachable state. A refused request is recorded in
``refused``: ``availability`` says no request to a live replica is ever refused.

The partition comes from ``models.network`` (``partitions`` is on); replication is modelled as
atomic steps within a side, so no messages travel. Parameters: ``replicas`` (3), ``mode`` (cp),
``max_ops`` (3, operations in the history).
"""

from kripke.models.network import MessagePassing, network_variables
from kripke.models.system import Param, action
from kripke.models.types import Array, Bool, Domain, Enum, Int, Optional, Seq, Set, put, record
from kripke.specs.consistency import consistency_invariant
from kripke.specs.properties import invariant, sometimes, type_ok

Replica = Domain("Replica", "replicas", doc="the replicas, one client session each")
VALUE = Int(1, "max_ops")
TIME = Int(0, lambda m: 2 * m.max_ops)

Op = record("Op", session=Replica, kind=Enum("write", "read"), key=Int(0, 0),
            value=Optional(VALUE), invoked=TIME, completed=Optional(TIME))
# The network module's messages go unused: replication here is an atomic step within a side.
Nothing = record("Nothing", src=Replica, dst=Replica)

linearizability = consistency_invariant("linearizability")


@invariant
def availability(model, s):
    """Every request to a live replica gets a response: none is refused."""
    return not s.refused


@sometimes
def served_during_partition(model, s):
    """Some operation completes while the network is partitioned (so availability is not
    tested only when nothing is cut)."""
    return s.served_while_partitioned


class CapRegister(MessagePassing):
    """A register on replicas that, during a partition, stays consistent (cp) or available (ap)."""

    name = "cap-register"
    NODE = Replica
    replicas = Param(3, "number of replicas", min=1, max=5)
    mode = Param("cp", "cp: refuse without a majority; ap: always answer", choices=("cp", "ap"))
    max_ops = Param(3, "operations the clients invoke in all", min=1, max=6)
    partitions = Param(True, "the network may split the replicas in two sides, then heal")

    variables = {
        "value": Array(Replica, Optional(VALUE)),
        "version": Array(Replica, Int(0, "max_ops")),
        "time": TIME,
        "history": Seq(Op, "max_ops"),
        "refused": Set(Replica),
        "served_while_partitioned": Bool(),
        **network_variables(Replica, Nothing),
    }
    properties = (type_ok, linearizability, availability, served_during_partition)

    def init(self):
        n = self.replicas
        yield self.State(value=(None,) * n, version=(0,) * n, time=0, history=(),
                         refused=frozenset(), served_while_partitioned=False,
                         **self.network_init())

    def terminal(self, s):
        """Every operation has been invoked: the bounded run is over."""
        return True

    def reachable(self, s, r):
        """The replicas on r's side of the partition (all of them when there is none)."""
        return [q for q in range(self.replicas) if not self.separated(s, r, q)]

    def pending(self, s, c):
        """The index in the history of session c's operation in progress, or None."""
        return next((n for n, op in enumerate(s.history)
                     if op.session == c and op.completed is None), None)

    # -- clients -------------------------------------------------------------------------------
    @action(each=Replica)
    def invoke_write(self, s, c):
        """Session c asks its replica to write a new value (values are 1, 2, ... in order)."""
        if len(s.history) < self.max_ops and self.pending(s, c) is None:
            writes = sum(1 for op in s.history if op.kind == "write")
            op = Op(c, "write", 0, writes + 1, s.time, None)
            return s.set(history=s.history + (op,), time=s.time + 1)

    @action(each=Replica)
    def invoke_read(self, s, c):
        """Session c asks its replica to read."""
        if len(s.history) < self.max_ops and self.pending(s, c) is None:
            return s.set(history=s.history + (Op(c, "read", 0, None, s.time, None),),
                         time=s.time + 1)

    # -- replicas ------------------------------------------------------------------------------
    @action(each=Replica)
    def serve(self, s, r):
        """Replica r answers its session's request, writing to (or reading the newest copy of)
        every replica it can reach; in cp mode only when those are a majority."""
        n = self.pending(s, r)
        if n is None or r in s.refused:
            return None
        group = self.reachable(s, r)
        if self.mode == "cp" and 2 * len(group) <= self.replicas:
            return None
        op = s.history[n]
        if op.kind == "write":
            version = max(s.version[q] for q in group) + 1
            value, versions = s.value, s.version
            for q in group:
                value, versions = put(value, q, op.value), put(versions, q, version)
            s = s.set(value=value, version=versions)
            done = op.set(completed=s.time)
        else:
            newest = max(group, key=lambda q: s.version[q])
            done = op.set(value=s.value[newest], completed=s.time)
        return s.set(history=put(s.history, n, done), time=s.time + 1,
                     served_while_partitioned=s.served_while_partitioned or bool(s.partition))

    @action(each=Replica)
    def refuse(self, s, r):
        """cp mode: replica r cannot reach a majority and refuses its session's request, which
        therefore never gets a response (it stays pending in the history)."""
        if (self.mode == "cp" and self.pending(s, r) is not None and r not in s.refused
                and 2 * len(self.reachable(s, r)) <= self.replicas):
            return s.set(refused=s.refused | {r})

    @action(each=(Replica, Replica))
    def anti_entropy(self, s, a, b):
        """Replica b takes a's newer copy, when they can reach each other."""
        if s.version[a] > s.version[b] and not self.separated(s, a, b):
            return s.set(value=put(s.value, b, s.value[a]),
                         version=put(s.version, b, s.version[a]))

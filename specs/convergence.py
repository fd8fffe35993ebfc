"""Properties of replicated stores that converge: eventual and strong eventual consistency.

Sources: Shapiro, Preguiça, Baquero and Zawirski, "Conflict-free Replicated Data Types" (SSS 2011),
section 2.2: strong eventual consistency (replicas that have delivered the same updates have
equivalent state); Terry et al., "Session Guarantees for Weakly Consistent Replicated Data" (PDIS
1994): read your writes; Vogels, "Eventually Consistent" (CACM 2009): "if no new updates are made
to the object, eventually all accesses will return the last updated value"; Lamport, "Time,
Clocks, and the Ordering of Events" (CACM 1978): an update that causally follows another must
not be undone by it.

A store model provides, per state:

* ``replica_values(s)``: for each replica, what a read of each key returns (a tuple per replica);
* ``delivered(s)``: for each replica, the set of updates it has received or made;
* ``quiescent(s)``: nothing left to deliver (no message in flight, nothing waiting to be sent);
* ``own_writes(s)``: for each replica, the last write it made to each key (or None);
* ``causally_before(a, b)``: does write ``a`` causally precede write ``b``;
* ``held(s)``: for each replica, the write whose value each key holds (or None).
"""

from kripke.specs.properties import eventually_always, invariant, sometimes, step

__all__ = ["convergence", "quiescent_agreement", "read_your_writes", "no_lost_causal_update",
           "converged_possible", "converges"]


@invariant
def convergence(model, s):
    """Strong eventual consistency: replicas that have received the same updates hold the same
    values."""
    values, delivered = model.replica_values(s), model.delivered(s)
    return all(values[i] == values[j]
               for i in range(len(values)) for j in range(i + 1, len(values))
               if delivered[i] == delivered[j])


@invariant
def quiescent_agreement(model, s):
    """When nothing is in flight or waiting to be sent, all replicas hold the same values."""
    if not model.quiescent(s):
        return True
    values = model.replica_values(s)
    return all(v == values[0] for v in values)


@invariant
def read_your_writes(model, s):
    """A replica never returns, for a key, a write causally older than its own last write there
    (or nothing at all after writing)."""
    for own, held in zip(model.own_writes(s), model.held(s)):
        for mine, now in zip(own, held):
            if mine is not None and (now is None or model.causally_before(now, mine)):
                return False
    return True


@step
def no_lost_causal_update(model, s, t):
    """A replica never replaces the write it holds by one that causally precedes it."""
    return not any(old is not None and new is not None and model.causally_before(new, old)
                   for before, after in zip(model.held(s), model.held(t))
                   for old, new in zip(before, after))


@sometimes
def converged_possible(model, s):
    """Some state has every write delivered everywhere and the replicas agreeing."""
    values = model.replica_values(s)
    return (model.quiescent(s) and any(w is not None for w in values[0])
            and all(v == values[0] for v in values))


@eventually_always
def converges(model, s):
    """Eventual consistency (Vogels 2009; Shapiro et al. 2011, section 2.2, eventual delivery
    and termination): once writes stop, every replica eventually holds the same values, and
    keeps them. As <>[]P, P "all replicas agree": a model whose writes are bounded stops writing
    on every behaviour, so no hypothesis is needed."""
    values = model.replica_values(s)
    return all(v == values[0] for v in values)

"""Properties of consensus, shared by Raft and Paxos.

A consensus model says what it has *decided* through one method, ``decisions(s)``: the
``(slot, value)`` pairs decided in state ``s`` (a Raft log index and the committed entry there; the
single Paxos instance and its chosen value), and what was *proposed* through ``proposals(s)``.
The properties below read only these, so ``agreement`` is one definition checked on every
consensus model (Lamport, "Paxos Made Simple" section 2: safety requirements; Ongaro and
Ousterhout, "In Search of an Understandable Consensus Algorithm", Figure 3: State Machine
Safety).
"""

from kripke.models.fingerprint import reads
from kripke.specs.properties import invariant, sometimes, step

__all__ = ["agreement", "validity", "decision_possible", "election_safety", "leader_append_only",
           "log_matching", "leader_completeness", "state_machine_safety", "leader_elected"]


@invariant
def agreement(model, s):
    """Only a single value is decided for each slot (Paxos: chosen; Raft: committed)."""
    decided = {}
    for slot, value in model.decisions(s):
        if decided.setdefault(slot, value) != value:
            return False
    return True


@invariant
def validity(model, s):
    """Only a value that has been proposed may be decided."""
    proposed = set(model.proposals(s))
    return all(value in proposed for _, value in model.decisions(s))


def decision_possible(name, fields=None):
    """A sometimes-property named in the model's vocabulary (``value_chosen``,
    ``entry_committed``): some reachable state has decided something. ``fields``: those the
    model's ``decisions`` reads (see ``reads``)."""
    def decided(model, s):
        """Some reachable state has decided a value."""
        return any(True for _ in model.decisions(s))
    return sometimes(decided if fields is None else reads(*fields)(decided), name=name)


# -- Raft: Figure 3 of "In Search of an Understandable Consensus Algorithm" --------------------
# These read raft.tla's variables (state, current_term, log, commit_index) and two history
# variables: elections (term, leader) and committed (index, entry, in_term). Each declares the
# fields it reads (``reads``): a search meets few distinct values of them, and evaluating these
# properties on every state and step was a quarter of raft's time without symmetry (issue 13,
# item 2).

@invariant
@reads("elections")
def election_safety(model, s):
    """Election Safety: at most one leader can be elected in a given term."""
    leaders = {}
    return all(leaders.setdefault(e.term, e.leader) == e.leader for e in s.elections)


@step
@reads("state", "current_term", "log")
def leader_append_only(model, s, t):
    """Leader Append-Only: a leader never overwrites or deletes entries in its log; it only
    appends new entries."""
    return all(t.log[i][:len(s.log[i])] == s.log[i]
               for i, role in enumerate(s.state)
               if role == "leader" and t.state[i] == "leader"
               and t.current_term[i] == s.current_term[i])


@invariant
@reads("log")
def log_matching(model, s):
    """Log Matching: if two logs contain an entry with the same index and term, then the logs
    are identical in all entries up through the given index."""
    logs = s.log
    for a in range(len(logs)):
        for b in range(a + 1, len(logs)):
            for k in range(min(len(logs[a]), len(logs[b]))):
                if logs[a][k].term == logs[b][k].term and logs[a][:k + 1] != logs[b][:k + 1]:
                    return False
    return True


@invariant
@reads("committed", "state", "current_term", "log")
def leader_completeness(model, s):
    """Leader Completeness: if a log entry is committed in a given term, that entry will be
    present in the logs of the leaders for all higher-numbered terms."""
    return all(len(s.log[i]) >= c.index and s.log[i][c.index - 1] == c.entry
               for c in s.committed
               for i, role in enumerate(s.state)
               if role == "leader" and s.current_term[i] > c.in_term)


#: State Machine Safety: if a server has applied a log entry at a given index to its state
#: machine, no other server will ever apply a different log entry for the same index. This is
#: ``agreement`` over the entries each server has committed (Raft's ``decisions``, read from
#: ``log`` and ``commit_index``): the same check as for Paxos.
state_machine_safety = invariant(reads("log", "commit_index")(agreement.condition),
                                 name="state_machine_safety")


@sometimes
@reads("state")
def leader_elected(model, s):
    """Some server becomes leader."""
    return "leader" in s.state

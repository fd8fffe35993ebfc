"""Properties of consensus, shared by Raft and Paxos.

A consensus model says what it has *decided* through one method, ``decisions(s)``: the
``(slot, value)`` pairs decided in state ``s`` (a Raft log index and the committed entry there; the
single Paxos instance and its chosen value), and what was *proposed* through ``proposals(s)``.
The properties below read only these, so ``agreement`` is one definition checked on every
consensus model (Lamport, "Paxos Made Simple" section 2: safety requirements; Ongaro and
Ousterhout, "In Search of an Understandable Consensus Algorithm", Figure 3: State Machine
Safety).
"""

from specs.properties import invariant, sometimes

__all__ = ["agreement", "validity", "decision_possible"]


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


def decision_possible(name):
    """A sometimes-property named in the model's vocabulary (``value_chosen``,
    ``entry_committed``): some reachable state has decided something."""
    def decided(model, s):
        """Some reachable state has decided a value."""
        return any(True for _ in model.decisions(s))
    return sometimes(decided, name=name)

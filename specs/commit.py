"""Properties of transaction commit (Gray and Lamport, "Consensus on Transaction Commit", 2006).

They read the variable ``rm_state`` (TLA+ ``rmState``), which TCommit and TwoPhase share, so one
definition is checked on both.
"""

from specs.properties import invariant, sometimes

__all__ = ["tc_consistent", "commit_possible", "abort_possible"]


@invariant
def tc_consistent(model, s):
    """TCConsistent (TCommit.tla): no RM has committed while another has aborted."""
    return not ("committed" in s.rm_state and "aborted" in s.rm_state)


@sometimes
def commit_possible(model, s):
    """Some reachable state has every RM committed (the protocol can commit at all)."""
    return s.rm_state == ("committed",) * len(s.rm_state)


@sometimes
def abort_possible(model, s):
    """Some reachable state has every RM aborted."""
    return s.rm_state == ("aborted",) * len(s.rm_state)

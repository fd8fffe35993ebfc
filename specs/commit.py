"""Properties of transaction commit (Gray and Lamport, "Consensus on Transaction Commit", 2006;
Bernstein, Hadzilacos and Goodman, "Concurrency Control and Recovery in Database Systems", 1987,
chapter 7: the atomic commitment conditions AC1-AC5).

``tc_consistent`` reads the variable ``rm_state`` (TLA+ ``rmState``), which TCommit and TwoPhase
share. The others read what a commit model reports through two methods:

* ``outcome_table(s)``: for each transaction, each participant's outcome so far ("committed",
  "aborted", or anything else for undecided);
* ``lost_commits(s)`` (optional): transactions reported committed to their client whose writes
  are not all applied.

so ``atomic_commit`` is one definition checked on TCommit, TwoPhase and the crash-prone 2PC.
"""

from specs.properties import invariant, sometimes

__all__ = ["tc_consistent", "atomic_commit", "commit_possible", "abort_possible"]


@invariant
def tc_consistent(model, s):
    """TCConsistent (TCommit.tla): no RM has committed while another has aborted."""
    return not ("committed" in s.rm_state and "aborted" in s.rm_state)


@invariant
def atomic_commit(model, s):
    """AC1/AC2: no participant commits a transaction that another aborts, and a transaction
    reported committed has its writes applied at every participant."""
    if any("committed" in row and "aborted" in row for row in model.outcome_table(s).values()):
        return False
    return not any(True for _ in getattr(model, "lost_commits", _none)(s))


def _none(s):
    return ()


@sometimes
def commit_possible(model, s):
    """Some transaction is committed at every participant."""
    return any(all(o == "committed" for o in row) for row in model.outcome_table(s).values())


@sometimes
def abort_possible(model, s):
    """Some transaction is aborted at every participant."""
    return any(all(o == "aborted" for o in row) for row in model.outcome_table(s).values())

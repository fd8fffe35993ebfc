"""Properties of transaction commit (Gray and Lamport, "Consensus on Transaction Commit", 2006;
Bernstein, Hadzilacos and Goodman, "Concurrency Control and Recovery in Database Systems", 1987,
chapter 7: the atomic commitment conditions AC1-AC5).

``tc_consistent`` reads the variable ``rm_state`` (TLA+ ``rmState``), which TCommit and TwoPhase
share. The others read what a commit model reports through two methods:

* ``outcome_rows(s)``: one row per transaction: each participant's outcome so far
  ("committed", "aborted", or anything else for undecided);
* ``lost_commits(s)`` (optional): transactions reported committed to their client whose writes
  are not all applied.

so ``atomic_commit`` is one definition checked on TCommit, TwoPhase and the crash-prone 2PC.
"""

from kripke.specs.properties import invariant, sometimes

__all__ = ["tc_consistent", "atomic_commit", "commit_possible", "abort_possible",
           "semantic_atomicity", "compensation_order", "no_spurious_compensation",
           "saga_completed_possible", "saga_aborted_possible"]


@invariant
def tc_consistent(model, s):
    """TCConsistent (TCommit.tla): no RM has committed while another has aborted."""
    return not ("committed" in s.rm_state and "aborted" in s.rm_state)


@invariant
def atomic_commit(model, s):
    """AC1/AC2: no participant commits a transaction that another aborts, and a transaction
    reported committed has its writes applied at every participant."""
    for row in model.outcome_rows(s):
        if "committed" in row and "aborted" in row:
            return False
    lost = getattr(model, "lost_commits", None)
    return lost is None or not lost(s)


@sometimes
def commit_possible(model, s):
    """Some transaction is committed at every participant."""
    for row in model.outcome_rows(s):  # a loop, not any(...): this runs on most states
        if row.count("committed") == len(row):
            return True
    return False


@sometimes
def abort_possible(model, s):
    """Some transaction is aborted at every participant."""
    for row in model.outcome_rows(s):
        if row.count("aborted") == len(row):
            return True
    return False


# -- Sagas (Garcia-Molina and Salem, "Sagas", SIGMOD 1987) -------------------------------------
# These read a saga model's history: runs[i] and comps[i], how often step i ran and was
# compensated, and compensated, the steps in the order they were compensated; and ended(s).

@invariant
def semantic_atomicity(model, s):
    """When the saga ends, either every step completed once and none was compensated, or every
    step that completed was compensated (T1..Tn, or T1..Tj Cj..C1)."""
    if not model.ended(s):
        return True
    completed = all(r == 1 for r in s.runs) and not any(s.comps)
    return completed or all(r == c for r, c in zip(s.runs, s.comps))


@invariant
def compensation_order(model, s):
    """Compensations run in the reverse order of the steps."""
    return all(a > b for a, b in zip(s.compensated, s.compensated[1:]))


@invariant
def no_spurious_compensation(model, s):
    """A step is never compensated more often than it ran (in particular, not if it never ran)."""
    return all(c <= r for r, c in zip(s.runs, s.comps))


@sometimes
def saga_completed_possible(model, s):
    """The saga can end with every step completed."""
    return model.ended(s) and all(r == 1 for r in s.runs) and not any(s.comps)


@sometimes
def saga_aborted_possible(model, s):
    """The saga can end with a step failed and the earlier ones compensated."""
    return model.ended(s) and any(s.comps)

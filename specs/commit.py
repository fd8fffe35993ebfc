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

from kripke.specs.properties import eventually, invariant, leads_to, sometimes

__all__ = ["tc_consistent", "atomic_commit", "commit_possible", "abort_possible",
           "prepared_decides", "semantic_atomicity", "compensation_order",
           "no_spurious_compensation", "saga_completed_possible", "saga_aborted_possible",
           "saga_terminates", "two_phase_inductive", "tm_commit_sent", "tm_abort_sent",
           "tm_prepared_sent", "prepared_sent_not_working", "tm_commit_all_prepared",
           "committed_after_commit", "prepared_aborted_after_abort", "outcome_is_decision",
           "prepared_has_undo"]


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


def _prepared(model, s, p):
    for row in model.outcome_rows(s):
        if row[p] == "prepared":
            return True
    return False


def _not_prepared(model, s, p):
    return not _prepared(model, s, p)


def prepared_decides(domain, name, doc, default=True):
    """The liveness half of atomic commit, per participant: a participant that has prepared
    eventually learns the outcome (commits or aborts), P ~> Q for each element of ``domain``.

    Bernstein et al.'s AC5 ("if all failures are repaired and no new failures occur for
    sufficiently long, all processes eventually reach a decision"); 2PC's blocking problem
    (Gray and Lamport 2006, section 1; Bernstein et al. 7.4) is the behaviour that refutes it
    when a crashed coordinator need not come back. Over ``outcome_rows``: P is "p is prepared in
    some transaction", Q "p is prepared in none". An outcome moves only forward (none, prepared,
    committed or aborted) and there are finitely many transactions, so this says exactly that
    every transaction p prepares is eventually committed or aborted at p.
    """
    return leads_to(_prepared, _not_prepared, name=name, doc=doc, each=domain, default=default)


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


@eventually
def saga_terminates(model, s):
    """Every saga eventually ends: it completes, or its completed steps are compensated
    (Garcia-Molina and Salem, section 2: a saga's execution is T1..Tn or T1..Tj Cj..C1, never
    left half done). Holds under fair delivery of the saga's commands and events."""
    return model.ended(s)


# -- TwoPhase's inductive invariant (Gray and Lamport 2006, section 3; TwoPhase.tla) -----------
# TCConsistent is an invariant of TwoPhase but not an inductive one: an unreachable state where
# an RM has committed and the TM has aborted satisfies it, and a step from there breaks it
# (kripke prove two-phase --property tc_consistent shows the counterexample to induction). The
# auxiliary invariants below, with TPTypeOK (the declared types, type_ok) and TCConsistent, are
# inductive: `kripke prove two-phase --property tc_consistent --invariant ...` proves them at any
# number of RMs the solver reaches (tests/test_prove.py). They read TwoPhase's variables, and its
# messages through the model (``Prepared``, ``COMMIT``, ``ABORT``). They are checked only when
# named (the default check of two-phase-eager, which breaks some, stays as pinned).
#
# Written without branching on state values (a subset test rather than ``in``, ``&`` and ``==``
# on booleans), so the symbolic tracer sees one condition per invariant where ``all(...)`` over
# the RMs would fork into 2**rms paths.

def _implies(a, b):
    """a => b for booleans, concrete or symbolic, without branching on either."""
    return (a & b) == a


def _sent(s, m):
    """Is message ``m`` in msgs? (As a subset test: a symbolic set answers it without forking.)"""
    return {m} <= s.msgs


def _each_rm(model, fn):
    """fn(rm) for every RM, conjoined without branching."""
    holds = True
    for rm in range(model.rms):
        holds = holds & fn(rm)
    return holds


@invariant(default=False)
def tm_commit_sent(model, s):
    """The TM has committed exactly when the Commit message is in msgs."""
    return (s.tm_state == "committed") == _sent(s, model.COMMIT)


@invariant(default=False)
def tm_abort_sent(model, s):
    """The TM has aborted exactly when the Abort message is in msgs."""
    return (s.tm_state == "aborted") == _sent(s, model.ABORT)


@invariant(default=False)
def tm_prepared_sent(model, s):
    """Every RM in tm_prepared has sent Prepared."""
    return _each_rm(model, lambda rm: _implies({rm} <= s.tm_prepared,
                                               _sent(s, model.Prepared(rm))))


@invariant(default=False)
def prepared_sent_not_working(model, s):
    """An RM that has sent Prepared is no longer working."""
    return _each_rm(model, lambda rm: _implies(_sent(s, model.Prepared(rm)),
                                               s.rm_state[rm] != "working"))


@invariant(default=False)
def tm_commit_all_prepared(model, s):
    """A committed TM has heard Prepared from every RM."""
    return _implies(s.tm_state == "committed", s.tm_prepared == frozenset(range(model.rms)))


@invariant(default=False)
def committed_after_commit(model, s):
    """An RM commits only after the Commit message is sent."""
    return _each_rm(model, lambda rm: _implies(s.rm_state[rm] == "committed",
                                               _sent(s, model.COMMIT)))


@invariant(default=False)
def prepared_aborted_after_abort(model, s):
    """An RM that sent Prepared aborts only after the Abort message is sent (an RM aborts on
    its own only while working)."""
    return _each_rm(model, lambda rm: _implies(
        (s.rm_state[rm] == "aborted") & _sent(s, model.Prepared(rm)), _sent(s, model.ABORT)))


#: the auxiliary invariants that make TwoPhase's tc_consistent inductive
two_phase_inductive = (tm_commit_sent, tm_abort_sent, tm_prepared_sent, prepared_sent_not_working,
                       tm_commit_all_prepared, committed_after_commit, prepared_aborted_after_abort)


# -- commit-2pc's inductive invariant (models/commit_2pc.py) -----------------------------------
@invariant(default=False)
def outcome_is_decision(model, s):
    """A participant that has committed or aborted a transaction did what the coordinator
    logged for it (tx_state), a decision that never changes: with it, atomic_commit of
    commit-2pc is inductive (``kripke prove commit-2pc --property atomic_commit --invariant
    outcome_is_decision``). Checked only when named."""
    holds = True
    for p in range(model.participants):
        for t in range(model.txs):
            o = s.outcome[p][t]
            holds = holds & _implies((o == "committed") | (o == "aborted"), o == s.tx_state[t])
    return holds


@invariant(default=False)
def prepared_has_undo(model, s):
    """A participant prepared for a transaction keeps its undo record (the durable prepare
    record): with it, aborting writes back a value, so send_decision keeps data in its type,
    which atomic_commit's proof needs (found by ``kripke prove``: from a state without it,
    send_decision writes None into data). Checked only when named."""
    return all(s.outcome[p][t] != "prepared" or s.undo[p][t] is not None
               for p in range(model.participants) for t in range(model.txs))

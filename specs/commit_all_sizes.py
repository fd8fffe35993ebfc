"""TwoPhase's inductive invariant at every number of RMs (issue 12, item 4).

``tc_consistent`` (TCommit.tla's TCConsistent) is an invariant of TwoPhase but not an inductive
one: a state where an RM aborted after preparing and the TM has sent Commit satisfies it, and
``rm_rcv_commit_msg`` breaks it. With the auxiliary invariants below it is inductive, for every
number of RMs: ``kripke prove two-phase --property tc_consistent --all-sizes`` checks that they
hold initially and that every action preserves them, with the RMs an uninterpreted sort
(``checkers/parametric.py``). Each says what a message in ``msgs`` (or an entry of
``tm_prepared``) proves about the step that put it there: the usual strengthening, the one
mypyvy's and Ivy's two-phase commit examples state.

They quantify with ``for_all`` (``models.types``), which runs as ``all(...)`` on a concrete state
and as a z3 quantifier in the all-sizes prover; ``"committed" in s.rm_state`` is an existential
there. They hold on every reachable state of TwoPhase (tests/test_parametric.py checks them by
search at rms = 1..4); ``specs.commit.two_phase_inductive`` is the fixed-size prover's version of
the same facts, written for its tracer.
"""

from kripke.models.two_phase import ABORT, COMMIT, RM, Prepared
from kripke.models.types import for_all
from kripke.specs.properties import invariant

__all__ = ["two_phase_all_sizes", "commit_sent_by_tm", "abort_sent_by_tm", "tm_prepared_received",
           "prepared_rm_not_working", "committed_only_after_commit",
           "commit_only_after_all_prepared", "aborted_unprepared_or_told"]


@invariant
def commit_sent_by_tm(model, s):
    """Commit in msgs => tmState = "committed" (only TMCommit sends it)."""
    return COMMIT not in s.msgs or s.tm_state == "committed"


@invariant
def abort_sent_by_tm(model, s):
    """Abort in msgs => tmState = "aborted" (only TMAbort sends it)."""
    return ABORT not in s.msgs or s.tm_state == "aborted"


@invariant
def tm_prepared_received(model, s):
    """An RM is in tmPrepared only if its Prepared message was sent."""
    return for_all(RM, model, lambda rm: rm not in s.tm_prepared or Prepared(rm) in s.msgs)


@invariant
def prepared_rm_not_working(model, s):
    """An RM that sent Prepared is no longer working."""
    return for_all(RM, model,
                   lambda rm: Prepared(rm) not in s.msgs or s.rm_state[rm] != "working")


@invariant
def committed_only_after_commit(model, s):
    """An RM commits only once the TM has sent Commit."""
    return COMMIT in s.msgs or "committed" not in s.rm_state


@invariant
def commit_only_after_all_prepared(model, s):
    """Commit is sent only once every RM has sent Prepared (TMCommit waits for tmPrepared = RM)."""
    return COMMIT not in s.msgs or for_all(RM, model, lambda rm: Prepared(rm) in s.msgs)


@invariant
def aborted_unprepared_or_told(model, s):
    """An aborted RM either aborted on its own while working, before sending Prepared, or was
    told to abort by the TM."""
    return ABORT in s.msgs or for_all(
        RM, model, lambda rm: s.rm_state[rm] != "aborted" or Prepared(rm) not in s.msgs)


#: with tc_consistent, an inductive invariant of TwoPhase at every number of RMs
two_phase_all_sizes = (commit_sent_by_tm, abort_sent_by_tm, tm_prepared_received,
                       prepared_rm_not_working, committed_only_after_commit,
                       commit_only_after_all_prepared, aborted_unprepared_or_told)

"""TwoPhase: the two-phase commit protocol, refining TCommit.

Source: Gray and Lamport, "Consensus on Transaction Commit" (ACM TODS 31(1), 2006), section 3;
the TLA+ examples repository, ``specifications/transaction_commit/TwoPhase.tla``, mirrored
exactly: variables ``rm_state``, ``tm_state``, ``tm_prepared``, ``msgs`` (``rmState``,
``tmState``, ``tmPrepared``, ``msgs``), initial state ``TPInit`` and the seven actions of
``TPNext``.

What is abstracted, as in the TLA+ spec: RMs prepare spontaneously (the TM's Prepare messages are
left out); an RM that aborts sends no message (the TM aborts spontaneously instead). Messages are
never removed from ``msgs``, so loss needs no modelling: not receiving a message is the same as
losing it, and receiving one twice has no effect. TwoPhase.tla specifies only safety.

Liveness, ``rm_learns_outcome`` (a prepared RM eventually commits or aborts, for each RM), under
weak fairness of every action (``fair = "weak"``: the reading SPIN and Stateright users expect,
where a process that can move does; TLA+'s ``\\A rm : WF_vars(RMRcvCommitMsg(rm)) ...``). It is
checked only when named (``--property rm_learns_outcome``), with symmetry off for that run: the
default check keeps its symmetry reduction. ``--no-fairness`` refutes it: the TM may never decide.

Parameter: ``rms``, the number of resource managers. Reachable states (TLC, Stateright): 288 at
rms=3 (1,146 generated, depth 11), 8,832 at rms=5, 50,816 at rms=6.

Induction (``kripke prove``): ``tc_consistent`` is not inductive alone; with the auxiliary
invariants of ``specs.commit.two_phase_inductive`` (checked only when named) it is, at any size
the solver reaches (rms=20 in seconds, where search stops near rms=9).

Variant ``two-phase-eager``: a TM that commits as soon as *some* RM has prepared, rather than all
of them; the checker refutes ``tc_consistent``.
"""

from kripke.models.system import Param, TransitionSystem, action
from kripke.models.tcommit import TCommit
from kripke.models.types import Array, Domain, Enum, OneOf, Set, put, record
from kripke.specs.commit import (abort_possible, atomic_commit, commit_possible, prepared_decides,
                                 tc_consistent, two_phase_inductive)
from kripke.specs.properties import Refinement, type_ok

RM = Domain("RM", "rms", symmetric=True, doc="the resource managers")
RM_STATE = Enum("working", "prepared", "committed", "aborted")
TM_STATE = Enum("init", "committed", "aborted")

# Message == [type : {"Prepared"}, rm : RM] \cup [type : {"Commit", "Abort"}]
Prepared = record("Prepared", rm=RM)
Commit = record("Commit")
Abort = record("Abort")
COMMIT, ABORT = Commit(), Abort()  # the TM's broadcasts: one copy each in msgs
MESSAGE = OneOf(Prepared, Commit, Abort)

#: TwoPhase implements TCommit (TwoPhase.tla: TC == INSTANCE TCommit; THEOREM TPSpec => TC!TCSpec):
#: TCommit's rm_state is TwoPhase's rm_state; the TM and the messages are forgotten.
refines_tcommit = Refinement(
    "refines_tcommit",
    abstract=lambda model: TCommit(rms=model.rms),
    mapping={"rm_state": "rm_state"},
    doc="every step is a TCommit step or a stutter, under the mapping of rm_state")


#: A prepared RM eventually learns the outcome: rmState[rm] = "prepared" ~> rmState[rm] \in
#: {"committed", "aborted"}, for each RM (Gray and Lamport 2006, section 3: the TM's decision
#: reaches every RM). Checked only when named: the default check relies on symmetry.
rm_learns_outcome = prepared_decides(
    RM, "rm_learns_outcome", default=False,
    doc="a prepared RM eventually commits or aborts (under weak fairness of every action)")


class TwoPhase(TransitionSystem):
    """TwoPhase.tla: a transaction manager coordinating resource managers by messages."""

    name = "two-phase"
    rms = Param(3, "number of resource managers (TLA+ RM)", min=1, max=64)
    #: every action weakly fair (for the temporal property only; safety is unaffected)
    fair = "weak"

    variables = {
        "rm_state": Array(RM, RM_STATE),
        "tm_state": TM_STATE,
        "tm_prepared": Set(RM),
        "msgs": Set(MESSAGE),
    }
    properties = (type_ok, tc_consistent, atomic_commit, refines_tcommit, commit_possible,
                  abort_possible, rm_learns_outcome) + two_phase_inductive
    #: the messages, as the auxiliary invariants of specs.commit read them (kripke prove)
    Prepared, COMMIT, ABORT = Prepared, COMMIT, ABORT

    def outcome_rows(self, s):
        """One transaction, whose participants are the RMs (for specs.commit)."""
        return (s.rm_state,)

    def init(self):
        """TPInit: every RM working, the TM in its initial state, nothing sent."""
        yield self.State(rm_state=("working",) * self.rms, tm_state="init",
                         tm_prepared=frozenset(), msgs=frozenset())

    # -- the TM's actions --------------------------------------------------------------------
    @action
    def tm_commit(self, s):
        """TMCommit: the TM commits once every RM has sent Prepared."""
        # tmPrepared = RM; tm_prepared is a subset of RM (type_ok), so comparing sizes suffices.
        if s.tm_state == "init" and len(s.tm_prepared) == self.rms:
            return s.set(tm_state="committed", msgs=s.msgs | {COMMIT})

    @action
    def tm_abort(self, s):
        """TMAbort: the TM spontaneously aborts."""
        if s.tm_state == "init":
            return s.set(tm_state="aborted", msgs=s.msgs | {ABORT})

    @action(each=RM)
    def tm_rcv_prepared(self, s, rm):
        """TMRcvPrepared(rm): the TM receives a Prepared message from rm."""
        if s.tm_state == "init" and Prepared(rm) in s.msgs:
            return s.set(tm_prepared=s.tm_prepared | {rm})

    # -- the RMs' actions --------------------------------------------------------------------
    @action(each=RM)
    def rm_prepare(self, s, rm):
        """RMPrepare(rm): a working RM prepares and tells the TM."""
        if s.rm_state[rm] == "working":
            return s.set(rm_state=put(s.rm_state, rm, "prepared"),
                         msgs=s.msgs | {Prepared(rm)})

    @action(each=RM)
    def rm_choose_to_abort(self, s, rm):
        """RMChooseToAbort(rm): a working RM aborts on its own (and sends nothing)."""
        if s.rm_state[rm] == "working":
            return s.set(rm_state=put(s.rm_state, rm, "aborted"))

    @action(each=RM)
    def rm_rcv_commit_msg(self, s, rm):
        """RMRcvCommitMsg(rm): rm is told by the TM to commit."""
        if COMMIT in s.msgs:
            return s.set(rm_state=put(s.rm_state, rm, "committed"))

    @action(each=RM)
    def rm_rcv_abort_msg(self, s, rm):
        """RMRcvAbortMsg(rm): rm is told by the TM to abort."""
        if ABORT in s.msgs:
            return s.set(rm_state=put(s.rm_state, rm, "aborted"))


class TwoPhaseEager(TwoPhase):
    """A broken TM that commits as soon as one RM has prepared, without waiting for the rest."""

    name = "two-phase-eager"

    @action
    def tm_commit(self, s):
        """TMCommit, eager: one Prepared message is enough."""
        if s.tm_state == "init" and s.tm_prepared:
            return s.set(tm_state="committed", msgs=s.msgs | {COMMIT})

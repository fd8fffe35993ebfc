"""TCommit: the specification of transaction commit.

Source: Gray and Lamport, "Consensus on Transaction Commit" (ACM TODS 31(1), 2006), section 2;
the TLA+ examples repository, ``specifications/transaction_commit/TCommit.tla``, mirrored exactly:
one variable ``rm_state`` (``rmState``), the same initial state and the actions ``Prepare(rm)`` and
``Decide(rm)``. ``Decide`` is one action with two disjuncts (commit when every RM is prepared,
abort while nobody has committed); when both are enabled it has two successors, as TLC counts.

Nothing is abstracted beyond the paper's own abstraction: no messages, no transaction manager.

Parameter: ``rms``, the number of resource managers (TLA+ ``RM``). At rms=3 TLC reports 34
distinct states, 94 generated, depth 7 (the examples' manifest.json); the final states are
legitimately terminal (TCommit.cfg sets CHECK_DEADLOCK FALSE): every RM committed or aborted.
"""

from kripke.models.system import Param, TransitionSystem, action
from kripke.models.types import Array, Domain, Enum, put
from kripke.specs.commit import abort_possible, atomic_commit, commit_possible, tc_consistent
from kripke.specs.properties import type_ok

RM = Domain("RM", "rms", symmetric=True, doc="the resource managers")
RM_STATE = Enum("working", "prepared", "committed", "aborted")


class TCommit(TransitionSystem):
    """TCommit.tla: resource managers that prepare, then all commit or all abort."""

    name = "tcommit"
    rms = Param(3, "number of resource managers (TLA+ RM)", min=1, max=12)

    variables = {"rm_state": Array(RM, RM_STATE)}
    properties = (type_ok, tc_consistent, atomic_commit, commit_possible, abort_possible)

    def outcome_rows(self, s):
        """One transaction, whose participants are the RMs (for specs.commit)."""
        return (s.rm_state,)

    def init(self):
        """TCInit: every RM is working."""
        yield self.State(rm_state=("working",) * self.rms)

    def can_commit(self, s):
        """canCommit: every RM is prepared or committed."""
        return all(r in ("prepared", "committed") for r in s.rm_state)

    def not_committed(self, s):
        """notCommitted: no RM has committed."""
        return "committed" not in s.rm_state

    @action(each=RM)
    def prepare(self, s, rm):
        """Prepare(rm): a working RM prepares."""
        if s.rm_state[rm] == "working":
            return s.set(rm_state=put(s.rm_state, rm, "prepared"))

    @action(each=RM)
    def decide(self, s, rm):
        """Decide(rm): commit if every RM can commit; abort if nobody has committed."""
        out = []
        if s.rm_state[rm] == "prepared" and self.can_commit(s):
            out.append(s.set(rm_state=put(s.rm_state, rm, "committed")))
        if s.rm_state[rm] in ("working", "prepared") and self.not_committed(s):
            out.append(s.set(rm_state=put(s.rm_state, rm, "aborted")))
        return out

    def terminal(self, s):
        """Every RM has decided: the transaction is over."""
        return all(r in ("committed", "aborted") for r in s.rm_state)

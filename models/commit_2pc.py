"""Two-phase commit with data, locks, crashes and recovery; and the article's coordinator.

Sources: Gray, "Notes on Data Base Operating Systems" (1978) and Bernstein, Hadzilacos and Goodman,
"Concurrency Control and Recovery in Database Systems" (1987), chapter 7 (2PC, its blocking
problem, presumed abort); the article's TwoPhaseCommitCoordinator and TransactionParticipant,
modelled as written in ``commit-2pc-article``. TwoPhase.tla abstracts all of this away; here the
participants hold keyed data.

``txs`` transactions each write one key (``t % keys``) at every one of ``participants``
participants, so with one key every two transactions overlap. Coordinator and participants take
steps one message exchange at a time (a prepare request and its vote are one step, as are a
decision and its acknowledgement); the coordinator and each participant may crash and recover.

The correct protocol (``commit-2pc``):

* a participant prepares by taking the key's lock, writing an undo record (the old value) and
  the new value, all durably; it votes no if another transaction holds the lock;
* the coordinator logs its decision durably; commit when every participant voted yes, abort on a
  no or when it stops waiting (a prepare timeout); after a crash it aborts the transactions it had
  not decided (presumed abort) and resends its decisions;
* a participant releases the lock only when it learns the decision (undoing on abort); locks,
  undo records and prepared records survive its crashes.

The article's version (``commit-2pc-article``), as written: prepare takes no lock and always votes
yes (an unreachable participant counts as a no); the prepared operation and the undo record
(the committed value at prepare time) live in memory and are lost in a crash; commit applies the
prepared operation, or nothing if it is gone; abort writes the undo record back; the commit phase
ignores participants that fail (``return_exceptions=True``) and reports the transaction committed
anyway; the coordinator's transaction table is in memory too.

History variables, for the properties: ``outcome`` (what each participant did with each
transaction), ``last_commit`` (per participant and key, the transaction whose committed write
should be the current value) and ``reported`` (what the coordinator told each client).

Parameters: ``participants`` (2), ``txs`` (2), ``keys`` (1); and for liveness ``fair_recovery``
and ``failures_stop`` (both off). Reachable states at the defaults: 5,800.

Liveness (``participants_decide``: every prepared participant eventually commits or aborts,
Bernstein et al.'s AC5). The protocol's steps are weakly fair (a coordinator or participant that
is up and can take a step takes it), and sending the decision strongly fair (it is resent until
acknowledged); the client's ``begin`` and every crash are the environment's and never fair. At
the defaults recovery is the environment's too, so a coordinator that crashes after prepare may
never come back: the participant waits for ever (the blocking problem; the
invariant ``participant_blocked``, expected to fail, says the same as a safety property). AC5
assumes two things, one parameter each: ``fair_recovery`` (a crashed node eventually recovers:
recovery weakly fair) and ``failures_stop`` (no new failures occur for sufficiently long: a ghost
step ``failures_end``, weakly fair, after which nothing crashes, so a behaviour has finitely but
unboundedly many crashes). With both, the property holds; with fair recovery alone a coordinator
that crashes again each time it recovers still keeps the decision from the participant.
"""

from kripke.models.system import Param, TransitionSystem, action
from kripke.models.types import Array, Bool, Domain, Enum, Int, Optional, Set, put
from kripke.specs.commit import (abort_possible, atomic_commit, commit_possible,
                                 outcome_is_decision, prepared_decides, prepared_has_undo)
from kripke.specs.properties import always_possible, invariant, type_ok

Participant = Domain("Participant", "participants", doc="the resource managers")
Tx = Domain("Tx", "txs", doc="the transactions")
Key = Domain("Key", "keys", doc="the keys a participant holds")

VALUE = Int(0, "txs")  # 0: the initial value; t + 1: written by transaction t
TX_STATE = Enum("init", "preparing", "committed", "aborted", "forgotten")
# "lost": the article's participant missed the decision or had lost the prepared operation
OUTCOME = Enum("none", "prepared", "committed", "aborted", "lost")


@invariant
def no_lost_committed_write(model, s):
    """Every participant's value of a key is the write of the last transaction committed there
    (or, while a transaction holds the key's lock, that transaction's tentative write)."""
    return all(s.lock[p][k] is not None or s.data[p][k] == model.value_of(s.last_commit[p][k])
               for p in range(model.participants) for k in range(model.keys))


@always_possible
def termination_possible(model, s):
    """AC5 (Bernstein et al.): once failures are repaired, every transaction can still reach a
    decision known to every participant and reported to its client."""
    return all(r != "none" for r in s.reported)


@invariant(expected_to_fail=True)
def participant_blocked(model, s):
    """Expected to fail (the blocking problem): no prepared participant ever waits for a
    coordinator that is down. The temporal ``participants_decide`` says what it means: the wait
    may last for ever."""
    return s.coordinator_up or not any(o == "prepared" for row in s.outcome for o in row)


#: AC5 (Bernstein et al., 7.4): a participant that has prepared eventually learns the outcome.
#: Refuted at the defaults (the blocking problem), so checked only when named.
participants_decide = prepared_decides(
    Participant, "participants_decide", default=False,
    doc="every prepared participant eventually commits or aborts (AC5); refuted unless "
        "recovery is fair and failures stop (-p fair_recovery=true -p failures_stop=true)")


class Commit2PC(TransitionSystem):
    """Two-phase commit with locks, durable prepare records and decisions, presumed abort."""

    name = "commit-2pc"
    participants = Param(2, "number of participants", min=1, max=8)
    txs = Param(2, "number of transactions", min=1, max=4)
    keys = Param(1, "keys per participant (transaction t writes key t % keys)", min=1, max=2)
    fair_recovery = Param(False, "a crashed coordinator or participant eventually recovers "
                                 "(recovery weakly fair)")
    failures_stop = Param(False, "failures eventually stop (AC5's hypothesis): after a fair "
                                 "ghost step failures_end nothing crashes")

    #: the protocol's steps are weakly fair; begin, crashes and (by default) recoveries are not
    fair = "weak"

    variables = {
        # the coordinator
        "coordinator_up": Bool(),
        "tx_state": Array(Tx, TX_STATE),
        "votes": Array(Tx, Set(Participant)),
        # the participants
        "up": Array(Participant, Bool()),
        "data": Array(Participant, Array(Key, VALUE)),
        "lock": Array(Participant, Array(Key, Optional(Tx))),
        "undo": Array(Participant, Array(Tx, Optional(VALUE))),
        # history
        "outcome": Array(Participant, Array(Tx, OUTCOME)),
        "last_commit": Array(Participant, Array(Key, Optional(Tx))),
        "reported": Array(Tx, Enum("none", "committed", "aborted")),
        # ghost: no failure from here on (only with failures_stop)
        "failures_over": Bool(),
    }
    properties = (type_ok, atomic_commit, no_lost_committed_write, participant_blocked,
                  termination_possible, commit_possible, abort_possible, participants_decide,
                  outcome_is_decision, prepared_has_undo)

    def init(self):
        n, t, k = self.participants, self.txs, self.keys
        yield self.State(
            coordinator_up=True, tx_state=("init",) * t, votes=(frozenset(),) * t,
            up=(True,) * n, data=((0,) * k,) * n, lock=((None,) * k,) * n,
            undo=((None,) * t,) * n, outcome=(("none",) * t,) * n,
            last_commit=((None,) * k,) * n, reported=("none",) * t, failures_over=False)

    def fairness(self, name):
        """Recovery is fair only with ``fair_recovery``; otherwise the environment's."""
        if name in ("recover_coordinator", "recover_participant"):
            return "weak" if self.fair_recovery else None
        return super().fairness(name)

    def terminal(self, s):
        """Every transaction reported to its client."""
        return all(r != "none" for r in s.reported)

    def key(self, t):
        return t % self.keys

    def value_of(self, t):
        return 0 if t is None else t + 1

    # -- what specs.commit reads ---------------------------------------------------------------
    def outcome_rows(self, s):
        return [tuple(row[t] for row in s.outcome) for t in range(self.txs)]

    def lost_commits(self, s):
        """Transactions reported committed whose write is missing at some participant."""
        return [t for t in range(self.txs) if s.reported[t] == "committed"
                and any(s.outcome[p][t] != "committed" for p in range(self.participants))]

    def with_outcome(self, s, p, t, outcome):
        return s.set(outcome=put(s.outcome, p, put(s.outcome[p], t, outcome)))

    # -- the coordinator -----------------------------------------------------------------------
    @action(each=Tx, fair=False)
    def begin(self, s, t):
        """A client starts transaction t."""
        if s.coordinator_up and s.tx_state[t] == "init":
            return s.set(tx_state=put(s.tx_state, t, "preparing"))

    @action(each=(Tx, Participant))
    def prepare(self, s, t, p):
        """Phase 1: the coordinator asks p to prepare t; p votes."""
        if not (s.coordinator_up and s.up[p] and s.tx_state[t] == "preparing"
                and s.outcome[p][t] == "none"):
            return None
        k = self.key(t)
        if s.lock[p][k] is not None:  # another transaction holds the key: p votes no
            return self.decided(s, t, "aborted")
        s = s.set(lock=put(s.lock, p, put(s.lock[p], k, t)),
                  undo=put(s.undo, p, put(s.undo[p], t, s.data[p][k])),
                  data=put(s.data, p, put(s.data[p], k, self.value_of(t))),
                  votes=put(s.votes, t, s.votes[t] | {p}))
        return self.with_outcome(s, p, t, "prepared")

    def decided(self, s, t, decision):
        return s.set(tx_state=put(s.tx_state, t, decision))

    @action(each=Tx)
    def decide_commit(self, s, t):
        """Every participant voted yes: the coordinator logs commit."""
        if (s.coordinator_up and s.tx_state[t] == "preparing"
                and len(s.votes[t]) == self.participants):
            return self.decided(s, t, "committed")

    @action(each=Tx)
    def prepare_timeout(self, s, t):
        """The coordinator stops waiting for votes and logs abort."""
        if s.coordinator_up and s.tx_state[t] == "preparing":
            return self.decided(s, t, "aborted")

    @action(each=(Tx, Participant), fair="strong")
    def send_decision(self, s, t, p):
        """Phase 2: the coordinator tells p the decision; p applies it and releases the lock.
        Strongly fair: the coordinator resends a decision until it is acknowledged (Gray 1978),
        so a participant that is up again and again hears it, however often it crashes."""
        decision = s.tx_state[t]
        if not (s.coordinator_up and s.up[p] and decision in ("committed", "aborted")
                and s.outcome[p][t] in ("none", "prepared")):
            return None
        k = self.key(t)
        if s.outcome[p][t] == "prepared":
            if decision == "aborted":  # undo the tentative write
                s = s.set(data=put(s.data, p, put(s.data[p], k, s.undo[p][t])))
            else:
                s = s.set(last_commit=put(s.last_commit, p, put(s.last_commit[p], k, t)))
            s = s.set(lock=put(s.lock, p, put(s.lock[p], k, None)),
                      undo=put(s.undo, p, put(s.undo[p], t, None)))
        return self.with_outcome(s, p, t, decision)

    @action(each=Tx)
    def report(self, s, t):
        """Every participant has the decision: the coordinator answers the client."""
        decision = s.tx_state[t]
        if (s.coordinator_up and s.reported[t] == "none" and decision in ("committed", "aborted")
                and all(s.outcome[p][t] == decision for p in range(self.participants))):
            return s.set(reported=put(s.reported, t, decision))

    # -- failures (the environment's: never fair) ---------------------------------------------
    @action(fair=False)
    def crash_coordinator(self, s):
        """The coordinator crashes: the votes it collected (volatile) are lost."""
        if s.coordinator_up and not s.failures_over:
            return s.set(coordinator_up=False, votes=(frozenset(),) * self.txs)

    @action
    def recover_coordinator(self, s):
        """The coordinator recovers: undecided transactions are aborted (presumed abort)."""
        if not s.coordinator_up:
            states = tuple("aborted" if x == "preparing" else x for x in s.tx_state)
            return s.set(coordinator_up=True, tx_state=states)

    @action(each=Participant, fair=False)
    def crash_participant(self, s, p):
        """A participant crashes; its data, locks and prepare records are durable."""
        if s.up[p] and not s.failures_over:
            return s.set(up=put(s.up, p, False))

    @action(each=Participant)
    def recover_participant(self, s, p):
        """A participant recovers from its durable state."""
        if not s.up[p]:
            return s.set(up=put(s.up, p, True))

    @action
    def failures_end(self, s):
        """Ghost step (``failures_stop`` only): from now on nothing crashes. Weakly fair, so
        every behaviour takes it after finitely many failures: AC5's "no new failures occur for
        sufficiently long"."""
        if self.failures_stop and not s.failures_over:
            return s.set(failures_over=True)


class Commit2PCArticle(Commit2PC):
    """The article's TwoPhaseCommitCoordinator and TransactionParticipant, as written."""

    name = "commit-2pc-article"

    @action(each=(Tx, Participant))
    def prepare(self, s, t, p):
        """prepare(): no lock; remember the operation and the committed value (in memory) and
        vote yes. A participant that is down raises, which the coordinator counts as a no."""
        if not (s.coordinator_up and s.tx_state[t] == "preparing"
                and s.outcome[p][t] == "none"):
            return None
        if not s.up[p]:
            return self.decided(s, t, "aborted")
        s = s.set(undo=put(s.undo, p, put(s.undo[p], t, s.data[p][self.key(t)])),
                  votes=put(s.votes, t, s.votes[t] | {p}))
        return self.with_outcome(s, p, t, "prepared")

    @action(each=(Tx, Participant), fair="strong")
    def send_decision(self, s, t, p):
        """commit() applies the prepared operation (nothing, if a crash lost it); abort() writes
        the undo record back. A participant that is down misses the call: the commit phase
        ignores the exception (``return_exceptions=True``)."""
        decision = s.tx_state[t]
        if not (s.coordinator_up and decision in ("committed", "aborted")
                and s.outcome[p][t] in ("none", "prepared")):
            return None
        if not s.up[p]:
            return self.with_outcome(s, p, t, "lost")
        k, had = self.key(t), s.outcome[p][t] == "prepared"
        if decision == "committed" and had:
            s = s.set(data=put(s.data, p, put(s.data[p], k, self.value_of(t))),
                      last_commit=put(s.last_commit, p, put(s.last_commit[p], k, t)))
        elif decision == "aborted" and had and s.undo[p][t] is not None:
            s = s.set(data=put(s.data, p, put(s.data[p], k, s.undo[p][t])))
        s = s.set(undo=put(s.undo, p, put(s.undo[p], t, None)))
        return self.with_outcome(s, p, t, decision if had or decision == "aborted" else "lost")

    @action(each=Tx)
    def report(self, s, t):
        """The commit (or abort) phase returns once every call has returned or failed: the
        transaction is reported with the coordinator's decision whatever happened."""
        decision = s.tx_state[t]
        if (s.coordinator_up and s.reported[t] == "none" and decision in ("committed", "aborted")
                and all(s.outcome[p][t] not in ("none", "prepared")
                        for p in range(self.participants))):
            return s.set(reported=put(s.reported, t, decision))

    @action(each=Participant, fair=False)
    def crash_participant(self, s, p):
        """A participant crashes and loses what it kept in memory: the prepared operations and
        the undo log ("would be durable in a real implementation")."""
        if s.up[p] and not s.failures_over:
            outcome = tuple("lost" if o == "prepared" else o for o in s.outcome[p])
            return s.set(up=put(s.up, p, False), undo=put(s.undo, p, (None,) * self.txs),
                         outcome=put(s.outcome, p, outcome))

    @action
    def recover_coordinator(self, s):
        """The coordinator restarts with an empty transaction table: every transaction it had
        not reported is forgotten, and its participants never hear the decision."""
        if not s.coordinator_up:
            states = tuple(x if x == "init" or r != "none" else "forgotten"
                           for x, r in zip(s.tx_state, s.reported))
            return s.set(coordinator_up=True, tx_state=states)

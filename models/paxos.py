"""Paxos: single-decree Paxos, acceptors and ballot leaders exchanging messages.

Source: Lamport, "Paxos Made Simple" (ACM SIGACT News 32(4), 2001), section 2; the TLA+ examples
repository, ``specifications/Paxos/Paxos.tla`` (Lamport), mirrored exactly: variables
``max_bal``, ``max_vbal``, ``max_val``, ``msgs`` (``maxBal``, ``maxVBal``, ``maxVal``, ``msgs``),
the initial state ``Init`` and the four actions of ``Next``: ``phase1a`` (Phase1a(b)),
``phase1b`` (Phase1b(a), one call per ballot b its 1a message may carry), ``phase2a``
(Phase2a(b, v)) and ``phase2b`` (Phase2b(a), one call per 2a message (b, v)). What is
*chosen* is Voting.tla's ``chosen`` through Paxos.tla's ``votes``: a value v is chosen when every
acceptor of some quorum has sent a 2b message for v in one and the same ballot.

What is abstracted, as in the TLA+ spec: there are no explicit leaders or learners; a ballot's
1a and 2a messages are sent by whoever runs ballot b, and what is chosen is read off the 2b
messages. Messages are never removed from ``msgs``, so loss and duplication need no modelling
(not receiving a message is the same as losing it). Only safety is specified; TLA+'s ``Ballot``
is ``Nat``, cut here to ``0 .. max_ballot`` as MCPaxos.tla does with ``MCBallot``.

Representation: "no ballot" is -1 and "no value" is None, as in the spec (``max_vbal[a] = -1``
and ``max_val[a] = None`` until a votes). Values are ints ``0 .. values-1``. Messages are records
tagged exactly like the spec's ``type`` field: ``"1a"``, ``"1b"``, ``"2a"``, ``"2b"``, so a
message reads ``1b(acc=0, bal=1, mbal=-1, mval=None)`` and encodes as
``{"type": "1b", "acc": 0, ...}``. Quorums are the minimal majorities: every set of
``acceptors // 2 + 1`` acceptors (for three, the ``{{a1, a2}, {a1, a3}, {a2, a3}}`` that
MCPaxos.tla offers in a comment beside its one-acceptor ``{{a1}}``).

Counts follow TLC action for action: an action yields one successor per witness of each
existential in its TLA+ definition (``\\E m \\in msgs``; in Phase2a ``\\E Q \\in Quorum``, the
``\\E m \\in Q1b`` under ``\\A a \\in Q``, and the disjunction with ``\\E m \\in Q1bv``), even
when two witnesses give the same next state, and a step that changes nothing (Phase1a(b) once its
1a message was sent, Phase2b(a) for the 2a message a voted on last) is a successor. Phase1a(b)
is therefore always enabled and no state is a deadlock: the model declares no terminal states
and checks with the default deadlock check, as MCPaxos.cfg does (it does not turn deadlock
checking off).

Parameters: ``acceptors`` (TLA+ ``Acceptor``, symmetric), ``values`` (``Value``; TLC's
MCSymmetry permutes values too, kripke reduces over the acceptors only) and ``max_ballot``.
At the defaults (3 acceptors, 2 values, ballots 0..1): 3,921 distinct states, 23,563 generated,
depth 17; 857 orbits under permutations of the acceptors. With ballots 0..2 (``-p
max_ballot=2``): 185,369 distinct states, 1,361,380 generated, depth 25; 34,113 orbits.
MCPaxos.cfg's constants (one acceptor, one value, ballots 0..1; TLC's MCSymmetry is then the
identity) give TLC's published counts (specifications/Paxos/manifest.json): 25 distinct
states, 82 generated, depth 9.

Variant ``paxos-ignore-1b``: a ballot leader that, once a quorum has sent 1b messages, proposes
any value, ignoring the votes the 1b messages report; the checker refutes ``agreement``.
"""

import itertools
from functools import cached_property

from kripke.models.system import Param, TransitionSystem, action
from kripke.models.types import Array, Domain, Int, OneOf, Optional, Set, put, record
from kripke.specs.consensus import agreement, decision_possible, validity
from kripke.specs.properties import type_ok

ACCEPTOR = Domain("Acceptor", "acceptors", symmetric=True, doc="the acceptors (TLA+ Acceptor)")
VALUE = Domain("Value", "values", doc="the values that may be proposed (TLA+ Value)")
BALLOT = Domain("Ballot", "ballots", doc="the ballot numbers 0 .. max_ballot (MCBallot)")

# Paxos.tla's Message, one record per message type; "no ballot" is -1, "no value" None.
Msg1a = record("1a", bal=Int(0, "max_ballot"))
Msg1b = record("1b", acc=ACCEPTOR, bal=Int(0, "max_ballot"),
               mbal=Int(-1, "max_ballot"), mval=Optional(VALUE))
Msg2a = record("2a", bal=Int(0, "max_ballot"), val=VALUE)
Msg2b = record("2b", acc=ACCEPTOR, bal=Int(0, "max_ballot"), val=VALUE)
MESSAGE = OneOf(Msg1a, Msg1b, Msg2a, Msg2b)

value_chosen = decision_possible("value_chosen")


class Paxos(TransitionSystem):
    """Paxos.tla: acceptors promise (phase 1) and vote (phase 2) on ballots' proposals."""

    name = "paxos"
    acceptors = Param(3, "number of acceptors (TLA+ Acceptor); quorums are majorities",
                      min=1, max=7)
    values = Param(2, "number of values that may be proposed (TLA+ Value)", min=1, max=5)
    max_ballot = Param(1, "the largest ballot number (ballots are 0 .. max_ballot)",
                       min=0, max=6)

    variables = {
        "max_bal": Array(ACCEPTOR, Int(-1, "max_ballot")),
        "max_vbal": Array(ACCEPTOR, Int(-1, "max_ballot")),
        "max_val": Array(ACCEPTOR, Optional(VALUE)),
        "msgs": Set(MESSAGE),
    }
    properties = (type_ok, agreement, validity, value_chosen)

    @cached_property
    def quorums(self):
        """TLA+ Quorum: every set of a bare majority of the acceptors, as sorted tuples (derived
        from the parameters: no ``__init__`` needed)."""
        n = self.acceptors
        return tuple(itertools.combinations(range(n), n // 2 + 1))

    @property
    def ballots(self):
        """The number of ballots, sizing the domain BALLOT (0 .. max_ballot)."""
        return self.max_ballot + 1

    def init(self):
        """Init: no acceptor has promised or voted; nothing has been sent."""
        n = self.acceptors
        yield self.State(max_bal=(-1,) * n, max_vbal=(-1,) * n, max_val=(None,) * n,
                         msgs=frozenset())

    # -- what the properties read ------------------------------------------------------------
    def chosen(self, s):
        """Voting.tla's ``chosen`` under Paxos.tla's ``votes``: the values v for which, in some
        ballot b, every acceptor of some quorum has sent a 2b message for (b, v)."""
        msgs = s.msgs
        return [v for v in range(self.values) if any(votes <= msgs for votes in self.votes[v])]

    @cached_property
    def votes(self):
        """Per value v, for each ballot b and quorum Q, the 2b messages of Q's members for
        (b, v): v is chosen once one of them is a subset of ``msgs``."""
        return tuple(tuple(frozenset(Msg2b(a, b, v) for a in q)
                           for b in range(self.ballots) for q in self.quorums)
                     for v in range(self.values))

    def decisions(self, s):
        """The single decree is slot 0; its decisions are the chosen values."""
        return [(0, v) for v in self.chosen(s)]

    def proposals(self, s):
        """The values some ballot leader has proposed in a 2a message."""
        return {v for v in range(self.values) if s.msgs & self.messages_2a[v]}

    @cached_property
    def messages_2a(self):
        """Per value v, the 2a messages that would propose it, one per ballot."""
        return tuple(frozenset(Msg2a(b, v) for b in range(self.ballots))
                     for v in range(self.values))

    # -- the ballot leaders' actions ---------------------------------------------------------
    @action(each=BALLOT)
    def phase1a(self, s, b):
        """Phase1a(b): begin ballot b by sending its 1a message (a stutter once it was sent)."""
        m = Msg1a(b)
        return s if m in s.msgs else s.set(msgs=s.msgs | {m})

    @action(each=(BALLOT, VALUE))
    def phase2a(self, s, b, v):
        """Phase2a(b, v): propose v in ballot b once a quorum's 1b messages show v safe.

        No 2a message for b may have been sent. One successor per quorum Q whose members all
        sent a 1b message for b (times the witnesses of that, see ``_heard_from``) and, within
        Q, per witness that v is safe: either none of Q's 1b messages reports a vote
        (Q1bv = {}), or each 1b message in Q1bv that reports the highest vote there, for v.
        """
        msgs = s.msgs
        if any(Msg2a(b, w) in msgs for w in range(self.values)):
            return None
        reported = msgs & self.messages_1b[b]
        witnesses = 0
        for q in self.quorums:
            heard = self._heard_from(reported, q)
            if not heard:
                continue
            if not any(m.acc in q and m.mbal >= 0 for m in reported):  # Q1bv = {}
                witnesses += heard
            else:
                top = max(m.mbal for m in reported if m.acc in q and m.mbal >= 0)
                witnesses += heard * sum(m.mbal == top for m in reported
                                         if m.acc in q and m.mval == v)
        if not witnesses:
            return None
        t = s.set(msgs=msgs | {Msg2a(b, v)})
        return [t] * witnesses

    @cached_property
    def messages_1b(self):
        """Per ballot b, every 1b message for b that an acceptor could send: ``msgs`` cut by it
        is Q1b without the quorum (the quorum's members are picked by ``m.acc in q``)."""
        return tuple(frozenset(Msg1b(a, b, mbal, mval) for a in range(self.acceptors)
                               for mbal in range(-1, self.max_ballot + 1)
                               for mval in (None, *range(self.values)))
                     for b in range(self.ballots))

    @staticmethod
    def _heard_from(reported, q):
        """The witnesses of ``\\A a \\in Q : \\E m \\in Q1b : m.acc = a``: the product over Q of
        each member's 1b messages among ``reported`` (0 when one is missing). An acceptor sends
        at most one 1b message per ballot, so in reachable states this is 0 or 1."""
        heard = 1
        for a in q:
            heard *= sum(1 for m in reported if m.acc == a)
        return heard

    # -- the acceptors' actions --------------------------------------------------------------
    @action(each=(ACCEPTOR, BALLOT))
    def phase1b(self, s, a, b):
        """Phase1b(a) on the 1a message of ballot b (Paxos.tla's ``\\E m \\in msgs``, one call
        per ballot a 1a message may carry): if b is above max_bal[a], promise it and report the
        last vote (max_vbal[a], max_val[a])."""
        if b > s.max_bal[a] and Msg1a(b) in s.msgs:
            return s.set(max_bal=put(s.max_bal, a, b),
                         msgs=s.msgs | {Msg1b(a, b, s.max_vbal[a], s.max_val[a])})
        return None

    @action(each=(ACCEPTOR, BALLOT, VALUE))
    def phase2b(self, s, a, b, v):
        """Phase2b(a) on the 2a message of ballot b for value v (one call per message a 2a
        may be): if b is at least max_bal[a], vote for v."""
        if b >= s.max_bal[a] and Msg2a(b, v) in s.msgs:
            return s.set(max_bal=put(s.max_bal, a, b), max_vbal=put(s.max_vbal, a, b),
                         max_val=put(s.max_val, a, v), msgs=s.msgs | {Msg2b(a, b, v)})
        return None


class PaxosIgnore1b(Paxos):
    """A broken leader: any value may be proposed once a quorum has promised, whatever the 1b
    messages report about earlier votes."""

    name = "paxos-ignore-1b"

    @action(each=(BALLOT, VALUE))
    def phase2a(self, s, b, v):
        """Phase2a(b, v) without the safety conjunct: one successor per quorum whose members all
        sent a 1b message for b (no 2a message for b sent yet)."""
        msgs = s.msgs
        if any(Msg2a(b, w) in msgs for w in range(self.values)):
            return None
        reported = msgs & self.messages_1b[b]
        witnesses = sum(self._heard_from(reported, q) for q in self.quorums)
        if not witnesses:
            return None
        return [s.set(msgs=msgs | {Msg2a(b, v)})] * witnesses

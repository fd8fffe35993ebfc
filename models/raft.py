"""Raft: leader election and log replication, mirroring Ongaro's raft.tla.

Source: Diego Ongaro, "Consensus: Bridging Theory and Practice" (PhD thesis, Stanford, 2014),
appendix B, the TLA+ specification ``raft.tla`` (github.com/ongardie/raft.tla); the properties
are Figure 3 of Ongaro and Ousterhout, "In Search of an Understandable Consensus Algorithm"
(USENIX ATC 2014). The variables, initial state, actions and message handlers are raft.tla's,
in snake_case; ``i`` is the recipient, ``j`` the sender, ``m`` the message, as there.

What differs from raft.tla, and why:

* Messages travel over ``models.network``: a bag of messages in flight, received by the
  handlers, dropped or duplicated by the network (raft.tla's DropMessage and DuplicateMessage),
  optionally in FIFO order, across partitions, or to nodes that crash.
* Bounds make the state space finite, as guards rather than a TLC state constraint: a server
  does not time out at ``max_term``, a leader accepts no client request at ``max_log_len``
  entries, and a send that would put more than ``max_msgs`` messages in flight waits.
* Two history variables (raft.tla keeps them commented out, for its proof): ``elections``, the
  (term, leader) of every election won, and ``committed``, every entry a leader has committed
  with the term in which it did. They exist only for ``election_safety`` and
  ``leader_completeness``.
* Bounded runs have dead ends that come from the bounds (every term used up), so no state is
  reported as a deadlock.

Parameters: ``servers`` (3), ``values`` (client request values, 1), ``max_term`` (2),
``max_log_len`` (1), ``max_msgs`` (1), ``restarts`` (on) and the network options (off). Servers
are symmetric. At the defaults: 158,590 distinct states under symmetry (743,368 generated,
depth 49), about 7 s on a 2-core machine (``kripke bench --raft``), and 949,620 without
symmetry (4,450,285 generated), about 24 s; all properties hold.

Variant ``raft-article``: the article's RaftNode, whose votes are always granted.
"""

from kripke.models.network import MessagePassing, network_variables
from kripke.models.system import Param, action
from kripke.models.types import (Array, Bool, Domain, Enum, Int, OneOf, Optional, Seq, Set, put,
                          record)
from kripke.specs.consensus import (decision_possible, election_safety, leader_append_only,
                             leader_completeness, leader_elected, log_matching,
                             state_machine_safety)
from kripke.specs.properties import type_ok

Server = Domain("Server", "servers", symmetric=True, doc="the servers")
Value = Domain("Value", "values", doc="the requests that can go into the log")

FOLLOWER, CANDIDATE, LEADER = "follower", "candidate", "leader"
TERM = Int(1, "max_term")
INDEX = Int(0, "max_log_len")

Entry = record("Entry", term=TERM, value=Value)

# Messages; each names its sender (src) and recipient (dst) for the network.
RequestVoteRequest = record("RequestVoteRequest", term=TERM, last_log_term=Int(0, "max_term"),
                            last_log_index=INDEX, src=Server, dst=Server)
RequestVoteResponse = record("RequestVoteResponse", term=TERM, vote_granted=Bool(),
                             src=Server, dst=Server)
AppendEntriesRequest = record("AppendEntriesRequest", term=TERM, prev_log_index=INDEX,
                              prev_log_term=Int(0, "max_term"), entries=Seq(Entry, 1),
                              commit_index=INDEX, src=Server, dst=Server)
AppendEntriesResponse = record("AppendEntriesResponse", term=TERM, success=Bool(),
                               match_index=INDEX, src=Server, dst=Server)
MESSAGE = OneOf(RequestVoteRequest, RequestVoteResponse, AppendEntriesRequest,
                AppendEntriesResponse)

# History variables.
Election = record("Election", term=TERM, leader=Server)
Committed = record("Committed", index=Int(1, "max_log_len"), entry=Entry, in_term=TERM)


def last_term(log):
    """LastTerm: the term of the last entry of a log, or 0 if it is empty."""
    return log[-1].term if log else 0


class Raft(MessagePassing):
    """raft.tla: elections, log replication and commitment over an unreliable network."""

    name = "raft"
    NODE = Server
    msc_notes = ("state", "current_term")
    msc_highlight = {"state": (LEADER,)}
    servers = Param(3, "number of servers", min=1, max=5)
    values = Param(1, "number of distinct client request values", min=1)
    max_term = Param(2, "largest term a server may reach", min=1)
    max_log_len = Param(1, "longest log a leader may grow", min=0)
    restarts = Param(True, "servers may restart from stable storage (raft.tla's Restart)")
    max_msgs = Param(1, "bound on the messages in flight (a send beyond it waits)", min=1)

    variables = {
        # per server: serverVars
        "current_term": Array(Server, TERM),
        "state": Array(Server, Enum(FOLLOWER, CANDIDATE, LEADER)),
        "voted_for": Array(Server, Optional(Server)),
        # logVars
        "log": Array(Server, Seq(Entry, "max_log_len")),
        "commit_index": Array(Server, INDEX),
        # candidateVars
        "votes_responded": Array(Server, Set(Server)),
        "votes_granted": Array(Server, Set(Server)),
        # leaderVars
        "next_index": Array(Server, Array(Server, Int(1, lambda m: m.max_log_len + 1))),
        "match_index": Array(Server, Array(Server, INDEX)),
        # history
        "elections": Set(Election),
        "committed": Set(Committed),
        **network_variables(Server, MESSAGE),
    }
    properties = (type_ok, election_safety, leader_append_only, log_matching,
                  leader_completeness, state_machine_safety, leader_elected,
                  decision_possible("entry_committed", fields=("log", "commit_index")))

    def init(self):
        """Init: every server a follower in term 1 with an empty log; nothing in flight."""
        n = self.servers
        yield self.State(
            current_term=(1,) * n, state=(FOLLOWER,) * n, voted_for=(None,) * n,
            log=((),) * n, commit_index=(0,) * n,
            votes_responded=(frozenset(),) * n, votes_granted=(frozenset(),) * n,
            next_index=((1,) * n,) * n, match_index=((0,) * n,) * n,
            elections=frozenset(), committed=frozenset(), **self.network_init())

    def quorum(self, servers):
        """Quorum: a majority of the servers (every two quorums overlap)."""
        return 2 * len(servers) > self.servers

    def terminal(self, s):
        """Any state: the bounds, not the protocol, end a bounded run."""
        return True

    # -- what the consensus properties read ---------------------------------------------------
    def decisions(self, s):
        """Applied entries: (index, entry) for each server's log up to its commit index."""
        return [(n + 1, entry) for log, c in zip(s.log, s.commit_index)
                for n, entry in enumerate(log[:c])]

    def proposals(self, s):
        """Every entry in some log (a client request accepted by a leader)."""
        return [entry for log in s.log for entry in log]

    # -- server actions -----------------------------------------------------------------------
    @action(each=Server)
    def restart(self, s, i):
        """Restart(i): server i restarts from stable storage, keeping only currentTerm,
        votedFor and log."""
        if self.restarts and s.up[i]:
            return self.restarted(s, i)

    def restarted(self, s, i):
        n = self.servers
        return s.set(state=put(s.state, i, FOLLOWER),
                     votes_responded=put(s.votes_responded, i, frozenset()),
                     votes_granted=put(s.votes_granted, i, frozenset()),
                     next_index=put(s.next_index, i, (1,) * n),
                     match_index=put(s.match_index, i, (0,) * n),
                     commit_index=put(s.commit_index, i, 0))

    @action(each=Server)
    def timeout(self, s, i):
        """Timeout(i): server i times out and starts a new election."""
        if s.state[i] in (FOLLOWER, CANDIDATE) and s.current_term[i] < self.max_term and s.up[i]:
            voted_for, votes = self.own_vote(i)
            return s.set(state=put(s.state, i, CANDIDATE),
                         current_term=put(s.current_term, i, s.current_term[i] + 1),
                         voted_for=put(s.voted_for, i, voted_for),
                         votes_responded=put(s.votes_responded, i, votes),
                         votes_granted=put(s.votes_granted, i, votes))

    def own_vote(self, i):
        """A new candidate's vote and the votes it holds: none yet, for raft.tla's candidate
        asks itself like any other server ("messaging localhost for it is weaker")."""
        return None, frozenset()

    @action(each=(Server, Server))
    def request_vote(self, s, i, j):
        """RequestVote(i, j): candidate i asks j (possibly itself) for its vote."""
        if (s.state[i] == CANDIDATE and j not in s.votes_responded[i] and s.up[i]
                and self.room(s.messages)):
            return s.set(messages=self.send(s.messages, RequestVoteRequest(
                term=s.current_term[i], last_log_term=last_term(s.log[i]),
                last_log_index=len(s.log[i]), src=i, dst=j)))

    @action(each=(Server, Server))
    def append_entries(self, s, i, j):
        """AppendEntries(i, j): leader i sends j an AppendEntries request with up to 1 entry."""
        if i != j and s.state[i] == LEADER and s.up[i] and self.room(s.messages):
            return s.set(messages=self.send(s.messages, self.append_entries_request(s, i, j)))

    def append_entries_request(self, s, i, j):
        """The AppendEntries request leader i sends j: the entry at nextIndex[i][j], if any."""
        log, nxt = s.log[i], s.next_index[i][j]
        prev_log_index = nxt - 1
        prev_log_term = log[prev_log_index - 1].term if prev_log_index > 0 else 0
        last_entry = min(len(log), nxt)
        return AppendEntriesRequest(
            term=s.current_term[i], prev_log_index=prev_log_index, prev_log_term=prev_log_term,
            entries=log[nxt - 1:last_entry], commit_index=min(s.commit_index[i], last_entry),
            src=i, dst=j)

    @action(each=Server)
    def become_leader(self, s, i):
        """BecomeLeader(i): candidate i has votes from a quorum and becomes leader."""
        if s.state[i] == CANDIDATE and self.quorum(s.votes_granted[i]) and s.up[i]:
            n = self.servers
            return s.set(state=put(s.state, i, LEADER),
                         next_index=put(s.next_index, i, (len(s.log[i]) + 1,) * n),
                         match_index=put(s.match_index, i, (0,) * n),
                         elections=s.elections | {Election(s.current_term[i], i)})

    @action(each=(Server, Value))
    def client_request(self, s, i, v):
        """ClientRequest(i, v): leader i appends v to its log."""
        if s.state[i] == LEADER and len(s.log[i]) < self.max_log_len and s.up[i]:
            entry = Entry(term=s.current_term[i], value=v)
            return s.set(log=put(s.log, i, s.log[i] + (entry,)))

    @action(each=Server)
    def advance_commit_index(self, s, i):
        """AdvanceCommitIndex(i): leader i commits the longest prefix a quorum has, if its last
        entry is from the leader's term."""
        if not (s.state[i] == LEADER and s.up[i]):
            return None
        log = s.log[i]
        agree = [index for index in range(1, len(log) + 1)
                 if self.quorum({i} | {k for k in range(self.servers)
                                       if s.match_index[i][k] >= index})]
        new = s.commit_index[i]
        if agree and log[max(agree) - 1].term == s.current_term[i]:
            new = max(agree)
        committed = s.committed | {Committed(n, log[n - 1], s.current_term[i])
                                   for n in range(s.commit_index[i] + 1, new + 1)}
        return s.set(commit_index=put(s.commit_index, i, new), committed=committed)

    # -- message handlers: i = recipient, j = sender, m = message -----------------------------
    @action(each="deliverable")
    def update_term(self, s, m):
        """UpdateTerm: any message with a newer term makes the recipient a follower of that term
        first (the message stays in flight to be handled)."""
        i = m.dst
        if m.term > s.current_term[i]:
            return s.set(current_term=put(s.current_term, i, m.term),
                         state=put(s.state, i, FOLLOWER), voted_for=put(s.voted_for, i, None))

    @action(each="deliverable")
    def handle_request_vote_request(self, s, m):
        """HandleRequestVoteRequest: i grants its vote to j if j's log is at least as up to date
        and i has not voted for another server in this term; either way it replies."""
        i, j = m.dst, m.src
        if type(m) is not RequestVoteRequest or m.term > s.current_term[i]:
            return None
        log_ok = (m.last_log_term > last_term(s.log[i])
                  or (m.last_log_term == last_term(s.log[i])
                      and m.last_log_index >= len(s.log[i])))
        grant = (m.term == s.current_term[i] and log_ok and s.voted_for[i] in (None, j))
        msgs = self.reply(s.messages, RequestVoteResponse(
            term=s.current_term[i], vote_granted=grant, src=i, dst=j), m)
        if msgs is not None:
            return s.set(messages=msgs,
                         voted_for=put(s.voted_for, i, j) if grant else s.voted_for)

    @action(each="deliverable")
    def handle_request_vote_response(self, s, m):
        """HandleRequestVoteResponse: i tallies j's answer (in i's current term)."""
        i, j = m.dst, m.src
        if type(m) is RequestVoteResponse and m.term == s.current_term[i]:
            granted = s.votes_granted[i] | {j} if m.vote_granted else s.votes_granted[i]
            return s.set(votes_responded=put(s.votes_responded, i, s.votes_responded[i] | {j}),
                         votes_granted=put(s.votes_granted, i, granted),
                         messages=self.discard(s.messages, m))

    @action(each="deliverable")
    def handle_append_entries_request(self, s, m):
        """HandleAppendEntriesRequest: i rejects a stale or inconsistent request, steps down
        from candidate, or accepts: done already, a conflicting entry removed, or the entry
        appended."""
        i, j = m.dst, m.src
        if type(m) is not AppendEntriesRequest or m.term > s.current_term[i]:
            return None
        log = s.log[i]
        log_ok = (m.prev_log_index == 0
                  or (0 < m.prev_log_index <= len(log)
                      and m.prev_log_term == log[m.prev_log_index - 1].term))
        if m.term < s.current_term[i] or (s.state[i] == FOLLOWER and not log_ok):
            msgs = self.reply(s.messages, AppendEntriesResponse(
                term=s.current_term[i], success=False, match_index=0, src=i, dst=j), m)
            return None if msgs is None else s.set(messages=msgs)
        if s.state[i] == CANDIDATE:  # return to follower state; m stays to be handled
            return s.set(state=put(s.state, i, FOLLOWER))
        if s.state[i] != FOLLOWER or not log_ok:
            return None
        index = m.prev_log_index + 1
        if not m.entries or (len(log) >= index and log[index - 1].term == m.entries[0].term):
            # Already done with the request: update the commit index and acknowledge.
            msgs = self.reply(s.messages, AppendEntriesResponse(
                term=s.current_term[i], success=True,
                match_index=m.prev_log_index + len(m.entries), src=i, dst=j), m)
            if msgs is not None:
                return s.set(commit_index=put(s.commit_index, i, m.commit_index), messages=msgs)
            return None
        if len(log) >= index:  # conflict: remove 1 entry
            return s.set(log=put(s.log, i, log[:-1]))
        if len(log) == m.prev_log_index:  # no conflict: append the entry
            return s.set(log=put(s.log, i, log + m.entries[:1]))
        return None

    @action(each="deliverable")
    def handle_append_entries_response(self, s, m):
        """HandleAppendEntriesResponse: leader i records how far j's log matches, or backs
        nextIndex off by one."""
        i, j = m.dst, m.src
        if type(m) is AppendEntriesResponse and m.term == s.current_term[i]:
            if m.success:
                nxt = put(s.next_index[i], j, m.match_index + 1)
                match = put(s.match_index[i], j, m.match_index)
                s = s.set(next_index=put(s.next_index, i, nxt),
                          match_index=put(s.match_index, i, match))
            else:
                nxt = put(s.next_index[i], j, max(s.next_index[i][j] - 1, 1))
                s = s.set(next_index=put(s.next_index, i, nxt))
            return s.set(messages=self.discard(s.messages, m))

    @action(each="deliverable")
    def drop_stale_response(self, s, m):
        """DropStaleResponse: a response from an older term is ignored."""
        if (type(m) in (RequestVoteResponse, AppendEntriesResponse)
                and m.term < s.current_term[m.dst]):
            return s.set(messages=self.discard(s.messages, m))


class RaftArticle(Raft):
    """The article's RaftNode: request_vote always returns True, so every vote is granted.

    Overridden, as the article writes them: the peer's side of ``request_vote`` ("return True
    # Simplified": no term, vote or log check, and the peer records nothing) and, in
    ``start_election``, the candidate's own vote (cast as it starts, instead of asking itself). Everything else is raft.tla's, so the checker shows what the simplification alone
    breaks.
    """

    name = "raft-article"

    def own_vote(self, i):
        """start_election: the candidate votes for itself as it starts (votes = 1)."""
        return i, frozenset({i})

    @action(each="deliverable")
    def handle_request_vote_request(self, s, m):
        """request_vote, answered by the peer: always granted ("return True  # Simplified")."""
        if type(m) is RequestVoteRequest:
            msgs = self.reply(s.messages, RequestVoteResponse(
                term=m.term, vote_granted=True, src=m.dst, dst=m.src), m)
            if msgs is not None:
                return s.set(messages=msgs)

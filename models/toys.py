"""Tiny models whose state spaces are counted by hand, for testing the engines.

After Stateright's ``test_util.rs``: engines are tested on these, not only on protocols, because
here every count can be derived on paper (each class docstring gives the derivation).
"""

from kripke.models.network import MessagePassing, network_variables
from kripke.models.system import Param, TransitionSystem, action
from kripke.models.types import Array, Domain, Enum, FrozenMap, Id, Int, Map, Seq, record
from kripke.specs.properties import invariant, sometimes, type_ok


@invariant
def below_limit(model, s):
    """x never reaches the parameter ``limit``."""
    return s.x < model.limit


@sometimes
def reaches_n(model, s):
    """Some reachable state has x = n."""
    return s.x == model.n


class Counter(TransitionSystem):
    """x counts from 0 up to n, then stops (a declared terminal state).

    Hand count: states 0..n, so n+1 distinct; generated = 1 initial + n increments; depth n+1.
    ``below_limit`` fails once x = limit (limit <= n), after exactly ``limit`` steps.
    """

    name = "toy-counter"
    n = Param(5, "the largest value of x", min=0)
    limit = Param(100, "the value of x that below_limit forbids", min=0)
    variables = {"x": Int(0, "n")}
    properties = (type_ok, below_limit, reaches_n)

    def init(self):
        yield self.State(x=0)

    @action
    def inc(self, s):
        if s.x < self.n:
            return s.set(x=s.x + 1)

    def terminal(self, s):
        return s.x == self.n


class StuckCounter(Counter):
    """The counter without its terminal declaration: x = n is a deadlock after n steps."""

    name = "toy-stuck-counter"

    def terminal(self, s):
        return False


class Grid(TransitionSystem):
    """Two counters x, y in 0..n, each incremented on its own.

    Hand count: (n+1)^2 distinct; generated = 1 + 2n(n+1) (n(n+1) states can increment x, as
    many y); BFS depth 2n+1 (the longest shortest path, to (n, n), has 2n steps).
    """

    name = "toy-grid"
    n = Param(3, "the largest value of each counter", min=0)
    variables = {"x": Int(0, "n"), "y": Int(0, "n")}
    properties = (type_ok,)

    def init(self):
        yield self.State(x=0, y=0)

    @action
    def inc_x(self, s):
        if s.x < self.n:
            return s.set(x=s.x + 1)

    @action
    def inc_y(self, s):
        if s.y < self.n:
            return s.set(y=s.y + 1)

    def terminal(self, s):
        return s.x == s.y == self.n


PROC = Domain("PROC", "procs", symmetric=True, doc="interchangeable processes")


@sometimes
def all_set(model, s):
    """Every process has set its bit."""
    return all(b == "one" for b in s.bits)


class Bits(TransitionSystem):
    """``procs`` interchangeable processes, each setting its own bit once.

    Hand count without symmetry: 2^procs distinct; generated = 1 + procs * 2^(procs-1) (a state
    with k unset bits has k successors, and the k's sum to procs * 2^(procs-1)); depth procs+1.
    With symmetry the orbits are the numbers of set bits: procs+1 distinct; generated =
    1 + sum_{k=0..procs} k = 1 + procs(procs+1)/2.
    """

    name = "toy-bits"
    procs = Param(4, "number of processes", min=1)
    variables = {"bits": Array(PROC, Enum("zero", "one"))}
    properties = (type_ok, all_set)

    def init(self):
        yield self.State(bits=("zero",) * self.procs)

    @action(each=PROC)
    def set_bit(self, s, p):
        if s.bits[p] == "zero":
            return s.set(bits=s.bits[:p] + ("one",) + s.bits[p + 1:])

    def terminal(self, s):
        return all(b == "one" for b in s.bits)


class Branch(TransitionSystem):
    """One action with several outcomes (a returned list): x goes from 0 to 1 or 2, then stops.

    Hand count: 3 distinct, generated 3 (init + two outcomes), depth 2.
    """

    name = "toy-branch"
    variables = {"x": Int(0, 2)}
    properties = (type_ok,)

    def init(self):
        yield self.State(x=0)

    @action
    def choose(self, s):
        if s.x == 0:
            return [s.set(x=1), s.set(x=2)]

    def terminal(self, s):
        return s.x != 0


class Raises(TransitionSystem):
    """Counts up and divides by (crash_at - x): the step from x = crash_at raises.

    Hand count: the search finds an ``exception`` after crash_at + 1 steps (crash_at
    increments succeed, the next raises ZeroDivisionError).
    """

    name = "toy-raises"
    crash_at = Param(3, "the value of x from which the step raises", min=0)
    variables = {"x": Int(0, 1000)}
    properties = (type_ok,)

    def init(self):
        yield self.State(x=0)

    @action
    def step(self, s):
        """x += 1, computed by a division that fails at x = crash_at."""
        one = (self.crash_at - s.x) // (self.crash_at - s.x)
        return s.set(x=s.x + one)


NODE = Domain("Node", 2, doc="node 0 sends, node 1 receives")
Ping = record("Ping", seq=Int(0, 7), src=NODE, dst=NODE)


@invariant
def in_order(model, s):
    """Node 1 receives the pings in the order they were sent, each once."""
    return all(a < b for a, b in zip(s.received, s.received[1:]))


@sometimes
def all_received(model, s):
    """Every ping sent has arrived."""
    return len(s.received) == model.pings


class PingPong(MessagePassing):
    """Node 0 sends pings 0, 1, ... to node 1, which records the order they arrive in.

    Hand count at pings=2, max_msgs=2, unordered: 8 states (1 before any send; 2 after the
    first: in flight or received; 5 after both: both in flight, either one received, both
    received in either order); generated 9: the initial state and 1+2+1+2+1+1 successors. FIFO
    removes the two states where ping 1 overtook ping 0: 6 states, 7 generated. Unordered,
    ``in_order`` fails after 4 steps (send, send, receive 1, receive 0).
    """

    name = "toy-pingpong"
    NODE = NODE
    pings = Param(2, "number of pings node 0 sends", min=0, max=8)
    variables = {"sent": Int(0, "pings"), "received": Seq(Int(0, 7), "pings"),
                 **network_variables(NODE, Ping)}
    properties = (type_ok, in_order, all_received)

    def init(self):
        yield self.State(sent=0, received=(), **self.network_init())

    @action
    def send_ping(self, s):
        """Node 0 sends its next ping."""
        if s.sent < self.pings and s.up[0]:
            msgs = self.send(s.messages, Ping(seq=s.sent, src=0, dst=1))
            if msgs is not None:
                return s.set(sent=s.sent + 1, messages=msgs)

    @action(each="deliverable")
    def receive_ping(self, s, m):
        """Node 1 receives a ping."""
        if len(s.received) < self.pings:
            return s.set(received=s.received + (m.seq,),
                         messages=self.discard(s.messages, m))

    def terminal(self, s):
        return True


ACCEPTOR = Domain("Acceptor", 2, doc="the acceptors")


@invariant
def promises_within_round(model, s):
    """No acceptor has promised a round beyond the current one."""
    return all(r <= s.round for r in s.promised.values())


@invariant
def not_all_promised_at_the_last_round(model, s):
    """Fails on purpose: at the last round every acceptor may have promised it."""
    return not (s.round == 2 and len(s.promised) == 2)


class Promises(TransitionSystem):
    """Acceptors promise the current round, kept in a ``Map`` (a partial function: an acceptor
    that has not promised has no entry); a round ends once both have promised; a promise of
    round 0 may be forgotten.

    Hand count: a state is (round, promise of acceptor 0, of acceptor 1). Round 0: each
    promise absent or 0: 4 states. Round 1, entered with both at 0: each absent, 0 or 1 (a 0 may
    be forgotten, an absent or 0 one renewed at 1): 9. Round 2, entered with both at 1: each 1
    or 2 (nothing is forgotten): 4. So 17 states; ``not_all_promised_at_the_last_round`` fails
    on entering round 2, after 2 + 1 + 2 + 1 = 6 steps.
    """

    name = "toy-promises"
    variables = {"promised": Map(Id(ACCEPTOR), Int(0, 2)), "round": Int(0, 2)}
    properties = (type_ok, promises_within_round, not_all_promised_at_the_last_round)

    def init(self):
        yield self.State(promised=FrozenMap(), round=0)

    @action(each=ACCEPTOR)
    def promise(self, s, a):
        if a not in s.promised or s.promised[a] < s.round:
            return s.set(promised=s.promised.set(a, s.round))

    @action
    def next_round(self, s):
        if s.round < 2 and len(s.promised) == 2 and all(
                r == s.round for r in s.promised.values()):
            return s.set(round=s.round + 1)

    @action(each=ACCEPTOR)
    def forget(self, s, a):
        if s.promised.get(a) == 0:
            return s.set(promised=s.promised.delete(a))

    def terminal(self, s):
        return s.round == 2

"""Map(K, V): partial functions as values (issue 10), e.g. Paxos acceptors' promises."""

from kripke import (Domain, FrozenMap, Int, Map, TransitionSystem, action, check, invariant,
                    load_model, replay)
from kripke.models.fingerprint import fingerprint

ACCEPTOR = Domain("Acceptor", 3, symmetric=True)


@invariant
def promises_bounded(model, s):
    """No acceptor promised beyond ballot 2."""
    return all(b <= 2 for b in s.promised.values())


@invariant
def not_all_at_two(model, s):
    """Not every acceptor has promised ballot 2 (false: a reachable state has it)."""
    return sorted(s.promised.values()) != [2, 2, 2]


class Promises(TransitionSystem):
    """Each acceptor promises ballots 0, 1, 2 in turn; before its first promise it has none.

    Hand count: each acceptor is absent or at 0, 1 or 2, so 4^3 = 64 states; under symmetry the
    orbits are the multisets of 3 values out of 4: C(6, 3) = 20."""

    variables = {"promised": Map(ACCEPTOR, Int(0, 2))}
    properties = (promises_bounded,)

    def init(self):
        yield self.State(promised=FrozenMap())

    @action(each=ACCEPTOR)
    def promise(self, s, a):
        ballot = s.promised.get(a, -1) + 1
        if ballot <= 2:
            return s.set(promised=s.promised.set(a, ballot))

    def terminal(self, s):
        return True


def test_a_map_is_one_value_however_it_was_built():
    a, b = FrozenMap({1: "x", 0: "y"}), FrozenMap({0: "y"}).set(1, "x")
    assert a == b and fingerprint(a) == fingerprint(b)
    assert (a[0], a.get(2), 1 in a, 2 in a, a.delete(1)) == ("y", None, True, False,
                                                             FrozenMap({0: "y"}))
    assert fingerprint(FrozenMap({1: True})) != fingerprint(FrozenMap({1: 1}))


def test_counts_with_and_without_symmetry():
    assert (check(Promises(), symmetry=False).distinct_states, check(Promises()).distinct_states
            ) == (64, 20)


class AllAtTwo(Promises):
    """Promises, checked against an invariant that a reachable state breaks."""

    properties = (not_all_at_two,)


def test_a_map_violation_replays_and_encodes_as_pairs():
    r = check(load_model("tests/test_map.py:AllAtTwo")(), symmetry=False)
    v = r.violation
    assert (r.verdict, len(v.trace.steps) - 1) == ("violated", 9)
    assert v.trace.steps[-1].state["promised"] == [[0, 2], [1, 2], [2, 2]]
    assert replay(v.trace).ok

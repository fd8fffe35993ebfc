"""The network semantics of models/network.py, on toy-pingpong: hand counts, an independent
enumeration of every option, and the failures each option makes possible."""

import itertools
from collections import deque

import pytest

from kripke.checkers.explicit import check
from kripke.models.system import load_model


def pingpong(**params):
    return load_model("toy-pingpong")(**params)


def counts(model, properties=("type_ok",)):
    r = check(model, properties=list(properties))
    return r.verdict, r.distinct_states, r.states_generated


def test_hand_counts():
    assert counts(pingpong()) == ("ok", 8, 9)
    assert counts(pingpong(ordered=True)) == ("ok", 6, 7)


def enumerate_pingpong(pings, max_msgs, ordered, lossy, duplicating):
    """An independent BFS of the ping-pong protocol over plain tuples: (distinct, generated)."""
    def successors(state):
        sent, received, bag = state
        if sent < pings and len(bag) < max_msgs:
            yield sent + 1, received, normal(bag + (sent,))
        offered = bag[:1] if ordered else sorted(set(bag))
        if len(received) < pings:
            for m in offered:
                yield sent, received + (m,), without(bag, m)
        if lossy:
            for m in sorted(set(bag)):
                yield sent, received, without(bag, m)
        if duplicating and len(bag) < max_msgs:
            for m in sorted(set(bag)):
                yield sent, received, normal(bag + (m,))

    def normal(bag):
        return bag if ordered else tuple(sorted(bag))

    def without(bag, m):
        i = bag.index(m)
        return bag[:i] + bag[i + 1:]

    init = (0, (), ())
    seen, queue, generated = {init}, deque([init]), 1
    while queue:
        for t in successors(queue.popleft()):
            generated += 1
            if t not in seen:
                seen.add(t)
                queue.append(t)
    return len(seen), generated


@pytest.mark.parametrize("ordered,lossy,duplicating",
                         list(itertools.product([False, True], repeat=3)))
@pytest.mark.parametrize("pings,max_msgs", [(2, 2), (3, 2), (3, 3)])
def test_every_option_against_an_independent_enumeration(pings, max_msgs, ordered, lossy,
                                                         duplicating):
    model = pingpong(pings=pings, max_msgs=max_msgs, ordered=ordered, lossy=lossy,
                     duplicating=duplicating)
    distinct, generated = enumerate_pingpong(pings, max_msgs, ordered, lossy, duplicating)
    assert counts(model) == ("ok", distinct, generated)


def test_reordering_breaks_in_order_and_fifo_prevents_it():
    r = check(pingpong(), properties=["in_order"])
    v = r.violation
    assert (v.property, len(v.trace.steps) - 1) == ("in_order", 4)
    assert [s.action for s in v.trace.steps[1:]] == ["send_ping", "send_ping", "receive_ping",
                                                     "receive_ping"]
    assert v.trace.steps[3].args == {"m": {"type": "Ping", "seq": 1, "src": 0, "dst": 1}}
    assert check(pingpong(ordered=True), properties=["in_order"]).verdict == "ok"


def test_duplication_breaks_in_order_even_with_fifo():
    r = check(pingpong(ordered=True, duplicating=True), properties=["in_order"])
    steps = r.violation.trace.steps
    assert [s.action for s in steps[1:]] == ["send_ping", "duplicate_message", "receive_ping",
                                             "receive_ping"]
    assert steps[-1].state["received"] == [0, 0]


def test_loss_makes_delivery_impossible_sometimes_but_not_always():
    model = pingpong(ordered=True, lossy=True)
    assert check(model, properties=["all_received"]).verdict == "ok"
    r = check(model, properties=["type_ok"])
    assert r.coverage["drop_message"]["new"] > 0


def test_a_partition_holds_messages_back_until_it_heals():
    model = pingpong(ordered=True, partitions=True)
    r = check(model, properties=["all_received"])
    assert r.verdict == "ok"
    assert r.coverage["partition_network"]["fired"] > 0 and r.coverage["heal_partition"]["fired"] > 0
    s = next(model.init())
    s = model.send_ping(s)
    split = model.partition_sides(s)
    assert split == [frozenset({frozenset({0}), frozenset({1})})]
    cut = model.partition_network(s, split[0])
    assert model.deliverable(s) == [s.messages[0]] and model.deliverable(cut) == []
    assert model.deliverable(model.heal_partition(cut)) == [s.messages[0]]


def test_a_crashed_node_receives_nothing_until_it_recovers():
    model = pingpong(ordered=True, crashes=True)
    s = model.send_ping(next(model.init()))
    down = model.crash_node(s, 1)
    assert model.deliverable(down) == [] and model.send_ping(model.crash_node(s, 0)) is None
    assert model.deliverable(model.recover_node(down, 1)) == [s.messages[0]]
    assert check(model, properties=["all_received"]).verdict == "ok"


def test_the_bound_on_messages_in_flight_makes_a_sender_wait():
    model = pingpong(pings=3, max_msgs=1, ordered=True)
    s = model.send_ping(next(model.init()))
    assert model.send_ping(s) is None
    assert counts(model) == ("ok",) + enumerate_pingpong(3, 1, True, False, False)


@pytest.mark.parametrize("name,params", [
    ("vector-clock", {"procs": 2, "max_events": 1, "lossy": True, "duplicating": True,
                      "partitions": True, "crashes": True}),
    ("toy-pingpong", {"ordered": True, "lossy": True, "duplicating": True, "partitions": True,
                      "crashes": True}),
])
def test_each_domain_and_its_test_agree(name, params):
    """``@among``: the network's state-dependent domains and the tests the symbolic back end
    runs per message of the bag's universe instead (deliverable / delivers, droppable / lost,
    duplicable / copied) agree on every reachable state, with every failure on, FIFO
    channels included."""
    model = load_model(name)(**params)
    universe = model._types["messages"].elem.universe(model)
    seen, todo, held_back = set(model.init()), deque(model.init()), 0
    while todo:
        s = todo.popleft()
        for domain, test in (("deliverable", "delivers"), ("droppable", "lost"),
                             ("duplicable", "copied")):
            listed = getattr(model, domain)(s)
            assert len(listed) == len(set(listed))  # each once
            assert set(listed) == {m for m in universe if getattr(model, test)(s, m)}, domain
        held_back += len(model.deliverable(s)) < len(set(s.messages))
        for _, _, t in model.successors(s):
            if t not in seen:
                seen.add(t)
                todo.append(t)
    assert held_back  # states with a message not deliverable (FIFO, a partition, a crash)

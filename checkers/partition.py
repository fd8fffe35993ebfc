"""Which shard of a partitioned search (``checkers.parallel``) owns a state.

Hashing the whole state, as distributed TLC and Stern and Dill's parallel Murphi do, spreads
the states evenly but sends half the successors of every state (with two shards) to the other
shard: each is offered, often written and read, and expanded away from the states it shares
its field objects with. Lerda and Sisto's distributed SPIN ("Distributed-memory model checking
with SPIN", SPIN 1999) hashes only part of the state instead, a part that few transitions
change, so that most successors stay with their parent's shard. Over raft's first 27 levels
(438,366 states), hashing ``voted_for`` keeps 99.6% of the successors at home, with the two
shards within 5% of each other; over two-phase's whole state space (7 RMs), ``tm_prepared``
keeps 99.5% and ``tm_prepared, msgs`` 93%.

Which part, kripke finds out: ``choose`` runs a small breadth-first sample of the model and,
for each variable and pair of variables, measures how often a step changes it and how evenly
it spreads the sample's last level over the shards; it takes the one that promises the least
work, or the whole fingerprint when none promises less (symmetry always takes the fingerprint:
a part of a state is not invariant under renaming, its orbit's fingerprint is). The first
levels mislead as well as inform: in two-phase's, few RMs have prepared, so ``tm_prepared``
takes few values and is passed over for ``tm_prepared, msgs``.
"""

import collections
import functools
import itertools
import operator
from typing import NamedTuple

from kripke.models.fingerprint import fingerprint as value_fingerprint, part_fingerprint

__all__ = ["Partition", "choose"]

#: the breadth-first sample choose() measures: levels until this many states or steps (a
#: tenth of a second or two on raft and two-phase; the same sample, hence the same choice, on
#: every run)
SAMPLE_STATES = 4000
SAMPLE_STEPS = 50000
#: the cost of a successor that changes shard, relative to expanding a state at home (offered,
#: often written and read, expanded without its parent's fields in the caches): fitted to the
#: fingerprint partition's measured speed-up with two workers (two-phase 1.56x, raft 1.37x)
CROSSING = 0.6
#: a part must promise at most this fraction of the fingerprint's cost to be chosen (its
#: estimate comes from the first levels only), and spread the sample's last level over at least
#: this many values per shard, none of them holding more than TOP_SHARE of it
MARGIN = 0.9
VALUES_PER_SHARD = 16
TOP_SHARE = 0.25


class Partition(NamedTuple):
    """``fields``: the variables whose values decide the owner (empty: the whole state's
    fingerprint decides, ``f % count``)."""

    fields: tuple = ()

    def key(self, model):
        """None for the fingerprint partition, else ``key(state)``: the fingerprint that,
        modulo the number of shards, names the owner."""
        if not self.fields:
            return None
        names = list(type(model).variables)
        return functools.partial(part_fingerprint, tuple(names.index(f) for f in self.fields))

    def describe(self):
        return "fingerprint" if not self.fields else "by " + ", ".join(self.fields)


def choose(model, count, symmetric):
    """The partition of ``model``'s states over ``count`` shards (see the module's doc).

    What the first levels say about the ones to come is best said by the last of them: for each
    variable and pair of variables, the steps of the sample's last expanded level give how
    often the part changes, and the level they reach how evenly its values spread."""
    if count < 2 or symmetric or not type(model).variables:
        return Partition()
    try:
        level, steps = _sample(model)
    except Exception:  # the search itself reports what the model does wrong
        return Partition()
    if not steps or len(level) < VALUES_PER_SHARD * count:
        return Partition()
    names = list(type(model).variables)
    # changed[i]: a bitset over the steps, bit k set when step k changes variable i
    changed = [int("".join("0" if s[i] is t[i] or s[i] == t[i] else "1" for s, t in steps), 2)
               for i in range(len(names))]
    away = 1 - 1 / count  # a changed part lands on another shard this often
    best, best_cost = Partition(), (1 + CROSSING * away) * MARGIN
    for idx in itertools.chain(((i,) for i in range(len(names))),
                               itertools.combinations(range(len(names)), 2)):
        bits = 0
        for i in idx:
            bits |= changed[i]
        crossing = 1 + CROSSING * away * bits.bit_count() / len(steps)
        if crossing >= best_cost:
            continue  # even a perfect balance would not pay
        cost = crossing * _imbalance(level, operator.itemgetter(*idx), count)
        if cost < best_cost:
            best, best_cost = Partition(tuple(names[i] for i in idx)), cost
    return best


def _sample(model):
    """A breadth-first sample from the initial states: the last level it reached, and the steps
    ``(s, t)`` that reached it."""
    level = list(dict.fromkeys(model.init()))
    seen, steps, taken = set(level), [], 0
    while level and len(seen) < SAMPLE_STATES and taken < SAMPLE_STEPS:
        after, steps = [], []
        for s in level:
            for _, _, t in model.successors(s):
                steps.append((s, t))
                if t not in seen:
                    seen.add(t)
                    after.append(t)
        level, taken = after, taken + len(steps)
    return level, steps


def _imbalance(level, pick, count):
    """How much longer than an even split expanding ``level`` takes when ``pick(state)``
    decides the owner: the largest shard's share over the even share; infinite when the part
    takes too few values, or one value too often, to promise an even split later."""
    values = collections.Counter(map(pick, level))
    if len(values) < VALUES_PER_SHARD * count \
            or max(values.values()) > TOP_SHARE * len(level):
        return float("inf")
    shares = [0] * count
    for value, n in values.items():
        shares[value_fingerprint(value) % count] += n
    return max(shares) / (len(level) / count)

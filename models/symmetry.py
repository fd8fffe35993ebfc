"""Symmetry reduction: a canonical representative of a state's orbit under permutations of a domain.

A model declares a domain symmetric (``Domain("RM", "rms", symmetric=True)``): its ids are
interchangeable, so states that differ by a renaming of ids behave the same. The checker stores one
representative per orbit. The representative must be *canonical* (the same for every state of an
orbit), or the stored count is not the number of orbits and states may be explored twice: that is
why Stateright's 665 for TwoPhase at 5 RMs is not the orbit count.

The representative is the least state among the *candidates*, by hash and then by a total order
for states with equal hashes (so it is canonical within a run; strings hash with a per-process
seed, so the representative may differ between runs, never the number of orbits). The
candidates are the renamings that sort the ids by a signature that every renaming preserves (the id's entry in
each array indexed by the domain, its membership in each set of ids). Sorting is cheap; only ids
that tie on their signature need more work, and when every swap of two adjacent tied ids leaves
the sorted state unchanged, the whole group of tie permutations does (adjacent transpositions
generate it), so a single candidate remains. Otherwise the candidates are every ordering of the
tied groups that some swap changes; permutations of different groups commute, so groups whose
swaps all fix the state need no enumeration.
"""

import itertools

from models.types import Array, Id, Set, total_order_key

__all__ = ["Canonicalizer"]


class Canonicalizer:
    """``canon(state)``: the canonical representative of ``state`` under ``domain``."""

    def __init__(self, model, domain):
        self.n = len(domain.values(model))
        fields = list(model._types.values())
        self.state_cls = model.State
        permuters = [(i, t.permuter(domain, model)) for i, t in enumerate(fields)]
        self.permuters = [(i, f) for i, f in permuters if f is not None]
        # Signature parts: (field index, True) for an array indexed by the domain whose values
        # do not mention it; (field index, False) for a set of ids of the domain.
        self.arrays = [i for i, t in enumerate(fields) if isinstance(t, Array)
                       and t.index is domain and not t.value.mentions(domain)]
        self.members = [i for i, t in enumerate(fields) if isinstance(t, Set)
                        and isinstance(t.elem, Id) and t.elem.domain is domain]

    def permute(self, s, perm):
        """Rename every id ``i`` of the domain to ``perm[i]``."""
        out = list(s)
        for i, f in self.permuters:
            out[i] = f(s[i], perm)
        return tuple.__new__(self.state_cls, out)

    def signature(self, s, i):
        return (tuple([s[a][i] for a in self.arrays]),
                tuple([i in s[m] for m in self.members]))

    def __call__(self, s):
        n = self.n
        sigs = [self.signature(s, i) for i in range(n)]
        order = sorted(range(n), key=sigs.__getitem__)
        perm = [0] * n
        for new, old in enumerate(order):
            perm[old] = new
        t = self.permute(s, perm)
        # Runs of equal signatures, as positions in the sorted state.
        groups, start = [], 0
        for k in range(1, n + 1):
            if k == n or sigs[order[k]] != sigs[order[start]]:
                if k - start > 1:
                    groups.append(range(start, k))
                start = k
        if not groups:
            return t
        unfixed = [g for g in groups if any(self._swap(t, k) != t for k in g[:-1])]
        if not unfixed:
            return t
        candidates = []
        for choice in itertools.product(*(itertools.permutations(g) for g in unfixed)):
            p = list(range(n))
            for g, image in zip(unfixed, choice):
                for a, b in zip(g, image):
                    p[a] = b
            candidates.append(self.permute(t, p))
        # The least candidate by hash (computed in C), ties broken by the total order.
        least = min(map(hash, candidates))
        tied = {c for c in candidates if hash(c) == least}
        return tied.pop() if len(tied) == 1 else min(tied, key=total_order_key)

    def _swap(self, t, k):
        p = list(range(self.n))
        p[k], p[k + 1] = k + 1, k
        return self.permute(t, p)

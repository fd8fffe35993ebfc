"""Symmetry reduction: a canonical representative of a state's orbit under permutations of a domain.

A model declares a domain symmetric (``Domain("RM", "rms", symmetric=True)``): its ids are
interchangeable, so states that differ by a renaming of ids behave the same. The checker stores one
representative per orbit. The representative must be *canonical* (the same for every state of an
orbit), or the stored count is not the number of orbits and states may be explored twice: that is
why Stateright's 665 for TwoPhase at 5 RMs is not the orbit count.

The representative is the least state among the *candidates*, by hash and then by a total order
for states with equal hashes (so it is canonical within a run; strings hash with a per-process
seed, so the representative may differ between runs, never the number of orbits). The candidates
are the renamings that sort the ids by a signature that every renaming preserves (each id's entry
in the arrays indexed by the domain, its membership in sets of ids, how many messages name it:
see ``_views``). Sorting is cheap; only ids that tie on their signature need more work, and when
every swap of two adjacent tied ids leaves the sorted state unchanged, the whole group of tie
permutations does (adjacent transpositions generate it), so a single candidate remains.
Otherwise the candidates are every ordering of the tied groups that some swap changes;
permutations of different groups commute, so groups whose swaps all fix the state need no
enumeration.
"""

import itertools

from kripke.models.types import Array, Bag, Id, OneOf, RecordType, Set, total_order_key

__all__ = ["Canonicalizer"]


class Canonicalizer:
    """``canon(state)``: the canonical representative of ``state`` under ``domain``."""

    def __init__(self, model, domain):
        self.n = len(domain.values(model))
        fields = list(model._types.values())
        self.state_cls = model.State
        permuters = [(i, t.permuter(domain, model)) for i, t in enumerate(fields)]
        self.permuters = [(i, f) for i, f in permuters if f is not None]
        self.views = [v for f, t in enumerate(fields) for v in _views(f, t, domain, self.n)]

    def permute(self, s, perm):
        """Rename every id ``i`` of the domain to ``perm[i]``."""
        out = list(s)
        for i, f in self.permuters:
            out[i] = f(s[i], perm)
        return tuple.__new__(self.state_cls, out)

    def signatures(self, s):
        """For each id, what every renaming preserves about it in ``s`` (see ``_views``)."""
        return list(zip(*[view(s) for view in self.views])) if self.views else [()] * self.n

    def __call__(self, s):
        n = self.n
        sigs = self.signatures(s)
        # Sorted by the hash of the signature: a total order, computed in C, on values that
        # need not be comparable (None beside ints). Equal signatures end up side by side.
        keys = [hash(sig) for sig in sigs]
        order = sorted(range(n), key=keys.__getitem__)
        perm = [0] * n
        for new, old in enumerate(order):
            perm[old] = new
        t = s if order == list(range(n)) else self.permute(s, perm)
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


def _views(f, t, domain, n):
    """Functions ``s -> [value for each id]`` that every renaming of ``domain`` preserves, for
    field ``f`` of type ``t``: each id's own entry, its membership, how many messages name it.
    They only sort the ids (the candidates are then compared whole), so a view may be coarse;
    each is computed for all ids at once, which keeps the signature cheap."""
    ids = range(n)
    if isinstance(t, Id) and t.domain is domain:
        return [lambda s: [s[f] == i for i in ids]]
    if isinstance(t, Set) and isinstance(t.elem, Id) and t.elem.domain is domain:
        return [lambda s: [i in s[f] for i in ids]]
    if isinstance(t, (Set, Bag)) and isinstance(t.elem, (RecordType, OneOf)):
        records = t.elem.alternatives if isinstance(t.elem, OneOf) else [t.elem]
        spots = {r.cls: [r.offset + k for k, ft in enumerate(r.fields.values())
                         if isinstance(ft, Id) and ft.domain is domain] for r in records}
        spots = {cls: pos for cls, pos in spots.items() if pos}
        if not spots:
            return []
        order = list(spots)

        def mentions(s):
            counts = [[0] * n for _ in order]
            for x in s[f]:
                cls = type(x)
                if cls in spots:
                    row = counts[order.index(cls)]
                    for pos in spots[cls]:
                        row[x[pos]] += 1
            return list(zip(*counts))
        return [mentions]
    if not (isinstance(t, Array) and t.index is domain):
        return []
    if not t.value.mentions(domain):
        return [lambda s: s[f]]
    return []

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

from kripke.common import speedups
from kripke.models.types import (Array, Bag, Id, OneOf, Optional, RecordType, Set, Seq, _resolve,
                                 bag_order, total_order_key)

__all__ = ["Canonicalizer", "permuter_desc", "permute_value"]

# The kinds of a permuter descriptor (see ``permuter_desc``); checkers/_speedups.c has the same.
ID, OPT, ARRIDX, TUPLE, FSET, BAG, REC, ONEOF, CALL = range(9)


def permuter_desc(t, domain, model):
    """How to rename the ids of ``domain`` in a value of type ``t``, as plain data, or None when
    its values hold none. Built once per model from the declarations, it lets one function
    (``permute_value``, or its C twin ``kripke._speedups.permute``) rebuild a whole state in a
    single pass, instead of a closure per field and element (issue 13, item 1):

    ``(ID,)`` an id: ``perm[v]``; ``(OPT, d)`` None or a ``d``; ``(ARRIDX, d)`` an ``Array``
    indexed by the domain (item ``i`` moves to ``perm[i]``, each permuted by ``d`` unless it is
    None); ``(TUPLE, d)`` a tuple of ``d`` (another ``Array``, a ``Seq``); ``(FSET, d)`` a
    frozenset of ``d``; ``(BAG, d, key)`` a ``Bag``, re-sorted by ``key`` (its canonical order);
    ``(REC, cls, ((position, d), ...))`` a record with the listed fields permuted;
    ``(ONEOF, {cls: d or None})``; ``(CALL, fn)`` ``fn(v, perm)``, a type's own permuter (``Map``).
    """
    if isinstance(t, Id):
        return (ID,) if t.domain is domain else None
    if isinstance(t, Optional):
        inner = permuter_desc(t.inner, domain, model)
        return None if inner is None else (OPT, inner)
    if isinstance(t, Array):
        inner = permuter_desc(t.value, domain, model)
        if t.index is domain:
            return (ARRIDX, inner)
        return None if inner is None else (TUPLE, inner)
    if isinstance(t, (Set, Seq, Bag)):
        inner = permuter_desc(t.elem, domain, model)
        if inner is None:
            return None
        if isinstance(t, Bag):
            return (BAG, inner, bag_order(_resolve(t.fifo, model)))
        return (FSET if isinstance(t, Set) else TUPLE, inner)
    if isinstance(t, RecordType):
        parts = tuple((i + t.offset, d) for i, ft in enumerate(t.fields.values())
                      if (d := permuter_desc(ft, domain, model)) is not None)
        return (REC, t.cls, parts) if parts else None
    if isinstance(t, OneOf):
        by_class = {cls: permuter_desc(a, domain, model) for cls, a in t.by_class.items()}
        return None if all(d is None for d in by_class.values()) else (ONEOF, by_class)
    fn = t.permuter(domain, model)
    return None if fn is None else (CALL, fn)


def permute_value(desc, v, perm):
    """``v`` with every id ``i`` renamed to ``perm[i]``, as ``desc`` says (``permuter_desc``): the
    Python twin of ``kripke._speedups.permute``."""
    kind = desc[0]
    if kind == ID:
        return perm[v]
    if kind == OPT:
        return None if v is None else permute_value(desc[1], v, perm)
    if kind == ARRIDX:
        out, inner = [None] * len(v), desc[1]
        for i, x in enumerate(v):
            out[perm[i]] = x if inner is None else permute_value(inner, x, perm)
        return tuple(out)
    if kind in (TUPLE, FSET, BAG):
        items = [permute_value(desc[1], x, perm) for x in v]
        if kind == BAG:
            items.sort(key=desc[2])
        return frozenset(items) if kind == FSET else tuple(items)
    if kind == REC:
        out = list(v)
        for i, d in desc[2]:
            out[i] = permute_value(d, v[i], perm)
        return tuple.__new__(desc[1], out)
    if kind == ONEOF:
        inner = desc[1][type(v)]
        return v if inner is None else permute_value(inner, v, perm)
    if kind == CALL:
        return desc[1](v, perm)
    raise ValueError(f"unknown permuter descriptor {desc!r}")


class Canonicalizer:
    """``canon(state)``: the canonical representative of ``state`` under ``domain``."""

    def __init__(self, model, domain):
        self.n = len(domain.values(model))
        fields = list(model._types.values())
        self.state_cls = model.State
        parts = tuple((i, d) for i, t in enumerate(fields)
                      if (d := permuter_desc(t, domain, model)) is not None)
        #: the whole state as one descriptor (a record whose listed fields are permuted)
        self.desc = (REC, model.State, parts) if parts else None
        c = speedups()
        self._permute = c.permute if c is not None else permute_value
        self.views = [v for f, t in enumerate(fields) for v in _views(f, t, domain, self.n)]

    def permute(self, s, perm):
        """Rename every id ``i`` of the domain to ``perm[i]``."""
        if self.desc is None:
            return s
        return self._permute(self.desc, s, tuple(perm))

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

"""Symmetry reduction: a canonical representative of a state's orbit under permutations of a domain.

A model declares a domain symmetric (``Domain("RM", "rms", symmetric=True)``): its ids are
interchangeable, so states that differ by a renaming of ids behave the same. The checker stores one
representative per orbit. The representative must be *canonical* (the same for every state of an
orbit), or the stored count is not the number of orbits and states may be explored twice: that is
why Stateright's 665 for TwoPhase at 5 RMs is not the orbit count.

The representative is the least state among the *candidates* by fingerprint
(``models.fingerprint``), and by a total order for different states with equal fingerprints; the
fingerprint has a fixed key, so the representative is the same in every run and process. The
candidates are the renamings that sort the ids by a signature that every renaming preserves (each
id's entry in the arrays indexed by the domain, its membership in sets of ids, how many messages
and how many entries of arrays of ids name it: see ``view_specs``; in C, ``kripke._speedups``),
the signatures ordered by their fingerprints. Sorting
is cheap; only ids that tie on their signature need more work, and when
every swap of two adjacent tied ids leaves the sorted state unchanged, the whole group of tie
permutations does (adjacent transpositions generate it), so a single candidate remains.
Otherwise the candidates are every ordering of the tied groups that some swap changes;
permutations of different groups commute, so groups whose swaps all fix the state need no
enumeration.

The search needs only the representative's fingerprint, the name of the orbit in its visited set:
``Canonicalizer.fingerprint`` computes it in C without building the representative, nor the
candidates (``kripke._speedups.representative_fingerprint``, issue 13, item 1).
"""

import functools
import itertools

from kripke.common import speedups
from kripke.models.fingerprint import fingerprint as value_fingerprint
from kripke.models.types import (Array, Bag, Id, OneOf, Optional, RecordType, Set, Seq, _resolve,
                                 bag_order, total_order_key)

__all__ = ["Canonicalizer", "canonical_sort", "permuter_desc", "permute_value", "representative",
           "view_specs"]

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


# The kinds of a view (see ``view_specs``); checkers/_speedups.c has the same.
V_ID, V_IDSET, V_MENTIONS, V_ARRAY, V_POINTS_OPT, V_POINTS_SET, V_DIAG = range(7)


def canonical_sort(desc, views, s, n):
    """``(t, unfixed)``: ``s`` renamed so that its ids are sorted by their signatures (``t``),
    and the runs of ids with equal signatures (``(start, stop)`` positions in ``t``) that some
    swap of two adjacent ids changes. The Python twin of ``kripke._speedups.canonical``.

    The signature of id ``i`` is a tuple with one entry per view (``view_specs``). The ids are
    sorted by the signature's fingerprint: a total order on values that need not be comparable
    (None beside ints), the same in every process; ids whose signatures have equal fingerprints
    are a run (two different signatures sharing one would only make a run longer)."""
    rows = []
    for view in views:
        kind, x = view[0], s[view[1]]
        if kind == V_ID:
            rows.append([x == i for i in range(n)])
        elif kind == V_IDSET:
            rows.append([i in x for i in range(n)])
        elif kind == V_ARRAY:
            rows.append(list(x))
        elif kind in (V_POINTS_OPT, V_POINTS_SET):
            points = [0] * n
            for j, e in enumerate(x):
                for i in ((() if e is None else (e,)) if kind == V_POINTS_OPT else e):
                    points[i] += 2 + (i == j)
            rows.append(points)
        elif kind == V_DIAG:
            rows.append([x[i][i] for i in range(n)])
        else:
            spots = view[2]
            counts = [[0] * len(spots) for _ in range(n)]
            for m in x:
                for j, (cls, positions) in enumerate(spots):
                    if type(m) is cls:
                        for pos in positions:
                            counts[m[pos]][j] += 1
                        break
            rows.append([tuple(c) for c in counts])
    sigs = list(zip(*rows)) if rows else [()] * n
    keys = [value_fingerprint(sig) for sig in sigs]
    order = sorted(range(n), key=keys.__getitem__)
    perm = [0] * n
    for new, old in enumerate(order):
        perm[old] = new
    rename = (lambda v, p: v) if desc is None else (lambda v, p: permute_value(desc, v, p))
    t = s if order == list(range(n)) else rename(s, tuple(perm))
    unfixed, start = [], 0
    for k in range(1, n + 1):
        if k < n and keys[order[k]] == keys[order[start]]:
            continue
        for a in range(start, k - 1):
            swap = list(range(n))
            swap[a], swap[a + 1] = a + 1, a
            if rename(t, tuple(swap)) != t:
                unfixed.append((start, k))
                break
        start = k
    return t, unfixed


def representative(desc, views, n, s):
    """The canonical representative of ``s``: the Python twin of
    ``kripke._speedups.representative`` (without its fallback argument, which is this)."""
    t, unfixed = canonical_sort(desc, views, s, n)
    if not unfixed:
        return t
    groups = [range(a, b) for a, b in unfixed]
    candidates = []
    for choice in itertools.product(*(itertools.permutations(g) for g in groups)):
        p = list(range(n))
        for g, image in zip(groups, choice):
            for a, b in zip(g, image):
                p[a] = b
        candidates.append(t if desc is None else permute_value(desc, t, tuple(p)))
    # The least candidate by fingerprint, ties (of different states) broken by the total order.
    least = min(map(value_fingerprint, candidates))
    tied = {c for c in candidates if value_fingerprint(c) == least}
    return tied.pop() if len(tied) == 1 else min(tied, key=total_order_key)


class Canonicalizer(functools.partial):
    """``canon(state)``: the canonical representative of ``state`` under ``domain``.

    A ``functools.partial`` of ``kripke._speedups.representative`` when the extension is built
    (else of its twin ``representative``), so that the engine's call per successor goes
    straight to C, without a Python frame (issue 13, item 1). ``fingerprint(state)`` is the
    fingerprint of the representative, in one C call when the extension is built, which builds
    neither the representative nor the candidates (a third of the time per successor)."""

    def __new__(cls, model, domain):
        n = len(domain.values(model))
        fields = list(model._types.values())
        parts = tuple((i, d) for i, t in enumerate(fields)
                      if (d := permuter_desc(t, domain, model)) is not None)
        # The whole state as one descriptor (a record whose listed fields are permuted).
        desc = (REC, model.State, parts) if parts else None
        views = tuple(v for f, t in enumerate(fields) for v in view_specs(f, t, domain))
        c = speedups()
        if c is not None and n <= 64:  # the C twin holds at most 64 ids on its stack
            slow = functools.partial(representative, desc, views, n)
            self = super().__new__(cls, c.representative, desc, views, n, slow)
            self._permute, self._sort = c.permute, c.canonical
            self.fingerprint = functools.partial(c.representative_fingerprint, desc, views, n,
                                                 slow)
        else:
            self = super().__new__(cls, representative, desc, views, n)
            self._permute, self._sort = permute_value, canonical_sort
            self.fingerprint = lambda s: value_fingerprint(self(s))
        self.n, self.desc, self.views, self.state_cls = n, desc, views, model.State
        self._made_from = (model, domain)
        return self

    def __init__(self, model, domain):
        pass  # made by __new__ (a partial's arguments are fixed there)

    def __reduce__(self):
        return (Canonicalizer, self._made_from)

    def permute(self, s, perm):
        """Rename every id ``i`` of the domain to ``perm[i]``."""
        if self.desc is None:
            return s
        return self._permute(self.desc, s, tuple(perm))


def view_specs(f, t, domain):
    """What every renaming of ``domain`` preserves about each id in field ``f`` of type ``t``, as
    data that ``canonical_sort`` and its C twin read: ``(V_ID, f)`` whether the field is the id;
    ``(V_IDSET, f)`` whether the set holds it; ``(V_ARRAY, f)`` its own entry of an array whose
    values name no id; ``(V_MENTIONS, f, ((cls, positions), ...))`` how many elements of each
    record class name it, in a set or bag of records. They only sort the ids (the candidates are
    then compared whole), so a view may be coarse; ``(V_POINTS_OPT, f)`` / ``(V_POINTS_SET, f)``
    an array of ids (or None) / of sets of ids: twice how many entries name it, plus one if its
    own does; ``(V_DIAG, f)`` an array of arrays over the domain: its diagonal entry. Each is
    computed for all ids at once, which keeps the signature cheap."""
    if isinstance(t, Id) and t.domain is domain:
        return [(V_ID, f)]
    if isinstance(t, Set) and isinstance(t.elem, Id) and t.elem.domain is domain:
        return [(V_IDSET, f)]
    if isinstance(t, (Set, Bag)) and isinstance(t.elem, (RecordType, OneOf)):
        records = t.elem.alternatives if isinstance(t.elem, OneOf) else [t.elem]
        spots = tuple((r.cls, tuple(r.offset + k for k, ft in enumerate(r.fields.values())
                                    if isinstance(ft, Id) and ft.domain is domain))
                      for r in records)
        spots = tuple((cls, pos) for cls, pos in spots if pos)
        return [(V_MENTIONS, f, spots)] if spots else []
    if isinstance(t, Array) and t.index is domain and not t.value.mentions(domain):
        return [(V_ARRAY, f)]
    if isinstance(t, Array) and t.index is domain:
        # Arrays of ids (voted_for), of sets of ids (votes_granted), of arrays over the domain
        # (next_index): how often an id is named and whether by its own entry, the diagonal.
        # They tell apart ids that the other views tie, which spares most searches.
        v = t.value.inner if isinstance(t.value, Optional) else t.value
        if isinstance(v, Id) and v.domain is domain:
            return [(V_POINTS_OPT, f)]
        if isinstance(v, Set) and isinstance(v.elem, Id) and v.elem.domain is domain:
            return [(V_POINTS_SET, f)]
        if (isinstance(v, Array) and v.index is domain and not v.value.mentions(domain)
                and v is t.value):
            return [(V_DIAG, f)]
    return []

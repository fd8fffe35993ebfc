"""The vectorised engine, ``--engine vector`` (issue 14): a level-synchronous BFS that runs the
model's own actions on a whole level of states at once, packed in machine words, on numpy.

One tracer, two value domains (``../shared/notes/tracing.md``): the model's ordinary actions and
properties are traced once, by ``checkers.symbolic``'s path-forking replay, into z3 terms over
one constant per encoded slot of the state (``SymbolicModel``: per action instance, a list of
(path condition, next-state terms)); this module then evaluates those terms on numpy arrays, a
level at a time, instead of asking z3 about them. Nothing of the model is written twice, and
whatever the symbolic back end cannot trace is refused the same way, naming the action and line.

* **Layout** (``Packing``): each slot (a Bool, an Enum / Int / Id, a set element's bit, a bag's
  count, a sequence's length, an option's presence, a OneOf's tag) takes the bits its declared
  bounds need, offset by its lower bound; slots fill 64-bit words in declaration order, never
  straddling two. A state is a row of ``words`` uint64.
* **Successors**: the traced terms are compiled once into numpy steps (``Program``). Per path of
  each action instance, its rows are selected by its condition's first conjunct (memoised per
  level: the actions mostly share their first guard) and the other conjuncts tested on those
  rows (whose values then serve the path's count and writes); the successors are their words
  with the written slots replaced (a path that writes only constants, with one word a state,
  makes its sort keys straight from its parents: ``kripke._speedups.emit_keys``). A value
  outside its slot's bounds stops the search with an error (the symbolic trace should have
  refused the path: never a silent wrap). A step to itself reaches nothing new and is dropped
  before dedup.
* **Deduplication** by sorting: a successor and the number of the path that made it are sorted as
  one uint64 when the layout leaves room (one sort dedups and credits each new state to the first
  call that reached it, the coverage's "new"), looked up in the sorted visited array and
  merged into it; no hash set, and whole states are compared (no fingerprint collisions). With
  one word a state, the first key of each new state and the merge are one pass each in C
  (``kripke._speedups.fresh_firsts`` and ``merge_into``, without the GIL; numpy twins when the
  extension is not built); rows of several words are looked up and merged by ``searchsorted``
  on their bytes. A level of ``_SPLIT`` states or more is expanded in two halves on two
  threads (numpy lets go of the GIL in its loops and sorts). Counts are TLC's: generated =
  initial states + every successor computed, depth with the initial states as level 1.
* **Counterexamples**: parents are not kept; a violation is walked back a level at a time by
  running that level's actions again, and the path is rebuilt as an ordinary kripke trace by
  running the plain model (``_Search._trace``), so it replays in the plain engine by
  construction.

* **Symmetry** (``Orbits``): when renaming ids only moves slots, each row is replaced by its
  orbit's representative (the ids sorted by their slots' values), so the orbit counts are the
  plain engine's; otherwise the search runs without, and says why. Each new state is compared
  with a renaming of it on the batch (``_probe``, as the plain engine's probe): a difference
  starts the search again without symmetry.

Checked on the batch: invariants, sometimes-properties, step properties (on every step that
changes the state), refinements (``_Image``: the mapping traced into terms over the state, each
step that changes the image looked up among the abstract model's steps, and the initial
states' images among its initial states), deadlock (with ``terminal()``), and the paths on
which an action raises or leaves its types; after the search, always-possible properties
(``always_possible``: backwards from the states where p holds, a level of successors made
again at a time). Not yet: temporal properties and state constraints; each is refused with one
line that suggests ``--engine plain`` (``Unsupported``), which ``--engine auto`` takes as its
cue to stay plain.
"""

import functools
import itertools
import math
import random
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import z3

from kripke.checkers.explicit import _Finding, _Search, _SymmetryBroken, _error_text
from kripke.checkers.symbolic import OutOfType, SymbolicModel, TraceError
from kripke.checkers.symmetry_check import _Comparison
from kripke.common import speedups
from kripke.errors import ParamError
from kripke.models.system import TransitionSystem
from kripke.models.types import (Array, Bag, Bool, Enum, Id, Int, Map, OneOf, Optional, RecordType,
                                 Seq, Set)

__all__ = ["Packing", "Program", "Unsupported", "VectorSearch", "unsupported"]

_U = np.uint64
#: a level of at least this many states is expanded on two threads
_SPLIT = 100_000
#: the symmetry probe: renamings drawn per level, and one state in this many compared on its
#: successors (as the plain engine's TranspositionProbe, ``every=16``)
_RENAMINGS, _PROBE_STEPS = 8, 16
#: the C extension, when it is built: the kernels of ``_emit_keys``, ``_fresh_firsts`` and
#: ``_merge_into``
_C = speedups()


def _slot_bounds(layout):
    """``(lo, hi)`` of each z3 constant of ``layout`` (``checkers.symbolic.Layout``),
    in the order of ``Layout.fresh``."""
    t = layout.t
    if isinstance(t, Bool):
        yield 0, 1
    elif isinstance(t, (Enum, Int, Id)):
        yield layout.lo, layout.hi
    elif isinstance(t, Optional):
        yield 0, 1
        yield from _slot_bounds(layout.inner)
    elif isinstance(t, Array):
        for _ in range(layout.n):
            yield from _slot_bounds(layout.inner)
    elif isinstance(t, Set):
        for _ in range(layout.width):
            yield 0, 1
    elif isinstance(t, Map):
        for _ in layout.universe:
            yield 0, 1
            yield from _slot_bounds(layout.inner)
    elif isinstance(t, Bag):
        for _ in range(layout.width):
            yield 0, layout.n
    elif isinstance(t, Seq):
        yield 0, layout.n
        for _ in range(layout.n):
            yield from _slot_bounds(layout.inner)
    elif isinstance(t, RecordType):
        for f in layout.fields:
            yield from _slot_bounds(f)
    elif isinstance(t, OneOf):
        yield 0, len(layout.options) - 1
        for o in layout.options:
            yield from _slot_bounds(o)


def _slot_guards(layout, k=0, outer=()):
    """What must hold for each slot of ``layout`` (numbered from ``k``, in the order of
    ``_slot_bounds``) to be read at all: ``(slot, value in the slot)`` pairs, an Optional's or
    a Map entry's presence, a OneOf's tag, a Seq's length (all its items), outermost first."""
    t = layout.t
    if isinstance(t, (Bool, Enum, Int, Id)):
        return [outer]
    if isinstance(t, (Set, Bag)):
        return [outer] * layout.width
    if isinstance(t, Optional):
        return [outer] + _slot_guards(layout.inner, k + 1, outer + ((k, 1),))
    out = []
    if isinstance(t, Map):
        for _ in layout.universe:
            here = k + len(out)
            out += [outer] + _slot_guards(layout.inner, here + 1, outer + ((here, 1),))
        return out
    if isinstance(t, Seq):
        out.append(outer)
        for _ in range(layout.n):
            out += _slot_guards(layout.inner, k + len(out), outer + ((k, layout.n),))
        return out
    if isinstance(t, OneOf):
        out.append(outer)
        for i, option in enumerate(layout.options):
            out += _slot_guards(option, k + len(out), outer + ((k, i),))
        return out
    parts = [layout.inner] * layout.n if isinstance(t, Array) else layout.fields
    for part in parts:
        out += _slot_guards(part, k + len(out), outer)
    return out


class Packing:
    """Where each slot of a state lives in its row of ``words`` uint64: ``slots[i] = (word,
    shift, bits, lo)`` for the i-th constant of ``sm.x``; ``guards[i]``, the ``(slot, value)``
    pairs that must hold for slot i to be read (``_slot_guards``)."""

    def __init__(self, sm):
        self.sm = sm
        self.slots, self.index = [], {}
        self.next_index = {}  # the successor's constants (a step property's sm.y), by slot
        word, used = 0, 0
        names = list(sm.model.State._fields)
        k = 0
        for name, layout in zip(names, sm.layouts):
            for lo, hi in _slot_bounds(layout):
                bits = max(1, (hi - lo).bit_length())
                if bits > 64:
                    raise TraceError(f"{sm.model.display_name()}.{name}: a slot of {bits} bits "
                                     f"({lo}..{hi}) does not fit a 64-bit word")
                if used + bits > 64:
                    word, used = word + 1, 0
                self.slots.append((word, used, bits, lo))
                self.index[sm.x[k].get_id()] = k
                self.next_index[sm.y[k].get_id()] = k
                used += bits
                k += 1
        if k != len(sm.x):  # the walk above must mirror Layout.fresh
            raise AssertionError(f"{k} slots packed for {len(sm.x)} constants")
        self.guards = []
        for layout in sm.layouts:
            self.guards += _slot_guards(layout, len(self.guards))
        self.words = word + 1
        self.bits = 64 * word + used
        self.positions = range(len(self.slots))  # a row's slot values, as decode reads them
        self.memo = {}  # (layout, value) -> its slot values (pack)

    def pack(self, state):
        """The row of a concrete state (``OutOfType`` for a value its slot cannot hold).
        Each element of an array, and each other field, is encoded once per value and
        memoised (``_slot_values``): a refinement packs every abstract state it meets."""
        if not isinstance(state, self.sm.model.State):
            raise TraceError(f"a {type(state).__name__}, not a State record, cannot be packed")
        row = [0] * self.words
        values = [v for layout, x in zip(self.sm.layouts, tuple.__iter__(state))
                  for v in _slot_values(layout, x, self.memo)]
        for v, (word, shift, bits, lo) in zip(values, self.slots):
            if not 0 <= v - lo < 1 << bits:
                raise OutOfType(f"{v} does not fit a slot of {lo}..{lo + (1 << bits) - 1}")
            row[word] |= (v - lo) << shift
        return row

    def unpack(self, row):
        """The concrete state of a row."""
        values = [((int(row[word]) >> shift) & ((1 << bits) - 1)) + lo
                  for word, shift, bits, lo in self.slots]
        return self.sm.decode(values.__getitem__, self.positions)

    def unpack_batch(self, batch):
        """The concrete states of a batch's rows (its slots read as columns, once each)."""
        columns = np.stack([batch.field(i) for i in range(len(self.slots))], axis=1) \
            if batch.n else np.zeros((0, len(self.slots)), dtype=_INT)
        return [self.sm.decode(values.__getitem__, self.positions)
                for values in columns.tolist()]


def _slot_values(layout, v, memo):
    """The slot values (ints) of the concrete value ``v`` of ``layout``: an array's element
    by element, any other value whole, each found once by ``Layout.terms`` and memoised."""
    if isinstance(layout.t, Array) and type(v) is tuple and len(v) == layout.n:
        return [x for item in v for x in _slot_values(layout.inner, item, memo)]
    key = (id(layout), type(v), v)
    got = memo.get(key)
    if got is None:
        got = memo[key] = [int(z3.is_true(t)) if z3.is_bool(t) else t.as_signed_long()
                           for t in map(z3.simplify, layout.terms(v))]
    return got


class Orbits:
    """Symmetry reduction on a batch: each row replaced by the canonical representative of its
    orbit under permutations of ``domain``, with orbit counts equal to the plain engine's.

    It holds when renaming ids only moves slots: a slot belongs to one id (``rm_state[2]``; the
    bit of 2 in ``tm_prepared``; the bit of ``Prepared(rm=2)`` in ``msgs``) or to none
    (``tm_state``), and no slot's *value* is an id. Then the ids' groups of slots, aligned, are
    all that a renaming permutes, and sorting the ids by their groups' values (the group as one
    key, in as many 64-bit words as it needs) gives one representative per orbit. The slot
    groups are found by probing: a row with one slot set is decoded, renamed by each
    transposition (``Canonicalizer.permute``) and packed again. ``Orbits(...)`` raises
    ``TraceError`` (why) when the layout is not of that form."""

    def __init__(self, packing, canon):
        self.packing, n = packing, canon.n
        self._at = {(word, shift): k for k, (word, shift, _, _) in enumerate(packing.slots)}
        moves = {}  # (a, b) -> slot -> slot it moves to under the transposition of a and b
        for a, b in itertools.combinations(range(n), 2):
            perm = list(range(n))
            perm[a], perm[b] = b, a
            moved = moves[a, b] = []
            for j in range(len(packing.slots)):
                moved.append(self._moved(canon, perm, j, moved))
        owner = []  # the id each slot belongs to: moved by every transposition of it, no other
        for j in range(len(packing.slots)):
            ids = {e for (a, b), m in moves.items() if m[j] != j for e in (a, b)}
            mine = [e for e in ids if all(moves[min(e, f), max(e, f)][j] != j
                                          for f in range(n) if f != e)]
            if n == 2 and ids:  # one transposition: a slot and its image are the two ids'
                mine = [0 if j < moves[0, 1][j] else 1]
            if len(mine) > 1 or (ids and not mine):
                raise TraceError(f"slot {j} names more than one id")
            owner.append(mine[0] if mine else None)
        base = [j for j in range(len(packing.slots)) if owner[j] == 0]
        groups = []  # per id, its slots aligned with id 0's
        for e in range(n):
            group = [j if e == 0 else moves[0, e][j] for j in base]
            if sorted(group) != sorted(j for j in range(len(packing.slots)) if owner[j] == e):
                raise TraceError(f"the slots of id {e} do not mirror those of id 0")
            groups.append(group)
        self.n = n
        # An id's key: its slots' values side by side in words of 64 bits (a slot in one). A
        # run of slots that lie side by side in the row for every id (an acceptor's messages
        # in paxos's msgs) is moved as one field: (key word, shift there, bits, per id its
        # (row word, shift)).
        self.fields, word, used = [], 0, 0
        for i, j in enumerate(base):
            bits = packing.slots[j][2]
            at = [packing.slots[g[i]][:2] for g in groups]
            if used + bits > 64:
                word, used = word + 1, 0
            last = self.fields[-1] if self.fields else None
            if last is not None and last[0] == word and last[1] + last[2] == used and all(
                    w == lw and sh == lsh + last[2] for (w, sh), (lw, lsh) in zip(at, last[3])):
                self.fields[-1] = (word, last[1], last[2] + bits, last[3])
            else:
                self.fields.append((word, used, bits, at))
            used += bits
        self.key_words = word + 1
        keep = [(1 << 64) - 1] * packing.words
        for group in groups:
            for j in group:
                w, shift, bits, _ = packing.slots[j]
                keep[w] &= ~(((1 << bits) - 1) << shift)
        self.keep = np.array(keep, dtype=_U)

    def _moved(self, canon, perm, j, moved):
        """Where slot ``j`` goes when the ids are renamed by ``perm`` (a TraceError when the
        renaming changes a value rather than moving it). The slot is probed at its least value
        but one, with its guards set (an Optional present, a OneOf's tag: else the slot is not
        read), whose own places under ``perm`` are ``moved`` (they come before it)."""
        packing = self.packing
        word, shift, bits, lo = packing.slots[j]
        row, guards = [0] * packing.words, [0] * packing.words
        for g, value in packing.guards[j]:
            w, sh, _, g_lo = packing.slots[g]
            row[w] |= (value - g_lo) << sh
            w, sh, _, _ = packing.slots[moved[g]]
            guards[w] |= (value - g_lo) << sh
        row[word] |= 1 << shift
        try:
            renamed = packing.pack(canon.permute(packing.unpack(row), perm))
        except Exception as e:  # an unpacked row that is no state (a value with no meaning)
            raise TraceError(f"slot {j} cannot be probed: {type(e).__name__}: {e}") from None
        rest = [r ^ g if r & g == g else -1 for r, g in zip(renamed, guards)]
        set_words = [w for w, v in enumerate(rest) if v]
        if len(set_words) == 1 and rest[set_words[0]] > 0:
            v = rest[set_words[0]]
            k = self._at.get((set_words[0], v.bit_length() - 1))
            if k is not None and v & (v - 1) == 0 and packing.slots[k][2] == bits:
                return k
        raise TraceError(f"renaming ids changes the value of slot {j}, not its place")

    def rename(self, rows, perm):
        """Each row with its ids renamed by ``perm`` (id e becomes ``perm[e]``): the values of
        e's slots move to those of ``perm[e]``."""
        wide = rows.reshape(len(rows), self.packing.words)
        out = wide & self.keep
        for _, _, bits, places in self.fields:
            mask = _U((1 << bits) - 1)
            for e, (word, shift) in enumerate(places):
                to_word, to_shift = places[perm[e]]
                out[:, to_word] |= ((wide[:, word] >> _U(shift)) & mask) << _U(to_shift)
        return out.reshape(rows.shape)

    def canonical(self, rows):
        """The representative of each row's orbit."""
        wide, m = rows.reshape(len(rows), self.packing.words), len(rows)
        keys = np.zeros((m, self.n, self.key_words), _U)
        for kw, at, bits, places in self.fields:
            mask = _U((1 << bits) - 1)
            for e, (word, shift) in enumerate(places):
                keys[:, e, kw] |= ((wide[:, word] >> _U(shift)) & mask) << _U(at)
        if self.key_words == 1:
            keys = np.sort(keys.reshape(m, self.n), axis=1).reshape(m, self.n, 1)
        else:  # the keys of several words as opaque values: any total order is canonical
            opaque = keys.view(np.dtype((np.void, 8 * self.key_words))).reshape(m, self.n)
            keys = np.sort(opaque, axis=1).view(_U).reshape(m, self.n, self.key_words)
        out = wide & self.keep
        for kw, at, bits, places in self.fields:
            mask = _U((1 << bits) - 1)
            for e, (word, shift) in enumerate(places):
                out[:, word] |= ((keys[:, e, kw] >> _U(at)) & mask) << _U(shift)
        return out.reshape(rows.shape)


class _Batch:
    """The rows of a level as numpy columns, each read once: ``word(w)`` (uint64) and
    ``field(i)``, slot i's values (int16, as the symbolic encoding's integers)."""

    def __init__(self, packing, rows):
        self.packing, self.rows, self.n = packing, rows, len(rows)
        self.words, self.fields = {}, {}
        self.memo = {}  # node -> its value on these rows (Program.value)
        self.next = None  # for a step property: the batch of each row's successor
        self.selected = {}  # node -> the rows where it holds (Program.select)
        #: ``(batch, rows)`` when these rows were selected from ``batch`` (``rows``: a mask),
        #: whose values then serve these rows too
        self.origin = None

    def word(self, w):
        col = self.words.get(w)
        if col is None:
            col = self.words[w] = self.rows[:, w] if self.rows.ndim == 2 else self.rows
        return col

    def field(self, i):
        v = self.fields.get(i)
        if v is None:
            word, shift, bits, lo = self.packing.slots[i]
            v = ((self.word(word) >> _U(shift)) & _U((1 << bits) - 1)).astype(_INT)
            if lo:
                v += _INT(lo)
            self.fields[i] = v
        return v


#: integers are evaluated as the symbolic back end encodes them: two's-complement bit-vectors of
#: checkers.symbolic.WIDTH (16) bits, which numpy's int16 arithmetic is, wrapping included
_INT = np.int16


def _signed_div(a, b, remainder):
    """z3's bvsdiv / bvsrem: the quotient truncated toward zero, and the remainder with the
    dividend's sign (by zero: z3's -1 or 1, and the dividend)."""
    a, b = np.asarray(a, dtype=np.int32), np.asarray(b, dtype=np.int32)
    q = np.abs(a) // np.where(b == 0, 1, np.abs(b)) * np.sign(a) * np.sign(b)
    q = np.where(b == 0, np.where(a < 0, 1, -1), q)
    return (np.where(b == 0, a, a - b * q) if remainder else q).astype(_INT)


def _ite(c, a, b):
    """If-then-else; ``If(c, 1, 0)`` (how a bool becomes a number) without a select."""
    if isinstance(a, (int, np.integer)) and isinstance(b, (int, np.integer)) \
            and (a, b) in ((1, 0), (0, 1)):
        return (c if a else np.logical_not(c)).astype(_INT) if isinstance(c, np.ndarray) \
            else int(bool(c) == bool(a))
    return np.where(c, a, b)


def _folded(op):
    """z3's n-ary ``op`` (And, Or, bvadd, bvmul) as a left fold of numpy's binary one."""
    def fold(*args):
        return functools.reduce(op, args)
    return fold


_all, _any, _sum, _product = map(_folded, (np.logical_and, np.logical_or, np.add, np.multiply))


def _distinct(*args):
    return _all(True, *[np.not_equal(a, b) for i, a in enumerate(args) for b in args[i + 1:]])


_OPS = {
    z3.Z3_OP_AND: _all, z3.Z3_OP_OR: _any, z3.Z3_OP_NOT: np.logical_not,
    z3.Z3_OP_IMPLIES: lambda a, b: np.logical_or(np.logical_not(a), b),
    z3.Z3_OP_XOR: np.logical_xor, z3.Z3_OP_ITE: _ite,
    z3.Z3_OP_EQ: np.equal, z3.Z3_OP_DISTINCT: _distinct,
    z3.Z3_OP_SLEQ: np.less_equal, z3.Z3_OP_SLT: np.less,
    z3.Z3_OP_SGEQ: np.greater_equal, z3.Z3_OP_SGT: np.greater,
    z3.Z3_OP_BADD: _sum, z3.Z3_OP_BSUB: np.subtract, z3.Z3_OP_BMUL: _product,
    z3.Z3_OP_BNEG: np.negative,
    z3.Z3_OP_BSDIV: lambda a, b: _signed_div(a, b, False),
    z3.Z3_OP_BSDIV_I: lambda a, b: _signed_div(a, b, False),
    z3.Z3_OP_BSREM: lambda a, b: _signed_div(a, b, True),
    z3.Z3_OP_BSREM_I: lambda a, b: _signed_div(a, b, True),
}


#: z3's pseudo-Boolean constraints (a count compared with a constant: ``SCount``), by kind
_PSEUDO_BOOLEAN = {z3.Z3_OP_PB_LE: np.less_equal, z3.Z3_OP_PB_AT_MOST: np.less_equal,
                   z3.Z3_OP_PB_GE: np.greater_equal, z3.Z3_OP_PB_AT_LEAST: np.greater_equal,
                   z3.Z3_OP_PB_EQ: np.equal}


def _pseudo_boolean(compare, k, weights):
    """The weighted count of the booleans it is given, compared with ``k``."""
    def holds(*bits):
        total = 0
        for w, b in zip(weights, bits):
            total = total + w * (b.astype(np.int32) if isinstance(b, np.ndarray) else int(b))
        return compare(total, k)
    return holds


class Program:
    """The traced terms compiled once into numpy steps, shared sub-terms once (by z3 term id):
    ``compile(term)`` gives a node; ``value(node, batch)`` its value on every row of a
    batch, a numpy array or a Python scalar (a term that does not depend on the state). A test
    of a slot against a constant reads the packed word (``(word & mask) == bits``) without
    unpacking the slot."""

    def __init__(self, packing):
        self.packing, self.nodes, self.ids = packing, [], {}
        self.terms = []  # the compiled terms, kept alive: z3 reuses a freed term's id

    def compile(self, term, what):
        key = term.get_id()
        node = self.ids.get(key)
        if node is not None:
            return node
        if z3.is_true(term) or z3.is_false(term):
            spec = ("k", z3.is_true(term))
        elif z3.is_bv_value(term):
            spec = ("k", _INT(term.as_signed_long()))
        elif z3.is_const(term):
            slot, after = self.packing.index.get(key), False
            if slot is None:  # a step property's successor
                slot, after = self.packing.next_index.get(key), True
            if slot is None:
                raise TraceError(f"{what}: the term {term} names no slot of the state")
            spec = ("bit" if z3.is_bool(term) else "slot", slot, after)
        else:
            kind, args = term.decl().kind(), term.children()
            if kind in _PSEUDO_BOOLEAN:
                params = term.decl().params()
                weights = params[1:] if len(params) > 1 else [1] * len(args)
                spec = ("op", _pseudo_boolean(_PSEUDO_BOOLEAN[kind], params[0], weights),
                        [self.compile(a, what) for a in args])
            elif kind not in _OPS:
                raise TraceError(f"{what}: {term.decl()} (in {term}) cannot be evaluated on a "
                                 "batch; use --engine plain")
            else:
                spec = self._equality(kind, args)
                if spec is None:
                    spec = ("op", _OPS[kind], [self.compile(a, what) for a in args])
        self.nodes.append(spec)
        self.terms.append(term)
        node = self.ids[key] = len(self.nodes) - 1
        return node

    def per_state(self, fn):
        """A node whose value on a batch is ``fn`` of each row's decoded state (an int8 per
        row): a property the tracer refuses, run as the plain engine runs it."""
        self.nodes.append(("states", fn))
        self.terms.append(None)
        return len(self.nodes) - 1

    def derived(self, op, node, constant):
        """A node: ``op`` of ``node``'s value and a constant."""
        self.nodes.append(("op", op, [node, self._constant(constant)]))
        self.terms.append(None)
        return len(self.nodes) - 1

    def _constant(self, value):
        self.nodes.append(("k", value))
        self.terms.append(None)
        return len(self.nodes) - 1

    def _equality(self, kind, args):
        """``slot == constant`` as a test of the packed word, or None."""
        if kind != z3.Z3_OP_EQ or len(args) != 2:
            return None
        a, b = args
        if z3.is_bv_value(a):
            a, b = b, a
        if not (z3.is_const(a) and z3.is_bv_value(b)):
            return None
        slot, after = self.packing.index.get(a.get_id()), False
        if slot is None:
            slot, after = self.packing.next_index.get(a.get_id()), True
        if slot is None:
            return None
        word, shift, bits, lo = self.packing.slots[slot]
        v = b.as_signed_long() - lo
        if not 0 <= v < 1 << bits:
            return ("k", False)
        return ("word", word, ((1 << bits) - 1) << shift, v << shift, after)

    def select(self, node, batch):
        """``(rows, index)``: the rows of ``batch`` where the condition ``node`` holds, as a
        batch of their own, and their positions in ``batch``. A conjunction selects by its first
        conjunct, then tests the others on those rows only: the actions of a model mostly share
        their first guard (``tm_state == "init"``, ``Commit() in msgs``), so that each is
        tested once per level and the rest on fewer rows, as a hand-written BFS would."""
        got = batch.selected.get(node)
        if got is not None:
            return got
        spec = self.nodes[node]
        if spec[0] == "op" and spec[1] is _all and len(spec[2]) > 1:
            first, rest = spec[2][0], spec[2][1:]
            sub, idx = self.select(first, batch)
            holds = _mask(_all(*[self.value(a, sub) for a in rest]), sub.n)
            got = (_Batch(self.packing, sub.rows[holds]), idx[holds])
            got[0].origin = sub, holds  # (a path's count, its writes: parts of its condition)
        else:
            idx = np.flatnonzero(_mask(self.value(node, batch), batch.n))
            got = (_Batch(self.packing, batch.rows[idx]), idx)
        batch.selected[node] = got
        return got

    def value(self, node, batch):
        memo = batch.memo
        got = memo.get(node)
        if got is not None:
            return got
        if batch.origin is not None:
            source, rows = batch.origin
            got = source.memo.get(node)
            if isinstance(got, np.ndarray):
                got = memo[node] = got[rows]
                return got
        spec = self.nodes[node]
        kind = spec[0]
        if kind == "k":
            return spec[1]
        if kind == "word":
            rows = batch.next if spec[4] else batch
            got = (rows.word(spec[1]) & _U(spec[2])) == _U(spec[3])
        elif kind == "bit":
            word, shift, _, _ = self.packing.slots[spec[1]]
            got = ((batch.next if spec[2] else batch).word(word) & _U(1 << shift)) != _U(0)
        elif kind == "slot":
            got = (batch.next if spec[2] else batch).field(spec[1])
        elif kind == "states":
            got = np.fromiter(map(spec[1], self.packing.unpack_batch(batch)), dtype=np.int8,
                              count=batch.n)
        else:
            got = spec[1](*[self.value(a, batch) for a in spec[2]])
        memo[node] = got
        return got


def _mask(value, n):
    """A condition's value as a boolean array of ``n`` rows."""
    if isinstance(value, np.ndarray):
        return value
    return np.full(n, bool(value))


class _Path:
    """One path of an action instance: its condition, and what it writes: per word, the bits it
    keeps and the bits of the slots it sets to constants, and the slots it computes; ``count``,
    the number of successors alike it makes from a state (``[t] * k``; None: one), all of them
    generated states as in TLC."""

    def __init__(self, program, cond, terms, what, count=None):
        packing = program.packing
        self.cond = program.compile(cond, what)
        self.count = None if count is None else program.compile(count, what)
        x = packing.sm.x
        keep, bits_set, self.changed = [(1 << 64) - 1] * packing.words, [0] * packing.words, []
        for i, t in enumerate(terms):
            if t.eq(x[i]):
                continue
            word, shift, bits, lo = packing.slots[i]
            keep[word] &= ~(((1 << bits) - 1) << shift)
            if z3.is_bv_value(t) or z3.is_true(t) or z3.is_false(t):
                v = int(z3.is_true(t)) if z3.is_bool(t) else t.as_signed_long()
                _in_slot(v, v, packing.slots[i], what)
                bits_set[word] |= (v - lo) << shift
            else:
                self.changed.append((i, program.compile(t, what)))
        self.keep, self.bits_set = np.array(keep, dtype=_U), np.array(bits_set, dtype=_U)

    def generated(self, program, parents):
        """How many successors this path makes from the batch ``parents``."""
        if self.count is None:
            return parents.n
        count = program.value(self.count, parents)
        if isinstance(count, np.ndarray):
            return int(count.sum(dtype=np.int64))
        return int(count) * parents.n

    def successors(self, program, parents, what):
        """The rows of the successors of the batch ``parents`` (the rows this path selects)."""
        rows = parents.rows
        if rows.ndim == 1:
            out = (rows & self.keep[0]) | self.bits_set[0]
        else:
            out = (rows & self.keep) | self.bits_set
        for i, node in self.changed:
            word, shift, bits, lo = program.packing.slots[i]
            v = np.broadcast_to(np.asarray(program.value(node, parents), dtype=np.int64),
                                (len(rows),))  # (a bool written to a Bool slot: 0 or 1)
            if v.size:
                _in_slot(v.min(), v.max(), program.packing.slots[i], what)
            bits_in = (v - lo).astype(_U) << _U(shift)
            if rows.ndim == 2:
                out[:, word] |= bits_in
            else:
                out |= bits_in
        return out


def _in_slot(least, most, slot, what):
    """Values from ``least`` to ``most`` fit ``slot``, or a TraceError."""
    _, _, bits, lo = slot
    if least < lo or most > lo + (1 << bits) - 1:
        raise TraceError(f"{what} writes {least}..{most} to a slot of {lo}.."
                         f"{lo + (1 << bits) - 1}: the symbolic trace should have refused it "
                         "(please report it); use --engine plain")


class _Image:
    """A refinement (``specs.properties.Refinement``: TLA+'s ``INSTANCE ... WITH`` and ``Spec =>
    A!Spec``, for safety) on the batch: the image of each row under the mapping, traced by
    ``SymbolicModel.image`` and packed as a state of the abstract model (``keys``), and which
    pairs of images are steps of the abstract model (``refused``).

    The abstract steps are not traced (a spec written for reading forks a lot: TCommit's
    ``Decide`` over 9 RMs takes thousands of paths): they are the abstract model's own
    successors, once per abstract state, as the plain engine takes them
    (``RefinementCheck.allowed``), kept as sorted keys of (image, image) pairs. The images
    asked about are mostly abstract initial states or allowed successors of earlier images,
    packed from their abstract states first: ``known`` maps them back (others, e.g. the image of
    an orbit's representative, are unpacked)."""

    def __init__(self, prop, check, sm, program):
        self.name, self.check = prop.name, check
        abstract, terms = sm.image(prop, check.spec)
        self.packing = Packing(abstract)
        nodes = [program.compile(t, f"refinement {prop.name}") for t in terms]
        # The slots the image copies as they are (the same width and least value: TwoPhase's
        # rm_state) are moved a run at a time, by one mask and shift each: (word of the state,
        # word of the image, shift) -> mask; the others are computed (``computed``).
        self.copied, self.computed = {}, []
        for node, (word, shift, bits, lo) in zip(nodes, self.packing.slots):
            spec = program.nodes[node]
            if spec[0] in ("slot", "bit") and program.packing.slots[spec[1]][2:] == (bits, lo):
                from_word, from_shift = program.packing.slots[spec[1]][:2]
                run = (from_word, word, from_shift - shift)
                self.copied[run] = self.copied.get(run, 0) | ((1 << bits) - 1) << from_shift
            else:
                self.computed.append((node, (word, shift, bits, lo)))
        #: the slots of the state the image reads: a path that writes none of them stutters
        self.reads = {program.packing.index[c.get_id()] for t in terms
                      for c in z3.z3util.get_vars(t)}
        words, bits = self.packing.words, self.packing.bits
        #: a pair of images as one uint64 (image << shift | image) when both fit
        self.shift = bits if words == 1 and 2 * bits <= 64 else None
        self.known = {}  # an image's key -> its value (RefinementCheck's image of a state)
        self.key_of = {}  # and back (an abstract state is the successor of many)
        self.inits = {self._key(a) for a in check.inits}
        self.expanded = set()  # the images whose abstract steps are in ``allowed``
        self.allowed = np.zeros(0, _U) if self.shift is not None \
            else np.zeros((0, 2 * words), _U)

    def _key(self, a):
        """The key of the image ``a`` (an int, or a tuple of words), noted in ``known``; None
        when the abstract state lies outside the abstract model's types (no image is one)."""
        if a in self.key_of:
            return self.key_of[a]
        try:
            row = self.packing.pack(self.check.state(a))
            key = row[0] if self.packing.words == 1 else tuple(row)
            self.known[key] = a
        except OutOfType:
            key = None
        self.key_of[a] = key
        return key

    def keys(self, program, batch):
        """The image of each row of ``batch``: one uint64 each, or a row of words."""
        words = self.packing.words
        out = np.zeros(batch.n if words == 1 else (batch.n, words), _U)
        for (from_word, word, shift), mask in self.copied.items():
            bits_in = batch.word(from_word) & _U(mask)
            bits_in = bits_in >> _U(shift) if shift >= 0 else bits_in << _U(-shift)
            if words == 1:
                out |= bits_in
            else:
                out[:, word] |= bits_in
        for node, (word, shift, bits, lo) in self.computed:
            v = np.broadcast_to(np.asarray(program.value(node, batch), dtype=np.int64),
                                (batch.n,))
            if v.size and (v.min() < lo or v.max() > lo + (1 << bits) - 1):
                raise TraceError(f"refinement {self.name} maps a state to a value outside the "
                                 f"abstract model's types ({v.min()}..{v.max()} for a slot of "
                                 f"{lo}..{lo + (1 << bits) - 1}); use --engine plain")
            bits_in = (v - lo).astype(_U) << _U(shift)
            if words == 1:
                out |= bits_in
            else:
                out[:, word] |= bits_in
        return out

    def key(self, row):
        """The key of an image from ``keys``: an int, or a tuple of words."""
        return int(row) if self.packing.words == 1 else tuple(map(int, row))

    def where(self, keys, key):
        """Which of ``keys`` (from ``keys``) are the image ``key``."""
        if self.packing.words == 1:
            return keys == _U(key)
        return (keys == np.array(key, _U)).all(axis=1)

    def pairs(self, a, b):
        """The steps from images ``a`` to images ``b`` that change the image, each once,
        sorted: keys of (a, b)."""
        moved = a != b if a.ndim == 1 else (a != b).any(axis=1)
        a, b = a[moved], b[moved]
        if self.shift is not None:
            return _unique((a << _U(self.shift)) | b)
        return _unique(np.concatenate([a.reshape(len(a), -1), b.reshape(len(b), -1)], axis=1))

    def split(self, pair):
        """A pair's key as its two images' keys."""
        if self.shift is not None:
            return int(pair) >> self.shift, int(pair) & ((1 << self.shift) - 1)
        w = self.packing.words
        a, b = [int(x) for x in pair[:w]], [int(x) for x in pair[w:]]
        return (a[0], b[0]) if w == 1 else (tuple(a), tuple(b))

    def refused(self, pairs):
        """The first of the sorted keys ``pairs`` that is no abstract step, as two images' keys,
        or None; the abstract steps from each image not met before are added first."""
        new = []
        sources = (np.unique(pairs >> _U(self.shift)) if self.shift is not None
                   else _unique(pairs[:, :self.packing.words]))
        for a in sources:
            a = self.key(a[0] if a.ndim == 1 and len(a) == 1 else a)
            if a in self.expanded:
                continue
            self.expanded.add(a)
            if a not in self.known:
                self.known[a] = self.check.image_value(self.packing.unpack(
                    [a] if self.packing.words == 1 else list(a)))
            for b in self.check.allowed(self.known[a]):
                b = self._key(b)
                if b is not None:
                    new.append((a, b))
        if new:
            if self.shift is not None:
                more = np.array([a << self.shift | b for a, b in new], dtype=_U)
            else:
                as_row = (lambda k: [k]) if self.packing.words == 1 else list
                more = np.array([as_row(a) + as_row(b) for a, b in new], dtype=_U)
            self.allowed = _merge(self.allowed, _unique(more))
        ok = _member(self.allowed, pairs)
        return None if ok.all() else self.split(pairs[int(np.flatnonzero(~ok)[0])])


class Unsupported(ParamError):
    """What the vector engine cannot check (yet), found before it searches: one line, and the
    plain engine suggested."""


def unsupported(model, props):
    """Why ``--engine vector`` cannot check ``props`` of ``model`` yet (one line), or None."""
    kinds = {p.kind for p in props} - {"invariant", "sometimes", "step", "refinement",
                                       "always_possible"}
    if any(p.temporal for p in props):
        return "temporal properties"
    if kinds:
        return f"{sorted(kinds)[0].replace('_', '-')} properties"
    if type(model).within is not TransitionSystem.within:
        return "state constraints (within())"
    if model.variables is None:
        return "untyped state (declare the variables' types)"
    return None


class VectorSearch(_Search):
    """The search of ``--engine vector``; ``check`` reads it like the plain ``_Search``."""

    def __init__(self, model, props, limits, deadlock, progress, keep_going, canon=None,
                 insist=False):
        why = unsupported(model, props)
        if why is not None:
            raise Unsupported(f"--engine vector does not check {why} yet; use --engine plain")
        super().__init__(model, props, None, None, False, limits, deadlock, progress,
                         keep_going)
        try:
            self._compile(model, props)
        except TraceError as e:
            raise Unsupported(f"--engine vector: {e}; use --engine plain") from None
        #: ``Orbits`` when the search reduces by symmetry (``canon``, tested by ``check``), and
        #: why it does not when the layout does not allow it (``insist``: an error instead)
        self.orbits, self.symmetry_off = None, None
        if canon is not None:
            try:
                self.orbits = Orbits(self.packing, canon)
            except TraceError as e:
                why = f"--engine vector cannot reduce {model.display_name()} by symmetry: {e}"
                if insist:
                    raise Unsupported(f"{why}; use --engine plain") from None
                self.symmetry_off, canon = why, None
        self.canon = canon  # the orbit's fingerprint names a state of a counterexample
        if self.orbits is not None:  # what the probe compares on a state and its renaming
            self._compare = _Comparison(model, canon, model.symmetric_domain(), props, deadlock)
            self._symmetric = [node for p in props if p.kind in ("invariant", "sometimes",
                                                                 "always_possible")
                               and p.name in self.conds
                               for node in (self.conds[p.name], self.raising.get(p.name))
                               if node is not None]
            if deadlock and self.terminal is not None:
                self._symmetric.append(self.terminal)
        #: every path with its call, numbered in the order of the calls
        self.numbered = [(k, path) for k, paths in enumerate(self.paths) for path in paths]
        self.path_call = np.array([k for k, _ in self.numbered] or [0], dtype=np.intp)
        #: per path, the slots it writes (a refinement's image changes only where one is read)
        self.writes = [{i for i, (word, shift, _, _) in enumerate(self.packing.slots)
                        if not int(path.keep[word]) >> shift & 1} for _, path in self.numbered]
        #: the bits a path's number takes below a state in a sort key; None: no room for it
        tag_bits = max(1, (len(self.numbered) - 1).bit_length())
        self.tag_bits = (tag_bits if self.packing.words == 1
                         and self.packing.bits + tag_bits <= 64 else None)
        self.levels = []  # per level, its states (rows), sorted
        self.visited = None  # every state reached so far, sorted (the levels merged)
        self.distinct = 0
        self.seen = _Count(self)
        self._parents = {}

    def _compile(self, model, props):
        """Trace the model's actions and ``props`` and compile them (a ``TraceError`` for
        anything the tracer or the layout cannot take)."""
        self.sm = SymbolicModel(model)
        self.packing = Packing(self.sm)
        self.actions = self.sm.actions
        program = self.program = Program(self.packing)
        # type_ok holds by construction: every slot keeps to its declared bounds, and a path
        # that writes outside them is a hazard.
        self.raising = {}  # property -> where it raises (found as the plain engine finds it)
        #: {property: why the tracer refused it}: those checked on each decoded state instead
        self.per_state = {}
        self.conds = {p.name: self._traced(p) for p in props if p.kind != "refinement"
                      and not (p.name == "type_ok" and model.type_checks is not None)}
        checks = dict(self.refinements)
        self.images = {p.name: _Image(p, checks[p.name], self.sm, program) for p in props
                       if p.kind == "refinement"}
        #: the paths on which an action raises or leaves its types: found where they are enabled
        self.hazards = [(kind, program.compile(cond, f"action {name}"))
                        for name, _, kind, cond in self.sm.hazards]
        #: may a state have no successor? (TransitionSystem.terminal, traced like a property)
        self.terminal = (None if type(model).terminal is TransitionSystem.terminal
                         else self._traced(_Terminal()))
        self.paths = [[_Path(program, o[0], o[1], f"action {name}", getattr(o, "count", None))
                       for o in paths] for name, _, paths in self.actions]

    def _traced(self, p):
        """The node of the state or step property ``p``: its traced formula, compiled; where it
        raises (on states no search may reach: ``opened_at`` read as None while the breaker
        is open) goes to ``self.raising``, a finding of kind ``exception`` where the search
        meets it. A state property the tracer refuses (vector-clock's: a transitive closure
        built in dicts) is run on each decoded state instead (``Program.per_state``), and
        ``self.per_state`` says why."""
        raising, what = [], f"property {p.name}"
        try:
            formula = (self.sm.step_property if p.kind == "step"
                       else self.sm.invariant)(p, raising)
        except TraceError as e:
            if p.kind == "step":
                raise
            self.per_state[p.name] = str(e)
            model = self.model

            def outcome(s):  # 1 holds, 0 fails, 2 raises (where it is taken to hold)
                try:
                    return 1 if p.condition(model, s) else 0
                except Exception:
                    return 2
            node = self.program.per_state(outcome)
            self.raising[p.name] = self.program.derived(np.equal, node, 2)
            return self.program.derived(np.not_equal, node, 0)
        if raising:
            self.raising[p.name] = self.program.compile(raising[0], what)
        return self.program.compile(formula, what)

    # -- the search ---------------------------------------------------------------------------
    def run(self):
        try:
            self._levels()
        except KeyboardInterrupt:
            self.interrupted = True

    def _rows(self, array):
        return array if self.packing.words > 1 else array.reshape(-1)

    def _levels(self):
        packing, model, program = self.packing, self.model, self.program
        value = program.value
        started = time.perf_counter()
        init = [packing.pack(s) for s in model.init()]
        self.n_init = len(init)
        level = self._rows(np.array(init, dtype=_U).reshape(len(init), packing.words))
        level = _unique(level if self.orbits is None else self.orbits.canonical(level))
        self._probe(level, 0)
        self.levels.append(level)
        visited = self.visited = level
        self.distinct = len(level)
        if not (self._check_initial(level) and self._check_level(0)):
            return  # depth 0, as in the plain engine: the search stopped before its first level
        self.depth = 1 if len(level) else 0
        while len(level):
            if time.perf_counter() >= self.deadline:
                self.bound = f"time_limit={self.time_limit:g}"
                return
            d = len(self.levels) - 1
            batch = _Batch(packing, level)
            for kind, cond in self.hazards:
                hit = _mask(value(cond, batch), len(level))
                if hit.any():
                    prop = "exception" if kind == "exception" else "type_ok"
                    row = _row_of(self.levels[d], level[int(np.flatnonzero(hit)[0])])
                    if not self._finding(prop, kind, d, row, "step"):  # (level may be cut)
                        return
                    if kind == "exception":  # as in the plain engine: not expanded
                        self.broken = True
                        level = level[~hit]
                        batch = _Batch(packing, level)
            # A large level is expanded in two halves on two threads (numpy lets go of the GIL
            # in its loops and sorts); the halves' sorted successors are then merged.
            halves = (level,) if len(level) < _SPLIT else (level[:len(level) // 2],
                                                           level[len(level) // 2:])
            steps = [(name, self.conds[name]) for name, _ in self.steps]
            images = [self.images[name] for name, _ in self.refinements]
            if len(halves) == 1:
                parts = [self._expand(level, visited, batch, steps, images)]
            else:
                with ThreadPoolExecutor(2) as pool:
                    parts = list(pool.map(self._expand, halves, (visited, visited),
                                          (None, None), (steps, steps), (images, images)))
            for _, fired, _, _, _ in parts:
                for k in np.flatnonzero(fired):
                    self.fired[self.sm.calls[k]] += int(fired[k])
            for name, _ in steps:
                failed = [b[name] for _, _, _, b, _ in parts if name in b]
                if failed and not self._finding(name, failed[0][1], d,
                                                _row_of(self.levels[d], failed[0][0]), "step"):
                    return
            for img in images:  # the steps of the level that change the image
                pairs = [p[img.name] for *_, p in parts if img.name in p]
                bad = img.refused(_unique(np.concatenate(pairs))) if pairs else None
                if bad is not None and not self._finding(
                        img.name, "refinement", d, self._refused_row(d, level, img, *bad),
                        "step"):
                    return
            enabled = None if not self.deadlock else np.concatenate([e for _, _, e, _, _ in parts])
            if enabled is not None and not enabled.all():
                stuck = ~enabled
                if self.terminal is not None:
                    stuck &= ~_mask(value(self.terminal, batch), len(level))
                if stuck.any():
                    row = _row_of(self.levels[d], level[int(np.flatnonzero(stuck)[0])])
                    if not self._finding("deadlock", "deadlock", d, row):
                        return
            new, credit = self._new_states([c for c, _, _, _, _ in parts], visited)
            if self.max_depth is not None and self.depth >= self.max_depth:
                if len(new):  # as the plain engine: the last level is expanded, not its successors
                    self.bound = f"max_depth={self.max_depth}"
                return
            if self.max_states is not None and self.distinct + len(new) > self.max_states:
                self.bound = f"max_states={self.max_states}"
                return
            for k in np.flatnonzero(credit):
                self.new[self.sm.calls[k]] += int(credit[k])
            del parts, batch
            self._probe(new, d + 1)
            self.levels.append(new)
            self.distinct += len(new)
            level = new
            if len(new):
                self.depth += 1
            if len(new) < _SPLIT:
                visited = self.visited = _merge(visited, new)
                holds = self._check_level(d + 1)
            else:  # the properties are checked while the visited set takes the new states in
                with ThreadPoolExecutor(1) as pool:
                    merged = pool.submit(_merge, visited, new)
                    holds = self._check_level(d + 1)
                    visited = self.visited = merged.result()
            if not holds:
                return
            if self.progress is not None:
                self.progress({"distinct": self.distinct,
                               "generated": self.n_init + sum(self.fired), "queue": len(level),
                               "depth": self.depth, "elapsed": time.perf_counter() - started})

    def _expand(self, rows, visited, batch=None, steps=(), images=()):
        """Expand ``rows`` (a level, or half of one): ``(successors, fired, enabled, broken,
        pairs)``, the
        successors of each path that change the state (a step to itself reaches nothing new):
        when the layout leaves room for the path's number beside the state, as one sorted array
        of keys, each state once with the first path that reached it and none in ``visited``
        (``_new_states``); else a list of (rows, path number); ``fired`` per call; ``enabled``,
        per row, whether any path is (None without the deadlock check); and, of the step
        properties ``steps`` ((name, node)), those a step fails, each with the row it leaves
        (the first such row, on the first path that fails it); and, per refinement of
        ``images`` (``_Image``), the keys of the pairs of images of the steps that change the
        image, sorted, each once."""
        program = self.program
        batch = batch if batch is not None else _Batch(self.packing, rows)
        chunks, fired, broken = [], np.zeros(len(self.actions), np.int64), {}
        pairs = {img.name: [] for img in images}
        enabled = np.zeros(len(rows), bool) if self.deadlock else None
        # a path that writes constants makes its keys straight from its parents (``_emit_keys``)
        # when its successors are wanted for nothing else
        direct = self.tag_bits is not None and not steps and not images and self.orbits is None
        emits = []
        for j, (k, path) in enumerate(self.numbered):
            parents, idx = program.select(path.cond, batch)
            if not parents.n:
                continue
            fired[k] += path.generated(program, parents)
            if enabled is not None:
                enabled[idx] = True
            if direct and not path.changed:
                emits.append((parents.rows, path, j))
                continue
            succ = path.successors(program, parents, f"action {self.actions[k][0]}")
            moved = succ != parents.rows if succ.ndim == 1 else (succ != parents.rows).any(axis=1)
            if steps and moved.any():  # a stuttering step satisfies them, as [][A]_vars
                pair = _Batch(self.packing, parents.rows[moved])
                pair.next = _Batch(self.packing, succ[moved])
                for name, node in steps:
                    for kind, cond in (("exception", self.raising.get(name)), ("step", node)):
                        if name in broken or cond is None:
                            continue
                        fails = _mask(program.value(cond, pair), pair.n)
                        if kind == "step":
                            fails = ~fails
                        if fails.any():
                            broken[name] = (pair.rows[int(np.flatnonzero(fails)[0])], kind)
            for img in images:
                if moved.any() and not img.reads.isdisjoint(self.writes[j]):
                    pairs[img.name].append(img.pairs(
                        img.keys(program, parents)[moved],
                        img.keys(program, _Batch(self.packing, succ[moved]))))
            succ = succ[moved]  # (rows of several words: their orbits in _new_states, at once)
            chunks.append((succ if self.orbits is None or self.tag_bits is None
                           else self.orbits.canonical(succ), j))
        pairs = {name: _unique(np.concatenate(p)) for name, p in pairs.items() if p}
        if self.tag_bits is None:
            return chunks, fired, enabled, broken, pairs
        keyed = np.empty(sum(len(c) for c, _ in chunks) + sum(len(r) for r, _, _ in emits), _U)
        at = 0
        for c, j in chunks:  # (numpy's out= spares a temporary array per step)
            part = keyed[at:at + len(c)]
            np.left_shift(c, _U(self.tag_bits), out=part)
            np.bitwise_or(part, _U(j), out=part)
            at += len(c)
        for parents, path, j in emits:
            at = _emit_keys(parents, int(path.keep[0]), int(path.bits_set[0]), j, self.tag_bits,
                            keyed, at)
        keyed = keyed[:at]
        keyed.sort(kind="stable")  # timsort: the chunks are long sorted runs
        return _fresh_firsts(keyed, visited, self.tag_bits), fired, enabled, broken, pairs

    def _new_states(self, parts, visited):
        """The successors of a level (``parts``: what ``_expand`` gave for each part of it)
        not in ``visited``, sorted and each once, and how many of them each call reached first
        (credited to the first call, in the order of the calls, that reached a state from any
        state of the level; the plain engine credits the call of the first parent in its queue's
        order, which the sorted level does not keep, so the per-action "new" counts differ
        from the plain engine's while their sum, and the "fired" counts, are the same).

        With one word and room in it for the path's number, a successor and its path are sorted
        as one uint64 (state above, path below): dedup and the first path of each state come
        from one sort, done by ``_expand`` (on each half's thread), and the halves are merged
        here; otherwise the rows are sorted with their path numbers by a stable argsort."""
        calls = self.path_call
        if self.tag_bits is not None:  # each part is fresh, each state once, already
            keyed = parts[0]
            if len(parts) > 1:  # each part fresh already: one key per state of the two
                keyed = np.empty(sum(map(len, parts)), _U)
                _merge_into(*parts, keyed)
                keyed = _fresh_firsts(keyed, keyed[:0], self.tag_bits)
            new = np.right_shift(keyed, _U(self.tag_bits))
            path = np.bitwise_and(keyed, _U((1 << self.tag_bits) - 1)).astype(np.intp)
            return new, np.bincount(calls[path], minlength=len(self.actions))
        chunks = [c for part in parts for c in part]
        if not chunks:
            return visited[:0], np.zeros(len(self.actions), np.int64)
        cand = np.concatenate([c for c, _ in chunks])
        if self.orbits is not None:
            cand = self.orbits.canonical(cand)
        path_of = np.repeat([j for _, j in chunks], [len(c) for c, _ in chunks])
        order = np.argsort(_keys(cand), kind="stable")
        keys = _keys(cand)[order]
        first = np.ones(len(keys), bool)
        first[1:] = keys[1:] != keys[:-1]
        uniq, path = cand[order[first]], path_of[order[first]]
        fresh = ~_member(visited, uniq)
        return uniq[fresh], np.bincount(calls[path[fresh]], minlength=len(self.actions))

    def _probe(self, rows, d):
        """Compare each new state of a symmetric search with a renaming of it, as the plain
        engine's ``TranspositionProbe`` does state by state: on the batch, the state properties
        (and ``terminal()``) of every state, and the orbits of the successors of every 16th;
        each row with one of a few renamings drawn for its level (``d``). A difference is
        worded by ``symmetry_check``'s comparison of the decoded state with its renaming, and
        ``check`` searches again without symmetry (``_SymmetryBroken``)."""
        if self.orbits is None or self.orbits.n < 2 or not len(rows):
            return
        n, draw = self.orbits.n, random.Random(d)
        identity, perms = tuple(range(n)), set()
        while len(perms) < min(_RENAMINGS, math.factorial(n) - 1):
            perm = list(identity)
            draw.shuffle(perm)
            if tuple(perm) != identity:
                perms.add(tuple(perm))
        perms = sorted(perms)
        which = np.arange(len(rows)) % len(perms)  # the renaming of each row
        renamed = rows.copy()
        for r, perm in enumerate(perms):
            renamed[which == r] = self.orbits.rename(rows[which == r], perm)
        a, b = _Batch(self.packing, rows), _Batch(self.packing, renamed)
        for node in self._symmetric:
            differ = (_mask(self.program.value(node, a), len(rows))
                      != _mask(self.program.value(node, b), len(rows)))
            if differ.any():
                i = int(np.flatnonzero(differ)[0])
                self._asymmetric(rows[i], perms[which[i]], "states")
        ours, theirs = (self._successor_orbits(x[::_PROBE_STEPS]) for x in (rows, renamed))
        if not np.array_equal(ours, theirs):  # the first row whose steps differ
            odd = np.concatenate([ours[~_member(theirs, ours)], theirs[~_member(ours, theirs)]])
            i = int(odd[:, 0].min()) * _PROBE_STEPS
            self._asymmetric(rows[i], perms[which[i]], "steps")

    def _successor_orbits(self, rows):
        """``(row number, successor's orbit...)`` of every step from ``rows``, sorted, each
        once (a row of words: the number, then the canonical successor's)."""
        parts = [np.column_stack([idx.astype(_U), succ.reshape(len(succ), self.packing.words)])
                 for idx, succ in self._steps_from(rows)]
        if not parts:
            return np.zeros((0, 1 + self.packing.words), _U)
        return _unique(np.concatenate(parts))

    def _asymmetric(self, row, perm, what):
        """Stop the search: the state of ``row`` is not treated like its renaming by ``perm``
        (``what``: its "states" properties or its "steps"), in the words of the plain probe."""
        s = self.packing.unpack(list(row) if row.ndim else [row])
        ps = self._compare.permute(s, list(perm))
        compare = self._compare.states if what == "states" else self._compare.steps
        reason = None if ps is None else compare(s, [(perm, ps)])
        raise _SymmetryBroken(reason or f"{self._compare.domain.name}: {s!r} and its "
                              f"renaming {perm} differ on the vector engine ({what})")

    def _check_level(self, d):
        """Check the invariants on level ``d`` and look for the sometimes-properties there;
        False when the search stops."""
        rows = self.levels[d]
        if not len(rows):
            return True
        batch = _Batch(self.packing, rows)
        for name, _ in list(self.invariants) + list(self.pending):
            raised = self.raising.get(name)
            hit = None if raised is None else _mask(self.program.value(raised, batch), len(rows))
            if hit is not None and hit.any() and not self._finding(
                    name, "exception", d, int(np.flatnonzero(hit)[0])):
                return False
        for name, _ in list(self.invariants):
            holds = _mask(self.program.value(self.conds[name], batch), len(rows))
            if not holds.all():
                if not self._finding(name, "invariant", d, int(np.flatnonzero(~holds)[0])):
                    return False
        for name, _ in list(self.pending):
            seen = _mask(self.program.value(self.conds[name], batch), len(rows))
            if seen.any():
                self.pending = [p for p in self.pending if p[0] != name]
        return True

    def _finding(self, prop, kind, d, row, what="state"):
        """Record that ``prop`` fails at row ``row`` of level ``d`` (``what`` "step": on a step
        from it), with the plain engine's fingerprints of its path; False when the search
        stops."""
        return self._found(_Finding(what, prop, kind, self._walk_back(d, row)))

    def _walk_back(self, d, row):
        """The plain engine's fingerprint of row ``row`` of level ``d``, with those of its path
        from an initial state noted as parents (``_parents``), for ``violation``."""
        fps, parent = [], None
        while True:
            rows = self.levels[d]
            fps.append(self.fingerprint(self.packing.unpack(self._row(rows, row))))
            if d == 0:
                break
            row, d = self._parent(d, rows[row]), d - 1
        for fp in reversed(fps):
            self._parents[fp] = parent
            parent = fp
        return fps[0]

    def always_possible(self, props):
        """AG EF p on the batch, after a complete search: the states where p holds, then, until
        none is added, every state with a successor among them (its successors made again by
        the same paths, on the states not yet known to reach p). A state left over is one from
        which p can never hold again: the first of the lowest level is the violation, with its
        path, as the plain engine reports it. A state where p raises is a finding of kind
        ``exception``. Returns the violations (without ``keep_going``, the first)."""
        program, found, states = self.program, [], self.visited  # every state, sorted
        every = _Batch(self.packing, states)
        for p in props:
            raises = self.raising.get(p.name)
            hit = _mask(program.value(raises, every), len(states)) if raises is not None else None
            if hit is not None and hit.any():
                d, row = self._first_in_levels(states[hit])
                try:  # the error, as the plain engine words it: the condition run on the state
                    p.condition(self.model, self.packing.unpack(self._row(self.levels[d], row)))
                    error = None
                except Exception as e:
                    error = _error_text(e)
                found.append(self.violation(_Finding("state", p.name, "exception",
                                                     self._walk_back(d, row), error)))
            else:
                good = _mask(program.value(self.conds[p.name], every), len(states)).copy()
                while not good.all():
                    todo = np.flatnonzero(~good)
                    reach = self._reaches(states[todo], states[good])
                    if not reach.any():
                        break
                    good[todo[reach]] = True
                if good.all():
                    continue
                d, row = self._first_in_levels(states[~good])
                found.append(self._stuck(p.name, self._path(self._walk_back(d, row),
                                                            self._parents)))
            if not self.keep_going:
                return found
        return found

    def _reaches(self, rows, targets):
        """Which of ``rows`` have a successor among the sorted ``targets``."""
        reach = np.zeros(len(rows), bool)
        for idx, succ in self._steps_from(rows):
            reach[idx[_member(targets, succ)]] = True
        return reach

    def _steps_from(self, rows):
        """``(positions in rows, successors)`` for each path, in the order of the calls, that
        some of ``rows`` take: its successors made again, as their orbits' representatives
        under symmetry."""
        program, batch = self.program, _Batch(self.packing, rows)
        for k, path in self.numbered:
            parents, idx = program.select(path.cond, batch)
            if not parents.n:
                continue
            succ = path.successors(program, parents, f"action {self.actions[k][0]}")
            yield idx, succ if self.orbits is None else self.orbits.canonical(succ)

    def _first_in_levels(self, rows):
        """``(level, row there)`` of the first of the sorted ``rows`` in the lowest level."""
        for d, level in enumerate(self.levels):
            hit = _member(rows, level)
            if hit.any():
                return d, int(np.flatnonzero(hit)[0])
        raise AssertionError("a state in no level")

    def _check_initial(self, level):
        """Each refinement's initial condition on the initial states ``level`` (their images
        are abstract initial states); False when the search stops."""
        for name, _ in list(self.refinements):
            img = self.images[name]
            keys = img.keys(self.program, _Batch(self.packing, level))
            bad = [i for i, key in enumerate(keys) if img.key(key) not in img.inits]
            if bad and not self._finding(name, "refinement", 0, bad[0], "init"):
                return False
        return True

    def _refused_row(self, d, level, img, a, b):
        """The row in level ``d`` (``level``, as expanded) of a state with a step from image
        ``a`` to image ``b`` (keys), the first in the order of the calls."""
        program, batch = self.program, _Batch(self.packing, level)
        for j, (k, path) in enumerate(self.numbered):
            if img.reads.isdisjoint(self.writes[j]):
                continue
            parents, idx = program.select(path.cond, batch)
            if not idx.size:
                continue
            succ = path.successors(program, parents, f"action {self.actions[k][0]}")
            hit = img.where(img.keys(program, parents), a) & img.where(
                img.keys(program, _Batch(self.packing, succ)), b)
            if hit.any():
                return _row_of(self.levels[d], level[idx[np.flatnonzero(hit)[0]]])
        raise AssertionError(f"no state of level {d} has the step that fails {img.name}")

    def _parent(self, d, target):
        """The row in level ``d - 1`` of a parent of ``target`` (a row of level ``d``): parents
        are not kept, but found again by running that level's actions once more (as the
        prototype in ../shared/notes/tracing.md does), the first in the order of the calls."""
        for idx, succ in self._steps_from(self.levels[d - 1]):
            hit = succ == target if succ.ndim == 1 else (succ == target).all(axis=1)
            if hit.any():
                return int(idx[np.flatnonzero(hit)[0]])
        raise AssertionError(f"no state of level {d - 1} leads to a state of level {d}")

    def _row(self, rows, i):
        return rows[i] if rows.ndim == 2 else [rows[i]]

    def states(self):
        """Every state the search reached, decoded, level by level (for tests and tools: it
        is slow, a z3 value per slot)."""
        for rows in self.levels:
            for i in range(len(rows)):
                yield self.packing.unpack(self._row(rows, i))

    def violation(self, found, parents=None):
        return super().violation(found, self._parents)


class _Terminal:
    """``model.terminal`` as a property that ``SymbolicModel.invariant`` traces."""

    name, kind = "terminal()", "invariant"

    @staticmethod
    def condition(model, s):
        return model.terminal(s)


class _Count:
    """``len(search.seen)`` for ``check``: the distinct states of a vector search."""

    def __init__(self, search):
        self.search = search

    def __len__(self):
        return self.search.distinct


def _fresh_firsts_numpy(keyed, visited, tag_bits):
    """The sorted keys ``keyed`` (a state above ``tag_bits``, the number of the path that made
    it below) cut to the first key of each state not in the sorted ``visited`` (the numpy twin
    of ``kripke._speedups.fresh_firsts``)."""
    states = np.right_shift(keyed, _U(tag_bits))
    first = np.empty(len(keyed), bool)
    first[:1] = True
    np.not_equal(states[1:], states[:-1], out=first[1:])
    keyed = keyed[first]
    return keyed[~_member(visited, np.right_shift(keyed, _U(tag_bits)))]


def _fresh_firsts(keyed, visited, tag_bits):
    """What ``_fresh_firsts_numpy`` gives, made in place in ``keyed`` by the C extension when
    it is built (one pass, without the GIL), then copied out of it (the candidates' array is
    the level's largest)."""
    if _C is None:
        return _fresh_firsts_numpy(keyed, visited, tag_bits)
    return keyed[:_C.fresh_firsts(keyed, visited, tag_bits)].copy()


def _emit_keys(rows, keep, bits, tag, tag_bits, out, at):
    """The successors ``(row & keep) | bits`` of ``rows`` (one word each) that differ from
    their row, written to ``out`` from ``at`` as keys (successor above ``tag_bits``, ``tag``
    below); the position after the last. One pass in C when the extension is built (no
    successor array, no mask of moved rows, no compaction), else numpy."""
    if _C is not None:
        return _C.emit_keys(rows, keep, bits, tag, tag_bits, out, at)
    return _emit_keys_numpy(rows, keep, bits, tag, tag_bits, out, at)


def _emit_keys_numpy(rows, keep, bits, tag, tag_bits, out, at):
    """The numpy twin of ``kripke._speedups.emit_keys``."""
    succ = (rows & _U(keep)) | _U(bits)
    succ = succ[succ != rows]
    out[at:at + len(succ)] = (succ << _U(tag_bits)) | _U(tag)
    return at + len(succ)


def _merge_into(a, b, out):
    """The sorted uint64 arrays ``a`` and ``b`` merged into ``out``: by the C extension, else
    by timsort (two sorted runs: a merge)."""
    if _C is not None:
        _C.merge_into(a, b, out)
        return
    out[:len(a)], out[len(a):] = a, b
    out.sort(kind="stable")


def _row_of(rows, row):
    """The index of ``row`` in the sorted ``rows``."""
    if rows.ndim == 1:
        return int(np.searchsorted(rows, row))
    return int(np.flatnonzero((rows == row).all(axis=1))[0])


def _keys(rows):
    """Rows as sortable keys: the words themselves, or each row as one opaque value."""
    if rows.ndim == 1:
        return rows
    return np.ascontiguousarray(rows).view(np.dtype((np.void, rows.shape[1] * 8))).reshape(-1)


def _sorted(rows):
    """``rows`` sorted (one word: timsort, fast on the long sorted runs a level's candidates
    are made of)."""
    if rows.ndim == 1:
        rows = rows.copy()
        rows.sort(kind="stable")
        return rows
    return rows[np.argsort(_keys(rows), kind="stable")]


def _unique(rows):
    """The distinct rows, sorted."""
    rows = _sorted(rows)
    keys = _keys(rows)
    first = np.ones(len(rows), bool)
    first[1:] = keys[1:] != keys[:-1]
    return rows[first]


def _member(visited, rows):
    """Which of the sorted unique ``rows`` are in the sorted ``visited``."""
    if not len(visited) or not len(rows):
        return np.zeros(len(rows), bool)
    known, keys = _keys(visited), _keys(rows)  # (rows of several words: searched as bytes)
    pos = np.minimum(np.searchsorted(known, keys), len(visited) - 1)
    return known[pos] == keys


def _merge(visited, new):
    """The sorted union of two sorted arrays of distinct rows."""
    if not len(new):
        return visited
    if visited.ndim == 1:
        both = np.empty(len(visited) + len(new), _U)
        _merge_into(visited, new, both)
        return both
    # rows of several words: each new row inserted where it sorts (one copy, no sort)
    return np.insert(visited, np.searchsorted(_keys(visited), _keys(new)), new, axis=0)

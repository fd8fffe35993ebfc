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
* **Successors**: per path of each action instance, its condition is a mask over the level
  (sub-terms shared by many instances, such as ``Commit() in s.msgs``, are evaluated once per
  level), and the successors of the rows it selects are their words with the written slots
  replaced. A value outside its slot's bounds stops the search with an error (the symbolic
  trace should have refused the path: never a silent wrap).
* **Deduplication** by sorting: the candidates of a level are sorted, adjacent duplicates
  dropped, and the rest looked up in the sorted visited array (``searchsorted``) and merged into
  it; no hash set. Counts are TLC's: generated = initial states + every successor computed,
  depth with the initial states as level 1.
* **Counterexamples**: each level keeps, per new state, the row of its parent in the level
  before and the action that reached it; a violation walks back through them, and the path is
  rebuilt as an ordinary kripke trace by running the plain model (``_Search._trace``), so it
  replays in the plain engine by construction.

Invariants, sometimes-properties and deadlock are checked on the batch. Not yet: symmetry
reduction (the search runs without, saying so), step properties, refinements, state
constraints, temporal properties, and actions that can raise or leave their types on some path;
each is refused with one line that suggests ``--engine plain``.
"""

import time

import numpy as np
import z3

from kripke.checkers.explicit import _Finding, _Search
from kripke.checkers.symbolic import WIDTH, SymbolicModel, TraceError
from kripke.errors import ParamError
from kripke.models.fingerprint import fingerprint as value_fingerprint
from kripke.models.system import TransitionSystem
from kripke.models.types import Array, Bag, Bool, Enum, Id, Int, Map, OneOf, Optional, RecordType, Seq, Set

__all__ = ["Packing", "VectorSearch", "unsupported"]

_U = np.uint64


def _slot_bounds(layout):
    """``(lo, hi, boolean)`` of each z3 constant of ``layout`` (``checkers.symbolic.Layout``),
    in the order of ``Layout.fresh``."""
    t = layout.t
    if isinstance(t, Bool):
        yield 0, 1, True
    elif isinstance(t, (Enum, Int, Id)):
        yield layout.lo, layout.hi, False
    elif isinstance(t, Optional):
        yield 0, 1, True
        yield from _slot_bounds(layout.inner)
    elif isinstance(t, Array):
        for _ in range(layout.n):
            yield from _slot_bounds(layout.inner)
    elif isinstance(t, Set):
        for _ in range(layout.width):
            yield 0, 1, True
    elif isinstance(t, Map):
        for _ in layout.universe:
            yield 0, 1, True
            yield from _slot_bounds(layout.inner)
    elif isinstance(t, Bag):
        for _ in range(layout.width):
            yield 0, layout.n, False
    elif isinstance(t, Seq):
        yield 0, layout.n, False
        for _ in range(layout.n):
            yield from _slot_bounds(layout.inner)
    elif isinstance(t, RecordType):
        for f in layout.fields:
            yield from _slot_bounds(f)
    elif isinstance(t, OneOf):
        yield 0, len(layout.options) - 1, False
        for o in layout.options:
            yield from _slot_bounds(o)


class Packing:
    """Where each slot of a state lives in its row of ``words`` uint64: ``slots[i] = (word,
    shift, bits, lo)`` for the i-th constant of ``sm.x``."""

    def __init__(self, sm):
        self.sm = sm
        self.slots, self.index = [], {}
        word, used = 0, 0
        names = list(sm.model.State._fields)
        k = 0
        for name, layout in zip(names, sm.layouts):
            for lo, hi, _ in _slot_bounds(layout):
                bits = max(1, (hi - lo).bit_length())
                if bits > 64:
                    raise TraceError(f"{sm.model.display_name()}.{name}: a slot of {bits} bits "
                                     f"({lo}..{hi}) does not fit a 64-bit word")
                if used + bits > 64:
                    word, used = word + 1, 0
                self.slots.append((word, used, bits, lo))
                self.index[sm.x[k].get_id()] = k
                used += bits
                k += 1
        if k != len(sm.x):  # the walk above must mirror Layout.fresh
            raise AssertionError(f"{k} slots packed for {len(sm.x)} constants")
        self.words = word + 1
        self.bits = 64 * word + used

    def pack(self, state):
        """The row of a concrete state."""
        row = [0] * self.words
        for term, (word, shift, bits, lo) in zip(self.sm.terms(state, "a state"), self.slots):
            v = z3.simplify(term)
            v = int(z3.is_true(v)) if z3.is_bool(v) else v.as_signed_long()
            row[word] |= (v - lo) << shift
        return row

    def unpack(self, row):
        """The concrete state of a row."""
        values = {}
        for x, (word, shift, bits, lo) in zip(self.sm.x, self.slots):
            v = ((int(row[word]) >> shift) & ((1 << bits) - 1)) + lo
            values[x.get_id()] = (z3.BoolVal(bool(v)) if z3.is_bool(x)
                                  else z3.BitVecVal(v, WIDTH))
        return self.sm.decode(_Values(values), self.sm.x)


class _Values:
    """A z3 model stand-in for ``SymbolicModel.decode``: the value of each constant."""

    def __init__(self, values):
        self.values = values

    def eval(self, term, model_completion=True):
        return self.values[term.get_id()]


class _Batch:
    """The rows of a level as numpy columns: ``field(i)`` is slot i's values (int64), read once."""

    def __init__(self, packing, rows):
        self.packing, self.rows, self.n = packing, rows, len(rows)
        self.cache = {}

    def field(self, i):
        v = self.cache.get(i)
        if v is None:
            word, shift, bits, lo = self.packing.slots[i]
            col = self.rows[:, word] if self.rows.ndim == 2 else self.rows
            v = ((col >> _U(shift)) & _U((1 << bits) - 1)).astype(np.int64)
            if lo:
                v += lo
            self.cache[i] = v
        return v


def _wrap(v):
    """An integer result as the symbolic encoding's two's-complement bit-vector holds it
    (``checkers.symbolic.WIDTH`` bits; the tracer refuses a term that could leave them)."""
    return (v + _HALF) % (2 * _HALF) - _HALF


_HALF = 2 ** (WIDTH - 1)


def _signed_div(a, b, remainder):
    """z3's bvsdiv / bvsrem: the quotient truncated toward zero, and the remainder with the
    dividend's sign."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    q = np.abs(a) // np.where(b == 0, 1, np.abs(b)) * np.sign(a) * np.sign(b)
    return a - b * q if remainder else q


_OPS = {
    z3.Z3_OP_EQ: np.equal, z3.Z3_OP_DISTINCT: np.not_equal,
    z3.Z3_OP_SLEQ: np.less_equal, z3.Z3_OP_SLT: np.less,
    z3.Z3_OP_SGEQ: np.greater_equal, z3.Z3_OP_SGT: np.greater,
    z3.Z3_OP_BSUB: lambda a, b: _wrap(np.subtract(a, b)),
    z3.Z3_OP_BNEG: lambda a: _wrap(np.negative(a)),
    z3.Z3_OP_BSDIV: lambda a, b: _signed_div(a, b, False),
    z3.Z3_OP_BSDIV_I: lambda a, b: _signed_div(a, b, False),
    z3.Z3_OP_BSREM: lambda a, b: _signed_div(a, b, True),
    z3.Z3_OP_BSREM_I: lambda a, b: _signed_div(a, b, True),
    z3.Z3_OP_IMPLIES: lambda a, b: np.logical_or(np.logical_not(a), b),
    z3.Z3_OP_XOR: np.logical_xor, z3.Z3_OP_NOT: np.logical_not,
    z3.Z3_OP_ITE: np.where,
}


def _evaluate(term, batch, memo, what):
    """The value of a z3 term on every row of ``batch``: a numpy array, or a Python scalar for
    a term that does not depend on the state. ``memo`` (by term id) shares sub-terms."""
    key = term.get_id()
    if key in memo:
        return memo[key]
    if z3.is_true(term) or z3.is_false(term):
        value = z3.is_true(term)
    elif z3.is_bv_value(term):
        value = term.as_signed_long()
    elif z3.is_const(term):
        slot = batch.packing.index.get(key)
        if slot is None:
            raise TraceError(f"{what}: the term {term} names no slot of the state")
        value = batch.field(slot)
        if z3.is_bool(term):
            value = value.astype(bool)
    else:
        kind = term.decl().kind()
        args = [_evaluate(a, batch, memo, what) for a in term.children()]
        if kind == z3.Z3_OP_AND:
            value = args[0]
            for a in args[1:]:
                value = np.logical_and(value, a)
        elif kind == z3.Z3_OP_OR:
            value = args[0]
            for a in args[1:]:
                value = np.logical_or(value, a)
        elif kind in (z3.Z3_OP_BADD, z3.Z3_OP_BMUL):
            value = args[0]
            for a in args[1:]:
                value = _wrap((np.add if kind == z3.Z3_OP_BADD else np.multiply)(value, a))
        elif kind == z3.Z3_OP_DISTINCT and len(args) > 2:
            value = True
            for i, a in enumerate(args):
                for b in args[i + 1:]:
                    value = np.logical_and(value, np.not_equal(a, b))
        elif kind in _OPS:
            value = _OPS[kind](*args)
        else:
            raise TraceError(f"{what}: {term.decl()} (in {term}) cannot be evaluated on a "
                             "batch; use --engine plain")
    memo[key] = value
    return value


def _mask(value, n):
    """A condition's value as a boolean array of ``n`` rows."""
    if isinstance(value, np.ndarray):
        return value
    return np.full(n, bool(value))


class _Path:
    """One path of an action instance: its condition, and what it writes: per word, the bits it
    keeps and the slots it changes with their terms."""

    def __init__(self, packing, cond, terms):
        self.cond = cond
        x = packing.sm.x
        changed = [(i, t) for i, t in enumerate(terms) if not t.eq(x[i])]
        self.keep = [(1 << 64) - 1] * packing.words
        for i, _ in changed:
            word, shift, bits, _ = packing.slots[i]
            self.keep[word] &= ~(((1 << bits) - 1) << shift)
        self.changed = changed

    def successors(self, packing, rows, batch, what):
        """The rows of the successors of ``rows`` (the parents this path selects; ``batch``:
        the same rows as columns)."""
        out = rows & np.array(self.keep, dtype=_U) if rows.ndim == 2 else rows & _U(self.keep[0])
        memo = {}
        for i, t in self.changed:
            word, shift, bits, lo = packing.slots[i]
            v = _evaluate(t, batch, memo, what)
            v = np.broadcast_to(np.asarray(v, dtype=np.int64), (len(rows),))
            if v.size and (v.min() < lo or v.max() > lo + (1 << bits) - 1):
                raise TraceError(f"{what} writes {v.min()}..{v.max()} to a slot of "
                                 f"{lo}..{lo + (1 << bits) - 1}: the symbolic trace should "
                                 "have refused it (please report it); use --engine plain")
            bits_in = (v - lo).astype(_U) << _U(shift)
            if rows.ndim == 2:
                out[:, word] |= bits_in
            else:
                out |= bits_in
        return out


def unsupported(model, props):
    """Why ``--engine vector`` cannot check ``props`` of ``model`` yet (one line), or None."""
    kinds = {p.kind for p in props} - {"invariant", "sometimes"}
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

    def __init__(self, model, props, limits, deadlock, progress, keep_going):
        why = unsupported(model, props)
        if why is not None:
            raise ParamError(f"--engine vector does not check {why} yet; use --engine plain")
        super().__init__(model, props, None, None, False, limits, deadlock, progress,
                         keep_going)
        try:
            self.sm = SymbolicModel(model)
            self.packing = Packing(self.sm)
            self.actions = self.sm.actions
        except TraceError as e:
            raise TraceError(f"--engine vector: {e}; use --engine plain") from None
        # type_ok holds by construction: every slot keeps to its declared bounds, and a path
        # that writes outside them is a hazard.
        self.conds = {p.name: self.sm.invariant(p) for p in props
                      if not (p.name == "type_ok" and model.type_checks is not None)}
        #: the paths on which an action raises or leaves its types: found where they are enabled
        self.hazards = [(kind, cond) for _, _, kind, cond in self.sm.hazards]
        #: may a state have no successor? (TransitionSystem.terminal, traced like a property)
        self.terminal = (None if type(model).terminal is TransitionSystem.terminal
                         else self.sm.invariant(_Terminal()))
        self.paths = [[_Path(self.packing, c, t) for c, t in paths]
                      for _, _, paths in self.actions]
        self.levels = []  # per level: (rows, parent row in the level before, call index)
        self.distinct = 0
        self.seen = _Count(self)
        self._parents = {}

    # -- the search ---------------------------------------------------------------------------
    def run(self):
        try:
            self._levels()
        except KeyboardInterrupt:
            self.interrupted = True

    def _rows(self, array):
        return array if self.packing.words > 1 else array.reshape(-1)

    def _levels(self):
        packing, model = self.packing, self.model
        started = time.perf_counter()
        init = [packing.pack(s) for s in model.init()]
        self.n_init = len(init)
        rows = self._rows(np.array(init, dtype=_U).reshape(len(init), packing.words))
        level, first = _unique(rows)
        self.levels.append((level, np.full(len(level), -1, np.int64), np.full(len(level), -1)))
        visited = level
        self.distinct = len(level)
        self.depth = 1 if len(level) else 0
        if not self._check_level(len(self.levels) - 1):
            return
        while len(level):
            if self.max_depth is not None and self.depth >= self.max_depth:
                self.bound = f"max_depth={self.max_depth}"
                return
            if time.perf_counter() >= self.deadline:
                self.bound = f"time_limit={self.time_limit:g}"
                return
            batch = _Batch(packing, level)
            memo, found, enabled = {}, [], np.zeros(len(level), bool)
            for kind, cond in self.hazards:
                hit = _mask(_evaluate(cond, batch, memo, "an action's hazard"), len(level))
                if hit.any():
                    row = int(np.flatnonzero(hit)[0])
                    prop = "exception" if kind == "exception" else "type_ok"
                    if not self._finding(prop, kind, len(self.levels) - 1, row, "step"):
                        return
                    if kind == "exception":  # as in the plain engine: not expanded
                        self.broken = True
                        enabled |= hit  # (no deadlock either)
                        level = level[~hit]
                        batch, memo = _Batch(packing, level), {}
                        enabled = enabled[~hit]
            for k, paths in enumerate(self.paths):
                what = f"action {self.actions[k][0]}"
                for path in paths:
                    mask = _mask(_evaluate(path.cond, batch, memo, what), len(level))
                    idx = np.flatnonzero(mask)
                    if not idx.size:
                        continue
                    self.fired[k] += idx.size
                    enabled[idx] = True
                    sub = _Batch(packing, level[idx])
                    found.append((path.successors(packing, level[idx], sub, what), idx, k))
            if self.deadlock and not enabled.all():
                stuck = ~enabled
                if self.terminal is not None:
                    stuck &= ~_mask(_evaluate(self.terminal, batch, memo, "terminal()"),
                                    len(level))
                if stuck.any():
                    row = int(np.flatnonzero(stuck)[0])
                    if not self._finding("deadlock", "deadlock", len(self.levels) - 1, row):
                        return
            if not found:
                break
            cand = np.concatenate([f[0] for f in found])
            parent = np.concatenate([f[1] for f in found])
            call = np.concatenate([np.full(len(f[1]), f[2]) for f in found])
            uniq, first = _unique(cand)
            known = _member(visited, uniq)
            new, keep = uniq[~known], first[~known]
            if self.max_states is not None and self.distinct + len(new) > self.max_states:
                self.bound = f"max_states={self.max_states}"
                return
            for k, c in zip(*np.unique(call[keep], return_counts=True)):
                self.new[int(k)] += int(c)
            self.levels.append((new, parent[keep], call[keep]))
            visited = _merge(visited, new)
            self.distinct += len(new)
            level = new
            if len(new):
                self.depth += 1
            if not self._check_level(len(self.levels) - 1):
                return
            if self.progress is not None:
                self.progress({"distinct": self.distinct, "generated": self.n_init + sum(self.fired),
                               "queue": len(level), "depth": self.depth,
                               "elapsed": time.perf_counter() - started})

    def _check_level(self, d):
        """Check the invariants on level ``d`` and look for the sometimes-properties there;
        False when the search stops."""
        rows = self.levels[d][0]
        if not len(rows):
            return True
        batch, memo = _Batch(self.packing, rows), {}
        for name, _ in list(self.invariants):
            holds = _mask(_evaluate(self.conds[name], batch, memo, f"property {name}"), len(rows))
            if not holds.all():
                if not self._finding(name, "invariant", d, int(np.flatnonzero(~holds)[0])):
                    return False
        for name, _ in list(self.pending):
            seen = _mask(_evaluate(self.conds[name], batch, memo, f"property {name}"), len(rows))
            if seen.any():
                self.pending = [p for p in self.pending if p[0] != name]
        return True

    def _finding(self, prop, kind, d, row, what="state"):
        """Record that ``prop`` fails at row ``row`` of level ``d`` (``what`` "step": on a step
        from it), with the plain engine's fingerprints of its path; False when the search
        stops."""
        fps, parent = [], None
        while d >= 0:
            rows, parents, _ = self.levels[d]
            fps.append(value_fingerprint(self.packing.unpack(self._row(rows, row))))
            row, d = int(parents[row]), d - 1
        for fp in reversed(fps):
            self._parents[fp] = parent
            parent = fp
        return self._found(_Finding(what, prop, kind, fps[0]))

    def _row(self, rows, i):
        return rows[i] if rows.ndim == 2 else [rows[i]]

    def states(self):
        """Every state the search reached, decoded, level by level (for tests and tools: it
        is slow, a z3 value per slot)."""
        for rows, _, _ in self.levels:
            for i in range(len(rows)):
                yield self.packing.unpack(self._row(rows, i))

    def violation(self, found, parents=None):
        return super().violation(found, self._parents)


class _Terminal:
    """``model.terminal`` as a property that ``SymbolicModel.invariant`` traces."""

    name = "terminal()"

    @staticmethod
    def condition(model, s):
        return model.terminal(s)


class _Count:
    """``len(search.seen)`` for ``check``: the distinct states of a vector search."""

    def __init__(self, search):
        self.search = search

    def __len__(self):
        return self.search.distinct


def _keys(rows):
    """Rows as sortable keys: the words themselves, or each row as one opaque value."""
    if rows.ndim == 1:
        return rows
    return np.ascontiguousarray(rows).view(np.dtype((np.void, rows.shape[1] * 8))).reshape(-1)


def _unique(rows):
    """``(unique rows sorted, index of the first occurrence of each)``; stable, so that the
    first occurrence is the first candidate generated."""
    keys = _keys(rows)
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    first = np.ones(len(sk), bool)
    first[1:] = sk[1:] != sk[:-1]
    return rows[order[first]], order[first]


def _member(visited, rows):
    """Which of the sorted unique ``rows`` are in the sorted ``visited``."""
    if not len(visited) or not len(rows):
        return np.zeros(len(rows), bool)
    if rows.ndim == 1:
        pos = np.minimum(np.searchsorted(visited, rows), len(visited) - 1)
        return visited[pos] == rows
    both = np.concatenate([_keys(visited), _keys(rows)])
    order = np.argsort(both, kind="stable")  # a row of rows sorts right after its visited twin
    s = both[order]
    dup = np.zeros(len(s), bool)
    dup[1:] = s[1:] == s[:-1]
    member = np.zeros(len(both), bool)
    member[order[dup]] = True
    return member[len(visited):]


def _merge(visited, new):
    """The sorted union of two sorted arrays of distinct rows."""
    if not len(new):
        return visited
    both = np.concatenate([visited, new])
    order = np.argsort(_keys(both), kind="stable")  # two sorted runs: a linear merge
    return both[order]

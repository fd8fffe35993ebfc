"""Symbolic execution of a model's own actions on z3 terms, by path-forking replay (issue 12).

The model is not written twice. Its ordinary Python actions and properties run on a *symbolic
state*: a record of the model's own ``State`` class whose fields hold z3 terms wrapped in small
value classes (``SBool``, ``SInt``, ``SEnum``, ``SSet``, ...) that build new terms when operated
on. Where Python needs a concrete answer (``if``, ``and``, ``or``, ``not``, ``in``, ``any``,
``all``, a comparison used as a condition, an index, ``len``), the value asks the ``Tracer``,
which answers from the choices recorded for this run; at a choice not made before it answers
True and queues the same prefix ending in False, when both sides are satisfiable under the path
so far (``../shared/notes/tracing.md``). Re-running the action once per queued prefix gives its
meaning as a disjunction of (path condition, next-state terms): the transition relation that
bounded model checking (``checkers.bmc``) and induction (``checkers.prove``) hand to z3.

Encodings (``Layout``), per declared type: Enum, Int and Id as a bounded integer; Bool as a
boolean; Array as one encoding per index; Set over a finite universe as one boolean per element
(records and OneOf messages included); Bag as one count per element of its universe; Map as a
presence bit and a value per key; Optional as a presence bit and its value; Seq as a length and
its slots; a record field as its fields; OneOf as a tag and every alternative's fields. A type
without a finite universe to encode is refused with one line naming the field. An action over a
state-dependent domain (``each="deliverable"``) is traced with its domain, forking where the
domain's code does.

Optional, Seq and OneOf values are settled when an action reads them (an element of an array
at a time): the tracer forks on presence, length or alternative, so ``x is None`` and
``len(s.log)`` see a concrete answer on each path. Everything that cannot be traced (a state
value used as a dict key or set element, iteration over a large set, ``is`` between state
values, ``try``, ``global``,
``type`` / ``isinstance`` / ``id`` / ``hash`` on a state value, ...) is a ``TraceError`` naming
the action and the line, never a silent wrong encoding.
"""

import ast
import contextlib
import ctypes
import dis
import inspect
import operator
import os
import sys
import time
import textwrap
import traceback

import z3
import z3.z3util

from kripke.errors import DefinitionError, NondeterminismError
from kripke.models.types import (Array, Bag, Bool, Enum, FrozenMap, Id, Int, Map, OneOf, Optional,
                                 RecordType, Seq, Set, _resolve, as_type)
from kripke.models.types import bag_add as _concrete_bag_add
from kripke.models.types import bag_remove as _concrete_bag_remove
from kripke.models.types import set_add as _concrete_set_add
from kripke.traces.trace import Step

__all__ = ["TraceError", "Tracer", "Layout", "SymbolicModel", "PATH_LIMIT"]

#: the most paths one action instance (or property) may fork into
PATH_LIMIT = 4096
#: the largest universe of a set that an action may iterate over
ITERABLE = 8
#: the seconds one action instance (or property) may take to trace
TIME_LIMIT = 20.0


class TraceError(DefinitionError):
    """An action or property that the symbolic back end cannot trace faithfully."""


class OutOfType(TraceError):
    """A value an action writes that its field's declared type cannot hold (on one path: a
    type violation, if the path is reachable)."""


class OutsideUniverse(OutOfType):
    """An element that ``set_add`` adds outside the universe of the set's element type (on
    that path the action leaves its types)."""


class Raised:
    """The result of a path on which the model's own code raised (if reachable: a finding of
    kind ``exception``, as the explicit engine reports it)."""

    def __init__(self, error):
        self.error = error


class LeftTypes(Raised):
    """The result of a path on which an action made a set element outside its declared type
    (if reachable: a ``type_ok`` finding, as the explicit engine reports the state it makes)."""


#: the names that mark an exception as the tracer's limit rather than the model's own error
_SYMBOLIC_NAMES = ("SBool", "SInt", "SEnum", "SSet", "SOptional", "SSeq", "SChoice", "Lazy",
                   "z3", "Symbolic")


# -- the tracer --------------------------------------------------------------------------------
class Tracer:
    """Path-forking replay. ``run(fn)`` calls ``fn()`` once per feasible path and returns
    ``[(path condition, result)]``; symbolic values call ``branch(cond)`` for a concrete bool.
    ``assumptions``: what every path may assume (the state's types); ``raises``: a path on
    which the code raises (an exception that does not come from a symbolic value) gives a
    ``Raised`` result rather than ending the trace."""

    current = None  # the tracer of the run in progress (one at a time)

    def __init__(self, assumptions=(), limit=PATH_LIMIT, time_limit=TIME_LIMIT, raises=False,
                 groups=None):
        self.limit, self.time_limit, self.raises = limit, time_limit, raises
        # A feasibility check needs only the assumptions that share constants with it (the
        # others hold of constants it does not mention, and hold together: initial states
        # satisfy them), so they are grouped by the constants they connect (``groups``: an
        # ``Assumed`` of ``assumptions``, when the caller keeps it for its many tracers).
        assumed = groups if groups is not None else Assumed(assumptions)
        self._groups = assumed.by_constant, assumed.groups
        self._cache, self._solvers, self._nonzero, self._natural, self._simplified, \
            self._built, self._linked, self._checked = assumed.memos
        self.aggregated = {}  # generator frame -> the guards of its _Unrolled iterations

    def run(self, fn, what):
        queue, out = [()], []
        deadline = time.perf_counter() + self.time_limit
        while queue:
            if len(out) >= self.limit or time.perf_counter() > deadline:
                why = (f"more than {self.limit} paths" if len(out) >= self.limit else
                       f"{len(out)} paths in {self.time_limit:g} s, and more to go")
                raise TraceError(f"{what} forks into {why}; write it with fewer branches on "
                                 "state values (test membership over a domain rather than "
                                 "iterate over a set or bag)")
            self._choices, self._made, self._path, self._queue = queue.pop(), [], [], queue
            previous, Tracer.current = Tracer.current, self
            try:
                result = fn()
            except OutsideUniverse as e:
                if not self.raises:
                    raise
                result = LeftTypes(str(e))
            except TraceError:
                raise
            except Exception as e:  # the model's code raised on this path, or cannot be traced
                if not self.raises or any(name in f"{type(e).__name__}: {e}"
                                          for name in _SYMBOLIC_NAMES):
                    raise
                result = Raised(f"{type(e).__name__}: {e}")
            finally:
                Tracer.current = previous
            out.append((z3.And(*self._path) if self._path else z3.BoolVal(True), result))
        return out

    def branch(self, cond):
        """The concrete answer of a condition on this path."""
        cond = _simplify(cond)
        if z3.is_true(cond):
            return True
        if z3.is_false(cond):
            return False
        k = len(self._made)
        if k < len(self._choices):
            choice = self._choices[k]
        else:
            yes, no = self._feasible(cond), self._feasible(_not(cond))
            if yes and no:
                self._queue.append(tuple(self._made) + (False,))
            choice = yes
        self._made.append(choice)
        self._path.append(cond if choice else _not(cond))
        return choice

    def _links(self, term):
        """What connects ``term`` to other terms: its constants, and the assumption groups
        that share constants with it (``("group", k)``), memoised beside the term."""
        key = term.get_id()
        found = self._linked.get(key)
        if found is None:
            by_constant, names = self._groups[0], _constants(term, self._cache)
            found = self._linked[key] = term, names | {("group", k) for v in names
                                                        for k in by_constant.get(v, ())}
        return found[1]

    def _feasible(self, cond):
        """Is ``cond`` satisfiable with the path so far and the assumptions? Only the path's
        conditions connected to ``cond`` are asserted, by shared constants or through the
        assumption groups, with those groups: the path is satisfiable, so the rest of it,
        over other constants, is satisfiable beside any answer about ``cond`` (vector-clock's
        receive: the message being in the bag is not asked again when its events are)."""
        links, rest, asserted = set(self._links(cond)), list(self._path), [cond]
        grew = True
        while grew:
            grew, left = False, []
            for term in rest:
                theirs = self._links(term)
                if links.isdisjoint(theirs):
                    left.append(term)
                else:
                    links |= theirs
                    asserted.append(term)
                    grew = True
            rest = left
        groups = frozenset(k for kind, k in (x for x in links if type(x) is tuple))
        key = groups, frozenset(t.get_id() for t in asserted)
        known = self._checked.get(key)
        if known is not None:  # the same question, from another replay or instance
            return known[1]
        solver = self._solvers.get(groups)
        if solver is None:  # one incremental solver per set of assumption groups
            solver = self._solvers[groups] = z3.Solver()
            solver.add(*[f for k in groups for f in self._groups[1][k]])
        solver.push()
        ref, handle = solver.ctx.ref(), solver.solver
        for term in asserted:  # (z3's C API: the terms are z3's already)
            z3.Z3_solver_assert(ref, handle, term.as_ast())
        result = solver.check()
        solver.pop()
        self._checked[key] = asserted, result != z3.unsat  # (the terms kept alive: their ids)
        return result != z3.unsat


def _simplify(term):
    """``z3.simplify(term)``, memoised by term id while tracing (beside the term, kept alive):
    the replays of one action or property simplify the same conditions again and again."""
    tracer = Tracer.current
    if tracer is None:
        return z3.simplify(term)
    key = term.get_id()
    found = tracer._simplified.get(key)
    if found is None:
        found = tracer._simplified[key] = term, z3.simplify(term)
    return found[1]


def _built(kind, args):
    """z3's ``And`` / ``Or`` (``kind`` "and", "or") of boolean terms, ``Not`` ("not"), ``If``
    ("ite": condition, then, else), ``Implies`` ("implies"), bit-vector ``+ - *`` or a
    comparison (``== < <= > >=``) of two bit-vectors, made
    through z3's C API (no coercion: the terms are z3's already) and memoised by the terms'
    ids while tracing, beside them (kept alive): an aggregation builds the same guarded terms
    on every replay."""
    tracer = Tracer.current
    if tracer is not None:
        key = (kind, *[a.get_id() for a in args])
        found = tracer._built.get(key)
        if found is not None:
            return found[1]
    ctx = args[0].ctx
    ref = ctx.ref()
    if kind == "not":
        made = z3.BoolRef(z3.Z3_mk_not(ref, args[0].as_ast()), ctx)
    elif kind in _BV:
        made = z3.BitVecRef(_BV[kind](ref, args[0].as_ast(), args[1].as_ast()), ctx)
    elif kind in _COMPARE:
        made = z3.BoolRef(_COMPARE[kind](ref, args[0].as_ast(), args[1].as_ast()), ctx)
    elif kind == "ite":
        c, a, b = args
        if not isinstance(a, (z3.BoolRef, z3.BitVecRef)):
            return z3.If(c, a, b)
        cls = z3.BoolRef if isinstance(a, z3.BoolRef) else z3.BitVecRef
        made = cls(z3.Z3_mk_ite(ref, c.as_ast(), a.as_ast(), b.as_ast()), ctx)
    elif kind == "implies":
        made = z3.BoolRef(z3.Z3_mk_implies(ref, args[0].as_ast(), args[1].as_ast()), ctx)
    else:
        asts = (z3.Ast * len(args))(*[a.as_ast() for a in args])
        mk = z3.Z3_mk_and if kind == "and" else z3.Z3_mk_or
        made = z3.BoolRef(mk(ref, len(args), asts), ctx)
    if tracer is not None:
        tracer._built[key] = args, made
    return made


#: bit-vector arithmetic ``_built`` makes (two terms of one width)
_BV = {"+": z3.Z3_mk_bvadd, "-": z3.Z3_mk_bvsub, "*": z3.Z3_mk_bvmul}
#: and comparisons (signed, as z3's ``<`` on bit-vectors)
_COMPARE = {"==": z3.Z3_mk_eq, "<": z3.Z3_mk_bvslt, "<=": z3.Z3_mk_bvsle, ">": z3.Z3_mk_bvsgt,
            ">=": z3.Z3_mk_bvsge}


def _not(term):
    return _built("not", (term,))


def _and(*terms):
    return _built("and", terms) if terms else _TRUE


def _or(*terms):
    return _built("or", terms) if terms else _FALSE


def _ite(cond, then, otherwise):
    return _built("ite", (cond, then, otherwise))


def _implies(a, b):
    return _built("implies", (a, b))


def _constants(term, cache):
    """The uninterpreted constants of a term, memoised by term id in ``cache``: a walk of the
    term as a DAG through z3's C API (no Python object per node), that takes each node's
    constants from ``cache`` once they are known there (every node is walked once per tracer:
    each replay asks again about the same terms and their parts). The asked-about terms are
    kept alive in ``cache``, and with them the nodes under them, whose ids z3 cannot then give
    to other terms."""
    key = term.get_id()
    found = cache.get(key)
    if found is not None and found[0] is not None:
        return found[1]
    ctx, none = term.ctx_ref(), frozenset()
    todo = [(term.as_ast(), False)]
    while todo:
        a, expanded = todo.pop()
        k = z3.Z3_get_ast_id(ctx, a)
        if not expanded and k in cache:
            continue
        kind = z3.Z3_get_ast_kind(ctx, a)
        if kind == z3.Z3_APP_AST:
            app = z3.Z3_to_app(ctx, a)
            n = z3.Z3_get_app_num_args(ctx, app)
            args = [z3.Z3_get_app_arg(ctx, app, i) for i in range(n)]
            if n == 0:
                decl = z3.Z3_get_app_decl(ctx, app)
                names = (frozenset([z3.Z3_get_symbol_string(ctx, z3.Z3_get_decl_name(ctx, decl))])
                         if z3.Z3_get_decl_kind(ctx, decl) == z3.Z3_OP_UNINTERPRETED else none)
            elif not expanded:
                todo.append((a, True))
                todo += [(x, False) for x in args]
                continue
            else:
                names = none.union(*[cache[z3.Z3_get_ast_id(ctx, x)][1] for x in args])
        elif kind == z3.Z3_QUANTIFIER_AST:  # the all-sizes tracer's (checkers/parametric.py)
            body = z3.Z3_get_quantifier_body(ctx, a)
            if not expanded:
                todo += [(a, True), (body, False)]
                continue
            names = cache[z3.Z3_get_ast_id(ctx, body)][1]
        else:  # a numeral, or a variable a quantifier binds
            names = none
        cache[k] = (None, names)
    found = cache[key] = (term, cache[key][1])
    return found[1]


class Assumed:
    """Facts that tracers assume (a state's types), grouped by the constants they share
    (``_connected``), and what every tracer over them shares: an incremental solver per set
    of groups (made once: vector-clock's bag of 486 counts, asked about by each of its
    receive's 486 instances), the answer of each feasibility question, and the memos by term
    id, each beside its term (kept alive: z3 gives the id of a freed term to the next one), of
    what the replays of the code, and the traces of one action's instances, build again."""

    def __init__(self, facts):
        self.by_constant, self.groups = _connected(facts)
        #: constants, solvers, nonzero, natural, simplified, built, linked, checked
        self.memos = {}, {}, {}, {}, {}, {}, {}, {}


def _connected(facts):
    """``({constant: {group}}, {group: [facts]})``: the facts grouped into classes connected
    by shared constants."""
    parent = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    cache = {}  # (z3util.get_vars prints every sub-term to compare it: 20 s for vector-clock)
    names = [sorted(_constants(f, cache)) for f in facts]
    for vs in names:
        for v in vs[1:]:
            parent[find(vs[0])] = find(v)
    groups, by_var = {}, {}
    for f, vs in zip(facts, names):
        if vs:
            root = find(vs[0])
            groups.setdefault(root, []).append(f)
    for v in parent:
        by_var[v] = {find(v)} & groups.keys()
    return by_var, groups


def _branch(cond):
    tracer = Tracer.current
    if tracer is None:
        raise TraceError("a symbolic value was used outside a traced action")
    return tracer.branch(cond)


def _refuse(what):
    raise TraceError(f"{what} cannot be traced")


# -- symbolic values ---------------------------------------------------------------------------
class Sym:
    """A symbolic value; subclasses hold z3 terms."""

    __slots__ = ()

    def __hash__(self):
        _refuse("a state value used as a dict key or set element (hash)")

    def __iter__(self):
        _refuse(f"iterating over a symbolic {type(self).__name__}")


def term_bool(v):
    """A Python bool or an ``SBool`` as a z3 boolean."""
    if isinstance(v, SBool):
        return v.term
    if isinstance(v, bool):
        return z3.BoolVal(v)
    if isinstance(v, z3.BoolRef):
        return v
    raise TraceError(f"a condition of type {type(v).__name__} where a bool was expected")


class SBool(Sym):
    __slots__ = ("term",)

    def __init__(self, term):
        self.term = term

    def __bool__(self):
        return _branch(self.term)

    def __hash__(self):
        """As a dict key or set element: forked to its concrete truth."""
        return hash(bool(self))

    def __eq__(self, other):
        if isinstance(other, (bool, SBool)):
            return SBool(self.term == term_bool(other))
        return NotImplemented

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else SBool(z3.Not(eq.term))

    def __and__(self, other):
        return SBool(z3.And(self.term, term_bool(other)))

    __rand__ = __and__

    def __or__(self, other):
        return SBool(z3.Or(self.term, term_bool(other)))

    __ror__ = __or__

    def __invert__(self):
        return SBool(z3.Not(self.term))

    def _number(self):
        return SInt(z3.If(self.term, num(1), num(0)), 0, 1)

    def __add__(self, other):
        return self._number() + other

    def __radd__(self, other):
        return other + self._number()


#: integers are bit-vectors of this width (two's complement), so that z3 decides the finite
#: models by bit-blasting to SAT; every integer term carries bounds, and one that could leave
#: the width is refused rather than wrapped around
WIDTH = 16
_LIMIT = 2 ** (WIDTH - 1)


def num(v):
    """A concrete integer as a term (each made once: tracing asks for the same few again and
    again)."""
    term = _NUMS.get(v)
    if term is None:
        if not -_LIMIT <= v < _LIMIT:
            raise TraceError(f"the integer {v} does not fit the symbolic encoding's {WIDTH} "
                             "bits")
        term = _NUMS[v] = z3.BitVecVal(v, WIDTH)
    return term


_NUMS = {}


def int_const(name):
    return z3.BitVec(name, WIDTH)


def term_int(v):
    """An int, an ``SInt`` or a bool used as a number (Python's ``True + 1``) as a term."""
    if isinstance(v, SInt):
        return v.term
    if isinstance(v, SBool):
        return z3.If(v.term, num(1), num(0))
    if not isinstance(v, int):
        raise OutOfType(f"{v!r} where an integer was expected")
    return num(int(v))


def _bounds(v):
    if isinstance(v, SInt):
        return v.lo, v.hi
    return (0, 1) if isinstance(v, SBool) else (int(v), int(v))



class SInt(Sym):
    """A bounded integer (also an Id) in ``lo..hi``: the range ``__index__`` forks over, kept
    through arithmetic (an interval), so that no term can overflow the bit-vector width."""

    __slots__ = ("term", "lo", "hi")

    def __init__(self, term, lo, hi):
        if not (-_LIMIT <= lo and hi < _LIMIT):
            raise TraceError(f"an integer in {lo}..{hi} does not fit the symbolic encoding's "
                             f"{WIDTH} bits")
        self.term, self.lo, self.hi = term, lo, hi

    def _arith(self, other, op, reflected=False, symbol=None):
        if not isinstance(other, _NUMBERS):
            if other is None and symbol is not None:  # as Python says it of an int: an
                # Optional read as None on this path (the model's own error, if reachable)
                names = ("'NoneType' and 'int'" if reflected else "'int' and 'NoneType'")
                raise TypeError(f"unsupported operand type(s) for {symbol}: {names}")
            return NotImplemented
        (a_lo, a_hi), (b_lo, b_hi) = _bounds(self), _bounds(other)
        if reflected:
            (a_lo, a_hi), (b_lo, b_hi) = (b_lo, b_hi), (a_lo, a_hi)
        corners = [op(x, y) for x in (a_lo, a_hi) for y in (b_lo, b_hi)]
        a, b = self.term, term_int(other)
        if reflected:
            a, b = b, a
        term = _built(symbol, (a, b)) if symbol in _BV else op(a, b)
        return SInt(_simplify(term), min(corners), max(corners))

    def __add__(self, other):
        return self._arith(other, lambda a, b: a + b, symbol="+")

    def __radd__(self, other):
        return self._arith(other, lambda a, b: a + b, True, "+")

    def __sub__(self, other):
        return self._arith(other, lambda a, b: a - b, symbol="-")

    def __rsub__(self, other):
        return self._arith(other, lambda a, b: a - b, True, "-")

    def __mul__(self, other):
        if type(other) is list:
            return Repeated(other, self)
        return self._arith(other, lambda a, b: a * b, symbol="*")

    __rmul__ = __mul__

    def __neg__(self):
        return SInt(-self.term, -self.hi, -self.lo)

    def __abs__(self):
        return SInt(z3.If(self.term < 0, -self.term, self.term), 0 if self.lo <= 0 <= self.hi
                    else min(abs(self.lo), abs(self.hi)), max(abs(self.lo), abs(self.hi)))

    def _divide(self, other, floor):
        """Python's ``//`` (``floor``) or ``%``: a zero divisor raises ZeroDivisionError on its
        path, as in Python; the bit-vectors' truncating division is corrected toward floor."""
        if not isinstance(other, _NUMBERS):
            return NotImplemented
        d = other if isinstance(other, SInt) else SInt(term_int(other), *_bounds(other))
        if _branch(d.term == 0):
            raise ZeroDivisionError("integer division or modulo by zero")
        a, b = self.term, d.term
        q, r = z3.If(b == 0, num(0), a / b), z3.SRem(a, b)  # / on bit-vectors: signed, truncating
        off = z3.And(r != 0, (r < 0) != (b < 0))
        big = max(abs(self.lo), abs(self.hi))
        if floor:
            return SInt(z3.If(off, q - 1, q), -big - 1, big)
        reach = max(abs(d.lo), abs(d.hi))
        return SInt(z3.If(off, r + b, r), -reach, reach)

    def __floordiv__(self, other):
        return self._divide(other, True)

    def __mod__(self, other):
        return self._divide(other, False)

    def __pow__(self, exponent):
        if isinstance(exponent, bool) or not isinstance(exponent, int) or exponent < 0:
            _refuse("a power with a symbolic or negative exponent of a symbolic base")
        result = 1
        for _ in range(exponent):
            result = self * result
        return result

    def __rpow__(self, base):
        """``base ** self`` for a concrete base: one value per exponent in range (a negative
        exponent, a float in Python, is forked to concretely)."""
        if isinstance(base, bool) or not isinstance(base, int):
            return NotImplemented
        if self.lo < 0:
            if not _branch(self.term >= 0):
                return base ** self.__index__()
            return base ** SInt(self.term, 0, self.hi)
        values = [base ** k for k in range(self.lo, self.hi + 1)]
        term = num(values[-1])
        for k in range(self.hi - 1, self.lo - 1, -1):
            term = z3.If(self.term == k, num(values[k - self.lo]), term)
        return SInt(term, min(values), max(values))

    def _cmp(self, other, symbol):
        if not isinstance(other, _NUMBERS):
            if symbol not in ("==", "!="):  # as Python says it of an int (the model's error)
                raise TypeError(f"'{symbol}' not supported between instances of 'int' and "
                                f"'{type(other).__name__}'")
            return NotImplemented
        if symbol == "!=":
            return SBool(_not(_built("==", (self.term, term_int(other)))))
        return SBool(_built(symbol, (self.term, term_int(other))))

    def __hash__(self):
        """As a dict key or set element: forked to its concrete value (over its range, as
        ``__index__``), whose hash the int equal to it shares."""
        return hash(self.__index__())

    def __eq__(self, other):
        if other is None or isinstance(other, (str, tuple)):
            return False
        return self._cmp(other, "==")

    def __ne__(self, other):
        if other is None or isinstance(other, (str, tuple)):
            return True
        return self._cmp(other, "!=")

    def __lt__(self, other):
        return self._cmp(other, "<")

    def __le__(self, other):
        return self._cmp(other, "<=")

    def __gt__(self, other):
        return self._cmp(other, ">")

    def __ge__(self, other):
        return self._cmp(other, ">=")

    def __bool__(self):
        return _branch(_nonzero(self.term))

    def __index__(self):
        """A concrete int, forking over the value's range (``arr[s.leader]``, ``len``)."""
        for v in range(self.lo, self.hi):
            if _branch(self._cmp(v, "==").term):
                return v
        return self.hi

    __int__ = __index__


class SCount(SInt):
    """A count: ``offset`` plus the weights of the booleans of ``ones`` (``[(term, weight)]``)
    that hold (``sum(e.proc == p for e in s.events)``, a set's or a bag's size). Its term is
    their sum, as any ``SInt``'s; compared with a constant it is a pseudo-Boolean constraint
    (z3's ``PbLe``, ``PbGe``, ``PbEq``), which z3 decides without bit-blasting an adder over
    hundreds of bits (vector-clock's 162 events: 0.1-1.5 s a solver call as a sum)."""

    __slots__ = ("ones", "offset", "_compared", "_term")

    def __init__(self, ones, offset=0, term=None, hi=None):
        """``term``: the count's term when it has a smaller form than the sum of ``ones``
        (a bag's size: the sum of its counts), else made when first asked for (a count
        compared with constants never needs it); ``hi``: its bound when smaller than their
        sum."""
        top = offset + sum(w for _, w in ones)
        super().__init__(term, offset, top if hi is None else min(hi, top))
        self.ones, self.offset = ones, offset
        self._compared = {}  # (symbol, k) -> SBool: set_add compares a count with 162 events

    @property
    def term(self):
        if self._term is None:
            term = num(self.offset)
            for b, w in self.ones:
                term = _built("+", (term, _ite(b, num(w), num(0))))
            self._term = _simplify(term)
        return self._term

    @term.setter
    def term(self, term):
        self._term = term

    def _cmp(self, other, symbol):
        if type(other) is not int or not self.ones:
            return super()._cmp(other, symbol)
        found = self._compared.get((symbol, other))
        if found is None:
            found = self._compared[symbol, other] = self._pseudo_boolean(other, symbol)
        return found

    def _pseudo_boolean(self, other, symbol):
        k = other - self.offset
        if symbol in ("==", "!="):
            term = _pb("==", self.ones, k)
            return SBool(term if symbol == "==" else _not(term))
        if symbol in ("<", "<="):
            return SBool(_pb("<=", self.ones, k - (symbol == "<")))
        return SBool(_pb(">=", self.ones, k + (symbol == ">")))

    def __bool__(self):
        return _branch(self._cmp(0, "!=").term)

    def __index__(self):
        """A concrete int, forking on ``count <= v`` for v upwards: each path then bounds the
        count from both sides (a chain of ``count != v`` instead is a disjunction each, which
        z3 splits on: ``len(s.events)`` took seconds a check at 26 of them)."""
        for v in range(self.lo, self.hi):
            if _branch(self._cmp(v, "<=").term):
                return v
        return self.hi

    __int__ = __index__

    def __add__(self, other):
        if type(other) is int:
            term = None if self._term is None else _simplify(self._term + other)
            return SCount(self.ones, self.offset + other, term, self.hi + other)
        return super().__add__(other)

    __radd__ = __add__

    def __sub__(self, other):
        return self + -other if type(other) is int else super().__sub__(other)


def _pb(kind, ones, k):
    """z3's ``PbEq`` / ``PbLe`` / ``PbGe`` (``kind`` "==", "<=", ">=") of ``ones`` and ``k``,
    made through z3's C API and memoised while tracing, as ``_built`` (``set_add`` compares
    an event's sequence number, a count, with each of 162 events)."""
    tracer = Tracer.current
    memo = tracer._built if tracer is not None else {}
    # the C arrays of ``ones``, once per list (kept alive beside them: counts made by adding
    # a constant to a count share its list)
    found = memo.get(("ones", id(ones)))
    if found is None:
        n = len(ones)
        found = memo["ones", id(ones)] = ones, (
            tuple((b.get_id(), w) for b, w in ones), (z3.Ast * n)(*[b.as_ast() for b, _ in ones]),
            (ctypes.c_int * n)(*[w for _, w in ones]))
    ids, asts, weights = found[1]
    key = ("pb", kind, k, ids)
    made = memo.get(key)
    if made is None:
        ctx = ones[0][0].ctx
        mk = {"==": z3.Z3_mk_pbeq, "<=": z3.Z3_mk_pble, ">=": z3.Z3_mk_pbge}[kind]
        made = memo[key] = ones, z3.BoolRef(mk(ctx.ref(), len(ones), asts, weights, k), ctx)
    return made[1]


def _count(ones, offset=0, term=None, hi=None):
    """An ``SCount`` of the booleans ``ones`` (``[(term, weight)]``), those decided by
    simplification taken out: the false dropped, the true added to ``offset``. While tracing,
    one per distinct count (its terms are those of any path: each replay of an action asks
    again for ``sum(e.proc == p for e in s.events)``), kept beside its terms."""
    tracer = Tracer.current
    key = ("count", offset, hi, id(term), *[(id(b), w) for b, w in ones])
    found = tracer._built.get(key) if tracer is not None else None
    if found is not None:
        return found[1]
    open_ones = []
    for b, w in ones:
        b = _simplify(b)
        if z3.is_true(b):
            offset += w
        elif not z3.is_false(b):
            open_ones.append((b, w))
    count = SCount(open_ones, offset, term, hi)
    if tracer is not None:  # (the terms kept alive: their ids are the key)
        tracer._built[key] = (ones, term), count
    return count


def _nonzero(term):
    """``term != 0``, a product as its factors all nonzero and a sum of counts as one of them
    nonzero: an ``SInt``'s bounds keep it inside the bit-vectors' width, so neither wraps to 0,
    and a solver decides the parts far faster than a bit-blasted multiplication (Paxos's
    Phase2a: its witnesses are a sum over quorums of products of counts). Memoised by term id
    for the tracer's whole run: each replay of Phase2a asks again about the same counts."""
    tracer = Tracer.current
    memo, natural = (tracer._nonzero, tracer._natural) if tracer is not None else ({}, {})

    def nonzero(t):
        key = t.get_id()
        if key not in memo:
            kind = t.decl().kind() if z3.is_app(t) else None
            if kind == z3.Z3_OP_BMUL:
                value = z3.And(*[nonzero(f) for f in t.children()])
            elif kind == z3.Z3_OP_BADD and all(_natural(f, natural) for f in t.children()):
                value = z3.Or(*[nonzero(f) for f in t.children()])  # (nor does it wrap)
            elif kind == z3.Z3_OP_ITE:
                c, a, b = t.children()
                value = z3.If(c, nonzero(a), nonzero(b))
            else:
                value = t != 0
            memo[key] = t, value  # (t kept alive: its id stays its own)
        return memo[key][1]
    return nonzero(term)


def _natural(term, memo):
    """Is ``term`` at least 0 by its form (a count: if-then-elses, sums and products of
    non-negative constants)? ``memo``: by term id, beside the term (kept alive)."""
    key = term.get_id()
    if key not in memo:
        kind = term.decl().kind() if z3.is_app(term) else None
        if z3.is_bv_value(term):
            value = term.as_signed_long() >= 0
        elif kind == z3.Z3_OP_ITE:
            value = _natural(term.arg(1), memo) and _natural(term.arg(2), memo)
        elif kind in (z3.Z3_OP_BADD, z3.Z3_OP_BMUL):
            value = all(_natural(f, memo) for f in term.children())
        else:
            value = False
        memo[key] = term, value
    return memo[key][1]


#: what arithmetic and comparisons take: ints (and bools, as Python counts them) and their terms
_NUMBERS = (int, SInt, SBool)


class SEnum(Sym):
    """One of an Enum's strings, as the index of the value."""

    __slots__ = ("term", "values")

    def __init__(self, term, values):
        self.term, self.values = term, values

    def _index(self, other):
        if isinstance(other, SEnum):
            return other.term
        if isinstance(other, str):
            return num(self.values.index(other)) if other in self.values else None
        return NotImplemented

    def __hash__(self):
        """As a dict key or set element: forked to its concrete string."""
        for k, v in enumerate(self.values[:-1]):
            if _branch(self.term == k):
                return hash(v)
        return hash(self.values[-1])

    def __eq__(self, other):
        if other is None or isinstance(other, (int, tuple)):
            return False
        if isinstance(other, SEnum) and other.values != self.values:  # two Enums: by string
            return SBool(z3.Or(*[z3.And(self.term == i, other.term == j)
                                 for i, a in enumerate(self.values)
                                 for j, b in enumerate(other.values) if a == b]))
        k = self._index(other)
        if k is NotImplemented:
            return k
        return SBool(z3.BoolVal(False) if k is None else self.term == k)

    def __ne__(self, other):
        eq = self.__eq__(other)
        if eq is NotImplemented:
            return eq
        return not eq if isinstance(eq, bool) else SBool(z3.Not(eq.term))

    def __bool__(self):
        return True  # every Enum value is a non-empty string

    def index_in(self, values):
        """The term of this value's index in another Enum's ``values`` (-1: not one of them)."""
        if values == self.values:
            return self.term
        term = num(-1)
        for k, v in enumerate(self.values):
            term = z3.If(self.term == k, num(values.index(v) if v in values else -1), term)
        return term


def sym_eq(a, b):
    """``a == b`` as a z3 boolean, for values that may be symbolic or concrete."""
    if isinstance(a, Sym) or isinstance(b, Sym):
        if isinstance(a, (SSet, SOptional, SSeq)) or isinstance(b, (SSet, SOptional, SSeq)):
            left, right = (a, b) if isinstance(a, Sym) else (b, a)
            return term_bool(left.__eq__(right))
        r = a.__eq__(b) if isinstance(a, Sym) else b.__eq__(a)
        if r is NotImplemented:
            return z3.BoolVal(False)
        return term_bool(r)
    if isinstance(a, tuple) and isinstance(b, tuple):
        if type(a) is not type(b) or len(a) != len(b):
            return _FALSE
        pairs = list(zip(tuple.__iter__(a), tuple.__iter__(b)))
        if any(not has_sym(x) and not has_sym(y) and not (x == y and type(x) is type(y))
               for x, y in pairs):  # (a concrete part that differs decides it: a message
            return _FALSE  # of another sender, compared with each of a bag's 486)
        parts = []
        for x, y in pairs:
            t = sym_eq(x, y)
            if z3.is_false(t):
                return _FALSE
            if not z3.is_true(t):
                parts.append(t)
        return parts[0] if len(parts) == 1 else _and(*parts)
    return z3.BoolVal(a == b and type(a) is type(b))


def has_sym(v):
    """Does ``v`` hold a symbolic part?"""
    if isinstance(v, Sym):
        return True
    if isinstance(v, tuple):
        return any(map(has_sym, v))
    return False


_TRUE, _FALSE = z3.BoolVal(True), z3.BoolVal(False)


class SSet(Sym):
    """A subset of a finite universe of concrete values: one boolean per element."""

    __slots__ = ("universe", "bits", "_present", "_with")

    def __init__(self, universe, bits):
        self.universe, self.bits = universe, bits  # universe: {element: position}
        # what is computed from the set once and asked again on every replay of the code
        # that reads it: the present elements, and the results of each operation with a
        # concrete frozenset (``msgs & messages_1b[b]``, a quorum's votes ``<= msgs``)
        self._present, self._with = None, {}

    def _memo(self, op, other, compute):
        """``compute()``, remembered per ``(op, other)`` when ``other`` is a frozenset."""
        if type(other) is not frozenset:
            return compute()
        key = op, other
        found = self._with.get(key)
        if found is None:
            found = self._with[key] = compute()
        return found

    def present(self):
        """``(element, membership)`` of each element not known absent (computed once: an
        aggregation may iterate over the set many times)."""
        if self._present is None:
            self._present = [(e, b) for e, b in zip(self.universe, self.bits)
                             if b is not _FALSE and not z3.is_false(b)]
            self._with["undecided"] = sum(not z3.is_true(b) for _, b in self._present)
        return self._present

    def undecided(self):
        """How many elements may or may not be in the set."""
        self.present()
        return self._with["undecided"]

    def _member(self, x):
        if not has_sym(x):
            try:
                k = self.universe.get(x)
            except TraceError:
                k = None
            return self.bits[k] if k is not None else z3.BoolVal(False)
        return _or(*[_and(b, eq) for eq, b in zip(_equalities(x, self.universe), self.bits)
                     if eq is not _FALSE])

    def __contains__(self, x):
        return _branch(self._member(x))

    def member(self, x):
        """``x in self`` as an ``SBool`` (without forking)."""
        return SBool(self._member(x))

    def _other_bits(self, other):
        if isinstance(other, SSet):
            if other.universe is not self.universe and list(other.universe) != list(self.universe):
                _refuse("combining sets over different universes")
            return other.bits
        if isinstance(other, (frozenset, set)):
            return [z3.BoolVal(x) for x in self._concrete(other)]
        return None

    def _concrete(self, other):
        """Which elements of the universe the concrete set ``other`` holds (Python bools; one
        lookup per element of ``other``, which is mostly one message: ``msgs | {m}``)."""
        held = [False] * len(self.universe)
        for x in other:
            k = self.universe.get(x)
            if k is None:
                raise TraceError(f"{x!r} is outside the set's declared element type")
            held[k] = True
        return held

    def _combine(self, other, op, known):
        """``op`` bit by bit; with a concrete set, ``known(a, b)`` for its Python bool b (no
        solver call: ``msgs | {m}`` changes one bit of hundreds)."""
        if isinstance(other, (frozenset, set)):
            return self._memo(known, other, lambda: SSet(self.universe, [
                known(a, b) for a, b in zip(self.bits, self._concrete(other))]))
        bits = self._other_bits(other)
        if bits is None:
            return NotImplemented
        return SSet(self.universe, [_simplify(op(a, b)) for a, b in zip(self.bits, bits)])

    def __or__(self, other):
        return self._combine(other, z3.Or, _union_bit)

    __ror__ = __or__
    union = __or__

    def __and__(self, other):
        return self._combine(other, z3.And, _intersection_bit)

    __rand__ = __and__

    def __sub__(self, other):
        return self._combine(other, lambda a, b: z3.And(a, z3.Not(b)), _difference_bit)

    def __rsub__(self, other):
        bits = self._other_bits(other)
        if bits is None:
            return NotImplemented
        return SSet(self.universe, [z3.And(b, z3.Not(a)) for a, b in zip(self.bits, bits)])

    def _eq_term(self, other):
        bits = self._other_bits(other)
        if bits is None:
            return None
        return z3.And(*[a == b for a, b in zip(self.bits, bits)]) if bits else z3.BoolVal(True)

    __hash__ = Sym.__hash__  # (a class that defines __eq__ loses the inherited one)

    def __eq__(self, other):
        term = self._eq_term(other)
        return NotImplemented if term is None else SBool(term)

    def __ne__(self, other):
        term = self._eq_term(other)
        return NotImplemented if term is None else SBool(z3.Not(term))

    def __le__(self, other):
        bits = self._other_bits(other)
        if bits is None:
            return NotImplemented
        return SBool(z3.And(*[z3.Implies(a, b) for a, b in zip(self.bits, bits)]))

    issubset = __le__

    def __ge__(self, other):
        if isinstance(other, (frozenset, set)):  # (a quorum's votes <= msgs: a few bits)
            return self._memo("ge", other, lambda: SBool(z3.And(_TRUE, *[
                a for a, b in zip(self.bits, self._concrete(other)) if b])))
        bits = self._other_bits(other)
        if bits is None:
            return NotImplemented
        return SBool(z3.And(*[z3.Implies(b, a) for a, b in zip(self.bits, bits)]))

    issuperset = __ge__

    def isdisjoint(self, other):
        bits = self._other_bits(other)
        return SBool(z3.Not(z3.Or(*[z3.And(a, b) for a, b in zip(self.bits, bits)])))

    def __iter__(self):
        """The elements (``_Unrolled``): unrolled over the universe under an aggregation, else
        forking on each one's membership."""
        return _Unrolled(self)

    def size(self):
        """``len(self)`` as an ``SCount`` (without forking)."""
        return _count([(b, 1) for _, b in self.present()])

    def __len__(self):
        return self.size().__index__()

    def __bool__(self):
        present = self.present()
        if not present:
            return False
        some = self._with.get("some")
        if some is None:
            some = self._with["some"] = z3.Or(*[b for _, b in present])
        return _branch(some)


def _union_bit(a, b):
    """An element's membership in ``s | c`` for its membership a in s, b (a bool) in c."""
    return _TRUE if b else a


def _intersection_bit(a, b):
    return a if b else _FALSE


def _difference_bit(a, b):
    return _FALSE if b else a


class _Unrolled:
    """An iteration over a symbolic set. In a generator expression that an aggregation
    consumes (``sum``, ``any``, ``all``, ``max``, ``min``: ``_aggregated``), as TLA+'s ``\\E m
    \\in msgs : P(m)`` or Paxos.tla's ``Q1bv`` read by Phase2a, it is unrolled over the set's
    finite universe: every element not known absent, whose membership is the guard of what the
    expression yields for it, without forking. Anywhere else (a ``for`` loop with effects) it
    yields the members, forking on each one's membership: at most ``ITERABLE`` undecided ones,
    which bounds the paths to 2 ** ITERABLE."""

    def __init__(self, sset):
        # (a set's bits are constants, or simplified by the operation that made them)
        self.sset, self.items = sset, sset.present()
        self.k, self.guards = 0, None

    def __iter__(self):
        return self

    def __next__(self):
        if self.k == 0:  # unrolled when a consumed generator expression's own loop asks
            tracer, frame = Tracer.current, sys._getframe(1)
            if tracer is not None and frame.f_code.co_code[frame.f_lasti] == _FOR_ITER:
                self.guards = tracer.aggregated.get(frame)
            undecided = self.sset.undecided()
            if self.guards is None and undecided > ITERABLE:
                _refuse(f"iterating over a set of {undecided} elements that may or may not be "
                        f"in it (at most {ITERABLE} in a loop: aggregate over it in a generator "
                        "expression, any(... for m in s) or sum(...), instead)")
        while self.k < len(self.items):
            e, b = self.items[self.k]
            self.k += 1
            if self.guards is not None:
                self.guards[id(self)] = b
                return e
            if _branch(b):
                return e
        if self.guards is not None:
            self.guards.pop(id(self), None)
        raise StopIteration


_FOR_ITER = dis.opmap["FOR_ITER"]


def _aggregated(gen):
    """``(guard, value)`` for each value the generator expression ``gen`` yields, the guard
    being the membership of the elements of the symbolic sets it iterates over (``_Unrolled``)
    that the value was computed for (True when it iterates over none)."""
    tracer = Tracer.current
    frame = gen.gi_frame
    guards = tracer.aggregated[frame] = {}
    try:
        for value in gen:
            bits = list(guards.values())
            yield (True if not bits else bits[0] if len(bits) == 1 else _and(*bits)), value
    except TraceError:
        raise
    except Exception as e:  # the expression raised for an element that may not be in the set
        if any(not z3.is_true(b) for b in guards.values()):  # (as vector-clock's dict of the
            _refuse(f"an expression that raises ({type(e).__name__}) for an element that "
                    "may not be in the set it iterates over")  # events' pasts, read for
        raise  # every event of the universe)
    finally:
        del tracer.aggregated[frame]
        gen.close()


def _consumed(args, kwargs=None):
    """Is the call of an aggregation over one generator expression, while tracing?"""
    return (len(args) == 1 and not kwargs and Tracer.current is not None
            and type(args[0]) is _GENERATOR and args[0].gi_frame is not None)


_GENERATOR = type(x for x in ())


def _as_condition(v):
    """What an aggregation reads as a truth value, as a z3 boolean (a symbolic value other
    than a bool is asked for its truth, forking)."""
    if isinstance(v, SBool):
        return v.term
    if isinstance(v, SInt):
        return v.term != 0
    return z3.BoolVal(bool(v))


def _concrete(term):
    """A z3 boolean as a Python bool when it is decided, else an ``SBool``."""
    term = _simplify(term)
    return True if z3.is_true(term) else False if z3.is_false(term) else SBool(term)


def _quantifier(name, decides, join, guarded):
    """``any`` or ``all`` while tracing: over a symbolic set, ``join`` (Or, And) of each
    element's value under its guard (``guarded``: And, Implies), with no fork; it stops at a
    value that ``decides`` it unguarded (true for ``any``, false for ``all``), as Python's
    does."""
    empty = name == "all"

    def traced(*args, **kwargs):
        if not _consumed(args, kwargs):
            return _BUILTINS[name](*args, **kwargs)
        terms = []
        for guard, value in _aggregated(args[0]):
            term = _as_condition(value)
            if guard is True and decides(_simplify(term)):
                return not empty
            terms.append(term if guard is True else guarded(guard, term))
        return _concrete(join(*terms)) if terms else empty
    return traced


_any = _quantifier("any", z3.is_true, _or, _and)
_all = _quantifier("all", z3.is_false, _and, _implies)


def _sum(*args, **kwargs):
    """``sum`` while tracing: over a symbolic set, each guarded value counts where its guard
    holds (an if-then-else: no fork)."""
    if not _consumed(args[:1]) or len(args) > 2 or set(kwargs) - {"start"}:
        return _BUILTINS["sum"](*args, **kwargs)
    total = args[1] if len(args) > 1 else kwargs.get("start", 0)
    pairs = list(_aggregated(args[0]))
    ones = _ones(pairs)
    if ones is not None and type(total) is int:
        return _count(ones, total)
    for guard, value in pairs:
        if guard is not True:
            if not isinstance(value, _NUMBERS):
                _refuse(f"summing a {type(value).__name__} over a symbolic set")
            lo, hi = _bounds(value)
            value = SInt(_ite(guard, term_int(value), num(0)), min(lo, 0), max(hi, 0))
        total = total + value
    return total


def _ones(pairs):
    """The ``(guard, value)`` pairs of a sum as the weighted booleans of an ``SCount`` (a
    count: every value a bool, or a non-negative int constant), or None."""
    ones = []
    for guard, value in pairs:
        if value is False:
            continue
        if value is True:
            ones.append((_TRUE if guard is True else guard, 1))
        elif isinstance(value, SBool):
            ones.append((value.term if guard is True else _and(guard, value.term), 1))
        elif type(value) is int and value >= 0:
            ones.append((_TRUE if guard is True else guard, value))
        else:
            return None
    return ones


def _extreme(name, above):
    def extreme(*args, **kwargs):
        if len(args) > 1 and not kwargs and all(isinstance(a, _NUMBERS) for a in args) \
                and any(isinstance(a, SInt) for a in args):
            # max(a, b) of numbers (a vector clock's merge): an if-then-else, not a fork
            best = args[0]
            for a in args[1:]:
                (a_lo, a_hi), (b_lo, b_hi) = _bounds(a), _bounds(best)
                take = above(term_int(a), term_int(best))
                best = SInt(_simplify(_ite(_simplify(take), term_int(a), term_int(best))),
                            max(a_lo, b_lo) if name == "max" else min(a_lo, b_lo),
                            max(a_hi, b_hi) if name == "max" else min(a_hi, b_hi))
            return best
        if not _consumed(args, set(kwargs) - {"default"}):
            return _BUILTINS[name](*args, **kwargs)
        pairs = list(_aggregated(args[0]))
        if all(guard is True for guard, _ in pairs):
            return _BUILTINS[name]((v for _, v in pairs), **kwargs)
        for _, value in pairs:
            if not isinstance(value, _NUMBERS):
                _refuse(f"{name}() of a {type(value).__name__} over a symbolic set")
        guards = [_TRUE if guard is True else guard for guard, _ in pairs]
        if not pairs or not _branch(_or(*guards)):
            if "default" in kwargs:
                return kwargs["default"]
            raise ValueError(f"{name}() arg is an empty sequence")
        if all(type(value) is int for _, value in pairs):
            # concrete values (Paxos's Phase2a: the ballots of the votes its 1b messages
            # report): one if-then-else per distinct value, whichever wins whose guards hold
            by_value = {}
            for guard, (_, value) in zip(guards, pairs):
                by_value.setdefault(value, []).append(guard)
            order = sorted(by_value, reverse=name == "min")
            best = num(order[0])
            for value in order[1:]:
                best = _ite(_or(*by_value[value]), num(value), best)
            return SInt(_simplify(best), order[0] if name == "max" else order[-1],
                        order[-1] if name == "max" else order[0])
        best, some, lo, hi = None, _FALSE, _LIMIT, -_LIMIT
        for guard, (_, value) in zip(guards, pairs):
            term, (v_lo, v_hi) = term_int(value), _bounds(value)
            lo, hi = min(lo, v_lo), max(hi, v_hi)
            take = guard if best is None else _and(guard, _or(_not(some), above(term, best)))
            best = term if best is None else _ite(take, term, best)
            some = _or(some, guard)
        return SInt(_simplify(best), lo, hi)
    extreme.__doc__ = (f"``{name}`` while tracing: over a symbolic set, the {name} of the values "
                       "whose guards hold, as an if-then-else (forking only on whether any does)")
    return extreme


_BUILTINS = {name: getattr(__import__("builtins"), name)
             for name in ("any", "all", "sum", "max", "min")}
#: the tracer's aggregations, in the modules of models and properties while tracing
_AGGREGATIONS = {"any": _any, "all": _all, "sum": _sum,
                 "max": _extreme("max", lambda a, b: a > b),
                 "min": _extreme("min", lambda a, b: a < b)}


class Repeated(Sym):
    """``[t] * k`` for a symbolic count k, as an action's result: k successors alike (TLC counts
    each witness of an existential as a generated state: Paxos.tla's Phase2a, one per quorum
    and vote that make a proposal safe). ``SymbolicModel`` keeps k as the outcome's ``count``."""

    __slots__ = ("items", "count")

    def __init__(self, items, count):
        self.items, self.count = items, count


class Outcome(tuple):
    """``(path condition, next-state terms)`` of one outcome of an action, and ``count``: the
    number of successors alike it stands for (a term; None: one)."""

    def __new__(cls, cond, terms, count=None):
        self = tuple.__new__(cls, (cond, terms))
        self.count = count
        return self


class SOptional(Sym):
    """An Optional value not yet read: settled (None or its value) when an action reads it."""

    __slots__ = ("present", "value")

    def __init__(self, present, value):
        self.present, self.value = present, value

    def settle(self):
        return settle(self.value) if _branch(self.present) else None

    # An unread Optional met by a comparison inside a container (``None in row``): by its terms
    def __eq__(self, other):
        if other is None:
            return SBool(z3.Not(self.present))
        return SBool(z3.And(self.present, sym_eq(self.value, other)))

    def __ne__(self, other):
        return SBool(z3.Not(self.__eq__(other).term))

    __hash__ = Sym.__hash__

    def __bool__(self):
        return bool(self.settle())


class SSeq(Sym):
    """A bounded sequence not yet read: settled to a tuple of its length when read."""

    __slots__ = ("length", "items")

    def __init__(self, length, items):
        self.length, self.items = length, items

    def settle(self):
        return tuple(settle(x) for x in self.items[:self.length.__index__()])


class SBag(Sym):
    """A multiset over a finite universe (the messages in flight): one count per element.
    Iterating forks over the counts (the bag's size bounds the paths); ``bag_add`` and
    ``bag_remove`` update counts while an action is traced."""

    __slots__ = ("universe", "counts", "bound", "_size")

    def __init__(self, universe, counts, bound):
        self.universe, self.counts, self.bound = universe, counts, bound
        self._size = None  # (each replay of a send asks the state's bag again)

    def _count(self, x):
        if not has_sym(x):
            k = self.universe.get(x)
            return self.counts[k] if k is not None else num(0)
        total = num(0)
        for eq, c in zip(_equalities(x, self.universe), self.counts):
            if eq is not _FALSE:
                total = _built("+", (total, _ite(eq, c, num(0))))
        return total

    def __contains__(self, x):
        return _branch(self._count(x) > 0)

    def size(self):
        """The number of messages as an ``SCount`` of each element's count reaching 1, 2, ...
        up to the bag's bound (without forking)."""
        if self._size is None:
            total = num(0)
            for c in self.counts:
                total = total + c
            self._size = _count([(c >= j, 1) for c in self.counts
                                 for j in range(1, self.bound + 1)],
                                term=z3.simplify(total), hi=self.bound)
        return self._size

    def __len__(self):
        return self.size().__index__()

    def __bool__(self):
        return _branch(self.size().term > 0)

    def __iter__(self):
        """The elements, each as often as it is in the bag (forking over the counts)."""
        items = []
        for e, c in zip(self.universe, self.counts):
            items += [e] * SInt(c, 0, self.bound).__index__()
        return iter(items)

    def _changed(self, m, delta):
        """The bag with ``delta`` more of ``m``: of a concrete message, one count; of one built
        from the state, every count it may be (a path on which it is no element of the
        universe leaves the bag's type: ``OutsideUniverse``)."""
        counts = list(self.counts)
        if not has_sym(m):
            k = self.universe.get(m)
            if k is None:
                raise OutsideUniverse(f"{m!r} is outside the bag's declared element type")
            counts[k] = _simplify(_built("+", (counts[k], num(delta))))
            return SBag(self.universe, counts, self.bound)
        if not _branch(_within(m, self.universe)):
            raise OutsideUniverse(f"{_show(m)} is outside the bag's declared element type")
        for k, eq in enumerate(_equalities(m, self.universe)):
            if eq is not _FALSE:
                counts[k] = _simplify(_built("+", (counts[k], _ite(eq, num(delta), num(0)))))
        return SBag(self.universe, counts, self.bound)

    def __eq__(self, other):
        if isinstance(other, SBag):
            theirs = other.counts
        elif isinstance(other, tuple):
            theirs = _counts(self.universe, other)
            if theirs is None:
                return False
        else:
            return NotImplemented
        return SBool(z3.And(*[a == b for a, b in zip(self.counts, theirs)]))

    __hash__ = Sym.__hash__


def _counts(universe, items):
    """The count terms of a concrete bag (None: an element outside the universe)."""
    counts = [0] * len(universe)
    for x in items:
        k = universe.get(x)
        if k is None:
            return None
        counts[k] += 1
    return [num(c) for c in counts]


def _bag_add(bag, m, fifo=False):
    """``bag_add`` while an action is traced: a symbolic bag counts ``m`` once more."""
    if isinstance(bag, SBag):
        if fifo:
            _refuse("a FIFO (ordered) bag")
        return bag._changed(m, 1)
    return _concrete_bag_add(bag, m, fifo)


def _set_add(s, *items):
    """``set_add`` while an action is traced: an element built from the state (symbolic
    parts) sets the bit of each element of the universe it may equal, without forking over
    its values; a path on which it is none of them leaves the set's type (``OutsideUniverse``)."""
    if not isinstance(s, SSet):
        return _concrete_set_add(s, *items)
    bits = list(s.bits)
    for x in items:
        if not has_sym(x):
            k = s.universe.get(x)
            if k is None:
                raise OutsideUniverse(f"{x!r} is outside the set's declared element type")
            bits[k] = _TRUE
            continue
        if not _branch(_within(x, s.universe)):
            raise OutsideUniverse(f"{_show(x)} is outside the set's declared element type")
        for k, eq in enumerate(_equalities(x, s.universe)):
            if eq is not _FALSE:
                bits[k] = _simplify(_or(bits[k], eq))
    return SSet(s.universe, bits)


def _equalities(x, universe):
    """``sym_eq(x, e)`` for each element ``e`` of ``universe``, ``_FALSE`` itself where it is
    false: each part of ``x`` (a field, a clock's entry) compared once with each of its values,
    not once per element (an event against 162: its process, sequence number and three clock
    entries)."""
    memo = {}

    def part(a, b, where):
        if isinstance(a, tuple) and isinstance(b, tuple):
            if type(a) is not type(b) or len(a) != len(b):
                return _FALSE
            terms = []
            for i, (c, d) in enumerate(zip(tuple.__iter__(a), tuple.__iter__(b))):
                t = part(c, d, where + (i,))
                if t is _FALSE:
                    return _FALSE
                if t is not _TRUE:
                    terms.append(t)
            return terms[0] if len(terms) == 1 else _and(*terms) if terms else _TRUE
        key = where, type(b), b
        found = memo.get(key)
        if found is None:
            t = sym_eq(a, b)
            found = memo[key] = _FALSE if z3.is_false(t) else _TRUE if z3.is_true(t) else t
        return found
    return [part(x, e, ()) for e in universe]


def _within(x, values):
    """Is ``x`` (with symbolic parts) one of the concrete ``values``? Part by part when the
    values are every combination of their parts' values (a record type's universe), so the
    term tests each field's range rather than every element."""
    if not has_sym(x):
        return z3.BoolVal(x in values)
    if isinstance(x, tuple):
        n = len(x)
        if all(type(v) is type(x) and len(v) == n for v in values):
            parts = [{tuple.__getitem__(v, i) for v in values} for i in range(n)]
            size = 1
            for p in parts:
                size *= len(p)
            if size == len(values):
                return z3.And(*[_within(tuple.__getitem__(x, i), p) for i, p in enumerate(parts)])
    if isinstance(x, SInt) and all(type(v) is int for v in values):
        lo, hi = min(values), max(values)
        if hi - lo + 1 == len(values):
            return z3.And(x.term >= lo, x.term <= hi)
    return _or(*[eq for eq in _equalities(x, values) if eq is not _FALSE])


def _bag_remove(bag, m):
    """``bag_remove`` while an action is traced: a ValueError when ``m`` is not in the bag,
    as ``tuple.index`` raises it."""
    if isinstance(bag, SBag):
        if not _branch(bag._count(m) > 0):
            raise ValueError("tuple.index(x): x not in tuple")
        return bag._changed(m, -1)
    return _concrete_bag_remove(bag, m)


class SMap(Sym):
    """A partial function over a finite universe of keys (a ``Map`` field, a ``FrozenMap``
    concretely): per key, a presence bit and a value. A symbolic key is forked to a concrete one
    where the operation needs it; reading an absent key raises ``KeyError``, as ``FrozenMap``."""

    __slots__ = ("keys_", "entries", "layout")

    def __init__(self, keys, entries, layout):
        self.keys_, self.entries, self.layout = keys, entries, layout  # entries: [(present, v)]

    def _key(self, key):
        """The position of ``key`` in the universe (forking over it when symbolic), or None."""
        if not has_sym(key):
            return self.keys_.get(key)
        for e, k in self.keys_.items():
            if _branch(sym_eq(key, e)):
                return k
        return None

    def __getitem__(self, key):
        k = self._key(key)
        if k is None or not _branch(self.entries[k][0]):
            raise KeyError(key)
        return settle(self.entries[k][1])

    def get(self, key, default=None):
        k = self._key(key)
        if k is None or not _branch(self.entries[k][0]):
            return default
        return settle(self.entries[k][1])

    def __contains__(self, key):
        k = self._key(key)
        return k is not None and _branch(self.entries[k][0])

    def keys(self):
        if len(self.keys_) > ITERABLE:
            _refuse(f"listing the keys of a map over up to {len(self.keys_)} keys (at most "
                    f"{ITERABLE})")
        return [e for e, (present, _) in zip(self.keys_, self.entries) if _branch(present)]

    def items(self):
        return [(e, self[e]) for e in self.keys()]

    def values(self):
        return [v for _, v in self.items()]

    def __iter__(self):
        return iter(self.items())

    def __len__(self):
        total = num(0)
        for present, _ in self.entries:
            total = total + z3.If(present, num(1), num(0))
        return SInt(z3.simplify(total), 0, len(self.entries)).__index__()

    def set(self, key, value):
        k = self._key(key)
        if k is None:
            raise OutOfType(f"the key {_show(key)} is outside the map's declared key type")
        entries = list(self.entries)
        entries[k] = (z3.BoolVal(True), value)
        return SMap(self.keys_, entries, self.layout)

    def delete(self, key):
        k = self._key(key)
        entries = list(self.entries)
        if k is not None:
            entries[k] = (z3.BoolVal(False), None)
        return SMap(self.keys_, entries, self.layout)

    def __eq__(self, other):
        if not isinstance(other, (SMap, FrozenMap)):
            return NotImplemented
        mine, theirs = self.layout.terms(self), self.layout.terms(other)
        return SBool(z3.And(*[a == b for a, b in zip(mine, theirs)]))

    __hash__ = Sym.__hash__


class SChoice(Sym):
    """A OneOf value not yet read: settled to one alternative when read."""

    __slots__ = ("tag", "options")

    def __init__(self, tag, options):
        self.tag, self.options = tag, options  # options: records with symbolic fields

    def settle(self):
        for k, option in enumerate(self.options[:-1]):
            if _branch(self.tag == k):
                return settle(option)
        return settle(self.options[-1])


class Lazy(tuple):
    """An array holding Optional, Seq or OneOf values not yet read: an element is settled
    (forking) when the model reads it, so that ``s.lock[p][k] is None`` forks on that slot
    alone. Iteration, slicing and concatenation keep the laziness; ``put`` does too while an
    action is traced (``_lazy_put``)."""

    __slots__ = ()

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Lazy(tuple.__getitem__(self, i))
        return _read(tuple.__getitem__(self, i))

    def __iter__(self):
        return map(_read, tuple.__iter__(self))

    def __add__(self, other):
        return Lazy(tuple.__add__(self, tuple.__iter__(other) if isinstance(other, Lazy)
                                  else other))

    def __radd__(self, other):
        return Lazy(tuple(other) + tuple(tuple.__iter__(self)))


def _read(v):
    """A value as model code reads it: an Optional, Seq or OneOf settled; an array holding
    some lazily."""
    if isinstance(v, (SOptional, SSeq, SChoice)):
        return v.settle()
    if type(v) in (tuple, Lazy) and any(map(_unsettled, tuple.__iter__(v))):
        return Lazy(v) if type(v) is tuple else v
    if isinstance(v, tuple) and type(v) is not Lazy and any(map(_unsettled, v)):
        return settle(v)  # a record holding such values: read whole
    return v


def _lazy_put(t, i, value):
    """``put`` while an action is traced: a ``Lazy`` array stays lazy (the C ``put`` would make
    a plain tuple of its unread elements)."""
    i = operator.index(i)
    if not isinstance(t, tuple):
        raise TypeError("put(t, i, value) takes a tuple, an index and a value")
    items = list(tuple.__iter__(t))
    if i < 0:  # as the concrete put: from the end
        i += len(items)
    if not 0 <= i < len(items):
        raise IndexError("put: index out of range")
    items[i] = value
    return Lazy(items) if any(map(_unsettled, items)) else tuple(items)


def settle(v):
    """``v`` with every Optional, Seq and OneOf inside it settled (forking)."""
    if isinstance(v, (SOptional, SSeq, SChoice)):
        return v.settle()
    if type(v) in (tuple, Lazy):
        items = list(tuple.__iter__(v))
        return tuple(settle(x) for x in items) if any(map(_unsettled, items)) else tuple(items)
    if isinstance(v, tuple) and any(map(_unsettled, v)):
        return tuple.__new__(type(v), [settle(x) for x in v])
    return v


def _unsettled(v):
    if isinstance(v, (SOptional, SSeq, SChoice)):
        return True
    return isinstance(v, tuple) and any(map(_unsettled, tuple.__iter__(v)))


# -- encodings ---------------------------------------------------------------------------------
class Layout:
    """How values of one declared type are encoded as a flat list of z3 terms.

    ``width`` terms; ``fresh(prefix)`` makes z3 constants and their type constraints;
    ``value(terms)`` is the symbolic value read from terms; ``terms(v)`` the terms of a value
    (concrete or symbolic); ``decode(model, terms)`` the concrete value in a z3 model.
    """

    def __init__(self, t, model, where):
        self.t, self.model, self.where = t, model, where
        if isinstance(t, (Enum, Int, Id, Bool)):
            self.width = 1
            if isinstance(t, Enum):
                self.lo, self.hi = 0, len(t.values) - 1
            elif isinstance(t, Int):
                self.lo, self.hi = _resolve(t.lo, model), _resolve(t.hi, model)
            elif isinstance(t, Id):
                self.lo, self.hi = 0, len(t.domain.values(model)) - 1
        elif isinstance(t, Optional):
            self.inner = Layout(t.inner, model, where)
            self.width = 1 + self.inner.width
        elif isinstance(t, Array):
            self.n = len(t.index.values(model))
            self.inner = Layout(t.value, model, where)
            self.width = self.n * self.inner.width
        elif isinstance(t, Set):
            universe = _universe(t.elem, model)
            if universe is None:
                raise TraceError(f"{where}: a Set of {t.elem!r} has no finite universe to encode")
            self.universe = {e: k for k, e in enumerate(sorted(universe, key=_order))}
            self.width = len(self.universe)
        elif isinstance(t, Seq):
            self.n = _resolve(t.max_len, model)
            self.inner = Layout(t.elem, model, where)
            self.width = 1 + self.n * self.inner.width
        elif isinstance(t, Map):
            keys = _universe(t.key, model)
            if keys is None:
                raise TraceError(f"{where}: a Map from {t.key!r} has no finite set of keys to "
                                 "encode")
            self.universe = {e: k for k, e in enumerate(sorted(keys, key=_order))}
            self.inner = Layout(t.value, model, where)
            self.n = len(keys) if t.max_size is None else _resolve(t.max_size, model)
            self.width = len(keys) * (1 + self.inner.width)
        elif isinstance(t, Bag):
            universe = _universe(t.elem, model)
            if universe is None:
                raise TraceError(f"{where}: a Bag of {t.elem!r} has no finite universe to "
                                 "encode")
            self.universe = {e: k for k, e in enumerate(sorted(universe, key=_order))}
            self.n = _resolve(t.max_size, model)
            self.fifo = _resolve(t.fifo, model) if t.fifo else False
            self.width = len(self.universe)
        elif isinstance(t, RecordType):
            self.fields = [Layout(f, model, where) for f in t.fields.values()]
            self.width = sum(f.width for f in self.fields)
        elif isinstance(t, OneOf):
            self.options = [Layout(a, model, where) for a in t.alternatives]
            self.width = 1 + sum(o.width for o in self.options)
        else:
            raise TraceError(f"{where}: {type(t).__name__} fields are not supported by the "
                             "symbolic back end (supported: Enum, Int, Bool, Id, Optional, "
                             "Array, Set, Seq, Bag, Map, records, OneOf)")

    # the constants of a fresh value, and what their types say of them
    def fresh(self, prefix):
        consts, facts = [], []
        self._fresh(prefix, consts, facts)
        return consts, facts

    def _fresh(self, prefix, consts, facts):
        t = self.t
        if isinstance(t, Bool):
            consts.append(z3.Bool(prefix))
        elif isinstance(t, (Enum, Int, Id)):
            c = int_const(prefix)
            consts.append(c)
            facts.append(z3.And(self.lo <= c, c <= self.hi))
        elif isinstance(t, Optional):
            present = z3.Bool(f"{prefix}?")
            consts.append(present)
            start = len(consts)
            self.inner._fresh(prefix, consts, facts)
            # absent: the value's terms are the default ones, so equal states are equal terms
            facts.append(z3.Implies(z3.Not(present), z3.And(*[
                c == d for c, d in zip(consts[start:], self.inner.default())])))
        elif isinstance(t, Array):
            for i in range(self.n):
                self.inner._fresh(f"{prefix}[{i}]", consts, facts)
        elif isinstance(t, Set):
            for e, k in self.universe.items():
                consts.append(z3.Bool(f"{prefix}{{{k}}}"))
        elif isinstance(t, Map):
            ones = []
            for e, k in self.universe.items():
                present = z3.Bool(f"{prefix}[{k}]?")
                consts.append(present)
                start = len(consts)
                self.inner._fresh(f"{prefix}[{k}]", consts, facts)
                facts.append(z3.Implies(z3.Not(present), z3.And(*[
                    c == d for c, d in zip(consts[start:], self.inner.default())])))
                ones.append((present, 1))
            if ones:  # (the size bound as a pseudo-Boolean constraint: no adder to bit-blast)
                facts.append(z3.PbLe(ones, self.n))
        elif isinstance(t, Bag):
            counts = [int_const(f"{prefix}#{k}") for k in range(self.width)]
            consts += counts
            for c in counts:
                facts.append(z3.And(0 <= c, c <= self.n))
            if counts:  # the size: each count reaching 1, 2, ... n, as in SBag.size
                facts.append(z3.PbLe([(c >= j, 1) for c in counts
                                      for j in range(1, self.n + 1)], self.n))
        elif isinstance(t, Seq):
            n = int_const(f"{prefix}#")
            consts.append(n)
            facts.append(z3.And(0 <= n, n <= self.n))
            for i in range(self.n):
                start = len(consts)
                self.inner._fresh(f"{prefix}<{i}>", consts, facts)
                facts.append(z3.Implies(n <= i, z3.And(*[
                    c == d for c, d in zip(consts[start:], self.inner.default())])))
        elif isinstance(t, RecordType):
            for name, f in zip(t.fields, self.fields):
                f._fresh(f"{prefix}.{name}", consts, facts)
        elif isinstance(t, OneOf):
            tag = int_const(f"{prefix}@")
            consts.append(tag)
            facts.append(z3.And(0 <= tag, tag < len(self.options)))
            for k, o in enumerate(self.options):
                start = len(consts)
                o._fresh(f"{prefix}|{k}", consts, facts)
                facts.append(z3.Implies(tag != k, z3.And(*[
                    c == d for c, d in zip(consts[start:], o.default())])))

    def default(self):
        """The terms of the canonical filler value (absent options, unused slots)."""
        t = self.t
        if isinstance(t, Bool):
            return [z3.BoolVal(False)]
        if isinstance(t, (Enum, Int, Id)):
            return [num(self.lo)]
        if isinstance(t, Set):
            return [z3.BoolVal(False)] * self.width
        if isinstance(t, Optional):
            return [z3.BoolVal(False)] + self.inner.default()
        if isinstance(t, (Array,)):
            return self.inner.default() * self.n
        if isinstance(t, Bag):
            return [num(0)] * self.width
        if isinstance(t, Map):
            return ([z3.BoolVal(False)] + self.inner.default()) * len(self.universe)
        if isinstance(t, Seq):
            return [num(0)] + self.inner.default() * self.n
        if isinstance(t, RecordType):
            return [x for f in self.fields for x in f.default()]
        return [num(0)] + [x for o in self.options for x in o.default()]

    # terms -> symbolic value
    def value(self, terms):
        t = self.t
        if isinstance(t, Bool):
            return SBool(terms[0])
        if isinstance(t, Enum):
            return SEnum(terms[0], t.values)
        if isinstance(t, (Int, Id)):
            return SInt(terms[0], self.lo, self.hi)
        if isinstance(t, Optional):
            return SOptional(terms[0], self.inner.value(terms[1:]))
        if isinstance(t, Array):
            w = self.inner.width
            return tuple(self.inner.value(terms[i * w:(i + 1) * w]) for i in range(self.n))
        if isinstance(t, Set):
            return SSet(self.universe, list(terms))
        if isinstance(t, Bag):
            return SBag(self.universe, list(terms), self.n)
        if isinstance(t, Map):
            w = 1 + self.inner.width
            return SMap(self.universe, [(terms[k * w], self.inner.value(terms[k * w + 1:(k + 1) * w]))
                                        for k in range(len(self.universe))], self)
        if isinstance(t, Seq):
            w = self.inner.width
            return SSeq(SInt(terms[0], 0, self.n), [self.inner.value(terms[1 + i * w:1 + (i + 1) * w])
                                                    for i in range(self.n)])
        if isinstance(t, RecordType):
            return tuple.__new__(t.cls, ([t.cls._tag] if t.cls._tag is not None else [])
                                 + self._split(self.fields, terms))
        return SChoice(SInt(terms[0], 0, len(self.options) - 1),
                       self._split(self.options, terms[1:]))

    @staticmethod
    def _split(layouts, terms):
        out, k = [], 0
        for f in layouts:
            out.append(f.value(terms[k:k + f.width]))
            k += f.width
        return out

    # value (concrete or symbolic) -> terms
    def terms(self, v):
        t = self.t
        try:
            if isinstance(t, Bool):
                return [term_bool(v)]
            if isinstance(t, Enum):
                if isinstance(v, SEnum):
                    return [v.index_in(t.values)]
                return [num(t.values.index(v))]
            if isinstance(t, (Int, Id)):
                return [term_int(v)]
            if isinstance(t, Optional):
                if isinstance(v, SOptional):
                    return [v.present] + self.inner.terms(v.value)
                if v is None:
                    return self.default()
                return [z3.BoolVal(True)] + self.inner.terms(v)
            if isinstance(t, Array):
                if len(v) != self.n:
                    raise ValueError(f"{len(v)} elements, not {self.n}")
                return [x for item in tuple.__iter__(v) for x in self.inner.terms(item)]
            if isinstance(t, Set):
                if isinstance(v, SSet):
                    return list(v.bits)
                if not isinstance(v, frozenset):
                    raise ValueError(f"a {type(v).__name__}, not a frozenset")
                if any(x not in self.universe for x in v):
                    raise ValueError("an element outside the declared universe")
                return [z3.BoolVal(e in v) for e in self.universe]
            if isinstance(t, Map):
                if isinstance(v, SMap):
                    entries = v.entries
                elif isinstance(v, FrozenMap):
                    pairs = dict(v.items())
                    if any(k not in self.universe for k in pairs):
                        raise ValueError("a key outside the declared key type")
                    entries = [(z3.BoolVal(e in pairs), pairs.get(e)) for e in self.universe]
                else:
                    raise ValueError(f"a {type(v).__name__}, not a FrozenMap")
                out = []
                for present, value in entries:
                    rest = self.inner.default() if value is None else self.inner.terms(value)
                    out += [present] + [z3.If(present, a, b) for a, b in
                                        zip(rest, self.inner.default())]
                return out
            if isinstance(t, Bag):
                if isinstance(v, SBag):
                    return list(v.counts)
                if not isinstance(v, tuple) or len(v) > self.n:
                    raise ValueError(f"not a tuple of at most {self.n} elements")
                counts = _counts(self.universe, tuple.__iter__(v))
                if counts is None:
                    raise ValueError("an element outside the declared universe")
                return counts
            if isinstance(t, Seq):
                if isinstance(v, SSeq):
                    return [v.length.term] + [x for i in v.items for x in self.inner.terms(i)]
                if len(v) > self.n:
                    raise ValueError(f"longer than {self.n}")
                filler = self.inner.default()
                return ([num(len(v))] + [x for item in tuple.__iter__(v)
                                         for x in self.inner.terms(item)]
                        + filler * (self.n - len(v)))
            if isinstance(t, RecordType):
                if type(v) is not t.cls:
                    raise ValueError(f"a {type(v).__name__}, not a {t.cls.__name__}")
                items = v[1:] if t.cls._tag is not None else v
                return [x for f, item in zip(self.fields, items) for x in f.terms(item)]
            if isinstance(v, SChoice):
                return [v.tag.term] + [x for o, opt in zip(self.options, v.options)
                                       for x in o.terms(opt)]
            k = next((k for k, a in enumerate(t.alternatives) if type(v) is a.cls), None)
            if k is None:
                raise ValueError(f"a {type(v).__name__}, none of the alternatives")
            return [num(k)] + [x for j, o in enumerate(self.options)
                                     for x in (o.terms(v) if j == k else o.default())]
        except (ValueError, TypeError, AttributeError, IndexError, OutOfType) as e:
            raise OutOfType(f"{self.where}: the value {_show(v)} does not fit the declared "
                            f"type {t!r} ({e})") from None

    # z3 model -> concrete value
    def decode(self, read, terms):
        """The concrete value whose encoding is ``terms``, each read as an int (a boolean as
        0 or 1) by ``read``: of a z3 model (``model_reader``), or of a packed row's slots."""
        t = self.t
        if isinstance(t, Bool):
            return bool(read(terms[0]))
        if isinstance(t, Enum):
            return t.values[read(terms[0])]
        if isinstance(t, (Int, Id)):
            return read(terms[0])
        if isinstance(t, Optional):
            return self.inner.decode(read, terms[1:]) if read(terms[0]) else None
        if isinstance(t, Array):
            w = self.inner.width
            return tuple(self.inner.decode(read, terms[i * w:(i + 1) * w])
                         for i in range(self.n))
        if isinstance(t, Set):
            return frozenset(e for e, b in zip(self.universe, terms) if read(b))
        if isinstance(t, Map):
            w, pairs = 1 + self.inner.width, {}
            for e, k in self.universe.items():
                if read(terms[k * w]):
                    pairs[e] = self.inner.decode(read, terms[k * w + 1:(k + 1) * w])
            return FrozenMap(pairs)
        if isinstance(t, Bag):
            bag = ()
            for e, c in zip(self.universe, terms):
                for _ in range(read(c)):
                    bag = _concrete_bag_add(bag, e, self.fifo)
            return bag
        if isinstance(t, Seq):
            w, n = self.inner.width, read(terms[0])
            return tuple(self.inner.decode(read, terms[1 + i * w:1 + (i + 1) * w])
                         for i in range(n))
        if isinstance(t, RecordType):
            values, k = [], 0
            for f in self.fields:
                values.append(f.decode(read, terms[k:k + f.width]))
                k += f.width
            return t.cls(*values)
        k, start = read(terms[0]), 1
        for j, o in enumerate(self.options):
            if j == k:
                return o.decode(read, terms[start:start + o.width])
            start += o.width


def _universe(t, model):
    """Every value of a type (a set of sets too, when the inner universe is small), or None."""
    if isinstance(t, Set):
        inner = _universe(t.elem, model)
        if inner is None or len(inner) > 10:
            return None
        items = sorted(inner, key=_order)
        return frozenset(frozenset(x for k, x in enumerate(items) if bits >> k & 1)
                         for bits in range(2 ** len(items)))
    return t.universe(model)


def _show(v):
    """A value for a message: symbolic parts as their class names."""
    if isinstance(v, Sym):
        return type(v).__name__
    if isinstance(v, tuple):
        return "(" + ", ".join(map(_show, tuple.__iter__(v))) + ")"
    return repr(v)


def _order(v):
    """A total order on the concrete values of one universe (records, strings, ints)."""
    from kripke.models.types import total_order_key
    return total_order_key(v)


# -- a model, symbolically ---------------------------------------------------------------------
_CONSTRUCTS = {ast.Global: "global", ast.Nonlocal: "nonlocal", ast.Try: "try", ast.With: "with"}
_CALLS = ("id", "hash", "type", "isinstance")


def check_source(fn, what):
    """Refuse the constructs the tracer cannot follow (``../shared/notes/tracing.md``): ``is``
    between values other than None, ``global`` / ``nonlocal`` / ``try`` / ``with``, and calls
    of ``id`` / ``hash`` / ``type`` / ``isinstance``. Names the function, file and line."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        file = inspect.getsourcefile(fn)
        first = inspect.getsourcelines(fn)[1]
    except (OSError, TypeError):
        return  # no source (a builtin, a lambda made at run time): traced as it runs
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a lambda's lines, cut from a larger expression: its file's lambdas
        with open(file) as f:  # that start on its line
            tree = ast.Module([n for n in ast.walk(ast.parse(f.read()))
                               if isinstance(n, ast.Lambda) and n.lineno == first], [])
        first = 1
    for node in ast.walk(tree):
        bad = None
        if type(node) in _CONSTRUCTS:
            bad = f"'{_CONSTRUCTS[type(node)]}'"
        elif isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators):
                if isinstance(op, (ast.Is, ast.IsNot)) and not (
                        _is_none(right) or _is_none(node.left)):
                    bad = "'is' between values (only 'is None' can be traced)"
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in _CALLS):
            bad = f"{node.func.id}()"
        if bad:
            line = first + getattr(node, "lineno", 1) - 1
            raise TraceError(f"{what} ({file}:{line}): {bad} cannot be traced symbolically")


def _is_none(node):
    return isinstance(node, ast.Constant) and node.value is None


class SymbolicModel:
    """A model's state as z3 constants, and its actions and invariants as traced formulas.

    ``layouts`` per variable; ``variables(prefix)`` makes the constants of one state (a flat
    list) and their type facts; ``state(terms)`` is a symbolic state over them; ``actions`` lists
    ``(name, args, [(path condition, next terms)])`` over the generic constants ``self.x``;
    ``relation()`` the transition relation T(x, y) over ``self.x`` and the next-state constants
    ``self.y``; ``invariant(prop)`` the formula of a state property over ``self.x``;
    ``step_property(prop)`` that of a step property over ``self.x`` and ``self.y``.
    """

    def __init__(self, model):
        if model.variables is None:
            raise TraceError(f"{model.display_name()}: the symbolic back end needs typed "
                             "variables")
        self.model = model
        self.layouts = [Layout(as_type(t), model, f"{model.display_name()}.{name}")
                        for name, t in model._types.items()]
        self.x, self.x_facts = self.variables("x")
        self.y, self.y_facts = self.variables("y")
        self._groups = {}  # Tracer's grouping of the type facts, by "x" or "xy"
        self.state_class = _symbolic_state_class(model.State)
        self._actions = None
        #: ``(action, args, "exception" | "type", path condition)``: the paths on which an
        #: action raises, or writes a value outside its field's type (filled by ``actions``)
        self.hazards = []

    def variables(self, prefix):
        consts, facts = [], []
        for name, layout in zip(self.model.State._fields, self.layouts):
            c, f = layout.fresh(f"{prefix}.{name}")
            consts += c
            facts += f
        return consts, facts

    def state(self, terms):
        """A symbolic state of the model's own class over ``terms``."""
        values, k = [], 0
        for layout in self.layouts:
            values.append(layout.value(terms[k:k + layout.width]))
            k += layout.width
        return tuple.__new__(self.state_class, values)

    def terms(self, state, what):
        """The flat terms of a state an action returned (concrete or symbolic fields)."""
        if not isinstance(state, self.model.State):
            raise TraceError(f"{what} returned a {type(state).__name__}, not a State record")
        return [x for layout, v in zip(self.layouts, tuple.__iter__(state))
                for x in layout.terms(v)]

    def decode(self, zmodel, terms):
        """The concrete state whose encoding is ``terms`` in the z3 model ``zmodel`` (or, with
        ``zmodel`` a function, as that function reads each of ``terms``: ``Layout.decode``)."""
        read = zmodel if callable(zmodel) else model_reader(zmodel)
        values, k = [], 0
        for layout in self.layouts:
            values.append(layout.decode(read, terms[k:k + layout.width]))
            k += layout.width
        return self.model.State(*values)

    def path(self, zmodel, states, what):
        """The concrete states (``states``: the terms of each) of a satisfying model and the
        trace steps between them, each step's call found by running the model on the decoded
        state; ``what`` names the counterexample in the error a step the model cannot take
        raises (the encoding disagrees with the model)."""
        model = self.model
        concrete = [self.decode(zmodel, terms) for terms in states]
        steps = [Step(None, {}, model.encode(concrete[0]))]
        for n, (s, t) in enumerate(zip(concrete, concrete[1:]), start=1):
            call = next(((name, args) for name, args, u in model.successors(s) if u == t), None)
            if call is None:
                raise NondeterminismError(
                    f"{model.display_name()}: step {n} of {what} is no step of the model run on "
                    "concrete states: the symbolic encoding disagrees with the model (please "
                    "report it)")
            steps.append(Step(call[0], model.action_args(*call), model.encode(t)))
        return concrete, steps

    def init_terms(self):
        """The terms of each initial state (concrete)."""
        return [self.terms(s, "init()") for s in self.model.init()]

    @property
    def actions(self):
        if self._actions is None:
            instances = [(k, name, call, call_args)
                         for k, (name, fn, args) in enumerate(self.model._calls)
                         for call, call_args in self._instances(name, fn, args)]
            #: per traced action instance, the index of its call in the model's ``_calls``
            self.calls = [k for k, *_ in instances]
            self._actions = [self._trace_action(name, call, call_args)
                             for _, name, call, call_args in instances]
        return self._actions

    def _instances(self, name, fn, args):
        """``(fn, args)`` of each instance to trace of the engine's call ``fn`` of ``name`` on
        ``args``: itself, or for an action over a state-dependent domain that is declared
        ``among`` a variable's elements (``MessagePassing.deliverable``), one instance per
        element of that variable's universe, enabled where the domain's test holds of it."""
        model = self.model
        domain = model._actions[name].each[-1] if name in model._dynamic else None
        among = getattr(getattr(type(model), domain, None), "among", None) \
            if isinstance(domain, str) else None
        if among is None:
            return [(fn, args)]
        variable, test = among
        if variable not in model.State._fields:
            raise TraceError(f"{model.display_name()}.{domain}: declared among the elements of "
                             f"{variable!r}, which is no variable of the model")
        layout = self.layouts[model.State._fields.index(variable)]
        method, test = getattr(model, name), getattr(model, test)
        check_source(getattr(type(model), among[1]), f"{domain}'s test {among[1]}")

        def instance(s, *call):
            return method(s, *call) if test(s, call[-1]) else None
        return [(instance, args + (v,)) for v in getattr(layout, "universe", ())]

    def _trace_action(self, name, fn, args):
        what = f"action {name}" + (f"{args}" if args else "")
        check_source(getattr(type(self.model), name), f"action {name}")
        tracer = Tracer(self.x_facts, raises=True, groups=self._grouped("x"))
        s = self.state(self.x)
        runs = guarded(tracer, lambda: fn(s, *args), what)
        steps = []
        for cond, out in runs:
            if isinstance(out, Raised):
                self.hazards.append((name, args, "type" if isinstance(out, LeftTypes)
                                     else "exception", cond))
                continue
            if out is None:
                continue
            count = None
            if isinstance(out, Repeated):  # none where the count is 0
                out, count = out.items, out.count.term
                cond = z3.simplify(z3.And(cond, count > 0))
            for t in (out if type(out) is list else [out]):
                try:
                    steps.append(Outcome(cond, self.terms(t, what), count))
                except OutOfType:
                    self.hazards.append((name, args, "type", cond))
        return name, args, steps

    def hazard(self):
        """H(x): some action raises, or leaves the declared types, from x (a finding in the
        next state, if x is reachable)."""
        _ = self.actions
        conds = [cond for _, _, _, cond in self.hazards]
        return z3.Or(*conds) if conds else z3.BoolVal(False)

    def relation(self, names=None):
        """T(x, y): some action instance is enabled in x and y is its next state (``names``:
        of those actions only).

        The paths of one action instance exclude each other, so its next state is one
        if-then-else per variable over the paths (a far smaller formula for the solver than one
        disjunct per path); an action that returns several states on one path keeps a disjunct
        per outcome."""
        y, steps = self.y, []
        for name, _, paths in self.actions:
            if names is not None and name not in names:
                continue
            conds = [c for c, _ in paths]
            if len({c.get_id() for c in conds}) < len(conds):  # several outcomes on one path
                steps += [z3.And(c, *[a == b for a, b in zip(y, terms)]) for c, terms in paths]
                continue
            if not paths:
                continue
            nxt = []
            for j in range(len(y)):
                value = paths[-1][1][j]
                for cond, terms in reversed(paths[:-1]):
                    if not terms[j].eq(value):
                        value = z3.If(cond, terms[j], value)
                nxt.append(y[j] == value)
            steps.append(z3.And(z3.Or(*conds), *nxt))
        return z3.Or(*steps) if steps else z3.BoolVal(False)

    def invariant(self, prop, raising=None):
        """The formula of a state property (an invariant) over ``self.x``. ``raising``: a
        list that takes the condition of the states on which the property raises (the vector
        engine reports one if it is reachable), where it is taken to hold; without it, a
        property that raises on some path is a ``TraceError``."""
        check_source(prop.condition, f"property {prop.name}")
        tracer = Tracer(self.x_facts, groups=self._grouped("x"), raises=raising is not None)
        s = self.state(self.x)
        runs = guarded(tracer, lambda: prop.condition(self.model, s), f"property {prop.name}")
        return _formula(runs, prop.name, raising)

    def _grouped(self, which):
        """The type facts of x (``which`` "x") or of x and y ("xy"), grouped for ``Tracer``
        once for all the tracers that assume them."""
        if which not in self._groups:
            self._groups[which] = Assumed(self.x_facts if which == "x"
                                          else self.x_facts + self.y_facts)
        return self._groups[which]

    def step_property(self, prop, raising=None):
        """The formula of a step property over ``self.x`` (a state) and ``self.y`` (its
        successor), as ``invariant`` gives a state property's (``raising`` likewise)."""
        check_source(prop.condition, f"property {prop.name}")
        tracer = Tracer(self.x_facts + self.y_facts, groups=self._grouped("xy"),
                        raises=raising is not None)
        s, t = self.state(self.x), self.state(self.y)
        runs = guarded(tracer, lambda: prop.condition(self.model, s, t), f"property {prop.name}")
        return _formula(runs, prop.name, raising)

    def image(self, prop, spec):
        """A refinement's mapping (``specs.properties.Refinement``; TLA+'s ``INSTANCE Spec WITH
        v <- e``) traced on the state: the terms over ``self.x`` of the image of a state, in
        the encoding of the abstract model ``spec`` (``SymbolicModel(spec)``, returned with
        them). A mapping that forks gives each term as an if-then-else over its paths."""
        for e in (prop.mapping or {}).values():
            if not isinstance(e, str):
                check_source(e, f"refinement {prop.name}")
        abstract = SymbolicModel(spec)
        image, single = prop.image(self.model, spec), len(spec.variables) == 1
        tracer = Tracer(self.x_facts, groups=self._grouped("x"))
        s = self.state(self.x)
        runs = guarded(tracer, lambda: image(s), f"refinement {prop.name}")
        paths = []
        for cond, v in runs:
            try:
                paths.append((cond, [x for layout, value in zip(abstract.layouts,
                                                                (v,) if single else v)
                                     for x in layout.terms(value)]))
            except OutOfType as e:
                raise TraceError(f"refinement {prop.name}: {e}") from None
        terms = paths[-1][1]
        for cond, other in reversed(paths[:-1]):
            terms = [b if a.eq(b) else z3.If(cond, a, b) for a, b in zip(other, terms)]
        return abstract, [z3.simplify(t) for t in terms]


def model_reader(zmodel):
    """A term's value in the z3 model ``zmodel``, as an int (a boolean as 0 or 1)."""
    def read(term):
        value = zmodel.eval(term, model_completion=True)
        return int(z3.is_true(value)) if z3.is_bool(value) else value.as_signed_long()
    return read


def _formula(runs, name, raising=None):
    """The formula of a property traced into ``runs`` (path condition, result); the paths on
    which it raised (``Raised``) hold, and their condition is appended to ``raising``."""
    holds, raised = [], []
    for cond, result in runs:
        if isinstance(result, Raised):
            raised.append(cond)
        else:
            holds.append(z3.And(cond, _truth(result, name)))
    if raised:
        raising.append(z3.simplify(z3.Or(*raised)))
    holds += raised
    return z3.simplify(z3.Or(*holds)) if holds else z3.BoolVal(False)


def _truth(result, name):
    """A property's result on one path as a z3 boolean."""
    if isinstance(result, (bool, SBool)):
        return term_bool(result)
    raise TraceError(f"property {name} returned a {type(result).__name__}, not a bool")


class _NoInterning(dict):
    """A record class's table of interned messages while tracing: always a miss, never kept
    (a message with symbolic fields has no hash, and must not outlive its path)."""

    def __getitem__(self, key):
        raise KeyError(key)

    def setdefault(self, key, value):
        return value


def _record_namespaces():
    """The namespaces of the generated constructors of the tagged record classes (messages),
    which intern their instances (kripke.models.types)."""
    todo, found = list(tuple.__subclasses__()), []
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        new = vars(cls).get("__new__")
        g = getattr(getattr(new, "__func__", new), "__globals__", None)
        if g is not None and "_interned" in g:
            found.append(g)
    return found


@contextlib.contextmanager
def _tracing():
    """While an action is traced: every module's ``put``, ``bag_add``, ``bag_remove`` and
    ``set_add`` (from kripke.models.types, imported by name) are the tracer's, and messages are
    built without interning; restored afterwards."""
    from kripke.models import types
    swaps = {"put": (types.put, _lazy_put), "bag_add": (types.bag_add, _bag_add),
             "bag_remove": (types.bag_remove, _bag_remove),
             "set_add": (types.set_add, _set_add)}
    patched = [(m, name) for m in list(sys.modules.values()) if m is not types
               for name, (concrete, _) in swaps.items() if getattr(m, name, None) is concrete]
    records = [(g, g["_interned"], g["_fingerprint"]) for g in _record_namespaces()]
    shadowed = [(m, name) for m in _model_modules() for name in _AGGREGATIONS
                if name not in vars(m)]
    for m, name in shadowed:
        setattr(m, name, _AGGREGATIONS[name])
    for m, name in patched:
        setattr(m, name, swaps[name][1])
    for g, _, _ in records:
        g["_interned"], g["_fingerprint"] = _NoInterning(), _no_fingerprint
    try:
        yield
    finally:
        for m, name in patched:
            setattr(m, name, swaps[name][0])
        for g, interned, fp in records:
            g["_interned"], g["_fingerprint"] = interned, fp
        for m, name in shadowed:
            delattr(m, name)


def _model_modules():
    """The modules whose code is traced: kripke's models and specs, and those of every model
    class loaded (a user's file), where the aggregations shadow the builtins while tracing."""
    from kripke.models.system import TransitionSystem
    names = {c.__module__ for c in _subclasses(TransitionSystem)}
    return [m for name, m in list(sys.modules.items()) if m is not None and (
        name in names or name.startswith(("kripke.models.", "kripke.specs.")))]


def _subclasses(cls):
    todo, found = [cls], []
    while todo:
        c = todo.pop()
        found.append(c)
        todo += c.__subclasses__()
    return found


def _no_fingerprint(v):
    return None


def guarded(tracer, fn, what, how="symbolically", interposed=_tracing):
    """``tracer.run(fn)`` with the tracer's stand-ins ``interposed``; any exception while
    tracing is a ``TraceError`` naming the line of the model's code it came from (this module's
    tracer, ``how`` = "symbolically", and the all-sizes one of checkers/parametric.py)."""
    try:
        with interposed():
            return tracer.run(fn, what)
    except TraceError as e:
        raise TraceError(f"{what}{_where(sys.exc_info()[2])}: {e}") from None
    except Exception as e:  # the model's code failed on symbolic values: refuse, never guess
        raise TraceError(f"{what}{_where(sys.exc_info()[2])}: {type(e).__name__}: {e} "
                         f"(this code cannot be traced {how})") from None


def _where(tb):
    """`` (file:line)`` of the innermost frame outside the checkers (the tracers), or ""."""
    here = os.path.dirname(__file__)
    frames = [f for f in traceback.extract_tb(tb) if os.path.dirname(f.filename) != here]
    return f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""


def _symbolic_state_class(state_cls):
    """A subclass of the model's ``State`` whose field reads settle Optional, Seq and OneOf
    values (forking), so the model's code sees ``None`` or a value, a tuple of a length."""
    def getter(k):
        def get(self):
            return _read(tuple.__getitem__(self, k))
        return property(get)
    attrs = {name: getter(k) for k, name in enumerate(state_cls._fields)}
    attrs["__eq__"] = lambda self, other: _refuse("comparing whole states")
    attrs["__hash__"] = Sym.__hash__
    return type(f"Symbolic{state_cls.__name__}", (state_cls,), attrs)


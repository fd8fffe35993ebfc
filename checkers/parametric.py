"""Proofs for every size: induction with a domain as an uninterpreted sort (issue 12, item 4).

``prove_all_sizes(model, "tc_consistent")`` proves an invariant of a model for *every* size of one
of its domains (every number of RMs), as Ivy and mypyvy do: the domain becomes an uninterpreted z3
sort, so a state is a handful of functions over it, and the property with its auxiliary
invariants is checked for initiation and consecution once, for all sizes at once.

The model is not written twice: its own ``init``, actions and properties are *traced*, by the
path-forking replay of ``checkers.symbolic`` (its ``Tracer``), on a state whose fields are z3
terms over the sort:

===================================  ==========================================================
declared type                        term
===================================  ==========================================================
``Enum`` / ``Bool``                  a constant of an enumeration sort / a boolean
``Id(D)`` (an action's argument too) a constant of the sort D
``Array(D, Enum | Bool | Id(D))``    an array D -> value (``s.rm_state[rm]`` a select)
``Set(D)``                           an array D -> Bool
``Set(OneOf(records...))``           per record class a relation over its fields' sorts
                                     (``Prepared``: D -> Bool; ``Commit``: a boolean)
===================================  ==========================================================

An action over ``each=D`` runs once, on a fresh constant of the sort (existentially chosen: it
stays free in the formulas, which z3 reads as "some rm"). The tracer interposes on four names in
the traced functions' globals, leaving their code as written: ``put(t, rm, v)`` becomes a store;
``len(S)`` a cardinality that may only be compared with the domain's size (``len(S) ==
self.rms``: every element is in S, a universal formula), with 0, or tested for being positive;
``for_all`` / ``exists`` (``models.types``) a quantifier over the sort. The model's size
parameter itself (``self.rms``) is that cardinality, so ``("working",) * self.rms`` is the
constant array. Anything else that needs a concrete size (``range(self.rms)``, an integer id, a
loop over the domain) is refused as a ``TraceError`` naming the function and line, never encoded
wrongly. The invariants then live in the decidable fragment Ivy calls EPR (only universal
quantifiers over the sort, no functions into it), where z3 answers sat or unsat.

A counterexample to induction comes from a finite z3 model: its universe has some number n of
elements, so it decodes to two concrete states of the model at ``rms = n`` and one step between
them, which is replayed on the concrete model (the step must be one of its successors, else the
encoding is wrong and this says so); a bounded search at that size then tells a reachable
violation from an unreachable counterexample to induction.

The same traced encoding over a *finite* enumeration sort of n elements (``Finite``), with the
quantifiers unrolled, is compared with the explicit successor relation on every reachable state
(``cross_check``), at n = 1..3 in the tests.

Also here, the other two laws of item 4: ``prove_vector_clock_laws`` (merge commutative,
associative, idempotent, monotone; happened-before a strict partial order: for every dimension,
the model's own ``merge`` run on clocks that are z3 arrays) and ``retry_jitter_bound`` (the
article's jittered delay maximised exactly over the reals).
"""

import contextlib
import inspect
import itertools
import time
import types as pytypes
from dataclasses import dataclass, field
from fractions import Fraction

import z3

from kripke.checkers.symbolic import (SBool, Sym, TraceError, Tracer, check_source, guarded,
                                     term_bool)
from kripke.common import INCOMPLETE, OK, VIOLATED
from kripke.models import types as mt
from kripke.models.types import Array, Bool, Enum, Id, OneOf, RecordType, Set, as_type

__all__ = ["ParametricModel", "Uninterpreted", "Finite", "AllSizesResult", "prove_all_sizes",
           "cross_check", "LawsResult", "prove_vector_clock_laws", "JitterBound",
           "retry_jitter_bound", "default_invariants", "clock_ops", "SClock"]


# -- the domain: an uninterpreted sort, or n named elements -----------------------------------
class Uninterpreted:
    """The domain as an uninterpreted sort: a proof about it holds for every size."""

    finite = False

    def __init__(self, domain):
        self.domain, self.sort = domain, z3.DeclareSort(domain.name)
        self.elems = None

    def forall(self, r, body):
        return z3.ForAll([r], body)

    def exists(self, r, body):
        return z3.Exists([r], body)


_FINITE_SORTS = {}


class Finite:
    """The domain with exactly ``n`` elements, an enumeration sort; quantifiers unrolled. For
    comparing the traced encoding with the explicit engine at a fixed size."""

    finite = True

    def __init__(self, domain, n):
        key = (domain.name, n)
        if key not in _FINITE_SORTS:
            _FINITE_SORTS[key] = z3.EnumSort(f"{domain.name}_{n}",
                                             [f"{domain.name}{i}" for i in range(n)])
        self.domain, (self.sort, self.elems) = domain, _FINITE_SORTS[key]

    def forall(self, r, body):
        return z3.And(*[z3.substitute(body, (r, e)) for e in self.elems])

    def exists(self, r, body):
        return z3.Or(*[z3.substitute(body, (r, e)) for e in self.elems])


_ENUM_SORTS = {}


def _enum_sort(values):
    """One z3 enumeration sort per distinct Enum (its constants named ``E<k>.value``)."""
    if values not in _ENUM_SORTS:
        name = f"E{len(_ENUM_SORTS)}"
        sort, consts = z3.EnumSort(name, [f"{name}.{v}" for v in values])
        _ENUM_SORTS[values] = (sort, dict(zip(values, consts)))
    return _ENUM_SORTS[values]


# -- symbolic values over the sort --------------------------------------------------------------
def _no_size(what):
    raise TraceError(f"{what}: the size of the domain is unknown in an all-sizes proof (compare "
                     "len(S) with the size parameter, or quantify with for_all / exists)")


class UElem(Sym):
    """An element of the uninterpreted domain (an rm). Hashable by identity, so that ``{rm}``
    and a record ``Prepared(rm)`` can be built; equality is a formula."""

    __slots__ = ("term",)

    def __init__(self, term):
        self.term = term

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        if isinstance(other, UElem):
            return SBool(self.term == other.term)
        if other is None or isinstance(other, (str, tuple, bool)):
            return False
        if isinstance(other, int):
            raise TraceError("an element of the domain compared with a concrete id")
        return NotImplemented

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented or isinstance(eq, bool) else ~eq

    def __index__(self):
        _no_size("an element of the domain used as an integer")

    def __bool__(self):
        _no_size("an element of the domain used as a truth value")


class UEnum(Sym):
    """A value of an Enum, a constant of its enumeration sort."""

    __slots__ = ("term", "consts")

    def __init__(self, term, consts):
        self.term, self.consts = term, consts

    __hash__ = Sym.__hash__

    def __eq__(self, other):
        if isinstance(other, UEnum):
            return SBool(self.term == other.term) if other.consts is self.consts else False
        if isinstance(other, str):
            c = self.consts.get(other)
            return SBool(self.term == c) if c is not None else False
        if other is None or isinstance(other, (int, tuple)):
            return False
        return NotImplemented

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else (not eq if isinstance(eq, bool) else ~eq)

    def __bool__(self):
        return True


class _Scalar:
    """How one scalar type (Enum, Bool, an Id of the domain) is a z3 sort."""

    def __init__(self, t, universe, where):
        self.t, self.universe = t, universe
        if isinstance(t, Id) and t.domain is universe.domain:
            self.sort = universe.sort
        elif isinstance(t, Enum):
            self.sort, self.consts = _enum_sort(t.values)
        elif isinstance(t, Bool):
            self.sort = z3.BoolSort()
        else:
            raise TraceError(f"{where}: a {t!r} value is not supported by the all-sizes prover "
                             f"(supported: Enum, Bool and {universe.domain.name})")

    def wrap(self, term):
        if isinstance(self.t, Id):
            return UElem(term)
        if isinstance(self.t, Enum):
            return UEnum(term, self.consts)
        return SBool(term)

    def term(self, v):
        if isinstance(self.t, Id):
            if isinstance(v, UElem):
                return v.term
            if self.universe.finite and type(v) is int and 0 <= v < len(self.universe.elems):
                return self.universe.elems[v]
            raise TraceError(f"the value {v!r} where an element of {self.t!r} was expected")
        if isinstance(self.t, Enum):
            if isinstance(v, UEnum):
                return v.term
            if v in self.consts:
                return self.consts[v]
            raise TraceError(f"the value {v!r} is not one of {self.t.values}")
        return term_bool(v)

    def decode(self, value, index):
        """A z3 model's value as the concrete one (``index``: element -> id)."""
        if isinstance(self.t, Id):
            return index[str(value)]
        if isinstance(self.t, Enum):
            return next(v for v, c in self.consts.items() if c.eq(value))
        return z3.is_true(value)

    def values(self, elems):
        """Every value of the type, as terms (``elems``: the universe's elements)."""
        if isinstance(self.t, Id):
            return list(elems)
        if isinstance(self.t, Enum):
            return list(self.consts.values())
        return [z3.BoolVal(False), z3.BoolVal(True)]


class UCard(Sym):
    """``len(S)`` for a set over the domain, or the domain's own size (``of`` None): a number
    that may only be compared with the other one, with 0, or tested for being positive."""

    __slots__ = ("of", "p")

    def __init__(self, p, of=None):
        self.p, self.of = p, of

    def _full(self):
        return self.p.quantify("forall", lambda r: self.of.has(r)) if self.of is not None \
            else z3.BoolVal(True)

    def _nonempty(self):
        return self.p.quantify("exists", lambda r: self.of.has(r)) if self.of is not None \
            else z3.BoolVal(True)

    __hash__ = Sym.__hash__

    def __eq__(self, other):
        if isinstance(other, UCard):
            if self.of is None or other.of is None:
                return SBool(z3.And(self._full(), other._full()))
        elif other == 0 and not isinstance(other, bool):
            return SBool(z3.Not(self._nonempty()))
        raise TraceError("a cardinality over the domain compared with something other than "
                         "the domain's size or 0")

    def __ne__(self, other):
        return ~self.__eq__(other)

    def __gt__(self, other):
        if other == 0 and not isinstance(other, (bool, UCard)):
            return SBool(self._nonempty())
        if isinstance(other, UCard) and self.of is None:
            return ~(other == self)  # |D| > |S| for S a subset of D: S is not full
        raise TraceError("a cardinality over the domain compared with something other than "
                         "the domain's size or 0")

    def __ge__(self, other):
        if other == 1 and not isinstance(other, (bool, UCard)):
            return SBool(self._nonempty())
        if isinstance(other, UCard) and other.of is None:
            return self == other
        raise TraceError("a cardinality over the domain compared with something other than "
                         "the domain's size or 0")

    def __lt__(self, other):
        return other.__gt__(self) if isinstance(other, UCard) else ~self.__ge__(other)

    def __le__(self, other):
        return other.__ge__(self) if isinstance(other, UCard) else ~self.__gt__(other)

    def __bool__(self):
        if self.of is None:
            return True  # a domain has at least one element (z3's sorts are never empty)
        return bool(SBool(self._nonempty()))

    def __rmul__(self, other):
        """``(v,) * self.rms``: the array holding v everywhere."""
        if self.of is None and type(other) is tuple and len(other) == 1:
            return UConstArray(other[0])
        return NotImplemented

    def __index__(self):
        _no_size("the size of the domain used as an integer")

    __int__ = __index__


class UConstArray(Sym):
    """``(v,) * self.rms``: an array over the domain holding ``v`` everywhere."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __getitem__(self, i):
        return self.value


class UArray(Sym):
    """An ``Array(D, value)``: a z3 array from the sort to the value's sort."""

    __slots__ = ("term", "scalar", "p")

    def __init__(self, p, term, scalar):
        self.p, self.term, self.scalar = p, term, scalar

    def __getitem__(self, i):
        if not isinstance(i, UElem):
            raise TraceError(f"an array over the domain indexed by {i!r}, not an element of it")
        return self.scalar.wrap(z3.Select(self.term, i.term))

    def has(self, r):
        raise TraceError("an array over the domain used as a set")

    def _contains(self, x):
        v = self.scalar.term(x)
        return self.p.quantify("exists", lambda r: z3.Select(self.term, r) == v)

    def __contains__(self, x):
        return bool(SBool(self._contains(x)))

    __hash__ = Sym.__hash__

    def __eq__(self, other):
        if isinstance(other, UArray):
            return SBool(self.term == other.term)
        return NotImplemented

    def __len__(self):
        _no_size("len() of an array over the domain")


class USet(Sym):
    """A ``Set(D)``: a z3 array from the sort to Bool."""

    __slots__ = ("term", "p")

    def __init__(self, p, term):
        self.p, self.term = p, term

    def has(self, r):
        return z3.Select(self.term, r)

    def member(self, x):
        if not isinstance(x, UElem):
            raise TraceError(f"{x!r} tested for membership in a set over the domain")
        return SBool(self.has(x.term))

    def __contains__(self, x):
        return bool(self.member(x))

    def _update(self, other, value):
        if isinstance(other, USet):
            r = self.p.fresh_elem("r")
            return USet(self.p, z3.Lambda([r], z3.If(z3.Select(other.term, r), value,
                                                      z3.Select(self.term, r))))
        if isinstance(other, (set, frozenset)):
            term = self.term
            for x in other:
                if not isinstance(x, UElem):
                    raise TraceError(f"{x!r} added to or removed from a set over the domain")
                term = z3.Store(term, x.term, value)
            return USet(self.p, term)
        return NotImplemented

    def __or__(self, other):
        return self._update(other, z3.BoolVal(True))

    __ror__ = __or__

    def __sub__(self, other):
        return self._update(other, z3.BoolVal(False))

    def _subset(self, other, flip):
        if isinstance(other, (set, frozenset)):  # {rm} <= S
            if not flip:
                raise TraceError("a set over the domain compared with a concrete set")
            return SBool(z3.And(*[self.member(x).term for x in other]))
        if isinstance(other, USet):
            a, b = (other, self) if flip else (self, other)
            return SBool(self.p.quantify("forall", lambda r: z3.Implies(a.has(r), b.has(r))))
        return NotImplemented

    def __le__(self, other):
        return self._subset(other, False)

    def __ge__(self, other):
        return self._subset(other, True)

    __hash__ = Sym.__hash__

    def __eq__(self, other):
        if isinstance(other, USet):
            return SBool(self.term == other.term)
        if isinstance(other, (set, frozenset)) and not other:
            return SBool(z3.Not(self.p.quantify("exists", self.has)))
        return NotImplemented

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else ~eq

    def __bool__(self):
        return bool(SBool(self.p.quantify("exists", self.has)))

    def __len__(self):
        _no_size("len() of a set over the domain (outside the traced code)")


class UMsgSet(Sym):
    """A ``Set`` of records (a OneOf of them): per record class a relation over its fields."""

    __slots__ = ("rels", "p")

    def __init__(self, p, rels):
        self.p, self.rels = p, rels  # {record class: (term, [scalars])}

    def _member(self, rec):
        entry = self.rels.get(type(rec))
        if entry is None:
            return z3.BoolVal(False)
        term, scalars = entry
        if not scalars:
            return term
        return z3.Select(term, *[sc.term(v) for sc, v in zip(scalars, rec[1:])])

    def member(self, rec):
        return SBool(self._member(rec))

    def __contains__(self, rec):
        return bool(self.member(rec))

    def _update(self, other, value):
        if isinstance(other, (set, frozenset)):
            rels = dict(self.rels)
            for rec in other:
                if type(rec) not in rels:
                    raise TraceError(f"{rec!r} is outside the set's declared element type")
                term, scalars = rels[type(rec)]
                if not scalars:
                    term = value
                else:
                    term = z3.Store(term, *[sc.term(v) for sc, v in zip(scalars, rec[1:])],
                                    value)
                rels[type(rec)] = (term, scalars)
            return UMsgSet(self.p, rels)
        return NotImplemented

    def __or__(self, other):
        return self._update(other, z3.BoolVal(True))

    __ror__ = __or__

    def __sub__(self, other):
        return self._update(other, z3.BoolVal(False))

    def __le__(self, other):
        return NotImplemented

    def __ge__(self, other):
        if isinstance(other, (set, frozenset)):  # {m} <= msgs
            return SBool(z3.And(*[self._member(m) for m in other]))
        return NotImplemented

    def _nonempty(self):
        out = []
        for term, scalars in self.rels.values():
            if not scalars:
                out.append(term)
            else:
                out.append(self.p.exists_tuple(term, scalars))
        return z3.Or(*out)

    def __bool__(self):
        return bool(SBool(self._nonempty()))

    __hash__ = Sym.__hash__

    def __len__(self):
        _no_size("len() of a message set")


# -- the encoding of each variable ----------------------------------------------------------------
class _Field:
    """One state variable: its z3 constants, its symbolic value, its terms, its decoding."""

    def __init__(self, name, t, p):
        self.name, self.t, self.p = name, t, p
        u, where = p.universe, f"{p.model.display_name()}.{name}"
        if isinstance(t, (Enum, Bool)) or (isinstance(t, Id) and t.domain is p.domain):
            self.kind, self.scalar = "scalar", _Scalar(t, u, where)
        elif isinstance(t, Array) and t.index is p.domain:
            self.kind, self.scalar = "array", _Scalar(t.value, u, where)
        elif isinstance(t, Set) and isinstance(t.elem, Id) and t.elem.domain is p.domain:
            self.kind = "set"
        elif isinstance(t, Set) and isinstance(t.elem, (OneOf, RecordType)):
            self.kind = "msgs"
            alts = t.elem.alternatives if isinstance(t.elem, OneOf) else [t.elem]
            self.alts = [(a.cls, [_Scalar(f, u, where) for f in a.fields.values()])
                         for a in alts]
        else:
            raise TraceError(f"{where}: a {t!r} variable is not supported by the all-sizes "
                             "prover (supported: Enum, Bool, an element of the domain, an Array "
                             "over it, a Set of its elements or of records)")

    def fresh(self, prefix):
        n, sort = f"{prefix}.{self.name}", self.p.universe.sort
        if self.kind == "scalar":
            return [z3.Const(n, self.scalar.sort)]
        if self.kind == "array":
            return [z3.Array(n, sort, self.scalar.sort)]
        if self.kind == "set":
            return [z3.Array(n, sort, z3.BoolSort())]
        out = []
        for cls, scalars in self.alts:
            name = f"{n}.{cls._tag}"
            out.append(z3.Const(name, z3.ArraySort(*[s.sort for s in scalars], z3.BoolSort()))
                       if scalars else z3.Bool(name))
        return out

    def value(self, terms):
        if self.kind == "scalar":
            return self.scalar.wrap(terms[0])
        if self.kind == "array":
            return UArray(self.p, terms[0], self.scalar)
        if self.kind == "set":
            return USet(self.p, terms[0])
        return UMsgSet(self.p, {cls: (term, scalars)
                                for (cls, scalars), term in zip(self.alts, terms)})

    def terms(self, v):
        """The terms of a value an action or init returned (symbolic, or concrete)."""
        sort = self.p.universe.sort
        try:
            if self.kind == "scalar":
                return [self.scalar.term(v)]
            if self.kind == "array":
                if isinstance(v, UArray):
                    return [v.term]
                if isinstance(v, UConstArray):
                    return [z3.K(sort, self.scalar.term(v.value))]
                if isinstance(v, tuple) and self.p.universe.finite:
                    return [self._stores(z3.K(sort, self.scalar.term(v[0])), enumerate(v))]
            elif self.kind == "set":
                if isinstance(v, USet):
                    return [v.term]
                if isinstance(v, frozenset):
                    return [self._stores(z3.K(sort, z3.BoolVal(False)),
                                         [(x, True) for x in v], scalar=_Scalar(
                                             Id(self.p.domain), self.p.universe, ""),
                                         bool_values=True)]
            else:
                if isinstance(v, UMsgSet):
                    return [v.rels[cls][0] for cls, _ in self.alts]
                if isinstance(v, frozenset):
                    empty = UMsgSet(self.p, {cls: (self._empty_rel(sc), sc)
                                             for cls, sc in self.alts})
                    return [empty._update(v, z3.BoolVal(True)).rels[cls][0]
                            for cls, _ in self.alts]
        except TraceError as e:
            raise TraceError(f"{self.name}: {e}") from None
        raise TraceError(f"{self.name}: the value {v!r} cannot be encoded over the domain (a "
                         "concrete tuple or set needs a concrete size)")

    @staticmethod
    def _empty_rel(scalars):
        if not scalars:
            return z3.BoolVal(False)
        if len(scalars) == 1:
            return z3.K(scalars[0].sort, z3.BoolVal(False))
        return z3.Lambda([z3.Const(f"_e{k}", s.sort) for k, s in enumerate(scalars)],
                         z3.BoolVal(False))

    def _stores(self, term, items, scalar=None, bool_values=False):
        scalar = scalar or _Scalar(Id(self.p.domain), self.p.universe, "")
        for i, v in items:
            key = self.p.universe.elems[i] if not bool_values else scalar.term(i)
            term = z3.Store(term, key, z3.BoolVal(v) if bool_values else self.scalar.term(v))
        return term

    def decode(self, zm, terms, elems, index):
        """The concrete value in a z3 model whose universe is ``elems`` (id k is elems[k])."""
        def ev(t):
            return zm.eval(t, model_completion=True)
        if self.kind == "scalar":
            return self.scalar.decode(ev(terms[0]), index)
        if self.kind == "array":
            return tuple(self.scalar.decode(ev(z3.Select(terms[0], e)), index) for e in elems)
        if self.kind == "set":
            return frozenset(k for k, e in enumerate(elems)
                             if z3.is_true(ev(z3.Select(terms[0], e))))
        out = set()
        for (cls, scalars), term in zip(self.alts, terms):
            if not scalars:
                if z3.is_true(ev(term)):
                    out.add(cls())
                continue
            for combo in itertools.product(*[s.values(elems) for s in scalars]):
                if z3.is_true(ev(z3.Select(term, *combo))):
                    out.add(cls(*[s.decode(ev(c), index) for s, c in zip(scalars, combo)]))
        return frozenset(out)


# -- the model, traced over the sort ----------------------------------------------------------
_OVERRIDDEN = ("put", "for_all", "exists")


class _ModelView:
    """What ``self`` is to traced code: the model, except that the domain's size parameter is
    a ``UCard`` and its methods run with the tracer's globals."""

    def __init__(self, p):
        object.__setattr__(self, "_p", p)

    def __getattr__(self, name):
        p = object.__getattribute__(self, "_p")
        if name == p.domain.size:
            return UCard(p)
        attr = inspect.getattr_static(type(p.model), name, None)
        if isinstance(attr, pytypes.FunctionType):
            return p.rebuild(attr).__get__(self)
        return getattr(p.model, name)

    def __setattr__(self, name, value):
        raise TraceError(f"traced code sets {name} on the model (actions must be pure)")


def _domains_of(t):
    t = as_type(t)
    if isinstance(t, Id):
        return [t.domain]
    if isinstance(t, Array):
        return [t.index] + _domains_of(t.value)
    if isinstance(t, Set):
        return _domains_of(t.elem)
    if isinstance(t, OneOf):
        return [d for a in t.alternatives for d in _domains_of(a)]
    if isinstance(t, RecordType):
        return [d for f in t.fields.values() for d in _domains_of(f)]
    return []


class ParametricModel:
    """A model's state, init, actions and invariants as formulas over a sort for one domain.

    ``model``: an instance (its other parameters fixed; the domain's size is not used).
    ``domain``: the Domain to generalise (default: the only one its variables mention).
    ``universe``: ``Uninterpreted(domain)`` (default) or ``Finite(domain, n)``.
    """

    def __init__(self, model, domain=None, universe=None):
        if model.variables is None:
            raise TraceError(f"{model.display_name()}: the all-sizes prover needs typed variables")
        self.model = model
        if domain is None:
            found = {id(d): d for t in model._types.values() for d in _domains_of(t)}
            if len(found) != 1:
                raise TraceError(f"{model.display_name()}: name the domain to generalise (its "
                                 f"variables mention {sorted(d.name for d in found.values())})")
            domain = next(iter(found.values()))
        if not isinstance(domain.size, str):
            raise TraceError(f"domain {domain.name} is not sized by a parameter")
        self.domain = domain
        self.universe = universe or Uninterpreted(domain)
        self.fields = [_Field(n, t, self) for n, t in model._types.items()]
        self.x = self.variables("x")
        self.view = _ModelView(self)
        self._rebuilt, self._fresh = {}, 0

    # the state
    def variables(self, prefix):
        return [c for f in self.fields for c in f.fresh(prefix)]

    def _widths(self):
        return [len(f.fresh("w")) for f in self.fields]

    def state(self, terms):
        values, k = [], 0
        for f, w in zip(self.fields, self._widths()):
            values.append(f.value(terms[k:k + w]))
            k += w
        return tuple.__new__(self.model.State, values)

    def terms(self, state, what):
        if not isinstance(state, self.model.State):
            raise TraceError(f"{what} returned a {type(state).__name__}, not a State record")
        return [x for f, v in zip(self.fields, tuple.__iter__(state)) for x in f.terms(v)]

    def decode(self, zm, terms):
        """``(n, state)``: the concrete state in a z3 model, at n = the universe's size."""
        elems = self.elements(zm)
        index = {str(e): k for k, e in enumerate(elems)}
        values, k = [], 0
        for f, w in zip(self.fields, self._widths()):
            values.append(f.decode(zm, terms[k:k + w], elems, index))
            k += w
        return len(elems), self.model.State(*values)

    def elements(self, zm):
        if self.universe.finite:
            return list(self.universe.elems)
        return list(zm.get_universe(self.universe.sort) or [])

    # quantifiers and fresh elements
    def fresh_elem(self, hint):
        self._fresh += 1
        return z3.Const(f"{hint}!{self._fresh}", self.universe.sort)

    def quantify(self, kind, body):
        """``\\A r : body(r)`` or ``\\E r``, ``body`` a function of a z3 term giving a formula."""
        r = self.fresh_elem("q")
        return getattr(self.universe, kind)(r, body(r))

    def exists_tuple(self, rel, scalars):
        """Some tuple is in the relation."""
        bound = [self.fresh_elem("q") if s.sort == self.universe.sort else
                 z3.Const(f"v!{self._next()}", s.sort) for s in scalars]
        body = z3.Select(rel, *bound)
        if self.universe.finite:
            return z3.Or(*[z3.substitute(body, *zip(bound, combo)) for combo in
                           itertools.product(*[s.values(self.universe.elems) for s in scalars])])
        return z3.Exists(bound, body)

    def _next(self):
        self._fresh += 1
        return self._fresh

    def _traced_quantifier(self, kind):
        concrete = getattr(mt, kind)

        def quantifier(domain, model, pred):
            if domain is not self.domain:
                return concrete(domain, model, pred)
            r = self.fresh_elem("q")
            e = UElem(r)
            runs = Tracer().run(lambda: pred(e), f"{kind}({domain.name}, ...)")
            body = z3.Or(*[z3.And(c, term_bool(v)) for c, v in runs]) if runs else \
                z3.BoolVal(False)
            return SBool(getattr(self.universe, "forall" if kind == "for_all" else "exists")(
                r, body))
        return quantifier

    def _put(self, t, i, v):
        if isinstance(t, UArray):
            key = _Scalar(Id(self.domain), self.universe, "").term(i)
            return UArray(self, z3.Store(t.term, key, t.scalar.term(v)), t.scalar)
        if isinstance(t, UConstArray):
            raise TraceError("put() on a constant array before it is stored in the state")
        return mt.put(t, i, v)

    def _len(self, x):
        if isinstance(x, (USet, UArray)):
            return UCard(self, x if isinstance(x, USet) else None)
        if isinstance(x, Sym):
            _no_size(f"len() of a {type(x).__name__}")
        return len(x)

    def rebuild(self, fn):
        """``fn`` with the same code and closure, its globals' ``put``, ``len``, ``for_all`` and
        ``exists`` replaced by their symbolic versions (only where they are kripke's own)."""
        if fn in self._rebuilt:
            return self._rebuilt[fn]
        g = dict(fn.__globals__)
        g["len"] = self._len
        for name in _OVERRIDDEN:
            if g.get(name) is getattr(mt, name):
                g[name] = self._put if name == "put" else self._traced_quantifier(name)
        new = pytypes.FunctionType(fn.__code__, g, fn.__name__, fn.__defaults__, fn.__closure__)
        new.__kwdefaults__ = fn.__kwdefaults__
        self._rebuilt[fn] = new
        return new

    def run(self, fn, what, *args, then=lambda v: v):
        """Trace ``then(fn(view, *args))``: ``[(path condition, result)]``."""
        check_source(fn, what)
        new = self.rebuild(fn)
        return guarded(Tracer(), lambda: then(new(self.view, *args)), what,
                       how="over an uninterpreted sort", interposed=contextlib.nullcontext)

    # init, actions, invariants
    def init(self):
        """``[(path condition, terms)]``: the initial states."""
        fn = inspect.getattr_static(type(self.model), "init")
        out = []
        for cond, states in self.run(fn, "init()", then=list):
            out += [(cond, self.terms(s, "init()")) for s in states]
        return out

    def actions(self):
        """``[(name, args, [(path condition, next terms)])]``, ``args`` the fresh constants the
        action is instantiated with (free in the formulas: existentially chosen)."""
        out = []
        for name, spec in type(self.model)._actions.items():
            doms = [self.model._domain(d) for d in spec.each]
            if any(d is not self.domain for d in doms):
                raise TraceError(f"action {name} ranges over {doms}; the all-sizes prover "
                                 f"quantifies only over {self.domain.name}")
            args = [z3.Const(f"{name}.{k}", self.universe.sort) for k in range(len(doms))]
            fn = inspect.getattr_static(type(self.model), name)
            s = self.state(self.x)
            steps = []
            for cond, result in self.run(fn, f"action {name}", s, *map(UElem, args)):
                for t in (result if type(result) is list else [] if result is None else
                          [result]):
                    steps.append((cond, self.terms(t, f"action {name}")))
            out.append((name, args, steps))
        return out

    def invariant(self, prop):
        """The formula of a state property over ``self.x``."""
        runs = self.run(prop.condition, f"property {prop.name}", self.state(self.x))
        holds = [z3.And(c, term_bool(r)) for c, r in runs]
        return z3.Or(*holds) if holds else z3.BoolVal(False)


# -- the proof -----------------------------------------------------------------------------------
@dataclass
class Obligation:
    """One check: an invariant's initiation, or its preservation by one action."""

    action: str  # "init" for initiation
    invariant: str
    verdict: str  # "proved" | "fails" | "unknown"
    elapsed_s: float


@dataclass
class AllSizesResult:
    """The outcome of ``prove_all_sizes``: ``verdict`` ok (proved for every size), violated (a
    counterexample to induction that a search at its size reaches) or incomplete (a
    counterexample to induction not reached by that search, or a solver unknown)."""

    model: str
    property: str
    domain: str
    invariants: list
    verdict: str
    obligations: list = field(default_factory=list)
    #: the first counterexample to induction: {"action", "args", "invariant", "size",
    #: "before", "after", "reachable"} (states concrete, at rms = size), or None
    cti: dict = None
    elapsed_s: float = 0.0
    message: str = ""

    def report(self):
        """The text ``kripke prove --all-sizes`` prints."""
        word = {OK: "PROVED", VIOLATED: "VIOLATED", INCOMPLETE: "NOT PROVED"}[self.verdict]
        lines = [f"{self.model}, every number of {self.domain}s (an uninterpreted sort): {word}",
                 f"  property: {self.property}; auxiliary invariants: "
                 f"{', '.join(self.invariants) or 'none'}"]
        bad = [o for o in self.obligations if o.verdict != "proved"]
        lines += [f"  {o.action} does not {'establish' if o.action == 'init' else 'preserve'} "
                  f"{o.invariant}" + (" (solver unknown)" if o.verdict == "unknown" else "")
                  for o in bad]
        if not bad:
            lines.append(f"  all {len(self.obligations)} obligations proved (initiation, and "
                         "each action preserving each invariant)")
        lines.append(f"  {self.message} ({self.elapsed_s:.2f} s)")
        if self.cti is not None:
            c = self.cti
            lines.append(f"  counterexample to induction at {self.domain.lower()}s={c['size']}:")
            if c["before"] is not None:
                lines.append(f"    before: {c['before']}")
                lines.append(f"    {c['action']}{c['args']}")
            lines.append(f"    after:  {c['after']}")
        return "\n".join(lines)

    def to_json(self):
        """``kripke prove --all-sizes --json``."""
        cti = None
        if self.cti is not None:
            c = self.cti
            cti = {"action": c["action"], "args": list(c["args"]), "invariant": c["invariant"],
                   "size": c["size"], "reachable": c["reachable"],
                   "before": None if c["before"] is None else _state_json(c["before"]),
                   "after": _state_json(c["after"])}
        return {"model": self.model, "property": self.property, "all_sizes": True,
                "domain": self.domain, "invariants": self.invariants, "verdict": self.verdict,
                "obligations": [{"action": o.action, "invariant": o.invariant,
                                 "verdict": o.verdict} for o in self.obligations],
                "cti": cti, "message": self.message, "elapsed_s": round(self.elapsed_s, 3)}

    def table(self):
        """One line per obligation, mypyvy style."""
        lines = []
        for o in self.obligations:
            what = "initially" if o.action == "init" else f"by {o.action}"
            lines.append(f"  {o.invariant:<32} {what:<28} {o.verdict} ({o.elapsed_s:.2f} s)")
        return "\n".join(lines)


def _state_json(s):
    """A state as plain JSON: fields by name, sets as sorted lists, records as lists."""
    def plain(v):
        if isinstance(v, frozenset):
            return sorted((plain(x) for x in v), key=repr)
        if isinstance(v, tuple):
            return [plain(x) for x in v]
        return v
    return {k: plain(v) for k, v in s._asdict().items()}


def default_invariants(model):
    """The auxiliary invariants kripke knows for ``model`` at every size (by model class)."""
    from kripke.models.two_phase import TwoPhase
    if isinstance(model, TwoPhase):
        from kripke.specs.commit_all_sizes import two_phase_all_sizes
        return list(two_phase_all_sizes)
    return []


def _props(model, names):
    by_name = {p.name: p for p in list(model.properties) + default_invariants(model)}
    out = []
    for n in names:
        if not isinstance(n, str):
            out.append(n)
            continue
        if n not in by_name:
            from kripke.errors import UnknownNameError
            raise UnknownNameError(f"property of {model.display_name()}", n, by_name)
        out.append(by_name[n])
    return out


def prove_all_sizes(model, prop, invariants=None, *, domain=None, timeout_s=60):
    """Prove the invariant ``prop`` of ``model`` (a class or instance) for every size of its
    domain, by induction with the auxiliary ``invariants`` (Property objects or names; default:
    ``default_invariants``). Returns an ``AllSizesResult``."""
    start = time.perf_counter()
    if isinstance(model, type):
        model = model()
    target = _props(model, [prop])[0]
    aux = _props(model, invariants) if invariants is not None else default_invariants(model)
    pm = ParametricModel(model, domain)
    invs = [target] + [a for a in aux if a.name != target.name]
    formulas = [pm.invariant(p) for p in invs]
    hyp = z3.And(*formulas)
    result = AllSizesResult(model.display_name(), target.name, pm.domain.name,
                            [p.name for p in invs[1:]], OK)
    checks = [("init", [], cond, terms) for cond, terms in pm.init()]
    for name, args, steps in pm.actions():
        checks += [(name, args, z3.And(hyp, cond), terms) for cond, terms in steps]
    for p, f in zip(invs, formulas):
        for action, args, pre, terms in checks:
            t0 = time.perf_counter()
            solver = z3.Solver()
            solver.set("timeout", int(timeout_s * 1000))
            solver.add(pre, z3.Not(z3.substitute(f, *zip(pm.x, terms))))
            answer = solver.check()
            verdict = _verdict(answer)
            prev = next((o for o in result.obligations
                         if o.action == action and o.invariant == p.name), None)
            if prev is not None:  # one more path of the same action: keep the worst
                prev.elapsed_s += time.perf_counter() - t0
                if prev.verdict == "proved":
                    prev.verdict = verdict
            else:
                result.obligations.append(Obligation(action, p.name, verdict,
                                                     time.perf_counter() - t0))
            if verdict == "unknown" and result.verdict == OK:
                result.verdict = INCOMPLETE
                result.message = f"solver unknown on {p.name} {action}: {solver.reason_unknown()}"
            if verdict == "fails" and result.cti is None:
                result.cti = _cti(pm, _smallest(pm, solver), action, args, p, terms, target)
                result.verdict = VIOLATED if result.cti["reachable"] else INCOMPLETE
                result.message = _cti_message(result)
    result.elapsed_s = time.perf_counter() - start
    if result.verdict == OK:
        result.message = (f"{target.name} holds for every number of {pm.domain.name}s: with "
                          f"{len(invs) - 1} auxiliary invariants it is inductive")
    return result


def _smallest(pm, solver):
    """A z3 model of the solver's (sat) assertions with as few domain elements as possible
    (mypyvy minimises its counterexamples the same way): the universe bounded to 1, 2, ...
    elements until one fits."""
    found = solver.model()
    if pm.universe.finite:
        return found
    top = len(pm.elements(found))
    for n in range(1, top):
        elems = [pm.fresh_elem("e") for _ in range(n)]
        r = pm.fresh_elem("r")
        solver.push()
        solver.add(z3.ForAll([r], z3.Or(*[r == e for e in elems])))
        if solver.check() == z3.sat:
            found = solver.model()
            solver.pop()
            break
        solver.pop()
    return found


def _verdict(answer):
    if answer == z3.unsat:
        return "proved"
    return "fails" if answer == z3.sat else "unknown"


def _cti(pm, zm, action, args, prop, terms, target):
    """A counterexample to induction, decoded at the size of z3's universe and replayed; then
    a search for a violation of ``target`` at that size (bounded: 200,000 states)."""
    size, after = pm.decode(zm, terms)
    cti = {"action": action, "invariant": prop.name, "size": size, "after": after,
           "before": None, "args": (), "reachable": False}
    elems = pm.elements(zm)
    index = {str(e): k for k, e in enumerate(elems)}
    cti["args"] = tuple(index[str(zm.eval(a, model_completion=True))] for a in args)
    concrete = type(pm.model)(**{**pm.model.params, pm.domain.size: size})
    if action != "init":
        cti["before"] = pm.decode(zm, pm.x)[1]
        succ = [t for n, a, t in concrete.successors(cti["before"])
                if n == action and tuple(a) == cti["args"]]
        if after not in succ:
            raise TraceError(f"internal: the all-sizes encoding of {action} disagrees with the "
                             f"model at {pm.domain.size}={size}: {after} is not a successor of "
                             f"{cti['before']}")
    elif after not in list(concrete.init()):
        raise TraceError(f"internal: {after} is not an initial state at {pm.domain.size}={size}")
    if prop.condition(concrete, after):
        raise TraceError(f"internal: {prop.name} holds on the decoded state {after}")
    from kripke.checkers.explicit import check
    r = check(concrete, properties=[target.name], max_states=200_000)
    cti["reachable"] = r.verdict == VIOLATED
    cti["search"] = r.verdict
    return cti


def _cti_message(result):
    c = result.cti
    where = "initially" if c["action"] == "init" else f"by {c['action']}{c['args']}"
    reach = (f"a search at that size reaches a violation of {result.property}" if c["reachable"]
             else f"possibly unreachable: a search at that size finds no violation of "
                  f"{result.property}")
    return (f"{c['invariant']} is not preserved {where}: counterexample to induction at "
            f"{result.domain.lower()}s={c['size']} ({reach})")


# -- the cross-check with the explicit engine ------------------------------------------------------
def cross_check(model_cls, n, invariants=(), **params):
    """Compare the traced encoding over ``Finite(domain, n)`` with the explicit model at size n
    on every reachable state: the successors of every action instance, and the truth of every
    named invariant. Returns ``(states compared, mismatches)``."""
    concrete = model_cls(**params)
    pm0 = ParametricModel(concrete)
    concrete = model_cls(**{**params, pm0.domain.size: n})
    pm = ParametricModel(concrete, pm0.domain, Finite(pm0.domain, n))
    elems = pm.universe.elems
    index = {str(e): k for k, e in enumerate(elems)}
    actions = pm.actions()
    inits = pm.init()
    props = [(p, pm.invariant(p)) for p in _props(concrete, invariants)]
    mismatches = []

    class _Eval:  # a z3 model stand-in: simplify the ground term
        @staticmethod
        def eval(t, model_completion=True):
            return z3.simplify(t)

    def decode(terms):
        values, k = [], 0
        for f, w in zip(pm.fields, pm._widths()):
            values.append(f.decode(_Eval, terms[k:k + w], elems, index))
            k += w
        return concrete.State(*values)

    got_init = {decode([z3.simplify(t) for t in terms]) for c, terms in inits
                if z3.is_true(z3.simplify(c))}
    if got_init != set(concrete.init()):
        mismatches.append(("init", got_init, set(concrete.init())))
    seen, frontier = set(concrete.init()), list(concrete.init())
    while frontier:
        s = frontier.pop()
        sub = list(zip(pm.x, pm.terms(s, "state")))
        for p, f in props:
            if z3.is_true(z3.simplify(z3.substitute(f, *sub))) != bool(p.condition(concrete, s)):
                mismatches.append((p.name, s))
        expected = {}
        for name, args, t in concrete.successors(s):
            expected.setdefault((name, tuple(args)), set()).add(t)
        got = {}
        for name, consts, steps in actions:
            for combo in itertools.product(range(n), repeat=len(consts)):
                sub2 = sub + [(c, elems[k]) for c, k in zip(consts, combo)]
                for cond, terms in steps:
                    if z3.is_true(z3.simplify(z3.substitute(cond, *sub2))):
                        got.setdefault((name, combo), set()).add(
                            decode([z3.simplify(z3.substitute(t, *sub2)) for t in terms]))
        if got != expected:
            mismatches.append(("step", s, got, expected))
        for ts in expected.values():
            for t in ts:
                if t not in seen:
                    seen.add(t)
                    frontier.append(t)
    return len(seen), mismatches


# -- vector clocks: the merge laws for every dimension ------------------------------------------
@dataclass
class LawsResult:
    """Each law: ``{name: "proved" | "refuted" | "unknown"}``, and a counterexample per refuted
    law (concrete clocks)."""

    laws: dict
    counterexamples: dict = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def verdict(self):
        if all(v == "proved" for v in self.laws.values()):
            return OK
        return VIOLATED if "refuted" in self.laws.values() else INCOMPLETE


class SClock(Sym):
    """A vector clock of any dimension: a z3 array Proc -> Int (Proc uninterpreted), of which
    the model's own ``merge`` sees the entries through ``map``."""

    __slots__ = ("term",)

    def __init__(self, term):
        self.term = term


def clock_ops(merge_fn=None):
    """merge / at_most / happened_before on clocks that are z3 arrays. ``merge`` is the model's
    own (``tuple(map(max, a, b))``) run with ``tuple``, ``map`` and ``max`` interposed: ``map``
    over two clocks gives the pointwise term, ``max`` an if-then-else, ``tuple`` the array."""
    from kripke.models import vector_clock as vc
    proc = z3.DeclareSort("Proc")

    class Pointwise:  # map(f, a, b) over clocks: the entry at a bound process
        def __init__(self, fn, clocks):
            self.fn, self.clocks = fn, clocks

    def smap(fn, *clocks):
        if all(isinstance(c, SClock) for c in clocks):
            return Pointwise(fn, clocks)
        return map(fn, *clocks)

    def smax(a, b):
        return z3.If(a >= b, a, b) if isinstance(a, z3.ArithRef) else max(a, b)

    def smin(a, b):
        return z3.If(a <= b, a, b) if isinstance(a, z3.ArithRef) else min(a, b)

    def stuple(x):
        if isinstance(x, Pointwise):
            p = z3.Const("p", proc)
            return SClock(z3.Lambda([p], x.fn(*[z3.Select(c.term, p) for c in x.clocks])))
        return tuple(x)

    def sall(x):
        if isinstance(x, Pointwise):
            p = z3.Const("p", proc)
            return z3.ForAll([p], x.fn(*[z3.Select(c.term, p) for c in x.clocks]))
        return all(x)

    def rebuilt(fn):
        g = dict(fn.__globals__, map=smap, max=smax, min=smin, tuple=stuple, all=sall)
        return pytypes.FunctionType(fn.__code__, g, fn.__name__, fn.__defaults__, fn.__closure__)

    merge, at_most = rebuilt(merge_fn or vc.merge), rebuilt(vc._at_most)
    return proc, merge, at_most


def prove_vector_clock_laws(merge=None, timeout_s=30):
    """The merge laws of ``models.vector_clock`` for clocks of every dimension (an uninterpreted
    sort of processes; entries unbounded integers): merge commutative, associative, idempotent,
    monotone (``a <= merge(a, b)`` pointwise) and least (below every common upper bound); ``<=``
    a partial order; happened-before (``a <= b and a != b``) a strict partial order. ``merge`` and
    ``_at_most`` are the module's own functions, traced (``map``, ``max``, ``tuple``, ``all``
    interposed); a clock is a z3 array Proc -> Int. ``merge``: another merge function written
    the same way (``tuple(map(f, a, b))``), to see which laws it breaks."""
    start = time.perf_counter()
    proc, merge, at_most = clock_ops(merge)
    arr = z3.ArraySort(proc, z3.IntSort())
    a, b, c = (SClock(z3.Const(n, arr)) for n in "abc")

    def eq(x, y):
        return x.term == y.term

    def hb(x, y):  # vector_clock.happened_before: a != b and _at_most(a, b)
        return z3.And(z3.Not(eq(x, y)), at_most(x, y))

    laws = {
        "merge_commutative": eq(merge(a, b), merge(b, a)),
        "merge_associative": eq(merge(merge(a, b), c), merge(a, merge(b, c))),
        "merge_idempotent": eq(merge(a, a), a),
        "merge_monotone": z3.And(at_most(a, merge(a, b)), at_most(b, merge(a, b))),
        "merge_least": z3.Implies(z3.And(at_most(a, c), at_most(b, c)), at_most(merge(a, b), c)),
        "at_most_reflexive": at_most(a, a),
        "at_most_antisymmetric": z3.Implies(z3.And(at_most(a, b), at_most(b, a)), eq(a, b)),
        "at_most_transitive": z3.Implies(z3.And(at_most(a, b), at_most(b, c)), at_most(a, c)),
        "happened_before_irreflexive": z3.Not(hb(a, a)),
        "happened_before_transitive": z3.Implies(z3.And(hb(a, b), hb(b, c)), hb(a, c)),
        "happened_before_asymmetric": z3.Implies(hb(a, b), z3.Not(hb(b, a))),
    }
    out = LawsResult({})
    for name, law in laws.items():
        solver = z3.Solver()
        solver.set("timeout", int(timeout_s * 1000))
        solver.add(z3.Not(law))
        answer = solver.check()
        out.laws[name] = _verdict(answer).replace("fails", "refuted")
        if answer == z3.sat:
            out.counterexamples[name] = str(solver.model())
    out.elapsed_s = time.perf_counter() - start
    return out


# -- the article's retry jitter: the exact worst case over the reals -----------------------------
@dataclass
class JitterBound:
    """The largest delay a retrier can sleep, over the reals, as a multiple of max_delay."""

    retrier: str
    #: the supremum of delay / max_delay, an exact rational (``Fraction(3, 2)``, the article's)
    worst_ratio: Fraction
    #: is the supremum attained with random() < 1 (the article's half-open range)
    attained: bool
    #: does delay <= max_delay hold for every parameter, attempt and draw
    bound_holds: bool
    #: a draw that exceeds max_delay (parameters, attempt, random(), delay), exact, or None
    witness: dict = None
    elapsed_s: float = 0.0

    def worst_delay(self, max_delay):
        """The worst delay as a z3 term: ``worst_ratio * max_delay`` (a z3 rational times it)."""
        q = self.worst_ratio
        return z3.RealVal(f"{q.numerator}/{q.denominator}") * max_delay


def _q(v):
    """A z3 rational numeral as a Fraction."""
    v = z3.simplify(v)
    return Fraction(v.numerator_as_long(), v.denominator_as_long()) \
        if z3.is_rational_value(v) else Fraction(v.as_long())


def _nra(*facts):
    s = z3.Solver()
    s.add(*facts)
    return s


def retry_jitter_bound(retrier="retry-article", attempts=4):
    """The exact supremum of ``delay / max_delay`` over the reals, for the delay formula of
    ``models.retry``'s ``RetryArticle.delay`` or ``Retry.delay``, run on z3 reals (``min``
    interposed as an if-then-else; the code is the model's own).

    ``retry-article`` is the article's ``retry_with_backoff`` (``../shared/reference/seed-cap-
    theorem-explained.txt``): ``min(base_delay * exponential_base ** attempt, max_delay)``, then
    times ``0.5 + random.random()``. ``retry`` jitters first and caps after. The model counts in
    tenths, so the factor is ``10 * (0.5 + random())`` and the cap ``10 * max_delay``; the
    parameters range over the reals, ``base_delay > 0``, ``max_delay > 0``, ``exponential_base
    >= 1``, for each attempt in ``0 .. attempts - 1`` (the power is a polynomial of that degree),
    random() in [0, 1).

    The supremum is found by z3's ``Optimize`` over the closure ``random() <= 1`` with
    ``max_delay = 1`` (every delay is homogeneous of degree 1 in base_delay and max_delay, so the
    ratio does not depend on the unit), then verified exactly without that normalisation by
    z3's nonlinear real arithmetic: nothing exceeds it (unsat), it is reached at random() = 1
    (sat), and whether it is reached with random() < 1. The bound ``delay <= max_delay`` is
    then refuted with a witness, or proved (unsat)."""
    from kripke.models.retry import Retry, RetryArticle
    cls = {"retry-article": RetryArticle, "retry": Retry}.get(retrier)
    if cls is None:
        raise ValueError(f"retrier {retrier!r}: write 'retry-article' or 'retry'")
    start = time.perf_counter()
    base, expb, cap, r = z3.Reals("base_delay exponential_base max_delay random")
    view = pytypes.SimpleNamespace(base_delay=base, exponential_base=expb, max_delay=cap)
    g = dict(cls.delay.__globals__, min=lambda a, b: z3.If(a <= b, a, b))
    delay_fn = pytypes.FunctionType(cls.delay.__code__, g, "delay")
    params = [base > 0, expb >= 1, cap > 0, r >= 0]
    ratio = z3.Real("ratio")
    worst, attained, holds, witness = None, False, True, None
    for n in range(attempts):
        delay = z3.simplify(delay_fn(view, n, 10 * (z3.RealVal("1/2") + r)) / 10)  # seconds
        opt = z3.Optimize()
        opt.set("timeout", 60_000)
        opt.add(base > 0, expb >= 1, r >= 0, r <= 1,
                ratio == z3.simplify(z3.substitute(delay, (cap, z3.RealVal(1)))))
        h = opt.maximize(ratio)
        top = z3.simplify(opt.upper(h)) if opt.check() == z3.sat else None
        if top is None or not (z3.is_rational_value(top) or z3.is_int_value(top)):
            raise RuntimeError(f"{retrier}, attempt {n}: z3 found no exact maximum "
                               f"({top if top is not None else opt.reason_unknown()})")
        m = _q(top)
        bound = z3.RealVal(f"{m.numerator}/{m.denominator}") * cap
        if _nra(*params, r <= 1, delay > bound).check() != z3.unsat:
            raise RuntimeError(f"{retrier}, attempt {n}: {m} x max_delay is not an upper bound")
        if _nra(*params, r <= 1, delay == bound).check() != z3.sat:
            raise RuntimeError(f"{retrier}, attempt {n}: {m} x max_delay is not reached")
        hit = _nra(*params, r < 1, delay == bound).check() == z3.sat
        if worst is None or m > worst:
            worst, attained = m, hit
        elif m == worst:
            attained = attained or hit
        over = _nra(*params, r < 1, delay > cap)
        answer = over.check()
        if answer == z3.sat:
            holds = False
            if witness is None:
                zm = over.model()
                witness = {"attempt": n, **{str(v): _q(zm.eval(v, model_completion=True))
                                            for v in (base, expb, cap, r)},
                           "delay": _q(zm.eval(delay, model_completion=True))}
        elif answer != z3.unsat:
            raise RuntimeError(f"{retrier}, attempt {n}: z3 answered {answer}")
    return JitterBound(retrier, worst, attained, holds, witness, time.perf_counter() - start)

"""Typed state: finite domains, field types and tuple-based records.

A model declares each state variable with a type over finite domains, the way Apalache asks TLA+
for type annotations (see ../DESIGN "Typed state: the keystone"). One declaration then serves
every engine:

* the record class built from it is a ``tuple`` subclass, so hashing and equality run in C;
* ``type_ok`` (TLA+'s ``TypeOK``) is derived from it: a write outside the declared bounds is a
  violation with a trace, not a silent bug;
* symmetry reduction permutes array indices, set elements and ids over a symmetric domain;
* trace JSON encodes states field by field, without guessing.

Types::

    Enum("init", "committed", "aborted")   one of a few strings
    Int(0, "max_term")                     a bounded int; a bound may name a parameter
    Bool()                                 True / False
    Id(RM)                                 an element of a finite domain (ints 0..n-1)
    Optional(T)                            T or None
    Array(RM, T)                           a tuple indexed by a domain (TLA+ [RM -> T])
    Set(T)                                 a frozenset of T (TLA+ SUBSET T)
    Seq(T, "max_log_len")                  a tuple of at most n elements
    Bag(T, "max_msgs", fifo="ordered")     a multiset (messages in flight), canonically ordered
    Map(K, V)                              a partial function K -> V, as a FrozenMap
    OneOf(A, B, ...)                       a union of record types (message sets)
    record("Prepared", rm=RM)              a tagged record class: Prepared(rm=0) is
                                           ("Prepared", 0), JSON {"type": "Prepared", "rm": 0}
"""

import itertools
import keyword
import operator
from collections import namedtuple
from operator import itemgetter

from kripke.common import speedups
from kripke.errors import DefinitionError
from kripke.models.fingerprint import fingerprint

__all__ = [
    "Domain", "Type", "Enum", "Int", "Bool", "Id", "Optional", "Array", "Set", "Seq", "Bag",
    "OneOf", "record", "state_record", "as_type", "put", "bag_order", "total_order_key",
    "encode_value", "json_equal", "Map", "FrozenMap", "bag_add", "bag_remove", "set_add",
    "for_all", "exists", "type_text",
]

# The C base gives records a C-speed set(), and put() in C (checkers/_speedups.c); without the
# extension the Python set() generated below and this put() do the same, slower.
RecordBase = getattr(speedups(), "RecordBase", None)


def put(t, i, value):
    """``[t EXCEPT ![i] = value]`` for a tuple ``t``: a copy with index ``i`` replaced."""
    if not isinstance(t, tuple):
        raise TypeError("put(t, i, value) takes a tuple, an index and a value")
    n, i = len(t), operator.index(i)
    if i < 0:
        i += n
    if not 0 <= i < n:
        raise IndexError("put: index out of range")
    return (*t[:i], value, *t[i + 1:])


if RecordBase is not None:
    put = speedups().put  # noqa: F811 (the same function, in C)


def for_all(domain, model, pred):
    """``\\A v \\in domain : pred(v)``: ``all(pred(v) for v in domain.values(model))``.

    Written this way rather than as a loop over ``range(model.rms)``, a quantified property is
    also one the all-sizes prover (``checkers/parametric.py``) can read: there the domain is an
    uninterpreted sort, and this call a z3 quantifier over it (issue 12, item 4)."""
    return all(pred(v) for v in domain.values(model))


def exists(domain, model, pred):
    """``\\E v \\in domain : pred(v)``: ``any(pred(v) for v in domain.values(model))`` (see
    ``for_all``)."""
    return any(pred(v) for v in domain.values(model))


_tuple_new = tuple.__new__
# The C accessor namedtuple uses for its fields; faster than property(itemgetter(i)).
_tuplegetter = type(namedtuple("_Probe", "x").x)


def type_text(t, model, value=repr):
    """``repr(t)`` for this instance of the model: a bound given as a function of the model
    written as its value (``0..3``, not ``0..<function <lambda>>``), an Enum's values written
    by ``value`` (the review page quotes them; the explorer does not)."""
    def bound(b):
        return str(b(model)) if callable(b) else str(b)

    def text(t):
        if isinstance(t, Int):
            return f"{bound(t.lo)}..{bound(t.hi)}"
        if isinstance(t, Enum):
            return "{" + ", ".join(map(value, t.values)) + "}"
        if isinstance(t, Optional):
            return f"{text(t.inner)} | None"
        if isinstance(t, Array):
            return f"[{t.index.name} -> {text(t.value)}]"
        if isinstance(t, Set):
            return f"SUBSET {text(t.elem)}"
        if isinstance(t, Seq):
            return f"Seq({text(t.elem)}, <= {bound(t.max_len)})"
        if isinstance(t, Bag):
            return f"Bag({text(t.elem)}, <= {bound(t.max_size)})"
        if isinstance(t, Map):
            return f"Map({text(t.key)} -> {text(t.value)})"
        return repr(t)
    return text(t)


def _resolve(bound, model):
    """A bound is an int, the name of one of the model's parameters, or a function of the
    model (``lambda m: m.max_log_len + 1``)."""
    if isinstance(bound, str):
        return getattr(model, bound)
    return bound(model) if callable(bound) else bound


class Domain:
    """A finite set of ids ``0 .. n-1`` sized by a parameter, e.g. the resource managers.

    ``symmetric=True`` declares its elements interchangeable: the checker may then canonicalise
    states under permutations of the domain (TLC's SYMMETRY, Stateright's ``Representative``).
    """

    def __init__(self, name, size, *, symmetric=False, doc=""):
        self.name, self.size, self.symmetric, self.doc = name, size, symmetric, doc

    def values(self, model):
        return range(_resolve(self.size, model))

    def __repr__(self):
        return self.name


class Type:
    """Base of the field types. Subclasses say how to check, encode and permute a value."""

    def checker(self, model):
        """A predicate ``value -> bool``: is the value inside the declared bounds?"""
        raise NotImplementedError

    def universe(self, model):
        """Every value of the type as a frozenset, or None when it is large or unbounded."""
        return None

    def to_json(self, value, model=None):
        """The value as plain JSON (``model`` resolves parameters some types depend on)."""
        return value

    def domains(self):
        """The domains whose elements values of this type contain."""
        return []

    def mentions(self, domain):
        """Do values of this type contain elements of ``domain``?"""
        return domain in self.domains()

    def permuter(self, domain, model):
        """A function ``(value, perm) -> value`` renaming ids of ``domain`` (None: unaffected)."""
        return None

    def _strict_universe(self, model):
        """The universe, when membership in it also checks the type of a value.

        ``1 == True == 1.0``, so a universe holding numbers would accept a bool or a float where
        an int is declared; one of strings (and records of strings) cannot be fooled that way.
        """
        universe = self.universe(model)
        return universe if universe is not None and all(map(_strict, universe)) else None

    def _subset_checker(self, model):
        universe = self._strict_universe(model)
        if universe is not None:
            return universe.__contains__
        return self.checker(model)


class Enum(Type):
    def __init__(self, *values):
        if not values or not all(isinstance(v, str) for v in values):
            raise DefinitionError(f"Enum takes one or more strings, got {values!r}")
        self.values = values
        self._universe = frozenset(values)

    def checker(self, model):
        return self._universe.__contains__

    def universe(self, model):
        return self._universe

    def __repr__(self):
        return "{" + ", ".join(map(repr, self.values)) + "}"


class Int(Type):
    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def checker(self, model):
        lo, hi = _resolve(self.lo, model), _resolve(self.hi, model)
        return lambda v: type(v) is int and lo <= v <= hi

    def universe(self, model):
        lo, hi = _resolve(self.lo, model), _resolve(self.hi, model)
        return frozenset(range(lo, hi + 1)) if hi - lo < 4096 else None

    def __repr__(self):
        return f"{self.lo}..{self.hi}"


class Bool(Type):
    _universe = frozenset((False, True))

    def checker(self, model):
        return lambda v: type(v) is bool

    def universe(self, model):
        return self._universe

    def __repr__(self):
        return "BOOLEAN"


class Id(Type):
    """An element of a domain: a server id, an RM id."""

    def __init__(self, domain):
        self.domain = domain

    def checker(self, model):
        n = len(self.domain.values(model))
        return lambda v: type(v) is int and 0 <= v < n

    def universe(self, model):
        return frozenset(self.domain.values(model))

    def domains(self):
        return [self.domain]

    def permuter(self, domain, model):
        return (lambda v, p: p[v]) if domain is self.domain else None

    def __repr__(self):
        return self.domain.name


class Optional(Type):
    def __init__(self, inner):
        self.inner = as_type(inner)

    def checker(self, model):
        inner = self.inner.checker(model)
        return lambda v: v is None or inner(v)

    def universe(self, model):
        inner = self.inner.universe(model)
        return None if inner is None else inner | {None}

    def to_json(self, value, model=None):
        return None if value is None else self.inner.to_json(value, model)

    def domains(self):
        return self.inner.domains()

    def permuter(self, domain, model):
        inner = self.inner.permuter(domain, model)
        if inner is None:
            return None
        return lambda v, p: None if v is None else inner(v, p)

    def __repr__(self):
        return f"{self.inner!r} | None"


class Array(Type):
    """A function from a domain to values, as a tuple indexed by the domain (TLA+ ``[D -> T]``)."""

    def __init__(self, index, value):
        if not isinstance(index, Domain):
            raise DefinitionError(f"Array is indexed by a Domain, got {index!r}")
        self.index, self.value = index, as_type(value)

    def checker(self, model):
        n = len(self.index.values(model))
        universe = self.value._strict_universe(model)
        if universe is not None:  # every element in a finite universe: one C call
            return lambda v: type(v) is tuple and len(v) == n and universe.issuperset(v)
        elem = self.value.checker(model)
        return lambda v: type(v) is tuple and len(v) == n and all(map(elem, v))

    def universe(self, model):
        """Every function from the index to the values (TLA+'s ``[D -> T]`` as a set) when
        there are at most 65,536: a vector clock, which an event and a message record."""
        values = self.value.universe(model)
        n = len(self.index.values(model))
        if values is None or len(values) ** n > 65536:
            return None
        return frozenset(itertools.product(values, repeat=n))

    def to_json(self, value, model=None):
        return [self.value.to_json(x, model) for x in value]

    def domains(self):
        return [self.index] + self.value.domains()

    def permuter(self, domain, model):
        inner = self.value.permuter(domain, model)
        if domain is not self.index:
            if inner is None:
                return None
            return lambda v, p: tuple([inner(x, p) for x in v])

        def permute(v, p):
            out = [None] * len(v)
            for i, x in enumerate(v):
                out[p[i]] = x if inner is None else inner(x, p)
            return tuple(out)
        return permute

    def __repr__(self):
        return f"[{self.index.name} -> {self.value!r}]"


class _Collection(Type):
    """A collection of elements of one type, held in ``container`` (frozenset or tuple)."""

    container = None

    def domains(self):
        return self.elem.domains()

    def permuter(self, domain, model):
        inner, container = self.elem.permuter(domain, model), self.container
        if inner is None:
            return None
        return lambda v, p: container([inner(x, p) for x in v])


class Set(_Collection):
    """A finite set, as a frozenset (TLA+ ``SUBSET T``)."""

    container = frozenset

    def __init__(self, elem):
        self.elem = as_type(elem)

    def checker(self, model):
        universe = self.elem._strict_universe(model)
        if universe is not None:
            return lambda v: type(v) is frozenset and v <= universe
        elem = self.elem.checker(model)
        return lambda v: type(v) is frozenset and all(map(elem, v))

    def to_json(self, value, model=None):
        encoded = [self.elem.to_json(x, model) for x in value]
        return sorted(encoded, key=_json_sort_key)

    def __repr__(self):
        return f"SUBSET {self.elem!r}"


class Seq(_Collection):
    """A sequence of at most ``max_len`` elements, as a tuple."""

    container = tuple

    def __init__(self, elem, max_len):
        self.elem, self.max_len = as_type(elem), max_len

    def checker(self, model):
        n = _resolve(self.max_len, model)
        universe = self.elem._strict_universe(model)
        if universe is not None:
            return lambda v: type(v) is tuple and len(v) <= n and universe.issuperset(v)
        elem = self.elem.checker(model)
        return lambda v: type(v) is tuple and len(v) <= n and all(map(elem, v))

    def to_json(self, value, model=None):
        return [self.elem.to_json(x, model) for x in value]

    def __repr__(self):
        return f"Seq({self.elem!r}, <= {self.max_len})"


class Bag(_Collection):
    """A multiset of at most ``max_size`` elements (messages in flight), as a tuple in canonical
    order, so that equal multisets are equal values.

    Unordered (the default) the elements are sorted; with ``fifo`` (a bool, or the name of a
    boolean parameter) they are kept in the order sent within each channel, the channel of a
    message being its ``(src, dst)``, and the channels are sorted. ``bag_order`` gives the order.
    """

    container = tuple

    def __init__(self, elem, max_size, fifo=False):
        self.elem, self.max_size, self.fifo = as_type(elem), max_size, fifo

    def checker(self, model):
        n = _resolve(self.max_size, model)
        elem = self.elem._subset_checker(model)
        order = bag_order(_resolve(self.fifo, model))
        return lambda v: (type(v) is tuple and len(v) <= n and all(map(elem, v))
                          and list(v) == sorted(v, key=order))

    def to_json(self, value, model=None):
        encoded = [self.elem.to_json(x, model) for x in value]
        if model is None or not _resolve(self.fifo, model):
            # Unordered: in a run-independent order (the canonical order is by hash).
            encoded.sort(key=_json_sort_key)
        return encoded

    def permuter(self, domain, model):
        inner = self.elem.permuter(domain, model)
        if inner is None:
            return None
        # Renaming nodes renames channels; a stable sort keeps the order within each channel.
        order = bag_order(_resolve(self.fifo, model))
        return lambda v, p: tuple(sorted([inner(x, p) for x in v], key=order))

    def __repr__(self):
        return f"Bag({self.elem!r}, <= {self.max_size})"


class FrozenMap(tuple):
    """An immutable map, the value of a ``Map`` field (TLA+'s function on part of a domain): its
    ``(key, value)`` pairs in a canonical order (by the keys' fingerprints), so that equal maps
    are equal values and fingerprint alike, however they were built.

    >>> m = FrozenMap({1: "a"}).set(0, "b")
    >>> m[0], m.get(2), 1 in m, m.delete(1) == FrozenMap({0: "b"})
    ('b', None, True, True)
    """

    __slots__ = ()

    def __new__(cls, items=()):
        pairs = dict(items).items()
        return tuple.__new__(cls, sorted(pairs, key=lambda kv: fingerprint(kv[0])))

    def __getitem__(self, key):
        for k, v in tuple.__iter__(self):
            if k == key:
                return v
        raise KeyError(key)

    def get(self, key, default=None):
        for k, v in tuple.__iter__(self):
            if k == key:
                return v
        return default

    def __contains__(self, key):
        return any(k == key for k, _ in tuple.__iter__(self))

    def keys(self):
        return [k for k, _ in tuple.__iter__(self)]

    def values(self):
        return [v for _, v in tuple.__iter__(self)]

    def items(self):
        return list(tuple.__iter__(self))

    def set(self, key, value):
        """A copy with ``key`` mapped to ``value`` (TLA+'s ``[f EXCEPT ![key] = value]`` or
        ``@@``)."""
        return FrozenMap({**dict(tuple.__iter__(self)), key: value})

    def delete(self, key):
        """A copy without ``key``."""
        return FrozenMap((k, v) for k, v in tuple.__iter__(self) if k != key)

    def __repr__(self):
        return "FrozenMap({" + ", ".join(f"{k!r}: {v!r}" for k, v in self.items()) + "})"


class Map(Type):
    """A partial function from ``key`` to ``value`` (a dictionary as a value: the acceptors'
    promises, per-peer responses), as a ``FrozenMap``; ``max_size`` bounds its keys."""

    def __init__(self, key, value, max_size=None):
        self.key, self.value, self.max_size = as_type(key), as_type(value), max_size

    def checker(self, model):
        n = None if self.max_size is None else _resolve(self.max_size, model)
        key, value = self.key._subset_checker(model), self.value._subset_checker(model)
        return lambda v: (type(v) is FrozenMap and (n is None or len(v) <= n)
                          and all(key(k) and value(x) for k, x in v.items())
                          and v == FrozenMap(v.items()))

    def to_json(self, value, model=None):
        pairs = [[self.key.to_json(k, model), self.value.to_json(v, model)]
                 for k, v in value.items()]
        return sorted(pairs, key=_json_sort_key)

    def domains(self):
        return self.key.domains() + self.value.domains()

    def permuter(self, domain, model):
        key, value = self.key.permuter(domain, model), self.value.permuter(domain, model)
        if key is None and value is None:
            return None
        key = key or (lambda k, p: k)
        value = value or (lambda x, p: x)
        return lambda v, p: FrozenMap((key(k, p), value(x, p)) for k, x in v.items())

    def __repr__(self):
        return f"Map({self.key!r} -> {self.value!r})"


def bag_add(bag, m, fifo=False):
    """``bag`` (a ``Bag`` value) with ``m`` added, in the canonical order: a bag built by adding
    its elements in any order is one value. With ``fifo``, ``m`` goes after the elements of its
    channel, which keeps the order they were sent in."""
    order = bag_order(fifo)
    key = order(m)
    i = len(bag)
    while i and order(bag[i - 1]) > key:
        i -= 1
    return bag[:i] + (m,) + bag[i:]


def set_add(s, *items):
    """``s`` (a frozenset) with ``items`` added: TLA+'s ``s \\cup {e}``. The same as
    ``s | {e}``, except to the symbolic back end: a set display hashes its elements, which
    forks over every value of an element built from the state (``Event(p, seq, clock)``), while
    ``set_add`` adds it as one membership term per element of the set's universe."""
    return s.union(items)


def bag_remove(bag, m):
    """``bag`` with one copy of ``m`` removed (a ``ValueError`` if there is none)."""
    i = bag.index(m)
    return bag[:i] + bag[i + 1:]


def bag_order(fifo):
    """The sort key of a Bag's canonical order: the channel alone (FIFO: Python's sort is
    stable, so the order within a channel is kept), or the message's fingerprint (computed in
    C, with a fixed key).

    Equal messages have equal fingerprints, so a multiset has one representation; two different
    messages with the same 64-bit fingerprint could make two (explored twice: no state is
    missed). Not Python's ``hash``: it is seeded per process, and a state built by a Ray worker
    must be the very value the same multiset is in the coordinator (issue 13, item 6)."""
    if fifo:
        return lambda m: (m.src, m.dst)
    return fingerprint


class RecordType(Type):
    """The type of a record class made by ``record`` or ``state_record``."""

    def __init__(self, cls, fields):
        self.cls, self.fields = cls, fields  # fields: {name: Type}
        self.offset = 1 if cls._tag is not None else 0

    def checker(self, model):
        cls, off = self.cls, self.offset
        checks = [(i + off, t._subset_checker(model)) for i, t in enumerate(self.fields.values())]
        return lambda v: type(v) is cls and all(c(v[i]) for i, c in checks)

    def universe(self, model):
        parts = [t.universe(model) for t in self.fields.values()]
        if any(p is None for p in parts):
            return None
        size = 1
        for p in parts:
            size *= len(p)
        if size > 65536:
            return None
        return frozenset(self.cls(*combo) for combo in itertools.product(*parts))

    def to_json(self, value, model=None):
        out = {} if self.cls._tag is None else {"type": self.cls._tag}
        for (name, t), v in zip(self.fields.items(), value[self.offset:]):
            out[name] = t.to_json(v, model)
        return out

    def domains(self):
        return [d for t in self.fields.values() for d in t.domains()]

    def permuter(self, domain, model):
        parts = [(i + self.offset, t.permuter(domain, model)) for i, t in enumerate(self.fields.values())]
        parts = [(i, f) for i, f in parts if f is not None]
        if not parts:
            return None
        cls = self.cls

        def permute(v, p):
            out = list(v)
            for i, f in parts:
                out[i] = f(v[i], p)
            return _tuple_new(cls, out)
        return permute

    def __repr__(self):
        return self.cls.__name__


class OneOf(Type):
    """A union of record types, told apart by their class (message sets)."""

    def __init__(self, *alternatives):
        self.alternatives = [as_type(a) for a in alternatives]
        if not all(isinstance(a, RecordType) for a in self.alternatives):
            raise DefinitionError("OneOf takes record classes made with record(...)")
        self.by_class = {a.cls: a for a in self.alternatives}

    def checker(self, model):
        checks = {cls: a.checker(model) for cls, a in self.by_class.items()}
        return lambda v: type(v) in checks and checks[type(v)](v)

    def universe(self, model):
        parts = [a.universe(model) for a in self.alternatives]
        if any(p is None for p in parts):
            return None
        return frozenset().union(*parts)

    def to_json(self, value, model=None):
        return self.by_class[type(value)].to_json(value, model)

    def domains(self):
        return [d for a in self.alternatives for d in a.domains()]

    def permuter(self, domain, model):
        fns = {cls: a.permuter(domain, model) for cls, a in self.by_class.items()}
        if all(f is None for f in fns.values()):
            return None
        return lambda v, p: v if fns[type(v)] is None else fns[type(v)](v, p)

    def __repr__(self):
        return " | ".join(map(repr, self.alternatives))


def as_type(x):
    """Accept a Type, a record class or a Domain (meaning ``Id(domain)``) where a type is due."""
    if isinstance(x, Type):
        return x
    if isinstance(x, type) and isinstance(getattr(x, "_spec", None), RecordType):
        return x._spec
    if isinstance(x, Domain):
        return Id(x)
    raise DefinitionError(f"{x!r} is not a kripke type (use Enum, Int, Bool, Id, Array, Set, ...)")


def _is_scalar(t):
    """Are values of type ``t`` scalars (compared by value and class, not by contents)?"""
    if isinstance(t, Optional):
        return _is_scalar(t.inner)
    return isinstance(t, (Enum, Int, Bool, Id))


def _strict(v):
    """Is equality with ``v`` only possible for a value of the same type?"""
    if isinstance(v, tuple):
        return all(map(_strict, v))
    return v is None or type(v) is str


def total_order_key(v):
    """A string that orders values totally and is equal exactly for equal values (frozensets
    written sorted, so the order does not depend on their layout in memory)."""
    if isinstance(v, frozenset):
        return "{" + ",".join(sorted(total_order_key(x) for x in v)) + "}"
    if isinstance(v, tuple):
        return "(" + ",".join(total_order_key(x) for x in v) + ")"
    return repr(v)


def encode_value(v):
    """Plain JSON for any value built from records, tuples, frozensets and scalars (action
    arguments, untyped states): a tagged record as ``{"type": tag, field: ...}``."""
    if isinstance(v, tuple) and hasattr(v, "_asdict"):
        head = {"type": v._tag} if getattr(v, "_tag", None) is not None else {}
        return dict(head, **{k: encode_value(x) for k, x in v._asdict().items()})
    if isinstance(v, tuple):
        return [encode_value(x) for x in v]
    if isinstance(v, frozenset):
        return sorted((encode_value(x) for x in v), key=_json_sort_key)
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return repr(v)


def json_equal(a, b):
    """Are ``a`` and ``b`` the same JSON value, types included?

    Python's ``==`` says ``True == 1 == 1.0``; a trace that records ``1`` where the model has
    ``true`` (or ``1.0``) records another state (issue 9, item 5). Objects compare key by key,
    arrays element by element; a tuple is an array, as ``json.dumps`` writes it.

    >>> json_equal({"x": [1, True]}, {"x": (1, True)}), json_equal(1, True), json_equal(1, 1.0)
    (True, False, False)
    """
    ta, tb = _json_type(a), _json_type(b)
    if ta is not tb:
        return False
    if ta is list:
        return len(a) == len(b) and all(map(json_equal, a, b))
    if ta is dict:
        return a.keys() == b.keys() and all(json_equal(v, b[k]) for k, v in a.items())
    return a == b


def _json_type(v):
    for t in (bool, int, float, str, dict):  # bool first: True is an int to isinstance
        if isinstance(v, t):
            return t
    return list if isinstance(v, (list, tuple)) else type(v)


def _json_sort_key(v):
    """A total order on JSON values, so sets encode in a stable order."""
    import json
    return json.dumps(v, sort_keys=True)


def _check_field_names(owner, names):
    for name in names:
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
            raise DefinitionError(f"{owner}: {name!r} is not a valid field name")
    if len(set(names)) != len(names):
        raise DefinitionError(f"{owner}: duplicate field names in {names!r}")


_KEEP = object()


def _make_record_class(clsname, fields, tag):
    """Build a tuple subclass with named fields and a fast ``set(**changes)``.

    Like ``collections.namedtuple``, the constructor and ``set`` are generated from the (checked)
    field names, so an update is one tuple construction in a single Python frame.
    """
    names = list(fields)
    _check_field_names(clsname, names)
    off = 1 if tag is not None else 0
    args = ", ".join(names)
    items = ([repr(tag)] if tag is not None else []) + names
    # set() unpacks the tuple into locals (cheaper than indexing a tuple subclass) and builds the
    # new record with one call of tuple.__new__.
    olds = [f"_{n}" for n in names]
    unpack = ", ".join((["_tag"] if tag is not None else []) + olds)
    updates = [f"_{n} if {n} is _KEEP else {n}" for n in names]
    if tag is not None:
        updates = ["_tag"] + updates
    if tag is not None:
        # Messages are built far more often than they are distinct: intern them, so building one
        # is a dictionary hit (and equal messages are one object). The key must tell apart
        # values that Python calls equal (True == 1 == 1.0, and containers of them): a scalar
        # field's value is keyed with its class, any other with its fingerprint.
        parts = [f"{n}, {n}.__class__" if _is_scalar(as_type(t)) else f"{n}, _fingerprint({n})"
                 for n, t in fields.items()]
        key = f"({', '.join(parts)})"
        make = (f"    try:\n        return _interned[{key}]\n    except KeyError:\n"
                f"        return _interned.setdefault({key}, _tuple_new(_cls, ({', '.join(items)},)))\n")
    else:
        make = f"    return _tuple_new(_cls, ({', '.join(items)},))\n"
    src = (
        f"def __new__(_cls, {args}):\n" + make +
        f"def set(self, *, {', '.join(n + '=_KEEP' for n in names)}):\n"
        f"    {unpack}, = self\n"
        f"    return _tuple_new(_cls, ({', '.join(updates)},))\n"
    ) if names else (
        f"def __new__(_cls):\n    return _tuple_new(_cls, ({repr(tag)},))\n"
        f"def set(self):\n    return self\n"
    )
    namespace = {"_tuple_new": _tuple_new, "_KEEP": _KEEP, "_interned": {},
                 "_fingerprint": fingerprint}
    exec(src, namespace)  # generated from identifiers checked above, as namedtuple does

    def __repr__(self):
        body = ", ".join(f"{n}={v!r}" for n, v in zip(names, self[off:]))
        return f"{clsname}({body})"

    def _asdict(self):
        return dict(zip(names, self[off:]))

    ns = {
        "__slots__": (),
        "__new__": namespace["__new__"],
        "__repr__": __repr__,
        "_asdict": _asdict,
        "_fields": tuple(names),
        "_tag": tag,
        "__getnewargs__": lambda self: tuple(self[off:]),
    }
    if RecordBase is None:
        ns["set"] = namespace["set"]
    else:
        ns["_field_index"] = {n: i + off for i, n in enumerate(names)}
    for i, n in enumerate(names):
        ns[n] = _tuplegetter(i + off, f"{clsname}.{n}")
    if tag is not None:
        ns["type"] = property(itemgetter(0))
    cls = type(clsname, (RecordBase or tuple,), ns)
    namespace["_cls"] = cls
    cls._spec = RecordType(cls, {n: as_type(t) for n, t in fields.items()})
    return cls


def record(tag, **fields):
    """A tagged record class, TLA+'s ``[type |-> tag, field |-> ...]``: for messages.

    >>> Prepared = record("Prepared", rm=Domain("RM", 3))
    >>> Prepared(rm=1)
    Prepared(rm=1)
    >>> Prepared(rm=1) == ("Prepared", 1)
    True
    """
    return _make_record_class(tag, fields, tag)


def state_record(clsname, variables):
    """The record class of a model's states, one field per declared variable."""
    return _make_record_class(clsname, variables, None)

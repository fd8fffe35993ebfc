"""Fingerprints: the 64-bit names under which a search stores the states it has visited.

A fingerprint is a Merkle tree of SipHash-1-3 hashes (Aumasson and Bernstein, "SipHash: a fast
short-input PRF", INDOCRYPT 2012; the hash CPython uses for strings) with a fixed key: every value
is hashed as a sequence of 64-bit words, a *canonical encoding*, and a container's words include
its items' fingerprints. TLC does the same with its FP64 Rabin fingerprint; unlike Python's
``hash`` (where ``hash(-1) == hash(-2)``, ``True == 1 == 1.0`` hash alike and a frozenset's hash
is an XOR of its elements'), the encoding is injective on the values a state is built from:

* every value starts with a word naming its type: ``-1`` and ``-2``, ``0``, ``0.0`` and
  ``False``, ``True`` and ``1`` are different inputs;
* a tuple's words are its length and its items' fingerprints;
* a record (any tuple subclass) also names its class, so ``Prepared(rm=1)`` and ``Abort(rm=1)``,
  or a record and the tuple of its items, are different values (records of two classes with the
  same name are not);
* a frozenset lists its elements' fingerprints sorted, so its encoding does not depend on the
  set's layout in memory;
* a string is its UTF-8 bytes with their length; an int beyond 64 bits its two's-complement
  bytes; ``-0.0`` is encoded as ``0.0`` (they are equal values).

So two different states share a fingerprint only if SipHash collides on two different inputs
somewhere in their trees. The collision probability a search reports,
``n * (g - n) / 2**64`` for ``n`` distinct and ``g`` generated states (TLC's estimate), assumes
that SipHash behaves as a random function on inputs chosen without knowledge of its key; that is
SipHash's design goal (a PRF), not a proof. The key is fixed, so fingerprints are the same in
every run and every process. A value of another type (a list, an object) cannot be fingerprinted:
a ``TypeError`` naming it.

``checkers/_speedups.c`` computes the same function in C, caching the fingerprints of the
strings, tuples, records and sets it has seen (by identity, holding a reference), of None, the
bools and small ints in tables, and hashing again only the fields a successor does not share
with its parent. ``fingerprint`` below is the Python
twin, used without the extension; the tests check that both give the same numbers.

``reads`` declares the fields a property reads, so that its answers are remembered by the
fingerprints (and values) of those fields.
"""

import functools
import inspect
import struct

from kripke.common import speedups

__all__ = ["fingerprint", "same_value", "reads"]

MASK = (1 << 64) - 1
NONE, BOOL, INT, BIGINT, FLOAT, STR, TUPLE, RECORD, FROZENSET = (
    0x6B726B0000000000 + i for i in range(1, 10))
TYPE = 0x6B726B000000000B
K0, K1 = 0x0706050403020100, 0x0F0E0D0C0B0A0908


def _siphash13(words):
    """SipHash-1-3 with key (K0, K1) of the little-endian bytes of ``words`` (64-bit ints).

    The rounds are written out (rotations as shift pairs): this runs for every state when the C
    extension is missing."""
    v0, v1 = K0 ^ 0x736F6D6570736575, K1 ^ 0x646F72616E646F6D
    v2, v3 = K0 ^ 0x6C7967656E657261, K1 ^ 0x7465646279746573
    n = len(words)  # words, then the length block b, then the three finalization rounds
    for i, m in enumerate((*words, ((n * 8) & 0xFF) << 56, 0, 0, 0)):
        v3 ^= m
        v0 = (v0 + v1) & MASK
        v1 = ((v1 << 13) & MASK | v1 >> 51) ^ v0
        v0 = (v0 << 32) & MASK | v0 >> 32
        v2 = (v2 + v3) & MASK
        v3 = ((v3 << 16) & MASK | v3 >> 48) ^ v2
        v0 = (v0 + v3) & MASK
        v3 = ((v3 << 21) & MASK | v3 >> 43) ^ v0
        v2 = (v2 + v1) & MASK
        v1 = ((v1 << 17) & MASK | v1 >> 47) ^ v2
        v2 = (v2 << 32) & MASK | v2 >> 32
        v0 ^= m
        if i == n:
            v2 ^= 0xFF
    return v0 ^ v1 ^ v2 ^ v3


def _bytes(data):
    """A length, then the bytes as little-endian words, the last zero-padded."""
    padded = data + bytes(-len(data) % 8)
    return [len(data), *struct.unpack(f"<{len(padded) // 8}Q", padded)]


#: what the twin has fingerprinted: strings and ints by value (each dict is only asked about
#: values of its own class, so 1 never finds True's entry), tuples and sets by identity, holding
#: the value so that its id is not reused (as the C function's cache does)
_strings, _ints, _known, _types = {}, {}, {}, {}
_LIMIT = 1 << 16


def _fingerprint(v):
    """The fingerprint of ``v`` (the Python twin of ``kripke._speedups.fingerprint``)."""
    cls = v.__class__
    if cls is str or cls is int:
        memo = _strings if cls is str else _ints
        fp = memo.get(v)
        if fp is None:
            fp = _compute(v)
            if len(memo) < _LIMIT:
                memo[v] = fp
        return fp
    if isinstance(v, (tuple, frozenset)):
        hit = _known.get(id(v))
        if hit is not None and hit[0] is v:
            return hit[1]
        fp = _compute(v)
        if len(_known) >= _LIMIT:
            _known.clear()
        _known[id(v)] = (v, fp)
        return fp
    return _compute(v)


def _type_fingerprint(cls):
    fp = _types.get(cls)
    if fp is None:
        fp = _types[cls] = _siphash13([TYPE, *_bytes(cls.__name__.encode())])
    return fp


def _compute(v):
    cls = v.__class__
    if v is None:
        return _siphash13([NONE, 0])
    if cls is bool:
        return _siphash13([BOOL, int(v)])
    if cls is int and -(1 << 63) <= v < (1 << 63):
        return _siphash13([INT, v & MASK])
    if cls is int:
        size = v.bit_length() // 8 + 1
        return _siphash13([BIGINT, *_bytes(v.to_bytes(size, "little", signed=True))])
    if cls is float:
        return _siphash13([FLOAT, struct.unpack("<Q", struct.pack("<d", v or 0.0))[0]])
    if cls is str:
        return _siphash13([STR, *_bytes(v.encode())])
    if isinstance(v, tuple):
        head = [TUPLE] if cls is tuple else [RECORD, _type_fingerprint(cls)]
        return _siphash13([*head, len(v), *map(_fingerprint, v)])
    if cls is frozenset:
        return _siphash13([FROZENSET, len(v), *sorted(map(_fingerprint, v))])
    raise TypeError(f"cannot fingerprint a value of type {cls.__name__} ({v!r:.60}): states are "
                    "built from records, tuples, frozensets, str, int, bool, float and None")


#: the C function when the extension is built
fingerprint = getattr(speedups(), "fingerprint", _fingerprint)


def _part_fingerprint(indices, s):
    """The fingerprint of ``s``'s items at ``indices``: of the item itself for one index, else
    of the tuple of them (the partition key of checkers/partition.py)."""
    if len(indices) == 1:
        return fingerprint(s[indices[0]])
    return fingerprint(tuple(s[i] for i in indices))


#: the C twin: the same value without building the tuple
part_fingerprint = getattr(speedups(), "part_fingerprint", _part_fingerprint)


def same_value(a, b):
    """Are ``a`` and ``b`` the same value, types included (``1`` is not ``True``)? A step from
    ``s`` to ``t`` stutters when ``same_value(s, t)``."""
    return a == b and fingerprint(a) == fingerprint(b)


def reads(*fields):
    """Declare the state fields a property reads: ``@reads("log")`` above ``def log_matching(model,
    s)``, or ``@reads("state", "log")`` above a step property ``(model, s, t)`` (the same fields
    of ``s`` and ``t``). The property is then evaluated once per distinct value of those fields
    (and model object) rather than once per state or step (issue 13, item 2: a search meets
    each state once but the few values of ``log`` again and again; a step property is asked
    about every transition, most of which leave its fields unchanged).

    Values are told apart as ``same_value`` does (equal, and equal fingerprints: ``1`` is not
    ``True``), so the answer is the property's own as long as it reads nothing else of the
    state: a property that reads a field it does not declare would be answered for another
    state (the tests check each declaration against the property itself). The answers live in a
    table of 4096 per property (``kripke._speedups.Reads``, with ``hits`` and ``misses``);
    without the C extension the property is returned as it is. A call on anything but a record
    with these fields (a symbolic engine's state) goes straight to the property."""
    def declare(fn):
        c = speedups()
        if c is None:
            fn.reads = fields
            return fn
        arity = len(inspect.signature(fn).parameters) - 1  # (model, s) or (model, s, t)
        return functools.update_wrapper(c.Reads(fn, fields, arity), fn)
    return declare

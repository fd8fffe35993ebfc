"""How states leave the process that made them: in batches between worker processes
(``--workers``, ``--engine ray``), in the frontier's spill files, and in checkpoints.

A typed model's state records are classes generated from its declarations (``models.types``),
which pickle cannot find by name. ``record_classes`` lists them in declaration order, the same
list in every process that loads the model, and two encodings name a class by its number there:

* ``Wire`` (``dumps`` / ``loads``): a binary format, for data kripke hands to itself: a batch
  sent to another worker, a spill file in a directory the search made for itself. Never used
  on a file a user names (though ``loads`` is safe on any bytes: see below).
* ``to_plain`` / ``from_plain``: JSON values, for checkpoints, which a user hands back with
  ``--resume DIR``: reading one evaluates nothing and builds only the model's own record
  classes, tuples, frozensets and ``FrozenMap`` from numbers, strings, booleans and None. A value
  of any other class cannot be written (``CheckpointError`` naming it).

The binary format replaced pickle, which cost 5-10 us a state to dump and load (a Python hook
for every object and every record), as much as expanding the state: two workers were no faster
than one (issue 13). ``dumps(value, ids)`` and ``loads(data, classes)`` are the C functions of
``checkers/_wire.c``, or, without the extension or with ``KRIPKE_PURE_PYTHON=1``, their Python
twins ``py_dumps`` and ``py_loads``, which write and read the same bytes. A value is a tag byte
and what the tag says follows:

=====  =========  ==============================================================================
tag    value      then
=====  =========  ==============================================================================
0x00   None
0x01   False
0x02   True
0x03   int        a varint (LEB128, at most 10 bytes, below 2**64): ints 128 .. 2**56 - 1
0x04   int        a varint ``u``: the int ``-1 - u``, for ints -2**63 .. -1
0x05   int        8 bytes, little-endian: ints 2**56 .. 2**64 - 1 (fingerprints)
0x06   int        a varint length, the int's two's-complement bytes (little-endian): any other
0x07   float      8 bytes, IEEE 754 little-endian
0x08   str        a varint length, UTF-8 bytes *
0x09   reference  a varint: the number of a value already read (below)
0x0A   tuple      a varint length, the items *
0x0B   frozenset  a varint length, the elements *
0x0C   FrozenMap  a varint number of pairs, each key then its value *
0x0D   record     a varint class number (``classes``), a varint field count, the fields
                  (without a tagged record's tag) *
0x0E   list       a varint length, the items (a batch; lists are never referred back to)
0x80+  int        ``tag - 0x80``, for ints 0 .. 127
=====  =========  ==============================================================================

The values marked * are numbered 0, 1, 2, ... in the order they are finished (a container after
its items; an empty tuple, frozenset or FrozenMap is not numbered), and a value met again in the
same call is written as a reference to its number: a string when an equal one was written, a
container or record when the same object was (the messages a record class interns, the fields a
successor shares with its parent). So a batch names each string once, and writes a message
shared by a thousand states once. ``loads`` builds a tagged record (a message) with its class's
constructor, so that it is the interned message; an untagged one (the model's ``State``) with
``tuple.__new__``, as its constructor does; a FrozenMap from its pairs in the order written (the
canonical order it was written from); and interns strings, so they are the model's own.

``loads`` calls nothing but the record classes it is given, ``tuple.__new__``, ``frozenset``,
``int.from_bytes`` and ``sys.intern``, checks every length against the bytes left before it
builds anything, nests at most ``MAX_DEPTH`` levels (values are a few levels deep; the bound
keeps the twin's frames under Python's recursion limit), and reports every malformed input as a
``ValueError`` saying what is wrong and at which byte: truncated data, an unknown tag, a number
beyond 64 bits, an unknown class number, a record with the wrong number of fields, a reference
out of range, bad UTF-8, trailing bytes, or values that cannot be put together (a list as a set
element). What it does not bound is time: references can describe a value whose tree is
exponentially larger than the bytes, which hashing walks whole; kripke reads only files it wrote.
``dumps`` writes values of the classes in the table only (exactly: not subclasses), and the
model's record classes (``ids``); another is a ``TypeError`` naming its class.

A model without declared types (a quick model) has no record classes and may build its states
of any class pickle can find by name, such as a NamedTuple of its own: ``Wire`` pickles those.
"""

import pickle
import struct
import sys

from kripke.common import extension
from kripke.errors import CheckpointError
from kripke.models.types import (Array, FrozenMap, Map, OneOf, Optional, RecordType,
                                 _Collection, _tuple_new)

__all__ = ["record_classes", "Wire", "dumps", "loads", "py_dumps", "py_loads", "MAX_DEPTH",
           "to_plain", "from_plain"]

MAX_DEPTH = 500
(_NONE, _FALSE, _TRUE, _UINT, _NEG, _U64, _BIGINT, _FLOAT, _STR, _REF, _TUPLE, _FROZENSET, _MAP,
 _RECORD, _LIST) = range(15)
_SMALL = 0x80
_WORDS = struct.Struct("<Q")
_DOUBLE = struct.Struct("<d")


def record_classes(model):
    """The record classes a state of ``model`` is made of: its ``State`` first, then those its
    declared types name, depth first in declaration order."""
    found = {}

    def walk(t):
        if isinstance(t, RecordType):
            if t.cls not in found:
                found[t.cls] = None
                for field in t.fields.values():
                    walk(field)
        elif isinstance(t, OneOf):
            for a in t.alternatives:
                walk(a)
        elif isinstance(t, Optional):
            walk(t.inner)
        elif isinstance(t, Array):
            walk(t.value)
        elif isinstance(t, _Collection):
            walk(t.elem)
        elif isinstance(t, Map):
            walk(t.key)
            walk(t.value)

    if model.variables is not None:
        found[model.State] = None
        for t in model._types.values():
            walk(t)
    return list(found)


def py_dumps(value, ids):
    """``value`` in the wire format (the module docstring); ``ids``: {record class: number}.
    The Python twin of ``kripke._wire.dumps``."""
    out = bytearray()
    memo = {}  # a string -> its number; any other value: id(value) -> its number
    tagged = {}  # class number -> is the class's first item its tag?
    put_byte = out.append

    def varint(tag, u):
        if tag is not None:
            put_byte(tag)
        while u >= 0x80:
            put_byte(u & 0x7F | 0x80)
            u >>= 7
        put_byte(u)

    def put(v, depth):
        if depth > MAX_DEPTH:
            raise ValueError(f"the value is nested deeper than {MAX_DEPTH} levels")
        cls = v.__class__
        if cls is int:
            if 0 <= v < 0x80:
                put_byte(_SMALL + v)
            elif 0 <= v < 1 << 56:
                varint(_UINT, v)
            elif 0 <= v < 1 << 64:
                put_byte(_U64)
                out.extend(_WORDS.pack(v))
            elif -1 << 63 <= v < 0:
                varint(_NEG, -1 - v)
            else:
                data = v.to_bytes(v.bit_length() // 8 + 1, "little", signed=True)
                varint(_BIGINT, len(data))
                out.extend(data)
            return
        if v is None or v is False or v is True:
            put_byte(_NONE if v is None else _FALSE if v is False else _TRUE)
            return
        if cls is float:
            put_byte(_FLOAT)
            out.extend(_DOUBLE.pack(v))
            return
        if cls is list:
            varint(_LIST, len(v))
            for x in v:
                put(x, depth + 1)
            return
        n = None
        if cls is not str and cls is not tuple and cls is not frozenset and cls is not FrozenMap:
            n = ids.get(cls)
            if n is None:
                raise TypeError(f"cannot write a {cls.__name__}: a state holds only None, bool, "
                                "int, float, str, tuple, frozenset, FrozenMap and the model's "
                                "record classes")
        elif cls is not str and not v:
            varint(_TUPLE if cls is tuple else _FROZENSET if cls is frozenset else _MAP, 0)
            return
        key = v if cls is str else id(v)
        if key in memo:
            varint(_REF, memo[key])
            return
        if cls is str:
            data = v.encode()
            varint(_STR, len(data))
            out.extend(data)
        elif cls is tuple or cls is frozenset:
            varint(_TUPLE if cls is tuple else _FROZENSET, len(v))
            for x in v:
                put(x, depth + 1)
        elif cls is FrozenMap:
            varint(_MAP, len(v))
            for pair in tuple.__iter__(v):
                if pair.__class__ is not tuple or len(pair) != 2:
                    raise TypeError("cannot write a FrozenMap whose items are not (key, value) "
                                    "pairs")
                put(pair[0], depth + 1)
                put(pair[1], depth + 1)
        else:
            if not 0 <= n < len(ids):
                raise ValueError(f"ids numbers record classes 0..{len(ids) - 1}, not {n}")
            if n not in tagged:
                tagged[n] = cls._tag is not None
            off = 1 if tagged[n] else 0
            if len(v) < off:
                raise ValueError("cannot write a tagged record without its tag")
            varint(_RECORD, n)
            varint(None, len(v) - off)
            for x in tuple.__iter__(v) if not off else v[1:]:
                put(x, depth + 1)
        memo[key] = len(memo)

    put(value, 1)
    return bytes(out)


def py_loads(data, classes):
    """The value ``py_dumps`` wrote (``classes``: the record classes by number); malformed
    data is a ``ValueError`` (the module docstring). The Python twin of
    ``kripke._wire.loads``."""
    data = bytes(data)
    end = len(data)
    pos = 0
    memo = []
    shapes = {}  # class number -> (number of fields, tagged)

    def truncated(at):
        return ValueError(f"truncated data: the value at byte {at} runs past the end "
                          f"({end} bytes)")

    def varint(at):
        nonlocal pos
        u = shift = 0
        while True:
            if pos >= end:
                raise truncated(at)
            b = data[pos]
            pos += 1
            if shift == 63:  # the tenth byte holds bit 63 alone
                if b > 1:
                    raise ValueError(f"a number beyond 64 bits in the value at byte {at}")
                return u | b << 63
            u |= (b & 0x7F) << shift
            if b < 0x80:
                return u
            shift += 7

    def length(at):
        n = varint(at)
        if n > end - pos:
            raise truncated(at)
        return n

    def unbuildable(at, e):
        return ValueError(f"the value at byte {at} cannot be built: {e}")

    def shape(n):
        if n not in shapes:
            cls = classes[n]
            if not (isinstance(cls, type) and issubclass(cls, tuple)):
                raise TypeError(f"classes[{n}] is not a record class")
            shapes[n] = len(cls._fields), cls._tag is not None
        return shapes[n]

    def get(depth):
        nonlocal pos
        at = pos
        if depth > MAX_DEPTH:
            raise ValueError(f"the value at byte {at} is nested deeper than {MAX_DEPTH} levels")
        if pos >= end:
            raise truncated(at)
        tag = data[pos]
        pos += 1
        if tag >= _SMALL:
            return tag - _SMALL
        if tag == _REF:  # the commonest tag in a batch
            i = varint(at)
            if i >= len(memo):
                raise ValueError(f"back-reference {i} at byte {at} is out of range "
                                 f"({len(memo)} values so far)")
            return memo[i]
        if tag <= _TRUE:
            return (None, False, True)[tag]
        if tag == _UINT:
            return varint(at)
        if tag == _NEG:
            return -1 - varint(at)
        if tag == _U64 or tag == _FLOAT:
            if end - pos < 8:
                raise truncated(at)
            pos += 8
            return (_WORDS if tag == _U64 else _DOUBLE).unpack_from(data, pos - 8)[0]
        if tag == _BIGINT:
            n = length(at)
            pos += n
            return int.from_bytes(data[pos - n:pos], "little", signed=True)
        if tag == _STR:
            n = length(at)
            pos += n
            try:
                v = sys.intern(data[pos - n:pos].decode())
            except UnicodeDecodeError:
                raise ValueError(f"bad UTF-8 in the string at byte {at}") from None
        elif tag == _TUPLE or tag == _FROZENSET or tag == _LIST:
            n = length(at)
            items = []
            for _ in range(n):  # a loop, not a comprehension: one frame a level of nesting
                items.append(get(depth + 1))
            if tag == _LIST:
                return items
            if tag == _TUPLE:
                v = tuple(items)
            else:
                try:
                    v = frozenset(items)
                except TypeError as e:
                    raise unbuildable(at, e) from None
            if not n:
                return v
        elif tag == _MAP:
            n = length(at)
            pairs = []
            for _ in range(n):
                k = get(depth + 1)
                pairs.append((k, get(depth + 1)))
            v = _tuple_new(FrozenMap, pairs)
            if not n:
                return v
        elif tag == _RECORD:
            n = varint(at)
            if n >= len(classes):
                raise ValueError(f"unknown record class number {n} at byte {at} "
                                 f"({len(classes)} classes)")
            count, tagged = shape(n)
            m = varint(at)
            cls = classes[n]
            if m != count:
                raise ValueError(f"a {cls.__name__} record at byte {at} has {m} fields, "
                                 f"not {count}")
            fields = []
            for _ in range(m):
                fields.append(get(depth + 1))
            if tagged:
                try:
                    v = cls(*fields)  # the interned message
                except TypeError as e:
                    raise unbuildable(at, e) from None
            else:
                v = _tuple_new(cls, fields)
        else:
            raise ValueError(f"unknown tag 0x{tag:02x} at byte {at}")
        memo.append(v)
        return v

    value = get(1)
    if pos != end:
        raise ValueError(f"{end - pos} trailing bytes after the value (at byte {pos})")
    return value


_c = extension("_wire")
#: the C functions when the extension is built (see checkers/_wire.c), else the twins
dumps = getattr(_c, "dumps", py_dumps)
loads = getattr(_c, "loads", py_loads)


class Wire:
    """``dumps`` / ``loads`` with the model's record classes named by number (see the module
    docstring); pickle for a model without declared types."""

    def __init__(self, model):
        self.classes = record_classes(model)
        self._ids = {cls: n for n, cls in enumerate(self.classes)}
        self._typed = model.variables is not None

    def dumps(self, value):
        if not self._typed:
            return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        return dumps(value, self._ids)

    def loads(self, data):
        if not self._typed:
            return pickle.loads(data)
        return loads(data, self.classes)


# -- checkpoints: JSON values ------------------------------------------------------------------
def to_plain(value, ids):
    """``value`` as a JSON value: a tuple as a list, a frozenset as ``{"s": [...]}``, a
    ``FrozenMap`` as ``{"m": [[key, value], ...]}``, a record as ``{"r": number, "v": [fields]}``
    (``ids``: record class -> number, from ``record_classes``)."""
    cls = value.__class__
    if value is None or cls is bool or cls is int or cls is str or cls is float:
        return value
    if cls is tuple:
        return [to_plain(v, ids) for v in value]
    if cls is frozenset:
        return {"s": [to_plain(v, ids) for v in value]}
    if cls is FrozenMap:
        return {"m": [[to_plain(k, ids), to_plain(v, ids)] for k, v in value]}
    n = ids.get(cls)
    if n is None:
        raise CheckpointError(f"a state holds a {cls.__name__} ({value!r:.60}), which a "
                              "checkpoint cannot store: declare the model's variables with "
                              "kripke's types")
    off = 0 if cls._tag is None else 1
    return {"r": n, "v": [to_plain(v, ids) for v in value[off:]]}


def from_plain(data, classes):
    """The value ``to_plain`` wrote (``classes``: ``record_classes``); anything else is a
    ``CheckpointError``."""
    if data is None or data.__class__ in (bool, int, str, float):
        return data
    if data.__class__ is list:
        return tuple(from_plain(v, classes) for v in data)
    if data.__class__ is dict and len(data) == 1:
        if "s" in data and data["s"].__class__ is list:
            return frozenset(from_plain(v, classes) for v in data["s"])
        if "m" in data and data["m"].__class__ is list and all(
                p.__class__ is list and len(p) == 2 for p in data["m"]):
            return FrozenMap({from_plain(k, classes): from_plain(v, classes)
                              for k, v in data["m"]})
    if data.__class__ is dict and data.keys() == {"r", "v"}:
        n, fields = data["r"], data["v"]
        if (n.__class__ is int and 0 <= n < len(classes) and fields.__class__ is list
                and len(fields) == len(classes[n]._fields)):
            return classes[n](*(from_plain(v, classes) for v in fields))
    raise CheckpointError(f"not a value kripke writes in a checkpoint: {data!r:.80}")

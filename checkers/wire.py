"""How states leave the process that made them: in batches between worker processes
(``--workers``, ``--engine ray``), in the frontier's spill files, and in checkpoints.

A typed model's state records are classes generated from its declarations (``models.types``),
which pickle cannot find by name. ``record_classes`` lists them in declaration order, the same
list in every process that loads the model, and two encodings name a class by its number there:

* ``Wire`` (``dumps`` / ``loads``): pickle, for data kripke hands to itself: a batch sent to
  another worker, a spill file in a directory the search made for itself. Fast, and compact in
  batches (a message shared by many states is written once). Never used on a file a user names.
* ``to_plain`` / ``from_plain``: JSON values, for checkpoints, which a user hands back with
  ``--resume DIR``: reading one evaluates nothing and builds only the model's own record
  classes, tuples, frozensets and ``FrozenMap`` from numbers, strings, booleans and None. A value
  of any other class cannot be written (``CheckpointError`` naming it).
"""

import io
import pickle

from kripke.errors import CheckpointError
from kripke.models.types import (Array, FrozenMap, Map, OneOf, Optional, RecordType,
                                 _Collection)

__all__ = ["record_classes", "Wire", "to_plain", "from_plain"]


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


class Wire:
    """pickle with the model's record classes named by number (see the module docstring)."""

    def __init__(self, model):
        self.classes = record_classes(model)
        ids = {cls: n for n, cls in enumerate(self.classes)}
        classes = self.classes

        class Pickler(pickle.Pickler):
            def persistent_id(self, obj):
                return ids.get(obj) if obj.__class__ is type else None

        class Unpickler(pickle.Unpickler):
            def persistent_load(self, n):
                return classes[n]

        self._pickler, self._unpickler = Pickler, Unpickler

    def dumps(self, value):
        out = io.BytesIO()
        self._pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
        return out.getvalue()

    def loads(self, data):
        return self._unpickler(io.BytesIO(data)).load()


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

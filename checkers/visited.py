"""The visited set of the explicit search: fingerprint -> parent fingerprint in at most about 24
bytes a state (issue 13, item 3), TLC's fingerprint set with the parent links kept beside it.

A dict of int -> int costs 100-170 bytes a state, so two-phase with 9 RMs (10,340,352 states)
would not fit in the 600 MB that issue 13 allows. ``FingerprintTable`` is the C type of
``checkers/_visited.c`` (its header gives the layout and the arithmetic of the bound), or,
without the extension or with ``KRIPKE_PURE_PYTHON=1``, ``PyFingerprintTable``, its Python twin,
which behaves the same at a dict's cost. Both are what the search's dict was:

* ``t[fp] = parent`` appends ``fp`` with ``parent``'s fingerprint, or None for an initial state;
  the parent must be in the table (else a KeyError naming it) and ``fp`` must not be (a
  ValueError: a state is stored once, with the parent it was first reached from);
* ``fp in t``, ``t[fp]`` (the parent, or a KeyError), ``t.get(fp, default)``, ``len(t)``, and
  iteration over the fingerprints in insertion order;
* ``t.note(fp)`` notes ``fp`` as stored elsewhere, unless it is in the table: a shard of the
  partitioned search (``checkers.parallel``) notes the successors it sent to the shard that
  owns them and the parents, owned by other shards, of the states it received. ``fp in t`` is
  then True (so the search skips ``fp`` with one lookup), but a noted fingerprint is not a
  stored state: ``t[fp]``, ``get``, ``len`` and iteration leave it out; ``t.noted`` counts
  them;
* ``nbytes``: the bytes allocated for the table's arrays (for the twin, the dict's own);
* ``t.to_bytes()`` -> ``(fps, parents)`` in insertion order, little-endian uint64 fingerprints
  and uint32 parent entry numbers (``NO_PARENT`` for none, ``NOTED`` for a noted entry), for a
  checkpoint;
  ``FingerprintTable.from_bytes(fps, parents)`` rebuilds the table and, since a checkpoint is a
  file a user hands back, checks every entry: a ValueError names the first bad one.

A fingerprint is an int in [0, 2**64) (or anything with ``__index__``): another value is a
TypeError, an int outside the range an OverflowError, whatever the operation. A table holds at
most ``MAX_ENTRIES`` = 2**32 - 2 states (parents are 32-bit entry numbers); one more is an
OverflowError.
"""

import operator
import struct
import sys

from kripke.common import extension

__all__ = ["MAX_ENTRIES", "NO_PARENT", "NOTED", "FingerprintTable", "PyFingerprintTable"]

MAX_ENTRIES = 2**32 - 2
#: the parent entry number of an initial state in ``to_bytes``
NO_PARENT = 2**32 - 1
#: the parent entry number of a noted fingerprint in ``to_bytes``
NOTED = 2**32 - 2
#: a noted fingerprint's parent in the Python twin's dict
_ELSEWHERE = object()


def _fingerprint(x, what="fingerprint"):
    """``x`` as a fingerprint; ``what`` names it in the error (the C type's messages)."""
    try:
        i = operator.index(x)
    except TypeError:
        raise TypeError(f"a {what} is an int in [0, 2**64), not {type(x).__name__}") from None
    if not 0 <= i < 2**64:
        raise OverflowError(f"{what} {i} is outside [0, 2**64)")
    return i


def _corrupt(message):
    return ValueError(f"corrupt FingerprintTable: {message}")


class PyFingerprintTable:
    """The Python twin of the C ``FingerprintTable``: a dict fingerprint -> parent fingerprint
    behind the same checks, used without the extension and by the tests that compare the two."""

    __slots__ = ("_parent", "noted")

    def __init__(self):
        self._parent = {}
        self.noted = 0

    def __setitem__(self, fp, parent):
        fp = _fingerprint(fp)
        if parent is not None:
            parent = _fingerprint(parent, "parent")
        if len(self._parent) >= MAX_ENTRIES:
            raise OverflowError("FingerprintTable is full: it holds at most "
                                f"{MAX_ENTRIES} fingerprints")
        if parent is not None and parent not in self._parent:
            raise KeyError(f"parent {parent} is not in the table")
        if fp in self._parent:
            raise ValueError(f"fingerprint {fp} is already in the table")
        self._parent[fp] = parent

    def __delitem__(self, fp):
        raise TypeError("FingerprintTable does not support item deletion")

    def __contains__(self, fp):
        return _fingerprint(fp) in self._parent

    def __getitem__(self, fp):
        parent = self._parent.get(_fingerprint(fp), _ELSEWHERE)
        if parent is _ELSEWHERE:
            raise KeyError(fp)
        return parent

    def get(self, fp, default=None):
        parent = self._parent.get(_fingerprint(fp), _ELSEWHERE)
        return default if parent is _ELSEWHERE else parent

    def note(self, fp):
        fp = _fingerprint(fp)
        if fp in self._parent:
            return
        if len(self._parent) >= MAX_ENTRIES:
            raise OverflowError("FingerprintTable is full: it holds at most "
                                f"{MAX_ENTRIES} fingerprints")
        self._parent[fp] = _ELSEWHERE
        self.noted += 1

    def __len__(self):
        return len(self._parent) - self.noted

    def __iter__(self):
        return (fp for fp, p in self._parent.items() if p is not _ELSEWHERE)

    @property
    def nbytes(self):
        return sys.getsizeof(self._parent)

    def to_bytes(self):
        entry = {fp: e for e, fp in enumerate(self._parent)}
        parents = [NO_PARENT if p is None else NOTED if p is _ELSEWHERE else entry[p]
                   for p in self._parent.values()]
        n = len(parents)
        return struct.pack(f"<{n}Q", *self._parent), struct.pack(f"<{n}I", *parents)

    @classmethod
    def from_bytes(cls, fps, parents):
        fps, parents = memoryview(fps).tobytes(), memoryview(parents).tobytes()
        if len(fps) % 8 or len(parents) % 4:
            raise _corrupt(f"{len(fps)} bytes of fingerprints and {len(parents)} of parents "
                           "are not whole 8- and 4-byte entries")
        n = len(fps) // 8
        if len(parents) // 4 != n:
            raise _corrupt(f"{n} fingerprints but {len(parents) // 4} parents")
        if n > MAX_ENTRIES:
            raise _corrupt(f"{n} entries, more than {MAX_ENTRIES}")
        table, entry = cls(), {}
        fps, parents = struct.unpack(f"<{n}Q", fps), struct.unpack(f"<{n}I", parents)
        for e, (fp, p) in enumerate(zip(fps, parents)):
            if p not in (NO_PARENT, NOTED) and p >= e:
                raise _corrupt(f"entry {e} has parent {p}, not an earlier entry")
            if fp in entry:
                raise _corrupt(f"entry {e} repeats the fingerprint {fp} of entry {entry[fp]}")
            entry[fp] = e
            table._parent[fp] = (None if p == NO_PARENT else _ELSEWHERE if p == NOTED
                                 else fps[p])
            table.noted += p == NOTED
        return table


FingerprintTable = getattr(extension("_visited"), "FingerprintTable", PyFingerprintTable)

"""The search's queue of states to expand, which moves to disk when memory runs short, and the
memory budget that decides when (issue 13, item 3).

TLC keeps its BFS queue on disk (``tlc2.tool.queue.DiskStateQueue``: a small buffer in memory,
the rest in files); SPIN keeps its DFS stack in memory. kripke keeps the whole frontier in memory
until the process's resident memory passes half of its budget, and from then on writes it out in
chunks of ``CHUNK`` states, so that only about two chunks stay in memory: the visited set, at about
20 bytes per state, is then most of what the search holds. The order of the states is unchanged,
so a search that spills finds the same states, counts and shortest counterexamples as one that
does not.

``Frontier`` serves both orders:

* BFS: states are pushed on ``tail`` and popped from ``head``; when ``head`` runs out it takes the
  oldest spilled chunk, or else all of ``tail``. Spilling writes ``tail`` out whole.
* DFS: ``head`` is ``tail``, a stack; spilling writes its bottom chunks out, and when it runs out it
  takes back the chunk spilled last.

The search loop calls ``pop`` and ``push`` (the deques' own bound methods: nothing on the hot path
is a Python call), ``refill`` when ``head`` is empty, and ``relieve`` now and then.
"""

import os
import resource
import shutil
import tempfile
from collections import deque

from kripke.checkers.wire import Wire

__all__ = ["Frontier", "MemoryBudget", "parse_size", "CHUNK"]

#: states per spill file
CHUNK = 1 << 16


def parse_size(text):
    """A size such as ``600MB``, ``2GB``, ``1.5G`` or ``800000000`` (bytes), in bytes; None
    when it is not one."""
    units = {"": 1, "K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30, "T": 2 ** 40}
    t = str(text).strip().upper().removesuffix("B").removesuffix("I")
    unit = t[-1:] if t[-1:] in units else ""
    try:
        n = float(t[:len(t) - len(unit)])
    except ValueError:
        return None
    return int(n * units[unit]) if n > 0 else None


def _resident():
    """The process's resident memory in bytes (Linux: /proc/self/statm; else its peak)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _available():
    """Memory the machine can give this process without swapping, in bytes (Linux:
    MemAvailable), or None when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


class MemoryBudget:
    """The bytes a search may hold: ``limit`` (by default 90% of what the machine had available
    when the search started, plus what the process held then). Past half of it the frontier
    spills to disk; past all of it the search stops (verdict incomplete)."""

    def __init__(self, limit=None):
        if limit is None:
            free = _available()
            limit = None if free is None else int(0.9 * free) + _resident()
        self.limit = limit

    def label(self):
        return f"memory_limit={_format_size(self.limit)}"

    def state(self):
        """"ok", "spill" (past half the budget) or "stop" (past the budget)."""
        if self.limit is None:
            return "ok"
        used = _resident()
        return "stop" if used > self.limit else "spill" if 2 * used > self.limit else "ok"


def _format_size(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}".replace(".0", "")
        n /= 1024


class Frontier:
    """A FIFO (``lifo=False``) or LIFO queue of ``(state, fingerprint, depth)`` that can spill
    to disk (see the module docstring). ``model`` names the record classes the spill files
    hold."""

    def __init__(self, model, lifo=False):
        self.lifo = lifo
        self.head = deque()
        self.tail = self.head if lifo else deque()
        self.pop = self.head.pop if lifo else self.head.popleft
        self.push = self.tail.append
        self._model, self._wire = model, None
        self.chunks = deque()  # (path, number of states), oldest first
        self.on_disk = 0
        self.spilling = False
        self._dir = None

    def __len__(self):
        return len(self.head) + (0 if self.lifo else len(self.tail)) + self.on_disk

    def __bool__(self):
        return len(self) > 0

    def refill(self):
        """``head`` is empty: move the next states into it. False when none are left."""
        if self.lifo:
            if not self.chunks:
                return False
            self.head.extend(self._load(self.chunks.pop()))
            return True
        if self.chunks:
            self.head.extend(self._load(self.chunks.popleft()))
        elif self.tail:
            self.head.extend(self.tail)
            self.tail.clear()
        else:
            return False
        return True

    def relieve(self):
        """Write states out to disk when spilling: all of ``tail`` (BFS), or all but the top
        chunk of the stack (DFS), in chunks of ``CHUNK``."""
        if not self.spilling:
            return
        if self.lifo:
            while len(self.head) >= 2 * CHUNK:
                self._spill([self.head.popleft() for _ in range(CHUNK)])
        elif len(self.tail) >= CHUNK:
            self._spill(list(self.tail))
            self.tail.clear()

    def items(self):
        """Every state in the queue, in the order it would be popped, without removing any."""
        yield from (reversed(self.head) if self.lifo else self.head)
        if self.lifo:
            for path, _ in reversed(self.chunks):
                yield from reversed(self._read(path))
            return
        for path, _ in self.chunks:
            yield from self._read(path)
        yield from self.tail

    def close(self):
        """Remove the spill files."""
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        self.chunks.clear()
        self.on_disk = 0

    def _spill(self, items):
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="kripke-frontier-")
            self._wire = Wire(self._model)
        fd, path = tempfile.mkstemp(dir=self._dir, suffix=".states")
        with os.fdopen(fd, "wb") as f:
            f.write(self._wire.dumps(items))
        self.chunks.append((path, len(items)))
        self.on_disk += len(items)

    def _read(self, path):
        with open(path, "rb") as f:
            return self._wire.loads(f.read())

    def _load(self, chunk):
        path, n = chunk
        items = self._read(path)
        os.unlink(path)
        self.on_disk -= n
        return items

"""Consistency levels of a replicated key-value store (and of other objects: queues, stacks,
sets, a spec of one's own), checked on histories of client operations.

The article's table ("CAP theorem explained": strong, causal, read-your-writes, session) made
precise, each level from its paper, with Viotti and Vukolić, "Consistency in Non-Transactional
Distributed Storage Systems" (ACM Computing Surveys 49(1), 2016) as the common reference:

* ``linearizability`` (the article's *strong*): one order of the operations, respecting real
  time, in which every read returns the latest write to its key; Herlihy and Wing,
  "Linearizability: a correctness condition for concurrent objects" (TOPLAS 12(3), 1990);
* ``sequential_consistency``: the same, respecting each session's order instead of real time;
  Lamport, "How to make a multiprocessor computer that correctly executes multiprocess
  programs" (IEEE Trans. Computers C-28(9), 1979);
* ``causal_consistency``: for each session, one order of all the writes and of its reads,
  extending causal order (session order and reads-from), in which each of its reads returns the
  latest write to its key; Ahamad, Neiger, Burns, Kohli and Hutto, "Causal memory: definitions,
  implementation, and programming" (Distributed Computing 9(1), 1995);
* ``session_consistency`` and its four guarantees ``read_your_writes``, ``monotonic_reads``,
  ``monotonic_writes`` and ``writes_follow_reads``, defined below: Terry, Demers, Petersen,
  Spreitzer, Theimer and Welch, "Session guarantees for weakly consistent replicated data"
  (PDIS 1994).

A history is a sequence of operations with the fields ``session`` (the client; a session's
operations are sequential), ``kind`` (``"write"`` or ``"read"``), ``key`` (an int), ``value`` (the
value written, or the value a read returned: None is the initial value), ``invoked`` and
``completed`` (positions in one real-time order of events, all distinct; ``completed`` is None
while the operation is pending). Any objects with these attributes will do: a model records
``record("Op", session=..., kind=..., ...)`` in its state, ``load_history`` gives ``Operation``s
from a JSON file::

    {"format": "kripke-history", "version": 1, "operations": [
        {"session": 0, "kind": "write", "key": 0, "value": 1, "invoked": 0, "completed": 1}, ...]}

Every key is an independent register whose initial value is None. Written values are unique per
key (the "differentiated histories" of Bouajjani, Enea, Guerraoui and Hamza, "On verifying causal
consistency", POPL 2017), so a read's value names the write it read from; a history that writes
a value twice to one key, or writes None, is rejected. A read of a value that no write wrote
violates every level. A pending read returned nothing and is left out; a pending write may or
may not have taken effect.

The session guarantees are stated as Viotti and Vukolić state them, with a visibility relation
(which writes a read sees) and an arbitration order (which of them wins), on one key at a time.
Each completed read ``r`` sees a set ``vis(r)`` of the writes to its key (pending ones too, or
not) and returns the value of the latest of them in the arbitration of its session, an order
``ar_s`` of all the writes to the key; it returns None iff it sees none. A history satisfies a
guarantee iff, for every key, some ``vis`` and some ``ar_s`` for each session make every read
return what it returned and meet it:

* ``read_your_writes``: a read sees every write its session made to the key before it
  (session order from writes to reads is in ``vis``);
* ``monotonic_reads``: a read sees every write that an earlier read of its session saw
  (``vis`` followed by session order between reads is in ``vis``);
* ``monotonic_writes``: every ``ar_s`` puts a session's earlier write before its later one;
* ``writes_follow_reads``: every ``ar_s`` puts each write a read saw before every write that the
  read's session makes after the read (a read of its session's own later write breaks it);
* ``session_consistency``: all four at once.

Nothing else is asked. Read-your-writes alone does not order a session's own writes: session 0
writes 1, writes 2, reads 1 satisfies it (the read sees both, and session 0 arbitrates 1 last).
Monotonic reads alone does not order another session's writes: session 0 writes 1 then 2 and
session 1 reads 2 then 1 satisfies it (issue 9). Monotonic writes orders both pairs, so
``session_consistency`` forbids both. Alone, monotonic writes fails only with a read out of thin
air, since a read that sees just the write it returns observes no arbitration.

Terry et al.'s monotonic writes and writes-follow-reads also ask that a server holding the later
write hold the earlier one; on one key that changes no verdict (what it adds to a read's view is
arbitrated before what the read returns), so it is left out. All five levels are per key: a
session that read y = 1, written after x = 1, may then read the initial x. Terry et al. forbid
that across keys; here causal consistency does.

Viotti and Vukolić have one arbitration for all sessions; here each session has its own, as
causal memory lets sessions order concurrent writes differently. With one, monotonic reads would
forbid two sessions to read two concurrent writes in opposite orders, which causal consistency
allows, and it would no longer imply monotonic reads. One arbitration per session still serves
all of that session's reads: reading 1, then 2, then 1 again breaks monotonic reads, and reading
its own two writes in both orders breaks read-your-writes.

Each level implies the next (the tests check it on random histories)::

    linearizability => sequential_consistency => causal_consistency => session_consistency
    session_consistency => read_your_writes, monotonic_reads, monotonic_writes,
                           writes_follow_reads

and none of the converses holds (the hand-written histories in ``tests/histories`` separate
them); read_your_writes, monotonic_reads and writes_follow_reads are pairwise incomparable, and
every level implies monotonic_writes.

Objects other than registers
----------------------------

Linearizability and sequential consistency are defined for any object with a sequential
specification (Herlihy and Wing 1990); ``kripke.specs.sequential`` states one as Porcupine's
model does, a pure ``step(state, op) -> (ok, next_state)``, and has ``register``, ``kv``,
``queue``, ``stack`` and ``set`` built in (a spec of one's own: ``path/to/file.py:Name``). A
history of such an object has, instead of ``value``, an ``input`` (what the operation was
given) and an ``output`` (what it returned), both None when there is nothing; ``kind`` is the
operation's name; ``key``, optional, names the object (``Call``)::

    {"format": "kripke-history", "version": 1, "spec": "queue", "operations": [
        {"session": 0, "kind": "enqueue", "input": 1, "invoked": 0, "completed": 1},
        {"session": 1, "kind": "dequeue", "output": 1, "invoked": 2, "completed": 3}, ...]}

Linearizability is checked on each object alone, sequential consistency on all of them
together, by the search that checks registers (Wing and Gong's, memoised as Lowe does by the
set of operations placed and the objects' states), stepping the spec: the register format is
the ``register`` spec's, checked by the register levels themselves. Values need not be unique.
The search is exponential in the worst case (deciding linearizability is NP-complete: Gibbons
and Korach, SIAM J. Computing 26(4), 1997); for a FIFO queue, two concurrent enqueues put in
the wrong order are refuted only when their values are dequeued, so long histories with many
concurrent enqueues may end ``unknown`` when the budget runs out. A pending
operation may have taken effect or not, with any output. A violation is shrunk to a minimal
subset as for registers: removing any one of its operations makes it satisfy the level, or
makes it illegal in every order, real time and sessions aside (an output that nothing
explains, as a dequeue of a value never enqueued); the explanation says which kind of violation
it is. Causal consistency and the session guarantees are defined on read/write registers: they
apply to ``register`` histories and to ``kv`` histories without appends (a put is a write, a
get a read), and asking them of another spec raises ``NotApplicable``.

Use it two ways: ``check_history(ops, level, spec=...)`` on a recorded history (as Porcupine and
Knossos check Jepsen histories), or ``consistency_invariant(level, spec=...)``, an invariant over
the history a model keeps in a state field.
"""

import math
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from kripke.errors import DefinitionError, KripkeError, TraceFormatError, UnknownNameError
from kripke.common import OK, VIOLATED, read_json
from kripke.specs.properties import Property
from kripke.specs.sequential import PENDING, SPECS, KeyValueSpec, RegisterSpec, load_spec

__all__ = ["Operation", "Call", "History", "ConsistencyResult", "HistoryError", "NotApplicable",
           "BudgetExhausted", "LEVELS", "ANY_SPEC", "UNKNOWN", "check_history", "load_history",
           "consistency_invariant", "describe", "FORMAT", "VERSION"]

FORMAT, VERSION = "kripke-history", 1
#: the third verdict: the budget ran out before the check could tell (Porcupine's Unknown)
UNKNOWN = "unknown"
FIELDS = ("session", "kind", "key", "value", "invoked", "completed")
CALL_FIELDS = ("session", "kind", "key", "input", "output", "invoked", "completed")
#: the levels defined for every sequential spec (the others are defined on registers)
ANY_SPEC = ("linearizability", "sequential_consistency")


class HistoryError(KripkeError, ValueError):
    """A history that is not well formed (overlapping operations of one session, a time used
    twice, a value written twice to one key, ...); the message names the operation."""


class NotApplicable(KripkeError, ValueError):
    """A level asked of a history it is not defined on: causal consistency and the session
    guarantees are defined on read/write registers, not on a queue, a stack, a set, a kv store
    that appends or a spec of one's own. ``reason`` says why without naming the level."""

    def __init__(self, level, reason):
        self.level, self.reason = level, reason
        super().__init__(f"{level} {reason}")


class BudgetExhausted(KripkeError):
    """A consistency invariant could not decide within its time budget (never a pass).

    A ``KripkeError``, so the search stops and ``kripke check`` reports it in one line (exit
    code 2): the remedy is a larger ``budget_s`` or a shorter history.
    """


class _OutOfTime(Exception):
    """The budget of one ``check_history`` call ran out (becomes the verdict ``unknown``)."""


@dataclass(frozen=True, kw_only=True)
class Operation:
    """One client operation of a history loaded from JSON."""

    session: int
    kind: str  # "write" | "read"
    key: int = 0
    value: object  # None: the initial value
    invoked: int
    completed: int  # None: pending, never returned

    def __str__(self):
        return describe(self)


@dataclass(frozen=True, kw_only=True)
class Call:
    """One operation of a history checked against a sequential spec (Porcupine's
    ``Operation``): ``input`` is what it was given and ``output`` what it returned (None when
    there is nothing, and while pending); ``key`` names the object it acts on (None: the one
    object)."""

    session: int
    kind: str  # the operation's name: "enqueue", "pop", ...
    key: object = None
    input: object = None
    output: object = None
    invoked: int
    completed: int  # None: pending, never returned

    def __str__(self):
        return describe(self)


class History(tuple):
    """The operations of a history file, in the file's order, and in ``spec`` the sequential
    spec they are checked against (``check_history`` takes it unless given another)."""

    def __new__(cls, operations, spec):
        history = super().__new__(cls, operations)
        history.spec = spec
        return history


def describe(op):
    """An operation on one line: ``s0 write k0=1 [0,1]`` for a register's, ``s1 dequeue() -> 2
    [2,5]`` or ``s0 k3.put('a') [0,1]`` for another spec's (``[4,-]`` while pending)."""
    end = "-" if op.completed in (None, math.inf) else op.completed
    if not hasattr(op, "input") and hasattr(op, "value"):
        return f"s{op.session} {op.kind} k{op.key}={op.value!r} [{op.invoked},{end}]"
    key, given, output = (getattr(op, f, None) for f in ("key", "input", "output"))
    where = "" if key is None else f"k{key}." if type(key) is int else f"{key}."
    args = "" if given is None else ", ".join(map(repr, given)) if type(given) is tuple \
        else repr(given)
    # an output is shown unless the operation is pending or returned nothing for an input
    shown = "" if end == "-" or output is None and given is not None else f" -> {output!r}"
    return f"s{op.session} {where}{op.kind}({args}){shown} [{op.invoked},{end}]"


@dataclass
class ConsistencyResult:
    """What ``check_history`` says about a history and one level.

    ``verdict`` is ``ok``, ``violated`` or ``unknown`` (the budget ran out: never a pass). When
    violated, ``violation`` is a minimal violating subset of the operations (the caller's
    objects, in invocation order): it violates the level, and removing any one of its operations
    makes it satisfy the level, except a write that one of its reads returns (without the write
    that read would return a value out of thin air: a violation of every level, which explains
    nothing). ``minimal`` is False when the budget ran out while shrinking it (it still
    violates). ``explanation`` says why in one line.
    """

    level: str
    verdict: str
    violation: tuple = ()
    explanation: str = ""
    minimal: bool = True
    elapsed_s: float = 0.0

    def __str__(self):
        head = f"{self.level}: {self.verdict}" + (f": {self.explanation}" if self.explanation
                                                  else "")
        return "\n".join([head] + [f"  {describe(op)}" for op in self.violation])


class _Op(NamedTuple):
    """An operation as the checks see it; ``index`` is its position in the caller's history."""

    index: int
    session: int
    write: bool
    key: int
    value: object
    invoked: int
    completed: float  # math.inf while pending

    @property
    def kind(self):
        return "write" if self.write else "read"


class _Call(NamedTuple):
    """An operation as a spec's ``step`` sees it; ``output`` is ``PENDING`` while pending."""

    index: int
    session: int
    kind: str
    key: object
    input: object
    output: object
    invoked: int
    completed: float  # math.inf while pending


class _Why(str):
    """Why a history violates a level; ``inherent``: its operations are illegal in every order
    (an output that nothing explains), not only in the orders the level allows."""

    def __new__(cls, text, inherent=False):
        why = super().__new__(cls, text)
        why.inherent = inherent
        return why


class _Budget:
    """A deadline, looked at every 64 steps of a search."""

    def __init__(self, seconds):
        self.start = time.monotonic()
        self.deadline, self.steps = self.start + seconds, 0

    def step(self):
        self.steps += 1
        if not self.steps & 63 and time.monotonic() > self.deadline:
            raise _OutOfTime


# -- Reading and validating histories ------------------------------------------------------------

def load_history(path, spec=None):
    """Read a ``kripke-history`` JSON file as a ``History``: a tuple of ``Operation``s (a
    register's operations in the register format) or ``Call``s, and its ``spec``.

    The spec is ``spec`` (a name, ``path/to/file.py:Name`` or a ``SequentialSpec``), else the
    file's ``"spec"`` (a built-in name: a history file names no Python file to import), else
    ``register``; a file whose ``"spec"`` differs from ``spec`` is rejected. The file is parsed
    as JSON and its shape checked; nothing in it is evaluated. Any defect is a
    ``TraceFormatError`` whose one-line message names it.
    """
    return _from_json(read_json(path, "history"), path, spec)


def _from_json(data, path, spec):
    def bad(why):
        return TraceFormatError(f"{path}: {why}")
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise bad(f"not a kripke history (no \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise bad(f"history version {data.get('version')!r}; this kripke reads version {VERSION}")
    if not isinstance(data.get("operations"), list):
        raise bad("field 'operations' is missing or not a list")
    declared = data.get("spec")
    if declared is not None and not isinstance(declared, str):
        raise bad(f"field 'spec' is {declared!r}, not a name")
    if spec is not None:
        spec = load_spec(spec)
        if declared is not None and declared != spec.name:
            raise bad(f"the history is of spec {declared!r}, not {spec.name!r}")
    elif declared is None or declared in SPECS:
        spec = SPECS[declared or "register"]
    else:
        raise bad(f"spec {declared!r} is not built in ({', '.join(sorted(SPECS))}); name a spec "
                  f"of your own with --spec path/to/file.py:Name")
    ops = []
    for n, item in enumerate(data["operations"]):
        if not isinstance(item, dict):
            raise bad(f"operation {n} is not an object")
        if type(spec) is RegisterSpec and not {"input", "output"} & set(item):
            ops.append(_register_operation(n, item, bad))
        else:
            ops.append(_call(n, item, spec, bad))
    try:
        if type(spec) is RegisterSpec:
            _normalised([_as_register(n, op) for n, op in enumerate(ops)])
        else:
            _normalised_calls(ops, spec)
    except HistoryError as e:
        raise bad(str(e)) from None
    return History(ops, spec)


def _register_operation(n, item, bad):
    """An operation of the register format (``value``) as an ``Operation``."""
    # "key" may be left out, so a misspelt field must not pass silently as key 0
    unknown = sorted(set(item) - set(FIELDS))
    if unknown:
        raise bad(f"operation {n} has an unknown field {unknown[0]!r}")
    missing = [f for f in FIELDS if f != "key" and f not in item]
    if missing:
        raise bad(f"operation {n} lacks the field {missing[0]!r}")
    if item["value"] is not None and type(item["value"]) not in (int, str):
        raise bad(f"operation {n}: value {item['value']!r} is not an integer, a string or null")
    return Operation(**item)


def _call(n, item, spec, bad):
    """An operation with ``input`` and ``output`` as a ``Call`` (JSON arrays become tuples)."""
    if "value" in item:
        raise bad(f"operation {n} has a 'value', as in the register format; a {spec.name} "
                  f"operation has an 'input' and an 'output'")
    unknown = sorted(set(item) - set(CALL_FIELDS))
    if unknown:
        raise bad(f"operation {n} has an unknown field {unknown[0]!r}")
    missing = [f for f in ("session", "kind", "invoked", "completed") if f not in item]
    if missing:
        raise bad(f"operation {n} lacks the field {missing[0]!r}")
    if item.get("key") is not None and type(item["key"]) not in (int, str):
        raise bad(f"operation {n}: key {item['key']!r} is not an integer, a string or null")

    def value(v, field):
        if isinstance(v, list):
            return tuple(value(x, field) for x in v)
        if isinstance(v, dict):
            raise bad(f"operation {n}: {field} {v!r} is an object; inputs and outputs are null, "
                      f"booleans, numbers, strings or arrays of these")
        return v
    return Call(**item | {f: value(item[f], f) for f in ("input", "output") if f in item})


def _as_register(n, op):
    """A register's operation given as a ``Call`` (a write's input, a read's output) in the
    register format; an operation in that format is returned as it is."""
    if hasattr(op, "value") or not (hasattr(op, "input") or hasattr(op, "output")):
        return op
    try:
        session, kind, invoked, completed = (getattr(op, f) for f in ("session", "kind",
                                                                         "invoked", "completed"))
    except AttributeError as e:
        raise HistoryError(f"operation {n} has no field {e.name!r}") from None
    key, given, output = (getattr(op, f, None) for f in ("key", "input", "output"))
    if kind == "write" and output is not None:
        raise HistoryError(f"operation {n}: write returns nothing, yet its output is {output!r}")
    if kind == "read" and given is not None:
        raise HistoryError(f"operation {n}: read takes no input, yet has {given!r}")
    return Operation(session=session, kind=kind, key=0 if key is None else key,
                     value=given if kind == "write" else output, invoked=invoked,
                     completed=completed)


def _times(n, session, invoked, completed):
    """The checks of an operation's session and times shared by every format."""
    for name, v in (("session", session), ("invoked", invoked)):
        if type(v) is not int:
            raise HistoryError(f"operation {n}: {name} {v!r} is not an integer")
    if completed is not None and (type(completed) is not int or completed <= invoked):
        raise HistoryError(f"operation {n}: completed {completed!r} is neither null nor an "
                           f"integer after invoked ({invoked})")


def _normalised(operations, key_types=(int,)):
    """The history as ``_Op``s in invocation order; ``HistoryError`` if it is not well formed."""
    ops = []
    for n, op in enumerate(operations):
        try:
            session, kind, key, value, invoked, completed = (getattr(op, f) for f in FIELDS)
        except AttributeError as e:
            raise HistoryError(f"operation {n} has no field {e.name!r}") from None
        if kind not in ("write", "read"):
            raise HistoryError(f"operation {n}: kind {kind!r} is neither 'write' nor 'read'")
        if type(session) is int and type(key) not in key_types:
            raise HistoryError(f"operation {n}: key {key!r} is not an integer")
        _times(n, session, invoked, completed)
        if kind == "write" and value is None:
            raise HistoryError(f"operation {n} writes None, which stands for the initial value")
        try:
            hash(value)
        except TypeError:
            raise HistoryError(f"operation {n}: value {value!r} cannot be hashed") from None
        ops.append(_Op(n, session, kind == "write", key, value, invoked,
                       math.inf if completed is None else completed))
    ops = _in_order(ops)
    writer = {}
    for o in ops:
        if o.write and writer.setdefault((o.key, o.value), o.index) != o.index:
            raise HistoryError(f"operations {writer[o.key, o.value]} and {o.index} both write "
                               f"{o.value!r} to key {o.key}: written values must be unique per key")
    return ops


def _normalised_calls(operations, spec):
    """The history as ``_Call``s in invocation order; ``HistoryError`` if it is not well formed
    or has an operation that ``spec`` does not know."""
    calls = []
    for n, op in enumerate(operations):
        try:
            session, kind, invoked, completed = (getattr(op, f) for f in ("session", "kind",
                                                                             "invoked", "completed"))
        except AttributeError as e:
            raise HistoryError(f"operation {n} has no field {e.name!r}") from None
        if hasattr(op, "value") and not hasattr(op, "input"):
            raise HistoryError(f"operation {n} has a 'value', as in the register format; a "
                               f"{spec.name} operation has an 'input' and an 'output'")
        key, given, output = (getattr(op, f, None) for f in ("key", "input", "output"))
        if type(kind) is not str or spec.kinds and kind not in spec.kinds:
            raise HistoryError(f"operation {n}: kind {kind!r} is not an operation of {spec.name} "
                               f"({', '.join(spec.kinds) or 'any name'})")
        _times(n, session, invoked, completed)
        if completed is None and output is not None:
            raise HistoryError(f"operation {n} is pending (completed is null), yet has an output")
        for name, v in (("key", key), ("input", given), ("output", output)):
            try:
                hash(v)
            except TypeError:
                raise HistoryError(f"operation {n}: {name} {v!r} cannot be hashed") from None
        call = _Call(n, session, kind, key, given, PENDING if completed is None else output,
                     invoked, math.inf if completed is None else completed)
        why = _ask(spec, "validate", call)
        if why:
            raise HistoryError(f"operation {n}: {why}")
        calls.append(call)
    return _in_order(calls)


def _in_order(ops):
    """``ops`` (with ``index``, ``session``, ``invoked``, ``completed``) in invocation order,
    after checking that no time is used twice and that each session's operations are
    sequential."""
    seen = set()
    for t in (t for o in ops for t in (o.invoked, o.completed) if t != math.inf):
        if t in seen:
            raise HistoryError(f"time {t} is used twice: times are positions in one order of "
                               f"events")
        seen.add(t)
    ops.sort(key=lambda o: o.invoked)
    last = {}
    for o in ops:
        before = last.get(o.session)
        if before is not None and before.completed > o.invoked:
            raise HistoryError(f"session {o.session} invokes operation {o.index} before operation "
                               f"{before.index} has returned: a session's operations are "
                               f"sequential")
        last[o.session] = o
    return ops


def _ask(spec, method, op):
    """``spec.method(op)``, a spec's own code raising reported as a ``DefinitionError``."""
    try:
        return getattr(spec, method)(op)
    except KripkeError:
        raise
    except Exception as e:
        raise DefinitionError(f"spec {spec.name}: {method}({describe(op)}) raised "
                              f"{type(e).__name__}: {e}") from None


# -- Helpers shared by the levels ----------------------------------------------------------------

def _effective(ops):
    """The operations that took effect or may have: all but the pending reads."""
    return [o for o in ops if o.write or o.completed != math.inf]


def _by_key(ops):
    groups = {}
    for o in ops:
        groups.setdefault(o.key, []).append(o)
    return groups


def _thin_air(ops):
    """A read of a value that no write wrote to its key, as a sentence (None if there is none)."""
    written = {(o.key, o.value) for o in ops if o.write}
    for o in ops:
        if not o.write and o.completed != math.inf and o.value is not None \
                and (o.key, o.value) not in written:
            return f"{describe(o)} returns a value that no write wrote"
    return None


def _members(mask):
    i = 0
    while mask:
        if mask & 1:
            yield i
        mask >>= 1
        i += 1


def _serializable(ops, preds, budget):
    """Is there an order of ``ops`` that extends ``preds`` and is legal for registers?

    ``preds[i]`` is the bitmask of the operations that must come before ``ops[i]``. An order is
    legal when every read returns the value of the latest write to its key before it (None if
    none). Pending writes may be left out. The search is Wing and Gong's ("Testing and
    verifying concurrent objects", JPDC 1993) with Lowe's memoisation ("Testing for
    linearizability", CCPE 2017): a configuration is the set of operations placed and the values
    of the registers, and each configuration is explored once. A read that may come next and
    returns the current value is placed at once and alone: in any legal order it can be moved
    forward to here, so no other branch is needed.
    """
    slots = {}
    slot = [slots.setdefault(o.key, len(slots)) for o in ops]
    required = sum(1 << i for i, o in enumerate(ops) if o.completed != math.inf)
    start = (0, (None,) * len(slots))
    seen, stack = {start}, [start]
    while stack:
        placed, values = stack.pop()
        if placed & required == required:
            return True
        budget.step()
        successors = []
        for i, o in enumerate(ops):
            bit = 1 << i
            if placed & bit or preds[i] & ~placed:
                continue
            if o.write:
                successors.append((placed | bit, values[:slot[i]] + (o.value,)
                                   + values[slot[i] + 1:]))
            elif values[slot[i]] == o.value:
                successors = [(placed | bit, values)]
                break
        for state in reversed(successors):  # the earliest invoked is explored first
            if state not in seen:
                seen.add(state)
                stack.append(state)
    return False


def _legal(calls, objects, preds, spec, budget):
    """Is there an order of ``calls`` (in invocation order) that extends ``preds`` and that
    ``spec`` allows?

    ``_serializable`` for any sequential spec: ``objects[i]`` is the object ``calls[i]`` acts
    on, each starting from ``spec.init()``; pending calls may be left out. ``preds`` None is
    real time: then only the calls invoked before the first response of a call not yet placed
    may come next, and the scan stops at the first one invoked later (Porcupine's list of
    entries, which looks no further than the first return). A configuration is the set of
    calls placed and the state of every object (Lowe's memoisation, as Porcupine's cache of
    linearized bitset and state), explored once. A call that ``spec.read_only`` says leaves
    the state as it was, and that may come next, is placed at once and alone.
    """
    slots = {}
    slot = [slots.setdefault(obj, len(slots)) for obj in objects]
    required = sum(1 << i for i, c in enumerate(calls) if c.completed != math.inf)
    read_only = [_ask(spec, "read_only", c) for c in calls]
    invoked, completed = [c.invoked for c in calls], [c.completed for c in calls]
    step, n = spec.step, len(calls)
    start = (0, (_initial(spec),) * len(slots))
    seen, stack = {start}, [start]
    while stack:
        placed, states = stack.pop()
        if placed & required == required:
            return True
        budget.step()
        successors, first_return = [], math.inf
        for i in range(((placed + 1) & ~placed).bit_length() - 1, n):  # from the first unplaced
            bit = 1 << i
            if placed & bit:
                continue
            if preds is None:
                if invoked[i] > first_return:
                    break
                if completed[i] < first_return:
                    first_return = completed[i]
            elif preds[i] & ~placed:
                continue
            c = calls[i]
            k = slot[i]
            state = states[k]
            try:
                ok, after = step(state, c)
            except KripkeError:
                raise
            except Exception as e:
                raise DefinitionError(f"spec {spec.name}: step({state!r}, {describe(c)}) raised "
                                      f"{type(e).__name__}: {e} (step returns (ok, "
                                      f"next_state))") from None
            if not ok:
                continue
            if read_only[i]:
                if after != state:
                    raise DefinitionError(f"spec {spec.name}: read_only({describe(c)}) is true, "
                                          f"yet step takes {state!r} to {after!r}")
                successors = [(placed | bit, states)]
                break
            successors.append((placed | bit, states[:k] + (after,) + states[k + 1:]))
        for config in reversed(successors):  # the earliest invoked is explored first
            try:
                new = config not in seen
            except TypeError:
                raise DefinitionError(f"spec {spec.name}: a state of {config[1]!r} cannot be "
                                      f"hashed; states are immutable values (tuples, "
                                      f"frozensets)") from None
            if new:
                seen.add(config)
                stack.append(config)
    return False


def _initial(spec):
    try:
        state = spec.init()
        hash(state)
    except KripkeError:
        raise
    except TypeError:
        raise DefinitionError(f"spec {spec.name}: init() returned {state!r}, which cannot be "
                              f"hashed; states are immutable values (tuples, frozensets)") from None
    except Exception as e:
        raise DefinitionError(f"spec {spec.name}: init() raised {type(e).__name__}: {e}") from None
    return state


def _objects(calls, spec):
    """The object each call acts on (``spec.partition``)."""
    objects = [_ask(spec, "partition", c) for c in calls]
    for c, obj in zip(calls, objects):
        try:
            hash(obj)
        except TypeError:
            raise DefinitionError(f"spec {spec.name}: partition({describe(c)}) is {obj!r}, "
                                  f"which cannot be hashed") from None
    return objects


def _grouped(calls, objects):
    """``{object: its calls}``, the objects in order of first use."""
    groups = {}
    for c, obj in zip(calls, objects):
        groups.setdefault(obj, []).append(c)
    return groups


def _spec_linearizability(spec):
    """Linearizability (Herlihy and Wing 1990) against a sequential spec: one order of each
    object's operations, respecting real time, that the spec allows (objects checked alone, by
    locality)."""
    def check(calls, budget):
        for obj, group in _grouped(calls, _objects(calls, spec)).items():
            one = [obj] * len(group)
            if _legal(group, one, None, spec, budget):
                continue
            where, its = ("", "the") if obj is None else (f"key {obj!r}: ", "its")
            if _legal(group, one, [0] * len(group), spec, budget):
                return _Why(f"{where}no order of {its} {len(group)} operations that respects "
                            f"real time is a legal {spec.name} history")
            return _illegal(group, spec, where + f"no order of {its} {len(group)} operations "
                            f"is a legal {spec.name} history, even ignoring real time")
        return None
    return check


def _spec_sequential_consistency(spec):
    """Sequential consistency (Lamport 1979) against a sequential spec: one order of all the
    operations, respecting each session's order, that the spec allows.

    A session's calls are sequential, so real time orders them as the session does: a history
    that is linearizable, which is each object being so (locality), is sequentially consistent.
    That search, pruned by real time, is tried first.
    """
    def check(calls, budget):
        objects = _objects(calls, spec)
        groups = _grouped(calls, objects)
        if all(_legal(group, [obj] * len(group), None, spec, budget)
               for obj, group in groups.items()):
            return None
        if _legal(calls, objects, _session_order(calls), spec, budget):
            return None
        for obj, group in groups.items():  # with no order to keep, each object on its own
            if not _legal(group, [obj] * len(group), [0] * len(group), spec, budget):
                return _illegal(calls, spec, f"no order of the {len(calls)} operations is a "
                                f"legal {spec.name} history, even ignoring each session's order")
        return _Why(f"no order of the {len(calls)} operations that keeps each session's order "
                    f"is a legal {spec.name} history")
    return check


def _illegal(calls, spec, why):
    """``why`` as an inherent violation, said of the one call when there is one."""
    if len(calls) == 1:
        why = f"{describe(calls[0])} alone is not a legal {spec.name} history"
    return _Why(why, inherent=True)


def _real_time(ops):
    """``preds`` for ``_serializable``: each operation after those that completed before it
    was invoked (``_legal`` takes real time as ``preds`` None, and scans less)."""
    return [sum(1 << j for j, p in enumerate(ops) if p.completed < o.invoked) for o in ops]


def _session_order(ops):
    """``preds`` for ``_serializable``: each operation after the earlier ones of its session."""
    before, preds = {}, []
    for i, o in enumerate(ops):
        preds.append(before.get(o.session, 0))
        before[o.session] = preds[-1] | 1 << i
    return preds


def _causal_past(ops):
    """Causal order (Ahamad et al. 1995: session order and reads-from, closed transitively) as,
    for each operation, the bitmask of the operations before it; None if it is cyclic."""
    writer = {(o.key, o.value): i for i, o in enumerate(ops) if o.write}
    direct = _session_order(ops)
    # session order is covered by its last link: keep only the previous operation of the session
    direct = [1 << max(_members(m)) if m else 0 for m in direct]
    for i, o in enumerate(ops):
        if not o.write and (o.key, o.value) in writer:
            direct[i] |= 1 << writer[o.key, o.value]
    past, done = [0] * len(ops), 0
    while done != (1 << len(ops)) - 1:
        ready = [i for i in range(len(ops)) if not done >> i & 1 and direct[i] & ~done == 0]
        if not ready:
            return None
        for i in ready:
            for p in _members(direct[i]):
                past[i] |= past[p] | 1 << p
            done |= 1 << i
    return past


# -- The levels: each returns None when the history satisfies it, else why not -------------------

def _linearizability(ops, budget):
    """Linearizability (Herlihy and Wing 1990): one order of the operations, respecting real
    time, in which every read returns the latest write.

    There is a total order of the completed operations and of some pending writes such that an
    operation that completed before another was invoked comes first, and every read returns the
    value of the latest write to its key before it (None if none). Linearizability is local
    (Herlihy and Wing's locality theorem), so each key is checked on its own, as Porcupine
    partitions a history (Horn and Kroening's P-compositionality, FORTE 2015).
    """
    why = _thin_air(ops)
    if why:
        return why
    for key, group in _by_key(_effective(ops)).items():
        if not _serializable(group, _real_time(group), budget):
            return (f"key {key}: no order of its {len(group)} operations that respects real time "
                    f"has every read return the latest write")
    return None


def _sequential_consistency(ops, budget):
    """Sequential consistency (Lamport 1979): one order of the operations, respecting each
    session's order, in which every read returns the latest write.

    As linearizability, but the order need only keep each session's operations in the order
    the session issued them. It is not local (Herlihy and Wing 1990 give a history whose every
    object is sequentially consistent but not the whole), so the keys are checked together.
    Sequential consistency implies causal consistency, so a bad pattern of the latter refutes
    it without a search (which is exponential in the number of sessions).
    """
    ops = _effective(ops)
    why = _thin_air(ops) or _causal_anomaly(ops, _causal_past(ops))
    if why:
        return why
    if _serializable(ops, _session_order(ops), budget):
        return None
    return (f"no order of the {len(ops)} operations that keeps each session's order has every "
            f"read return the latest write")


def _causal_consistency(ops, budget):
    """Causal consistency (Ahamad et al. 1995, causal memory): each session sees every write
    in an order that respects causality.

    Causal order is session order and reads-from (a write before every read that returns its
    value), closed transitively. For each session there must be an order of all the writes and
    of that session's reads that extends causal order and in which every read returns the
    latest write to its key before it; sessions may order concurrent writes differently.
    Bouajjani et al. (POPL 2017) call this CM. Their bad patterns (a cyclic causal order, a read
    of the initial value or of an overwritten value although a later write to the key causally
    precedes it) refute it at once; otherwise each session's order is searched for.
    """
    ops = _effective(ops)
    past = _causal_past(ops)
    why = _thin_air(ops) or _causal_anomaly(ops, past)
    if why:
        return why
    for s in sorted({o.session for o in ops if not o.write}):
        view = [i for i, o in enumerate(ops) if o.write or o.session == s]
        local = {i: j for j, i in enumerate(view)}
        preds = [sum(1 << local[p] for p in _members(past[i]) if p in local) for i in view]
        if not _serializable([ops[i] for i in view], preds, budget):
            return (f"session {s} has no causal view: no order of every write and of its reads "
                    f"that extends causal order has each read return the latest write")
    return None


def _causal_anomaly(ops, past):
    """CyclicCO, WriteCOInitRead or WriteCORead of Bouajjani et al. 2017 as a sentence, or None
    (``past`` is ``_causal_past(ops)``; reads out of thin air are ``_thin_air``'s)."""
    if past is None:
        return "causal order is cyclic: a read returns a write that causally follows it"
    writer = {(o.key, o.value): i for i, o in enumerate(ops) if o.write}
    for i, r in enumerate(ops):
        if r.write:
            continue
        source = writer.get((r.key, r.value))
        for w in _members(past[i]):
            if not ops[w].write or ops[w].key != r.key or w == source:
                continue
            if source is None:
                return (f"{describe(r)} returns the initial value though {describe(ops[w])} "
                        f"causally precedes it")
            if past[w] >> source & 1:
                return (f"{describe(r)} returns {describe(ops[source])} though "
                        f"{describe(ops[w])} overwrites it and causally precedes the read")
    return None


def _session_guarantees(ops, ryw=False, mr=False, mw=False, wfr=False):
    """Why ``ops`` breaks the session guarantees asked for (read-your-writes, monotonic reads,
    monotonic writes, writes-follow-reads), or None; each key is judged on its own."""
    why = _thin_air(ops)
    if why:
        return why
    for key, group in _by_key(_effective(ops)).items():
        why = _key_guarantees(key, group, ryw, mr, mw, wfr)
        if why:
            return why
    return None


def _key_guarantees(key, ops, ryw, mr, mw, wfr):
    """The same for one key's operations (invocation order, no pending reads).

    Each read is given the least view the guarantees allow: the write it returns, with
    read-your-writes its session's earlier writes, with monotonic reads what its session's
    earlier reads saw. Seeing more only adds constraints, so if any view works these do. What
    is left is the arbitration: every session must order the writes that monotonic writes and
    writes-follow-reads order (``shared``), and each reading session must also order every
    write a read of its sees before the one the read returns (``own``). Such orders exist iff
    the edges have no cycle. Edges are ``(earlier value, later value, reason)``; a read that
    returns None but sees a write gives an edge to None.
    """
    shared, own = [], {}
    writes, last_view, read_views = {}, {}, {}  # per session; a view maps value -> its source
    for o in ops:
        s = o.session
        if o.write:
            if mw and writes.get(s):
                shared.append((writes[s][-1].value, o.value, _then(writes[s][-1], o)))
            if wfr:  # a read of the session's own later write gives o -> o: a cycle
                shared += [(v, o.value, _then(src, o)) for v, src in read_views.get(s, {}).items()]
            writes.setdefault(s, []).append(o)
            continue
        view = dict(last_view.get(s, {})) if mr else {}
        if ryw:
            view.update((w.value, w) for w in writes.get(s, ()))
        own.setdefault(s, []).extend((v, o.value, _then(src, o)) for v, src in view.items()
                                     if v != o.value)
        if o.value is not None:
            view.setdefault(o.value, o)
        last_view[s] = view
        for v, src in view.items():
            read_views.setdefault(s, {}).setdefault(v, src)
    why = _going_back(shared)
    if why:
        return (f"no order of the writes to key {key} puts each after what its session wrote and "
                f"read before it: {why}")
    for s in sorted(own):
        why = _going_back(shared + own[s])
        if why:
            return f"session {s} sees key {key} go back: {why}"
    return None


def _then(a, b):
    verb = {True: "wrote", False: "read"}
    return f"session {a.session} {verb[a.write]} {a.value!r} then {verb[b.write]} {b.value!r}"


def _going_back(edges):
    """The reasons along a cycle of ``edges`` (``a`` must come before ``b``; ``a == b`` is a
    cycle), or an edge back to the initial value, joined as one sentence; None if some order
    satisfies every edge."""
    graph = {}
    for a, b, why in edges:
        if a == b:
            return why
        if b is None:
            return f"{why}, the initial value"
        graph.setdefault(a, []).append((b, why))
    state = {}
    for root in graph:
        if root in state:
            continue
        stack, reasons, depth = [(root, iter(graph[root]))], [], {root: 0}
        state[root] = "open"
        while stack:
            node, successors = stack[-1]
            for nxt, why in successors:
                if state.get(nxt) == "open":
                    return "; ".join(reasons[depth[nxt]:] + [why])
                if nxt not in state:
                    state[nxt], depth[nxt] = "open", len(stack)
                    reasons.append(why)
                    stack.append((nxt, iter(graph.get(nxt, ()))))
                    break
            else:
                state[node] = "closed"
                stack.pop()
                if reasons:
                    reasons.pop()
    return None


def _session_consistency(ops, budget):
    """Session consistency (Terry et al. 1994), per key: all four session guarantees at once,
    judged in one view per read and one arbitration per session.

    What the guarantees say across keys (a session that saw y = 1, written after x = 1, must
    see x = 1) is left to causal consistency.
    """
    return _session_guarantees(ops, ryw=True, mr=True, mw=True, wfr=True)


def _read_your_writes(ops, budget):
    """Read-your-writes (Terry et al. 1994), per key: each read sees every write its session
    made to the key before it."""
    return _session_guarantees(ops, ryw=True)


def _monotonic_reads(ops, budget):
    """Monotonic reads (Terry et al. 1994), per key: each read sees every write that an earlier
    read of its session saw."""
    return _session_guarantees(ops, mr=True)


def _monotonic_writes(ops, budget):
    """Monotonic writes (Terry et al. 1994), per key: every session arbitrates a session's writes
    in the order it made them.

    On its own it fails only with a read out of thin air: a read that sees just the write it
    returns observes no arbitration. It matters in ``session_consistency``.
    """
    return _session_guarantees(ops, mw=True)


def _writes_follow_reads(ops, budget):
    """Writes-follow-reads (Terry et al. 1994), per key: every session arbitrates the writes a
    read saw before the writes its session makes after the read."""
    return _session_guarantees(ops, wfr=True)


_LEVELS = {
    "linearizability": _linearizability,
    "sequential_consistency": _sequential_consistency,
    "causal_consistency": _causal_consistency,
    "session_consistency": _session_consistency,
    "read_your_writes": _read_your_writes,
    "monotonic_reads": _monotonic_reads,
    "monotonic_writes": _monotonic_writes,
    "writes_follow_reads": _writes_follow_reads,
}
LEVELS = tuple(_LEVELS)
#: the levels of ANY_SPEC for a spec other than the register (each makes the check for a spec)
_SPEC_LEVELS = {
    "linearizability": _spec_linearizability,
    "sequential_consistency": _spec_sequential_consistency,
}


def _level(name):
    if name not in _LEVELS:
        raise UnknownNameError("consistency level", name, LEVELS)
    return _LEVELS[name]


# -- The two front doors -------------------------------------------------------------------------

def check_history(operations, level, budget_s=10.0, spec=None):
    """Check ``operations`` against ``level`` (one of ``LEVELS``) within ``budget_s`` seconds.

    ``spec`` is the sequential spec of the object (a name, ``path/to/file.py:Name`` or a
    ``SequentialSpec``); by default the ``History``'s own, else ``register``. Returns a
    ``ConsistencyResult``; the budget covers the verdict and the shrinking of a violation to a
    minimal violating subset. A history that is not well formed raises ``HistoryError``; an
    unknown level ``UnknownNameError``; a level that is not defined for the spec (causal
    consistency of a queue) ``NotApplicable``.
    """
    spec = _spec_of(operations, spec)
    operations = tuple(operations)
    check, ops, shrink = _plan(operations, level, spec)
    budget = _Budget(budget_s)
    try:
        why = check(ops, budget)
    except _OutOfTime:
        return ConsistencyResult(level, UNKNOWN, explanation=f"the budget of {budget_s} s ran "
                                 f"out", elapsed_s=time.monotonic() - budget.start)
    if why is None:
        return ConsistencyResult(level, OK, elapsed_s=time.monotonic() - budget.start)
    subset, why, minimal = shrink(check, ops, why, budget)
    return ConsistencyResult(level, VIOLATED, tuple(operations[o.index] for o in subset),
                             str(why), minimal, time.monotonic() - budget.start)


def _spec_of(operations, spec):
    if spec is not None:
        return load_spec(spec)
    return getattr(operations, "spec", None) or SPECS["register"]


def _plan(operations, level, spec):
    """``(check, ops, shrink)``: the check of ``level`` for ``spec``, the history as it takes
    it, and the shrinker of its violations.

    A register's history is checked by the register levels (each written for registers, and
    faster there); another spec's linearizability and sequential consistency by ``_legal``,
    stepping the spec; a kv history without appends by the register levels as well, a put
    being a write and a get a read.
    """
    register_check = _level(level)
    if type(spec) is RegisterSpec:
        return (register_check, _normalised([_as_register(n, op)
                                             for n, op in enumerate(operations)]),
                _shrink_registers)
    calls = _normalised_calls(list(operations), spec)
    if level in ANY_SPEC:
        return _SPEC_LEVELS[level](spec), calls, _shrink_calls(spec)
    if type(spec) is KeyValueSpec:
        return register_check, _kv_registers(calls, level), _shrink_registers
    raise NotApplicable(level, f"is defined on read/write registers (the register spec, and kv "
                               f"without appends), not on {spec.name}")


def _kv_registers(calls, level):
    """A kv history without appends as the register levels take it (a put is a write, a get
    a read, the key's value is the register's)."""
    if any(c.kind == "append" for c in calls):
        raise NotApplicable(level, "is defined on read/write registers: this kv history appends")
    ops = [Operation(session=c.session, kind="write" if c.kind == "put" else "read",
                     key=c.key, value=c.input if c.kind == "put" else
                     None if c.output is PENDING else c.output, invoked=c.invoked,
                     completed=None if c.completed == math.inf else c.completed)
           for c in sorted(calls, key=lambda c: c.index)]
    try:
        return _normalised(ops, key_types=(int, str, type(None)))
    except HistoryError as e:
        raise NotApplicable(level, f"is defined on registers whose writes are told apart by "
                                   f"their values: {e}") from None


def _shrink(check, ops, why, budget, groups, without, keeps):
    """``(subset, why, minimal)``: a minimal violating subset of ``ops`` by greedy deletion.

    A violation within one of ``groups(ops)`` (one key, one object) is looked for first (it is
    all linearizability can have). Then blocks of operations are dropped (``without(ops,
    block)``), latest first, while the rest still violates in a way ``keeps(why)`` accepts, the
    blocks halving down to single operations (coarse to fine, after Zeller and Hildebrandt's
    delta debugging, TSE 2002: a few operations explain most violations); single drops repeat
    until none keeps a violation.
    """
    try:
        for group in groups(ops):
            narrow = check(group, budget) if len(group) < len(ops) else None
            if narrow and keeps(narrow):
                ops, why = group, narrow
                break
        size = max(1, len(ops) // 2)
        while True:
            dropped, end = False, len(ops)
            while end > 0:
                rest = without(ops, ops[max(0, end - size):end])
                smaller = check(rest, budget) if len(rest) < len(ops) else None
                if smaller and keeps(smaller):
                    ops, why, dropped = rest, smaller, True
                end -= size
            if size == 1 and not dropped:
                return ops, why, True
            size = max(1, size // 2)
    except _OutOfTime:
        return ops, why, False


def _shrink_registers(check, ops, why, budget):
    """``_shrink`` for the register levels: by key, keeping the writes that kept reads return
    (without them a read returns a value out of thin air, which explains nothing)."""
    return _shrink(check, ops, why, budget, lambda ops: _by_key(ops).values(), _without,
                   lambda smaller: True)


def _shrink_calls(spec):
    """``_shrink`` for a spec's levels: by object, keeping the kind of violation (illegal in
    the orders the level allows, or in every order), as the register levels keep the writes
    that reads return."""
    def shrink(check, calls, why, budget):
        return _shrink(check, calls, why, budget,
                       lambda calls: _grouped(calls, _objects(calls, spec)).values(),
                       lambda calls, block: [c for c in calls if c not in block],
                       lambda smaller: smaller.inherent == why.inherent)
    return shrink


def _without(ops, block):
    """``ops`` but ``block``, keeping the writes of ``block`` that a kept read returns."""
    block = set(block)
    read = {(o.key, o.value) for o in ops
            if not o.write and o.completed != math.inf and o not in block}
    return [o for o in ops if o not in block or o.write and (o.key, o.value) in read]


def consistency_invariant(level, field="history", budget_s=1.0, spec=None):
    """An invariant named ``level`` over the history a model records in the state field ``field``
    (of ``spec``'s objects: a name, ``path/to/file.py:Name`` or a ``SequentialSpec``; by
    default registers).

    Its condition is True when the history satisfies the level and False when it violates it.
    When ``budget_s`` seconds are not enough to decide, it raises ``BudgetExhausted``, which
    stops the search: never a silent pass. Verdicts are cached per history, since many states
    share one. A level not defined for the spec raises ``NotApplicable`` at once.
    """
    check = _level(level)
    spec = load_spec(spec or "register")
    if type(spec) not in (RegisterSpec, KeyValueSpec) and level not in ANY_SPEC:
        _plan((), level, spec)  # raises NotApplicable

    @lru_cache(maxsize=1 << 16)
    def satisfied(history):
        verdict, ops, _ = _plan(history, level, spec)
        try:
            return verdict(ops, _Budget(budget_s)) is None
        except _OutOfTime:
            raise BudgetExhausted(f"{level}: the budget of {budget_s} s ran out before a verdict "
                                  f"on the {len(history)} operations in field {field!r}") from None

    def condition(model, s):
        return satisfied(getattr(s, field))

    if type(spec) is not RegisterSpec and level in ANY_SPEC:
        check = _SPEC_LEVELS[level]
    summary = " ".join(check.__doc__.split("\n\n")[0].split())  # the docstring's first paragraph
    return Property(level, "invariant", condition, summary)

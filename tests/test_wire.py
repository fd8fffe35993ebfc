"""The binary format in which kripke's processes hand each other states (checkers/wire.py,
checkers/_wire.c; issue 13): the C functions and their Python twin write the same bytes and read
back equal values of the same classes, messages that are the interned ones, on every reachable
state of six built-in models; malformed data, made by hand and by mutating valid data, is a
ValueError from both, with the same message.

``python -m tests.test_wire`` prints the microseconds a state to dump and load a batch of 10,000
two-phase states (7 RMs) in C, in the twin and with the pickle that ``Wire`` used before, and
the bytes a state.
"""

import gc
import io
import math
import os
import pickle
import random
import subprocess
import sys
import time
from collections import deque
from typing import NamedTuple

import pytest

from kripke import load_model
from kripke.checkers.wire import MAX_DEPTH, Wire, py_dumps, py_loads, record_classes
from kripke.common import extension
from kripke.models.fingerprint import fingerprint
from kripke.models.types import FrozenMap
from tests.conftest import ROOT

C = extension("_wire")
needs_c = pytest.mark.skipif(C is None, reason="the C extension is not built")

#: the models whose every reachable state crosses the wire here, at sizes of a few thousand
MODELS = {"two-phase": {"rms": 3}, "raft": {"servers": 2}, "paxos": {}, "lww-store": {},
          "vector-clock": {}, "commit-2pc": {}}


def reachable(model, limit=None):
    """A batch as a worker sends it, ``[(action index, state, fingerprint, parent's)]``, of the
    states reachable from the initial ones, breadth first (with ``model.successors``, not the
    engines this format serves), at most ``limit`` of them."""
    seen = {s: fingerprint(s) for s in model.init()}
    batch = [(0, s, fp, fp) for s, fp in seen.items()]
    queue = deque(seen)
    while queue and (limit is None or len(batch) < limit):
        s = queue.popleft()
        for k, (_, _, t) in enumerate(model.successors(s)):
            if t not in seen:
                seen[t] = fingerprint(t)
                queue.append(t)
                batch.append((k, t, seen[t], seen[s]))
    return batch[:limit]


def codec(model):
    classes = record_classes(model)
    return classes, {cls: n for n, cls in enumerate(classes)}


def implementations():
    """(dumps, loads) pairs: the twin's, and the C ones when built."""
    pairs = [("python", py_dumps, py_loads)]
    if C is not None:
        pairs.append(("c", C.dumps, C.loads))
    return pairs


def same(a, b, where="value"):
    """``b`` (loaded) is ``a`` (written): equal, of identical classes all the way down; its
    strings interned and its messages (tagged records) the ones their class interns."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} became {type(b).__name__}"
    if isinstance(a, frozenset):
        assert a == b, where
        mine = {x: x for x in a}
        for y in b:
            same(mine[y], y, f"{where} element")
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{i}]")
        if getattr(type(b), "_tag", None) is not None and type(b)._fields:
            # (a message without fields is built afresh each time: models/types.py)
            assert b is type(b)(*b[1:]), f"{where}: a {type(b).__name__} that is not interned"
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, where
        if type(b) is str:
            assert b is sys.intern(b), f"{where}: {b!r} is not interned"


@pytest.fixture(scope="module", params=sorted(MODELS))
def case(request):
    model = load_model(request.param)(**MODELS[request.param])
    return model, reachable(model)


def test_every_reachable_state_round_trips(case):
    model, batch = case
    classes, ids = codec(model)
    for _, dumps, _ in implementations():
        data = dumps(batch, ids)
        for _, _, loads in implementations():
            same(batch, loads(data, classes))
    wire = Wire(model)
    same(batch, wire.loads(wire.dumps(batch)))
    queued = [(s, fp, 1) for _, s, fp, _ in batch]  # what a frontier spills
    same(queued, wire.loads(wire.dumps(queued)))


@needs_c
def test_c_and_twin_write_the_same_bytes(case):
    model, batch = case
    _, ids = codec(model)
    for part in (batch, batch[:1], [s for _, s, _, _ in batch]):
        assert C.dumps(part, ids) == py_dumps(part, ids)


def test_shared_values_are_written_once():
    """A message in many states, a string in many fields: written once, then referred to;
    a batch is smaller than pickle's and than its states written one by one."""
    model = load_model("two-phase")(rms=5)
    classes, ids = codec(model)
    batch = reachable(model, 2000)
    together = len(py_dumps(batch, ids))
    assert together < 0.6 * sum(len(py_dumps(x, ids)) for x in batch)
    pickled = io.BytesIO()
    OldPickler(pickled, ids).dump(batch)
    assert together < len(pickled.getvalue())
    # every copy of an equal string is one string after loading, so are shared fields
    loaded = py_loads(py_dumps(batch, ids), classes)
    assert len({id(s.tm_state) for _, s, _, _ in loaded}) == len({s.tm_state
                                                                  for _, s, _, _ in loaded})


EDGES = [
    None, True, False, 0, 1, 127, 128, -1, -128, 2**56 - 1, 2**56, 2**63, 2**64 - 1, 2**64,
    -2**63, -2**63 - 1, -2**64, 2**200 + 12345, -2**200, 0.0, -0.0, 1.5, float("inf"),
    float("nan"), "", "a", "héllo ✓ 𝄞", (), (1,), ((),), frozenset(), frozenset({1, "a", (2,)}),
    FrozenMap(), FrozenMap({1: "a", "b": (2, 3)}), [], [[1, 2], [True, 1, 1.0]],
    ("x", "x", "x"), (frozenset({1}),) * 3,
]


@pytest.mark.parametrize("value", EDGES, ids=repr)
def test_every_kind_of_value_round_trips(value):
    """Booleans stay booleans and floats floats beside equal ints; ints of every size, from the
    one-byte form to fingerprints (8 bytes) and beyond 64 bits; empty and shared containers."""
    for _, dumps, _ in implementations():
        data = dumps(value, {})
        assert data == py_dumps(value, {})
        for _, _, loads in implementations():
            same(value, loads(data, []))
            same([value, value], loads(dumps([value, value], {}), []))


def test_fingerprints_take_nine_bytes():
    assert len(py_dumps(2**64 - 1, {})) == 9
    assert len(py_dumps(5, {})) == 1


@pytest.mark.parametrize("impl", implementations(), ids=lambda i: i[0])
def test_nesting_is_bounded(impl):
    _, dumps, loads = impl
    deep = 0
    for _ in range(MAX_DEPTH - 1):
        deep = (deep,)
    assert loads(dumps(deep, {}), []) == deep
    with pytest.raises(ValueError, match=f"nested deeper than {MAX_DEPTH} levels"):
        dumps((deep,), {})
    with pytest.raises(ValueError, match=f"at byte {2 * MAX_DEPTH} is nested deeper"):
        loads(b"\x0a\x01" * MAX_DEPTH + b"\x80", [])


class Point(NamedTuple):
    x: int
    y: int


@pytest.mark.parametrize("impl", implementations(), ids=lambda i: i[0])
@pytest.mark.parametrize("value, name", [
    (Point(1, 2), "Point"), ({1: 2}, "dict"), ({1}, "set"), (b"x", "bytes"),
    ((1, [object()]), "object"), (frozenset({Point(0, 0)}), "Point"),
    (type("Sub", (str,), {})("s"), "Sub"),
])
def test_a_value_of_another_class_is_a_type_error_naming_it(impl, value, name):
    _, dumps, _ = impl
    with pytest.raises(TypeError, match=f"cannot write a {name}: a state holds only None"):
        dumps(value, {})


def test_a_record_class_not_in_ids_cannot_be_written():
    model = load_model("two-phase")(rms=2)
    state = next(iter(model.init()))
    for _, dumps, _ in implementations():
        with pytest.raises(TypeError, match="cannot write a State"):
            dumps(state, {})


def malformed(model):
    """(bytes, the ValueError's message) for each kind of malformed data."""
    classes, ids = codec(model)
    state = next(iter(model.init()))
    good = py_dumps(state, ids)
    prepared = classes[1]
    message = py_dumps(prepared(rm=1), ids)  # 0x0d, class 1, 1 field, 0x81
    return [
        (b"", "truncated data: the value at byte 0 runs past the end (0 bytes)"),
        (good[:-1], "truncated data"),
        (b"\x0a\x05\x80", "truncated data: the value at byte 0 runs past the end (3 bytes)"),
        (b"\x08\xff\xff\xff\xff\x0f", "truncated data: the value at byte 0"),
        (b"\x05\x01\x02", "truncated data"),
        (b"\x0f", "unknown tag 0x0f at byte 0"),
        (b"\x0a\x01\x7f", "unknown tag 0x7f at byte 2"),
        (b"\x0d\x09\x00", "unknown record class number 9 at byte 0 (4 classes)"),
        (message[:2] + b"\x02\x81\x81", "a Prepared record at byte 0 has 2 fields, not 1"),
        (good + b"\x00", f"1 trailing bytes after the value (at byte {len(good)})"),
        (b"\x09\x00", "back-reference 0 at byte 0 is out of range (0 values so far)"),
        (b"\x0a\x02\x08\x01a\x09\x01", "back-reference 1 at byte 5 is out of range (1 values"),
        (b"\x08\x02\xc3\x28", "bad UTF-8 in the string at byte 0"),
        (b"\x08\x03\xed\xa0\x80", "bad UTF-8"),  # an encoded surrogate
        (b"\x03" + b"\xff" * 9 + b"\x81", "a number beyond 64 bits in the value at byte 0"),
        (b"\x03" + b"\xff" * 9 + b"\x02", "a number beyond 64 bits"),
        (b"\x0b\x01\x0e\x00", "the value at byte 0 cannot be built: unhashable type: 'list'"),
        (b"\x0d\x01\x01\x0e\x00", "the value at byte 0 cannot be built"),  # a list as a key
    ]


@pytest.mark.parametrize("impl", implementations(), ids=lambda i: i[0])
def test_malformed_data_is_a_value_error_saying_what_is_wrong(impl):
    model = load_model("two-phase")(rms=2)
    classes, _ = codec(model)
    _, _, loads = impl
    for data, message in malformed(model):
        with pytest.raises(ValueError) as e:
            loads(data, classes)
        assert str(e.value).startswith(message), (data, str(e.value))


def test_largest_numbers_read():
    assert py_loads(b"\x03" + b"\xff" * 9 + b"\x01", []) == 2**64 - 1
    assert py_loads(b"\x04" + b"\xff" * 9 + b"\x01", []) == -2**64
    for _, _, loads in implementations():
        assert loads(b"\x04" + b"\xff" * 9 + b"\x01", []) == -2**64
        assert loads(bytearray(b"\x80"), []) == 0  # any bytes-like object


def mutants(data, rng, n):
    """``n`` corruptions of ``data``: bytes flipped, replaced, inserted, removed, cut off,
    runs repeated or moved."""
    for _ in range(n):
        d = bytearray(data)
        for _ in range(rng.choice((1, 1, 1, 2, 3, 8))):
            i = rng.randrange(len(d) + 1)
            kind = rng.randrange(7)
            if kind == 0 and i < len(d):
                d[i] ^= 1 << rng.randrange(8)
            elif kind == 1 and i < len(d):
                d[i] = rng.choice((0x00, 0x09, 0x0a, 0x0d, 0x0e, 0x7f, 0x80, 0xff,
                                   rng.randrange(256)))
            elif kind == 2:
                d[i:i] = bytes([rng.randrange(256)])
            elif kind == 3:
                del d[i:i + rng.randrange(1, 4)]
            elif kind == 4:
                del d[i:]
            elif kind == 5:
                d[i:i] = d[i:i + rng.randrange(1, 16)]
            else:
                j = rng.randrange(len(d) + 1)
                d[i:i] = d[j:j + rng.randrange(1, 16)]
        yield bytes(d)


@needs_c
@pytest.mark.parametrize("name", sorted(MODELS))
def test_c_and_twin_agree_on_mutated_data(name):
    """Random corruptions of valid batches: both raise a ValueError with the same message, or
    both read equal values of the same classes. (Not always with the same sharing: a message
    whose fields were read before holds the fields of the call that interned it.)"""
    model = load_model(name)(**MODELS[name])
    classes, ids = codec(model)
    batch = reachable(model, 400)
    rng = random.Random(f"wire {name}")
    outcomes = {"error": 0, "value": 0}
    for start in range(0, 400, 20):
        data = py_dumps(batch[start:start + 20], ids)
        for bad in mutants(data, rng, 60):
            try:
                mine = py_loads(bad, classes)
            except ValueError as e:
                with pytest.raises(ValueError) as theirs:
                    C.loads(bad, classes)
                assert str(theirs.value) == str(e), bad.hex()
                outcomes["error"] += 1
                continue
            same(mine, C.loads(bad, classes), bad.hex())
            outcomes["value"] += 1
    assert outcomes["error"] > 100 and outcomes["value"] > 10, outcomes


@needs_c
def test_the_twin_is_used_when_asked_for():
    out = subprocess.run(
        [sys.executable, "-c", ("from kripke.checkers import wire; print(wire.dumps is "
                                "wire.py_dumps, wire.loads is wire.py_loads)")],
        env={**os.environ, "KRIPKE_PURE_PYTHON": "1"}, cwd=ROOT, capture_output=True,
        text=True, check=True)
    assert out.stdout.split() == ["True", "True"]


def test_an_untyped_model_s_states_are_pickled():
    """A quick model declares no types: its states may be of its own classes."""
    model = load_model(f"{ROOT}/tests/fixtures/models.py:Untyped")()
    wire = Wire(model)
    batch = [(0, (Point(1, 2), frozenset({3})), 2**64 - 1, 7)]
    assert wire.loads(wire.dumps(batch)) == batch


class OldPickler(pickle.Pickler):
    """The pickle ``Wire`` used before, for the comparisons: record classes by number."""

    def __init__(self, file, ids):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.ids = ids

    def persistent_id(self, obj):
        return self.ids.get(obj) if obj.__class__ is type else None


class OldUnpickler(pickle.Unpickler):
    def __init__(self, file, classes):
        super().__init__(file)
        self.classes = classes

    def persistent_load(self, n):
        return self.classes[n]


def benchmark(n=10_000, repeat=5):
    """Microseconds a state to dump and load a batch of ``n`` two-phase states (7 RMs), best
    of ``repeat``, with the collector off as in a worker process; and bytes a state."""
    model = load_model("two-phase")(rms=7)
    classes, ids = codec(model)
    batch = reachable(model, n)

    def old_dumps(value, ids):
        out = io.BytesIO()
        OldPickler(out, ids).dump(value)
        return out.getvalue()

    def old_loads(data, classes):
        return OldUnpickler(io.BytesIO(data), classes).load()

    def best(f, *args):
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            out = f(*args)
            times.append(time.perf_counter() - t0)
        return min(times) / len(batch) * 1e6, out

    rows = [("pickle (before)", old_dumps, old_loads), ("twin", py_dumps, py_loads)]
    if C is not None:
        rows.insert(0, ("C", C.dumps, C.loads))
    print(f"{len(batch):,} two-phase states (rms=7), as (action, state, fingerprint, parent)")
    print(f"{'':16} {'dumps us/state':>14} {'loads us/state':>14} {'bytes/state':>11}")
    gc.disable()
    try:
        for label, dumps, loads in rows:
            d, data = best(dumps, batch, ids)
            l, back = best(loads, data, classes)
            assert back == batch
            print(f"{label:16} {d:14.2f} {l:14.2f} {len(data) / len(batch):11.1f}")
    finally:
        gc.enable()


if __name__ == "__main__":
    benchmark()

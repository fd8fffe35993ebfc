"""The C extension (checkers/_speedups.c) against its Python twins: same counts, same traces."""

import json
import os
import subprocess
import sys

import pytest

from checkers import speedups
from checkers.explicit import _expand, _unary
from models.two_phase import TwoPhase
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(speedups() is None, reason="the C extension is not built")


def run_cli(*args, pure):
    env = dict(os.environ)
    env.pop("KRIPKE_PURE_PYTHON", None)
    if pure:
        env["KRIPKE_PURE_PYTHON"] = "1"
    proc = subprocess.run([sys.executable, "-m", "checkers.cli", *args, "--json"], cwd=ROOT,
                          env=env, capture_output=True, text=True)
    data = json.loads(proc.stdout)
    data.pop("elapsed_s")
    return proc.returncode, data


@pytest.mark.parametrize("args", [
    ("check", "two-phase", "-p", "rms=4", "--no-symmetry"),
    ("check", "two-phase", "-p", "rms=4"),
    ("check", "two-phase", "-p", "rms=4", "--strategy", "dfs"),
    ("check", "two-phase-eager", "-p", "rms=4", "--no-symmetry"),
    ("check", "toy-branch"),
    ("check", "toy-raises"),
])
def test_extension_and_python_agree(args, tmp_path):
    c_code, c_result = run_cli(*args, "--out", tmp_path / "c", pure=False)
    py_code, py_result = run_cli(*args, "--out", tmp_path / "py", pure=True)
    for result in (c_result, py_result):
        if result["violation"]:
            result["violation"].pop("trace_file")
    assert (c_code, c_result) == (py_code, py_result)
    if c_result["violation"]:
        assert (tmp_path / "c" / "trace.json").read_text() == \
            (tmp_path / "py" / "trace.json").read_text()


def test_expand_matches_its_twin_state_by_state():
    from array import array
    model = TwoPhase(rms=3)
    calls = [_unary(fn, args) for _, fn, args in model._calls]
    todo, seen = list(model.init()), {}
    while todo:
        s = todo.pop()
        fired_c, fired_py = (array("Q", bytes(8 * len(calls))) for _ in range(2))
        got = speedups().expand(s, calls, fired_c, seen, None, [])
        want = _expand(s, calls, fired_py, seen, None, [])
        assert got == want and fired_c == fired_py
        for _, t, f in got[1]:
            if f not in seen:
                seen[f] = None
                todo.append(t)
    assert len(seen) == 287  # every state but the initial one


def test_record_set_and_put_in_c():
    s = next(TwoPhase(rms=3).init())
    assert s.set(tm_state="aborted") == (s.rm_state, "aborted", s.tm_prepared, s.msgs)
    assert type(s.set(tm_state="aborted")) is type(s)
    with pytest.raises(TypeError, match="State has no field 'nope'"):
        s.set(nope=1)
    with pytest.raises(TypeError, match="keyword arguments only"):
        s.set("aborted")
    put = speedups().put
    assert put((1, 2, 3), 0, "x") == ("x", 2, 3)
    with pytest.raises(IndexError):
        put((1, 2), 2, 0)


def test_first_bad_field_matches_its_twin():
    from models.system import _first_bad_field
    model = TwoPhase(rms=3)
    checks = [t.checker(model) for t in model._types.values()]
    s = next(model.init())
    bad = s.set(tm_prepared=frozenset({7}))
    first = speedups().first_bad_field
    for t, parent, want in [(s, None, -1), (bad, None, 2), (bad, s, 2), (bad, bad, -1),
                            (s.set(rm_state=("working", True, "working")), s, 0)]:
        assert first(t, checks, parent) == _first_bad_field(t, checks, parent) == want

"""Long runs from the command line (issue 10, items 4 and 6): ``--continue`` reports every
violation in one search, ``--time-limit`` bounds bfs and dfs, Ctrl-C prints the counts so far and
exits 130, progress goes to stderr (live on a terminal, a line every few seconds in a log),
``--workers`` is not offered, and ``review`` / ``graph`` take check's bounds and symmetry options
and name only options that exist. The engine's side is in tests/test_engine.py."""

import io
import json
import re
import signal
import subprocess
import sys
import time

import pytest

from kripke.cli import _Progress
from kripke.traces.trace import load, replay
from tests.conftest import ROOT, kripke



def options_of(command):
    """The options ``kripke COMMAND --help`` lists."""
    return set(re.findall(r"--[a-z][a-z-]*", kripke(command, "--help").output))


# -- --continue ------------------------------------------------------------------------------------
def test_continue_reports_every_violation_with_its_own_trace(tmp_path):
    out = tmp_path / "out"
    r = kripke("check", "two-phase-eager", "--no-symmetry", "--continue", "--json", "--out", out)
    data = json.loads(r.stdout)
    assert (r.exit_code, data["verdict"]) == (1, "violated")
    found = [(v["property"], v["kind"], v["length"], v["trace_file"]) for v in data["violations"]]
    assert found == [
        ("refines_tcommit", "refinement", 4, str(out / "trace.json")),
        ("tc_consistent", "invariant", 5, str(out / "tc_consistent" / "trace.json")),
        ("atomic_commit", "invariant", 5, str(out / "atomic_commit" / "trace.json")),
    ]
    assert data["violation"] == data["violations"][0]
    # One search covered every state: the counts of the search that checks types alone.
    whole = json.loads(kripke("check", "two-phase-eager", "--no-symmetry", "--property",
                              "type_ok", "--json").stdout)
    assert (data["distinct_states"], data["states_generated"]) == (whole["distinct_states"],
                                                                   whole["states_generated"])
    for _, _, _, trace_file in found:
        assert replay(load(trace_file)).ok
    # Without --continue the same folder holds one run: the other properties' folders go.
    r = kripke("check", "two-phase-eager", "--no-symmetry", "--json", "--out", out)
    assert json.loads(r.stdout)["violations"] == [json.loads(r.stdout)["violation"]]
    assert sorted(p.name for p in out.iterdir()) == ["counterexample.dot", "counterexample.svg",
                                                     "trace.json"]


def test_continue_prints_every_counterexample():
    r = kripke("check", "two-phase-eager", "--no-symmetry", "--continue")
    assert r.exit_code == 1
    assert "also violated (--continue): tc_consistent, atomic_commit" in r.output
    assert r.output.count("violated (invariant) after 5 steps") == 2
    assert "refines_tcommit violated (refinement) after 4 steps" in r.output


def test_continue_on_a_model_that_needs_its_types_to_be_finite():
    """Overflow counts without end; the step out of its declared type is reported and not
    followed, so the search ends."""
    r = kripke("check", "tests/fixtures/long_runs.py:Overflow", "--continue", "--json")
    data = json.loads(r.stdout)
    assert (r.exit_code, data["distinct_states"]) == (1, 4)
    assert [(v["property"], v["kind"]) for v in data["violations"]] == [
        ("not_two", "invariant"), ("type_ok", "type")]


def test_the_constraint_is_counted_and_printed():
    r = kripke("check", "tests/fixtures/long_runs.py:Unbounded", "-p", "bound=5", "--json")
    data = json.loads(r.stdout)
    assert (r.exit_code, data["distinct_states"], data["outside_constraint"]) == (0, 6, 1)
    r = kripke("check", "tests/fixtures/long_runs.py:Unbounded", "-p", "bound=5")
    assert "1 successors outside the constraint within(): checked, not explored" in r.output


# -- --time-limit, --max-states, --workers -----------------------------------------------------------
@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
def test_time_limit_bounds_bfs_and_dfs(strategy):
    started = time.perf_counter()
    r = kripke("check", "two-phase", "-p", "rms=8", "--no-symmetry", "--strategy", strategy,
               "--time-limit", "0.5", "--json")
    data = json.loads(r.stdout)
    assert (r.exit_code, data["verdict"], data["bound"]) == (3, "incomplete", "time_limit=0.5")
    assert 0 < data["distinct_states"] < 1_745_408
    assert time.perf_counter() - started < 20


def test_max_states_stores_at_most_n_states():
    for n in (1, 7, 16):
        data = json.loads(kripke("check", "toy-grid", "--max-states", n, "--json").stdout)
        assert data["distinct_states"] == n
        assert data["verdict"] == ("ok" if n == 16 else "incomplete")  # 16 states in all


# -- Ctrl-C ------------------------------------------------------------------------------------------
def interrupted(*args, after=2.0):
    """Run ``kripke check *args`` in a process, send it SIGINT (Ctrl-C) after ``after``
    seconds; its exit code, stdout and stderr. (SIGINT is set to its default in the child: a
    process started from a non-interactive shell's background job inherits it ignored.)"""
    proc = subprocess.Popen([sys.executable, "-m", "kripke.cli", "check", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def test_ctrl_c_prints_the_counts_so_far_and_exits_130():
    code, out, err = interrupted("two-phase", "-p", "rms=9", "--no-symmetry", "--json")
    data = json.loads(out)
    assert (code, data["verdict"], data["violation"], data["bound"]) == (
        130, "interrupted", None, None)
    assert 0 < data["distinct_states"] < 10_340_352 and "Traceback" not in err
    code, out, err = interrupted("two-phase", "-p", "rms=9", "--no-symmetry")
    assert code == 130 and "two-phase (rms=9) bfs: INTERRUPTED" in out
    assert "interrupted (Ctrl-C or SIGTERM): the counts so far" in out
    assert re.search(r"^  [\d,]+ distinct states, [\d,]+ generated, depth \d+", out, re.M)


# -- progress ----------------------------------------------------------------------------------------
def counts(elapsed):
    return {"distinct": 1000 * elapsed, "generated": 5000 * elapsed, "queue": 10, "depth": 3,
            "elapsed": elapsed}


def test_progress_in_a_log_is_a_plain_line_every_five_seconds():
    log = io.StringIO()  # not a terminal
    shown = _Progress(stream=log)
    for second in range(2, 13):  # the engine reports every second after the first two
        shown(counts(second))
    shown.close()
    assert log.getvalue().splitlines() == [
        "kripke: 5 s: 5,000 distinct, 25,000 generated, queue 10, depth 3, 1,000 states/s",
        "kripke: 10 s: 10,000 distinct, 50,000 generated, queue 10, depth 3, 1,000 states/s",
    ]


def test_progress_on_a_terminal_is_live_and_erased():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    shown = _Progress(stream=screen)
    shown(counts(2))
    shown(counts(3))
    shown.close()
    shown_text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())  # rich's colours
    assert "2,000 distinct, 10,000 generated, queue 10, depth 3" in shown_text
    assert screen.getvalue().endswith("\x1b[2K")  # erased at the end


def test_progress_never_reaches_stdout(monkeypatch):
    """With --json, stdout is one JSON object however long the search: the progress lines go
    to stderr (here a clock that advances a second a reading makes every report due)."""
    import kripke.checkers.explicit as explicit
    clock = iter(range(0, 10 ** 9))
    monkeypatch.setattr(explicit.time, "perf_counter", lambda: next(clock))
    r = kripke("check", "two-phase", "-p", "rms=5", "--no-symmetry", "--json")
    assert json.loads(r.stdout)["distinct_states"] == 8832
    assert "kripke: " in r.stderr and " distinct, " in r.stderr


# -- review and graph: check's bounds and symmetry -----------------------------------------------------
def test_review_takes_checks_bounds_and_symmetry():
    assert {"--max-states", "--max-depth", "--time-limit", "--symmetry",
            "--no-symmetry"} <= options_of("review")
    r = kripke("review", "tcommit", "--max-depth", "3")
    assert r.exit_code == 0
    assert "**INCOMPLETE**: 19 distinct states, 70 generated, depth 3" in r.output
    assert "incomplete: the bound max_depth=3 was reached" in r.output
    r = kripke("review", "two-phase", "--symmetry")
    assert "**OK**: 80 distinct states, 318 generated, depth 11" in r.output  # orbits at rms=3
    assert kripke("review", "toy-grid", "--symmetry").exit_code == 2  # no symmetric domain


def test_graph_takes_checks_bounds_and_symmetry(tmp_path):
    assert {"--max-states", "--max-depth", "--symmetry", "--no-symmetry"} <= options_of("graph")
    out = tmp_path / "g.dot"
    r = kripke("graph", "tcommit", "--max-depth", "3", "-o", out)
    assert r.exit_code == 0 and 'label="tcommit: 19 states"' in out.read_text()
    assert "the 19 reachable states of the first 3 levels" in r.output
    r = kripke("graph", "tcommit", "--symmetry", "-o", out)
    assert r.exit_code == 0 and 'label="tcommit: 13 orbits"' in out.read_text()
    assert "kripke check --symmetry counts the same 13" in r.output  # as check counts them
    r = kripke("graph", "toy-grid", "--symmetry", "-o", out)
    assert r.exit_code == 2 and "toy-grid declares no symmetric domain" in r.output
    r = kripke("graph", "tests/fixtures/long_runs.py:Unbounded", "-o", out)
    assert 'label="Unbounded: 5 states"' in out.read_text()
    assert ("1 of the states is outside the constraint within(), drawn dashed and not "
            "explored") in r.output


def test_advice_names_options_that_exist(tmp_path):
    r = kripke("graph", "two-phase", "-o", tmp_path / "x.svg", "--max-states", "100")
    assert r.exit_code == 2
    advice = r.output.strip().splitlines()[-1]
    assert advice.startswith("kripke: error: two-phase has more than 100 reachable states: ")
    named = set(re.findall(r"--[a-z][a-z-]*", advice))
    assert named == {"--max-depth", "--symmetry", "--max-states"}
    assert named <= options_of("graph")
    page = tmp_path / "review.html"  # too many states to draw: a part, and the other views
    assert kripke("review", "two-phase", "-p", "rms=4", "-o", page).exit_code == 0
    text = page.read_text()
    caption = text[text.index("<h2>State diagram</h2>"):]
    caption = caption[:caption.index("</figcaption>")]
    assert "the neighbourhood of #0" in caption and "of the 1,568 reachable states" in caption
    named = set(re.findall(r"--[a-z][a-z-]*", caption))
    assert {"--max-nodes", "--around", "--components", "--symmetry"} <= named
    assert named <= options_of("graph")

"""``kripke bench --raft`` (issue 13, item 1): raft with symmetry in fresh processes, beside
another kripke's command line when asked."""

import json
import subprocess
import sys

from kripke import load_model
from kripke.checkers.bench import (run_bench, run_paxos_vector_bench, run_raft_bench,
                                   run_workers_bench)
from kripke.checkers.partition import choose
from tests.conftest import ROOT


def test_raft_row_beside_another_command_line():
    # This kripke against itself: the same counts, so the row is accepted and has a ratio.
    rows = run_raft_bench(repeat=2, against=f"{sys.executable} -m kripke.cli",
                          params=("-p", "servers=2"))
    assert len(rows) == 1
    r = rows[0]
    assert (r["model"], r["params"], r["symmetry"], r["verdict"]) == ("raft", "servers=2", True, "ok")
    assert (r["distinct_states"], r["states_generated"], r["runs"]) == (543, 1764, 2)
    assert r["seconds"] > 0 and r["baseline_seconds"] > 0 and r["peak_rss_mb"] > 0
    assert r["ratio_to_baseline"] == r["baseline_seconds"] / r["seconds"]


def test_bench_raft_on_the_command_line():
    proc = subprocess.run([sys.executable, "-m", "kripke.cli", "bench", "--raft", "-p", "servers=2",
                           "--repeat", "1", "--json"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)["rows"]
    assert (row["model"], row["distinct_states"], row["symmetry"]) == ("raft", 543, True)
    assert "baseline_seconds" not in row


def test_against_needs_raft():
    proc = subprocess.run([sys.executable, "-m", "kripke.cli", "bench", "--against", "x"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and "--against and -p need --raft" in proc.stderr


def test_workers_rows_compare_equal_counts():
    """kripke bench --workers 2: each case's two rows (one process, two workers) explored the
    same states; the second carries the speed-up."""
    rows = run_workers_bench([4], 2, repeat=1, raft_params=("-p", "servers=2"))
    assert [(r["model"], r["workers"]) for r in rows] == [
        ("two-phase", 1), ("two-phase", 2), ("raft", 1), ("raft", 2)]
    assert rows[0]["distinct_states"] == rows[1]["distinct_states"] == 1568
    assert rows[2]["distinct_states"] == rows[3]["distinct_states"]
    assert rows[1]["speedup"] == rows[0]["seconds"] / rows[1]["seconds"] > 0
    assert "speedup" not in rows[0]
    assert rows[1]["partition"] == choose(load_model("two-phase")(rms=4), 2, False).describe()


def test_memory_budget_row():
    """--memory reaches every run (a budget the run cannot keep stops it: incomplete)."""
    ok = run_bench([3], repeat=1, memory="4GB")
    assert {r["verdict"] for r in ok} == {"ok"} and ok[0]["memory"] == "4GB"
    tight = run_bench([5], repeat=1, memory="1MB")
    assert {r["verdict"] for r in tight} == {"incomplete"}


def test_paxos_rows_compare_the_engines():
    """kripke bench --engine vector --paxos: paxos on both engines, the same states (here at its
    defaults, Paxos.tla's 3,921), the vector engine's speed-up on the plain row."""
    rows = run_paxos_vector_bench(repeat=1, params=())
    assert [(r["model"], r["engine"], r["distinct_states"]) for r in rows] == [
        ("paxos", "plain", 3921), ("paxos", "vector", 3921)]
    assert rows[0]["vector_speedup"] == rows[0]["seconds"] / rows[1]["seconds"] > 0
    assert rows[1]["vector_speedup"] == 1

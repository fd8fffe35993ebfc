"""``kripke bench --raft`` (issue 13, item 1): raft with symmetry in fresh processes, beside
another kripke's command line when asked."""

import json
import subprocess
import sys

from kripke.checkers.bench import run_raft_bench
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

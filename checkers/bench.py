"""``kripke bench``: explore two-phase without symmetry at several sizes, each run in a fresh
process so that its peak memory (``ru_maxrss``) is its own.

Two configurations per size: every property of the model (type_ok, tc_consistent, the refinement
of TCommit, two sometimes-properties) and ``tc_consistent`` alone, the property a plain BFS checks.
With ``--baseline naive_twophase.py`` the plain BFS runs in the same session, interleaved with
kripke's runs, and the ratio of medians is reported (> 1: kripke is faster). Times are the search
times each program reports (interpreter start-up excluded on both sides).
"""

import json
import os
import re
import statistics
import subprocess
import sys

__all__ = ["run_bench"]

CONFIGS = (("all", ()), ("tc_consistent", ("--property", "tc_consistent")))


def _run(argv):
    """Run a command; return its stdout and its peak resident memory in MB."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1, 3):
        raise RuntimeError(f"{' '.join(argv)} failed: {err.decode().strip()}")
    return out.decode(), usage.ru_maxrss / 1024


def _kripke(rms, extra):
    argv = [sys.executable, "-m", "kripke.cli", "check", "two-phase", "-p", f"rms={rms}",
            "--no-symmetry", "--json", *extra]
    out, peak = _run(argv)
    return json.loads(out), peak


def _baseline(path, rms):
    out, peak = _run([sys.executable, path, str(rms)])
    seconds = float(re.search(r"time=([0-9.]+)s", out).group(1))
    states = int(re.search(r"states=(\d+)", out).group(1))
    return seconds, states, peak


def run_bench(sizes, repeat=3, baseline=None):
    rows = []
    for rms in sizes:
        runs = {name: [] for name, _ in CONFIGS}
        base = []
        for _ in range(repeat):
            for name, extra in CONFIGS:
                runs[name].append(_kripke(rms, extra))
            if baseline:
                base.append(_baseline(baseline, rms))
        for name, _ in CONFIGS:
            results = runs[name]
            seconds = statistics.median(r["elapsed_s"] for r, _ in results)
            first = results[0][0]
            row = {"model": "two-phase", "rms": rms, "properties": name,
                   "distinct_states": first["distinct_states"],
                   "states_generated": first["states_generated"],
                   "verdict": first["verdict"], "seconds": seconds,
                   "states_per_s": first["distinct_states"] / seconds,
                   "peak_rss_mb": max(p for _, p in results), "runs": repeat}
            if base:
                base_s = statistics.median(b[0] for b in base)
                if base[0][1] != first["distinct_states"]:
                    raise RuntimeError(f"baseline found {base[0][1]} states, kripke "
                                       f"{first['distinct_states']}")
                row.update(baseline_seconds=base_s, ratio_to_baseline=base_s / seconds,
                           baseline_peak_rss_mb=max(b[2] for b in base))
            rows.append(row)
    return rows

"""``kripke bench``: explore two-phase without symmetry at several sizes, each run in a fresh
process so that its peak memory (``ru_maxrss``) is its own.

Two configurations per size: every property of the model (type_ok, tc_consistent, the refinement
of TCommit, two sometimes-properties) and ``tc_consistent`` alone, the property a plain BFS checks.
With ``--baseline naive_twophase.py`` the plain BFS runs in the same session, interleaved with
kripke's runs, and the ratio of medians is reported (> 1: kripke is faster). Times are the search
times each program reports (interpreter start-up excluded on both sides).

``--liveness`` (issue 11, item 8) times a temporal property beside the safety run of the same
model, both without symmetry (a temporal property turns it off): two-phase's
``rm_learns_outcome`` at each size and commit-2pc's ``participants_decide`` at its defaults.
The safety run checks the model's default properties; the liveness run the temporal property
alone, which records the whole graph and looks for a fair lasso.

``--workers N`` (issue 13, item 4) times the partitioned search with N worker processes beside
the one-process search, interleaved, on two-phase at each size and on raft at its defaults
without symmetry, and reports the speed-up (the ratio of the medians); the counts of the two
must be equal. ``--memory SIZE`` passes kripke's memory budget to every run (the frontier spills
to disk past half of it), so that ``--sizes 9 --memory 600MB`` shows two-phase with 9 RMs
(10,340,352 states) within 600 MB.

``--engine vector`` (issue 14, item 6) times, interleaved at each size: two-phase on the
vectorised engine (``tc_consistent`` alone, deadlock checked, the tracing included in its time),
the same with every default property (``vec-all``: the refinement of TCommit too, which the
plain BFS and SPIN do not check), the same on the plain engine up to 8 RMs (9 takes it minutes), the hand-written numpy BFS
(``--baseline``, by default ``../shared/bench/numpy_twophase.py``) and SPIN 6.5 on the same
model (``../shared/bench/twophase.pml``: ``spin -a -DN=n``, then ``gcc -O2 -DNOREDUCE``, compiled
once per size, outside the timing; pan's own "elapsed time"). A program that is not there is
left out, and the rows say so.

``--raft`` (issue 13, item 1) times ``kripke check raft`` at its defaults, with symmetry, in a
fresh process per run. With ``--against CMD`` the same check runs, interleaved, through another
kripke's command line (``CMD check raft --json``; e.g. a worktree of an older commit on
PYTHONPATH, whose CLI was ``checkers.cli``), and the ratio of medians is reported (> 1: this
kripke is faster).
"""

import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile

__all__ = ["run_bench", "run_liveness_bench", "run_paxos_vector_bench", "run_raft_bench",
           "run_vector_bench", "run_workers_bench"]

#: the scripts the vectorised engine is measured against, beside the project
SHARED_BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            os.pardir, "shared", "bench")

CONFIGS = (("all", ()), ("tc_consistent", ("--property", "tc_consistent")))
#: (model, parameters, temporal property) for ``--liveness``; ``{rms}`` is the size
LIVENESS = (("two-phase", ("-p", "rms={rms}"), "rm_learns_outcome"),
            ("commit-2pc", (), "participants_decide"))


def _run(argv, cwd=None):
    """Run a command; return its stdout and its peak resident memory in MB."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1, 3):
        raise RuntimeError(f"{' '.join(argv)} failed: {err.decode().strip()}")
    return out.decode(), usage.ru_maxrss / 1024


def _kripke(rms, extra, model="two-phase", params=None):
    params = ("-p", f"rms={rms}") if params is None else params
    argv = [sys.executable, "-m", "kripke.cli", "check", model, *params, "--no-symmetry",
            "--json", *extra]
    out, peak = _run(argv)
    return json.loads(out), peak


def _baseline(path, rms):
    out, peak = _run([sys.executable, path, str(rms)])
    seconds = float(re.search(r"time=([0-9.]+)s", out).group(1))
    states = int(re.search(r"states=(\d+)", out).group(1))
    return seconds, states, peak


def run_bench(sizes, repeat=3, baseline=None, memory=None):
    rows = []
    budget = ("--memory", memory) if memory else ()
    for rms in sizes:
        runs = {name: [] for name, _ in CONFIGS}
        base = []
        for _ in range(repeat):
            for name, extra in CONFIGS:
                runs[name].append(_kripke(rms, extra + budget))
            if baseline:
                base.append(_baseline(baseline, rms))
        for name, _ in CONFIGS:
            results = runs[name]
            seconds = statistics.median(r["elapsed_s"] for r, _ in results)
            first = results[0][0]
            row = {"model": "two-phase", "rms": rms, "properties": name, "memory": memory,
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


def run_liveness_bench(sizes, repeat=3):
    """Rows of ``kripke bench --liveness``: per model and size, the safety run and the liveness
    run (medians of ``repeat`` interleaved runs, peak memory the largest), the liveness row with
    its time and memory as ratios to the safety row's."""
    rows = []
    for model, params, prop in LIVENESS:
        for rms in (sizes if any("{rms}" in p for p in params) else [None]):
            argv = tuple(p.format(rms=rms) for p in params)
            runs = {"safety": [], "liveness": []}
            for _ in range(repeat):
                runs["safety"].append(_kripke(rms, (), model, argv))
                runs["liveness"].append(_kripke(rms, ("--property", prop), model, argv))
            pair = []
            for name, results in runs.items():
                first = results[0][0]
                pair.append({"model": model, "params": " ".join(argv[1::2]), "run": name,
                             "properties": ", ".join(first["properties"]),
                             "distinct_states": first["distinct_states"],
                             "states_generated": first["states_generated"],
                             "verdict": first["verdict"],
                             "seconds": statistics.median(r["elapsed_s"] for r, _ in results),
                             "peak_rss_mb": max(p for _, p in results), "runs": repeat})
            safety, liveness = pair
            if safety["distinct_states"] != liveness["distinct_states"]:
                raise RuntimeError(f"{model}: the liveness run explored "
                                   f"{liveness['distinct_states']} states, the safety run "
                                   f"{safety['distinct_states']}")
            liveness.update(time_ratio=liveness["seconds"] / safety["seconds"],
                            memory_ratio=liveness["peak_rss_mb"] / safety["peak_rss_mb"])
            rows += pair
    return rows


def _median_row(results, **head):
    """A row from ``(json, peak MB)`` runs of one configuration: medians of the search times."""
    first = results[0][0]
    seconds = statistics.median(r["elapsed_s"] for r, _ in results)
    return dict(head, distinct_states=first["distinct_states"],
                states_generated=first["states_generated"], verdict=first["verdict"],
                seconds=seconds, states_per_s=first["distinct_states"] / seconds,
                peak_rss_mb=max(p for _, p in results), runs=len(results))


def run_raft_bench(repeat=3, against=None, params=()):
    """Rows of ``kripke bench --raft``: raft at its defaults (``params``: ``-p`` options) with
    symmetry, each run a fresh process; with ``against`` (a command prefix, split like a shell
    line), the same check through that command, interleaved with kripke's runs, and the ratio
    of the medians of the two. Run from a temporary directory, so that an older checkout on
    PYTHONPATH is not shadowed by this repository's folders."""
    import tempfile
    runs, base = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            runs.append(_kripke(None, ("--symmetry",), "raft", params))  # the last flag wins
            if against:
                argv = [*shlex.split(against), "check", "raft", *params, "--json"]
                out, peak = _run(argv, cwd=tmp)
                base.append((json.loads(out), peak))
    row = _median_row(runs, model="raft", params=" ".join(params[1::2]) or "defaults",
                      symmetry=True, properties="all")
    if base:
        if base[0][0]["distinct_states"] != row["distinct_states"]:
            raise RuntimeError(f"{against} found {base[0][0]['distinct_states']} states, kripke "
                               f"{row['distinct_states']}")
        base_s = statistics.median(r["elapsed_s"] for r, _ in base)
        row.update(baseline=against, baseline_seconds=base_s,
                   ratio_to_baseline=base_s / row["seconds"],
                   baseline_peak_rss_mb=max(p for _, p in base))
    return [row]


def run_workers_bench(sizes, workers, repeat=3, raft_params=()):
    """Rows of ``kripke bench --workers N``: two-phase at each size and raft (at its defaults,
    or ``raft_params``), both without symmetry, each with one process and with ``workers``,
    interleaved; the ``workers`` row has ``speedup`` (median one-process time / median time
    with workers) and the ``partition`` the shards used (``checkers.partition``)."""
    rows = []
    cases = [("two-phase", ("-p", f"rms={rms}")) for rms in sizes] + [("raft", raft_params)]
    for model, params in cases:
        one, many = [], []
        for _ in range(repeat):
            one.append(_kripke(None, (), model, params))
            many.append(_kripke(None, ("--workers", str(workers)), model, params))
        head = {"model": model, "params": " ".join(params[1::2]) or "defaults",
                "symmetry": False}
        a = _median_row(one, workers=1, **head)
        b = _median_row(many, workers=workers, **head)
        for key in ("distinct_states", "states_generated", "verdict"):
            if a[key] != b[key]:
                raise RuntimeError(f"{model}: {key} {b[key]} with {workers} workers, {a[key]} "
                                   "with one process")
        b["speedup"] = a["seconds"] / b["seconds"]
        b["partition"] = many[0][0]["partition"]
        rows += [a, b]
    return rows


#: paxos at the size the plain engine takes about a minute for (issue 14, item 6): 3
#: acceptors, ballots 0..2, 4 values (612,185 states; 40 s here). Ballots 0..3 take it 9 minutes.
PAXOS = ("-p", "max_ballot=2", "-p", "values=4")


def run_paxos_vector_bench(repeat=3, params=PAXOS):
    """Rows of ``kripke bench --engine vector --paxos``: paxos (``params``) on the plain and
    the vectorised engine, interleaved, each run a fresh process; each row has the median
    seconds, the peak memory, the distinct states (which must agree) and ``vector_speedup``
    (its median over the vector engine's)."""
    runs = {"plain": [], "vector": []}
    for _ in range(repeat):
        for engine, results in runs.items():
            results.append(_kripke(None, ("--engine", engine), "paxos", params))
    rows = [_median_row(results, model="paxos", params=" ".join(params[1::2]) or "defaults",
                        engine=engine) for engine, results in runs.items()]
    if rows[0]["distinct_states"] != rows[1]["distinct_states"]:
        raise RuntimeError(f"paxos: {rows[1]['distinct_states']} states on the vector engine, "
                           f"{rows[0]['distinct_states']} on the plain one")
    for row in rows:
        row["vector_speedup"] = row["seconds"] / rows[1]["seconds"]
    return rows


def _spin(pml, rms, folder):
    """Compile SPIN's verifier for ``pml`` with ``rms`` resource managers in ``folder``; the
    path of ``pan``, or None without spin or gcc."""
    if not (shutil.which("spin") and shutil.which("gcc")):
        return None
    shutil.copy(pml, folder)
    name = os.path.basename(pml)
    for argv in (["spin", "-a", f"-DN={rms}", name], ["gcc", "-O2", "-DNOREDUCE", "-o", "pan",
                                                      "pan.c"]):
        proc = subprocess.run(argv, cwd=folder, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"{' '.join(argv)} failed: {proc.stderr.strip()}")
    return os.path.join(folder, "pan")


def _pan(pan):
    out, peak = _run([pan], cwd=os.path.dirname(pan))
    seconds = float(re.search(r"elapsed time ([0-9.e+-]+) seconds", out).group(1))
    states = int(re.search(r"(\d+) states, stored", out).group(1))
    return seconds, states, peak


def run_vector_bench(sizes, repeat=3, baseline=None, promela=None):
    """Rows of ``kripke bench --engine vector``: per size, the vectorised engine, the plain one
    (up to 8 RMs), the hand-written numpy BFS and SPIN, interleaved; each row has the median
    seconds, the peak memory and the distinct states, which must agree."""
    baseline = baseline or os.path.join(SHARED_BENCH, "numpy_twophase.py")
    promela = promela or os.path.join(SHARED_BENCH, "twophase.pml")
    rows = []
    with tempfile.TemporaryDirectory(prefix="kripke-bench-") as folder:
        for rms in sizes:
            pan = _spin(promela, rms, folder) if os.path.exists(promela) else None
            runs = {"vector": [], "vec-all": [], "plain": [], "numpy": [], "spin": []}
            tc = ("--property", "tc_consistent")
            for _ in range(repeat):
                r, peak = _kripke(rms, ("--engine", "vector") + tc)
                runs["vector"].append((r["elapsed_s"], r["distinct_states"], peak))
                r, peak = _kripke(rms, ("--engine", "vector"))
                runs["vec-all"].append((r["elapsed_s"], r["distinct_states"], peak))
                if rms <= 8:
                    r, peak = _kripke(rms, tc)
                    runs["plain"].append((r["elapsed_s"], r["distinct_states"], peak))
                if os.path.exists(baseline):
                    runs["numpy"].append(_baseline(baseline, rms))
                if pan is not None:
                    runs["spin"].append(_pan(pan))
            vector = statistics.median(t for t, _, _ in runs["vector"])
            for name, results in runs.items():
                if not results:
                    continue
                states = {n for _, n, _ in results} | {runs["vector"][0][1]}
                if len(states) != 1:
                    raise RuntimeError(f"rms={rms}: {name} found {sorted(states)} states")
                seconds = statistics.median(t for t, _, _ in results)
                rows.append({"model": "two-phase", "rms": rms, "program": name,
                             "distinct_states": results[0][1], "seconds": seconds,
                             "peak_rss_mb": max(p for _, _, p in results), "runs": repeat,
                             "vector_speedup": seconds / vector})
    return rows

"""The ``kripke`` command: its outputs, the JSON contract, exit codes 0/1/2/3, bad input."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, fixture_model, kripke



def test_list_shows_models_params_and_properties():
    out = kripke("list").output
    assert "two-phase: TwoPhase.tla" in out
    assert "-p rms=3: number of resource managers (TLA+ RM) (>= 1, <= 64)" in out
    assert "tc_consistent (invariant)" in out and "commit_possible (sometimes)" in out


def test_check_ok_prints_counts_and_exits_0():
    r = kripke("check", "two-phase", "-p", "rms=3", "--no-symmetry")
    assert r.exit_code == 0
    assert "two-phase (rms=3) bfs: OK" in r.output
    assert "288 distinct states, 1,146 generated, depth 11" in r.output
    assert "fingerprint collision probability" in r.output


def test_check_json_contract():
    r = kripke("check", "two-phase", "-p", "rms=3", "--no-symmetry", "--json")
    data = json.loads(r.output)
    assert r.exit_code == 0
    for key in ("model", "params", "strategy", "symmetry", "verdict", "distinct_states",
                "states_generated", "depth", "elapsed_s", "properties", "coverage",
                "violation"):
        assert key in data
    assert (data["model"], data["params"], data["strategy"], data["symmetry"]) == (
        "two-phase", {"rms": 3}, "bfs", False)
    assert (data["verdict"], data["distinct_states"], data["states_generated"], data["depth"]) == (
        "ok", 288, 1146, 11)
    assert data["violation"] is None
    assert data["coverage"]["tm_commit"] == {"fired": 1, "new": 1}


def test_check_violation_writes_trace_and_drawings(tmp_path):
    out = tmp_path / "out"
    r = kripke("check", "two-phase-eager", "--property", "tc_consistent", "--out", out, "--json")
    assert r.exit_code == 1
    v = json.loads(r.output)["violation"]
    assert (v["property"], v["kind"], v["length"]) == ("tc_consistent", "invariant", 5)
    assert v["trace_file"] == str(out / "trace.json")
    assert {p.name for p in out.iterdir()} == {"trace.json", "counterexample.dot",
                                             "counterexample.svg"}
    assert (out / "counterexample.svg").read_text().lstrip().startswith("<?xml")
    assert "rm_rcv_commit_msg(rm=0)" in (out / "counterexample.dot").read_text()

    r = kripke("replay", out / "trace.json")
    assert (r.exit_code, r.output) == (0, "ok: reproduced: tc_consistent violated after 5 steps\n")
    for suffix in ("dot", "svg", "html"):
        r = kripke("render", out / "trace.json", "-o", tmp_path / f"drawn.{suffix}")
        assert r.exit_code == 0 and (tmp_path / f"drawn.{suffix}").stat().st_size > 200


def test_check_violation_prints_the_counterexample():
    r = kripke("check", "two-phase-eager", "--property", "tc_consistent")
    assert r.exit_code == 1
    assert "two-phase-eager (rms=3): tc_consistent violated (invariant) after 5 steps" in r.output
    assert "rm_state[0]: prepared -> committed" in r.output


def test_replay_of_a_diverging_trace_exits_1(tmp_path):
    kripke("check", "two-phase-eager", "--property", "tc_consistent", "--out", tmp_path)
    data = json.loads((tmp_path / "trace.json").read_text())
    data["steps"][4]["state"]["rm_state"][1] = "prepared"
    (tmp_path / "trace.json").write_text(json.dumps(data))
    r = kripke("replay", tmp_path / "trace.json")
    assert r.exit_code == 1
    assert r.output.startswith("diverges: step 4: rm_choose_to_abort(rm=1) leads to a different")


def test_incomplete_search_exits_3():
    r = kripke("check", "two-phase", "--max-states", "50", "--json")
    data = json.loads(r.output)
    assert (r.exit_code, data["verdict"], data["distinct_states"]) == (3, "incomplete", 50)
    assert kripke("check", "two-phase", "--max-depth", "3").exit_code == 3
    assert kripke("check", "two-phase", "--strategy", "simulate").exit_code == 3


def test_dfs_and_symmetry_options():
    data = json.loads(kripke("check", "two-phase", "-p", "rms=4", "--strategy", "dfs",
                             "--json").output)
    assert (data["strategy"], data["symmetry"], data["distinct_states"]) == ("dfs", True, 166)


def test_model_from_a_file():
    r = kripke("check", fixture_model("OutOfType"), "--json")
    data = json.loads(r.output)
    assert (r.exit_code, data["violation"]["property"]) == (1, "type_ok")
    assert data["model"] == fixture_model("OutOfType")


def test_deadlock_switch():
    assert kripke("check", "toy-stuck-counter").exit_code == 1
    assert kripke("check", "toy-stuck-counter", "--no-deadlock").exit_code == 0


@pytest.mark.parametrize("args,message", [
    (["check", "nope"], "unknown model 'nope'; available: "),
    (["check", "two-phase", "-p", "servers=3"],
     "unknown parameter of two-phase 'servers'; available: rms"),
    (["check", "two-phase", "-p", "rms=many"], "parameter rms: expected int, got 'many'"),
    (["check", "two-phase", "-p", "rms=0"], "parameter rms: must be >= 1, got 0"),
    (["check", "two-phase", "-p", "rms"], "-p expects name=value"),
    (["check", "two-phase", "--property", "safety"],
     "unknown property of two-phase 'safety'; available: abort_possible, atomic_commit"),
    (["check", "two-phase", "--continue", "--strategy", "simulate"],
     "--continue: --strategy simulate stops at its first violation; use --strategy bfs or dfs"),
    (["check", "toy-grid", "--symmetry"], "toy-grid declares no symmetric domain"),
    (["check", fixture_model("NotAModel")], "NotAModel is not a model"),
    (["check", "tests/fixtures/fails_import.py:X"], "failed to import: RuntimeError"),
    (["check", "tests/fixtures/bad_arity.py:BadArity"], "BadArity.step takes 1 argument"),
    (["check", fixture_model("MutableInit")], "state field 'log' holds a mutable list"),
    (["check", fixture_model("MutableStep")], "state field 'log' holds a mutable list"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    r = kripke(*args)
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kripke: error: ")
    assert message in lines[0]


@pytest.mark.parametrize("content,message", [
    ("{ broken", "is not JSON"),
    ('{"format": "kripke-trace", "version": 7}', "trace version 7"),
    ('[1, 2]', "not a kripke trace"),
])
def test_corrupt_trace_files_are_exit_2(tmp_path, content, message):
    path = tmp_path / "t.json"
    path.write_text(content)
    for args in (["replay", path], ["render", path, "-o", tmp_path / "x.svg"]):
        r = kripke(*args)
        assert r.exit_code == 2 and message in r.output


def test_trace_of_another_model_is_exit_2(tmp_path):
    kripke("check", "toy-counter", "-p", "limit=2", "--out", tmp_path)
    data = json.loads((tmp_path / "trace.json").read_text())
    data["model"], data["params"] = "tcommit", {}
    (tmp_path / "trace.json").write_text(json.dumps(data))
    r = kripke("replay", tmp_path / "trace.json")
    assert r.exit_code == 2 and "a trace of another model?" in r.output


def test_render_rejects_unknown_formats(tmp_path):
    kripke("check", "toy-counter", "-p", "limit=2", "--out", tmp_path)
    r = kripke("render", tmp_path / "trace.json", "-o", tmp_path / "x.pdf")
    assert r.exit_code == 2 and "must end in .dot, .svg or .html" in r.output


def test_bench_runs_in_fresh_processes():
    r = kripke("bench", "--sizes", "3", "--repeat", "1", "--json")
    rows = json.loads(r.output)["rows"]
    assert [(row["rms"], row["properties"], row["distinct_states"], row["states_generated"])
            for row in rows] == [(3, "all", 288, 1146), (3, "tc_consistent", 288, 1146)]
    assert all(row["peak_rss_mb"] > 0 and row["seconds"] > 0 for row in rows)


def test_the_installed_command_runs():
    proc = subprocess.run([sys.executable, "-m", "kripke.cli", "check", "tcommit", "--json",
                           "--no-symmetry"], cwd=ROOT, capture_output=True, text=True)
    data = json.loads(proc.stdout)
    assert (proc.returncode, data["distinct_states"], data["states_generated"], data["depth"]) == (
        0, 34, 94, 7)


def test_progress_is_reported_for_long_searches(monkeypatch):
    """The engine reports counts every second after the first two; the CLI shows them live."""
    import kripke.checkers.explicit as explicit
    from kripke.cli import _Progress
    from kripke.models.two_phase import TwoPhase
    clock = iter(range(0, 10**9, 1))  # every reading of the clock is one second later
    monkeypatch.setattr(explicit.time, "perf_counter", lambda: next(clock))
    reports = []
    explicit.check(TwoPhase(rms=5), symmetry=False, progress=reports.append)
    assert reports and reports[-1]["distinct"] <= 8832
    assert set(reports[0]) == {"distinct", "generated", "queue", "depth", "elapsed"}
    shown = _Progress()
    shown(reports[-1])
    shown.close()


def test_graph_draws_every_state(tmp_path):
    out = tmp_path / "breaker.svg"
    r = kripke("graph", "circuit-breaker", "--cluster", "circuit", "--field", "now", "-o", out)
    assert r.exit_code == 0 and "cluster" in out.read_text()
    r = kripke("graph", "two-phase", "-o", tmp_path / "x.svg", "--max-states", "100")
    assert r.exit_code == 2 and "more than 100 reachable states" in r.output


def test_history_checks_a_recorded_history(tmp_path):
    r = kripke("history", "tests/histories/stale_read.json")
    assert r.exit_code == 1
    assert r.output.splitlines()[0].startswith("linearizability: violated (key 0")
    assert "sequential_consistency: ok" in r.output
    r = kripke("history", "tests/histories/stale_read.json", "--level", "sequential_consistency",
               "--json")
    data = json.loads(r.output)
    assert (r.exit_code, data["verdict"], data["levels"]["sequential_consistency"]["verdict"]) == (
        0, "ok", "ok")
    (tmp_path / "bad.json").write_text('{"format": "kripke-history", "version": 9}')
    r = kripke("history", tmp_path / "bad.json")
    assert r.exit_code == 2 and r.output.startswith("kripke: error: ")
    r = kripke("history", "tests/histories/stale_read.json", "--level", "strong")
    assert r.exit_code == 2 and "unknown consistency level 'strong'" in r.output


def test_review_documents_a_model(tmp_path):
    r = kripke("review", "tcommit")
    assert r.exit_code == 0
    assert r.output.startswith("# Spec review: tcommit")
    assert "**OK**: 34 distinct states, 94 generated, depth 7" in r.output
    assert "| prepare | Prepare(rm): a working RM prepares. | 27 | 7 |" in r.output
    assert "| decide | Decide(rm): commit if every RM can commit; abort if nobody has committed. | 66 | 26 |" in r.output
    assert "| tc_consistent | invariant |" in r.output
    out = tmp_path / "review.html"
    assert kripke("review", "tcommit", "-o", out).exit_code == 0
    page = out.read_text()
    assert "<h2>State diagram</h2>" in page and "<svg" in page
    assert kripke("review", "tcommit", "-o", tmp_path / "x.pdf").exit_code == 2


def test_a_model_without_properties_says_what_was_checked(tmp_path):
    (tmp_path / "bare.py").write_text(
        "from kripke import Int, TransitionSystem, action\n\n\n"
        "class Bare(TransitionSystem):\n"
        "    variables = {'x': Int(0, 2)}\n\n"
        "    def init(self):\n        yield self.State(x=0)\n\n"
        "    @action\n    def inc(self, s):\n        if s.x < 2:\n"
        "            return s.set(x=s.x + 1)\n")
    r = kripke("check", f"{tmp_path}/bare.py:Bare")
    assert r.exit_code == 1  # x = 2 is a deadlock: the one thing checked besides the types
    assert "properties: none; only deadlock and the declared types were checked" in r.output
    r = kripke("check", f"{tmp_path}/bare.py:Bare", "--no-deadlock")
    assert r.exit_code == 0
    assert "properties: none; only the declared types were checked" in r.output

"""Output never loses a result, and JSON for CI (issue 10, items 5 and 9).

* The verdict (and the JSON) is printed before any file is written; a file that cannot be
  written after it is one line on stderr and leaves the exit code the verdict's.
* Without Graphviz's ``dot``: trace.json and the .dot files, no .svg, one line; never a 0-byte
  file.
* An unwritable ``--out`` / ``-o`` is exit 2 in one line, found before the search.
* ``--out`` holds one run.
* Traces of a file model name the file, and replay loads that file.
* Every JSON object carries ``kripke_version`` and ``schema``; bad input under ``--json`` is a
  JSON object too; ``--json --trace`` carries the counterexample.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

import kripke
from kripke.traces.trace import from_json, replay
from tests.conftest import ROOT, kripke as kripke_cli

EAGER = ["check", "two-phase-eager", "--property", "tc_consistent"]
PINGPONG = ["check", "toy-pingpong"]  # message passing: in_order fails after 4 steps



def files(folder):
    """The names in ``folder``, and none of them empty."""
    names = {p.name for p in Path(folder).iterdir()}
    assert [n for n in names if (Path(folder) / n).stat().st_size == 0] == []
    return names


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """A PATH on which Graphviz's dot cannot be found (the graphviz library runs it by name)."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert shutil.which("dot") is None


def refuse_search(monkeypatch):
    """Fail the test if a search starts from now on: bad output paths are found before it."""
    import kripke.checkers.explicit as explicit

    def refuse(*args, **kwargs):
        raise AssertionError("the search ran before the output path was tried")
    monkeypatch.setattr(explicit, "check", refuse)


# -- the verdict first -----------------------------------------------------------------------
def test_a_file_that_cannot_be_written_after_the_search_loses_nothing(tmp_path, monkeypatch):
    import kripke.traces.render as render

    def disk_full(graph, path):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(render, "write_drawing", disk_full)
    r = kripke_cli(*EAGER, "--out", tmp_path / "out", "--json")
    assert r.exit_code == 1
    assert json.loads(r.stdout)["violation"]["length"] == 5
    assert r.stderr == (f"kripke: --out {tmp_path / 'out'}: the counterexample could not be "
                        "written: No space left on device\n")
    assert files(tmp_path / "out") == {"trace.json"}  # written before the drawings

    r = kripke_cli(*EAGER, "--out", tmp_path / "out")
    assert r.exit_code == 1
    assert "tc_consistent violated (invariant) after 5 steps" in r.stdout
    assert f"replay: kripke replay {tmp_path / 'out' / 'trace.json'}" in r.stdout


# -- without Graphviz's dot ------------------------------------------------------------------
def test_without_dot_check_writes_the_trace_and_the_dot_files(tmp_path, no_dot):
    out = tmp_path / "out"
    r = kripke_cli(*PINGPONG, "--out", out, "--json")
    assert r.exit_code == 1
    assert json.loads(r.stdout)["violation"]["property"] == "in_order"
    # the sequence chart is SVG that kripke writes itself: it needs no dot
    assert files(out) == {"trace.json", "counterexample.dot", "msc.svg"}
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and "install graphviz" in lines[0], r.stderr
    assert lines[0].startswith("kripke: no .svg drawing: Graphviz's dot was not found")
    assert replay(from_json(json.loads((out / "trace.json").read_text()))).ok


def test_without_dot_a_subprocess_check_exits_with_its_verdict(tmp_path):
    """As a user's shell runs it: a PATH holding only the virtualenv's folder and an empty one."""
    venv_bin = Path(sys.executable).parent
    if (venv_bin / "dot").exists():
        pytest.skip(f"{venv_bin} holds a dot")
    (tmp_path / "bin").mkdir()
    env = {**os.environ, "PATH": f"{venv_bin}:{tmp_path / 'bin'}"}
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "kripke.cli", *EAGER, "--out", out],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "tc_consistent violated (invariant) after 5 steps" in proc.stdout
    assert files(out) == {"trace.json", "counterexample.dot"}
    assert proc.stderr.count("\n") == 1 and "install graphviz" in proc.stderr


def test_without_dot_render_and_graph_refuse_an_svg_and_write_nothing(tmp_path, no_dot):
    kripke_cli(*EAGER, "--out", tmp_path / "out")
    trace = tmp_path / "out" / "trace.json"
    for args in (["render", trace], ["graph", "toy-counter"]):
        r = kripke_cli(*args, "-o", tmp_path / "x.svg")
        assert r.exit_code == 2 and r.stdout == "", (args, r.output)
        assert r.stderr == (f"kripke: error: -o {tmp_path / 'x.svg'}: cannot draw it: Graphviz's "
                            "dot was not found: install graphviz (apt install graphviz, brew "
                            f"install graphviz) (or write the source: -o {tmp_path / 'x.dot'})\n")
        assert not (tmp_path / "x.svg").exists()
    assert kripke_cli("render", trace, "-o", tmp_path / "x.dot").exit_code == 0
    assert kripke_cli("graph", "toy-counter", "-o", tmp_path / "g.dot").exit_code == 0
    # the sequence chart of a message-passing model is drawn without dot
    kripke_cli(*PINGPONG, "--out", tmp_path / "ping")
    r = kripke_cli("render", tmp_path / "ping" / "trace.json", "--msc", "-o", tmp_path / "m.svg")
    assert r.exit_code == 0 and (tmp_path / "m.svg").read_text().startswith("<svg")
    assert files(tmp_path) >= {"x.dot", "g.dot"}


def test_without_dot_html_pages_are_written_without_their_drawing(tmp_path, no_dot):
    kripke_cli(*EAGER, "--out", tmp_path / "out")
    for args, page in ((["render", tmp_path / "out" / "trace.json"], "report.html"),
                       (["review", "tcommit"], "review.html")):
        r = kripke_cli(*args, "-o", tmp_path / page)
        assert (r.exit_code, r.stdout) == (0, f"wrote {tmp_path / page}\n")
        assert r.stderr == (f"kripke: {tmp_path / page} is written without its drawing: "
                            "Graphviz's dot was not found: install graphviz (apt install "
                            "graphviz, brew install graphviz)\n")
        text = (tmp_path / page).read_text()
        assert "<svg" not in text and "install graphviz" in text


# -- an output path that cannot be written ---------------------------------------------------
def bad_paths(tmp_path):
    """(path, what the one line says) for a missing parent and files in the way."""
    (tmp_path / "a_file").write_text("mine\n")
    return [(tmp_path / "missing" / "x", "does not exist"),
            (tmp_path / "a_file" / "x", "not a folder"),
            (tmp_path / "a_file", "in the way")]


def test_an_unwritable_out_is_exit_2_before_the_search(tmp_path, monkeypatch):
    refuse_search(monkeypatch)
    for path, why in bad_paths(tmp_path):
        for extra in ([], ["--json"]):
            r = kripke_cli("check", "two-phase", "--out", path, *extra)
            assert r.exit_code == 2
            assert r.stderr.startswith(f"kripke: error: --out {path}: ") and why in r.stderr
            assert r.stderr.count("\n") == 1
            assert r.stdout == ("" if not extra else r.stdout)
    assert (tmp_path / "a_file").read_text() == "mine\n"
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("command", [["render", "TRACE"], ["graph", "toy-counter"],
                                     ["review", "tcommit"]])
def test_an_unwritable_output_file_is_exit_2(command, tmp_path, monkeypatch):
    kripke_cli(*EAGER, "--out", tmp_path / "out")
    refuse_search(monkeypatch)
    command = [tmp_path / "out" / "trace.json" if a == "TRACE" else a for a in command]
    suffix = ".html" if command[0] == "review" else ".dot"
    (tmp_path / "folder.dot").mkdir()
    (tmp_path / "folder.html").mkdir()
    cases = [(p.with_suffix(suffix) if p.name == "x" else p, why)
             for p, why in bad_paths(tmp_path)]
    cases[2] = (tmp_path / f"folder{suffix}", "a folder is in the way")
    for path, why in cases:
        r = kripke_cli(*command, "-o", path)
        assert r.exit_code == 2, r.output
        assert r.stderr.startswith(f"kripke: error: -o {path}: ") and why in r.stderr
        assert r.stderr.count("\n") == 1 and r.stdout == ""


def run_unprivileged(args, cwd):
    """``kripke ARGS`` as a user who may not write in a read-only folder (root may)."""
    if os.geteuid() != 0:
        return subprocess.run([sys.executable, "-m", "kripke.cli", *map(str, args)], cwd=cwd,
                              capture_output=True, text=True)
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: a read-only folder is writable")
    unprivileged = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    env = {**os.environ, "HOME": "/"}
    probe = subprocess.run([*unprivileged, sys.executable, "-c", "import kripke.cli"], cwd=cwd,
                           capture_output=True, text=True, env=env)
    if probe.returncode != 0:  # a checkout in a folder only its owner enters (mktemp -d)
        pytest.skip(f"an unprivileged user cannot run kripke from {cwd}: "
                    f"{probe.stderr.strip().splitlines()[-1]}")
    return subprocess.run([*unprivileged, sys.executable, "-m", "kripke.cli", *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, env=env)


def test_a_read_only_out_or_output_is_exit_2():
    base = Path(tempfile.mkdtemp())  # outside pytest's folders, which only their owner enters
    try:
        base.chmod(0o755)
        read_only = base / "ro"
        read_only.mkdir()
        read_only.chmod(0o555)
        for args, option in ((["check", "two-phase", "--out", read_only], f"--out {read_only}"),
                             (["check", "two-phase", "--out", read_only / "new"],
                              f"--out {read_only / 'new'}"),
                             (["graph", "toy-counter", "-o", read_only / "g.dot"],
                              f"-o {read_only / 'g.dot'}"),
                             (["review", "tcommit", "-o", read_only / "r.md"],
                              f"-o {read_only / 'r.md'}")):
            proc = run_unprivileged(args, ROOT)
            assert proc.returncode == 2, proc.stderr
            assert proc.stderr.startswith(f"kripke: error: {option}: "), proc.stderr
            assert "Permission denied" in proc.stderr and proc.stderr.count("\n") == 1
            assert proc.stdout == ""
        assert list(read_only.iterdir()) == []
    finally:
        read_only.chmod(0o755)
        shutil.rmtree(base)


# -- --out holds one run ---------------------------------------------------------------------
def test_out_holds_one_run(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("the user's own file\n")
    assert kripke_cli(*PINGPONG, "--out", out).exit_code == 1
    assert files(out) == {"notes.txt", "trace.json", "counterexample.dot", "counterexample.svg",
                          "msc.svg"}
    # a violation of another model: its files replace the earlier ones, the chart goes
    assert kripke_cli(*EAGER, "--out", out).exit_code == 1
    assert files(out) == {"notes.txt", "trace.json", "counterexample.dot", "counterexample.svg"}
    assert json.loads((out / "trace.json").read_text())["model"] == "two-phase-eager"
    # without dot: no drawing of the earlier run is left beside the new trace
    kripke_cli(*PINGPONG, "--out", out)
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert kripke_cli(*EAGER, "--out", out).exit_code == 1
    assert files(out) == {"notes.txt", "trace.json", "counterexample.dot"}
    monkeypatch.undo()
    # a passing run, and an incomplete one, leave no trace
    kripke_cli(*EAGER, "--out", out)
    assert kripke_cli("check", "two-phase", "--out", out).exit_code == 0
    assert files(out) == {"notes.txt"}
    kripke_cli(*EAGER, "--out", out)
    assert kripke_cli("check", "two-phase", "--max-states", "10", "--out", out).exit_code == 3
    assert files(out) == {"notes.txt"}
    assert (out / "notes.txt").read_text() == "the user's own file\n"


# -- traces of file models -------------------------------------------------------------------
MINE = '''
    """A model of my own that happens to share a built-in model's name."""
    from kripke import TransitionSystem, action, invariant


    @invariant
    def below_two(model, s):
        return s < 2


    class TwoPhase(TransitionSystem):
        """Counts to 3: not the built-in two-phase."""
        name = "two-phase"
        properties = [below_two]

        def init(self):
            yield 0

        @action
        def inc(self, s):
            return s + 1 if s < 3 else None

        def terminal(self, s):
            return s == 3
'''


def test_a_file_model_named_like_a_built_in_one_replays_from_its_file(tmp_path, monkeypatch):
    from kripke.models.system import load_model, registry
    from kripke.models.two_phase import TwoPhase
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "mine.py").write_text(textwrap.dedent(MINE))
    for spec in ("specs/mine.py:TwoPhase", f"{tmp_path}/specs/mine.py:TwoPhase",
                 "./specs/mine.py:TwoPhase"):
        r = kripke_cli("check", spec, "--out", "out", "--json")
        assert r.exit_code == 1, r.output
        data = json.loads(r.stdout)
        assert data["model"] == "specs/mine.py:TwoPhase"  # relative to the current folder
        assert json.loads(Path("out/trace.json").read_text())["model"] == \
            "specs/mine.py:TwoPhase"
        r = kripke_cli("replay", "out/trace.json")
        assert (r.exit_code, r.output) == (0, "ok: reproduced: below_two violated after 2 "
                                              "steps\n")
    assert registry()["two-phase"] is TwoPhase and load_model("two-phase") is TwoPhase
    r = kripke_cli("check", "two-phase", "--no-symmetry", "--json")
    assert (r.exit_code, json.loads(r.stdout)["distinct_states"]) == (0, 288)
    # in a fresh process too (the registry is filled after the file is loaded)
    proc = subprocess.run([sys.executable, "-m", "kripke.cli", "replay", "out/trace.json"],
                          capture_output=True, text=True, env={**os.environ,
                                                               "PYTHONPATH": str(ROOT)})
    assert (proc.returncode, proc.stdout) == (0, "ok: reproduced: below_two violated after 2 "
                                                 "steps\n"), proc.stderr


# -- JSON for CI -----------------------------------------------------------------------------
def test_every_json_object_carries_the_version_and_schema(tmp_path):
    head = {"kripke_version": kripke.__version__, "schema": 1}
    for args in (["check", "two-phase"], EAGER, ["check", "two-phase", "--max-states", "9"],
                 ["history", "tests/histories/stale_read.json"]):
        data = json.loads(kripke_cli(*args, "--json").stdout)
        assert list(data)[:2] == ["kripke_version", "schema"] and data | head == data, args
    data = json.loads(kripke_cli("history", "tests/histories/stale_read.json", "--json").stdout)
    assert (data["verdict"], data["levels"]["linearizability"]["verdict"]) == (
        "violated", "violated")


@pytest.mark.parametrize("args, message", [
    (["check", "nope"], "unknown model 'nope'; available: "),
    (["check", "two-phase", "-p", "rms=0"], "parameter rms: must be >= 1, got 0"),
    (["check", "two-phase", "--strategy", "nope"], "Invalid value for '--strategy'"),
    (["check", "two-phase", "--bogus"], "No such option '--bogus'"),
    (["history", "tests/histories/nope.json"], "cannot read history"),
    (["bench", "--sizes", "x"], "--sizes expects numbers"),
])
def test_bad_input_under_json_is_a_json_object(args, message):
    r = kripke_cli(*args, "--json")
    assert r.exit_code == 2
    data = json.loads(r.stdout)
    assert data == {"kripke_version": kripke.__version__, "schema": 1, "verdict": "error",
                    "message": data["message"]}
    assert message in data["message"]
    assert r.stderr == f"kripke: error: {data['message']}\n"


def test_bad_input_without_json_is_one_line_on_stderr():
    r = kripke_cli("check", "two-phase", "--trace")
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr.startswith("kripke: error: --trace adds the counterexample")


def test_json_trace_carries_the_counterexample(tmp_path):
    r = kripke_cli(*EAGER, "--json", "--trace")
    assert r.exit_code == 1
    v = json.loads(r.stdout)["violation"]
    assert v["trace_file"] is None and v["length"] == 5
    trace = from_json(v["trace"])
    assert (trace.model, trace.property, len(trace.steps)) == ("two-phase-eager",
                                                             "tc_consistent", 6)
    assert replay(trace).ok
    r = kripke_cli(*EAGER, "--json", "--trace", "--out", tmp_path)
    v = json.loads(r.stdout)["violation"]
    assert v["trace"] == json.loads((tmp_path / "trace.json").read_text())
    data = json.loads(kripke_cli("check", "two-phase", "--json", "--trace").stdout)
    assert data["violation"] is None
    assert "trace" not in json.loads(kripke_cli(*EAGER, "--json").stdout)["violation"]

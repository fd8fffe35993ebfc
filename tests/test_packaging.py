"""kripke as a library people install (issue 10): its own namespace, the public API, the layers.

The repository keeps its folders (models/, checkers/, specs/, traces/); installed they are
``kripke.models`` ... beside the front doors in ``kripke/``. The layers of DESIGN.md are checked
on the source: models import nothing from checkers or traces, specs nothing from checkers or
traces, traces nothing from checkers, and no engine imports a front door.
"""

import ast
import os
import re
import subprocess
import sys
import textwrap

import pytest

import kripke
from tests.conftest import ROOT

PACKAGES = {"models": "kripke.models", "checkers": "kripke.checkers", "specs": "kripke.specs",
            "traces": "kripke.traces", "kripke": "kripke"}
FRONT_DOORS = ("kripke.cli", "kripke.pytest_plugin")
#: what each layer must not import (the front doors and the public API are above every layer)
FORBIDDEN = {
    "models": ("kripke.checkers", "kripke.traces") + FRONT_DOORS,
    "specs": ("kripke.checkers", "kripke.traces") + FRONT_DOORS,
    "traces": ("kripke.checkers",) + FRONT_DOORS,
    "checkers": FRONT_DOORS,
}


def imports(path):
    """The modules a source file imports (absolute names), with their line numbers."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from ((a.name, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield from ((f"{node.module}.{a.name}" if node.module == "kripke" else node.module,
                         node.lineno) for a in node.names)


def sources(folder):
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", ["models", "specs", "checkers", "traces", "kripke",
                                    "examples", "tests"])
def test_nothing_imports_the_folders_by_their_repository_names(folder):
    bad = [f"{p.relative_to(ROOT)}:{line} imports {name}" for p in sources(folder)
           for name, line in imports(p) if name.split(".")[0] in ("models", "checkers",
                                                                    "specs", "traces")]
    assert bad == []


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_the_layers_import_only_downwards(layer):
    bad = [f"{p.relative_to(ROOT)}:{line} imports {name}" for p in sources(layer)
           for name, line in imports(p)
           if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[layer])]
    assert bad == []


def test_the_public_api_names_what_a_model_file_needs():
    for name in ["TransitionSystem", "action", "Param", "Domain", "Enum", "Int", "Bool", "Array",
                 "Set", "Seq", "Bag", "Map", "Optional", "OneOf", "record", "put", "invariant",
                 "sometimes", "check", "check_model"]:
        assert name in kripke.__all__ and hasattr(kripke, name), name


def test_examples_and_the_readme_use_only_the_public_api():
    texts = {p.relative_to(ROOT): p.read_text() for p in sorted((ROOT / "examples").glob("*.py"))}
    readme = (ROOT / "README.md").read_text()
    blocks = [b.split("```", 1)[0] for b in readme.split("```python")[1:]]
    texts.update({f"README.md python block {k}": b for k, b in enumerate(blocks)})
    bad = [f"{where}: {line.strip()}" for where, text in texts.items()
           for line in text.splitlines()
           if re.match(r"\s*(from|import) (kripke\.|models|checkers|specs|traces)", line)]
    assert bad == []
    assert "from kripke import check_model" in readme


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh venv with kripke installed from a wheel that ``pip wheel .`` built (no editable
    install, no repository on the path): its python."""
    tmp = tmp_path_factory.mktemp("install")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp / "dist",
                    str(ROOT)], check=True, capture_output=True)
    wheel, = (tmp / "dist").glob("kripke-*.whl")
    subprocess.run([sys.executable, "-m", "venv", tmp / "venv"], check=True)
    python = tmp / "venv" / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", wheel], check=True,
                   capture_output=True)
    return python


def run_in(python, cwd, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KRIPKE_PURE_PYTHON")}
    return subprocess.run([python, *args], cwd=cwd, env=env, capture_output=True, text=True)


@pytest.mark.slow
def test_installed_kripke_has_its_own_namespace(installed, tmp_path):
    probe = run_in(installed, tmp_path, "-c", textwrap.dedent("""
        import importlib.util, kripke
        print(sorted(m for m in ("models", "checkers", "specs", "traces")
                     if importlib.util.find_spec(m) is not None))
        print(kripke.common.speedups() is not None)
    """))
    assert probe.stdout.split("\n")[:2] == ["[]", "True"], probe.stderr
    listing = run_in(installed.parent / "kripke", tmp_path, "list")
    assert listing.returncode == 0 and "two-phase: " in listing.stdout


@pytest.mark.slow
def test_a_project_with_its_own_models_package_imports_both(installed, tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("")
    (tmp_path / "models" / "shop.py").write_text("ORDER = 'the user project own models'\n")
    (tmp_path / "check_it.py").write_text(textwrap.dedent("""
        from models.shop import ORDER
        from kripke import check, load_model
        from kripke.models.two_phase import TwoPhase

        r = check(TwoPhase(rms=3), symmetry=False)
        print(ORDER, r.verdict, r.distinct_states, load_model("two-phase") is TwoPhase)
    """))
    out = run_in(installed, tmp_path, "check_it.py")
    assert out.stdout.strip() == "the user project own models ok 288 True", out.stderr


def test_the_readme_first_model_runs_as_printed(tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Your first model", 1)[1]
    (tmp_path / "counter.py").write_text(section.split("```python", 1)[1].split("```", 1)[0])
    from kripke import check, load_model
    cls = load_model(f"{tmp_path}/counter.py:Counters")
    plain, reduced = check(cls(n=2), symmetry=False), check(cls(n=2))
    assert (plain.verdict, plain.distinct_states, reduced.verdict, reduced.distinct_states) == (
        "ok", 9, "ok", 6)
    assert "explores 9 states with symmetry off, 6 orbits" in section

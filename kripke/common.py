"""What every layer needs: the bottom of kripke's layers, which models, specs, checkers, traces
and the front doors may all import (``kripke.errors`` is beside it).

* the verdict names of a check (and of a history check): ``OK``, ``VIOLATED``, ``INCOMPLETE``;
* ``speedups()``: the optional C extension, built from ``checkers/_speedups.c``, and
  ``extension(name)`` for the others (``_visited``, from ``checkers/_visited.c``);
* ``read_json``: a JSON file a user hands kripke (a trace, a history), parsed and never
  evaluated;
* ``load_python_file``: a Python file a user names as ``path/to/file.py:Name`` (a model, a
  sequential spec), imported as Python runs a script.
"""

import importlib.util
import json
import os
import sys
from pathlib import Path

from kripke.errors import DefinitionError, ModelLoadError, TraceFormatError

__all__ = ["OK", "VIOLATED", "INCOMPLETE", "speedups", "extension", "read_json",
           "load_python_file"]

#: the prefix of the module names of files loaded by ``load_python_file``
FILE_MODULE = "kripke_user_"

OK, VIOLATED, INCOMPLETE = "ok", "violated", "incomplete"


def speedups():
    """The optional C extension ``kripke._speedups``, or None (see ``extension``)."""
    return extension("_speedups")


def extension(name):
    """The optional C extension ``kripke.<name>`` (``_speedups``, ``_visited``), or None.

    None when it was not built, or when the environment sets ``KRIPKE_PURE_PYTHON=1`` (the tests
    use it to compare the extensions with their Python twins).
    """
    if os.environ.get("KRIPKE_PURE_PYTHON"):
        return None
    try:
        return importlib.import_module(f"kripke.{name}")
    except ImportError:
        return None


def read_json(path, what):
    """Parse the JSON file ``path`` (a ``what``: "trace", "history"), evaluating nothing; a
    file that cannot be read, is not text or is not JSON is a ``TraceFormatError``."""
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise TraceFormatError(f"cannot read {what} {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise TraceFormatError(f"{path} is not text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise TraceFormatError(f"{path} is not JSON ({e.msg} at line {e.lineno})") from None


def load_python_file(path, what):
    """Import the Python file ``path`` (a ``what``: "model file", "spec file") as a module of
    its own, as Python runs a script: the file's folder is on the import path, so it can import
    its neighbours. A missing file, or one that fails to import, is a ``ModelLoadError`` in one
    line; a ``DefinitionError`` raised while it is defined passes through."""
    file = Path(path)
    if not file.is_file():
        raise ModelLoadError(f"{what} {path} does not exist")
    modname = f"{FILE_MODULE}{abs(hash(str(file.resolve())))}"
    folder = str(file.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        spec = importlib.util.spec_from_file_location(modname, file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[modname] = module
        spec.loader.exec_module(module)
    except DefinitionError:
        raise
    except Exception as e:  # the user's file failed to import: say where, keep one line
        raise ModelLoadError(f"{what} {path} failed to import: "
                             f"{type(e).__name__}: {e}") from None
    return module

"""What every layer needs: the bottom of kripke's layers, which models, specs, checkers, traces
and the front doors may all import (``kripke.errors`` is beside it).

* the verdict names of a check (and of a history check): ``OK``, ``VIOLATED``, ``INCOMPLETE``;
* ``speedups()``: the optional C extension, built from ``checkers/_speedups.c``;
* ``read_json``: a JSON file a user hands kripke (a trace, a history), parsed and never
  evaluated.
"""

import json
import os
from pathlib import Path

from kripke.errors import TraceFormatError

__all__ = ["OK", "VIOLATED", "INCOMPLETE", "speedups", "read_json"]

OK, VIOLATED, INCOMPLETE = "ok", "violated", "incomplete"


def speedups():
    """The optional C extension ``kripke._speedups``, or None.

    None when it was not built, or when the environment sets ``KRIPKE_PURE_PYTHON=1`` (the tests
    use it to compare the extension with its Python twins).
    """
    if os.environ.get("KRIPKE_PURE_PYTHON"):
        return None
    try:
        from kripke import _speedups
    except ImportError:
        return None
    return _speedups


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

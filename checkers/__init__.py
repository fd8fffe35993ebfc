"""The engines (explicit-state search, simulation) and the ``kripke`` command."""

import os


def speedups():
    """The optional C extension ``checkers._speedups``, or None.

    None when it was not built, or when the environment sets ``KRIPKE_PURE_PYTHON=1`` (the tests
    use it to compare the extension with its Python twins).
    """
    if os.environ.get("KRIPKE_PURE_PYTHON"):
        return None
    try:
        from checkers import _speedups
    except ImportError:
        return None
    return _speedups

"""The engines (explicit-state search, ...) and the ``kripke`` command."""

"""The error hierarchy: every problem kripke reports about its *input*.

A ``KripkeError`` is bad input (a model that cannot be defined, an unknown name, a corrupt trace):
the CLI prints its message as one line and exits with code 2. A model that raises *during* a search
is not an error of this kind but a finding: the checker reports it as a violation of kind
``exception``, with the trace that led to it.

::

    KripkeError
    ├── DefinitionError      a model class or a property is malformed (names the method / field)
    │   └── MutableStateError    a state holds a mutable or unhashable value (names the field)
    ├── ParamError           a parameter is unknown or its value is invalid
    ├── UnknownNameError     an unknown model / property (lists the available names)
    ├── ModelLoadError       a ``path/to/file.py:Class`` that cannot be imported or is not a model
    ├── NondeterminismError  a recorded path cannot be re-executed (the model is not a function)
    ├── TraceFormatError     a trace file that is corrupt, of another version or of another model
    └── CheckpointError      a checkpoint that is corrupt, or of another model, parameters or version
"""

__all__ = [
    "KripkeError",
    "DefinitionError",
    "MutableStateError",
    "ParamError",
    "UnknownNameError",
    "ModelLoadError",
    "NondeterminismError",
    "TraceFormatError",
    "CheckpointError",
]


class KripkeError(Exception):
    """Base class: bad input, reported as one line and exit code 2."""


class DefinitionError(KripkeError):
    """A model or property definition is malformed."""


class MutableStateError(DefinitionError):
    """A state contains a value that is mutable or cannot be hashed."""


class ParamError(KripkeError):
    """A parameter is unknown, cannot be parsed, or is out of range."""


class UnknownNameError(KripkeError):
    """A model or property name that is not registered; the message lists the available ones."""

    def __init__(self, kind, name, available):
        self.kind, self.name, self.available = kind, name, sorted(available)
        listed = ", ".join(self.available) or "(none)"
        super().__init__(f"unknown {kind} {name!r}; available: {listed}")

    def __reduce__(self):  # rebuilt from its arguments in another process (workers, Ray)
        return type(self), (self.kind, self.name, self.available)


class ModelLoadError(KripkeError):
    """A model file that fails to import, or a name in it that is not a model class."""


class NondeterminismError(KripkeError):
    """A path found by the search cannot be rebuilt by re-executing the model."""


class TraceFormatError(KripkeError):
    """A trace file that is not valid kripke-trace JSON of this version and model."""


class CheckpointError(KripkeError):
    """A checkpoint (``--resume DIR``) that is corrupt or was written for another model, other
    parameters, properties or options, or by another kripke version; or a state a checkpoint
    cannot store."""

"""Sequential specifications: what an object does when its operations come one at a time.

A history checker asks whether the operations of a concurrent history can be put in an order
that the object allows when used alone (Herlihy and Wing, "Linearizability: a correctness
condition for concurrent objects", TOPLAS 12(3), 1990: the object's *sequential
specification*). Porcupine states that specification as a pure step function (its
``model.go``: ``Init``, ``Step(state, input, output) -> (ok, newState)``, an optional
``Partition``); so does Knossos with its models. Here a ``SequentialSpec`` has

* ``init()``: the state of a fresh object, an immutable value (it is hashed: the search
  remembers each configuration it has explored);
* ``step(state, op) -> (ok, next_state)``: whether ``op`` may happen in ``state`` and return
  what it returned, and the state after it. ``op`` has the fields ``kind`` (the operation's
  name), ``input``, ``output`` and ``key``. It must be pure and deterministic, as Porcupine's;
* ``partition(op)``: the object ``op`` acts on (default: its ``key``; None names the one
  object of a history without keys). Objects are independent, each starting from ``init()``;
  linearizability is checked on each object alone (Herlihy and Wing's locality; Horn and
  Kroening's P-compositionality, FORTE 2015), sequential consistency on all of them at once.

Optional: ``kinds`` (the operation names, checked when a history is read), ``validate(op)``
(a sentence saying what is wrong with an operation, or None), ``read_only(op)`` (True when
every legal step of ``op`` leaves the state as it was: the search then places such an
operation as soon as it may, with no other branch, as it does for a register's reads).

A pending operation (invoked, never returned) may have taken effect or not, and returned
anything: it is stepped with ``op.output is PENDING``, and ``returns(op, value)`` is the test
a step function makes of an output (true when ``op`` returned ``value`` or is pending).

The built-in specs, by name (``SPECS``):

* ``register``: a read/write register (Herlihy and Wing's, Knossos's ``register``):
  ``write`` stores its input, ``read`` returns what is stored, None before any write;
* ``kv``: a key-value store as Porcupine's etcd model: per key, ``put`` stores its input,
  ``get`` returns what is stored (None before any put), ``append`` appends its input, a
  string, to it;
* ``queue``: a FIFO queue: ``enqueue`` adds its input at the back, ``dequeue`` returns the
  front and removes it, or returns None when the queue is empty;
* ``stack``: a LIFO stack: ``push`` and ``pop``, ``pop`` returning None when it is empty;
* ``set``: a set: ``add`` and ``remove`` return nothing (None) or whether they changed the
  set (a boolean), ``contains`` returns a boolean.

Inputs and outputs are values (None, booleans, numbers, strings, tuples of these). A spec of
one's own is a ``SequentialSpec`` subclass (or an instance of one) in a Python file, named
``path/to/file.py:Name`` (``load_spec``), as models are.
"""

import re

from kripke.common import load_python_file
from kripke.errors import DefinitionError, ModelLoadError, UnknownNameError

__all__ = ["SequentialSpec", "PENDING", "returns", "load_spec", "SPECS", "RegisterSpec",
           "KeyValueSpec", "QueueSpec", "StackSpec", "SetSpec"]


class _Pending:
    """The output of an operation that never returned."""

    def __repr__(self):
        return "PENDING"


#: the output a step function sees for a pending operation: it may have returned anything
PENDING = _Pending()


def returns(op, value):
    """Did ``op`` return ``value``? True as well when ``op`` is pending (it returned nothing
    that could contradict it)."""
    return op.output is PENDING or op.output == value


class SequentialSpec:
    """A sequential object: ``init()`` and ``step(state, op) -> (ok, next_state)``; see the
    module docstring for ``partition``, ``kinds``, ``validate`` and ``read_only``.

    ``name`` defaults to the class name in kebab-case (``FetchAndAdd`` is ``fetch-and-add``).
    A subclass that does not define both ``init`` and ``step`` is rejected when it is defined.
    """

    #: the spec's name, in messages and in a history file's ``"spec"`` field
    name = None
    #: the operation names the spec knows (empty: any); a history using another is rejected
    kinds = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for method, signature in (("init", "init(self)"), ("step", "step(self, state, op)")):
            if getattr(cls, method) is getattr(SequentialSpec, method):
                raise DefinitionError(f"{cls.__name__}: a SequentialSpec defines {signature}")
        if "name" not in cls.__dict__:
            cls.name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", cls.__name__).lower()
        if not isinstance(cls.name, str) or not cls.name:
            raise DefinitionError(f"{cls.__name__}.name: {cls.name!r} is not a name")
        if not (isinstance(cls.kinds, tuple) and all(isinstance(k, str) for k in cls.kinds)):
            raise DefinitionError(f"{cls.__name__}.kinds: {cls.kinds!r} is not a tuple of "
                                  f"operation names")

    def init(self):
        """The state of a fresh object."""
        raise NotImplementedError

    def step(self, state, op):
        """``(ok, next_state)``: may ``op`` happen in ``state`` and return ``op.output``?"""
        raise NotImplementedError

    def partition(self, op):
        """The object ``op`` acts on: its key (None: the one object)."""
        return op.key

    def validate(self, op):
        """What is wrong with ``op`` as an operation of this spec, as a sentence, or None."""
        return None

    def read_only(self, op):
        """True if every legal step of ``op`` leaves the state as it was."""
        return False

    def __repr__(self):
        return f"<sequential spec {self.name}>"


def _no_output(op):
    """The rule for operations that return nothing."""
    if op.output is not PENDING and op.output is not None:
        return f"{op.kind} returns nothing, yet its output is {op.output!r}"
    return None


class RegisterSpec(SequentialSpec):
    """A read/write register: ``write`` stores its input, ``read`` returns it (None first)."""

    name = "register"
    kinds = ("write", "read")

    def init(self):
        return None

    def step(self, state, op):
        if op.kind == "write":
            return True, op.input
        return returns(op, state), state

    def validate(self, op):
        if op.kind == "write":
            return _no_output(op)
        return None if op.input is None else f"read takes no input, yet has {op.input!r}"

    def read_only(self, op):
        return op.kind == "read"


class KeyValueSpec(SequentialSpec):
    """A key-value store (Porcupine's etcd model), one key per object: ``put``, ``get`` (None
    before any put) and ``append`` of a string."""

    name = "kv"
    kinds = ("put", "get", "append")

    def init(self):
        return None

    def step(self, state, op):
        if op.kind == "put":
            return True, op.input
        if op.kind == "get":
            return returns(op, state), state
        if state is None:
            return True, op.input
        if isinstance(state, str):
            return True, state + op.input
        return False, state  # a put stored something other than a string: nothing to append to

    def validate(self, op):
        if op.kind == "get":
            return None if op.input is None else f"get takes no input (the key is 'key'), " \
                                                  f"yet has {op.input!r}"
        if op.kind == "append" and not isinstance(op.input, str):
            return f"append appends a string, not {op.input!r}"
        return _no_output(op)

    def read_only(self, op):
        return op.kind == "get"


class QueueSpec(SequentialSpec):
    """A FIFO queue: ``enqueue`` at the back, ``dequeue`` from the front (None when empty)."""

    name = "queue"
    kinds = ("enqueue", "dequeue")

    def init(self):
        return ()

    def step(self, state, op):
        if op.kind == "enqueue":
            return True, state + (op.input,)
        if not state:
            return returns(op, None), state
        return returns(op, state[0]), state[1:]

    def validate(self, op):
        if op.kind == "enqueue":
            if op.input is None:
                return "enqueue needs an input other than null (a dequeue's null means empty)"
            return _no_output(op)
        return None if op.input is None else f"dequeue takes no input, yet has {op.input!r}"

    def read_only(self, op):
        # a dequeue that returned None is legal only on an empty queue, which it leaves empty
        return op.kind == "dequeue" and op.output is None


class StackSpec(SequentialSpec):
    """A LIFO stack: ``push``, and ``pop`` of the top (None when empty)."""

    name = "stack"
    kinds = ("push", "pop")

    def init(self):
        return ()

    def step(self, state, op):
        if op.kind == "push":
            return True, state + (op.input,)
        if not state:
            return returns(op, None), state
        return returns(op, state[-1]), state[:-1]

    def validate(self, op):
        if op.kind == "push":
            if op.input is None:
                return "push needs an input other than null (a pop's null means empty)"
            return _no_output(op)
        return None if op.input is None else f"pop takes no input, yet has {op.input!r}"

    def read_only(self, op):
        return op.kind == "pop" and op.output is None


class SetSpec(SequentialSpec):
    """A set: ``add``, ``remove`` (returning nothing, or whether the set changed) and
    ``contains``."""

    name = "set"
    kinds = ("add", "remove", "contains")

    def init(self):
        return frozenset()

    def step(self, state, op):
        present = op.input in state
        if op.kind == "contains":
            return returns(op, present), state
        if op.kind == "add":
            changed, after = not present, state | {op.input}
        else:
            changed, after = present, state - {op.input}
        return op.output is None or returns(op, changed), after

    def validate(self, op):
        told = op.output is PENDING or type(op.output) is bool
        if op.kind == "contains" and not told:
            return f"contains returns true or false, not {op.output!r}"
        if op.kind != "contains" and not (told or op.output is None):
            return (f"{op.kind} returns nothing or whether it changed the set, not "
                    f"{op.output!r}")
        return None

    def read_only(self, op):
        # an add that returned False found the element there; a remove that did, found none
        return op.kind == "contains" or op.output is False


#: the built-in specs by name
SPECS = {s.name: s for s in (RegisterSpec(), KeyValueSpec(), QueueSpec(), StackSpec(),
                             SetSpec())}


def load_spec(spec):
    """The spec for a built-in name, ``path/to/file.py:Name``, a ``SequentialSpec`` subclass
    or instance.

    An unknown name is an ``UnknownNameError`` listing the built-in ones (or, for a file, the
    specs it defines); a file that does not exist or fails to import, or a name in it that is
    not a spec, is a ``ModelLoadError``.
    """
    if isinstance(spec, SequentialSpec):
        return spec
    if isinstance(spec, type) and issubclass(spec, SequentialSpec):
        return spec()
    if not isinstance(spec, str):
        raise ModelLoadError(f"{spec!r} is not a sequential spec (a SequentialSpec subclass or "
                             f"instance, or its name)")
    if ":" in spec and spec.split(":", 1)[0].endswith(".py"):
        return _load_from_file(*spec.rsplit(":", 1))
    if spec not in SPECS:
        raise UnknownNameError("sequential spec", spec, SPECS)
    return SPECS[spec]


def _load_from_file(path, name):
    module = load_python_file(path, "spec file")
    modname = module.__name__
    if not hasattr(module, name):
        found = [n for n, v in vars(module).items()
                 if isinstance(v, SequentialSpec) or isinstance(v, type)
                 and issubclass(v, SequentialSpec) and v.__module__ == modname]
        raise UnknownNameError(f"sequential spec in {path}", name, found)
    found = getattr(module, name)
    if not (isinstance(found, SequentialSpec)
            or isinstance(found, type) and issubclass(found, SequentialSpec)):
        raise ModelLoadError(f"{path}:{name} is not a sequential spec (a SequentialSpec "
                             f"subclass or instance)")
    return load_spec(found)

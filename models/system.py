r"""The modelling API: ``TransitionSystem``, ``@action``, ``Param`` and the model registry.

A model is a class, after Stateright's ``Model`` and TLA+'s ``Init /\\ [][Next]_vars``:

* parameters are ``Param`` class attributes (default, doc, validation), set with ``-p name=value``;
* ``variables`` declares the typed state (see ``models.types``); ``self.State`` is its record;
* ``init()`` yields the initial states;
* each ``@action`` method is one disjunct of Next. It returns the next state, ``None`` when it is
  not enabled, or a ``list`` of states when it has several outcomes. ``@action(each=RM)`` makes it
  range over a finite domain (one argument per domain: ``each=(Server, Server)``); the last entry
  may name a method ``(s) -> iterable`` instead, for a domain that depends on the state (the
  messages in flight: TLA+'s ``\E m \in msgs``);
* ``properties`` lists the properties from ``specs/`` that hold of the model;
* fairness, for the temporal properties: ``@action(fair="weak")`` (TLA+'s WF_vars) or
  ``fair="strong"`` (SF_vars), for each call of the action on its own (``each=RM`` gives
  TLA+'s ``\A rm \in RM : WF_vars(RMPrepare(rm))``; a state-dependent domain, one per message);
  ``fair = "weak"`` on the class makes every action weakly fair but those marked
  ``fair=False`` (the environment's: losing a message, crashing a node); ``fairness(name)``
  may be overridden for fairness that depends on a parameter;
* ``terminal(s)`` says which states may legitimately have no successor (not a deadlock);
* ``within(s)``, the state constraint (TLC's CONSTRAINT), bounds a model whose state space is
  infinite: a state outside it is checked but not explored further;
* a ``Domain(..., symmetric=True)`` used by the variables declares symmetry.

States are immutable values: a state that holds a list, dict or set (or anything unhashable) is
rejected when the model is instantiated, naming the field.

Variants (the article's version of a protocol) are subclasses that override exactly the actions
the article writes differently, registered under their own ``name``.
"""

import importlib
import importlib.util
import inspect
import itertools
import pkgutil
from pathlib import Path

from kripke.common import FILE_MODULE, load_python_file, speedups
from kripke.errors import (DefinitionError, KripkeError, ModelLoadError, MutableStateError,
                             ParamError, UnknownNameError)
from kripke.models.fingerprint import fingerprint
from kripke.models.types import Bag, Domain, Set, as_type, encode_value, json_equal, state_record

__all__ = ["Param", "action", "among", "TransitionSystem", "registry", "load_model", "model_spec"]


class Param:
    """A declared model parameter: ``rms = Param(3, "number of resource managers", min=1)``.

    The type is that of the default (int, bool, str or float); ``choices``, ``min`` and ``max``
    restrict it.
    """

    def __init__(self, default, doc, *, min=None, max=None, choices=None):
        self.default, self.doc = default, doc
        self.min, self.max, self.choices = min, max, choices
        self.type = type(default)
        self.name = None

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        # Instances hold their value in __dict__, which wins over this non-data descriptor.
        return self if obj is None else self.default

    def parse(self, text):
        """Turn ``-p name=text`` into a value of the parameter's type."""
        if self.type is bool:
            lowered = text.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ParamError(f"parameter {self.name}: expected true or false, got {text!r}")
        try:
            return self.type(text)
        except ValueError:
            raise ParamError(f"parameter {self.name}: expected {self.type.__name__}, got {text!r}")

    def validate(self, value):
        if self.type is float and type(value) is int:
            value = float(value)
        if type(value) is not self.type:
            raise ParamError(f"parameter {self.name}: expected {self.type.__name__}, "
                             f"got {value!r}")
        if self.choices is not None and value not in self.choices:
            raise ParamError(f"parameter {self.name}: must be one of "
                             f"{', '.join(map(str, self.choices))}; got {value!r}")
        if self.min is not None and value < self.min:
            raise ParamError(f"parameter {self.name}: must be >= {self.min}, got {value!r}")
        if self.max is not None and value > self.max:
            raise ParamError(f"parameter {self.name}: must be <= {self.max}, got {value!r}")
        return value

    def describe(self):
        bounds = []
        if self.choices is not None:
            bounds.append("one of " + "|".join(map(str, self.choices)))
        if self.min is not None:
            bounds.append(f">= {self.min}")
        if self.max is not None:
            bounds.append(f"<= {self.max}")
        extra = f" ({', '.join(bounds)})" if bounds else ""
        return f"{self.name}={self.format(self.default)}: {self.doc}{extra}"

    @staticmethod
    def format(value):
        """A value as a user types it after ``-p name=``: ``true``, ``cp``, ``3``."""
        return str(value).lower() if isinstance(value, bool) else str(value)


class _ActionSpec:
    """What ``@action`` attaches to a method: the domains its arguments range over and its
    fairness."""

    __slots__ = ("each", "fair")

    def __init__(self, each, fair):
        self.each, self.fair = each, fair


#: what ``@action(fair=...)`` and a model's ``fair`` take: weak or strong fairness of each call,
#: None (the model's default) or False (never fair, whatever the model's default)
FAIRNESS = ("weak", "strong")


def action(fn=None, *, each=(), fair=None):
    """Mark a method as an action (one disjunct of the next-state relation).

    ``@action`` for ``def tm_commit(self, s)``; ``@action(each=RM)`` for
    ``def rm_prepare(self, s, rm)``, called once per element of the domain. ``fair="weak"`` /
    ``"strong"``: each call of the action is weakly / strongly fair (WF_vars / SF_vars): a call
    enabled continuously (weak) or again and again (strong) is eventually taken; ``False``: never
    fair, even when the model makes its actions fair by default.
    """
    if isinstance(each, (Domain, str)):
        each = (each,)
    if fair not in FAIRNESS + (None, False):
        raise DefinitionError(f"@action(fair={fair!r}): fair must be \"weak\", \"strong\", "
                              "None (the model's default) or False")

    def mark(f):
        f._kripke_action = _ActionSpec(tuple(each), fair)
        return f
    return mark(fn) if fn is not None else mark


def among(variable, test):
    """Declare a state-dependent domain (a method ``domain(self, s)`` that ``each=`` names) as
    the elements ``v`` of the Set or Bag variable ``variable`` for which the method ``test(self,
    s, v)`` is true, listed once each. The explicit engine calls the domain itself; the
    symbolic back end traces an action over it once per element of the variable's universe,
    guarded by ``test``, rather than forking over the elements as the domain's code lists
    them (``MessagePassing.deliverable`` and ``delivers``)."""
    def mark(fn):
        fn.among = (variable, test)
        return fn
    return mark


_REGISTRY = {}
#: the prefix of the module name of a model file that ``load_model`` imports by its path


class TransitionSystem:
    """Base class of every model. Subclasses set ``name``, ``variables``, ``init`` and actions."""

    #: registry name (kebab-case), or None for a model that is not registered
    name = None
    #: {field: type} of the state record, in order; None for an untyped quick model
    variables = None
    #: properties (from specs/) checked by default, selectable by name
    properties = ()
    #: the fairness of every action that does not declare its own: "weak", "strong" or None
    fair = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Actions, in definition order, base class first; an override keeps its place.
        actions = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                spec = getattr(value, "_kripke_action", None)
                if spec is not None:
                    actions[attr] = spec
                elif attr in actions and callable(value):
                    raise DefinitionError(f"{cls.__name__}.{attr} overrides an action without "
                                          "@action; decorate it or rename it")
        for attr in vars(cls):
            if attr in actions:
                hidden = next((k for k in cls.__mro__[1:] if attr in vars(k)
                               and getattr(vars(k)[attr], "_kripke_action", None) is None), None)
                if hidden is not None:
                    raise DefinitionError(f"{cls.__name__}.{attr} is an action that hides "
                                          f"{hidden.__name__}.{attr}; give the action another "
                                          "name")
        for attr, spec in actions.items():
            fn = getattr(cls, attr)
            params = list(inspect.signature(fn).parameters)[2:]
            if len(params) != len(spec.each):
                raise DefinitionError(
                    f"{cls.__name__}.{attr} takes {len(params)} argument(s) after the state "
                    f"but ranges over {len(spec.each)} domain(s); write @action(each=...) with "
                    f"one domain per argument")
        cls._actions = actions
        cls._params = {n: p for klass in reversed(cls.__mro__)
                       for n, p in vars(klass).items() if isinstance(p, Param)}
        if cls.variables is not None:
            try:
                typed = {n: as_type(t) for n, t in cls.variables.items()}
            except DefinitionError as e:
                raise DefinitionError(f"{cls.__name__}.variables: {e}") from None
            cls.State = state_record("State", typed)
            cls._types = typed
        if cls.fair not in FAIRNESS + (None,):
            raise DefinitionError(f"{cls.__name__}.fair = {cls.fair!r}: write \"weak\", "
                                  "\"strong\" or None")
        names = [p.name for p in cls.properties]
        if len(set(names)) != len(names):
            raise DefinitionError(f"{cls.__name__}.properties: duplicate property names {names}")
        name = vars(cls).get("name")
        # A class loaded from a model file is named by its file, never registered: a file
        # model called "two-phase" must not stand in for the built-in one (issue 10, item 5).
        if name is not None and not cls.__module__.startswith(FILE_MODULE):
            other = _REGISTRY.get(name)
            if other is not None and other.__qualname__ != cls.__qualname__:
                raise DefinitionError(f"model name {name!r} is taken by {other.__qualname__}")
            _REGISTRY[name] = cls

    def __init__(self, **params):
        for key, value in params.items():
            if key not in self._params:
                raise UnknownNameError(f"parameter of {self.display_name()}", key, self._params)
            setattr(self, key, self._params[key].validate(value))
        self.params = {n: getattr(self, n) for n in self._params}
        # every parameter in the instance's dict: a read is then a dict hit, not a call of the
        # Param descriptor (actions read parameters on every step)
        vars(self).update(self.params)
        self._calls, self._dynamic = [], {}
        for name, spec in self._actions.items():
            domains = [self._domain(d) for d in spec.each]
            over = domains.pop() if domains and not isinstance(domains[-1], Domain) else None
            if not all(isinstance(d, Domain) for d in domains):
                raise DefinitionError(f"{type(self).__name__}.{name}: only the last entry of "
                                      "each= may be a state-dependent domain")
            method = getattr(self, name)
            for args in itertools.product(*(d.values(self) for d in domains)):
                fn = method if over is None else over_each(method, over, args)
                self._calls.append((name, fn, args))
            if over is not None:
                self._dynamic[name] = over
        #: one predicate per variable: is its value inside the declared type?
        self.type_checks = [t.checker(self) for t in self._types.values()] if self.variables \
            is not None else None
        try:
            initial = list(self.init())
        except KripkeError:
            raise
        except Exception:  # init() raising is a finding of the search, reported with its error
            initial = []
        for s in initial:
            self.check_immutable(s)

    # -- the interface the checkers use -------------------------------------------------------
    def init(self):
        """Yield the initial states."""
        raise NotImplementedError(f"{type(self).__name__} must define init()")

    def terminal(self, s):
        """May ``s`` have no successor? (Deadlock is reported for other states.)"""
        return False

    def within(self, s):
        """The state constraint (TLC's CONSTRAINT, Stateright's ``within_boundary``): a
        reachable state outside it is checked against the properties but neither stored nor
        expanded. Default: every state is within."""
        return True

    def each_call(self, s):
        """``(action, args, thunk)`` for every call of an action in ``s``, in a fixed order: an
        action over a state-dependent domain gives one call per element (``args`` end with it)."""
        for name, fn, args in self._calls:
            over = self._dynamic.get(name)
            if over is None:
                yield name, args, (lambda fn=fn, args=args: fn(s, *args))
                continue
            method = getattr(self, name)
            for v in over(s):
                yield name, args + (v,), (lambda a=args + (v,): method(s, *a))

    def successors(self, s):
        """``(action, args, next_state)`` for every enabled action, in a fixed order."""
        for name, args, thunk in self.each_call(s):
            out = thunk()
            if out is None:
                continue
            for t in (out if type(out) is list else (out,)):
                yield name, args, t

    def fairness(self, name):
        """The fairness of each call of action ``name``: "weak", "strong" or None (the
        environment's choice, never forced). Override it for fairness that depends on a
        parameter (a recovery that is fair only when the model says so)."""
        fair = self._actions[name].fair
        return None if fair is False else fair or self.fair

    def action_args(self, name, args):
        """Name the arguments of an action call, as JSON: ``{"rm": 1}``."""
        params = list(inspect.signature(getattr(self, name)).parameters)[1:]
        return {p: encode_value(a) for p, a in zip(params, args)}

    def action_args_from(self, name, named, s):
        """The arguments of a call recorded as ``named`` (JSON) in state ``s``: the inverse of
        ``action_args``, comparing values with their types (``rm=true`` is not ``rm=1``).
        Raises LookupError when no call of the action in ``s`` has these arguments."""
        for action_name, args, _ in self.each_call(s):
            if action_name == name and json_equal(self.action_args(name, args), named):
                return args
        raise LookupError(f"no call {name}({', '.join(f'{k}={v!r}' for k, v in named.items())})"
                          " is on offer in this state")

    def symmetric_domain(self):
        """The domain the model declares symmetric, or None."""
        found = {d for d in self._domains() if d.symmetric}
        if len(found) > 1:
            raise DefinitionError(f"{type(self).__name__} declares {len(found)} symmetric "
                                  "domains; kripke reduces over one domain at a time")
        return next(iter(found), None)

    def type_ok(self, s, parent=None):
        """TLA+'s TypeOK, derived from ``variables``: the first field outside its type, or None.

        With ``parent`` (a state whose fields are known to be well typed), a field that is the
        very same object as the parent's is not checked again.
        """
        k = first_bad_field(s, self.type_checks, parent)
        return None if k < 0 else self.State._fields[k]

    def type_error(self, t, parent=None):
        """What is wrong with the declared types of ``t``, in words, or None (always None for an
        untyped model). ``parent`` as for ``type_ok``."""
        if self.variables is None:
            return None
        if type(t) is not self.State:
            return f"gives a {type(t).__name__}, not a {self.display_name()} State record"
        name = self.type_ok(t, parent)
        if name is None:
            return None
        value = getattr(t, name)
        return (f"sets {name} to {value!r} ({type(value).__name__}), outside its declared type "
                f"{self._types[name]!r}")

    def encode(self, s):
        """A state as plain JSON (maps, lists, strings, numbers)."""
        if self.variables is not None:
            return {n: t.to_json(v, self) for (n, t), v in zip(self._types.items(), s)}
        return encode_value(s)

    def check_immutable(self, s):
        """Reject a state that cannot be hashed or holds a mutable value, naming the field."""
        fields = self.State._fields if self.variables is not None else None
        if fields is not None and type(s) is not self.State:
            raise DefinitionError(f"{self.display_name()}: init() must yield {type(self).__name__}"
                                  f".State records, got {type(s).__name__}")
        parts = zip(fields, s) if fields else (
            zip(s._fields, s) if hasattr(s, "_fields") else
            ((f"[{i}]", v) for i, v in enumerate(s)) if isinstance(s, tuple) else [("state", s)])
        for field, value in parts:
            bad = _find_mutable(value)
            if bad is not None:
                raise MutableStateError(
                    f"{self.display_name()}: state field {field!r} holds a mutable "
                    f"{type(bad).__name__} ({bad!r:.60}); use a tuple or frozenset")
            try:
                fingerprint(value)
            except TypeError as e:
                raise DefinitionError(f"{self.display_name()}: state field {field!r}: {e}") \
                    from None

    @classmethod
    def set_fields(cls):
        """Names of the variables declared as sets or bags (their diffs show added / removed
        elements)."""
        return {n for n, t in (getattr(cls, "_types", None) or {}).items()
                if isinstance(t, (Set, Bag))}

    # -- naming ------------------------------------------------------------------------------
    @classmethod
    def display_name(cls):
        return cls.name or cls.__name__

    @classmethod
    def describe_params(cls):
        return [p.describe() for p in cls._params.values()]

    def _domain(self, d):
        """A Domain, or a method giving a state-dependent domain, named in ``each``."""
        if isinstance(d, str):
            if not hasattr(self, d):
                raise DefinitionError(f"{type(self).__name__}: each={d!r} names neither a Domain "
                                      "nor a method (s) -> iterable of the model")
            d = getattr(self, d)
        if not isinstance(d, Domain) and not callable(d):
            raise DefinitionError(f"{type(self).__name__}: {d!r} is neither a Domain nor a "
                                  "method (s) -> iterable")
        return d

    def _domains(self):
        seen = []
        for spec in self._actions.values():
            seen.extend(d for d in map(self._domain, spec.each) if isinstance(d, Domain))
        for t in (getattr(self, "_types", None) or {}).values():
            seen.extend(t.domains())
        return list(dict.fromkeys(seen))


def _first_bad_field(t, checks, parent):
    """The index of the first field of ``t`` that fails its check, or -1 (the Python twin of
    ``kripke._speedups.first_bad_field``); fields identical to ``parent``'s are skipped."""
    if len(t) != len(checks) or (parent is not None and len(parent) != len(checks)):
        raise ValueError("first_bad_field: sizes differ")
    for k, (check, value) in enumerate(zip(checks, t)):
        if (parent is None or parent[k] is not value) and not check(value):
            return k
    return -1


first_bad_field = getattr(speedups(), "first_bad_field", _first_bad_field)


_MUTABLE = (list, dict, set, bytearray)


def _find_mutable(value):
    """The first mutable or unhashable value inside ``value``, or None."""
    if isinstance(value, _MUTABLE):
        return value
    if isinstance(value, (tuple, frozenset)):
        for item in value:
            bad = _find_mutable(item)
            if bad is not None:
                return bad
        return None
    try:
        hash(value)
    except TypeError:
        return value
    return None


def _over_each(method, over, args):
    """One engine call for an action over a state-dependent domain: every element's outcomes."""
    def each(s, *_):
        out = []
        for v in over(s):
            t = method(s, *args, v)
            if t is not None:
                out.extend(t) if type(t) is list else out.append(t)
        return out
    return each


#: the C twin (no Python frame between the engine and the action; issue 13, item 2)
over_each = getattr(speedups(), "OverEach", _over_each)


def registry():
    """Every built-in model by its kebab-case name (importing the modules of ``models``)."""
    from kripke import models
    for info in pkgutil.iter_modules(models.__path__):
        try:
            importlib.import_module(f"kripke.models.{info.name}")
        except KripkeError:
            raise
        except Exception as e:  # one broken built-in module: name it, in one line
            raise ModelLoadError(f"built-in module models.{info.name} failed to import: "
                                 f"{type(e).__name__}: {e}") from None
    return dict(_REGISTRY)


def load_model(spec):
    """The model class for a registered name or ``path/to/file.py:ClassName``."""
    if ":" in spec and spec.split(":", 1)[0].endswith(".py"):
        return _load_from_file(*spec.rsplit(":", 1))
    models = registry()
    if spec not in models:
        raise UnknownNameError("model", spec, models)
    return models[spec]


def model_spec(cls):
    """How to name a model class so that ``load_model`` finds it again: ``path/to/file.py:Class``
    for a class loaded from a file (whatever its ``name``), else its registered name."""
    if "_kripke_file" in vars(cls):
        return f"{cls._kripke_file}:{cls.__name__}"
    if cls.name and _REGISTRY.get(cls.name) is cls:
        return cls.name
    return cls.__name__


def _load_from_file(path, clsname):
    module = load_python_file(path, "model file")
    cls = getattr(module, clsname, None)
    if cls is None:
        found = [n for n, v in vars(module).items()
                 if isinstance(v, type) and issubclass(v, TransitionSystem)
                 and v is not TransitionSystem]
        raise UnknownNameError(f"model class in {path}", clsname, found)
    if not (isinstance(cls, type) and issubclass(cls, TransitionSystem)):
        raise ModelLoadError(f"{path}:{clsname} is not a model (a TransitionSystem subclass)")
    cls._kripke_file = _relative(Path(path))
    return cls


def _relative(file):
    """A model file's path as a trace records it: relative to the current folder when the file
    lies below it (a trace moves with its project), else as given."""
    if file.is_absolute():
        try:
            return str(file.resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            pass
    return str(file)

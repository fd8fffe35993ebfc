"""kripke: model checking for distributed-protocol designs written in plain Python.

The public API, the one import a model file or a test needs::

    from kripke import TransitionSystem, action, Param, Domain, Int, Enum, invariant, check

* modelling (``kripke.models``): ``TransitionSystem``, ``action``, ``Param``, the field types
  ``Domain``, ``Enum``, ``Int``, ``Bool``, ``Id``, ``Optional``, ``Array``, ``Set``, ``Seq``,
  ``Bag`` (built with ``bag_add`` / ``bag_remove``), ``Map`` (values: ``FrozenMap``), ``OneOf``,
  ``record`` and ``put``;
* properties (``kripke.specs``): ``invariant``, ``sometimes``, ``always_possible``, ``step``,
  ``Refinement``, ``type_ok``, and the temporal ``eventually``, ``leads_to``,
  ``always_eventually``, ``eventually_always`` (checked under the fairness that ``@action(fair=
  ...)`` declares);
* checking (``kripke.checkers``): ``check`` (explicit-state search), ``simulate``, ``Result``;
  ``check_model`` declares checks for the pytest plugin;
* counterexamples (``kripke.traces``): ``Trace``, ``load_trace``, ``replay``; the whole
  reachable state graph of a small model as a ``networkx.DiGraph``: ``to_networkx``;
* conformance of real code (``kripke.checkers.conformance``): ``Adapter``,
  ``conformance_check``, ``in_units``;
* ``load_model`` finds a model by its registered name or ``path/to/file.py:Class``; the error
  hierarchy is ``kripke.errors``.

The front doors live here too: the ``kripke`` command (``kripke.cli``) and the pytest plugin
(``kripke.pytest_plugin``).
"""

from kripke.checkers.conformance import Adapter, conformance_check, in_units
from kripke.checkers.explicit import check
from kripke.checkers.result import Result, Violation
from kripke.checkers.simulate import simulate
from kripke.common import INCOMPLETE, OK, VIOLATED
from kripke.errors import KripkeError
from kripke.models.system import Param, TransitionSystem, action, load_model
from kripke.models.types import (Array, Bag, Bool, Domain, Enum, FrozenMap, Id, Int, Map, OneOf,
                                 Optional, Seq, Set, bag_add, bag_remove, put, record)
from kripke.checks import check_model
from kripke.specs.properties import (Refinement, always_eventually, always_possible, eventually,
                                     eventually_always, invariant, leads_to, sometimes, step,
                                     type_ok)
from kripke.traces.graph import to_networkx
from kripke.traces.trace import Trace, replay
from kripke.traces.trace import load as load_trace

__version__ = "0.1.0"

__all__ = [
    "TransitionSystem", "action", "Param", "load_model",
    "Domain", "Enum", "Int", "Bool", "Id", "Optional", "Array", "Set", "Seq", "Bag", "Map",
    "FrozenMap", "OneOf", "record", "put", "bag_add", "bag_remove",
    "invariant", "sometimes", "always_possible", "step", "Refinement", "type_ok",
    "eventually", "leads_to", "always_eventually", "eventually_always",
    "check", "simulate", "check_model", "Result", "Violation", "OK", "VIOLATED", "INCOMPLETE",
    "Trace", "load_trace", "replay", "to_networkx", "KripkeError",
    "Adapter", "conformance_check", "in_units",
]

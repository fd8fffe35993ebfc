"""``check_model``: a model check declared as data, for the pytest plugin (``kripke.pytest_plugin``)
to collect from a test module's ``kripke_checks``. Importing it needs no pytest."""

import sys
from dataclasses import dataclass, field

__all__ = ["check_model", "Check"]

HOLDS, VIOLATED = "holds", "violated"
#: the item that stands for the deadlock check (a finding of the search, not a model property)
DEADLOCK = "deadlock"
STRATEGIES = ("bfs", "dfs", "simulate")
#: the module-level name pytest collects checks from
COLLECTED_NAME = "kripke_checks"


@dataclass
class Check:
    """One model check, as ``check_model`` declares it."""

    model: object  # a registered name, "path/to/file.py:Class" (from the rootdir), or a class
    params: dict
    properties: tuple = None  # None: the model's (those not expected to fail) and those expected
    expect: dict = field(default_factory=dict)  # property -> "holds" | "violated"
    strategy: str = "bfs"
    symmetry: bool = None
    max_states: int = None
    max_depth: int = None
    deadlock: bool = True
    seed: int = 0
    id: str = None
    marks: tuple = ()
    where: tuple = (None, None)  # (file, line) of the check_model call
    fairness: bool = True  # temporal properties under the model's fairness (False: without)


def check_model(model, /, *, params=None, properties=None, expect=None, strategy="bfs",
                symmetry=None, max_states=None, max_depth=None, deadlock=True, seed=0, id=None,
                marks=(), fairness=True, **more_params):
    """Declare a model check for pytest to collect from a module's ``kripke_checks``.

    ``model`` is a registered name, ``path/to/file.py:ClassName`` (relative to pytest's rootdir)
    or a model class; parameters are keywords (``rms=3``), or ``params={...}`` for one whose name
    is taken by an option here. ``properties`` narrows the check to these properties (and those
    named in ``expect``: ``properties=[]`` checks only those); ``expect`` maps a property (or
    ``"deadlock"``) to ``"violated"`` for a known counterexample, which makes its item pass only
    if the property is violated (a property the model marks expected-to-fail is checked only
    when named). The options are those of ``kripke check`` (``max_states`` and ``max_depth``
    are whole numbers >= 1); ``seed`` is the random seed of ``strategy="simulate"``; ``id``
    replaces the generated id (in the items' node ids, the summary and the folder under
    ``--kripke-out``: no brackets, which pytest would read as parameters, and no ``::``);
    ``marks`` are pytest marks for every item (``marks=[pytest.mark.slow]``); ``fairness=False``
    checks temporal properties without the model's fairness (``--no-fairness``). A temporal
    property is an item like any other; under ``strategy="simulate"`` it is skipped as not
    checked (a random walk cannot decide it), never passed.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"check_model: strategy must be one of {', '.join(STRATEGIES)}, "
                         f"got {strategy!r}")
    for name, bound, option in (("max_states", max_states, "--max-states"),
                                ("max_depth", max_depth, "--max-depth")):
        if bound is not None and (type(bound) is not int or bound < 1):
            raise ValueError(f"check_model: {name} must be a whole number >= 1 (as "
                             f"{option} on the command line), got {bound!r}")
    if id is not None and (not isinstance(id, str) or not id.strip()
                           or any(c in id for c in ("[", "]", "::"))):
        raise ValueError(f"check_model: id must be a non-empty string without '[', ']' or "
                         f"'::' (pytest reads them in a node id), got {id!r}")
    expect = dict(expect or {})
    for name, verdict in expect.items():
        if verdict not in (HOLDS, VIOLATED):
            raise ValueError(f"check_model: expect[{name!r}] must be {HOLDS!r} or {VIOLATED!r}, "
                             f"got {verdict!r}")
    if DEADLOCK in expect and not deadlock:
        raise ValueError("check_model: expect names deadlock but deadlock=False")
    if isinstance(properties, str):
        properties = (properties,)
    caller = sys._getframe(1)
    return Check(model, {**(params or {}), **more_params},
                 None if properties is None else tuple(properties), expect, strategy, symmetry,
                 max_states, max_depth, deadlock, seed, id, tuple(marks),
                 (caller.f_code.co_filename, caller.f_lineno), fairness)

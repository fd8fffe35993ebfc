"""Properties: what must hold of a model, as plain data (after Stateright's ``Property``).

A property has a name (the paper's: ``tc_consistent``, ``election_safety``), a kind and a condition
that sees the model and a state:

* ``invariant``: holds in every reachable state (TLC's INVARIANT);
* ``sometimes``: holds in *some* reachable state. It guards against vacuity: an invariant that
  holds only because nothing ever happens is caught by a sometimes-property that fails;
* ``refinement``: every step of the model, mapped to an abstract model's state, is a step of the
  abstract model or a stutter (TLA+'s ``Spec => Abstract!Spec`` for the safety part).

Write them with decorators::

    @invariant
    def tc_consistent(model, s):
        "TCConsistent (TCommit.tla): no RM has committed while another has aborted."
        return not ("committed" in s.rm_state and "aborted" in s.rm_state)
"""

from checkers.errors import DefinitionError

__all__ = ["Property", "invariant", "sometimes", "Refinement", "type_ok"]


class Property:
    """A named property of a given kind; ``condition(model, state) -> bool``."""

    kinds = ("invariant", "sometimes", "refinement")

    def __init__(self, name, kind, condition, doc=""):
        if kind not in self.kinds:
            raise DefinitionError(f"property {name}: unknown kind {kind!r}")
        self.name, self.kind, self.condition, self.doc = name, kind, condition, doc

    def __repr__(self):
        return f"<{self.kind} {self.name}>"


def _property(kind, fn, name):
    if not callable(fn):
        raise DefinitionError(f"a {kind} property needs a function (model, state) -> bool")
    doc = (fn.__doc__ or "").strip().split("\n")[0]
    return Property(name or fn.__name__, kind, fn, doc)


def invariant(fn=None, *, name=None):
    """Decorate ``fn(model, state) -> bool`` as an invariant."""
    return _property("invariant", fn, name) if fn else lambda f: _property("invariant", f, name)


def sometimes(fn=None, *, name=None):
    """Decorate ``fn(model, state) -> bool`` as a reachability (sometimes) property."""
    return _property("sometimes", fn, name) if fn else lambda f: _property("sometimes", f, name)


class Refinement(Property):
    """Every step ``s -> t`` maps to an ``abstract`` step ``m(s) -> m(t)`` or a stutter.

    ``abstract(model)`` builds the abstract model (e.g. TCommit with the same RMs) and
    ``mapping(model, state)`` gives the abstract state. Initial states must map to abstract initial
    states. The abstract model's successor sets are cached per abstract state, so checking costs a
    dictionary lookup per step once the (small) abstract state space has been seen.
    """

    def __init__(self, name, abstract, mapping, doc=""):
        super().__init__(name, "refinement", None, doc)
        self.abstract, self.mapping = abstract, mapping

    def step_checker(self, model):
        """A function ``(s, t) -> bool`` (is the step allowed?) and one for initial states."""
        spec = self.abstract(model)
        mapping = self.mapping
        inits = set(spec.init())
        cache = {}

        def abstract_next(a):
            succ = cache.get(a)
            if succ is None:
                succ = cache[a] = frozenset(t for _, _, t in spec.successors(a))
            return succ

        def step_ok(s, t):
            a, b = mapping(model, s), mapping(model, t)
            return a == b or b in abstract_next(a)

        def init_ok(s):
            return mapping(model, s) in inits
        return step_ok, init_ok


def _type_ok(model, s):
    """TypeOK: every variable lies inside the type declared for it."""
    return model.type_ok(s) is None


type_ok = Property("type_ok", "invariant", _type_ok, _type_ok.__doc__)

r"""Properties: what must hold of a model, as plain data (after Stateright's ``Property``).

A property has a name (the paper's: ``tc_consistent``, ``election_safety``), a kind and a condition
that sees the model and a state:

* ``invariant``: holds in every reachable state (TLC's INVARIANT);
* ``sometimes``: holds in *some* reachable state. It guards against vacuity: an invariant that
  holds only because nothing ever happens is caught by a sometimes-property that fails;
* ``always_possible``: from every reachable state a state where it holds can still be reached
  (checked backwards over the whole reachable graph once the search is complete);
* ``step``: holds of every step ``s -> t`` that changes the state (TLA+'s ``[][A]_vars``, an
  action property, which every stuttering step ``t == s`` satisfies): ``condition(model, s, t)``,
  e.g. Raft's leader_append_only;
* ``refinement``: every step of the model, mapped to an abstract model's state, is a step of the
  abstract model or a stutter (TLA+'s ``Spec => Abstract!Spec`` for the safety part);
* the temporal (liveness) kinds, over state predicates P and Q, with TLA+'s meaning: a behaviour
  is infinite and may stutter at any point, so progress comes only from the fairness the model
  declares on its actions (``@action(fair="weak")``), and a state with no successor stutters
  forever. ``eventually`` (<>P), ``leads_to`` ([](P => <>Q)), ``always_eventually`` ([]<>P) and
  ``eventually_always`` (<>[]P); with ``each=Domain`` the predicates take one more argument and
  the property holds for every element (TLA+'s ``\A p \in Participant : P(p) ~> Q(p)``). A
  violation is a *lasso*: a path and a fair loop (or a state where the behaviour stutters)
  on which the property fails (``checkers.liveness``).

Write them with decorators::

    @invariant
    def tc_consistent(model, s):
        "TCConsistent (TCommit.tla): no RM has committed while another has aborted."
        return not ("committed" in s.rm_state and "aborted" in s.rm_state)
"""

import inspect
from operator import attrgetter

from kripke.errors import DefinitionError

__all__ = ["Property", "invariant", "sometimes", "always_possible", "step", "Refinement",
           "RefinementCheck", "type_ok", "eventually", "leads_to", "always_eventually",
           "eventually_always", "TEMPORAL"]

#: the temporal kinds: checked on the whole reachable graph under fairness (``checkers.liveness``)
TEMPORAL = ("eventually", "leads_to", "always_eventually", "eventually_always")


class Property:
    """A named property of a given kind; ``condition(model, state) -> bool``."""

    kinds = ("invariant", "sometimes", "always_possible", "step", "refinement") + TEMPORAL

    def __init__(self, name, kind, condition, doc="", expected_to_fail=False, target=None,
                 each=None, default=True):
        if kind not in self.kinds:
            raise DefinitionError(f"property {name}: unknown kind {kind!r}")
        self.name, self.kind, self.condition, self.doc = name, kind, condition, doc
        #: a known failure (like the TLA+ examples' expected violations): checked only when
        #: asked for by name, and expected to be refuted
        self.expected_to_fail = expected_to_fail
        #: Q of ``leads_to(P, Q)`` (``condition`` is P); None for the other kinds
        self.target = target
        #: a temporal property's Domain: it holds for each of its elements (None: once)
        self.each = each
        #: checked when no property is named; False for one checked only when named (a temporal
        #: property of a model whose default check relies on symmetry reduction)
        self.default = default

    @property
    def temporal(self):
        """Is this a liveness property, checked under fairness on the whole graph?"""
        return self.kind in TEMPORAL

    def instances(self, model, raw=False):
        """``[(label, P, Q)]``: a temporal property as state predicates ``(state) -> bool``, one
        triple per element of ``each`` (label ``{"participant": 1}``) or one (label ``{}``);
        Q is None but for ``leads_to``. ``raw``: ``[(label, condition, target, extra)]``, the
        functions as declared and the arguments after ``(model, state)``."""
        if self.each is None:
            extras = [({}, ())]
        else:
            from kripke.models.types import encode_value
            key = self.each.name.lower()
            extras = [({key: encode_value(x)}, (x,)) for x in self.each.values(model)]
        if raw:
            return [(label, self.condition, self.target, x) for label, x in extras]

        def bind(fn, x):
            return None if fn is None else (lambda s: fn(model, s, *x))
        return [(label, bind(self.condition, x), bind(self.target, x)) for label, x in extras]

    def __repr__(self):
        return f"<{self.kind} {self.name}>"


def _property(kind, fn, name, **options):
    takes = ("(model, s, t)" if kind == "step" else "(model, state, x)"
             if options.get("each") is not None else "(model, state)")
    if not callable(fn):
        raise DefinitionError(f"a {kind} property needs a function {takes} -> bool")
    try:
        inspect.signature(fn).bind(*takes.strip("()").split(", "))
    except TypeError as e:  # the wrong number of parameters: say so where it is defined
        raise DefinitionError(f"{kind} {name or fn.__name__} is called as "
                              f"{name or fn.__name__}{takes}: {e}") from None
    except ValueError:  # no signature to inspect (a builtin): it is checked when called
        pass
    doc = " ".join(inspect.cleandoc(fn.__doc__ or "").split("\n\n")[0].split())
    return Property(name or fn.__name__, kind, fn, doc, **options)


def invariant(fn=None, *, name=None, expected_to_fail=False, default=True):
    """Decorate ``fn(model, state) -> bool`` as an invariant (``expected_to_fail`` for a known
    violation that documents a limitation, like 2PC's blocking; ``default=False``: checked only
    when named, like the auxiliary invariants of an induction proof, ``kripke prove``)."""
    if fn:
        return _property("invariant", fn, name, default=default)
    return lambda f: _property("invariant", f, name, expected_to_fail=expected_to_fail,
                               default=default)


def sometimes(fn=None, *, name=None):
    """Decorate ``fn(model, state) -> bool`` as a reachability (sometimes) property."""
    return _property("sometimes", fn, name) if fn else lambda f: _property("sometimes", f, name)


def always_possible(fn=None, *, name=None):
    """Decorate ``fn(model, state) -> bool``: from every reachable state, some state where it
    holds is still reachable (CTL's AG EF p: "the breaker can always get back to closed")."""
    if fn:
        return _property("always_possible", fn, name)
    return lambda f: _property("always_possible", f, name)


def step(fn=None, *, name=None):
    """Decorate ``fn(model, s, t) -> bool`` as a property of every step ``s -> t``."""
    return _property("step", fn, name) if fn else lambda f: _property("step", f, name)


def _temporal(kind, fn, name, each, default):
    if each is not None and not hasattr(each, "values"):
        raise DefinitionError(f"{kind} {name or getattr(fn, '__name__', fn)}: each= must be a "
                              f"Domain, got {each!r}")
    if fn is not None:
        return _property(kind, fn, name, each=each, default=default)
    return lambda f: _property(kind, f, name, each=each, default=default)


def eventually(fn=None, *, name=None, each=None, default=True):
    """Decorate ``fn(model, state) -> bool`` as <>P: every fair behaviour reaches a state where
    it holds (``each=Domain``: ``fn(model, state, x)``, for every x; ``default=False``: checked
    only when named)."""
    return _temporal("eventually", fn, name, each, default)


def always_eventually(fn=None, *, name=None, each=None, default=True):
    """Decorate ``fn(model, state) -> bool`` as []<>P: on every fair behaviour it holds again
    and again (never false from some point on)."""
    return _temporal("always_eventually", fn, name, each, default)


def eventually_always(fn=None, *, name=None, each=None, default=True):
    """Decorate ``fn(model, state) -> bool`` as <>[]P: every fair behaviour reaches a point
    from which it holds for ever (the article's "eventually consistent")."""
    return _temporal("eventually_always", fn, name, each, default)


def leads_to(p, q, *, name, doc=None, each=None, default=True):
    """P ~> Q, TLA+'s [](P => <>Q): whenever ``p(model, state)`` holds, ``q`` holds then or
    later, on every fair behaviour (``each=Domain``: ``p(model, state, x)``, ``q(...)``, for
    every x: "every prepared participant eventually learns the outcome")."""
    prop = _temporal("leads_to", p, name, each, default)
    _property("leads_to", q, f"{name} (its Q)", each=each)  # checks q's signature
    prop.target = q
    if doc is not None:
        prop.doc = doc
    return prop


class Refinement(Property):
    """Every step ``s -> t`` maps to a step of an ``abstract`` model, or to a stutter.

    TLA+'s ``A == INSTANCE Abstract WITH v <- e`` followed by ``THEOREM Spec => A!Spec``, for the
    safety part. ``abstract(model)`` builds the abstract model (e.g. TCommit with the same RMs);
    ``mapping`` gives each abstract variable as the name of a concrete variable or as a function
    ``(model, state) -> value``; None maps every abstract variable to the concrete variable of the
    same name, like an INSTANCE without WITH. Initial states must map to abstract initial states.

    The abstract model's successors are computed once per abstract state and cached, so checking a
    step costs reading the mapped variables and a set lookup.
    """

    def __init__(self, name, abstract, mapping=None, doc=""):
        super().__init__(name, "refinement", None, doc)
        self.abstract, self.mapping = abstract, mapping

    def image(self, model, spec):
        """``state -> mapped values`` (the abstract state's fields, as a tuple or one value)."""
        mapping = self.mapping or {v: v for v in spec.variables}
        if list(mapping) != list(spec.variables):
            raise DefinitionError(f"{self.name}: the mapping must give the abstract variables "
                                  f"{list(spec.variables)} in order, got {list(mapping)}")
        if all(isinstance(e, str) for e in mapping.values()):
            return attrgetter(*mapping.values())  # one value, or a tuple of them, read in C
        exprs = [(lambda m, s, e=e: getattr(s, e)) if isinstance(e, str) else e
                 for e in mapping.values()]
        if len(exprs) == 1:
            return lambda s: exprs[0](model, s)
        return lambda s: tuple([e(model, s) for e in exprs])

    def checker(self, model):
        """The check of this refinement for ``model`` (builds the abstract model once)."""
        return RefinementCheck(self, model)


class RefinementCheck:
    """A refinement bound to a model: the image of a state and the allowed abstract steps.

    ``allowed(a)`` is the set of images of the abstract successors of image ``a``, computed once
    per abstract state: the abstract state space is small, and the engine asks for every step.
    """

    def __init__(self, refinement, model):
        spec = refinement.abstract(model)
        self.image = refinement.image(model, spec)
        self.spec, self._single = spec, len(spec.variables) == 1
        self._cache = {}
        self.inits = {self.image_value(a) for a in spec.init()}  # their images

    def image_value(self, abstract_state):
        """An abstract state as ``image`` gives it: one value, or a tuple of them."""
        return abstract_state[0] if self._single else tuple(abstract_state)

    def allowed(self, a):
        return self.context(a)[2]

    def context_of(self, s):
        """``context(image(s))``, in one call (the engine asks once per state)."""
        return self.context(self.image(s))

    def context(self, a):
        """``(image, a, allowed(a))``: what checking the steps from a state with image ``a``
        needs (the engine asks once per state; built once per abstract state)."""
        ctx = self._cache.get(a)
        if ctx is None:
            ctx = self._cache[a] = (self.image, a, frozenset(
                self.image_value(t) for _, _, t in self.spec.successors(self.state(a))))
        return ctx

    def state(self, a):
        """The abstract state whose image is ``a``."""
        return self.spec.State(a) if self._single else self.spec.State(*a)

    def init_ok(self, s):
        return self.image(s) in self.inits

    def step_ok(self, s, t):
        """Is ``s -> t`` an abstract step or a stutter?"""
        a, b = self.image(s), self.image(t)
        return b == a or b in self.allowed(a)


def _type_ok(model, s):
    """TypeOK: every variable lies inside the type declared for it."""
    return model.type_ok(s) is None


#: TypeOK. Every search also enforces the declared types on every state, selected or not: a
#: value outside its type is a violation of kind ``type`` (its trace ends at that state).
type_ok = Property("type_ok", "invariant", _type_ok, _type_ok.__doc__)

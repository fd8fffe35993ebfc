"""Is symmetry sound for this model and these properties? Tested before and during a search.

Symmetry reduction (``models/symmetry.py``) explores one state per orbit under renamings of a
symmetric domain. That is sound only if everything the search looks at commutes with every
renaming ``pi``: each checked property (``P(pi s) == P(s)``; for a step property or a refinement,
``P(pi s, pi t) == P(s, t)``), the initial states (``{pi s0} == init``), the actions (the
successors of ``pi s`` are the renamings of the successors of ``s``) and, when deadlocks are
checked, ``terminal``, and the state constraint ``within``. A model may declare a domain
symmetric and still single one member out (an action that fires only for RM 1, an invariant about
RM 0): the reduced search then gives a wrong verdict in either direction (issue 9, item 3). Two
checks guard against that:

* ``symmetry_problem`` runs before a symmetric search. With Hypothesis it draws well-typed
  states from the declarations (``state_strategy``: any value of the declared types, reachable or
  not, so that a guard like ``flag[1] == 1 and flag[0] == 0`` is met without searching for it)
  and a permutation of the domain's ids, and compares everything above; the initial states are
  also checked deterministically. A random state is often unreachable, so an action or property
  may raise on it: raising on both ``s`` and ``pi s`` is symmetric, raising on one of them is not.
* ``TranspositionProbe`` is called by the engine on each new state of a symmetric search: it
  renames the state (swapping ids 0 and 1, or by a seeded random permutation when there are 3
  or more ids) and compares the state properties, and every ``every``-th state the successors
  and the step properties too. It sees the reachable states that random ones may miss.

Either returns one line naming what is not symmetric, with a witness; the engine then searches
without symmetry and says why (or refuses, when symmetry was asked for explicitly).

Hypothesis runs in-process, as ``checkers/stateful.py`` runs it: no database, no deadline, every
health check off, no explain phase, and ``derandomize=True`` so that a model always gets the same
examples (and the same verdict). The failure is caught, so this works inside a pytest test and
inside another Hypothesis test.
"""

import itertools
import random
import time
from functools import partial

from kripke.common import speedups
from kripke.errors import DefinitionError
from kripke.models.symmetry import Canonicalizer
from kripke.models.system import TransitionSystem
from kripke.models.types import (Array, Bag, Bool, Enum, FrozenMap, Id, Int, Map, OneOf, Optional,
                                 RecordType, Seq, Set, _resolve, bag_order, total_order_key)
from kripke.specs.properties import type_ok

__all__ = ["strategy", "state_strategy", "symmetry_problem", "TranspositionProbe",
           "DEFAULT_EXAMPLES", "MAX_SET_SIZE"]

#: random states drawn by ``symmetry_problem`` by default: 0.1 s (two-phase, paxos) to 0.5 s
#: (vector-clock, raft) on a 2-core machine, most of it Hypothesis drawing the states. Fewer
#: miss more. Measured over 10 seeds on three subtle asymmetries (a Paxos whose quorums leave
#: acceptor 0 out; a Raft whose quorums do not count server 0; one where server 2 may not
#: become leader while another is): found 7, 5 and 5 times at 30 examples, 10, 9 and 8 at 100.
DEFAULT_EXAMPLES = 100

#: the largest set drawn for a ``Set``, which declares no bound of its own (3 instead of 6 saves
#: about a quarter of the time on raft; 6 leaves room for quorum-sized sets of messages)
MAX_SET_SIZE = 6

#: how many more examples Hypothesis may run to shrink a witness once one is found, and for how
#: long at most (the verdict is decided when the first is found; shrinking only makes the
#: witness easier to read). The count keeps the witness the same from run to run: shrinking
#: took 4 to 12 examples on the tests' fixtures, about 100 (3 s) on an asymmetric Raft; the
#: time is a safety net for larger models.
SHRINK_EXAMPLES = 200
SHRINK_SECONDS = 5.0


# -- strategies of well-typed values ---------------------------------------------------------------
def strategy(typ, model):
    """A Hypothesis strategy of the values of ``typ`` in ``model`` (bounds resolved), each of
    which passes ``typ.checker(model)``.

    A ``Set`` is a frozenset of at most ``MAX_SET_SIZE`` elements, a ``Seq`` a tuple of at most
    its ``max_len``, a ``Bag`` a tuple of at most its ``max_size`` elements in the Bag's canonical
    order, a record an instance of its class. A type kripke does not know is drawn from its
    universe; without one it raises ``DefinitionError``.
    """
    from hypothesis import strategies as st
    if isinstance(typ, Enum):
        return st.sampled_from(typ.values)
    if isinstance(typ, Int):
        return st.integers(_resolve(typ.lo, model), _resolve(typ.hi, model))
    if isinstance(typ, Bool):
        return st.booleans()
    if isinstance(typ, Id):
        n = len(typ.domain.values(model))
        return st.integers(0, n - 1) if n else st.nothing()
    if isinstance(typ, Optional):
        return st.none() | strategy(typ.inner, model)
    if isinstance(typ, Array):
        n = len(typ.index.values(model))
        return st.tuples(*[strategy(typ.value, model)] * n)
    if isinstance(typ, Set):
        return st.frozensets(strategy(typ.elem, model), max_size=MAX_SET_SIZE)
    if isinstance(typ, Seq):
        return st.lists(strategy(typ.elem, model),
                        max_size=_resolve(typ.max_len, model)).map(tuple)
    if isinstance(typ, Bag):
        order = bag_order(_resolve(typ.fifo, model))
        return st.lists(strategy(typ.elem, model), max_size=_resolve(typ.max_size, model)).map(
            lambda v: tuple(sorted(v, key=order)))
    if isinstance(typ, Map):
        size = MAX_SET_SIZE if typ.max_size is None else _resolve(typ.max_size, model)
        return st.dictionaries(strategy(typ.key, model), strategy(typ.value, model),
                               max_size=size).map(FrozenMap)
    if isinstance(typ, RecordType):
        cls = typ.cls
        return st.tuples(*[strategy(t, model) for t in typ.fields.values()]).map(
            lambda v: cls(*v))
    if isinstance(typ, OneOf):
        return st.one_of(*[strategy(a, model) for a in typ.alternatives])
    universe = typ.universe(model)
    if universe is not None:
        return st.sampled_from(sorted(universe, key=total_order_key))
    raise DefinitionError(f"no strategy for the type {typ!r} ({type(typ).__name__}): it is not "
                          "a kripke type and has no finite universe")


def state_strategy(model):
    """A Hypothesis strategy of ``model.State`` records, each field drawn from its declared
    type (any well-typed state, reachable or not)."""
    from hypothesis import strategies as st
    if getattr(model, "variables", None) is None:
        raise DefinitionError(f"{model.display_name()} declares no typed variables to draw "
                              "states from")
    cls = model.State
    return st.tuples(*[strategy(t, model) for t in model._types.values()]).map(
        lambda v: cls(*v))


# -- comparing a state with its renaming -----------------------------------------------------------
class _Raised:
    """The outcome of a call that raised: equal to any other raise (both sides raising is
    symmetric: a random state may be one the model never expects)."""

    __slots__ = ("text",)

    def __init__(self, e):
        self.text = f"{type(e).__name__}: {e}"

    def __eq__(self, other):
        return isinstance(other, _Raised)

    def __hash__(self):
        return 0


def _outcome(fn, *args):
    try:
        return bool(fn(*args))
    except Exception as e:  # the model's code on a state it may never reach: compared, not fatal
        return _Raised(e)


def _says(outcome, yes="holds", no="does not hold"):
    if isinstance(outcome, _Raised):
        return f"raises {outcome.text}"
    return yes if outcome else no


def _least(items):
    """The least of ``items`` (states, or tuples of them) in a run-independent order."""
    return min(items, key=total_order_key)


def _renaming(domain, perm):
    """``perm`` for a person: ``RM 0->1, 1->0`` (the ids it moves)."""
    moved = [f"{i}->{j}" for i, j in enumerate(perm) if i != j]
    return f"renaming {domain.name} {', '.join(moved)}"


class _Comparison:
    """Everything ``symmetry_problem`` and the probe compare between a state and its renaming,
    for one model, one domain and the selected properties."""

    def __init__(self, model, canon, domain, props, deadlock=True):
        self.model, self.canon, self.domain = model, canon, domain
        self.state_checks = []  # (what, fn(s)): compared on s and pi s
        self.init_checks = []   # the same, for initial states only
        self.step_checks = []   # (what, fn(s, t)): compared on s -> t and pi s -> pi t
        for p in props:
            if p is type_ok:
                continue  # a renaming maps a value of a declared type to one: always symmetric
            what = f"{p.kind} {p.name}"
            if p.kind in ("invariant", "sometimes", "always_possible"):
                self.state_checks.append((what, partial(p.condition, model)))
            elif p.kind == "step":
                self.step_checks.append((what, partial(p.condition, model)))
            elif p.kind == "refinement":
                ref = p.checker(model)
                # Checked on the initial states only, as the engine does.
                self.init_checks.append((f"refinement {p.name}'s initial condition",
                                         ref.init_ok))
                self.step_checks.append((what, ref.step_ok))
        if deadlock:
            # Which states may have no successor decides the deadlock verdict.
            self.state_checks.append(("terminal()", model.terminal))
        if type(model).within is not TransitionSystem.within:
            # The state constraint decides which states are explored.
            self.state_checks.append(("within()", model.within))
        self.order = {name: k for k, name in enumerate(model._actions)}

    def head(self, what):
        return f"{what} is not symmetric under {self.domain.name}"

    def permute(self, s, perm):
        """The renaming of ``s``, or None when ``s`` cannot be renamed (an action on a random
        state returned an id outside the domain, or something that is not a state)."""
        try:
            return self.canon.permute(s, perm)
        except Exception:  # not a well-formed state: nothing to compare it with
            return None

    def states(self, s, renamings, checks=None, known=None):
        """The state properties (or ``checks``) on ``s`` and on each ``(perm, pi s)`` of
        ``renamings``: a reason, or None. ``known``: outcomes on ``s`` already known, by check."""
        for what, fn in self.state_checks if checks is None else checks:
            a = known[what] if known and what in known else _outcome(fn, s)
            for perm, ps in renamings:
                if ps == s:
                    continue  # a state the renaming fixes
                b = _outcome(fn, ps)
                if a != b:
                    return (f"{self.head(what)}: it {_says(a)} in {s!r} but {_says(b)} in {ps!r} "
                            f"({_renaming(self.domain, perm)})")
        return None

    def successors(self, s):
        """``({action: set of states, or _Raised}, error)``, ``error`` a ``_Raised`` when
        enumerating the calls itself raised (a state-dependent domain)."""
        out = {}
        try:
            for name, _, thunk in self.model.each_call(s):
                if isinstance(out.get(name), _Raised):
                    continue
                try:
                    r = thunk()
                except Exception as e:  # the action on a state it may never reach
                    out[name] = _Raised(e)
                    continue
                if r is None:
                    continue
                got = out.setdefault(name, set())
                got.update(r if type(r) is list else (r,))
        except Exception as e:  # a state-dependent domain raised
            return out, _Raised(e)
        return out, None

    def steps(self, s, renamings):
        """The actions, then the step properties, on ``s`` and on each ``(perm, pi s)`` of
        ``renamings``: a reason, or None."""
        mine = None
        for perm, ps in renamings:
            if mine is None:
                mine = self.successors(s)
            # A state the renaming fixes has the same successors, which the renaming must
            # still map onto themselves.
            found = self._steps(s, ps, perm, mine, mine if ps == s else self.successors(ps))
            if found:
                return found
        return None

    def _steps(self, s, ps, perm, successors, renamed_successors):
        (mine, err), (theirs, perr) = successors, renamed_successors
        if (err is None) != (perr is None):
            raised = err or perr
            where = (f"in {s!r} but not in {ps!r}" if err is not None else
                     f"in {ps!r} but not in {s!r}")
            return (f"the actions are not symmetric under {self.domain.name}: enumerating the "
                    f"calls raises {raised.text} {where} ({_renaming(self.domain, perm)})")
        renamed, steps = {}, []
        for name in sorted(set(mine) | set(theirs), key=self.order.get):
            a, b = mine.get(name, set()), theirs.get(name, set())
            if isinstance(a, _Raised) or isinstance(b, _Raised):
                if isinstance(a, _Raised) and isinstance(b, _Raised):
                    continue
                where = (f"in {s!r} but not in {ps!r}" if isinstance(a, _Raised) else
                         f"in {ps!r} but not in {s!r}")
                raised = a if isinstance(a, _Raised) else b
                return (f"{self.head('action ' + name)}: it raises {raised.text} {where} "
                        f"({_renaming(self.domain, perm)})")
            pairs = [(t, self.permute(t, perm)) for t in a]
            if any(pt is None for _, pt in pairs):
                continue  # a successor that is not a state: the type check's business
            renamed[name] = pairs
            steps += pairs
        # The successors as sets of states (one action may do what another does elsewhere);
        # only when they differ is the culprit looked for, action by action.
        ours = {pt for pairs in renamed.values() for _, pt in pairs}
        theirs_all = {u for name in renamed for u in theirs.get(name, ())}
        if ours != theirs_all:
            inv = [0] * len(perm)
            for i, j in enumerate(perm):
                inv[j] = i
            # (Each witness is the least of its kind: sets iterate in an order that depends on
            # the process's string hashes, and the line should not.)
            for name, pairs in renamed.items():
                got, images = theirs.get(name, set()), {pt for _, pt in pairs}
                missing = [(t, pt) for t, pt in pairs if pt not in got]
                if missing:
                    t, pt = _least(missing)
                    return (f"{self.head('action ' + name)}: it leads from {s!r} to {t!r} "
                            f"but not from {ps!r} to {pt!r} ({_renaming(self.domain, perm)})")
                extra = [u for u in got if u not in images]
                if extra:
                    u = _least(extra)
                    return (f"{self.head('action ' + name)}: it leads from {ps!r} to {u!r} "
                            f"but not from {s!r} to {self.permute(u, inv)!r} "
                            f"({_renaming(self.domain, perm)})")
        for what, fn in self.step_checks:
            differ = [(t, pt, a, b) for t, pt in steps
                      for a, b in [(_outcome(fn, s, t), _outcome(fn, ps, pt))] if a != b]
            if differ:
                t, pt, a, b = min(differ, key=lambda d: total_order_key(d[0]))
                return (f"{self.head(what)}: it {_says(a)} of the step {s!r} -> {t!r} but "
                        f"{_says(b)} of {ps!r} -> {pt!r} ({_renaming(self.domain, perm)})")
        return None

    def inits(self):
        """The initial states under every swap of two adjacent ids (they generate every
        permutation, so a set closed under each is closed under all), and each initial state
        against its swaps (with a refinement's initial condition): a reason, or None."""
        inits = list(self.model.init())
        init_set = set(inits)
        for perm in _adjacent_swaps(self.canon.n):
            for s in inits:
                ps = self.canon.permute(s, perm)
                if ps not in init_set:
                    return (f"the initial states are not symmetric under {self.domain.name}: "
                            f"{s!r} is initial but {ps!r} is not ({_renaming(self.domain, perm)})")
                found = (self.states(s, [(perm, ps)], self.state_checks + self.init_checks)
                         or self.steps(s, [(perm, ps)]))
                if found:
                    return found
        return None


def _adjacent_swaps(n):
    """Every swap of two adjacent ids of ``0 .. n-1`` (together they generate every
    permutation)."""
    for k in range(n - 1):
        perm = list(range(n))
        perm[k], perm[k + 1] = k + 1, k
        yield perm


# -- before the search -----------------------------------------------------------------------------
class _Asymmetry(Exception):
    """Raised inside the Hypothesis test for an example on which something is not symmetric."""


def symmetry_problem(model, domain, props, *, examples=DEFAULT_EXAMPLES, deadlock=True):
    """Why symmetry under ``domain`` would be unsound for ``model`` and ``props``, or None.

    Checks the initial states deterministically (every swap of adjacent ids), then draws
    ``examples`` random well-typed states ``s`` and permutations ``pi`` with Hypothesis and
    compares each state property (invariant, sometimes, always_possible, and ``terminal`` when
    ``deadlock``) on ``s`` and ``pi s`` (and on the renamings of ``s`` that swap two adjacent
    ids: properties are cheap), the successors of ``pi s`` with the renamed successors of
    ``s``, and each step property and refinement on ``s -> t`` and ``pi s -> pi t``. A
    refinement's initial condition is compared on the initial states, where the engine checks
    it. ``type_ok`` is not compared: renaming keeps every value inside its declared type.

    Returns one line naming what failed, with a witness (shrunk for up to ``SHRINK_EXAMPLES``
    more examples), or None. ``props`` are Property objects (the engine's selection). With
    ``derandomize`` the examples depend only on the declarations and parameters, and each
    witness is the least of its kind, so a model gets the same line in every run and process.
    """
    if model.variables is None:
        raise DefinitionError(f"{model.display_name()}: symmetry needs typed variables")
    canon = Canonicalizer(model, domain)
    if canon.n < 2:
        return None  # the only renaming is the identity
    compare = _Comparison(model, canon, domain, props, deadlock)
    found = compare.inits()
    if found or examples <= 0:
        return found
    try:
        states = state_strategy(model)
    except DefinitionError as e:
        return f"symmetry under {domain.name} cannot be tested: {e}"

    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import strategies as st
    from hypothesis.errors import Flaky
    n = canon.n
    identity, rotation = list(range(n)), list(range(1, n)) + [0]
    swaps = list(_adjacent_swaps(n))
    found = []  # every reason found, the latest being the smallest witness so far
    shrinking = {"examples": 0, "until": None}

    @settings(database=None, derandomize=True, max_examples=examples, deadline=None,
              suppress_health_check=list(HealthCheck), phases=(Phase.generate, Phase.shrink),
              report_multiple_bugs=False, print_blob=False, verbosity=Verbosity.quiet)
    # The identity renames nothing: drawn, it stands for the rotation 0->1->...->0.
    @given(states, st.permutations(range(n)).map(lambda p: rotation if p == identity else p))
    def renaming_commutes(s, perm):
        if found:
            shrinking["examples"] += 1
            if (shrinking["examples"] > SHRINK_EXAMPLES
                    or time.perf_counter() > shrinking["until"]):
                return  # shrinking has had its turn: pass, so that it stops (see below)
        ps = canon.permute(s, perm)
        # The state properties are cheap: compared under the drawn renaming and every swap of
        # adjacent ids too; the successors (the costly part) under the drawn renaming only.
        renamings = [(perm, ps)] + [(p, canon.permute(s, p)) for p in swaps if p != perm]
        reason = compare.states(s, renamings) or compare.steps(s, renamings[:1])
        if reason:
            if not found:
                shrinking["until"] = time.perf_counter() + SHRINK_SECONDS
            found.append(reason)
            raise _Asymmetry(reason)

    try:
        renaming_commutes()
    except _Asymmetry as e:
        return str(e)  # the shrunk witness
    except Flaky:
        # Hypothesis's last replay of the shrunk example passed: shrinking had its turn (or an
        # action is not a function of the state). The smallest witness found stands.
        return found[-1]
    return None


# -- during the search -----------------------------------------------------------------------------
class TranspositionProbe:
    """``probe(t)``: is ``t`` treated like a renaming of it? A reason, or None.

    Each state is compared with one renaming: ids 0 and 1 swapped when the domain has 2 ids (or
    with ``swap_only``), else a permutation other than the identity drawn from a generator
    seeded with ``seed`` (one per state, so the cost is that of a single swap). Why not always
    the swap of 0 and 1: it sees an asymmetry between ids 0 and 2 only on the few states whose
    swap moves it. Measured on the states a symmetric search of TwoPhase explores, over the 72
    invariants ``not (rm_state[i] == a and rm_state[j] == b)`` at 3 RMs (24 of which no
    renaming of those states can refute), the swap misses 36 and a random renaming 26; at 5
    RMs (240, 80 irrefutable) 164 and 86.

    The first state and every ``states_every``-th after it are compared on the state
    properties (and ``terminal`` when ``deadlock``); the first and every ``every``-th also on
    their successors and the step properties and refinements on them. With the C extension a
    first pass compares them in C (``kripke._speedups.probe_states`` and ``probe_steps``: the
    successors as sets of fingerprints, the renamed ones never built), and only a difference is
    compared again in Python, which words the reason or finds none (both raising). Probing every
    state of raft at its defaults took about 5 s beside a search of 10 s when each comparison
    was made in Python, and takes about 1.5 s with the first pass in C (issue 13, item 1); most
    of it is renaming the states and expanding every 16th twice. ``canon`` is the search's
    ``Canonicalizer``; ``domain`` defaults to the model's symmetric domain. ``calls`` counts the
    states probed, ``compared`` and ``expanded`` those whose properties and successors were
    compared.
    """

    #: the largest domain whose renamings are listed once (6! = 720) to draw from
    LISTED = 6

    def __init__(self, model, canon, props, *, every=16, states_every=1, deadlock=True,
                 domain=None, seed=0, swap_only=False, invariants_hold=False):
        self.every, self.states_every = max(1, every), max(1, states_every)
        self.calls = self.compared = self.expanded = 0
        self.n = canon.n
        self.swap_only = swap_only
        self._identity = tuple(range(self.n))
        self._random = random.Random(seed)
        self._renamings = ([p for p in itertools.permutations(range(self.n))
                            if p != self._identity] if 2 < self.n <= self.LISTED else None)
        domain = domain or model.symmetric_domain()
        self._compare = _Comparison(model, canon, domain, props, deadlock)
        self._permute = canon.permute
        #: with ``invariants_hold`` (the engine probes only states that passed them), the
        #: invariants are evaluated on the renaming alone
        self._known = {f"invariant {p.name}": True for p in props
                       if p.kind == "invariant"} if invariants_hold else None
        c = speedups()
        #: the C first pass, and what it is handed: the checks, which hold on t, the calls
        self._c = c if c is not None and self.n <= 64 else None
        self._desc = canon.desc
        self._state_fns = tuple(fn for _, fn in self._compare.state_checks)
        self._step_fns = tuple(fn for _, fn in self._compare.step_checks)
        self._holds = self._known_to_hold()
        self._calls = [(fn, args[0]) if len(args) == 1 else (fn, tuple(args), None)
                       for _, fn, args in model._calls]

    def _known_to_hold(self):
        known = self._known or {}
        return tuple(what in known for what, _ in self._compare.state_checks)

    def forget(self, name):
        """The search found ``name`` violated and checks it no more (``--continue``): the states
        it probes from now on may violate it, so it is no longer assumed to hold on them."""
        if self._known is not None:
            self._known.pop(f"invariant {name}", None)
            self._holds = self._known_to_hold()

    def renaming(self):
        """The next renaming: a permutation of the ids other than the identity."""
        if self.n == 2 or self.swap_only:
            return (1, 0) + self._identity[2:]
        if self._renamings is not None:
            return self._renamings[self._random.getrandbits(32) % len(self._renamings)]
        while True:
            perm = tuple(self._random.sample(range(self.n), self.n))
            if perm != self._identity:
                return perm

    def __call__(self, t):
        if self.n < 2:
            return None
        k, self.calls = self.calls, self.calls + 1
        states, steps = k % self.states_every == 0, k % self.every == 0
        if not (states or steps):
            return None
        perm = self.renaming()
        pt = self._permute(t, perm)
        c, found = self._c, None
        if states and pt != t:  # (a state the renaming fixes has the same properties)
            self.compared += 1
            if c is None or c.probe_states(t, pt, self._state_fns, self._holds) >= 0:
                found = self._compare.states(t, [(perm, pt)], known=self._known)
        if steps and found is None:
            self.expanded += 1
            if c is None or not c.probe_steps(self._calls, self._desc, perm, t, pt,
                                              self._step_fns):
                found = self._compare.steps(t, [(perm, pt)])
        return found

"""Induction with z3 (issue 12, item 3): is an invariant, with auxiliary invariants, inductive?

``prove(model, "tc_consistent", invariants=[...])`` checks, as Ivy and mypyvy do, that the
conjunction Inv of the property and the auxiliary invariants

* holds in every initial state (*initiation*: evaluated on the model's own initial states), and
* is preserved by every action (*consecution*): for each action a (its instances together) and
  each invariant I of Inv, ``types(x) /\\ Inv(x) /\\ step_a(x, y) /\\ ~I(y)`` is unsatisfiable,
  where ``step_a`` is the action traced symbolically (``checkers.symbolic``).

Then Inv holds in every reachable state, at the model's parameters, however many states there
are. The report is a table, one row per (action, invariant), and a failing row gives a
*counterexample to induction* (CTI, ``traces.cti``): a state that satisfies Inv, need not be
reachable, and that the action takes outside an invariant. The declared types are one of the
invariants (``type_ok``): every action must keep a well-typed state well typed, and the other
invariants are asked of well-typed next states.

k-induction (``k`` > 1, as in Sheeran, Singh and Stalmarck, "Checking safety properties using
induction and a SAT-solver", FMCAD 2000): the base case is bounded model checking to depth k - 1
(``checkers.bmc``: a reachable violation is an ordinary trace, verdict ``violated``); the step
case assumes Inv on k consecutive states, pairwise distinct (the simple-path constraint, which
keeps k-induction complete for finite models and costs nothing in soundness: a shortest path to a
violation visits no state twice), and asks each invariant of the next one, the last step being
action a. k = 1 is ordinary induction (the state and its successor distinct too: a stutter
preserves everything).

Verdicts (the house's three): ``ok`` proved; ``violated`` a reachable violation (the base case,
or an initial state); ``incomplete`` not proved: a CTI, a solver ``unknown`` or the time limit.
A CTI is never called a violation: it may be unreachable (the auxiliary invariants too weak).
"""

import time
from dataclasses import dataclass, field

import z3

from kripke.checkers.explicit import select_properties
from kripke.checkers.result import INCOMPLETE, OK, VIOLATED, envelope
from kripke.checkers.symbolic import SymbolicModel
from kripke.errors import NondeterminismError, ParamError
from kripke.models.system import model_spec
from kripke.traces.cti import CTI
from kripke.traces.trace import Step

__all__ = ["FAILS", "HOLDS", "UNKNOWN", "Proof", "Row", "prove"]

#: the outcome of one check (a row of the table)
HOLDS, FAILS, UNKNOWN = "holds", "fails", "unknown"
#: the action column of the initiation rows
INITIATION = "initiation"


@dataclass
class Row:
    """One check: ``action`` (or ``"initiation"``) preserves (establishes) ``invariant``?"""

    action: str
    invariant: str
    outcome: str
    seconds: float = 0.0
    #: why the outcome is unknown (the solver's reason, the time limit)
    reason: str = ""

    def to_json(self):
        return {"action": self.action, "invariant": self.invariant, "outcome": self.outcome,
                "seconds": round(self.seconds, 4), **({"reason": self.reason} if self.reason
                                                      else {})}


@dataclass
class Proof:
    model: str
    params: dict
    property: str
    #: every invariant of the proof: the property, the auxiliary ones, then type_ok
    invariants: list
    k: int
    verdict: str
    rows: list = field(default_factory=list)
    #: the first counterexample to induction (``traces.cti.CTI``), or None
    cti: object = None
    #: a reachable violation found by the base case (``checkers.result.Violation``), or None
    violation: object = None
    #: one line: why the verdict
    reason: str = ""
    elapsed_s: float = 0.0
    #: the actions, in the model's order (the table's rows)
    actions: list = field(default_factory=list)

    @property
    def failing(self):
        return [r for r in self.rows if r.outcome == FAILS]

    def to_json(self, trace_file=None, cti_file=None, with_trace=False):
        v = self.violation
        return envelope(
            model=self.model, params=self.params, strategy="induction", property=self.property,
            invariants=self.invariants, k=self.k, verdict=self.verdict, reason=self.reason,
            elapsed_s=round(self.elapsed_s, 4), rows=[r.to_json() for r in self.rows],
            violation=None if v is None else {
                "property": v.property, "kind": v.kind, "trace_file": trace_file,
                "length": len(v.trace.steps) - 1, "message": v.message,
                **({"trace": v.trace.to_json()} if with_trace else {})},
            cti=None if self.cti is None else {
                "action": self.cti.action, "invariant": self.cti.invariant,
                "cti_file": cti_file, **({"cti": self.cti.to_json()} if with_trace else {})})


def prove(model, prop, *, invariants=(), k=1, time_limit=None, simple_path=True, sym=None):
    """Prove that ``prop`` (a name), with the auxiliary ``invariants`` (names), is inductive
    (``k``-inductive) for ``model`` at its parameters; returns a ``Proof``. ``sym``: the model's
    ``SymbolicModel``, when one is at hand (its actions are traced once)."""
    started = time.perf_counter()
    deadline = None if time_limit is None else started + time_limit
    if type(k) is not int or k < 1:
        raise ParamError(f"k must be a whole number >= 1, got {k!r}")
    names = list(dict.fromkeys([prop, *invariants]))
    props = select_properties(model, names)
    for p in props:
        if p.kind != "invariant":
            raise ParamError(f"{p.name} is {'an' if p.kind[0] in 'aeiou' else 'a'} {p.kind} "
                             "property: induction proves invariants only")
    traced = [p for p in props if p.name != "type_ok"]
    all_names = [p.name for p in traced] + ["type_ok"]
    proof = Proof(model=model_spec(type(model)), params=model.params, property=prop,
                  invariants=all_names, k=k, verdict=INCOMPLETE)

    def done(verdict, reason):
        proof.verdict, proof.reason = verdict, reason
        proof.elapsed_s = time.perf_counter() - started
        return proof

    # Initiation, on the model's own initial states (concrete: exact, and a trace if it fails).
    inits = list(model.init())
    for p in traced:
        ok = all(p.condition(model, s) for s in inits)
        proof.rows.append(Row(INITIATION, p.name, HOLDS if ok else FAILS))
    typed = all(model.type_error(s) is None for s in inits)
    proof.rows.append(Row(INITIATION, "type_ok", HOLDS if typed else FAILS))

    # The base case: no violation within k - 1 steps (at depth 0: the initial states).
    if k > 1 or proof.failing:
        from kripke.checkers.bmc import bmc
        left = None if deadline is None else max(0.0, deadline - time.perf_counter())
        base = bmc(model, properties=names, max_depth=k - 1, time_limit=left)
        if base.verdict == VIOLATED:
            proof.violation = base.violation
            return done(VIOLATED, f"a reachable violation: {base.violation.message}")
        if not (base.bound or "").startswith("bmc: no violation up to depth"):
            return done(INCOMPLETE, f"base case not established ({base.bound})")

    # The step case, per action and per invariant.
    sym = SymbolicModel(model) if sym is None else sym
    formulas = [(p.name, sym.invariant(p)) for p in traced]
    states = [sym.variables(f"s{i}") for i in range(k + 1)]

    def at(f, i):
        return z3.substitute(f, list(zip(sym.x, states[i][0])))

    def step(f, i):
        return z3.substitute(f, list(zip(sym.x, states[i][0])) + list(zip(sym.y, states[i + 1][0])))

    common = []
    for i in range(k):
        common += states[i][1]
        common += [at(f, i) for _, f in formulas]
    relation = sym.relation() if k > 1 else None
    for i in range(k - 1):
        common.append(step(relation, i))
    if simple_path:
        for i in range(k + 1):
            for j in range(i + 1, k + 1):
                common.append(z3.Or(*[a != b for a, b in zip(states[i][0], states[j][0])]))
    last_typed = states[k][1]
    by_name = {}
    for name, args, paths in sym.actions:
        by_name.setdefault(name, []).append((args, paths))
    proof.actions = list(by_name)
    ctis, hazards = [], []
    for name, instances in by_name.items():
        solver = z3.SolverFor("QF_BV")
        # A path of this action that raises or writes outside the declared types, from a state
        # that satisfies the invariants: not preserved (no next state to show)
        risky = [cond for act, _, _, cond in sym.hazards if act == name]
        if risky:
            solver.add(*common)
            if solver.check(z3.substitute(z3.Or(*risky), list(zip(sym.x, states[k - 1][0])))) \
                    != z3.unsat:
                proof.rows.append(Row(name, "type_ok", FAILS, 0.0,
                                      "raises or leaves the declared types"))
                hazards.append(name)
            solver.reset()
        solver.add(*common, step(sym.relation({name}), k - 1))
        checks = [("type_ok", z3.Not(z3.And(*last_typed)), [])]
        checks += [(inv, z3.Not(at(f, k)), last_typed) for inv, f in formulas]
        for inv, negated, assume in checks:
            t0 = time.perf_counter()
            if deadline is not None:
                left = deadline - t0
                if left <= 0:
                    proof.rows.append(Row(name, inv, UNKNOWN, 0.0, f"time_limit={time_limit:g}"))
                    continue
                solver.set("timeout", max(1, int(left * 1000)))
            solver.push()
            solver.add(*assume, negated)
            answer = solver.check()
            outcome = HOLDS if answer == z3.unsat else FAILS if answer == z3.sat else UNKNOWN
            row = Row(name, inv, outcome, time.perf_counter() - t0)
            if answer == z3.sat:
                ctis.append((inv, name, solver.model()))
            elif answer == z3.unknown:
                reason = solver.reason_unknown()
                row.reason = (f"time_limit={time_limit:g}" if deadline is not None
                              and time.perf_counter() >= deadline else f"solver: {reason}")
            solver.pop()
            proof.rows.append(row)
    if ctis:
        order = {n: i for i, n in enumerate(all_names)}
        inv, name, zmodel = min(ctis, key=lambda c: order[c[0]])  # the property's first
        proof.cti = _cti(model, sym, zmodel, states, name, inv, traced, all_names)
        bad = proof.failing
        return done(INCOMPLETE, f"not proved: {len(bad)} of {len(proof.rows)} checks fail; "
                                f"{proof.cti.action} does not preserve {proof.cti.invariant}")
    if hazards:
        return done(INCOMPLETE, f"not proved: {hazards[0]} may raise or leave the declared types "
                                "from a state that satisfies the invariants")
    unknown = [r for r in proof.rows if r.outcome == UNKNOWN]
    if unknown:
        return done(INCOMPLETE, f"not proved: {len(unknown)} checks unknown "
                                f"({unknown[0].reason})")
    what = "inductive" if k == 1 else f"{k}-inductive"
    return done(OK, f"proved: {', '.join(all_names)} {'is' if len(all_names) == 1 else 'are'} "
                    f"{what}")


def _disagrees(model, what):
    return NondeterminismError(
        f"{model.display_name()}: {what}: the symbolic encoding disagrees with the model "
        "(please report it)")


def _cti(model, sym, zmodel, states, action, inv, traced, all_names):
    """The CTI in a satisfying model: states 0..k-1 decoded, each step's call found by running
    the model; the last state is the successor, under ``action``, that breaks ``inv`` when
    evaluated concretely (so a state outside its types is never decoded)."""
    k = len(states) - 1
    concrete, steps = sym.path(zmodel, [terms for terms, _ in states[:k]],
                               "the counterexample to induction")
    for n, s in enumerate(concrete):
        broken = [p.name for p in traced if not p.condition(model, s)]
        if broken or model.type_error(s) is not None:
            raise _disagrees(model, f"state {n} of the counterexample to induction violates "
                                    f"{(broken or ['type_ok'])[0]}")
    prop = next((p for p in traced if p.name == inv), None)

    def breaks(t):
        if inv == "type_ok":
            return model.type_error(t) is not None
        return model.type_error(t) is None and not prop.condition(model, t)
    expected = None if inv == "type_ok" else sym.decode(zmodel, states[k][0])
    # Only ``action``'s calls run on the last state: it satisfies the invariants but need not
    # be reachable, and another action may raise there (the breaker's tick, with an open
    # circuit and no retry time).
    candidates = []
    for a, args, thunk in model.each_call(concrete[-1]):
        out = thunk() if a == action else None
        candidates += [(a, args, t) for t in (out if type(out) is list else [out])
                       if t is not None and breaks(t)]
    pick = next((c for c in candidates if c[2] == expected), candidates[0] if candidates
                else None)
    if pick is None:
        raise _disagrees(model, f"{action} does not break {inv} when run on the counterexample "
                                "to induction")
    a, args, t = pick
    if inv == "type_ok":
        from kripke.traces.trace import encode_any
        state = encode_any(model, t)
    else:
        state = model.encode(t)
    steps.append(Step(a, model.action_args(a, args), state))
    return CTI(model_spec(type(model)), model.params, inv, action,
               list(all_names), steps)

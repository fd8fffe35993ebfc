"""Hypothesis (``--strategy hypothesis``): a ``RuleBasedStateMachine`` derived from any model.

``state_machine(model)`` builds the machine; ``hypothesis_check(model)`` runs it with Hypothesis
and returns a ``Result`` like every other strategy, with the shrunk run as a kripke ``Trace``
(JSON, rendered, replayable). The machine is also usable as a test of its own::

    TestTwoPhase = state_machine(load_model("two-phase")(rms=3)).TestCase   # pytest collects it

The derived machine (after Hypothesis's ``hypothesis/stateful.py``):

* ``@initialize`` rule ``init``: draws one of the model's initial states (in a run-independent
  order) and checks the refinements' initial condition;
* ``@rule`` ``step``: expands the current state once (every call of ``model.each_call``,
  outcomes cached per state), draws an *action* among the enabled ones, then one of that
  action's enabled calls and outcomes (its domain values and nondeterministic results), and
  checks the ``step`` and ``refinement`` properties on the transition. A state with no enabled
  call is a deadlock (unless the model calls it terminal, or ``deadlock=False``); after a
  terminal state the rule stutters. A call that raises is a finding of kind ``exception``;
* one ``@invariant`` per invariant property of the model, ``invariant_NN_<name>`` (numbered so
  that Hypothesis, which orders them by name, checks them in the model's order). *Sometimes*
  properties are not checked: a single run cannot refute them.

Why one drawing rule and not one rule per action and domain value with the guards as
``@precondition`` decorators: guards over a static domain would be evaluated for every value at
every step (``raft``'s handlers range over servers x servers x messages), a precondition cannot
range over a state-dependent domain (the messages in flight), a rule's enabling is known only by
calling the action (so every action would run twice), and Hypothesis gives up on a run whose only
valid rules its swarm testing has switched off (every terminal state would need a stutter rule,
which swarm testing switches off too). Drawing an action first, uniformly among the enabled ones,
then one of its calls keeps actions with large domains from crowding out the others; indices
shrink towards the first enabled action and call, and Hypothesis deletes steps.

Measured on five of the findings the tests pin (seeds 0-7, 100 runs of 50 steps): action first,
then call, finds ``raft-article``'s two leaders at three servers for 8 seeds of 8; one uniform
draw over all enabled calls finds them for 1. Swarm testing (switching actions off per run, as
Hypothesis does for rules) found no more and shrank worse. Drawing the action by its place in the
model (so that deleting an earlier step leaves the later choices alone) shrank ``commit-2pc-
article`` further (8-9 steps instead of 11-12) but ``raft-article`` less (11-22 instead of 11-13);
not adopted. Shrunk runs are close to the shortest (BFS) counterexamples but not always as short:
index-based choices change meaning when an earlier step is deleted.

Reproducibility: ``hypothesis.seed(seed)`` on the machine, ``database=None`` (nothing is reused
from earlier runs), ``deadline=None``, and the enabled calls put in an order that does not depend
on the process (messages in flight are kept in hash order, and strings hash with a per-process
seed): a seed gives the same runs, the same finding and the same shrunk trace.

Counts: ``distinct_states`` are the states visited, ``states_generated`` the initial states plus
every successor computed (as TLC counts), ``depth`` the longest run in states.

First found and shrunk: every failing run is recorded; the first is what Hypothesis found, the
last is its final replay of the shrunk example. The reported trace is the shrunk one (the first
one if shrinking ever came back longer, which Hypothesis's shortlex order makes unlikely); the
Violation's message gives both lengths, and so do its attributes ``first_found_length`` and
``shrunk_length``.
"""

import re
import time

from kripke.errors import KripkeError, NondeterminismError
from kripke.checkers.explicit import select_properties
from kripke.checkers.result import INCOMPLETE, VIOLATED, Result, Violation, not_checked
from kripke.models.fingerprint import fingerprint, same_value
from kripke.models.system import model_spec
from kripke.models.types import total_order_key
from kripke.traces.trace import Step, walk_trace

__all__ = ["state_machine", "hypothesis_check", "PropertyViolation", "Run"]

#: steps per run (Hypothesis's stateful_step_count) and runs (max_examples) by default
DEFAULT_DEPTH, DEFAULT_EXAMPLES = 50, 100


def _hypothesis():
    try:
        import hypothesis  # noqa: F401
    except ImportError:
        raise KripkeError("--strategy hypothesis needs the hypothesis package: "
                          "pip install 'hypothesis>=6.90' (or pip install -e '.[dev]')") from None
    import hypothesis
    return hypothesis


class PropertyViolation(AssertionError):
    """A derived machine's run broke a property; ``violation`` holds it with its kripke trace."""

    def __init__(self, violation, set_fields=()):
        super().__init__(violation.message)
        self.violation, self._set_fields = violation, set_fields

    def __str__(self):
        from kripke.traces.render import format_trace
        return f"{self.violation.message}\n{format_trace(self.violation.trace, self._set_fields)}"


class _BudgetSpent(BaseException):
    """The states or time budget is spent (a BaseException: Hypothesis must not catch it)."""


class Run:
    """What the runs of one derived machine share: the visited states, the expansions, counts,
    coverage, and every failing run (the first one found, and the last: the shrunk one)."""

    CACHE = 200_000  # expansions kept (shrinking replays the same states over and over)

    def __init__(self, model, max_states=None, time_limit=None):
        self.model = model
        self.n_init = sum(1 for _ in model.init())
        self.seen, self.generated, self.visited, self.runs, self.longest = set(), 0, 0, 0, 0
        self.coverage = {name: {"fired": 0, "new": 0} for name in model._actions}
        self.failures = []
        self.max_states = max_states
        self.deadline = (time.perf_counter() + time_limit) if time_limit is not None else None
        self._cache = {}
        self._order = {name: k for k, name in enumerate(model._actions)}

    def expand(self, s):
        """``(groups, error)``: the enabled calls of ``s`` as ``((action, ((args, t)...))...)``
        in the model's action order, each action's calls in a run-independent order; ``error``
        is ``(action, args, text)`` for a call that raised, else None."""
        hit = self._cache.get(s)
        if hit is not None:
            return hit
        groups, error = {}, None
        for name, args, thunk in self.model.each_call(s):
            try:
                out = thunk()
            except KripkeError:
                raise
            except Exception as e:  # the model raised: a finding, reported with the run
                error = (name, args, f"{type(e).__name__}: {e}")
                break
            if out is None or out == []:
                continue
            outs = out if type(out) is list else [out]
            if len(outs) > 1:
                outs = sorted(outs, key=total_order_key)
            self.generated += len(outs)
            groups.setdefault(name, []).extend((args, t) for t in outs)
        for options in groups.values():
            options.sort(key=lambda o: total_order_key(o[0]))  # stable: outcomes stay sorted
        hit = (tuple(sorted(((n, tuple(o)) for n, o in groups.items()),
                            key=lambda g: self._order[g[0]])), error)
        if len(self._cache) >= self.CACHE:
            self._cache.clear()
        self._cache[s] = hit
        return hit

    def visit(self, name, t):
        """Count a step to ``t`` (by action ``name``, None for an initial state)."""
        self.visited += 1
        if name is not None:
            self.coverage[name]["fired"] += 1
            if fingerprint(t) not in self.seen:
                self.coverage[name]["new"] += 1
        self.seen.add(fingerprint(t))
        if not self.failures and (
                (self.max_states is not None and self.visited >= self.max_states)
                or (self.deadline is not None and time.perf_counter() >= self.deadline)):
            raise _BudgetSpent()


def _camel(name):
    return "".join(p.capitalize() for p in re.split(r"[^0-9A-Za-z]+", name) if p) or "Model"


def state_machine(model, *, properties=None, deadlock=True, run=None):
    """A ``RuleBasedStateMachine`` class that runs ``model`` and checks its properties.

    ``properties``: names (None: all the model's but those expected to fail); a failure raises
    ``PropertyViolation`` holding a kripke ``Violation`` and ``Trace``. ``run``: a ``Run`` that
    collects statistics and failures across runs (one is made when None).
    """
    _hypothesis()
    from hypothesis import strategies as st
    from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

    props = select_properties(model, properties)
    invariants = [p for p in props if p.kind == "invariant"]
    refinements = [(p.name, p.checker(model)) for p in props if p.kind == "refinement"]
    checks = [(name, "refinement", ref.step_ok) for name, ref in refinements]
    checks += [(p.name, "step", (lambda s, t, p=p: p.condition(model, s, t)))
               for p in props if p.kind == "step"]
    inits = sorted(model.init(), key=total_order_key)
    run = run or Run(model)
    set_fields = model.set_fields()

    def fail(walk, prop, kind, message, error_step=None):
        trace = walk_trace(model, walk, prop, kind)
        if error_step is not None:
            trace.steps.append(error_step)
        violation = Violation(prop, kind, trace, message)
        run.failures.append(violation)
        raise PropertyViolation(violation, set_fields)

    def pick(data, n, label):
        return 0 if n == 1 else data.draw(st.integers(0, n - 1), label=label)

    class Machine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.walk, self.checked = None, [0] * len(invariants)
            run.runs += 1

        def teardown(self):
            if self.walk is not None:
                run.longest = max(run.longest, len(self.walk))

        @initialize(data=st.data())
        def init(self, data):
            s = inits[pick(data, len(inits), "initial state")]
            self.walk = [(None, (), s)]
            run.visit(None, s)
            for name, ref in refinements:
                if not ref.init_ok(s):
                    fail(self.walk, name, "refinement", "the initial state maps to no initial "
                                                        "state of the abstract model")

        @rule(data=st.data())
        def step(self, data):
            walk = self.walk
            s = walk[-1][2]
            groups, error = run.expand(s)
            if error is not None:
                name, args, text = error
                step = Step(name, model.action_args(name, args), None, text)
                fail(walk, "exception", "exception",
                     f"step {len(walk)} {step.label()} raised {text}", step)
            if not groups:
                if deadlock and not model.terminal(s):
                    fail(walk, "deadlock", "deadlock",
                         f"deadlock: no action is enabled after {len(walk) - 1} steps")
                return  # a terminal state: the run stutters
            name, options = groups[pick(data, len(groups), "action")]
            args, t = options[pick(data, len(options), name)]
            walk.append((name, args, t))
            run.visit(name, t)
            n = len(walk) - 1
            wrong = model.type_error(t, s)
            if wrong is not None:
                fail(walk, "type_ok", "type", f"step {n} {wrong}")
            stutter = same_value(s, t)
            for prop, kind, ok in checks:
                if not (kind == "step" and stutter) and not evaluate(walk, prop, ok, s, t):
                    fail(walk, prop, kind, f"step {n} is not allowed by {prop}")

    def evaluate(walk, prop, condition, *states):
        """``condition(*states)``; an exception is a finding at the walk's last state."""
        try:
            return condition(*states)
        except KripkeError:
            raise
        except Exception as e:
            error = f"{type(e).__name__}: {e}"
            trace = walk_trace(model, walk, prop, "exception")
            trace.steps[-1].error = error
            violation = Violation(prop, "exception", trace, f"evaluating {prop} on the state "
                                  f"after {len(walk) - 1} steps raised {error}")
            run.failures.append(violation)
            raise PropertyViolation(violation, set_fields) from None

    def holds(k, p):
        def check(self):
            walk = self.walk
            if walk is None or self.checked[k] == len(walk):  # not again after a stutter
                return
            self.checked[k] = len(walk)
            if not evaluate(walk, p.name, p.condition, model, walk[-1][2]):
                fail(walk, p.name, "invariant", f"{p.name} is violated after {len(walk) - 1} "
                                                "steps")
        check.__name__ = check.__qualname__ = f"invariant_{k:02d}_{p.name}"
        check.__doc__ = p.doc
        return check

    for k, p in enumerate(invariants):
        setattr(Machine, f"invariant_{k:02d}_{p.name}", invariant()(holds(k, p)))
    Machine.__name__ = Machine.__qualname__ = f"{_camel(model.display_name())}Machine"
    Machine.__doc__ = f"{model.display_name()} as a Hypothesis state machine (checkers.stateful)."
    Machine.model, Machine.run = model, run
    # Run as a test of its own: no deadline (a step may be slow), no health checks (long runs are
    # the point), and no explain phase (the kripke trace explains; that phase re-runs the
    # failure dozens of times).
    from hypothesis import HealthCheck, Phase, settings
    Machine.TestCase.settings = settings(
        deadline=None, suppress_health_check=list(HealthCheck),
        phases=tuple(p for p in Phase if p is not Phase.explain))
    return Machine


def settings_for(max_examples=None, max_depth=None):
    """The Hypothesis settings of a reproducible run: no database, no deadline, quiet, every
    health check off (a model's runs are slow and long by design), generate then shrink."""
    hypothesis = _hypothesis()
    from hypothesis import HealthCheck, Phase, Verbosity
    return hypothesis.settings(
        max_examples=max_examples or DEFAULT_EXAMPLES,
        stateful_step_count=(max_depth or DEFAULT_DEPTH) + 1,  # + the initialize rule
        deadline=None, database=None, derandomize=False, print_blob=False,
        report_multiple_bugs=False, phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet)


def run_machine(machine, seed, settings, run):
    """Run ``machine`` under ``settings`` from ``seed``: ``(violation, budget_spent)``, the
    violation being the shrunk one (or the first one found, should that be shorter)."""
    hypothesis = _hypothesis()
    from hypothesis.errors import Flaky
    from hypothesis.stateful import run_state_machine_as_test
    spent, final = False, None
    try:
        run_state_machine_as_test(hypothesis.seed(seed)(machine), settings=settings)
    except PropertyViolation as e:
        final = e.violation
    except _BudgetSpent:
        spent = True
    except Flaky as e:
        raise NondeterminismError(
            f"{run.model.display_name()}: replaying a run gave another outcome (is an action "
            f"not a function of the state, or does it read a clock or a random source?): "
            f"{type(e).__name__}") from None
    if final is None:
        return None, spent
    first = run.failures[0]
    first_n, final_n = len(first.trace.steps) - 1, len(final.trace.steps) - 1
    chosen = final if final_n <= first_n else first
    chosen.first_found_length, chosen.shrunk_length = first_n, min(first_n, final_n)
    chosen.message += (f" (Hypothesis found a run of {first_n} steps and shrank it to "
                       f"{chosen.shrunk_length})")
    return chosen, spent


def hypothesis_check(model, *, properties=None, seed=0, max_examples=None, max_depth=None,
                     max_states=None, time_limit=None, deadlock=True, symmetry=None):
    """Search ``model`` with Hypothesis: ``max_examples`` runs (default 100) of at most
    ``max_depth`` steps (default 50), shrinking the first failure; stop early after
    ``max_states`` states or ``time_limit`` seconds. Returns a ``Result``: violated, or
    incomplete (Hypothesis never proves). ``symmetry`` is ignored (runs are not reduced)."""
    run = Run(model, max_states, time_limit)
    machine = state_machine(model, properties=properties, deadlock=deadlock, run=run)
    props = select_properties(model, properties)
    started = time.perf_counter()
    violation, spent = run_machine(machine, seed, settings_for(max_examples, max_depth), run)
    elapsed = time.perf_counter() - started
    if not spent:
        what = (f"{max_examples or DEFAULT_EXAMPLES:,} examples of at most "
                f"{max_depth or DEFAULT_DEPTH} steps")
    elif max_states is not None and run.visited >= max_states:
        what = f"the budget of {max_states:,} states"
    else:
        what = f"the time limit of {time_limit} s"
    return Result(
        model=model_spec(type(model)), params=model.params, strategy="hypothesis",
        symmetry=False, verdict=VIOLATED if violation else INCOMPLETE,
        distinct_states=len(run.seen), states_generated=run.n_init + run.generated,
        depth=run.longest, elapsed_s=elapsed, properties=[p.name for p in props],
        coverage=run.coverage, violation=violation, seed=seed,
        not_checked=not_checked(props),
        bound=None if violation else f"hypothesis: {what}, {run.visited:,} states (seed {seed})")

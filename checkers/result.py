"""What a check returns: a verdict, the statistics (TLC's meaning) and the counterexample."""

from dataclasses import dataclass, field

from kripke.common import INCOMPLETE, OK, VIOLATED

__all__ = ["Violation", "Result", "OK", "VIOLATED", "INCOMPLETE", "INTERRUPTED", "SCHEMA",
           "envelope", "violation_json", "not_checked"]

#: the verdict of a search stopped by Ctrl-C (``kripke check`` exits 130), with the counts so far
INTERRUPTED = "interrupted"

#: the version of the shape of every JSON object kripke prints (``kripke check --json``,
#: ``history --json``, ``bench --json``, an error under ``--json``): raised when a key changes
#: meaning or goes away, not when one is added
SCHEMA = 1


def envelope(**fields):
    """A JSON object kripke prints: ``kripke_version`` and ``schema`` first, then ``fields``."""
    from kripke import __version__  # the package, loaded by the time anything is printed
    return {"kripke_version": __version__, "schema": SCHEMA, **fields}


@dataclass
class Violation:
    """A property that fails: its name, its kind and, except for *sometimes*, a trace."""

    property: str
    kind: str  # invariant | sometimes | refinement | deadlock | exception
    trace: object = None  # traces.trace.Trace
    message: str = ""


@dataclass
class Result:
    """The outcome of one search.

    Counts follow TLC: ``distinct_states`` are the states stored (orbits under symmetry),
    ``states_generated`` the initial states plus every successor computed, ``depth`` the number of
    BFS levels with the initial states as level 1 (the longest path stored, for DFS).
    """

    model: str
    params: dict
    strategy: str
    symmetry: bool
    verdict: str
    distinct_states: int
    states_generated: int
    depth: int
    elapsed_s: float
    properties: list
    coverage: dict = field(default_factory=dict)
    violation: Violation = None
    #: why the search is incomplete (a bound that was hit), or None
    bound: str = None
    #: the chance that two distinct states shared a fingerprint, estimated as TLC does
    collision_probability: float = 0.0
    #: why a model's symmetric domain was not used (one line), or None
    symmetry_note: str = None
    #: every violation found, in the order found (``violation`` is the first); more than one
    #: only when the search went on after the first (``keep_going``, ``--continue``)
    violations: list = field(default_factory=list)
    #: successors outside the model's state constraint ``within()``: checked, not stored or
    #: expanded, counted each time one is generated (as TLC does)
    outside_constraint: int = 0
    #: the random seed a run repeats from (``--strategy simulate``), or None
    seed: int = None
    #: {property: why} for the selected properties this strategy cannot decide (a random walk
    #: neither witnesses nor refutes a temporal property): never reported as holding
    not_checked: dict = field(default_factory=dict)
    #: the folder the search was last saved in (``--checkpoint``, ``--resume``), or None
    checkpoint: str = None
    #: worker processes (or Ray actors) that shared the search, or the Ray tasks of
    #: ``--strategy simulate --engine ray``
    workers: int = 1
    #: how a partitioned search split the states over its shards: "fingerprint" or "by
    #: VAR[, VAR]" (``checkers.partition``); None for a search in one process
    partition: str = None
    #: the engine that ran the search: plain, vector or ray (``--engine auto`` picks one)
    engine: str = "plain"
    #: {property: why}: the properties the vector engine ran on each decoded state, in Python,
    #: because the tracer refused them (checked as the plain engine checks them, slower)
    per_state: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.violation is not None and not self.violations:  # engines that stop at one
            self.violations = [self.violation]

    def to_json(self, trace_file=None, with_trace=False, trace_files=None):
        """The ``kripke check --json`` object of DESIGN.md; ``with_trace`` (``--json --trace``)
        puts the counterexample's trace JSON in the violation as ``"trace"``; ``trace_files``:
        the file of each of ``violations`` (``--continue --out``; ``violations[0]``'s is
        ``trace_file``)."""
        files = list(trace_files or [trace_file])
        files += [None] * (len(self.violations) - len(files))
        return envelope(
            model=self.model,
            params=self.params,
            strategy=self.strategy,
            symmetry=self.symmetry,
            verdict=self.verdict,
            distinct_states=self.distinct_states,
            states_generated=self.states_generated,
            depth=self.depth,
            elapsed_s=round(self.elapsed_s, 6),
            properties=self.properties,
            coverage=self.coverage,
            violation=violation_json(self.violation, trace_file, with_trace),
            bound=self.bound,
            collision_probability=self.collision_probability,
            symmetry_note=self.symmetry_note,
            seed=self.seed,
            violations=[violation_json(v, f, with_trace)
                        for v, f in zip(self.violations, files)],
            outside_constraint=self.outside_constraint,
            not_checked=self.not_checked,
            checkpoint=self.checkpoint,
            workers=self.workers,
            partition=self.partition,
            engine=self.engine,
            per_state=self.per_state,
        )


#: the kinds of property a random strategy (simulate, hypothesis) checks on the states it visits
CHECKED_ON_WALKS = ("invariant", "step", "refinement")


def not_checked(props):
    """``{property: why}`` for the properties of ``props`` that a random strategy cannot
    decide: those that speak of every reachable state (sometimes, always_possible) or of every
    infinite behaviour (the temporal kinds)."""
    return {p.name: f"{p.kind}: a random walk cannot decide it; check it with --strategy bfs"
            for p in props if p.kind not in CHECKED_ON_WALKS}


def violation_json(v, trace_file=None, with_trace=False):
    """One violation of ``kripke check --json`` (None for none): with ``with_trace`` its trace's
    JSON (``null`` for a *sometimes* property, which has no trace)."""
    if v is None:
        return None
    out = {
        "property": v.property,
        "kind": v.kind,
        "trace_file": trace_file,
        "length": 0 if v.trace is None else len(v.trace.steps) - 1,
        "message": v.message,
    }
    if with_trace:
        out["trace"] = None if v.trace is None else v.trace.to_json()
    return out

"""Counterexamples to induction (CTIs), for a person: ``kripke prove``'s finding when an action
does not preserve an invariant (issue 12, item 3).

A CTI looks like a trace (states, one action per step, the changed fields) but is not one: its
first state was *assumed* (it satisfies every invariant of the proof) and need not be reachable.
So it is never written as trace JSON: its file has its own format, ``"kripke-cti"``, which
``kripke replay`` refuses as "not a kripke trace", and every rendering says "possibly
unreachable" in its header. A reachable violation is what ``kripke prove`` finds by bounded model
checking instead, and that is an ordinary trace::

    {"format": "kripke-cti", "version": 1, "model", "params", "invariant", "action",
     "assumed": [invariant names], "k", "reachable": "unknown", "note",
     "steps": [{"action", "args", "state"}...]}

Steps 0..k-1 satisfy every assumed invariant (step 0's action is null: it was assumed, not
reached); the last step, by ``action``, leads to a state that violates ``invariant``.
"""

import json
from dataclasses import dataclass, field

import graphviz

from kripke.traces.render import changes
from kripke.traces.trace import write_atomic

__all__ = ["CTI", "CTI_FORMAT", "CTI_NOTE", "cti_dot", "format_cti"]

CTI_FORMAT = "kripke-cti"
CTI_NOTE = ("a counterexample to induction: the first state satisfies the invariants but need "
            "not be reachable; strengthen the invariants (--invariant) or raise --k. Not a trace: "
            "kripke replay does not apply")


@dataclass
class CTI:
    model: str
    params: dict
    #: the invariant the last step breaks (``type_ok``: it leaves the declared types)
    invariant: str
    #: the action of the last step, by name (its arguments are in the last step)
    action: str
    #: the invariants assumed on every state but the last
    assumed: list
    #: ``traces.trace.Step`` records; step 0's action is None (assumed, not reached)
    steps: list = field(default_factory=list)

    @property
    def k(self):
        return len(self.steps) - 1

    def to_json(self):
        return {"format": CTI_FORMAT, "version": 1, "model": self.model, "params": self.params,
                "invariant": self.invariant, "action": self.action, "assumed": self.assumed,
                "k": self.k, "reachable": "unknown", "note": CTI_NOTE,
                "steps": [{"action": s.action, "args": s.args, "state": s.state}
                          for s in self.steps]}

    def save(self, path):
        write_atomic(path, json.dumps(self.to_json(), indent=1) + "\n")


def headline(cti):
    """Two lines: what fails, and that it may be unreachable."""
    params = ", ".join(f"{k}={v}" for k, v in cti.params.items())
    return (f"{cti.model} ({params}): {cti.action} does not preserve {cti.invariant}\n"
            "counterexample to induction: state 0 is assumed, possibly unreachable")


def format_cti(cti, set_fields=(), cti_file=None):
    """The terminal rendering: the headline, state 0 in full (assumed), then each step's
    changed fields, the last one marked as breaking the invariant::

        two-phase (rms=3): rm_rcv_commit_msg does not preserve tc_consistent
        counterexample to induction: state 0 is assumed, possibly unreachable
           0  assumed                  rm_state = [aborted, working, working]
                                       ...
           1  rm_rcv_commit_msg(rm=1)  rm_state[1]: working -> committed
        state 0 satisfies tc_consistent (every assumed invariant); state 1 violates it
    """
    labels = ["assumed"] + [s.label() for s in cti.steps[1:]]
    width = min(max(len(x) for x in labels), 40)
    out = [headline(cti)]
    prev = None
    for n, (step, label) in enumerate(zip(cti.steps, labels)):
        lines = changes(prev, step.state, set_fields) or ["(no change: a stutter step)"]
        if len(label) > width:
            out.append(f"{n:>4}  {label}")
            rest = lines
        else:
            out.append(f"{n:>4}  {label:<{width}}  {lines[0]}")
            rest = lines[1:]
        out.extend(f"{'':>4}  {'':<{width}}  {line}" for line in rest)
        prev = step.state
    assumed = ", ".join(cti.assumed)
    before = "state 0 satisfies" if cti.k == 1 else f"states 0..{cti.k - 1} satisfy"
    out.append(f"{before} {assumed}; state {cti.k} violates {cti.invariant} "
               "(state 0 need not be reachable)")
    if cti_file:
        out.append(f"counterexample to induction: {cti_file} (not a trace: no replay)")
    return "\n".join(out)


def _escape(text):
    return text.replace("\\", "\\\\").replace("\"", "\\\"")


def cti_dot(cti, set_fields=()):
    """The CTI as a Graphviz graph: state 0 dashed ("assumed, possibly unreachable"), the state
    that breaks the invariant red and bold, the step into it labelled with its action."""
    g = graphviz.Digraph("cti", graph_attr={
        "label": _escape(headline(cti)), "labelloc": "t", "fontname": "Helvetica"},
        node_attr={"shape": "box", "fontname": "Courier", "fontsize": "10"},
        edge_attr={"fontname": "Helvetica", "fontsize": "10"})
    prev = None
    for n, step in enumerate(cti.steps):
        lines = changes(prev, step.state, set_fields) or ["(no change)"]
        if n == 0:
            title = "state 0: assumed (satisfies the invariants), possibly unreachable"
            style = {"style": "dashed"}
        elif n == cti.k:
            title = f"state {n}: violates {cti.invariant}"
            style = {"color": "red", "fontcolor": "red", "style": "bold"}
        else:
            title, style = f"state {n}", {}
        body = "\\l".join(_escape(x) for x in [title] + lines) + "\\l"
        g.node(f"s{n}", body, **style)
        if n:
            g.edge(f"s{n - 1}", f"s{n}", label=_escape(step.label()),
                   **({"color": "red", "fontcolor": "red", "penwidth": "2"} if n == cti.k
                      else {}))
        prev = step.state
    return g

"""The whole reachable state graph of a small model, drawn with Graphviz.

A counterexample shows one path; for a model of a few hundred states the whole graph can be
read, and grouping the states by a protocol variable (a circuit breaker's closed / open /
half-open) shows the protocol's own state machine with every reachable detail inside it::

    from kripke.models.circuit_breaker import CircuitBreaker
    from kripke.traces.graph import state_graph
    from kripke.traces.render import write_drawing

    g = state_graph(CircuitBreaker(), cluster="circuit", fields=("now", "service", "calls"))
    write_drawing(g, "out/breaker.svg")

One node per reachable state (by default no symmetry reduction: every state is drawn), labelled
with the chosen fields; one edge per pair of states, labelled with every action call that leads
from one to the other; the initial states drawn bold. A state outside the model's constraint
``within()`` is drawn dashed and not expanded, as the search treats it.
"""

import graphviz

from kripke.errors import KripkeError
from kripke.models.fingerprint import fingerprint
from kripke.models.symmetry import Canonicalizer
from kripke.models.system import TransitionSystem
from kripke.traces.trace import Step, format_value

__all__ = ["state_graph", "reachable", "TooManyStates"]


class TooManyStates(KripkeError):
    """The graph has more than ``max_states`` states (the front doors add how to draw fewer)."""

    def __init__(self, model, max_states):
        super().__init__(f"{model.display_name()} has more than {max_states:,} reachable states")
        self.max_states = max_states


def reachable(model, max_states, max_depth=None, symmetry=False):
    """``(states, edges)``: every state reachable from ``model.init()`` in breadth-first order,
    and ``{(i, j): [label, ...]}`` for the action calls leading from state i to state j.

    States are told apart by fingerprint, as the search tells them (``True`` is not ``1``).
    ``max_depth``: only the states of the first ``max_depth`` breadth-first levels (the initial
    states are level 1); ``symmetry``: one state per orbit under the model's symmetric domain
    (its canonical representative; whether that is sound is for the caller to test). A state
    outside the constraint ``within()`` is listed but not expanded. Raises ``TooManyStates``
    when there are more than ``max_states`` states.
    """
    canon = Canonicalizer(model, model.symmetric_domain()) if symmetry else None
    constrained = type(model).within is not TransitionSystem.within
    index, states, edges, level = {}, [], {}, []

    def visit(s, d):
        if canon is not None:
            s = canon(s)
        f = fingerprint(s)
        if f not in index:
            if len(states) == max_states:
                raise TooManyStates(model, max_states)
            index[f] = len(states)
            states.append(s)
            level.append(d)
        return index[f]

    for s in model.init():
        visit(s, 1)
    for i, s in enumerate(states):  # grows while it is read: a breadth-first search
        if (max_depth is not None and level[i] >= max_depth) or (constrained
                                                                  and not model.within(s)):
            continue
        for name, args, t in model.successors(s):
            label = Step(name, model.action_args(name, args), None).label()
            edges.setdefault((i, visit(t, level[i] + 1)), []).append(label)
    return states, edges


def state_graph(model, cluster=None, fields=None, max_states=1000, max_depth=None,
                symmetry=False):
    """A ``graphviz.Digraph`` of every reachable state of ``model``.

    ``cluster``: a variable whose value groups the states (one Graphviz cluster per value);
    ``fields``: the variables shown in each node (default: all, less ``cluster``);
    ``max_states``: refuse (``TooManyStates``) a graph larger than this; ``max_depth`` and
    ``symmetry`` as for ``reachable`` (the title says so).
    """
    states, edges = reachable(model, max_states, max_depth, symmetry)
    encoded = [model.encode(s) for s in states]
    names = list(encoded[0]) if isinstance(encoded[0], dict) else None
    if names is None and (cluster or fields):
        raise KripkeError(f"{model.display_name()} has untyped states: it has no fields to "
                          "cluster by or show")
    for name in ([cluster] if cluster else []) + list(fields or ()):
        if name not in names:
            raise KripkeError(f"{model.display_name()} has no variable {name!r}; its variables "
                              f"are {', '.join(names)}")
    shown = list(fields) if fields else [n for n in (names or ()) if n != cluster]
    canon = Canonicalizer(model, model.symmetric_domain()) if symmetry else None
    initial = {fingerprint(s if canon is None else canon(s)) for s in model.init()}
    constrained = type(model).within is not TransitionSystem.within

    params = ", ".join(f"{k}={v}" for k, v in model.params.items())
    what = f"{len(states)} {'orbits' if symmetry else 'states'}"
    if max_depth is not None:
        what += f" in the first {max_depth} levels"
    outside = sum(1 for s in states if not model.within(s)) if constrained else 0
    if outside:
        what += f" ({outside} outside the constraint, dashed: not explored)"
    g = graphviz.Digraph(
        "states", graph_attr={"label": f"{model.display_name()} ({params}): {what}",
                              "labelloc": "t", "fontname": "Helvetica", "rankdir": "LR"},
        node_attr={"shape": "box", "fontname": "Courier", "fontsize": "9"},
        edge_attr={"fontname": "Helvetica", "fontsize": "8"})

    def node(where, i):
        value = encoded[i]
        lines = ([f"{n} = {format_value(value[n])}" for n in shown] if names
                 else [format_value(value)])
        style = ({"style": "bold", "penwidth": "2"} if fingerprint(states[i]) in initial
                 else {"style": "dashed"} if constrained and not model.within(states[i]) else {})
        where.node(f"s{i}", "\\l".join(_escape(x) for x in lines) + "\\l", **style)

    if cluster is None:
        for i in range(len(states)):
            node(g, i)
    else:
        groups = {}
        for i, value in enumerate(encoded):
            groups.setdefault(format_value(value[cluster]), []).append(i)
        for k, (value, members) in enumerate(groups.items()):
            with g.subgraph(name=f"cluster_{k}") as sub:
                sub.attr(label=_escape(f"{cluster} = {value}"), style="rounded")
                for i in members:
                    node(sub, i)
    for (i, j), labels in edges.items():
        g.edge(f"s{i}", f"s{j}", label="\\n".join(_escape(x) for x in labels))
    return g


def _escape(text):
    return text.replace("\\", "\\\\").replace("\"", "\\\"")

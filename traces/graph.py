"""The whole reachable state graph of a small model, drawn with Graphviz.

A counterexample shows one path; for a model of a few hundred states the whole graph can be
read, and grouping the states by a protocol variable (a circuit breaker's closed / open /
half-open) shows the protocol's own state machine with every reachable detail inside it::

    from kripke.models.circuit_breaker import CircuitBreaker
    from kripke.traces.graph import state_graph
    from kripke.traces.render import write_drawing

    g = state_graph(CircuitBreaker(), cluster="circuit", fields=("now", "service", "calls"))
    write_drawing(g, "out/breaker.svg")

One node per reachable state (no symmetry reduction: every state is drawn), labelled with the
chosen fields; one edge per pair of states, labelled with every action call that leads from one
to the other; the initial states drawn bold.
"""

import graphviz

from kripke.errors import KripkeError
from kripke.traces.trace import Step, format_value

__all__ = ["state_graph", "reachable"]


def reachable(model, max_states):
    """``(states, edges)``: every state reachable from ``model.init()`` in breadth-first order,
    and ``{(i, j): [label, ...]}`` for the action calls leading from state i to state j.

    Raises ``KripkeError`` when there are more than ``max_states`` states.
    """
    index, states, edges = {}, [], {}

    def visit(s):
        if s not in index:
            if len(states) == max_states:
                raise KripkeError(f"{model.display_name()} has more than {max_states} reachable "
                                  "states: draw a smaller instance or raise max_states")
            index[s] = len(states)
            states.append(s)
        return index[s]

    for s in model.init():
        visit(s)
    for i, s in enumerate(states):  # grows while it is read: a breadth-first search
        for name, args, t in model.successors(s):
            label = Step(name, model.action_args(name, args), None).label()
            edges.setdefault((i, visit(t)), []).append(label)
    return states, edges


def state_graph(model, cluster=None, fields=None, max_states=1000):
    """A ``graphviz.Digraph`` of every reachable state of ``model``.

    ``cluster``: a variable whose value groups the states (one Graphviz cluster per value);
    ``fields``: the variables shown in each node (default: all, less ``cluster``);
    ``max_states``: refuse (``KripkeError``) a graph larger than this.
    """
    states, edges = reachable(model, max_states)
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
    initial = set(model.init())

    params = ", ".join(f"{k}={v}" for k, v in model.params.items())
    g = graphviz.Digraph(
        "states", graph_attr={"label": f"{model.display_name()} ({params}): {len(states)} states",
                              "labelloc": "t", "fontname": "Helvetica", "rankdir": "LR"},
        node_attr={"shape": "box", "fontname": "Courier", "fontsize": "9"},
        edge_attr={"fontname": "Helvetica", "fontsize": "8"})

    def node(where, i):
        value = encoded[i]
        lines = ([f"{n} = {format_value(value[n])}" for n in shown] if names
                 else [format_value(value)])
        where.node(f"s{i}", "\\l".join(_escape(x) for x in lines) + "\\l",
                   **({"style": "bold", "penwidth": "2"} if states[i] in initial else {}))

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

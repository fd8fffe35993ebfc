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

The same graph as data (issue 11, item 7): ``to_networkx`` returns it as a ``networkx.DiGraph``
for a notebook, and ``write_graph`` writes it as GraphML or GEXF (Gephi, yEd, Cytoscape)::

    from kripke.models.two_phase import TwoPhase
    from kripke.traces.graph import to_networkx

    g = to_networkx(TwoPhase(rms=2))
    g.nodes[0]  # {'rm_state': ['working', 'working'], 'tm_state': 'init', ..., 'initial': True}
"""

import graphviz

from kripke.errors import KripkeError
from kripke.models.fingerprint import fingerprint
from kripke.models.symmetry import Canonicalizer
from kripke.models.system import TransitionSystem
from kripke.traces.trace import Step, format_value, write_atomic

__all__ = ["state_graph", "reachable", "to_networkx", "write_graph", "TooManyStates"]


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


def to_networkx(model, max_states=10_000, max_depth=None, symmetry=False, fields=None):
    """The reachable state graph of ``model`` as a ``networkx.DiGraph``, for a small model.

    Nodes are the states' indices in breadth-first order (0 is the first initial state), with
    one attribute per variable holding its value as trace JSON (``model.encode``: strings,
    numbers, booleans, None, lists and dicts; an untyped model's state is the one attribute
    ``"state"``), and ``"initial"``: is it an initial state. A model with a constraint
    ``within()`` adds ``"within"``: False for a state outside it, which is not expanded. An edge
    i -> j stands for every action call leading from state i to state j: ``"actions"``, their
    labels (``"rm_prepare(rm=0)"``), and ``"label"``, the same joined by ``"; "``. The graph's
    own attributes are ``"model"``, ``"params"`` and ``"symmetry"``.

    ``fields``: only these variables (default: all); ``max_states``, ``max_depth``, ``symmetry``
    as for ``reachable`` (``TooManyStates`` past ``max_states``). Counts follow the search's: the
    graph has as many nodes as ``check(model, symmetry=...)`` finds distinct states (and the
    states just outside a constraint, which the search checks but does not store).
    """
    import networkx

    states, edges = reachable(model, max_states, max_depth, symmetry)
    encoded = [model.encode(s) for s in states]
    typed = isinstance(encoded[0], dict)
    names = list(encoded[0]) if typed else ["state"]
    for name in fields or ():
        if name not in names:
            raise KripkeError(f"{model.display_name()} has no variable {name!r}; its variables "
                              f"are {', '.join(names)}")
    shown = list(fields) if fields else names
    taken = [n for n in ("initial", "within") if n in shown]
    if taken:  # the graph's own node attributes: a variable of that name would be lost
        raise KripkeError(f"{model.display_name()}'s variable {taken[0]!r} has the name of a "
                          "node attribute of the graph: leave it out (fields=...)")
    canon = Canonicalizer(model, model.symmetric_domain()) if symmetry else None
    initial = {fingerprint(s if canon is None else canon(s)) for s in model.init()}
    constrained = type(model).within is not TransitionSystem.within
    g = networkx.DiGraph(model=model.display_name(), params=dict(model.params),
                         symmetry=symmetry)
    for i, (s, value) in enumerate(zip(states, encoded)):
        attrs = {n: value[n] for n in shown} if typed else {"state": value}
        attrs["initial"] = fingerprint(s) in initial
        if constrained:
            attrs["within"] = bool(model.within(s))
        g.add_node(i, **attrs)
    for (i, j), labels in edges.items():
        g.add_edge(i, j, actions=list(labels), label="; ".join(labels))
    return g


#: the file formats ``write_graph`` writes, by networkx's writers
GRAPH_FORMATS = ("graphml", "gexf")


def write_graph(graph, path, fmt):
    """Write a ``to_networkx`` graph to ``path`` as ``fmt`` (``"graphml"`` or ``"gexf"``), whole
    or not at all (``write_atomic``).

    Both formats take only scalar attribute values, of one type per attribute: an attribute
    whose values are not all strings, all booleans, all integers or all floats (a list, a
    record, None beside numbers) is written as compact text (``format_value``:
    ``[working, prepared]``, ``Prepared(rm=0)``); the graph's attributes likewise (``params``
    as ``rms=2``). An edge keeps its ``"label"``, the joined list ``"actions"``.
    """
    import io

    import networkx

    if fmt not in GRAPH_FORMATS:
        raise KripkeError(f"unknown graph format {fmt!r}; the formats are "
                          f"{', '.join(GRAPH_FORMATS)}")
    title = dict(graph.graph)
    if isinstance(title.get("params"), dict):  # as the drawings' titles write them
        title["params"] = ", ".join(f"{k}={v}" for k, v in title["params"].items())
    out = networkx.DiGraph(**{k: _scalar_or_text([v])[0] for k, v in title.items()})
    nodes = list(graph.nodes(data=True))
    edges = [(i, j, {k: v for k, v in a.items() if k != "actions"})  # "label" says the same
             for i, j, a in graph.edges(data=True)]
    out.add_nodes_from((i, a) for i, a in zip([n for n, _ in nodes],
                                               _columns([a for _, a in nodes])))
    out.add_edges_from((i, j, a) for (i, j, _), a in zip(edges, _columns([a for *_, a in edges])))
    buffer = io.BytesIO()
    (networkx.write_graphml if fmt == "graphml" else networkx.write_gexf)(out, buffer)
    write_atomic(path, buffer.getvalue())


def _columns(rows):
    """Attribute dicts ``rows`` with each attribute made scalar of one type (``_scalar_or_text``
    over all the values it takes)."""
    keys = list(dict.fromkeys(k for row in rows for k in row))
    columns = {k: _scalar_or_text([row.get(k) for row in rows]) for k in keys}
    return [{k: columns[k][n] for k in keys if k in row} for n, row in enumerate(rows)]


def _scalar_or_text(values):
    """``values`` unchanged when they are all of one scalar type (bool, int, float or str),
    else each as ``format_value`` text."""
    kinds = {type(v) for v in values}
    if len(kinds) == 1 and kinds <= {bool, int, float, str}:
        return values
    return [format_value(v) for v in values]

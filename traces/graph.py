"""The reachable state graph of a model, drawn so that a person can read it, or written as data.

A counterexample shows one path; the state graph shows them all. Drawn whole it is readable up
to a few dozen nodes, so ``state_view`` draws less (issue 15, item 4), and says what it drew and
why:

* **projection** (``fields``): states equal on the chosen variables are merged into one node,
  which says how many states it stands for; an edge says which actions lead from one group to
  the other (``caller_complete x4``: four steps). The circuit breaker's 172 states projected on
  its ``circuit`` are its own state machine: closed, open, half-open::

      from kripke.models.circuit_breaker import CircuitBreaker
      from kripke.traces.graph import state_view

      view = state_view(CircuitBreaker(), fields=["circuit"])
      view.message   # 'drew 3 nodes and 7 edges: the 172 reachable states merged ...'
      view.digraph.render("breaker", format="svg")

* above ``max_nodes`` nodes (``MAX_NODES``), the **strongly connected components** (one node
  per set of states that can all reach each other: ``networkx.condensation``), when there are
  few enough of them; else the **neighbourhood** of a state (``networkx.ego_graph``: every node
  within ``radius`` steps of it, either way), the initial state unless ``around`` names another.
  Every node is numbered (``#12``) so that ``around=12`` can be asked for.

One node per reachable state by default (no symmetry reduction: every state is drawn, where
``kripke check`` counts one per orbit; the message says so and gives check's count); the
initial states drawn bold; a state outside the model's constraint ``within()`` dashed and not
expanded, as the search treats it.

The same graph as data (issue 11, item 7): ``to_networkx`` returns it as a ``networkx.DiGraph``
for a notebook, and ``write_graph`` writes it as GraphML or GEXF (Gephi, yEd, Cytoscape)::

    from kripke.models.two_phase import TwoPhase
    from kripke.traces.graph import to_networkx

    g = to_networkx(TwoPhase(rms=2))
    g.nodes[0]  # {'rm_state': ['working', 'working'], 'tm_state': 'init', ..., 'initial': True}
"""

import html
import json
import textwrap
from dataclasses import dataclass

import graphviz
import networkx

from kripke.errors import KripkeError
from kripke.models.fingerprint import fingerprint
from kripke.models.symmetry import Canonicalizer
from kripke.models.system import TransitionSystem
from kripke.traces.trace import Step, format_value, write_atomic

__all__ = ["state_graph", "state_view", "StateView", "reachable", "to_networkx", "write_graph",
           "TooManyStates", "MAX_NODES"]

#: the most nodes drawn whole; above it ``state_view`` draws the strongly connected components
#: or a neighbourhood. Judged on drawings at 1400 px wide (two-phase, the breakers, paxos): at
#: 40 nodes of two or three variables each a node's text is still legible and the edges can be
#: followed; at 60 to 80 Graphviz's left-to-right layout is wider than a page and the edge
#: labels overlap.
MAX_NODES = 30


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


def _explore(model, max_states, max_depth, symmetry):
    """The state graph as ``state_view`` works on it: node i is the i-th state in breadth-first
    order, with ``value`` (its trace JSON, ``model.encode``), ``initial``, ``outside`` (1 when
    it is outside the constraint ``within()``, else 0), ``count`` (1) and ``members`` ([i]);
    an edge's ``actions`` are the labels of the action calls between its states."""
    try:
        states, edges = reachable(model, max_states, max_depth, symmetry)
    except KripkeError:
        raise
    except Exception as e:  # the model's own bug: one line, and where to see how it comes
        raise KripkeError(f"{model.display_name()} raised {type(e).__name__}: {e} while its "
                          "states were explored (kripke check shows the steps to it)") from None
    canon = Canonicalizer(model, model.symmetric_domain()) if symmetry else None
    initial = {fingerprint(s if canon is None else canon(s)) for s in model.init()}
    constrained = type(model).within is not TransitionSystem.within
    g = networkx.DiGraph()
    for i, s in enumerate(states):
        g.add_node(i, value=model.encode(s), initial=fingerprint(s) in initial,
                   outside=int(constrained and not model.within(s)), count=1, members=[i])
    for (i, j), labels in edges.items():
        g.add_edge(i, j, actions=list(labels))
    return g


def _names(model, g):
    """The model's variables (None for an untyped model, whose state is one value)."""
    value = g.nodes[0]["value"]
    return list(value) if isinstance(value, dict) else None


def _check_names(model, names, wanted, what="variable"):
    if names is None and wanted:
        raise KripkeError(f"{model.display_name()} has untyped states: it has no fields to "
                          "cluster by, show or merge on")
    for name in wanted:
        if name not in names:
            raise KripkeError(f"{model.display_name()} has no {what} {name!r}; its variables "
                              f"are {', '.join(names)}")


def project(g, fields):
    """The quotient of ``_explore``'s graph ``g`` by the values of ``fields``: one node per
    distinct projection, numbered in the order of its first state, whose ``value`` is the
    projection, ``count`` the states merged, ``members`` their nodes in ``g``, ``initial``
    whether one is initial, ``outside`` how many are outside the constraint; one edge per pair
    of nodes with every step between their states (``actions``, a label per step). Steps
    between states of one node are a self-loop: the actions that leave the chosen fields as
    they are.

    (Written out rather than ``networkx.quotient_graph``, which tests every pair of blocks for
    an edge and drops the self-loops.)
    """
    p, block, keys = networkx.DiGraph(), {}, {}
    for n, a in g.nodes(data=True):
        value = {f: a["value"][f] for f in fields}
        # JSON tells the values apart as the search does (True is not 1)
        b = keys.setdefault(json.dumps(list(value.values()), sort_keys=True), len(keys))
        if b not in p:
            p.add_node(b, value=value, count=0, members=[], initial=False, outside=0)
        node = p.nodes[b]
        node["count"] += a["count"]
        node["members"].extend(a["members"])
        node["initial"] = node["initial"] or a["initial"]
        node["outside"] += a["outside"]
        block[n] = b
    for i, j, a in g.edges(data=True):
        e = block[i], block[j]
        if p.has_edge(*e):
            p.edges[e]["actions"].extend(a["actions"])
        else:
            p.add_edge(*e, actions=list(a["actions"]))
    return p


def components(p):
    """The strongly connected components of ``p`` (``networkx.condensation``) as nodes numbered
    by their first member, each with ``values`` ({field: the distinct values its states take}),
    ``count`` (the states), ``members`` (its nodes of ``p``), ``initial`` and ``outside``; the
    steps inside a component are its self-loop, those between two components an edge."""
    c = networkx.condensation(p)
    order = sorted(c, key=lambda k: min(c.nodes[k]["members"]))
    number = {k: min(c.nodes[k]["members"]) for k in order}
    out = networkx.DiGraph()
    for k in order:
        members = sorted(c.nodes[k]["members"])
        nodes = [p.nodes[m] for m in members]
        values = {}
        for a in nodes:
            for f, v in _values(a).items():
                seen = values.setdefault(f, [])
                seen.extend(x for x in v if x not in seen)
        out.add_node(number[k], values=values, members=members,
                     count=sum(a["count"] for a in nodes),
                     initial=any(a["initial"] for a in nodes),
                     outside=sum(a["outside"] for a in nodes))
    for i, j, a in p.edges(data=True):
        e = number[c.graph["mapping"][i]], number[c.graph["mapping"][j]]
        if out.has_edge(*e):
            out.edges[e]["actions"].extend(a["actions"])
        else:
            out.add_edge(*e, actions=list(a["actions"]))
    return out


def neighbourhood(p, center, radius):
    """The nodes of ``p`` within ``radius`` steps of ``center``, either way
    (``networkx.ego_graph``), each with ``hidden``: how many of its neighbours in ``p`` are
    not drawn."""
    v = networkx.ego_graph(p, center, radius=radius, undirected=True).copy()
    for n in v:
        v.nodes[n]["hidden"] = len((set(p.successors(n)) | set(p.predecessors(n))) - set(v))
    return v


def _edges(g):
    """The edges of ``g`` between two nodes (a self-loop is drawn inside its node)."""
    return sum(1 for i, j in g.edges if i != j)


def _fits(g, max_nodes):
    """Can ``g`` be drawn whole and read: at most ``max_nodes`` nodes and twice as many edges
    (tcommit's 34 states and 93 steps, drawn whole, are a tangle of crossing edges)?"""
    return len(g) <= max_nodes and _edges(g) <= 2 * max_nodes


def _widest_radius(p, center, max_nodes):
    """The largest radius (at least 1) whose neighbourhood of ``center`` fits (``_fits``), or
    stops growing."""
    radius, size = 1, len(networkx.ego_graph(p, center, radius=1, undirected=True))
    while True:
        bigger = networkx.ego_graph(p, center, radius=radius + 1, undirected=True)
        if not _fits(bigger, max_nodes) or len(bigger) == size:
            return radius
        radius, size = radius + 1, len(bigger)


def _values(a):
    """A view node's {field: [values]}: one value for a state or a projection."""
    return a["values"] if "values" in a else (
        {f: [v] for f, v in a["value"].items()} if isinstance(a["value"], dict)
        else {None: [a["value"]]})


@dataclass
class StateView:
    """What ``state_view`` drew: ``graph`` (the ``networkx.DiGraph`` of the nodes drawn, with
    each node's ``count`` of states), ``digraph`` (the ``graphviz.Digraph``), ``mode`` (``"all"``,
    ``"components"`` or ``"around"``), ``states`` (the reachable states, or orbits with
    symmetry), ``nodes`` (the nodes of the graph before a view: the projections with
    ``fields``), ``check_count`` (the distinct states ``kripke check`` counts with its default
    symmetry, or None when it is the same as ``states``), and ``message``, which says what was
    drawn and why, in a sentence or three."""

    graph: object
    digraph: object
    mode: str
    states: int
    nodes: int
    check_count: object
    message: str


def state_view(model, fields=None, cluster=None, max_states=10_000, max_depth=None,
               symmetry=False, max_nodes=MAX_NODES, around=None, radius=None,
               components_only=False):
    """The reachable state graph of ``model``, drawn as much as can be read.

    ``fields``: merge the states equal on these variables and show only them (``cluster``, a
    variable whose value groups the nodes, one Graphviz cluster per value, is merged on too);
    without ``fields`` every variable is shown. ``max_nodes``: draw the whole graph when it has
    at most this many nodes; else its strongly connected components when they are at most that
    many, else the neighbourhood of the initial state. ``around``: draw the neighbourhood of the
    node numbered ``around`` instead (within ``radius`` steps; by default the largest radius
    that keeps to ``max_nodes``); ``components_only``: draw the components whatever their
    number. ``max_states``, ``max_depth``, ``symmetry``: as for ``reachable``
    (``TooManyStates`` past ``max_states``).
    """
    if around is not None and components_only:
        raise KripkeError("draw either the components or the neighbourhood of a state, not both")
    if radius is not None and around is None:
        raise KripkeError("a radius is for the neighbourhood of a state: name it (around)")
    g = _explore(model, max_states, max_depth, symmetry)
    names = _names(model, g)
    _check_names(model, names, ([cluster] if cluster else []) + list(fields or ()))
    merged = bool(fields)
    key = list(dict.fromkeys(([cluster] if cluster else []) + list(fields or ())))
    p = project(g, key) if merged else g
    shown = list(fields) if fields else [n for n in (names or [None]) if n != cluster]

    mode, center, view = "all", None, p
    if around is not None:
        if around not in p:
            raise KripkeError(f"there is no node #{around}: the nodes are #0 to #{len(p) - 1}")
        mode, center = "around", around
    elif components_only:
        mode, view = "components", components(p)
    elif not _fits(p, max_nodes):
        c = components(p)
        if _fits(c, max_nodes) and len(c) >= 3:  # one or two components say little
            mode, view = "components", c
        else:
            mode, center = "around", min(n for n, a in p.nodes(data=True) if a["initial"])
    if mode == "around":
        radius = radius if radius is not None else _widest_radius(p, center, max_nodes)
        view = neighbourhood(p, center, radius)

    check_count = _check_count(model, g, max_states, max_depth, symmetry)
    message, short = _explain(model, g, p, view, mode, center, radius, merged and key, symmetry,
                              max_depth, max_nodes, check_count,
                              around is not None or components_only)
    digraph = _draw(view, shown, cluster, f"{_title(model)}: {short}",
                    merged or mode == "components", elide=not fields)
    return StateView(view, digraph, mode, len(g), len(p), check_count, message)


def state_graph(model, cluster=None, fields=None, max_states=1000, max_depth=None,
                symmetry=False, **view):
    """``state_view(...).digraph``: the ``graphviz.Digraph`` alone."""
    return state_view(model, fields=fields, cluster=cluster, max_states=max_states,
                      max_depth=max_depth, symmetry=symmetry, **view).digraph


def _check_count(model, g, max_states, max_depth, symmetry):
    """The distinct states ``kripke check`` stores for the same bounds, with symmetry when the
    model declares a symmetric domain (check's default), when that differs from ``g``'s nodes:
    check stores one state per orbit, and not the states outside the constraint."""
    outside = sum(a["outside"] for _, a in g.nodes(data=True))
    if symmetry or model.symmetric_domain() is None:
        return len(g) - outside if outside else None
    try:
        states, _ = reachable(model, max_states, max_depth, symmetry=True)
    except TooManyStates:  # fewer orbits than states: this cannot happen, but say nothing then
        return None
    constrained = type(model).within is not TransitionSystem.within
    return len(states) - (sum(1 for s in states if not model.within(s)) if constrained else 0)


def _plural(n, word):
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _explain(model, g, p, view, mode, center, radius, fields, symmetry, max_depth, max_nodes,
             check_count, asked):
    """(message, title): what was drawn and why, in full for the terminal and in short for the
    drawing's title. ``asked``: the view was asked for (``around``, ``components_only``), not
    chosen because the graph is larger than ``max_nodes``."""
    unit = "orbit" if symmetry else "state"
    reached = _plural(len(g), "reachable " + unit)
    if max_depth is not None:
        reached += f" of the first {max_depth} levels"
    drew = f"drew {_plural(len(view), 'node')} and {_plural(_edges(view), 'edge')}"
    merged = f" merged by projection onto {', '.join(fields)}" if fields else ""
    whole = (f"the {len(p):,} {'projections' if fields else unit + 's'} and their "
             f"{_edges(p):,} edges")
    if mode == "all":
        what = f"{drew}: the {reached}{merged}"
        short = (f"{_plural(len(view), 'node')}: {_plural(len(g), unit)}{merged}"
                 if fields else _plural(len(g), unit))
    elif mode == "components":
        why = "" if asked else (f", since {whole} are more than --max-nodes {max_nodes} "
                                f"nodes and {2 * max_nodes} edges")
        what = (f"{drew}: the strongly connected components of the {reached}{merged} (a node "
                f"stands for states that can all reach one another){why}")
        short = f"{_plural(len(view), 'component')} of {_plural(len(g), unit)}{merged}"
    else:
        initial = ", an initial state," if p.nodes[center]["initial"] else ""
        n = len(components(p))
        why = "" if asked else (
            f", since {whole} are more than --max-nodes {max_nodes} nodes and "
            f"{2 * max_nodes} edges, and " + (
                f"so are their {n:,} strongly connected components" if n >= 3 else
                f"they form only {_plural(n, 'strongly connected component')}"))
        what = (f"{drew}: the neighbourhood of #{center}{initial} within "
                f"{_plural(radius, 'step')} either way, of the {reached}{merged}{why}; a grey "
                "node has neighbours that are not drawn (--around N --radius R draws another "
                "part)")
        short = (f"{len(view):,} of {_plural(len(p), 'node')}: within "
                 f"{_plural(radius, 'step')} of #{center} ({_plural(len(g), unit)}{merged})")
    outside = sum(a["outside"] for _, a in g.nodes(data=True))
    notes = []
    if outside:
        notes.append(f"{outside:,} of the states {'is' if outside == 1 else 'are'} outside "
                     "the constraint within(), drawn dashed and not explored")
    domain = model.symmetric_domain()
    if check_count is None:
        notes.append("kripke check" + (" --symmetry" if symmetry else "")
                     + f" counts the same {len(g):,}")
    else:
        reason = []
        if domain is not None and not symmetry:
            reason.append("by default it reduces by symmetry, storing one state per orbit "
                          f"under permutations of {domain.name}")
        if outside:
            reason.append("it does not store the states outside the constraint")
        notes.append(f"kripke check{' --symmetry' if symmetry else ''} counts "
                     f"{check_count:,} distinct states: " + " and ".join(reason))
        if domain is not None and not symmetry:
            notes.append("--symmetry draws one node per orbit")
    return what + ". " + "; ".join(notes) + ".", short


def _steps(actions, limit=3):
    """An edge's text: its action calls when there are at most ``limit`` and each is one step,
    else one line per action, ``name xN`` for N steps (``caller_complete x4``)."""
    distinct = list(dict.fromkeys(actions))
    if len(distinct) == len(actions) <= limit:
        return distinct
    by_name = {}
    for label in actions:
        by_name.setdefault(label.split("(")[0], []).append(label)
    return [labels[0] if len(labels) == 1 else f"{name} ×{len(labels)}"
            for name, labels in by_name.items()]


def _title(model):
    from kripke.traces.msc import chart_title  # the model and its parameters not at default
    return chart_title(model, model.params)


def _draw(view, shown, cluster, title, merged, elide=False):
    """The ``graphviz.Digraph`` of a view: a node per state, projection or component, numbered,
    with its count of states when ``merged``, the ``shown`` fields, and its self-loop's actions
    (the steps that stay inside it) as its last line; an edge per pair of nodes with the
    actions between them. ``elide``: a field with the same value in every node is written
    once, under the title, not in each node (a breaker's state has 16 fields, and most of a
    neighbourhood's nodes differ in two or three)."""
    if elide and len(view) > 1:
        same = {}
        for f in shown:
            vs = [_values(a).get(f) for _, a in view.nodes(data=True)]
            if all(v is not None and len(v) == 1 and v == vs[0] for v in vs):
                same[f] = vs[0][0]
        if same and len(same) < len(shown):
            shown = [f for f in shown if f not in same]
            text = ", ".join(f"{f} = {format_value(v)}" for f, v in same.items())
            title += "\n" + "\n".join(textwrap.wrap(f"in every node: {text}", 110))
    lines = {n: _node_lines(view, n, a, shown, merged) for n, a in view.nodes(data=True)}
    g = graphviz.Digraph(
        "states", graph_attr={"label": title, "labelloc": "t", "fontname": "Helvetica",
                              "fontsize": "16", "rankdir": _rankdir(view, lines),
                              "nodesep": "0.3"},
        node_attr={"shape": "box", "style": "rounded", "fontname": "Helvetica",
                   "fontsize": "11", "margin": "0.12,0.06"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9", "color": "#666666",
                   "fontcolor": "#333333"})

    def node(where, n, a):
        style = {"style": "rounded"}
        if a["initial"]:
            style["penwidth"] = "2.5"
        if a["outside"] and a["outside"] == a["count"]:
            style["style"] = "rounded,dashed"
        if a.get("hidden"):
            style.update(style=style["style"] + ",filled", fillcolor="#eeeeee", color="#888888")
        label = "".join((f'<FONT COLOR="#777777" POINT-SIZE="9">{html.escape(text)}</FONT>'
                         if grey else html.escape(text)) + '<BR ALIGN="LEFT"/>'
                        for text, grey in lines[n])
        where.node(f"s{n}", f"<{label}>", **style)

    if cluster is None:
        for n, a in view.nodes(data=True):
            node(g, n, a)
    else:
        groups, loose = {}, []
        for n, a in view.nodes(data=True):
            vs = _values(a)[cluster]
            if len(vs) == 1:
                groups.setdefault(format_value(vs[0]), []).append((n, a))
            else:
                loose.append((n, a))
        for k, (value, members) in enumerate(groups.items()):
            with g.subgraph(name=f"cluster_{k}") as sub:
                sub.attr(label=f"{cluster} = {value}", style="rounded", color="#999999",
                         fontname="Helvetica", fontsize="12")
                for n, a in members:
                    node(sub, n, a)
        for n, a in loose:
            node(g, n, a)
    for i, j, a in view.edges(data=True):
        if i != j:
            g.edge(f"s{i}", f"s{j}", label="\\n".join(_escape(_cut(x, EDGE_TEXT))
                                                       for x in _steps(a["actions"])))
    return g


#: the longest text of a variable in a node, and of an action on an edge: the rest is cut
#: (a store's map of versions runs to 300 characters and pushes every other node off the page;
#: the graph's data, ``to_networkx``, keeps every value whole)
NODE_TEXT, EDGE_TEXT = 64, 48


def _cut(text, length):
    return text if len(text) <= length else text[:length - 1] + "…"


def _node_lines(view, n, a, shown, merged):
    """A node's lines as ``(text, grey)``: its number (and count of states when ``merged``),
    the ``shown`` fields, the actions of its self-loop, the neighbours not drawn."""
    head = f"#{n}" + (f" · {_plural(a['count'], 'state')}" if merged else "")
    lines = [(head, True)]
    for f, vs in _values(a).items():
        if f is not None and f not in shown:
            continue
        text = (format_value(vs[0]) if len(vs) == 1 else
                "{" + ", ".join(format_value(v) for v in vs) + "}" if len(vs) <= 3
                else f"{len(vs)} values")
        op = " = " if len(vs) == 1 else " ∈ " if len(vs) <= 3 else ": "
        lines.append((_cut(text if f is None else f + op + text, NODE_TEXT), False))
    if view.has_edge(n, n):
        # wrapped between actions, never between an action and its count (a no-break space)
        text = "↺ " + ", ".join(x.replace(" ×", "\u00a0×") for x in
                                _steps(view.edges[n, n]["actions"]))
        loop = textwrap.wrap(text, 44, subsequent_indent="   ", break_on_hyphens=False)
        lines += [(x.replace("\u00a0", " "), True) for x in loop]
    if a.get("hidden"):
        lines.append((f"+{_plural(a['hidden'], 'neighbour')} not drawn", True))
    return lines


def _rankdir(view, lines):
    """Left to right or top to bottom, whichever makes the narrower drawing, by an estimate of
    each node's width from its text: left to right, the breadth-first levels side by side
    (with room for the edges' labels); top to bottom, the nodes of the widest level. A page is
    read by scrolling down: a chain of a few nodes drawn left to right is a thin strip too
    wide to read."""
    width = {n: 20 + 6.5 * max(len(text) for text, _ in ls) for n, ls in lines.items()}
    start = [n for n, a in view.nodes(data=True) if a["initial"]] or [min(view)]
    level = networkx.multi_source_dijkstra_path_length(view, start)
    by_level = {}
    for n, d in level.items():
        by_level.setdefault(d, []).append(width[n])
    across = sum(max(ws) + 150 for ws in by_level.values())
    down = max(sum(w + 20 for w in ws) for ws in by_level.values())
    return "TB" if down < across else "LR"


def _escape(text):
    return text.replace("\\", "\\\\").replace("\"", "\\\"")



def to_networkx(model, max_states=10_000, max_depth=None, symmetry=False, fields=None,
                merge=False):
    """The reachable state graph of ``model`` as a ``networkx.DiGraph``, for a small model.

    Nodes are the states' indices in breadth-first order (0 is the first initial state), with
    one attribute per variable holding its value as trace JSON (``model.encode``: strings,
    numbers, booleans, None, lists and dicts; an untyped model's state is the one attribute
    ``"state"``), and ``"initial"``: is it an initial state. A model with a constraint
    ``within()`` adds ``"within"``: False for a state outside it, which is not expanded. An edge
    i -> j stands for every action call leading from state i to state j: ``"actions"``, their
    labels (``"rm_prepare(rm=0)"``), and ``"label"``, the same joined by ``"; "``. The graph's
    own attributes are ``"model"``, ``"params"`` and ``"symmetry"``.

    ``fields``: only these variables (default: all); with ``merge``, the states equal on them
    are one node (``kripke graph --field``), numbered in the order of its first state, with
    ``"count"``, the states it stands for, ``"initial"``, whether one of them is initial, and,
    under a constraint, ``"outside"``, how many are outside it (no ``"within"``); its edges'
    ``"actions"`` hold one label per step between their states. ``max_states``, ``max_depth``,
    ``symmetry`` as for ``reachable`` (``TooManyStates`` past ``max_states``). Counts follow the
    search's: the graph has as many nodes as ``check(model, symmetry=...)`` finds distinct
    states (and the states just outside a constraint, which the search checks but does not
    store).
    """
    g = _explore(model, max_states, max_depth, symmetry)
    names = _names(model, g)
    typed = names is not None
    names = names or ["state"]
    for name in fields or ():
        if name not in names:
            raise KripkeError(f"{model.display_name()} has no variable {name!r}; its variables "
                              f"are {', '.join(names)}")
    if merge and not (typed and fields):
        raise KripkeError("merging states needs the fields to merge on, of a typed model")
    shown = list(fields) if fields else names
    taken = [n for n in ("initial",) + (("count", "outside") if merge else ("within",))
             if n in shown]
    if taken:  # the graph's own node attributes: a variable of that name would be lost
        raise KripkeError(f"{model.display_name()}'s variable {taken[0]!r} has the name of a "
                          "node attribute of the graph: leave it out (fields=...)")
    if merge:
        g = project(g, shown)
    constrained = type(model).within is not TransitionSystem.within
    out = networkx.DiGraph(model=model.display_name(), params=dict(model.params),
                           symmetry=symmetry)
    for n, a in g.nodes(data=True):
        attrs = {f: a["value"][f] for f in shown} if typed else {"state": a["value"]}
        attrs["initial"] = a["initial"]
        if merge:
            attrs["count"] = a["count"]
            if constrained:
                attrs["outside"] = a["outside"]
        elif constrained:
            attrs["within"] = not a["outside"]
        out.add_node(n, **attrs)
    for i, j, a in g.edges(data=True):
        out.add_edge(i, j, actions=a["actions"],
                     label="; ".join(_steps(a["actions"]) if merge else a["actions"]))
    return out


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

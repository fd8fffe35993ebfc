"""Liveness: temporal properties under fairness, decided on the whole reachable state graph.

The explicit search (``checkers.explicit``) records, when temporal properties are selected, the
reachable graph compactly: states are numbers (their order of discovery), the out-edges of each
state are a slice of two flat integer arrays (the target state, and the *fairness unit* of the
call that made the step, -1 for a call that is not fair), and each temporal property's state
predicates are one byte per state. Nothing per edge is a Python object. Steps that leave the state
unchanged are not stored: they are stuttering steps, and ``ENABLED <<A>>_vars`` needs a step that
changes the state.

Semantics are TLA+'s (and TLC's): a behaviour is infinite and may stutter at any point; a fairness
unit is one call of a fair action (``rm_prepare(rm=1)``, ``receive(m=...)``), and

* WF(u) holds of an infinite loop when u is taken in it or is disabled in some state of it;
* SF(u) holds when u is taken in it or is disabled in every state of it.

A property fails when some fair behaviour fails it, and every behaviour of a finite graph ends in
a loop, so a counterexample is a *lasso*: a path to a strongly connected set of states that the
behaviour then cycles through forever (fairly), or a state where it stutters forever (fair when
no fair unit is enabled there; always so at a state with no successor). Each kind restricts where
the loop may lie and where it may be entered:

=====================  ======================================  ===================================
property               the loop lies in                        entered from
=====================  ======================================  ===================================
<>P                    states where P is false                 an initial state, through not-P
P ~> Q                 states where Q is false                 a state where P and not Q, through
                                                               not-Q
[]<>P                  states where P is false                 any reachable state
<>[]P                  any states, one of them not-P           any reachable state
=====================  ======================================  ===================================

The fair loops are found as the standard algorithm finds them (Lichtenstein and Pnueli; TLC's
liveness checker): strongly connected components of the restricted graph; a component where a
weakly fair unit is enabled everywhere and never taken inside has no fair loop; where a strongly
fair unit is enabled somewhere and never taken inside, the states enabling it are removed and the
components computed again; a component that passes holds a fair loop through all of its states.
The two graph passes (reachability and Tarjan's components) run in C when the extension is built;
the Python twins below are the reference (compared with networkx in the tests).
"""

from array import array
from collections import deque

from kripke.common import speedups

__all__ = ["StateGraph", "Lasso", "find_lasso", "strongly_connected", "reach"]


class StateGraph:
    """The reachable graph of one search, as flat arrays (see the module docstring).

    ``index`` is the search's visited set: fingerprint -> state number, and ``parent`` the
    number of the state each was first reached from (-1 for an initial state). ``instances`` are
    a model's temporal properties bound to it, ``[(prop, label, P, Q)]`` (``Property.instances``);
    their values are stored per state, computed by the same functions called without a wrapper
    (``raw``: ``[(p, q, extra arguments)]``, per instance), as this is done for every state.
    """

    def __init__(self, instances, model, raw):
        self.index = {}  # fingerprint -> state number
        self.fps = array("Q")  # state number -> fingerprint
        self.parent = array("q")  # state number -> the state it was first reached from, or -1
        self.initial = []  # the state numbers of the initial states
        self.start = array("q")  # out-edges of state i: dst[start[i]:start[i] + count[i]]
        self.count = array("q")
        self.dst = array("i")
        self.label = array("i")  # the fairness unit of each edge, -1 for a call that is not fair
        self.edges = 0  # the edges stored (dst and label grow ahead of them)
        #: per state, whether some fair call is enabled in it (else a behaviour may stutter there)
        self.moves = bytearray()
        self.units = []  # unit number -> (action, args)
        self.strength = []  # unit number -> "weak" | "strong"
        self._unit_of = {}
        self.instances = instances
        #: per instance, the value of P (and Q) in each state, one byte per state
        self.values = [(bytearray(), bytearray() if q is not None else None)
                       for _, _, _, q in instances]
        self._model = model
        self._preds = [(p, q, x, vp, vq) for (p, q, x), (vp, vq) in zip(raw, self.values)]
        self.parents = _Parents(self)

    def __len__(self):
        return len(self.fps)

    def unit(self, key, strength):
        """The number of the fairness unit ``key = (action, args)``."""
        u = self._unit_of.get(key)
        if u is None:
            u = self._unit_of[key] = len(self.units)
            self.units.append(key)
            self.strength.append(strength)
        return u

    def add_state(self, f, s, parent):
        """Number the new state ``s`` (fingerprint ``f``, first reached from the state with
        fingerprint ``parent``, None for an initial state) and store its predicates' values.
        Returns ``(instance index, exception)`` when a predicate raised (its value is then
        stored as false), else None."""
        i = len(self.fps)
        self.index[f] = i
        self.fps.append(f)
        if parent is None:
            self.parent.append(-1)
            self.initial.append(i)
        else:
            self.parent.append(self.index[parent])
        self.start.append(0)
        self.count.append(0)
        self.moves.append(0)
        raised, model = None, self._model
        for k, (p, q, x, vp, vq) in enumerate(self._preds):
            try:
                vp.append(1 if p(model, s, *x) else 0)
                if q is not None:
                    vq.append(1 if q(model, s, *x) else 0)
            except Exception as e:  # the property raised: a finding for the search
                del vp[i:]
                vp.append(0)
                if vq is not None:
                    del vq[i:]
                    vq.append(0)
                raised = raised or (k, e)
        return raised

    def add_edges(self, f, found, units):
        """The out-edges of the state ``f``: one per successor ``(call, t, g)`` in ``found``
        (as ``expand`` returns them) that changes the state, to a state the search stored,
        labelled ``units[call]``."""
        i = self.index[f]
        need = self.edges + len(found)
        if need > len(self.dst):  # grow ahead, by a quarter
            more = max(need - len(self.dst), len(self.dst) // 4, 1024)
            self.dst.frombytes(bytes(4 * more))
            self.label.frombytes(bytes(4 * more))
        self.start[i] = self.edges
        end, moves = graph_edges(found, f, self.index, units, self.dst, self.label, self.edges)
        self.count[i] = end - self.edges
        self.moves[i] = moves
        self.edges = end

    def out(self, i):
        """``[(target, unit)]`` of state ``i``."""
        a, b = self.start[i], self.start[i] + self.count[i]
        return list(zip(self.dst[a:b], self.label[a:b]))


class _Parents:
    """The parent links of a ``StateGraph`` as the search's trace builder reads them: fingerprint
    -> the fingerprint of the state it was first reached from, or None."""

    def __init__(self, graph):
        self.graph = graph

    def __contains__(self, f):
        return f in self.graph.index

    def __getitem__(self, f):
        g = self.graph
        p = g.parent[g.index[f]]
        return None if p < 0 else g.fps[p]


def _graph_edges(found, own, index, units, dst, label, pos):
    """Write the edges of one state at ``dst[pos:]`` / ``label[pos:]`` (the Python twin of
    ``kripke._speedups.graph_edges``): ``(new pos, whether a fair call moves)``."""
    moves = 0
    for k, _, g in found:
        if g != own:
            j = index.get(g)
            if j is not None:
                dst[pos] = j
                u = label[pos] = units[k]
                moves |= u >= 0
                pos += 1
    return pos, moves


class Lasso:
    """A counterexample to a temporal property: ``prefix`` (state numbers from an initial state
    to the loop's first state, both included) and ``loop`` (``[(state, unit or None)]``, the
    steps that lead from the loop's first state back to it; empty when the behaviour stutters
    there forever); ``label`` names the property's instance (``{"participant": 1}``)."""

    def __init__(self, prefix, loop, label):
        self.prefix, self.loop, self.label = prefix, loop, label


# -- the two graph passes, in Python (the C extension's twins) -----------------------------------
def _reach(start, count, dst, mask, roots):
    """Breadth-first search from the states where ``roots`` is set through the states where
    ``mask`` is set (both one byte per state): ``(order, parent, region)``, the states reached
    in BFS order, each one's parent (-1 for a root, -2 for a state not reached), and the states
    reached as a mask."""
    parent = array("q", [-2]) * len(mask)
    order = array("q")
    for r, root in enumerate(roots):
        if root and mask[r]:
            parent[r] = -1
            order.append(r)
    k = 0
    while k < len(order):
        i = order[k]
        k += 1
        a = start[i]
        for e in range(a, a + count[i]):
            j = dst[e]
            if mask[j] and parent[j] == -2:
                parent[j] = i
                order.append(j)
    region = bytearray(len(mask))
    for i in order:
        region[i] = 1
    return order, parent, region


def _strongly_connected(start, count, dst, mask):
    """Tarjan's strongly connected components of the graph restricted to ``mask``, iteratively:
    ``(comp, sizes)``, each state's component number (-1 outside the mask), the components
    numbered in the order they are completed (a component's successors before it), and each
    component's size."""
    n = len(mask)
    comp = array("q", [-1]) * n
    sizes = array("q")
    low = array("q", [0]) * n
    number = array("q", [-1]) * n
    stack, on_stack = [], bytearray(n)
    counter = components = 0
    for root in range(n):
        if not mask[root] or number[root] >= 0:
            continue
        number[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = 1
        work = [(root, start[root])]
        while work:
            i, e = work[-1]
            end = start[i] + count[i]
            while e < end:
                j = dst[e]
                e += 1
                if not mask[j]:
                    continue
                if number[j] < 0:
                    work[-1] = (i, e)
                    number[j] = low[j] = counter
                    counter += 1
                    stack.append(j)
                    on_stack[j] = 1
                    work.append((j, start[j]))
                    break
                if on_stack[j] and number[j] < low[i]:
                    low[i] = number[j]
            else:
                work.pop()
                if work and low[i] < low[work[-1][0]]:
                    low[work[-1][0]] = low[i]
                if low[i] == number[i]:
                    sizes.append(0)
                    while True:
                        j = stack.pop()
                        on_stack[j] = 0
                        comp[j] = components
                        sizes[components] += 1
                        if j == i:
                            break
                    components += 1
    return comp, sizes


def _c_reach(start, count, dst, mask, roots):
    """``_reach`` by the C extension's ``reach_into``."""
    n = len(mask)
    parent, order, region = array("q", bytes(8 * n)), array("q", bytes(8 * n)), bytearray(n)
    del order[_C.reach_into(start, count, dst, mask, roots, parent, order, region):]
    return order, parent, region


def _c_strongly_connected(start, count, dst, mask):
    """``_strongly_connected`` by the C extension's ``strongly_connected_into``."""
    comp, sizes = array("q", bytes(8 * len(mask))), array("q", bytes(8 * len(mask)))
    del sizes[_C.strongly_connected_into(start, count, dst, mask, comp, sizes):]
    return comp, sizes


_C = speedups()
graph_edges = getattr(_C, "graph_edges", _graph_edges)
reach = _c_reach if _C is not None else _reach
strongly_connected = _c_strongly_connected if _C is not None else _strongly_connected


# -- fair loops ------------------------------------------------------------------------------------
def _enabled(graph, i):
    """The fair units enabled in state ``i``."""
    return {u for _, u in graph.out(i) if u >= 0}


def _fair_components(graph, mask, fair):
    """The sets of states (lists) that hold a fair loop through all their states, inside
    ``mask``: strongly connected components, refined for strong fairness (module docstring).
    ``fair``: whether fairness is assumed at all."""
    comp, sizes = strongly_connected(graph.start, graph.count, graph.dst, mask)
    # a component of one state has no step inside (stuttering steps are not stored)
    loops = {c for c, size in enumerate(sizes) if size > 1} if max(sizes, default=0) > 1 \
        else ()
    members = {}
    if loops:
        for i, c in enumerate(comp):
            if c in loops:
                members.setdefault(c, []).append(i)
    for states in members.values():
        if not fair:
            yield states
            continue
        inside = set(states)
        taken, enabled = set(), {}
        for i in states:
            units = set()
            for j, u in graph.out(i):
                if u >= 0:
                    units.add(u)
                    if j in inside:
                        taken.add(u)
            for u in units:
                enabled[u] = enabled.get(u, 0) + 1
        if any(graph.strength[u] == "weak" and u not in taken and n == len(states)
               for u, n in enabled.items()):
            continue  # a weakly fair call enabled throughout and never taken: no fair loop
        starved = {u for u in enabled if graph.strength[u] == "strong" and u not in taken}
        if starved:  # keep only the states where none of them is enabled, and look again
            sub = bytearray(len(mask))
            for i in states:
                if not _enabled(graph, i) & starved:
                    sub[i] = 1
            yield from _fair_components(graph, sub, fair)
            continue
        yield states


def _bits(mask):
    """A 0/1 byte mask as an integer (one bit per state): masks combine at C speed."""
    return int.from_bytes(mask, "little")


def _mask(bits, n):
    return bytearray(bits.to_bytes(n, "little"))


def find_lasso(graph, k, kind, fair=True):
    """A lasso that violates instance ``k`` of ``graph.instances`` (a property of kind
    ``kind``), or None when it holds on every fair behaviour. ``fair=False`` checks without
    fairness (every behaviour may stop moving anywhere). Among the lassos it finds, the one
    whose loop is entered earliest in breadth-first order."""
    n = len(graph)
    vp, vq = graph.values[k]
    every, p = _bits(b"\1" * n), _bits(vp)
    if kind == "eventually":
        allowed = every & ~p
        roots = allowed & sum(1 << (8 * i) for i in graph.initial)
    elif kind == "leads_to":
        q = _bits(vq)
        allowed, roots = every & ~q, p & ~q
    elif kind == "always_eventually":
        allowed = roots = every & ~p
    else:  # eventually_always: loops anywhere, through a state where P is false
        allowed = roots = every
    accepting = every & ~p if kind == "eventually_always" else every
    order, parent, region = reach(graph.start, graph.count, graph.dst, _mask(allowed, n),
                                  _mask(roots, n))
    if not order:
        return None
    best = None  # (the loop's first state, its place in BFS order, the component or None)
    stuck = _bits(region) & accepting & (every & ~_bits(graph.moves) if fair else every)
    if stuck:  # stuttering for ever: the earliest such state
        stuck = _mask(stuck, n)
        r = next(r for r, i in enumerate(order) if stuck[i])
        best = (order[r], r, None)
    accept = _mask(accepting, n)
    rank = None
    for states in _fair_components(graph, region, fair):
        if any(accept[i] for i in states):
            if rank is None:
                rank = {i: r for r, i in enumerate(order)}
            entry = min(states, key=rank.__getitem__)
            if best is None or rank[entry] < best[1]:
                best = (entry, rank[entry], states)
    if best is None:
        return None
    entry, _, states = best
    path = [entry]
    while parent[path[-1]] >= 0:
        path.append(parent[path[-1]])
    path.reverse()
    loop = [] if states is None else _loop(graph, entry, states, accept.__getitem__, fair)
    return Lasso(path, loop, graph.instances[k][1])


def _loop(graph, entry, states, accepting, fair):
    """A loop from ``entry`` through the fair component ``states`` and back that meets every
    fairness condition: each fair unit enabled somewhere in it is taken (a step of that call)
    or, when it is never taken inside (so weakly fair and disabled somewhere), the loop passes a
    state where it is disabled; for <>[]P the loop also passes a state where P is false.
    ``[(state, unit or None)]``."""
    inside = set(states)
    targets = []  # (state to reach, the step to take from it, or None)
    if fair:
        enabled = {i: _enabled(graph, i) for i in states}
        edges = {}
        for i in states:
            for j, u in graph.out(i):
                if u >= 0 and j in inside:
                    edges.setdefault(u, (i, j))
        for u in sorted(set().union(*enabled.values())):
            if u in edges:
                i, j = edges[u]
                targets.append((i, (j, u)))
            else:
                targets.append((next(i for i in states if u not in enabled[i]), None))
    if not accepting(entry):
        targets.append((next(i for i in states if accepting(i)), None))
    loop, here = [], entry
    while targets:
        path = _path_to(graph, here, inside, {t for t, _ in targets})
        loop += [(i, None) for i in path[1:]]
        here = path[-1]
        _, step = targets.pop(next(k for k, t in enumerate(targets) if t[0] == here))
        if step is not None:
            loop.append(step)
            here = step[0]
    path = _path_to(graph, here, inside, {entry}, leave=not loop)
    return loop + [(i, None) for i in path[1:]]


def _path_to(graph, source, inside, goals, leave=False):
    """The shortest path ``[source, ..., goal]`` inside ``inside`` to a state of ``goals``
    (``leave``: of at least one step, for a loop that must move)."""
    if source in goals and not leave:
        return [source]
    parent = {source: None}
    todo = deque([source])
    while todo:
        i = todo.popleft()
        for j, _ in graph.out(i):
            if j not in inside:
                continue
            if j in goals:
                path = [j, i]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])
                return path[::-1]
            if j not in parent:
                parent[j] = i
                todo.append(j)
    raise AssertionError("a strongly connected component is connected")

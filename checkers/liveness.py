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

    ``instances`` are a model's temporal properties bound to it: ``[(prop, label, P, Q)]`` with
    ``P``/``Q`` predicates of a state (``Property.instances``); their values are stored per state.
    """

    def __init__(self, instances):
        self.index = {}  # fingerprint -> state number
        self.fps = array("Q")  # state number -> fingerprint
        self.initial = []  # the state numbers of the initial states
        self.start = array("q")  # out-edges of state i: dst[start[i]:start[i] + count[i]]
        self.count = array("q")
        self.dst = array("q")
        self.label = array("q")  # the fairness unit of each edge, -1 for a call that is not fair
        #: per state, whether some fair call is enabled in it (else a behaviour may stutter there)
        self.moves = bytearray()
        self.units = []  # unit number -> (action, args)
        self.strength = []  # unit number -> "weak" | "strong"
        self._unit_of = {}
        self.instances = instances
        #: per instance, the value of P (and Q) in each state, one byte per state
        self.values = [(bytearray(), bytearray() if q is not None else None)
                       for _, _, _, q in instances]
        self.preds = [(p, q, vp, vq) for (_, _, p, q), (vp, vq) in zip(instances, self.values)]

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

    def add_state(self, f, s, initial=False):
        """Number the new state ``s`` (fingerprint ``f``) and store its predicates' values.
        Returns the index of the instance whose predicate raised, with the exception, or None."""
        i = len(self.fps)
        self.index[f] = i
        self.fps.append(f)
        self.start.append(-1)
        self.count.append(0)
        self.moves.append(0)
        if initial:
            self.initial.append(i)
        for k, (p, q, vp, vq) in enumerate(self.preds):
            try:
                vp.append(1 if p(s) else 0)
                if q is not None:
                    vq.append(1 if q(s) else 0)
            except Exception as e:  # the property raised: a finding (the caller stops or drops it)
                vp[i:] = b"\0"
                if vq is not None:
                    vq[i:] = b"\0"
                return k, e
        return None

    def add_edges(self, f, edges):
        """The out-edges of the state ``f``: ``[(target fingerprint, unit)]``; targets the search
        did not store (outside the constraint) are left out."""
        i, index, dst, label = self.index[f], self.index, self.dst, self.label
        self.start[i] = len(dst)
        n = moves = 0
        for g, u in edges:
            j = index.get(g)
            if j is not None:
                dst.append(j)
                label.append(u)
                n += 1
                moves |= u >= 0
        self.count[i] = n
        self.moves[i] = moves

    def out(self, i):
        """``[(target, unit)]`` of state ``i``."""
        a = self.start[i]
        return list(zip(self.dst[a:a + self.count[i]], self.label[a:a + self.count[i]]))


class Lasso:
    """A counterexample to a temporal property: ``prefix`` (state numbers from an initial state
    to the loop's first state, both included) and ``loop`` (``[(state, unit or None)]``, the
    steps that lead from the loop's first state back to it; empty when the behaviour stutters
    there forever); ``label`` names the property's instance (``{"participant": 1}``)."""

    def __init__(self, prefix, loop, label):
        self.prefix, self.loop, self.label = prefix, loop, label


# -- the two graph passes, in Python (the C extension's twins) -----------------------------------
def _reach(start, count, dst, mask, roots):
    """Breadth-first search from ``roots`` through the states where ``mask`` is set: ``(order,
    parent)``, the states reached in BFS order and each one's parent (-1 for a root, -2 for a
    state not reached)."""
    parent = array("q", [-2]) * len(mask)
    order = array("q")
    for r in roots:
        if mask[r] and parent[r] == -2:
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
    return order, parent


def _strongly_connected(start, count, dst, mask):
    """Tarjan's strongly connected components of the graph restricted to ``mask``, iteratively:
    each state's component number (-1 outside the mask), the components numbered in the order
    they are completed (a component's successors before it)."""
    n = len(mask)
    comp = array("q", [-1]) * n
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
                    while True:
                        j = stack.pop()
                        on_stack[j] = 0
                        comp[j] = components
                        if j == i:
                            break
                    components += 1
    return comp


def _c_reach(start, count, dst, mask, roots):
    """``_reach`` by the C extension's ``reach_into``."""
    n = len(mask)
    parent, order = array("q", bytes(8 * n)), array("q", bytes(8 * n))
    roots = roots if isinstance(roots, array) else array("q", roots)
    del order[_C.reach_into(start, count, dst, mask, roots, parent, order):]
    return order, parent


def _c_strongly_connected(start, count, dst, mask):
    """``_strongly_connected`` by the C extension's ``strongly_connected_into``."""
    comp = array("q", bytes(8 * len(mask)))
    _C.strongly_connected_into(start, count, dst, mask, comp)
    return comp


_C = speedups()
reach = _c_reach if _C is not None else _reach
strongly_connected = _c_strongly_connected if _C is not None else _strongly_connected


_NOT = bytes([1, 0]) + bytes(254)  # bytes.translate table: 0 <-> 1


# -- fair loops ------------------------------------------------------------------------------------
def _enabled(graph, i):
    """The fair units enabled in state ``i``."""
    return {u for _, u in graph.out(i) if u >= 0}


def _fair_components(graph, mask, fair):
    """The sets of states (lists) that hold a fair loop through all their states, inside
    ``mask``: strongly connected components, refined for strong fairness (module docstring).
    ``fair``: whether fairness is assumed at all."""
    comp = strongly_connected(graph.start, graph.count, graph.dst, mask)
    members = {}
    for i, c in enumerate(comp):
        if c >= 0:
            members.setdefault(c, []).append(i)
    for states in members.values():
        if len(states) < 2:  # no step inside (stuttering steps are not stored)
            continue
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


def _stutters(graph, i, fair):
    """May a fair behaviour stutter for ever in state ``i`` (no fair call enabled)?"""
    return not fair or not graph.moves[i]


def find_lasso(graph, k, kind, fair=True):
    """A lasso that violates instance ``k`` of ``graph.instances`` (a property of kind
    ``kind``), or None when it holds on every fair behaviour. ``fair=False`` checks without
    fairness (every behaviour may stop moving anywhere)."""
    n = len(graph)
    vp, vq = graph.values[k]
    if kind == "eventually":
        allowed = vp.translate(_NOT)
        roots = graph.initial
    elif kind == "leads_to":
        allowed = vq.translate(_NOT)
        roots = [i for i in range(n) if vp[i] and not vq[i]]
    elif kind == "always_eventually":
        allowed = vp.translate(_NOT)
        roots = range(n)
    else:  # eventually_always: loops anywhere, through a state where P is false
        allowed = bytearray(b"\1") * n
        roots = range(n)
    order, parent = reach(graph.start, graph.count, graph.dst, allowed, roots)
    region = bytearray(n)
    for i in order:
        region[i] = 1
    accepting = (lambda i: not vp[i]) if kind == "eventually_always" else (lambda i: True)
    best = None  # (rank of the loop's first state, that state, the component or None)
    for r, i in enumerate(order):  # stuttering for ever: the earliest such state
        if accepting(i) and _stutters(graph, i, fair):
            best = (r, i, None)
            break
    rank = None
    for states in _fair_components(graph, region, fair):
        if any(accepting(i) for i in states):
            if rank is None:
                rank = {i: r for r, i in enumerate(order)}
            entry = min(states, key=rank.__getitem__)
            if best is None or rank[entry] < best[0]:
                best = (rank[entry], entry, states)
    if best is None:
        return None
    _, entry, states = best
    path = [entry]
    while parent[path[-1]] >= 0:
        path.append(parent[path[-1]])
    path.reverse()
    loop = [] if states is None else _loop(graph, entry, states, accepting, fair)
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

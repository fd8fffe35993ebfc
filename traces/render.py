"""Counterexamples for a person: the terminal rendering and the Graphviz drawing of a trace (the
message sequence chart is ``kripke.traces.msc``'s).

Both show, per step, only the fields that changed: an array entry that changed
(``rm_state[1]: working -> prepared``), elements added to or removed from a set
(``msgs: +Prepared(rm=0)``), a scalar's old and new value.

A liveness counterexample is a lasso (``Trace.loop_start`` = k, issue 11): the behaviour goes
on forever from the last step n back to step k. With k < n the last step is the action that
closes the loop (its state is step k's); with k = n the behaviour stutters forever in the last
state. Every rendering marks the loop as TLC's users know it ("Back to state k", "Stuttering"):
the terminal with a bracket beside steps k..n and a closing line, the drawing with a cluster
and the edge back to step k, the message sequence chart with a bracket beside the loop's rows.
"""

import graphviz

from kripke.traces.trace import format_value, json_equal, write_atomic

__all__ = ["changes", "format_value", "format_trace", "to_dot", "write_drawing", "loop_note",
           "closes_loop", "NO_DOT"]

#: what to do when Graphviz's ``dot`` is missing (it draws every .svg; the .dot source needs none)
NO_DOT = ("Graphviz's dot was not found: install graphviz (apt install graphviz, "
          "brew install graphviz)")


def changes(old, new, set_fields=()):
    """The lines describing how state ``new`` differs from ``old`` (both trace JSON)."""
    if not isinstance(new, dict):  # an untyped model's state: one unnamed value
        old, new = (None if old is None else {"state": old}), {"state": new}
    if old is None:
        return [f"{k} = {format_value(v)}" for k, v in new.items()]
    lines = []
    for key, value in new.items():
        _diff(key, old.get(key), value, key in set_fields, lines)
    return lines


def _diff(path, a, b, is_set, lines):
    if a == b:
        return
    if isinstance(a, list) and isinstance(b, list) and (is_set or len(a) != len(b)):
        added, removed = _minus(b, a), _minus(a, b)
        parts = [f"+{format_value(x)}" for x in added] + [f"-{format_value(x)}" for x in removed]
        lines.append(f"{path}: {' '.join(parts)}")
    elif isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            _diff(f"{path}[{i}]", x, y, False, lines)
    elif isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        for k in b:
            _diff(f"{path}.{k}", a[k], b[k], False, lines)
    else:
        lines.append(f"{path}: {format_value(a)} -> {format_value(b)}")


def _minus(xs, ys):
    """The elements of list ``xs`` not matched by an equal element of ``ys`` (multisets)."""
    rest = list(ys)
    out = []
    for x in xs:
        if x in rest:
            rest.remove(x)
        else:
            out.append(x)
    return out


def _params_text(params):
    return ", ".join(f"{k}={v}" for k, v in params.items())


def headline(trace):
    n = len(trace.steps) - 1
    what = {"deadlock": "deadlock", "exception": "the model raised an exception"}.get(
        trace.kind, f"{trace.property} violated ({trace.kind})")
    text = f"{trace.model} ({_params_text(trace.params)}): {what} after {n} step{'s' * (n != 1)}"
    k = trace.loop_start
    if k is None:
        return text
    return text + (", then stuttering forever" if k == n else f", then back to step {k} forever")


def closes_loop(trace):
    """Does the last step of a lasso return to the state of step ``loop_start`` (k < n), as the
    format says it must? (Then a drawing needs no node for it: its edge goes back to step k.)"""
    k, last = trace.loop_start, trace.steps[-1]
    return (k is not None and k < len(trace.steps) - 1 and last.state is not None
            and json_equal(last.state, trace.steps[k].state))


def loop_note(trace):
    """The sentence that closes a lasso (None for a finite trace): TLC's "Back to state k" or
    "Stuttering"."""
    k, n = trace.loop_start, len(trace.steps) - 1
    if k is None:
        return None
    if k == n:
        return f"stutters forever at step {n} (the behaviour stays in this state)"
    same = "" if closes_loop(trace) else f" (step {n}'s state is not step {k}'s: edited?)"
    return f"back to step {k} (the loop repeats forever){same}"


def format_trace(trace, set_fields=(), trace_file=None):
    """The terminal rendering: one headline, numbered steps with the changed fields.

    A lasso's loop (steps ``loop_start``..n) is bracketed in a gutter of its own and closed by
    the line ``loop_note`` gives::

             1  rm_prepare(rm=0)       rm_state[0]: working -> prepared
                                       msgs: +Prepared(rm=0)
         ┌   2  tm_rcv_prepared(rm=0)  tm_prepared: +0
         │   3  tm_rcv_prepared(rm=0)  (no change: a stutter step)
         └⟳ back to step 2 (the loop repeats forever)
    """
    out = [headline(trace)]
    labels = [s.label() for s in trace.steps]
    width = min(max(len(x) for x in labels), 40)
    k = trace.loop_start
    prev = None
    for n, (step, label) in enumerate(zip(trace.steps, labels)):
        lines = ([f"raised {step.error}"] if step.error is not None
                 else changes(prev, step.state, set_fields) or ["(no change: a stutter step)"])
        if len(label) > width:  # a long label gets a line of its own
            rows = [f"{n:>4}  {label}"]
            lines_after = lines
        else:
            rows = [f"{n:>4}  {label:<{width}}  {lines[0]}"]
            lines_after = lines[1:]
        rows.extend(f"{'':>4}  {'':<{width}}  {line}" for line in lines_after)
        if k is not None:  # the gutter: the loop's bracket, or room for it
            rows = [(" ┌" if n == k and i == 0 else " │" if n >= k else "  ") + row
                    for i, row in enumerate(rows)]
        out.extend(rows)
        prev = step.state if step.state is not None else prev
    if k is not None:
        out.append(f" └⟳ {loop_note(trace)}")
    if trace_file:
        out.append(f"trace: {trace_file}")
        out.append(f"replay: kripke replay {trace_file}")
    return "\n".join(out)


def _escape(text):
    return text.replace("\\", "\\\\").replace("\"", "\\\"")


#: the colour of a lasso's loop in every drawing (the loop is what a liveness reader looks for)
LOOP_COLOR, LOOP_FILL = "#1f5fbf", "#eef3fb"


def to_dot(trace, set_fields=()):
    """The path as a Graphviz graph: a node per state (its changed fields), edges per action.

    A lasso's loop is a blue cluster "loop: repeats forever". When the last step closes the
    loop (``closes_loop``) its state is step k's, so it gets no node of its own: its action is the
    bold blue edge from step n-1 back to step k. A stuttering end is a self-loop "stutters
    forever"."""
    g = graphviz.Digraph("counterexample", graph_attr={
        "label": _escape(headline(trace)), "labelloc": "t", "fontname": "Helvetica"},
        node_attr={"shape": "box", "fontname": "Courier", "fontsize": "10"},
        edge_attr={"fontname": "Helvetica", "fontsize": "10"})
    prev = None
    last = len(trace.steps) - 1
    k = trace.loop_start
    back = closes_loop(trace)
    loop = None
    if k is not None:
        loop = graphviz.Digraph("cluster_loop", graph_attr={
            "label": "loop: repeats forever" if k < last else "stutters forever",
            "color": LOOP_COLOR, "fontcolor": LOOP_COLOR, "style": "rounded,filled",
            "fillcolor": LOOP_FILL, "penwidth": "2", "labeljust": "l", "labelloc": "b"})
    for n, step in enumerate(trace.steps):
        if back and n == last:  # the closing action: an edge back, no node
            g.edge(f"s{n - 1}", f"s{k}", label=_escape(step.label()) + f"\\nback to step {k}",
                   color=LOOP_COLOR, fontcolor=LOOP_COLOR, style="bold", penwidth="2")
            break
        where = loop if k is not None and n >= k else g
        if step.error is not None:
            where.node(f"s{n}", _escape(f"{n}: {step.label()} raised\n{step.error}"),
                       color="red", fontcolor="red", style="bold")
        else:
            lines = changes(prev, step.state, set_fields) or ["(no change)"]
            body = "\\l".join(_escape(x) for x in [f"state {n}"] + lines) + "\\l"
            bad = n == last and trace.kind in ("invariant", "deadlock", "refinement")
            where.node(f"s{n}", body, **({"color": "red", "style": "bold"} if bad
                                         else {"style": "filled", "fillcolor": "white"}
                                         if where is loop else {}))
            prev = step.state
        if n:
            g.edge(f"s{n - 1}", f"s{n}", label=_escape(step.label()))
    if loop is not None:
        g.subgraph(loop)
        if k == last:
            g.edge(f"s{last}", f"s{last}", label="stutters forever", color=LOOP_COLOR,
                   fontcolor=LOOP_COLOR, style="bold,dashed")
        elif not back:  # a last state that is not step k's: the jump back, drawn as such
            g.edge(f"s{last}", f"s{k}", label=_escape(f"back to step {k}"), color=LOOP_COLOR,
                   fontcolor=LOOP_COLOR, style="bold,dashed")
    return g


def write_drawing(graph, path, fmt=None):
    """Write ``graph`` as ``.dot`` source or render it (``.svg``, ``.png``) with Graphviz; the
    format is ``fmt`` when given, else the file's suffix.

    The file is written whole or not at all (``write_atomic``): without Graphviz's ``dot``,
    rendering raises ``graphviz.ExecutableNotFound`` and leaves no file behind.
    """
    path = str(path)
    fmt = fmt or path.rsplit(".", 1)[-1]
    if fmt == "dot":
        write_atomic(path, graph.source)
        return
    write_atomic(path, graph.pipe(format=fmt))

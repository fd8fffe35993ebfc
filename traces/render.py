"""Counterexamples for a person: the terminal rendering and the Graphviz drawing of a trace.

Both show, per step, only the fields that changed: an array entry that changed
(``rm_state[1]: working -> prepared``), elements added to or removed from a set
(``msgs: +Prepared(rm=0)``), a scalar's old and new value.
"""

import graphviz

__all__ = ["changes", "format_value", "format_trace", "to_dot", "write_drawing"]


def format_value(v):
    """Compact, readable text for a JSON value: records as ``Prepared(rm=0)``."""
    if isinstance(v, dict):
        if "type" in v and isinstance(v["type"], str):
            body = ", ".join(f"{k}={format_value(x)}" for k, x in v.items() if k != "type")
            return f"{v['type']}({body})"
        return "{" + ", ".join(f"{k}: {format_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(format_value(x) for x in v) + "]"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


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
        added = [x for x in b if x not in a]
        removed = [x for x in a if x not in b]
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


def _params_text(params):
    return ", ".join(f"{k}={v}" for k, v in params.items())


def headline(trace):
    n = len(trace.steps) - 1
    what = {"deadlock": "deadlock", "exception": "the model raised an exception"}.get(
        trace.kind, f"{trace.property} violated ({trace.kind})")
    return f"{trace.model} ({_params_text(trace.params)}): {what} after {n} step{'s' * (n != 1)}"


def format_trace(trace, set_fields=(), trace_file=None):
    """The terminal rendering: one headline, numbered steps with the changed fields."""
    out = [headline(trace)]
    labels = [s.label() for s in trace.steps]
    width = min(max(len(x) for x in labels), 40)
    prev = None
    for n, (step, label) in enumerate(zip(trace.steps, labels)):
        lines = ([f"raised {step.error}"] if step.error is not None
                 else changes(prev, step.state, set_fields) or ["(no change: a stutter step)"])
        out.append(f"{n:>4}  {label:<{width}}  {lines[0]}")
        out.extend(f"{'':>4}  {'':<{width}}  {line}" for line in lines[1:])
        prev = step.state if step.state is not None else prev
    if trace.loop_start is not None:
        out.append(f"      (the steps from {trace.loop_start} on repeat forever)")
    if trace_file:
        out.append(f"trace: {trace_file}")
        out.append(f"replay: kripke replay {trace_file}")
    return "\n".join(out)


def _escape(text):
    return text.replace("\\", "\\\\").replace("\"", "\\\"")


def to_dot(trace, set_fields=()):
    """The path as a Graphviz graph: a node per state (its changed fields), edges per action."""
    g = graphviz.Digraph("counterexample", graph_attr={
        "label": _escape(headline(trace)), "labelloc": "t", "fontname": "Helvetica"},
        node_attr={"shape": "box", "fontname": "Courier", "fontsize": "10"},
        edge_attr={"fontname": "Helvetica", "fontsize": "10"})
    prev = None
    last = len(trace.steps) - 1
    for n, step in enumerate(trace.steps):
        if step.error is not None:
            g.node(f"s{n}", _escape(f"{n}: {step.label()} raised\n{step.error}"),
                   color="red", fontcolor="red", style="bold")
        else:
            lines = changes(prev, step.state, set_fields) or ["(no change)"]
            body = "\\l".join(_escape(x) for x in [f"state {n}"] + lines) + "\\l"
            bad = n == last and trace.kind in ("invariant", "deadlock", "refinement")
            g.node(f"s{n}", body, **({"color": "red", "style": "bold"} if bad else {}))
            prev = step.state
        if n:
            g.edge(f"s{n - 1}", f"s{n}", label=_escape(step.label()))
    if trace.loop_start is not None:
        g.edge(f"s{last}", f"s{trace.loop_start}", label="loop", style="dashed")
    return g


def write_drawing(graph, path):
    """Write ``graph`` as ``.dot`` source or render it (``.svg``, ``.png``) with Graphviz."""
    path = str(path)
    if path.endswith(".dot"):
        with open(path, "w") as f:
            f.write(graph.source)
        return
    fmt = path.rsplit(".", 1)[-1]
    with open(path, "wb") as f:
        f.write(graph.pipe(format=fmt))

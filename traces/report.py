"""A self-contained HTML report of a counterexample: headline, what was violated, the state that
violates it, the steps, the drawing inline.

Under the headline (issue 15, item 5): the violated property's own description (its docstring's
first paragraph, markup rendered), and the whole violating state, one row per variable, the
variables its last step changed marked, so that a reader sees what is wrong before reading how it
came about. The description needs the model: the one the trace names, with its parameters, when it can
still be loaded; else the report says which property, not what it means.

A lasso (a liveness counterexample, issue 11) says in a sentence where its loop starts and ends
and how it goes on forever; its loop's rows are marked (a blue bar and ⟳) in the step list, and
the row after the last says where the behaviour goes back to.

The pieces (``violation_html``, ``steps_html``) are the review page's too (``kripke review``),
which shows the counterexample of each violated property.
"""

import html
import json
import shutil

from kripke.traces.render import (LOOP_COLOR, LOOP_FILL, NO_DOT, changes, headline, loop_note,
                                  to_dot)
from kripke.traces.trace import format_value

__all__ = ["html_report", "violation_html", "steps_html", "describe", "violating_step",
           "STYLE"]

#: what the kinds of violation that are no declared property mean
KINDS = {
    "deadlock": "A reachable state in which no action is enabled, and which the model does not "
                "declare terminal (``terminal()``).",
    "exception": "The model, or a property evaluated on its states, raised an exception.",
    "type": "Every variable stays within its declared type (TLA+'s ``TypeOK``).",
}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em;
       color: #222; line-height: 1.4; }
h1 { font-size: 1.3em; } h2 { font-size: 1.15em; margin-top: 1.6em; } table { border-collapse: collapse; }
td, th { border-bottom: 1px solid #ddd; padding: .3em .8em; vertical-align: top; text-align: left; }
td.changes, td.value { font-family: monospace; white-space: pre-wrap; }
tr.bad td { background: #fdd; } details pre { font-size: .85em; }
tr.loop td { background: %s; } tr.loop td:first-child { border-left: 4px solid %s; }
tr.loop-back td { color: %s; font-weight: bold; } p.loop { color: %s; }
.literal, code { font-family: monospace; background: #f3f3f3; padding: 0 .2em; border-radius: 3px; }
div.violated { border-left: 5px solid #c00; background: #fff5f5; padding: .4em 1em; margin: 1em 0; }
div.violated p.what { font-size: 1.05em; margin: .3em 0 .6em; }
table.state td.name { font-family: monospace; color: #555; }
table.state tr.changed td { background: #fdd; font-weight: bold; }
""" % (LOOP_FILL, LOOP_COLOR, LOOP_COLOR, LOOP_COLOR)


def describe(trace, model):
    """The reST description of the property ``trace`` violates: the model's property of that
    name (a temporal property's instance, ``recovers(caller=0)``, is its property's), or what
    its kind means (deadlock, exception); None when neither is known."""
    if model is not None:
        name = trace.property.split("(")[0] if trace.property else ""
        for p in type(model).properties:
            if p.name == name and p.doc:
                return p.doc
    return KINDS.get(trace.kind)


def violating_step(trace):
    """``(n, state, previous)``: the number of the last step that has a state (the violating
    state; for an exception, the state the failing step started from), its state and the
    state before it (None for an initial state)."""
    states = [(n, s.state) for n, s in enumerate(trace.steps) if s.state is not None]
    n, state = states[-1]
    previous = states[-2][1] if len(states) > 1 else None
    return n, state, previous


def violation_html(trace, model=None):
    """The box under a counterexample's headline: which property is violated and what it says,
    then the violating state whole (a table of its variables, those its last step changed
    marked)."""
    from kripke.traces.rest import inline_html
    doc = describe(trace, model)
    what = {"deadlock": "Deadlock", "exception": "The model raised an exception"}.get(
        trace.kind, f"Violated: <b>{html.escape(trace.property)}</b> ({html.escape(trace.kind)})")
    parts = [f"<p class=\"what\">{what}" + (f": {inline_html(doc)}" if doc else "") + "</p>"]
    n, state, previous = violating_step(trace)
    last = trace.steps[-1]
    if last.error is not None:
        where = f"the state of step {n}, in which {last.label()} raised {last.error}"
    elif trace.loop_start is not None:
        where = f"the state of step {n}, where the lasso closes"
    else:
        where = f"the state after step {n} ({trace.steps[n].label()})"
    parts.append(f"<p>{html.escape(where[0].upper() + where[1:])}, whole (changed by the step: "
                 "marked):</p>")
    values = state if isinstance(state, dict) else {"state": state}
    before = (previous if isinstance(previous, dict) else {"state": previous}
              if previous is not None else None)
    rows = []
    for name, value in values.items():
        css = ' class="changed"' if before is not None and before.get(name) != value else ""
        rows.append(f"<tr{css}><td class=\"name\">{html.escape(name)}</td>"
                    f"<td class=\"value\">{html.escape(format_value(value))}</td></tr>")
    parts.append("<table class=\"state\">" + "".join(rows) + "</table>")
    return "<div class=\"violated\">\n" + "\n".join(parts) + "\n</div>"


def steps_html(trace, set_fields=()):
    """The lasso's sentence (when it is one) and the table of steps: per step its action, the
    fields it changed and the whole state folded away."""
    rows, prev = [], None
    last = len(trace.steps) - 1
    k = trace.loop_start
    for n, step in enumerate(trace.steps):
        if step.error is not None:
            text = f"raised {step.error}"
        else:
            text = "\n".join(changes(prev, step.state, set_fields)) or "(no change)"
            prev = step.state
        full = json.dumps(step.state, indent=1) if step.state is not None else ""
        css = (' class="loop"' if k is not None and n >= k else ' class="bad"' if n == last
               else "")
        mark = " ⟳" if k is not None and n == k else ""
        rows.append(f"<tr{css}><td>{n}{mark}</td><td>{html.escape(step.label())}</td>"
                    f"<td class=\"changes\">{html.escape(text)}</td>"
                    f"<td><details><summary>state</summary><pre>{html.escape(full)}</pre>"
                    f"</details></td></tr>")
    lasso = ""
    if k is not None:
        rows.append(f"<tr class=\"loop-back\"><td>⟳</td><td colspan=\"3\">"
                    f"{html.escape(loop_note(trace))}</td></tr>")
        lasso = "<p class=\"loop\">" + html.escape(
            f"The behaviour stutters forever at step {last}: it reaches this state and stays "
            "there, no further step being taken." if k == last else
            f"Steps {k}–{last} are a loop, marked ⟳: step {last} returns to the state of step "
            f"{k}, and the behaviour goes round the loop forever.") + "</p>\n"
    return (f"{lasso}<table><tr><th>#</th><th>action</th><th>changed fields</th><th></th></tr>\n"
            + "\n".join(rows) + "\n</table>")


def _model_of(trace):
    from kripke.errors import KripkeError
    from kripke.models.system import load_model
    try:
        return load_model(trace.model)(**trace.params)
    except KripkeError:  # a model that is gone or changed: the report without the description
        return None


def html_report(trace, set_fields=(), model=None):
    """The report as one HTML string (the SVG is inlined when Graphviz's ``dot`` is present).
    ``model``: the trace's model, for the violated property's description (by default the
    model the trace names, with its parameters, when it can be loaded)."""
    if model is None:
        model = _model_of(trace)
    title = html.escape(headline(trace))
    drawing = f"<p>The path is not drawn: {html.escape(NO_DOT)}.</p>"
    if shutil.which("dot"):
        svg = to_dot(trace, set_fields).pipe(format="svg").decode()
        drawing = svg[svg.index("<svg"):]
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<style>{STYLE}</style></head><body>\n<h1>{title}</h1>\n"
            f"{violation_html(trace, model)}\n"
            f"<p>Replay with <code>kripke replay trace.json</code>.</p>\n"
            f"{steps_html(trace, set_fields)}\n<div>{drawing}</div>\n</body></html>\n")

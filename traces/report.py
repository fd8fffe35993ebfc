"""A self-contained HTML report of a counterexample: headline, the drawing inline, the steps.

A lasso (a liveness counterexample, issue 11) says in a sentence where its loop starts and ends
and how it goes on forever; its loop's rows are marked (a blue bar and ⟳) in the step list, and
the row after the last says where the behaviour goes back to.
"""

import html
import json
import shutil

from kripke.traces.render import (LOOP_COLOR, LOOP_FILL, NO_DOT, changes, headline, loop_note,
                                  to_dot)

__all__ = ["html_report"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.3em; } table { border-collapse: collapse; }
td, th { border-bottom: 1px solid #ddd; padding: .3em .8em; vertical-align: top; text-align: left; }
td.changes { font-family: monospace; white-space: pre; }
tr.bad td { background: #fdd; } details pre { font-size: .85em; }
tr.loop td { background: %s; } tr.loop td:first-child { border-left: 4px solid %s; }
tr.loop-back td { color: %s; font-weight: bold; } p.loop { color: %s; }
""" % (LOOP_FILL, LOOP_COLOR, LOOP_COLOR, LOOP_COLOR)


def html_report(trace, set_fields=()):
    """The report as one HTML string (the SVG is inlined when Graphviz's ``dot`` is present)."""
    title = html.escape(headline(trace))
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
    drawing = f"<p>The path is not drawn: {html.escape(NO_DOT)}.</p>"
    if shutil.which("dot"):
        svg = to_dot(trace, set_fields).pipe(format="svg").decode()
        drawing = svg[svg.index("<svg"):]
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<style>{_STYLE}</style></head><body>\n<h1>{title}</h1>\n"
            f"<p>Replay with <code>kripke replay trace.json</code>.</p>\n{lasso}"
            f"<table><tr><th>#</th><th>action</th><th>changed fields</th><th></th></tr>\n"
            + "\n".join(rows) + f"\n</table>\n<div>{drawing}</div>\n</body></html>\n")

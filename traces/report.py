"""A self-contained HTML report of a counterexample: headline, the drawing inline, the steps."""

import html
import json
import shutil

from kripke.traces.render import NO_DOT, changes, headline, to_dot

__all__ = ["html_report"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.3em; } table { border-collapse: collapse; }
td, th { border-bottom: 1px solid #ddd; padding: .3em .8em; vertical-align: top; text-align: left; }
td.changes { font-family: monospace; white-space: pre; }
tr.bad td { background: #fdd; } details pre { font-size: .85em; }
"""


def html_report(trace, set_fields=()):
    """The report as one HTML string (the SVG is inlined when Graphviz's ``dot`` is present)."""
    title = html.escape(headline(trace))
    rows, prev = [], None
    last = len(trace.steps) - 1
    for n, step in enumerate(trace.steps):
        if step.error is not None:
            text = f"raised {step.error}"
        else:
            text = "\n".join(changes(prev, step.state, set_fields)) or "(no change)"
            prev = step.state
        full = json.dumps(step.state, indent=1) if step.state is not None else ""
        css = ' class="bad"' if n == last else ""
        rows.append(f"<tr{css}><td>{n}</td><td>{html.escape(step.label())}</td>"
                    f"<td class=\"changes\">{html.escape(text)}</td>"
                    f"<td><details><summary>state</summary><pre>{html.escape(full)}</pre>"
                    f"</details></td></tr>")
    drawing = f"<p>The path is not drawn: {html.escape(NO_DOT)}.</p>"
    if shutil.which("dot"):
        svg = to_dot(trace, set_fields).pipe(format="svg").decode()
        drawing = svg[svg.index("<svg"):]
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<style>{_STYLE}</style></head><body>\n<h1>{title}</h1>\n"
            f"<p>Replay with <code>kripke replay trace.json</code>.</p>\n"
            f"<table><tr><th>#</th><th>action</th><th>changed fields</th><th></th></tr>\n"
            + "\n".join(rows) + f"\n</table>\n<div>{drawing}</div>\n</body></html>\n")

"""Spec review: one document per model that a reviewer reads beside the code.

What the model declares (its docstring, parameters, typed variables, actions with their
docstrings, properties with their kinds), what the checker found (verdict, counts, coverage: an
action that never fires is a red flag in a spec review), and, for a small state space, the whole
state diagram. Markdown for a pull request, HTML (self-contained, diagram inline) for a browser.
"""

import html
import inspect
import sys

import graphviz

from kripke.errors import KripkeError
from kripke.traces.render import NO_DOT

__all__ = ["review_markdown", "review_html"]


def _sections(model, result):
    """(title, rows) pairs shared by both formats; rows are lists of cells."""
    cls = type(model)
    params = [[name, repr(value), p.doc] for (name, p), value in
              zip(cls._params.items(), model.params.values())]
    variables = [[name, repr(t)] for name, t in (getattr(cls, "_types", None) or {}).items()]
    actions = []
    for name in cls._actions:
        doc = (inspect.getdoc(getattr(cls, name)) or "").split("\n")[0]
        c = result.coverage.get(name, {"fired": 0, "new": 0})
        actions.append([name, doc, f"{c['fired']:,}", f"{c['new']:,}"])
    props = [[p.name, p.kind + (" (expected to fail)" if p.expected_to_fail else ""), p.doc]
             for p in cls.properties]
    return [("Parameters", ["name", "value", "meaning"], params),
            ("Variables", ["name", "type"], variables),
            ("Actions", ["action", "what it does", "fired", "new states"], actions),
            ("Properties", ["property", "kind", "what it says"], props)]


def _module_doc(cls):
    """The docstring of the module that defines the model: its source, bounds and counts."""
    return inspect.getdoc(sys.modules[cls.__module__]) or ""


def _summary(result):
    v = result.violation
    line = (f"**{result.verdict.upper()}**: {result.distinct_states:,} distinct states, "
            f"{result.states_generated:,} generated, depth {result.depth}, "
            f"{result.elapsed_s:.2f} s ({result.strategy}"
            f"{', symmetry' if result.symmetry else ''})")
    if v is not None:
        line += f"; {v.property} ({v.kind}): {v.message}"
    if result.bound:
        line += f"; incomplete: {result.bound}"
    unfired = [a for a, c in result.coverage.items() if not c["fired"]]
    if unfired and result.verdict == "ok":
        line += f"; never enabled: {', '.join(unfired)}"
    return line


def review_markdown(model, result):
    """The review as Markdown."""
    cls = type(model)
    out = [f"# Spec review: {cls.display_name()}", "", _module_doc(cls), "", _summary(result), ""]
    for title, head, rows in _sections(model, result):
        out += [f"## {title}", "", "| " + " | ".join(head) + " |",
                "|" + "---|" * len(head)]
        out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
        out.append("")
    return "\n".join(out)


def review_html(model, result, max_states=300, max_depth=None, symmetry=False):
    """The review as one self-contained HTML page, with the state diagram when it has at most
    ``max_states`` states (``max_depth``, ``symmetry``: as the review's search had them)."""
    from kripke.traces.graph import TooManyStates, state_graph
    cls = type(model)
    name = html.escape(cls.display_name())
    parts = [f"<h1>Spec review: {name}</h1>",
             f"<pre>{html.escape(_module_doc(cls))}</pre>",
             f"<p>{html.escape(_summary(result)).replace('**', '')}</p>"]
    for title, head, rows in _sections(model, result):
        parts.append(f"<h2>{title}</h2><table><tr>" +
                     "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>" +
                     "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row)
                             + "</tr>" for row in rows) + "</table>")
    try:
        svg = state_graph(model, max_states=max_states, max_depth=max_depth,
                          symmetry=symmetry).pipe(format="svg").decode()
        parts.append("<h2>State diagram</h2>" + svg[svg.index("<svg"):])
    except TooManyStates as e:
        advice = (f"{e}: the review draws at most {max_states:,}. Draw the first levels with "
                  "--max-depth, or all of them with kripke graph MODEL -o FILE.svg "
                  "--max-states N.")
        parts.append(f"<h2>State diagram</h2><p>{html.escape(advice)}</p>")
    except KripkeError as e:
        parts.append(f"<h2>State diagram</h2><p>{html.escape(str(e))}</p>")
    except graphviz.ExecutableNotFound:  # the page is still written, without its picture
        parts.append(f"<h2>State diagram</h2><p>Not drawn: {html.escape(NO_DOT)}.</p>")
    style = ("body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
             "td,th{border-bottom:1px solid #ddd;padding:.3em .8em;text-align:left}")
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{name}</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")

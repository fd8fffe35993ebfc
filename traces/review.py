"""Spec review: one document per model that a reviewer reads beside the code.

What the checker found first: the verdict and counts, then every property with its kind, its
own description and its verdict (holds, violated, not checked and why), each violated one linked
to its counterexample further down. Then what the model declares: its module docstring rendered
from its reStructuredText (``kripke.traces.rest``: ``literals`` as code, lists as lists), its
parameters, typed variables and actions with coverage (an action that never fires is a red flag
in a spec review), and the state diagram (``kripke.traces.graph.state_view``: merged on the
review's ``--field`` projection, or the components or a neighbourhood when the whole graph is
too large to read, with the sentence saying what was drawn), scaled to the page.

Markdown for a pull request (the diagram is the HTML page's; the counterexamples are the
terminal's text), HTML for a browser: one self-contained file, the diagram inline, each
counterexample with the violated property's description, the violating state whole, its steps,
and its trace JSON to save and replay (issue 15, item 5).
"""

import html
import inspect
import json
import re
import sys

import graphviz

from kripke.errors import KripkeError
from kripke.models.types import type_text
from kripke.traces.render import NO_DOT, format_trace, headline
from kripke.traces.report import STYLE, steps_html, violation_html
from kripke.traces.rest import inline_html, inline_markdown, to_html, to_markdown

__all__ = ["review_markdown", "review_html", "property_verdicts"]


def _first_paragraph(doc):
    return " ".join((doc or "").split("\n\n")[0].split())


def _anchor(name):
    """The id of a violation's section: ``counterexample-tc_consistent``."""
    return "counterexample-" + (re.sub(r"[^\w.-]+", "-", name).strip("-") or "property")


def property_verdicts(model, result):
    """``[(name, kind, verdict, doc, violation)]``: every property of the model, in declaration
    order, then each violation that is no declared property (deadlock, exception), with its
    verdict as one short phrase (``holds``, ``violated``, ``violated (expected)``, ``not
    checked: ...``, ``not violated in the states explored``), its description (reST) and its
    ``Violation`` (or None)."""
    from kripke.traces.report import KINDS
    violated = {}
    for v in result.violations:
        violated.setdefault(v.property.split("(")[0] if v.property else v.kind, v)
    checked = set(result.properties)
    # an exception ends the search where it was raised: what lies beyond is not explored
    complete = (result.verdict in ("ok", "violated") and not result.bound
                and not any(v.kind == "exception" for v in result.violations))
    rows = []
    for p in type(model).properties:
        v = violated.pop(p.name, None)
        if v is not None:
            verdict = "violated (as expected)" if p.expected_to_fail else "violated"
        elif p.name in result.not_checked:
            verdict = f"not checked: {result.not_checked[p.name]}"
        elif p.name not in checked:
            verdict = ("not checked: expected to fail, checked when named"
                       if p.expected_to_fail else "not checked by default")
        elif complete:
            verdict = "holds"
        else:
            verdict = "not violated in the states explored (the search is incomplete)"
        rows.append((p.name, p.kind, verdict, p.doc, v))
    for name, v in violated.items():  # deadlock, exception: no declared property
        rows.append((name, v.kind, "violated", KINDS.get(v.kind, ""), v))
    return rows


def _summary(result):
    """The verdict and the counts in one line (plain text)."""
    v = result.violation
    line = (f"{result.verdict.upper()}: {result.distinct_states:,} distinct states, "
            f"{result.states_generated:,} generated, depth {result.depth}, "
            f"{result.elapsed_s:.2f} s ({result.strategy}"
            f"{', symmetry' if result.symmetry else ''})")
    if len(result.violations) > 1:
        line += f"; {len(result.violations)} properties violated"
    elif v is not None:
        line += f"; {v.property} ({v.kind}) violated"
    if result.bound:
        line += f"; incomplete: the bound {result.bound} was reached"
    if result.symmetry_note:
        line += f"; {result.symmetry_note}"
    unfired = [a for a, c in result.coverage.items() if not c["fired"]]
    if unfired and result.verdict == "ok":
        line += f"; never enabled: {', '.join(unfired)}"
    return line


class _Rendered(str):
    """A table cell already in the page's format (a description rendered from reST)."""


def _declarations(model, result, inline):
    """(title, head, rows) of the parameters, variables and actions; ``inline`` renders a
    description's markup for the format (its cells are ``_Rendered``)."""
    def render(doc):
        return _Rendered(inline(doc) if doc else "")

    cls = type(model)
    params = [[name, repr(value), render(p.doc)] for (name, p), value in
              zip(cls._params.items(), model.params.values())]
    variables = [[name, type_text(t, model)]
                 for name, t in (getattr(cls, "_types", None) or {}).items()]
    actions = []
    for name in cls._actions:
        doc = _first_paragraph(inspect.getdoc(getattr(cls, name)))
        c = result.coverage.get(name, {"fired": 0, "new": 0})
        actions.append([name, render(doc), f"{c['fired']:,}", f"{c['new']:,}"])
    return [("Parameters", ["name", "value", "meaning"], params),
            ("Variables", ["name", "type"], variables),
            ("Actions", ["action", "what it does", "fired", "new states"], actions)]


def _module_doc(cls):
    """The docstring of the module that defines the model: its source, bounds and counts."""
    module = sys.modules.get(cls.__module__)
    return inspect.getdoc(module) if module is not None else ""


def review_markdown(model, result):
    """The review as Markdown."""
    cls = type(model)
    set_fields = cls.set_fields()
    verdict, rest = _summary(result).split(": ", 1)
    out = [f"# Spec review: {cls.display_name()}", "", f"**{verdict}**: {rest}", "",
           "## Properties", "", "| property | kind | verdict | what it says |",
           "|---|---|---|---|"]
    for name, kind, verdict, doc, v in property_verdicts(model, result):
        if v is not None:
            verdict = f"[{verdict}](#{_anchor(name)})"
        out.append("| " + " | ".join(_cell(x) for x in (
            name, kind, verdict, inline_markdown(doc) if doc else "")) + " |")
    doc = _module_doc(cls)
    out += ["", "## The model", "", to_markdown(doc) if doc else "(no module docstring)", ""]
    for title, head, rows in _declarations(model, result, inline_markdown):
        out += [f"## {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
        out.append("")
    out += ["## State diagram", "",
            "Drawn in the HTML review (`kripke review ... -o review.html`), or with "
            "`kripke graph`.", ""]
    if result.violations:
        out += ["## Counterexamples", ""]
    for v in result.violations:
        name = v.property or v.kind
        out += [f'<a id="{_anchor(name)}"></a>', "", f"### {name} ({v.kind})", ""]
        if v.trace is None:
            out += [v.message, ""]
            continue
        out += ["```", format_trace(v.trace, set_fields), "```", ""]
    return "\n".join(out)


def _cell(text):
    """A Markdown table's cell: on one line, its bars escaped (a rendered one has them as
    code)."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def review_html(model, result, fields=None, max_states=10_000, max_depth=None, symmetry=False,
                max_nodes=None):
    """The review as one self-contained HTML page.

    The state diagram is ``state_view``'s with ``fields`` (merged on them), ``max_states``,
    ``max_depth`` and ``symmetry`` as the review's search had them, and ``max_nodes``
    (default ``MAX_NODES``); it is scaled to the page's width.
    """
    cls = type(model)
    name = html.escape(cls.display_name())
    verdict = result.verdict if result.verdict in ("ok", "violated") else "incomplete"
    parts = [f"<h1>Spec review: {name}</h1>",
             f"<p class=\"summary {verdict}\">{html.escape(_summary(result))}</p>",
             _command(model, result, fields, max_states, max_depth)]
    rows = []
    for prop, kind, said, doc, v in property_verdicts(model, result):
        css = ("bad" if said == "violated" else "ok" if said in ("holds", "violated (as expected)")
               else "unknown")
        text = html.escape(said)
        if v is not None:
            steps = f", {len(v.trace.steps) - 1} steps" if v.trace is not None else ""
            what = "counterexample" if v.trace is not None else "why"
            text = f"<a href=\"#{_anchor(prop)}\">{text}: {what}{steps}</a>"
        rows.append(f"<tr><td><code>{html.escape(prop)}</code></td><td>{html.escape(kind)}</td>"
                    f"<td class=\"verdict {css}\">{text}</td>"
                    f"<td>{inline_html(doc) if doc else ''}</td></tr>")
    parts.append("<h2>Properties</h2><table class=\"props\"><tr><th>property</th><th>kind</th>"
                 "<th>verdict</th><th>what it says</th></tr>" + "".join(rows) + "</table>")
    if any(said.startswith("not checked") for _, _, said, _, _ in property_verdicts(model, result)):
        parts.append("<p class=\"note\">A property not checked by default is checked when named: "
                     "<code>kripke review MODEL --property NAME</code> (or <code>kripke check"
                     "</code>).</p>")
    doc = _module_doc(cls)
    parts.append("<h2>The model</h2><div class=\"doc\">"
                 + (to_html(doc) if doc else "<p>(no module docstring)</p>") + "</div>")
    for title, head, table in _declarations(model, result, inline_html):
        # an action that never fired is a red flag in a spec review: marked
        never = title == "Actions" and result.verdict == "ok"
        parts.append(f"<h2>{title}</h2><table><tr>" +
                     "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>" +
                     "".join(("<tr class=\"never\">" if never and row[2] == "0" else "<tr>")
                             + "".join(f"<td>{_html_cell(c, i)}</td>" for i, c in enumerate(row))
                             + "</tr>" for row in table) + "</table>")
    parts.append("<h2>State diagram</h2>" + _diagram(model, fields, max_states, max_depth,
                                                      symmetry, max_nodes))
    if result.violations:
        parts.append("<h2>Counterexamples</h2>")
    set_fields = cls.set_fields()
    for v in result.violations:
        prop = v.property or v.kind
        section = [f"<section id=\"{_anchor(prop)}\">"]
        if v.trace is None:
            section.append(f"<h3>{html.escape(prop)} ({html.escape(v.kind)})</h3>"
                           f"<p>{html.escape(v.message)}</p>")
        else:
            trace_json = json.dumps(v.trace.to_json(), indent=1)
            # the page's title names the model and its parameters: the headline without them
            what = headline(v.trace).split("): ", 1)[-1]
            section += [f"<h3>{html.escape(what)}</h3>",
                        violation_html(v.trace, model), steps_html(v.trace, set_fields),
                        "<details><summary>trace JSON (save it as trace.json: <code>kripke "
                        "replay trace.json</code>, <code>kripke render trace.json -o "
                        "report.html</code>)</summary><pre>"
                        + html.escape(trace_json) + "</pre></details>"]
        parts.append("\n".join(section) + "</section>")
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Spec review: {name}"
            f"</title><style>{STYLE}{_STYLE}</style></head><body>\n" + "\n".join(parts)
            + "\n</body></html>\n")


_STYLE = """
p.summary { font-weight: bold; padding: .5em 1em; border-radius: 4px; }
p.summary.ok { background: #e8f5e9; } p.summary.violated { background: #fdd; }
p.summary.incomplete { background: #fff4d6; }
td.verdict { white-space: nowrap; font-weight: bold; } td.verdict.bad, td.verdict.bad a { color: #b00; }
td.verdict.ok { color: #176b1d; } td.verdict.unknown { color: #8a6d00; font-weight: normal; white-space: normal; }
p.command code { font-size: .9em; }
div.doc { max-width: 50em; }
figure.diagram { margin: 1em 0 1em calc(50% - 50vw + 1em); width: calc(100vw - 2em);
                 overflow-x: auto; }
figure.diagram figcaption { color: #444; font-size: .95em; margin: 0 auto .6em; max-width: 72em; }
figure.diagram svg { display: block; margin: 0 auto; max-width: 100%; height: auto; cursor: zoom-in; }
figure.diagram.natural svg { max-width: none; cursor: zoom-out; }
tr.never td { background: #fff4d6; } p.note { color: #555; font-size: .95em; }
section { border-top: 1px solid #ccc; margin-top: 1.5em; }
"""


def _html_cell(value, column):
    """A declaration table's cell: the name column as code, a rendered description as is."""
    if isinstance(value, _Rendered):
        return value
    if column == 0:
        return f"<code>{html.escape(str(value))}</code>"
    return html.escape(str(value))


def _command(model, result, fields, max_states, max_depth):
    """The command line that repeats the review's search (a registered or file model)."""
    from kripke.models.system import model_spec
    args = [model_spec(type(model))]
    declared = type(model)._params
    args += [f"-p {k}={v}" for k, v in model.params.items()
             if k in declared and v != declared[k].default]
    args.append("--symmetry" if result.symmetry else "--no-symmetry")
    if max_depth is not None:
        args.append(f"--max-depth {max_depth}")
    return ("<p class=\"command\">The search of <code>kripke check " + html.escape(" ".join(args))
            + " --continue</code> (every violated property, not only the first)"
            + (f", merged on {html.escape(', '.join(fields))} in the diagram" if fields else "")
            + ".</p>")


def _diagram(model, fields, max_states, max_depth, symmetry, max_nodes):
    """The state diagram as inline SVG scaled to the page, under the sentence saying what it
    draws; or why it is not drawn."""
    from kripke.traces.graph import MAX_NODES, TooManyStates, state_view
    try:
        view = state_view(model, fields=fields or None, max_states=max_states,
                          max_depth=max_depth, symmetry=symmetry,
                          max_nodes=max_nodes or MAX_NODES)
        svg = view.digraph.pipe(format="svg").decode()
    except TooManyStates as e:
        return (f"<p>Not drawn: {html.escape(str(e))} (--max-states {max_states:,}). Raise "
                "--max-states, or draw the first levels with --max-depth N.</p>")
    except KripkeError as e:
        return f"<p>Not drawn: {html.escape(str(e))}</p>"
    except graphviz.ExecutableNotFound:  # the page is still written, without its picture
        return f"<p>Not drawn: {html.escape(NO_DOT)}.</p>"
    svg = svg[svg.index("<svg"):]
    # Graphviz sizes the drawing in points; the page sizes it (figure.diagram svg: at most
    # the page's width, the height to scale), the viewBox keeping the proportions.
    svg = re.sub(r'^<svg width="[\d.]+pt" height="[\d.]+pt"',
                 lambda m: "<svg " + _natural(m.group(0)), svg)
    hint = (" Other views: <code>kripke graph MODEL --field VARIABLE</code> (merge), "
            "<code>--around N</code> (the neighbourhood of node #N), <code>--components</code>. "
            "Click the drawing for its full size.")
    caption = html.escape(view.message[0].upper() + view.message[1:])
    return (f"<figure class=\"diagram\" onclick=\"this.classList.toggle('natural')\">"
            f"<figcaption>{caption}{hint}</figcaption>{svg}</figure>")


def _natural(head):
    """The root's width in CSS pixels (1 pt = 4/3 px), its height left to the viewBox."""
    width = float(re.search(r'width="([\d.]+)pt"', head).group(1))
    return f'width="{round(width * 4 / 3)}"'

"""Docstrings, which kripke's models write in reStructuredText, as HTML and as Markdown.

The review page (``kripke review``) and the counterexample report show a model's docstring and
its properties' descriptions with their markup rendered (``literals`` as code, bullets as a
list), not as source (issue 15, item 5). docutils parses them, as Sphinx and PyPI do; HTML is
its html5 writer's body; Markdown is written here from docutils' document tree, for what
docstrings use (paragraphs, lists, literals, emphasis, literal blocks, sections, definition and
field lists, links), falling back on a node's plain text for the rest.

A docstring is never an error: markup docutils cannot read is left as its text, and no warning
is printed (``report_level`` 5). Nothing is read from elsewhere: the ``raw`` and ``include``
directives are off.
"""

import re

__all__ = ["to_html", "inline_html", "to_markdown", "inline_markdown"]

_SETTINGS = {
    "report_level": 5, "halt_level": 5,  # a docstring's slip stays text, silently
    "raw_enabled": False, "file_insertion_enabled": False,
    "doctitle_xform": False, "sectsubtitle_xform": False,  # a docstring's section is a section
    "initial_header_level": 3,  # under the page's own h1 and h2
    "syntax_highlight": "none", "embed_stylesheet": False, "input_encoding": "unicode",
    "output_encoding": "unicode",
}


def to_html(text):
    """reST ``text`` as an HTML fragment (paragraphs, lists, ``<code>``...)."""
    from docutils.core import publish_parts
    return publish_parts(source=text, writer="html5",
                         settings_overrides=_SETTINGS)["body"].strip()


def inline_html(text):
    """reST ``text`` of one paragraph (a property's description) as HTML without the ``<p>``
    around it; longer text as ``to_html``."""
    body = to_html(text)
    m = re.fullmatch(r"<p>(.*)</p>", body, re.S)
    return m.group(1) if m and "<p>" not in m.group(1) else body


def to_markdown(text):
    """reST ``text`` as Markdown (CommonMark)."""
    from docutils.core import publish_doctree
    tree = publish_doctree(text, settings_overrides=_SETTINGS)
    return _blocks(tree.children, 2).strip()


def inline_markdown(text):
    """reST ``text`` of one paragraph as Markdown on one line (a table cell)."""
    return " ".join(to_markdown(text).split())


def _name(node):
    return type(node).__name__


def _blocks(children, level):
    """Block nodes as Markdown paragraphs, a blank line between two."""
    out = [_block(c, level) for c in children]
    return "\n\n".join(x for x in out if x)


def _indent(text, first, rest):
    lines = text.split("\n")
    return "\n".join([first + lines[0]] + [(rest + x if x else x) for x in lines[1:]])


def _block(node, level):
    kind = _name(node)
    if kind in ("comment", "target", "substitution_definition", "system_message",
                "pending", "raw"):
        return ""
    if kind == "section":
        title = node.children[0] if node.children and _name(node.children[0]) == "title" else None
        head = "#" * min(level + 1, 6) + " " + _inline(title.children) if title else ""
        rest = node.children[1:] if title else node.children
        return "\n\n".join(x for x in (head, _blocks(rest, level + 1)) if x)
    if kind in ("paragraph", "title", "rubric"):
        return _inline(node.children)
    if kind == "bullet_list":
        return "\n".join(_indent(_blocks(item.children, level), "- ", "  ")
                         for item in node.children)
    if kind == "enumerated_list":
        start = int(node.get("start", 1))
        return "\n".join(_indent(_blocks(item.children, level), f"{start + i}. ", "   ")
                         for i, item in enumerate(node.children))
    if kind in ("literal_block", "doctest_block"):
        return "```\n" + node.astext() + "\n```"
    if kind == "block_quote":
        return _indent(_blocks(node.children, level), "> ", "> ")
    if kind == "definition_list":
        items = []
        for item in node.children:
            term = [c for c in item.children if _name(c) == "term"]
            body = [c for c in item.children if _name(c) == "definition"]
            text = "**" + _inline(term[0].children) + "**" if term else ""
            if body:
                text += "\n" + _indent(_blocks(body[0].children, level), ": ", "  ")
            items.append(text)
        return "\n\n".join(items)
    if kind == "field_list":
        items = []
        for field in node.children:
            name, body = field.children[0], field.children[1]
            items.append(f"**{_inline(name.children)}**: " + _blocks(body.children, level))
        return "\n\n".join(items)
    if kind == "transition":
        return "---"
    if kind in ("note", "warning", "attention", "caution", "danger", "error", "hint",
                "important", "tip", "admonition"):
        return _indent(f"**{kind.capitalize()}:** " + _blocks(node.children, level), "> ", "> ")
    if kind == "line_block":
        return "  \n".join(_inline(line.children) for line in node.children)
    if node.children and all(_name(c) == "Text" or _inline_kind(c) for c in node.children):
        return _inline(node.children)
    if node.children and kind not in ("table",):
        return _blocks(node.children, level)
    return "```\n" + node.astext() + "\n```"  # a table and anything else: its text, as is


def _inline_kind(node):
    return _name(node) in ("literal", "emphasis", "strong", "title_reference", "reference",
                           "inline", "problematic", "footnote_reference",
                           "citation_reference", "subscript", "superscript")


_SPECIAL = re.compile(r"([\\`*\[\]<>])")


def _inline(children):
    out = []
    for c in children:
        kind = _name(c)
        if kind == "Text":
            out.append(_SPECIAL.sub(r"\\\1", str(c).replace("\n", " ")))
        elif kind == "literal":
            text = c.astext().replace("\n", " ")
            fence = "``" if "`" in text else "`"
            pad = " " if fence == "``" else ""
            out.append(f"{fence}{pad}{text}{pad}{fence}")
        elif kind in ("emphasis", "title_reference"):
            out.append(f"*{_inline(c.children)}*")
        elif kind == "strong":
            out.append(f"**{_inline(c.children)}**")
        elif kind == "reference":
            uri = c.get("refuri")
            out.append(f"[{_inline(c.children)}]({uri})" if uri else _inline(c.children))
        elif kind in ("target", "system_message", "comment"):
            continue
        else:
            out.append(_inline(c.children) if c.children else c.astext())
    return "".join(out)

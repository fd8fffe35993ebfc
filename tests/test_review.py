"""The review page and the counterexample report (issue 15, item 5): the docstring rendered from
its reST, every property's description beside its verdict, each violated one linked to its
counterexample, the diagram scaled to the page and drawn with the review's --field, bounds and
symmetry; the report shows the violated property's description and the whole violating state."""

import re

import pytest

from kripke.checkers.explicit import check
from kripke.models.system import load_model
from kripke.traces.report import html_report
from kripke.traces.rest import inline_html, to_html, to_markdown
from kripke.traces.review import property_verdicts, review_html, review_markdown
from tests.conftest import kripke as kripke_cli

EAGER = ["two-phase-eager", "-p", "rms=2"]
TC_CONSISTENT = "TCConsistent (TCommit.tla): no RM has committed while another has aborted."



def review_page(tmp_path, *args):
    out = tmp_path / "review.html"
    r = kripke_cli("review", *args, "-o", out)
    assert r.exit_code == 0, r.output
    return out.read_text()


def section(page, anchor):
    m = re.search(rf'<section id="{anchor}">(.*?)</section>', page, re.S)
    assert m, anchor
    return m.group(1)


def doc_of(page):
    return re.search(r'<h2>The model</h2><div class="doc">(.*?)</div>', page, re.S).group(1)


# -- reST ----------------------------------------------------------------------------------
SAMPLE = """A model.

Parameters
----------

* ``rms``: the *number* of RMs;
* ``max_time``, see `TwoPhase <https://example.org/tp>`_.

::

    kripke check two-phase
"""


def test_rest_renders_the_markup_docstrings_use():
    page = to_html(SAMPLE)
    assert "``" not in page and "<h3>Parameters</h3>" in page
    assert '<li><p><span class="docutils literal">rms</span>: the <em>number</em> of RMs;</p>' \
        in page.replace("\n", "")
    assert '<a class="reference external" href="https://example.org/tp">TwoPhase</a>' in page
    assert '<pre class="literal-block">kripke check two-phase</pre>' in page
    assert to_markdown(SAMPLE) == (
        "A model.\n\n### Parameters\n\n- `rms`: the *number* of RMs;\n"
        "- `max_time`, see [TwoPhase](https://example.org/tp).\n\n"
        "```\nkripke check two-phase\n```")
    assert inline_html("x never reaches ``limit``.") == (
        'x never reaches <span class="docutils literal">limit</span>.')


def test_rest_that_docutils_cannot_read_stays_text_without_a_warning(capsys):
    assert to_markdown("an `unclosed role and a *star") == "an \\`unclosed role and a \\*star"
    assert "unclosed role" in to_html("an `unclosed role")
    assert capsys.readouterr() == ("", "")


# -- the review page -------------------------------------------------------------------------
def test_the_docstring_is_rendered_not_pasted(tmp_path):
    page = review_page(tmp_path, "circuit-breaker")
    doc = doc_of(page)
    assert "``" not in doc and "<pre>" not in doc
    assert '<span class="docutils literal">max_outages</span>' in doc
    assert doc.count("<li>") == 6  # the correct breaker's six rules, a list
    assert "<p>A circuit breaker guarding a downstream service" in doc
    md = review_markdown(CircuitBreakerModel(), check(CircuitBreakerModel(), symmetry=False))
    model_md = md.split("## The model\n\n")[1].split("\n## ")[0]
    assert "``" not in model_md and "- counts failures in a row while closed" in model_md
    assert "at most `max_outages` times" in model_md


def CircuitBreakerModel():
    return load_model("circuit-breaker")()


def test_a_model_files_headings_and_lists_are_rendered(tmp_path):
    (tmp_path / "m.py").write_text(
        '"""A counter.\n\nBounds\n======\n\n1. ``x`` stays below ``n``;\n2. it *stops*.\n"""\n\n'
        "from kripke import Int, TransitionSystem, action\n\n\n"
        "class M(TransitionSystem):\n"
        "    variables = {'x': Int(0, 2)}\n\n"
        "    def init(self):\n        yield self.State(x=0)\n\n"
        "    @action\n    def inc(self, s):\n        \"\"\"x goes up by ``1``.\"\"\"\n"
        "        if s.x < 2:\n            return s.set(x=s.x + 1)\n\n"
        "    def terminal(self, s):\n        return s.x == 2\n")
    page = review_page(tmp_path, f"{tmp_path}/m.py:M")
    doc = doc_of(page)
    assert "<h3>Bounds</h3>" in doc and '<ol class="arabic simple">' in doc and "<em>stops</em>" in doc
    assert "``" not in page.split("<h2>State diagram</h2>")[0]  # the action's ``1`` too
    md = kripke_cli("review", f"{tmp_path}/m.py:M").output
    assert "### Bounds\n\n1. `x` stays below `n`;\n2. it *stops*." in md
    assert "| inc | x goes up by `1`. | 2 | 2 |" in md


def test_each_property_has_its_description_beside_its_verdict_and_a_link(tmp_path):
    page = review_page(tmp_path, *EAGER)
    assert ('<tr><td><code>tc_consistent</code></td><td>invariant</td><td class="verdict bad">'
            '<a href="#counterexample-tc_consistent">violated: counterexample, 5 steps</a></td>'
            f"<td>{TC_CONSISTENT}</td></tr>") in page
    assert ('<tr><td><code>commit_possible</code></td><td>sometimes</td>'
            '<td class="verdict ok">holds</td>'
            "<td>Some transaction is committed at every participant.</td></tr>") in page
    assert ('<td class="verdict unknown">not checked by default</td><td>An RM commits only '
            "after the Commit message is sent.</td>") in page
    # every violated property is linked to its counterexample, and every link lands
    links = re.findall(r'<a href="#(counterexample-[\w-]+)">violated', page)
    assert links == ["counterexample-tc_consistent", "counterexample-atomic_commit",
                     "counterexample-refines_tcommit"]
    for anchor in links:
        cex = section(page, anchor)
        assert '<div class="violated">' in cex and "<th>changed fields</th>" in cex
        assert "kripke replay trace.json" in cex
        assert "&quot;format&quot;: &quot;kripke-trace&quot;" in cex  # the trace JSON, to save
    cex = section(page, "counterexample-tc_consistent")
    assert f"Violated: <b>tc_consistent</b> (invariant): {TC_CONSISTENT}" in cex
    assert "<h3>tc_consistent violated (invariant) after 5 steps</h3>" in cex


def test_a_sometimes_property_and_a_deadlock_are_linked_to_why(tmp_path):
    page = review_page(tmp_path, "circuit-breaker-article", "-p", "callers=1", "-p",
                       "success_threshold=2")
    assert ('<a href="#counterexample-recovers_to_closed">violated: why</a></td><td>The breaker '
            "can close again after it opened, once the service is healthy.</td>") in page
    assert "no reachable state satisfies recovers_to_closed" in section(
        page, "counterexample-recovers_to_closed")
    page = review_page(tmp_path, "toy-stuck-counter")
    assert ('<tr><td><code>deadlock</code></td><td>deadlock</td><td class="verdict bad">'
            '<a href="#counterexample-deadlock">violated: counterexample, 5 steps</a></td>'
            "<td>A reachable state in which no action is enabled") in page
    assert "<p class=\"what\">Deadlock: A reachable state" in section(page, "counterexample-deadlock")


def test_markdown_links_each_violation_to_its_counterexample():
    md = kripke_cli("review", *EAGER).output
    assert (f"| tc_consistent | invariant | [violated](#counterexample-tc_consistent) | "
            f"{TC_CONSISTENT} |") in md
    assert '<a id="counterexample-tc_consistent"></a>\n\n### tc_consistent (invariant)' in md
    assert "two-phase-eager (rms=2): tc_consistent violated (invariant) after 5 steps" in md


def test_the_diagram_is_scaled_to_the_page_and_says_what_it_draws(tmp_path):
    page = review_page(tmp_path, "circuit-breaker", "--field", "circuit")
    figure = re.search(r'<figure class="diagram".*?</figure>', page, re.S).group(0)
    assert ("Drew 3 nodes and 4 edges: the 172 reachable states merged by projection onto "
            "circuit. kripke check counts 115 distinct states") in figure
    root = re.search(r"<svg[^>]*>", figure).group(0)
    assert "pt\"" not in root and 'width="781"' in root and "viewBox=" in root
    assert "figure.diagram svg { display: block; margin: 0 auto; max-width: 100%; height: auto" \
        in page
    assert figure.count('class="node"') == 3
    assert "merged on circuit in the diagram" in page


def test_the_review_honours_checks_bounds_and_symmetry(tmp_path):
    page = review_page(tmp_path, "circuit-breaker", "--max-states", "50")
    assert "INCOMPLETE: 50 distinct states" in page
    assert "incomplete: the bound max_states=50 was reached" in page
    assert ('<td class="verdict unknown">not violated in the states explored (the search is '
            "incomplete)</td>") in page
    assert "Not drawn: circuit-breaker has more than 50 reachable states (--max-states 50)" in page
    page = review_page(tmp_path, "circuit-breaker", "--symmetry", "--field", "circuit")
    assert "OK: 115 distinct states" in page and "(bfs, symmetry)" in page
    assert "Drew 3 nodes and 4 edges: the 115 reachable orbits merged by projection onto " \
        "circuit. kripke check --symmetry counts the same 115." in page
    assert "kripke check circuit-breaker --symmetry --continue" in page
    page = review_page(tmp_path, "tcommit", "--max-depth", "2")
    assert "INCOMPLETE: 7 distinct states" in page  # the initial state and its 6 successors
    assert "Drew 7 nodes and 6 edges: the 7 reachable states of the first 2 levels" in page
    page = review_page(tmp_path, *EAGER, "--property", "commit_possible")
    assert "OK: 76 distinct states" in page and 'href="#counterexample' not in page


def test_review_rejects_an_unknown_field():
    r = kripke_cli("review", "circuit-breaker", "--field", "nope")
    assert r.exit_code == 2
    assert "unknown variable of circuit-breaker 'nope'; available: calls, circuit," in r.output


def test_property_verdicts_cover_every_property_once():
    model = load_model("two-phase-eager")(rms=2)
    rows = property_verdicts(model, check(model, symmetry=False, keep_going=True))
    assert [name for name, *_ in rows] == [p.name for p in type(model).properties]
    assert {name: verdict for name, _, verdict, *_ in rows if verdict != "not checked by "
            "default"} == {"type_ok": "holds", "tc_consistent": "violated",
                           "atomic_commit": "violated", "refines_tcommit": "violated",
                           "commit_possible": "holds", "abort_possible": "holds"}


def test_an_html_review_without_violations_has_no_counterexamples():
    model = load_model("tcommit")()
    page = review_html(model, check(model, symmetry=False, keep_going=True))
    assert "<h2>Counterexamples</h2>" not in page and "<section" not in page


# -- the counterexample report ---------------------------------------------------------------
def eager_trace():
    r = check(load_model("two-phase-eager")(rms=2), properties=["tc_consistent"],
              symmetry=False)
    return r.violation.trace


def test_the_report_shows_the_description_and_the_whole_violating_state():
    page = html_report(eager_trace())
    box = re.search(r'<div class="violated">(.*?)</div>', page, re.S).group(1)
    assert f"Violated: <b>tc_consistent</b> (invariant): {TC_CONSISTENT}" in box
    assert "The state after step 5 (rm_rcv_commit_msg(rm=0)), whole" in box
    rows = re.findall(r'<tr( class="changed")?><td class="name">(\w+)</td>'
                      r'<td class="value">([^<]*)</td>', box)
    assert rows == [(' class="changed"', "rm_state", "[committed, aborted]"),
                    ("", "tm_state", "committed"), ("", "tm_prepared", "[0]"),
                    ("", "msgs", "[Prepared(rm=0), Commit()]")]
    # the box comes before the steps: what is wrong before how it came about
    assert page.index('<div class="violated">') < page.index("<th>changed fields</th>")


def test_the_report_of_an_exception_shows_the_state_it_was_raised_in(tmp_path):
    r = check(load_model("toy-raises")(), symmetry=False)
    page = html_report(r.violation.trace)
    box = re.search(r'<div class="violated">(.*?)</div>', page, re.S).group(1)
    assert "The model raised an exception: The model, or a property evaluated on its states, " \
        "raised an exception." in box
    assert "The state of step 3, in which step() raised ZeroDivisionError" in box
    assert '<td class="name">x</td><td class="value">3</td>' in box


def test_kripke_render_writes_the_description_into_the_report(tmp_path):
    kripke_cli("check", *EAGER, "--property", "tc_consistent", "--no-symmetry", "--out",
               tmp_path / "out")
    r = kripke_cli("render", tmp_path / "out" / "trace.json", "-o", tmp_path / "report.html")
    assert r.exit_code == 0
    assert TC_CONSISTENT in (tmp_path / "report.html").read_text()


@pytest.mark.parametrize("name", ["circuit-breaker", "two-phase", "raft", "paxos", "lww-store"])
def test_every_model_docstring_renders_without_raw_literals(name):
    from kripke.traces.review import _module_doc
    doc = _module_doc(load_model(name))
    assert "``" in doc  # written in reST
    assert "``" not in to_html(doc) and "``" not in to_markdown(doc)

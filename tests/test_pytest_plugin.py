"""The pytest plugin (kripke/pytest_plugin.py), run on small test files with pytester: ids,
-k, one search per model, counterexamples in the failure and on disk, incomplete searches,
bad input, the terminal summary."""

import re
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from kripke.checkers.explicit import check
from kripke.pytest_plugin import KripkeFailure, check_model
from kripke.models.system import load_model
from kripke.traces.render import format_trace

pytest_plugins = ["pytester"]

#: the liveness toys (tests/fixtures/liveness_toys.py), copied beside pytester's test files
ROOT_TOYS = Path(__file__).parent / "fixtures" / "liveness_toys.py"


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch):
    """Short summary lines ("FAILED id - message") are cut to the terminal's width."""
    monkeypatch.setenv("COLUMNS", "200")


def run(pytester, *args):
    """pytest in this process on pytester's files (Hypothesis's plugin off: it would import
    Hypothesis again, with assertion rewriting, on every run)."""
    return pytester.runpytest("-p", "no:hypothesispytest", *args)


def checks(pytester, *lines, name="test_protocols"):
    """A test module declaring ``kripke_checks = [...]`` with these check_model(...) lines."""
    body = "".join(f"    {line},\n" for line in lines)
    return pytester.makepyfile(**{name: "from kripke.pytest_plugin import check_model\n\n"
                                        f"kripke_checks = [\n{body}]\n"})


def summary(result):
    """The lines of the terminal summary section: one per search."""
    out = result.stdout.lines
    start = next(i for i, line in enumerate(out) if "kripke: states explored" in line) + 1
    end = next((i for i, line in enumerate(out[start:], start) if line.startswith("=")), None)
    return out[start:end]


def test_the_plugin_is_registered_by_its_entry_point():
    found = [e for e in entry_points(group="pytest11") if e.name == "kripke"]
    assert [e.value for e in found] == ["kripke.pytest_plugin"]


def test_one_item_per_property_with_readable_ids(pytester):
    checks(pytester, 'check_model("two-phase", rms=3)',
           'check_model("toy-counter", n=2, max_depth=5, properties=["reaches_n"])')
    result = run(pytester, "--collect-only", "-q")
    assert result.stdout.lines[:9] == [
        "test_protocols.py::two-phase(rms=3)::type_ok",
        "test_protocols.py::two-phase(rms=3)::tc_consistent",
        "test_protocols.py::two-phase(rms=3)::atomic_commit",
        "test_protocols.py::two-phase(rms=3)::refines_tcommit",
        "test_protocols.py::two-phase(rms=3)::commit_possible",
        "test_protocols.py::two-phase(rms=3)::abort_possible",
        "test_protocols.py::two-phase(rms=3)::deadlock",
        "test_protocols.py::toy-counter(n=2,max_depth=5)::reaches_n",
        "test_protocols.py::toy-counter(n=2,max_depth=5)::deadlock",
    ]
    run(pytester).assert_outcomes(passed=9)


def test_all_items_of_a_model_cost_one_search(pytester):
    checks(pytester, 'check_model("two-phase", rms=3)', 'check_model("tcommit", rms=2)')
    result = run(pytester)
    result.assert_outcomes(passed=13)
    lines = summary(result)
    assert len(lines) == 2
    assert re.match(r"two-phase\(rms=3\) +80 distinct +318 generated +depth +11 +[\d.]+ s +ok$",
                    lines[0])
    assert lines[1].startswith("tcommit(rms=2) ") and lines[1].endswith(" ok")


def test_minus_k_selects_properties_and_models(pytester):
    checks(pytester, 'check_model("two-phase", rms=3)', 'check_model("tcommit")')
    result = run(pytester, "-v", "-k", "tc_consistent")
    result.assert_outcomes(passed=2, deselected=11)
    result.stdout.fnmatch_lines(["*::two-phase(rms=3)::tc_consistent PASSED*",
                                 "*::tcommit::tc_consistent PASSED*"])
    # -k matches substrings of the names: "tcommit" is also in two-phase's refines_tcommit.
    run(pytester, "-k", "tcommit and not possible").assert_outcomes(passed=5, deselected=8)
    run(pytester, "-m", "kripke").assert_outcomes(passed=13)


def test_marks_apply_to_every_item_of_a_check(pytester):
    checks(pytester, 'check_model("tcommit", marks=[__import__("pytest").mark.slow])',
           'check_model("toy-counter")')
    pytester.makeini("[pytest]\nmarkers = slow: slow\n")
    run(pytester, "-m", "not slow").assert_outcomes(passed=4, deselected=6)


class Recorder:
    """A plugin keeping the exceptions the items raised."""

    def __init__(self):
        self.raised = {}

    def pytest_exception_interact(self, node, call, report):
        self.raised[node.name] = call.excinfo.value


def test_a_violation_fails_with_the_counterexample_in_its_notes(pytester):
    checks(pytester, 'check_model("toy-counter", limit=2)')
    rec = Recorder()
    reports = pytester.inline_run("-p", "no:hypothesispytest", "--kripke-out", "out",
                                  plugins=[rec])
    passed, skipped, failed = reports.listoutcomes()
    assert [r.head_line for r in failed] == ["toy-counter(limit=2)::below_limit"]
    assert len(passed) == 3 and not skipped  # type_ok, reaches_n, deadlock

    e = rec.raised["below_limit"]
    assert isinstance(e, KripkeFailure) and isinstance(e, AssertionError)
    assert str(e) == "below_limit is violated after 2 steps"
    folder = "out/toy-counter_limit=2/below_limit"  # shown relative to where pytest started
    model = load_model("toy-counter")(limit=2)
    trace = check(model).violation.trace
    assert e.__notes__ == ["\n".join([
        format_trace(trace, model.set_fields(), f"{folder}/trace.json"),
        f"drawing: {folder}/counterexample.svg"])]
    assert e.__notes__[0].splitlines()[:4] == [
        "toy-counter (n=5, limit=2): below_limit violated (invariant) after 2 steps",
        "   0  init   x = 0",
        "   1  inc()  x: 0 -> 1",
        "   2  inc()  x: 1 -> 2",
    ]
    folder = pytester.path / folder
    assert (folder / "trace.json").is_file()
    assert (folder / "counterexample.svg").read_text().lstrip().startswith("<?xml")
    # The report shows the message and the counterexample, no traceback of the plugin.
    text = failed[0].longreprtext
    assert text.startswith("below_limit is violated after 2 steps\n\ntoy-counter (n=5, limit=2)")
    assert "pytest_plugin.py" not in text and "replay: kripke replay" in text


def test_the_failure_as_printed(pytester):
    checks(pytester, 'check_model("two-phase-eager", rms=3, properties=["tc_consistent"])')
    result = run(pytester, "--kripke-out", "out")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines([
        "*_ two-phase-eager(rms=3)::tc_consistent _*",
        "tc_consistent is violated after 5 steps",
        "",
        "two-phase-eager (rms=3): tc_consistent violated (invariant) after 5 steps",
        "   0  init                      rm_state = [[]working, working, working[]]",
        "*",
        "   3  tm_commit()               tm_state: init -> committed",
        "*",
        "   5  rm_rcv_commit_msg(rm=0)   rm_state[[]0[]]: prepared -> committed",
        "trace: out/two-phase-eager_rms=3/tc_consistent/trace.json",
        "replay: kripke replay out/two-phase-eager_rms=3/tc_consistent/trace.json",
        "drawing: out/two-phase-eager_rms=3/tc_consistent/counterexample.svg",
        "FAILED test_protocols.py::two-phase-eager(rms=3)::tc_consistent - tc_consistent "
        "is violated after 5 steps",
    ])


def test_counterexamples_go_to_pytests_tmp_path_by_default(pytester):
    checks(pytester, 'check_model("toy-stuck-counter", n=2)')
    result = run(pytester)
    result.assert_outcomes(failed=1, passed=3)
    found = re.search(r"^trace: (.*)$", result.stdout.str(), re.M).group(1)
    assert found.endswith("/kripke/toy-stuck-counter_n=2/deadlock/trace.json")
    assert found.startswith(str(pytester.path.parent / "basetemp"))


def test_a_message_passing_model_gets_its_sequence_chart(pytester):
    checks(pytester, 'check_model("raft-article", servers=2, properties=["election_safety"], '
                     'deadlock=False)')
    result = run(pytester, "--kripke-out", "out")
    result.assert_outcomes(failed=1)
    assert {p.name for p in (pytester.path / "out" / "raft-article_servers=2,deadlock=False"
                             / "election_safety").iterdir()} == {
        "trace.json", "counterexample.dot", "counterexample.svg", "msc.svg"}
    result.stdout.fnmatch_lines(["drawing: */election_safety/msc.svg"])


def test_expected_violations_pass_only_when_found(pytester):
    checks(pytester, 'check_model("toy-counter", limit=2, expect={"below_limit": "violated"})',
           'check_model("toy-counter", expect={"below_limit": "violated"})',
           'check_model("commit-2pc", participants=1, txs=1, '
           'expect={"participant_blocked": "violated"}, properties=[])')
    result = run(pytester, "-v", "-rf")
    result.assert_outcomes(passed=9, failed=1)
    result.stdout.fnmatch_lines([
        "*::toy-counter(limit=2)::below_limit PASSED*",
        "*::toy-counter::below_limit FAILED*",
        "*::commit-2pc(participants=1,txs=1)::participant_blocked PASSED*",
        "expected below_limit to be violated, but it holds: the search was complete "
        "(6 distinct states)",
    ])
    assert summary(result)[0].endswith("violated: below_limit (expected)")


def test_every_violation_is_found_in_one_search(pytester):
    """The search goes on after a violation (kripke check --continue): three violated
    properties, one search, each failure with its own shortest counterexample."""
    checks(pytester, 'check_model("two-phase-eager", rms=3, symmetry=False)')
    result = run(pytester, "-rf")
    result.assert_outcomes(failed=3, passed=4)
    result.stdout.fnmatch_lines([
        "FAILED *::tc_consistent - tc_consistent is violated after 5 steps",
        "FAILED *::atomic_commit - atomic_commit is violated after 5 steps",
        "FAILED *::refines_tcommit - step 4 rm_rcv_commit_msg(rm=0) is not allowed by *",
    ])
    lines = summary(result)
    assert len(lines) == 1
    assert re.match(r"two-phase-eager\(rms=3,symmetry=False\) +498 distinct +1,956 generated "
                    r"+depth +11 +[\d.]+ s  violated: refines_tcommit, tc_consistent, "
                    r"atomic_commit$", lines[0])


def test_a_sometimes_violation_ends_a_complete_search(pytester):
    """No reachable state satisfies reaches_n... because the bound forbids it; everything else
    is settled by the same (complete) search."""
    pytester.makepyfile(mymodels="""
        from kripke.models.toys import Counter, reaches_n
        from kripke.specs.properties import sometimes, type_ok

        @sometimes
        def reaches_ten(model, s):
            return s.x == 10

        class Short(Counter):
            properties = (type_ok, reaches_ten)
    """)
    checks(pytester, 'check_model("mymodels.py:Short", n=3)')
    result = run(pytester, "-rf")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "no reachable state satisfies reaches_ten",
        "the search was complete: none of its 4 distinct states satisfies reaches_ten",
        "FAILED *::Short(n=3)::reaches_ten - no reachable state satisfies reaches_ten",
    ])
    assert len(summary(result)) == 1


def test_an_incomplete_search_skips_or_fails_when_strict(pytester):
    checks(pytester, 'check_model("toy-grid", max_states=5)',
           'check_model("toy-counter", limit=2, strategy="simulate", max_states=50, '
           'properties=["type_ok"])')
    result = run(pytester, "-rs")
    result.assert_outcomes(skipped=4)
    result.stdout.fnmatch_lines([
        "SKIPPED [[]1[]] test_protocols.py:4: incomplete (max_states=5): no violation of "
        "type_ok in 5 distinct states, but the search did not finish",
        "SKIPPED [[]1[]] test_protocols.py:5: incomplete (simulation*50 states*): "
        "no violation of type_ok in * distinct states, but the search did not finish",
    ])
    assert summary(result)[0].endswith("incomplete: max_states=5")
    strict = run(pytester, "--kripke-strict", "-rf")
    strict.assert_outcomes(failed=4)
    strict.stdout.fnmatch_lines(["FAILED *::type_ok - incomplete (max_states=5): * "
                                 "(--kripke-strict)"])


def test_an_expected_violation_not_found_within_the_bound_is_incomplete(pytester):
    checks(pytester, 'check_model("toy-counter", n=9, limit=8, max_depth=4, '
                     'expect={"below_limit": "violated"})')
    result = run(pytester, "-rs")
    result.assert_outcomes(skipped=4)
    result.stdout.fnmatch_lines(["*incomplete (max_depth=4): expected a violation of "
                                 "below_limit, none in 4 distinct states before the search "
                                 "stopped"])


def test_bad_input_fails_its_items_with_one_line_and_the_rest_runs(pytester):
    checks(pytester, 'check_model("two-phase", rmz=3)', 'check_model("nosuch", x=1)',
           'check_model("tcommit", properties=["nope", "tc_consistent"])',
           'check_model("two-phase", rms=99, properties=["tc_consistent"], deadlock=False)',
           'check_model("toy-counter")')
    result = run(pytester, "-rf")
    result.assert_outcomes(failed=7 + 1 + 1 + 1, passed=2 + 4)
    result.stdout.fnmatch_lines([
        "*_ two-phase(rmz=3)::type_ok _*",
        "two-phase(rmz=3): unknown parameter of two-phase 'rmz'; available: rms",
        "*_ nosuch(x=1) _*",
        "nosuch(x=1): unknown model 'nosuch'; available: *two-phase*",
        "*_ tcommit::nope _*",
        "tcommit: unknown property of tcommit 'nope'; available: abort_possible, *",
        "*_ two-phase(rms=99,deadlock=False)::tc_consistent _*",
        "two-phase(rms=99,deadlock=False): parameter rms: must be <= 64, got 99",
    ])
    assert "Traceback" not in result.stdout.str() and "error" not in result.parseoutcomes()
    assert re.match(r"two-phase\(rmz=3\) +error: unknown parameter", summary(result)[0])


def test_a_model_that_raises_fails_every_item_it_leaves_unknown(pytester):
    checks(pytester, 'check_model("toy-raises", crash_at=1)')
    result = run(pytester)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "type_ok is unknown: the model raised, and the states past that were not explored: "
        "step 2 step() raised ZeroDivisionError: integer division or modulo by zero",
        "   2  step()  raised ZeroDivisionError: integer division or modulo by zero",
    ])
    assert summary(result)[0].endswith("violated: the model raised")


def test_a_model_class_and_its_own_bugs(pytester):
    """A class can be passed as it is; an exception outside the search (here in init) fails
    every item with its traceback."""
    pytester.makepyfile(test_classes="""
        from kripke.pytest_plugin import check_model
        from kripke.models.system import TransitionSystem
        from kripke.models.toys import Counter

        class Broken(TransitionSystem):
            def init(self):
                raise ValueError("no initial state today")

        kripke_checks = [check_model(Counter, n=1), check_model(Broken)]
    """)
    result = run(pytester)
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(["*ValueError: no initial state today"])


def test_declaration_mistakes_are_caught_where_they_are_made():
    with pytest.raises(ValueError, match="strategy must be one of bfs, dfs, simulate"):
        check_model("two-phase", strategy="bfs2")
    with pytest.raises(ValueError, match=r"expect\['tc_consistent'\] must be 'holds' or "):
        check_model("two-phase", expect={"tc_consistent": "fails"})
    # A model parameter named like an option goes through params=.
    c = check_model("two-phase", params={"strategy": "x"}, rms=2)
    assert (c.params, c.strategy) == ({"strategy": "x", "rms": 2}, "bfs")


def test_a_type_violation_fails_the_items_it_leaves_unknown(pytester):
    """Declared types are enforced whatever is selected (issue 9): RoundTrip writes a float
    into an Int field, which leaves its deadlock item unknown rather than passed."""
    from tests.conftest import ROOT
    checks(pytester, f'check_model("{ROOT}/tests/fixtures/verdicts.py:RoundTrip")')
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["deadlock is unknown: the model left its declared types, and the "
                                 "states past that were not explored: step 1 round_trip() sets "
                                 "x to 0.0 (float)*"])
    assert summary(result)[0].endswith("violated: a declared type")


# -- issue 10, item 4: pytest's own selection, ids, one search ------------------------------------
def test_pytests_own_selection_finds_the_items(pytester):
    """No brackets in the ids: --lf, --ff, --sw and a node id copied from the output select the
    item (pytest reads [...] in a node id as a test's parameters, which matched nothing)."""
    checks(pytester, 'check_model("toy-counter", limit=2)', 'check_model("tcommit")')
    first = run(pytester, "-rf")
    first.assert_outcomes(failed=1, passed=9)
    copied = next(line.split(" ")[1] for line in first.stdout.lines if line.startswith("FAILED"))
    assert copied == "test_protocols.py::toy-counter(limit=2)::below_limit"

    again = run(pytester, "--lf", "-v")
    again.assert_outcomes(failed=1, deselected=9)
    again.stdout.fnmatch_lines(["*::toy-counter(limit=2)::below_limit FAILED*"])
    first_first = run(pytester, "--ff", "-v")
    first_first.assert_outcomes(failed=1, passed=9)
    ran = [line for line in first_first.stdout.lines if " PASSED" in line or " FAILED" in line]
    assert ran[0].startswith(copied + " FAILED")
    run(pytester, copied).assert_outcomes(failed=1)
    run(pytester, "test_protocols.py::tcommit::deadlock").assert_outcomes(passed=1)
    run(pytester, "test_protocols.py::toy-counter(limit=2)").assert_outcomes(failed=1, passed=3)

    stepwise = run(pytester, "--sw", "-v")  # type_ok passes, below_limit fails: stop...
    stepwise.assert_outcomes(passed=1, failed=1)
    stepwise = run(pytester, "--sw", "-v")  # ...and start from it next time
    stepwise.assert_outcomes(failed=1, deselected=1)
    assert [line for line in stepwise.stdout.lines if " FAILED" in line][0].startswith(copied)
    assert not any(" PASSED" in line for line in stepwise.stdout.lines)


def test_checks_that_differ_in_expect_or_properties_get_different_ids(pytester):
    checks(pytester,
           'check_model("two-phase-eager", rms=3, properties=["tc_consistent"])',
           'check_model("two-phase-eager", rms=3, properties=["atomic_commit"])',
           'check_model("toy-counter", limit=2, expect={"below_limit": "violated"})',
           'check_model("toy-counter", limit=2)',
           'check_model("tcommit")', 'check_model("tcommit")')
    result = run(pytester, "--collect-only", "-q")
    ids = [line for line in result.stdout.lines if line.startswith("test_protocols.py::")]
    assert len(ids) == len(set(ids))
    assert ids[:2] == [
        "test_protocols.py::two-phase-eager(rms=3,properties=tc_consistent)::tc_consistent",
        "test_protocols.py::two-phase-eager(rms=3,properties=tc_consistent)::deadlock"]
    assert "test_protocols.py::two-phase-eager(rms=3,properties=atomic_commit)::deadlock" in ids
    assert "test_protocols.py::toy-counter(limit=2,expect=below_limit)::below_limit" in ids
    assert "test_protocols.py::toy-counter(limit=2)::below_limit" in ids
    assert "test_protocols.py::tcommit#1::deadlock" in ids
    assert "test_protocols.py::tcommit#2::deadlock" in ids


def test_an_explicit_id_names_the_items_the_files_and_the_summary(pytester):
    checks(pytester, 'check_model("toy-counter", limit=2, id="small counter")',
           'check_model("toy-counter", limit=2, id="same counter")')
    result = run(pytester, "--kripke-out", "out", "-rf")
    result.assert_outcomes(failed=2, passed=6)
    result.stdout.fnmatch_lines(["FAILED test_protocols.py::small counter::below_limit - *"])
    assert [line.split("  ")[0] for line in summary(result)] == ["small counter",
                                                                 "same counter"]
    assert (pytester.path / "out" / "small_counter" / "below_limit" / "trace.json").is_file()
    assert (pytester.path / "out" / "same_counter" / "below_limit" / "trace.json").is_file()


def test_bad_bounds_and_ids_are_caught_where_they_are_declared():
    for bad in ({"max_states": 0}, {"max_depth": -1}, {"max_states": 1.5},
                {"max_depth": True}):
        with pytest.raises(ValueError, match=r"must be a whole number >= 1 \(as --max-"):
            check_model("two-phase", **bad)
    for bad in ("two-phase[3]", "a::b", "", " "):
        with pytest.raises(ValueError, match="id must be a non-empty string without"):
            check_model("two-phase", id=bad)


def test_a_check_without_items_says_so_at_collection(pytester):
    checks(pytester, 'check_model("two-phase", properties=[], deadlock=False)',
           'check_model("toy-counter")')
    result = run(pytester, "-W", "always")
    result.assert_outcomes(passed=4, warnings=1)
    result.stdout.fnmatch_lines(["*test_protocols.py:4: PytestCollectionWarning: "
                                 "two-phase(deadlock=False): this check yields no test item*"])


def test_a_model_finite_only_within_its_types_costs_one_search(pytester):
    """Overflow counts without end past its declared Int(0, 3): types are enforced in every
    search, and the search goes on past the step out of them without following it, so the
    check ends (in one search; the plugin once searched such a model for ever)."""
    from tests.conftest import ROOT
    checks(pytester, f'check_model("{ROOT}/tests/fixtures/long_runs.py:Overflow")')
    result = run(pytester, "-rf")
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines([
        "FAILED *::type_ok - step 4 inc() sets x to 4 (int), outside its declared type 0..3",
        "FAILED *::not_two - not_two is violated after 2 steps",
        "FAILED *::deadlock - deadlock is unknown: the model left its declared types, *",
    ])
    lines = summary(result)
    assert len(lines) == 1 and lines[0].endswith("violated: not_two, a declared type")


def test_a_property_that_raises_fails_its_own_item(pytester):
    from tests.conftest import ROOT
    checks(pytester, f'check_model("{ROOT}/tests/fixtures/models.py:PropertyRaises")')
    result = run(pytester, "-rf")
    result.stdout.fnmatch_lines(["FAILED *::divides - evaluating divides on the state after 2 "
                                 "steps raised ZeroDivisionError*"])


def test_ctrl_c_stops_the_session(pytester):
    pytester.makepyfile(mymodels="""
        from kripke.models.toys import Counter
        from kripke.specs.properties import invariant

        @invariant
        def pressed(model, s):
            if s.x == 3:
                raise KeyboardInterrupt
            return True

        class Pressed(Counter):
            properties = (pressed,)
    """)
    checks(pytester, 'check_model("mymodels.py:Pressed")', 'check_model("tcommit")')
    # (no_reraise_ctrlc: the inner session's interrupt must not stop this one)
    result = pytester.runpytest("-p", "no:hypothesispytest", no_reraise_ctrlc=True)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*KeyboardInterrupt*"])
    assert "passed" not in result.stdout.str()


def test_temporal_properties_are_items_and_random_walks_leave_them_unchecked(pytester):
    """Issue 11, item 9: a temporal property passes or fails like any other under bfs, and
    ``strategy="simulate"`` skips it as not checked (never passes it)."""
    toys = pytester.path / "toys.py"
    toys.write_text((ROOT_TOYS).read_text())
    checks(pytester, 'check_model("toys.py:Light")',
           'check_model("toys.py:Light", strength="strong")',
           'check_model("toys.py:Grant", fairness=False)',
           'check_model("toys.py:Grant", strategy="simulate", max_states=50)')
    result = run(pytester, "-rfs")
    result.assert_outcomes(passed=4, failed=2, skipped=2)  # and a deadlock item each
    result.stdout.fnmatch_lines([
        "FAILED *Light::passes - passes (<>P) is violated: after 0 steps a fair behaviour "
        "repeats steps 1-2 for ever (back to step 0)",
        "FAILED *Grant(fairness=False)::served - served (P ~> Q) is violated: after 1 step a "
        "behaviour (fairness not assumed) stutters for ever at step 1",
        "SKIPPED * not checked by strategy=simulate: served is leads_to: a random walk cannot "
        "decide it; check it with --strategy bfs",
    ])
    strict = run(pytester, "--kripke-strict", "-rf")
    strict.stdout.fnmatch_lines(["not checked by strategy=simulate: served is leads_to: a "
                                 "random walk cannot decide it; check it with --strategy bfs "
                                 "(--kripke-strict)"])

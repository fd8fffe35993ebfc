"""kripke as a pytest plugin: a model check is a line in a test module, each property a test item.

Installed with kripke (the ``pytest11`` entry point ``kripke``), so nothing needs enabling::

    from kripke.pytest_plugin import check_model

    kripke_checks = [
        check_model("two-phase", rms=3),
        check_model("paxos-ignore-1b", expect={"agreement": "violated"}),
    ]

pytest collects ``kripke_checks`` (a module-level list, or one check) into one item per checked
property, with ids like ``test_protocols.py::two-phase(rms=3)::tc_consistent``: the check's id is
the model's name with the parameters given (and any option that is not the default) in
parentheses, so ``-k tc_consistent`` or ``-k raft-article`` selects items, ``-m kripke`` all of
them, and pytest's own selection works on them: ``--lf``, ``--ff``, ``--sw`` and a node id copied
from the output (quoted for the shell: ``pytest 'test_protocols.py::two-phase(rms=3)::deadlock'``).
When two checks of a module would get the same id, their ``properties`` and expected violations
are added to it (``two-phase-eager(rms=3,properties=tc_consistent)``), and if they are still the
same, a number (``#2``). ``id=`` replaces the generated id; it also names the check's folder
under ``--kripke-out`` and its line in the summary. Unless ``deadlock=False``, a ``deadlock`` item
stands for the deadlock check every search makes. A check that yields no item (``properties=[]``,
no ``expect`` and ``deadlock=False``) is reported by a warning at collection.

Verdicts. An item passes when its property holds after a *complete* search, or when it is
violated and ``expect`` says so; a violation that is not expected fails the item with an
``AssertionError`` whose notes carry the counterexample as ``kripke check`` prints it, written
(``trace.json``, ``counterexample.svg``, and for message-passing models ``msc.svg``) under
``--kripke-out DIR/<check id>/<property>/`` (default: pytest's temporary directory; the folder
of ``two-phase(rms=3)`` is ``two-phase_rms=3``, which a shell takes unquoted). An incomplete
search (a ``max_states`` / ``max_depth`` bound, or ``strategy="simulate"``, which never proves
anything) skips the item with the reason, or fails it under ``--kripke-strict``: never a pass. A
property that raises fails its item with the trace to the state it raised on. Bad input (an
unknown model, parameter or property: a ``KripkeError``; a bound below 1) fails the check's
items with its one-line message, and the rest of the module still runs.

Searches. The items of a check share one search, run when the first item that needs it runs and
kept for the session: it goes on after a violation (``kripke check --continue``), so a model
costs one search whatever the number of items and of violated properties, and each violation
comes with its own shortest trace. Where the model raised or left its declared types, the states
past that point are not explored: the items not found violated are then unknown and fail, with
that counterexample. (Types are enforced in every search, so a model whose state space is finite
only within its declared types needs no ``type_ok`` item to end.) ``strategy="simulate"`` stops at
its first violation: its other properties are searched again without it. The terminal summary
lists every search: states, time and verdict. Ctrl-C stops the search and the session.
"""

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from kripke.checks import COLLECTED_NAME, DEADLOCK, HOLDS, VIOLATED, Check, check_model
from kripke.errors import KripkeError, UnknownNameError

__all__ = ["check_model", "Check", "KripkeFailure"]


class KripkeFailure(AssertionError):
    """A property found violated (or not violated, against ``expect``); its notes hold the
    counterexample."""

    def __init__(self, message, notes=()):
        super().__init__(message)
        for note in notes:
            if hasattr(self, "add_note"):  # Python 3.11
                self.add_note(note)
            else:
                self.__notes__ = [*getattr(self, "__notes__", []), note]


# -- pytest hooks ----------------------------------------------------------------------------
_STATE = pytest.StashKey()


def pytest_addoption(parser):
    group = parser.getgroup("kripke", "kripke model checks (kripke_checks = [check_model(...)])")
    group.addoption("--kripke-out", metavar="DIR",
                    help="write counterexamples (trace.json, counterexample.svg) under "
                         "DIR/<check id>/<property>/ (default: pytest's temporary directory)")
    group.addoption("--kripke-strict", action="store_true",
                    help="fail, rather than skip, a check whose search is incomplete (a bound "
                         "was reached, or strategy='simulate')")


def pytest_configure(config):
    config.addinivalue_line("markers", "kripke: a model check collected from kripke_checks")
    config.stash[_STATE] = _Session(config)


def pytest_pycollect_makeitem(collector, name, obj):
    if name != COLLECTED_NAME or not isinstance(collector, pytest.Module):
        return None
    checks = [obj] if isinstance(obj, Check) else list(obj)
    for c in checks:
        if not isinstance(c, Check):
            raise TypeError(f"{COLLECTED_NAME} holds {c!r}: declare each check with "
                            "check_model(...)")
    session = collector.config.stash[_STATE]
    return [session.collect(collector, c, i) for c, i in zip(checks, session.ids(checks))]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Report a skip (an incomplete search) at the check_model line, not in this plugin."""
    outcome = yield
    report = outcome.get_result()
    if isinstance(item, KripkeItem) and report.skipped and isinstance(report.longrepr, tuple):
        path, line, _ = item.reportinfo()
        report.longrepr = (str(path), None if line is None else line + 1, report.longrepr[2])


def pytest_terminal_summary(terminalreporter, config):
    searches = config.stash[_STATE].searches
    if not searches:
        return
    terminalreporter.write_sep("-", "kripke: states explored")
    width = max(len(s.label) for s in searches)
    for s in searches:
        r = s.result
        stats = ("" if r is None else
                 f"{r.distinct_states:>10,} distinct {r.states_generated:>11,} generated  "
                 f"depth {r.depth:>3}  {r.elapsed_s:>7.2f} s  ")
        terminalreporter.write_line(f"{s.label:<{width}}  {stats}{s.verdict}")


# -- collection ------------------------------------------------------------------------------
class KripkeCheck(pytest.Collector):
    """The items of one check: one per property."""

    def __init__(self, *, check, run, names, unknown, **kwargs):
        super().__init__(**kwargs)
        self.check, self.run, self.names, self.unknown = check, run, names, unknown

    def collect(self):
        expect = self.check.expect
        items = [KripkeItem.from_parent(self, name=n, check=self.check, run=self.run,
                                        expected=expect.get(n, HOLDS)) for n in self.names]
        items += [KripkeItem.from_parent(self, name=n, check=self.check, run=None, error=message)
                  for n, message in self.unknown.items()]
        if not items:  # said at the check_model line
            file, line = self.check.where
            warnings.warn_explicit(pytest.PytestCollectionWarning(
                f"{self.name}: this check yields no test item: it names no property "
                "(properties=[] or a model without any), expects none and has deadlock=False; "
                "name a property, or remove the check"), category=None,
                filename=str(file or self.path), lineno=line or 0)
        return items


class KripkeItem(pytest.Item):
    """One property of one check: passes, fails (with the counterexample) or skips
    (incomplete)."""

    def __init__(self, *, check, run, expected=HOLDS, error=None, **kwargs):
        super().__init__(**kwargs)
        self.check, self.run, self.expected, self.error = check, run, expected, error

    def runtest(self):
        if self.error is not None:
            pytest.fail(self.error, pytrace=False)
        name, run = self.name, self.run
        o = run.outcome(name)
        if o.kind == "raised":
            raise o.error.with_traceback(o.traceback)
        if o.kind == "error":
            pytest.fail(f"{run.id}: {o.message}", pytrace=False)
        if o.kind == "interrupted":
            raise KeyboardInterrupt  # Ctrl-C during the search: pytest stops the session
        r, v = o.result, o.violation
        if o.kind == "not checked":  # never passed: the strategy cannot decide the property
            reason = f"not checked by strategy={r.strategy}: {name} is {o.message}"
            if self.config.getoption("kripke_strict"):
                raise KripkeFailure(reason + " (--kripke-strict)")
            pytest.skip(reason)
        if o.kind == "incomplete":
            n = f"{r.distinct_states:,} distinct state{'s' * (r.distinct_states != 1)}"
            reason = (f"incomplete ({r.bound}): expected a violation of {name}, none in {n} "
                      "before the search stopped" if self.expected == VIOLATED else
                      f"incomplete ({r.bound}): no violation of {name} in {n}, but the search "
                      "did not finish")
            if self.config.getoption("kripke_strict"):
                raise KripkeFailure(reason + " (--kripke-strict)")
            pytest.skip(reason)
        if o.kind == "broken":
            why = "raised" if v.kind == "exception" else "left its declared types"
            raise KripkeFailure(f"{name} is unknown: the model {why}, and the states past that "
                                f"were not explored: {v.message}", o.notes)
        if o.kind == "exception":  # the property itself raised
            raise KripkeFailure(v.message, o.notes)
        if o.kind == HOLDS:
            if self.expected == VIOLATED:
                raise KripkeFailure(f"expected {name} to be violated, but it holds: the search "
                                    f"was complete ({r.distinct_states:,} distinct states)")
            return
        if self.expected != VIOLATED:
            raise KripkeFailure(v.message, o.notes)

    def repr_failure(self, excinfo, style=None):
        e = excinfo.value
        if isinstance(e, KripkeFailure):
            return "\n\n".join([str(e), *getattr(e, "__notes__", ())])
        # The model's own exception: its traceback from the model's code, without the frames of
        # pytest, pluggy and this plugin (pytest cuts a test function's the same way).
        inner = excinfo.traceback.filter(lambda entry: not _internal(entry.path))
        if len(inner):
            excinfo.traceback = inner
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        """The line of the ``check_model`` call, when it is in the test module."""
        file, line = self.check.where
        line = line - 1 if file is not None and Path(file) == self.path else None
        return self.path, line, self.nodeid.rpartition(".py::")[2]


# -- the searches ----------------------------------------------------------------------------
@dataclass
class _Outcome:
    kind: str  # holds | violated | incomplete | broken (the model raised or left its types) |
    #            exception (the property raised) | interrupted | error | raised | not checked
    result: object = None  # kripke.checkers.result.Result
    violation: object = None
    notes: tuple = ()  # the rendered counterexample, the files written
    message: str = ""  # a KripkeError's
    error: BaseException = None  # any other exception, re-raised by every item it settles
    traceback: object = None


@dataclass
class _Search:
    """One search, for the terminal summary."""

    label: str
    result: object
    verdict: str


class _Session:
    """Per pytest session: the model classes loaded, the runs by check, the searches made."""

    def __init__(self, config):
        self.config = config
        self.classes = {}
        self.runs = {}
        self.searches = []
        self._out = None

    def ids(self, checks):
        """The ids of a module's checks: generated (or given), and told apart when two are the
        same (by their properties and expected violations, then by a number)."""
        def generated(check, distinguish=False):
            try:
                name = _name(self.load(check.model))
            except KripkeError:
                name = _display(check.model)
            return _check_id(name, check, distinguish)

        ids = [c.id or generated(c) for c in checks]
        ids = [generated(c, True) if c.id is None and ids.count(i) > 1 else i
               for c, i in zip(checks, ids)]
        numbered, seen = [], {}
        for i in ids:
            seen[i] = seen.get(i, 0) + 1
            numbered.append(f"{i}#{seen[i]}" if ids.count(i) > 1 else i)
        return numbered

    def collect(self, module, check, run_id):
        """The node for ``check`` (named ``run_id``): a collector of its items, or an item that
        fails with the message when the model cannot be loaded."""
        try:
            cls = self.load(check.model)
        except KripkeError as e:
            node = KripkeItem.from_parent(module, name=run_id, check=check, run=None,
                                          error=f"{run_id}: {e}")
        else:
            names, unknown = self.property_names(cls, check, run_id)
            # Checks that search alike share the search, but for their id (which names the
            # files and the summary line).
            key = (cls, repr(sorted(check.params.items())), check.strategy, check.symmetry,
                   check.max_states, check.max_depth, check.seed, check.fairness, frozenset(names), run_id)
            run = self.runs.get(key)
            if run is None:
                run = self.runs[key] = _Run(self, check, cls, run_id, names)
            node = KripkeCheck.from_parent(module, name=run_id, check=check, run=run,
                                           names=names, unknown=unknown)
        node.add_marker("kripke")
        for mark in check.marks:
            node.add_marker(mark)
        return node

    def load(self, model):
        """The model class (loaded once per session) for a name, a file spec or a class."""
        from kripke.models.system import TransitionSystem, load_model
        if isinstance(model, type) and issubclass(model, TransitionSystem):
            return model
        if not isinstance(model, str):
            raise TypeError(f"check_model: the model is a name or a class, got {model!r}")
        path, sep, clsname = model.rpartition(":")
        if sep and path.endswith(".py") and not Path(path).is_absolute():
            model = f"{self.config.rootpath / path}:{clsname}"
        if model not in self.classes:
            try:
                self.classes[model] = load_model(model)
            except KripkeError as e:
                self.classes[model] = e
        found = self.classes[model]
        if isinstance(found, KripkeError):
            raise found
        return found

    @staticmethod
    def property_names(cls, check, run_id):
        """The names the check's items are for, and {unknown name: its one-line error}."""
        available = {p.name: p for p in cls.properties}
        if check.properties is None:
            names = [p.name for p in cls.properties if not p.expected_to_fail and p.default]
        else:
            names = list(check.properties)
        names += [n for n in check.expect if n != DEADLOCK]
        names = list(dict.fromkeys(names))
        kind = f"property of {cls.display_name()}"
        unknown = {n: f"{run_id}: {UnknownNameError(kind, n, available)}"
                   for n in names if n not in available}
        names = [n for n in names if n in available]
        if check.deadlock:
            names.append(DEADLOCK)
        return names, unknown

    def shown(self, path):
        """A path as printed: relative to the directory pytest was started in, when inside it."""
        try:
            return str(path.relative_to(self.config.invocation_params.dir))
        except ValueError:
            return str(path)

    def out_dir(self):
        if self._out is None:
            option = self.config.getoption("kripke_out")
            if option:
                self._out = Path(self.config.invocation_params.dir, option)
            else:
                factory = getattr(self.config, "_tmp_path_factory", None)  # pytest's tmp_path
                if factory is not None:
                    self._out = factory.getbasetemp() / "kripke"
                else:  # the tmpdir plugin is disabled (-p no:tmpdir)
                    import tempfile
                    self._out = Path(tempfile.mkdtemp(prefix="kripke-"))
        return self._out


class _Run:
    """The searches behind one check's items, made on demand and settling its properties."""

    def __init__(self, session, check, cls, run_id, names):
        self.session, self.check, self.cls, self.id = session, check, cls, run_id
        self.kinds = {p.name: p.kind for p in cls.properties}
        self.pending = list(names)
        self.outcomes = {}
        self.violated = []
        self.model = None

    def outcome(self, name):
        while name not in self.outcomes:
            self._search()
        return self.outcomes[name]

    def _settle(self, names, outcome):
        for n in names:
            self.outcomes[n] = outcome
        self.pending = [n for n in self.pending if n not in names]

    def _search(self):
        from kripke.checkers.explicit import check as explicit
        from kripke.checkers.simulate import simulate
        c = self.check
        properties = [n for n in self.pending if n != DEADLOCK]
        deadlock = DEADLOCK in self.pending
        again = (f"  (search {len(self.violated) + 1}, without {', '.join(self.violated)})"
                 if self.violated else "")
        try:
            if self.model is None:
                self.model = self.cls(**c.params)
            if c.strategy == "simulate":
                result = simulate(self.model, properties=properties, seed=c.seed,
                                  max_states=c.max_states, max_depth=c.max_depth,
                                  deadlock=deadlock, symmetry=c.symmetry)
            else:  # one search for every item: it goes on after a violation
                result = explicit(self.model, properties=properties, strategy=c.strategy,
                                  symmetry=c.symmetry, max_states=c.max_states,
                                  max_depth=c.max_depth, deadlock=deadlock, keep_going=True,
                                  fairness=c.fairness)
        except KripkeError as e:
            self.session.searches.append(_Search(self.id, None, f"error: {e}"))
            self._settle(self.pending, _Outcome("error", message=str(e)))
            return
        except Exception as e:  # the model's own code failed outside a search step (init)
            self.session.searches.append(_Search(self.id, None, f"raised {type(e).__name__}: {e}"))
            self._settle(self.pending, _Outcome("raised", error=e, traceback=e.__traceback__))
            return
        if result.verdict == "interrupted":
            self.session.searches.append(_Search(self.id, result, "interrupted"))
            self._settle(self.pending, _Outcome("interrupted", result))
            return
        verdicts, broken = [], None
        for v in result.violations:
            name = DEADLOCK if v.kind == "deadlock" or v.property == "terminal()" else v.property
            if v.kind == "type" or v.property in ("exception", "within()", "init()"):
                # the model left its declared types or raised: the states past it are unknown
                broken = broken or v
                verdicts.append("a declared type" if v.kind == "type" else "the model raised")
                if name not in self.pending:
                    continue
            if name not in self.pending:  # cannot happen; never loop on it
                raise RuntimeError(f"{self.id}: the search reported {name}, which it did not "
                                   f"check ({', '.join(self.pending)})")
            if v.kind == "exception":  # the property (or terminal()) raised
                self._settle([name], _Outcome("exception", result, v, self._notes(v, result)))
                verdicts.append(f"{name} raised")
                continue
            self._settle([name], _Outcome(VIOLATED, result, v, self._notes(v, result)))
            self.violated.append(name)
            if v.kind != "type":
                verdicts.append(name + " (expected)" * (c.expect.get(name) == VIOLATED))
        unchecked = [n for n in self.pending if n in result.not_checked]
        for n in unchecked:
            self._settle([n], _Outcome("not checked", result, message=result.not_checked[n]))
        if broken is not None:
            self._settle(self.pending, _Outcome("broken", result, broken,
                                                self._notes(broken, result)))
        elif result.bound is not None:
            self._settle(self.pending, _Outcome("incomplete", result))
        else:
            self._settle(self.pending, _Outcome(HOLDS, result))
        verdict = ("violated: " + ", ".join(dict.fromkeys(verdicts)) if verdicts
                   else "ok" if result.bound is None else "")
        if result.bound is not None:
            verdict += ("; " if verdicts else "") + f"incomplete: {result.bound}"
        self.session.searches.append(_Search(self.id, result, verdict + again))

    def _notes(self, v, result):
        """The counterexample as ``kripke check`` prints it, and the files written for it."""
        from kripke.cli import write_counterexample
        from kripke.traces.render import format_trace
        if v.trace is None:  # a sometimes-property, or init() raised: no state to show
            return ((f"the search was complete: none of its {result.distinct_states:,} distinct "
                     f"states satisfies {v.property}",) if v.kind == "sometimes" else ())
        out = self.session.out_dir() / _safe(self.id) / _safe(v.property)
        lines = []
        try:
            write_counterexample(v.trace, out, self.model)
        except Exception as e:  # no Graphviz `dot`: the trace is written, the drawing is not
            import graphviz
            if not isinstance(e, graphviz.ExecutableNotFound):
                raise
            lines.append(f"no drawing: {e}")
        shown = self.session.shown
        lines += [f"drawing: {shown(p)}" for p in sorted(out.glob("*.svg"))]
        trace_file = shown(out / "trace.json")
        return ("\n".join([format_trace(v.trace, self.cls.set_fields(), trace_file), *lines]),)


def _name(cls):
    """A model's registered name, else its class name (a subclass inherits ``name``)."""
    from kripke.models.system import model_spec
    return cls.name if model_spec(cls) == cls.name else cls.__name__


def _display(model):
    if isinstance(model, type):
        return model.__name__
    model = str(model)
    path, sep, clsname = model.rpartition(":")
    return clsname if sep and path.endswith(".py") else model


def _check_id(name, check, distinguish=False):
    """``two-phase(rms=3)``: the parameters given, then the options that are not defaults (and,
    with ``distinguish``, the properties named and the violations expected). No brackets:
    pytest reads ``[...]`` in a node id as a test's parameters (``--lf``, ``--sw`` and a copied
    node id would then match nothing)."""
    options = {"strategy": (check.strategy, "bfs"), "symmetry": (check.symmetry, None),
               "max_states": (check.max_states, None), "max_depth": (check.max_depth, None),
               "deadlock": (check.deadlock, True), "seed": (check.seed, 0),
               "fairness": (check.fairness, True)}
    parts = [f"{k}={v}" for k, v in check.params.items()]
    parts += [f"{k}={v}" for k, (v, default) in options.items() if v != default]
    if distinguish:
        if check.properties is not None:
            parts.append("properties=" + ("+".join(check.properties) or "none"))
        expected = [n for n, verdict in check.expect.items() if verdict == VIOLATED]
        if expected:
            parts.append("expect=" + "+".join(expected))
    return f"{name}({','.join(parts)})" if parts else name


def _internal(path):
    import _pytest
    import pluggy
    if not isinstance(path, Path):
        return False
    return path == Path(__file__) or any(Path(m.__file__).parent in path.parents
                                         for m in (_pytest, pluggy))


def _safe(text):
    """A folder name for an id that a shell takes unquoted: ``two-phase(rms=3)`` is
    ``two-phase_rms=3``; ``=``, ``,``, ``+``, ``.`` and ``-`` stay, the rest becomes ``_``."""
    return re.sub(r"[^\w.=,+-]+", "_", text).strip("_") or "check"

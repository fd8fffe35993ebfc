"""The ``kripke`` command: list, check, prove, replay, render, review, graph, history, bench.

Exit codes of ``check``: 0 every checked property holds (search complete), 1 a property is
violated, 2 usage or model error (one line naming the cause), 3 the search is incomplete (a
bound, ``--time-limit``), 130 it was interrupted (Ctrl-C: the counts so far are printed).
``replay``: 0 the trace reproduces, 1 it diverges, 2 bad input. ``prove``: 0 proved, 1 a
reachable violation (bounded model checking), 3 not proved (a counterexample to induction, a
solver unknown, the time limit), 2 bad input.

Output never loses a result (issue 10, items 5 and 9): ``--out DIR`` and ``-o FILE`` are tried
before any work (exit 2 when they cannot be written); ``check`` prints its verdict (or JSON)
before it writes a file, so a file that fails afterwards (no Graphviz ``dot``: no .svg) is one
line on stderr and the exit code stays the verdict's. Every JSON object carries
``kripke_version`` and ``schema``; under ``--json`` bad input is the object
``{"verdict": "error", "message"}`` on stdout as well as the line on stderr.
"""

import json
import os
import sys
from pathlib import Path

import click

from kripke.errors import KripkeError, ParamError, UnknownNameError

__all__ = ["main"]

EXIT = {"ok": 0, "violated": 1, "incomplete": 3, "interrupted": 130}


def _fail(message, as_json=False, code=2):
    """Bad input: one line on stderr and exit 2; under ``--json`` also the JSON object
    ``{"kripke_version", "schema", "verdict": "error", "message"}`` on stdout (issue 10, item 9),
    so that a CI job reading stdout always gets an object."""
    if as_json:
        from kripke.checkers.result import envelope
        click.echo(json.dumps(envelope(verdict="error", message=message)))
    click.echo(f"kripke: error: {message}", err=True)
    sys.exit(code)


class _Group(click.Group):
    """Report every ``KripkeError`` (bad input) as one line and exit code 2; under ``--json``,
    usage errors (a bad option) too are reported as the JSON error object."""

    def parse_args(self, ctx, args):
        # The command's own options are parsed later, inside invoke; an error can come before.
        ctx.meta["kripke_json"] = "--json" in args[:args.index("--")] if "--" in args \
            else "--json" in args
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        as_json = ctx.meta.get("kripke_json", False)
        try:
            return super().invoke(ctx)
        except KripkeError as e:
            _fail(str(e), as_json)
        except click.ClickException as e:
            if not as_json:
                raise
            _fail(e.format_message(), as_json, e.exit_code)


@click.group(cls=_Group)
def main():
    """kripke: check distributed-protocol designs written in Python as transition systems."""


def parse_params(cls, pairs):
    """``-p name=value`` pairs into validated parameter values for model class ``cls``."""
    params = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep:
            raise ParamError(f"-p expects name=value, got {pair!r}")
        if name not in cls._params:
            raise UnknownNameError(f"parameter of {cls.display_name()}", name, cls._params)
        params[name] = cls._params[name].parse(text)
    return params


@main.command("list")
def list_models():
    """The registered models, their parameters and properties."""
    from kripke.models.system import registry
    for name, cls in sorted(registry().items()):
        doc = (cls.__doc__ or "").strip().split("\n")[0]
        click.echo(f"{name}: {doc}")
        for p in cls.describe_params():
            click.echo(f"    -p {p}")
        props = ", ".join(f"{p.name} ({p.kind}{', expected to fail' * p.expected_to_fail})"
                          for p in cls.properties)
        click.echo(f"    properties: {props}")


@main.command()
@click.argument("model_name", metavar="MODEL")
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Set a model parameter.")
@click.option("--property", "properties", multiple=True, metavar="NAME",
              help="Check only this property (repeatable). Default: all the model's.")
@click.option("--strategy", type=click.Choice(["bfs", "dfs", "simulate", "hypothesis", "bmc"]),
              default="bfs", show_default=True,
              help="bmc: bounded model checking with z3 to --max-depth steps (default 10).")
@click.option("--symmetry/--no-symmetry", default=None,
              help="Reduce by the model's symmetric domain (default: when it declares one).")
@click.option("--deadlock/--no-deadlock", default=True, show_default=True,
              help="Report states with no successor that the model does not call terminal.")
@click.option("--max-states", type=click.IntRange(min=1), metavar="N",
              help="Store at most N states; more make the verdict incomplete.")
@click.option("--max-depth", type=click.IntRange(min=1), metavar="N",
              help="Explore N levels; more make the verdict incomplete.")
@click.option("--time-limit", type=click.FloatRange(min=0), metavar="SECONDS",
              help="Stop after this many seconds (every strategy): the verdict is incomplete.")
@click.option("--continue", "keep_going", is_flag=True,
              help="Go on after a violation: every violated property, each with its own "
                   "shortest trace, in one search (bfs, dfs; TLC's -continue).")
@click.option("--fairness/--no-fairness", default=True, show_default=True,
              help="Check temporal properties under the fairness the model declares on its "
                   "actions; --no-fairness shows what they need it for (bfs, dfs).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Random seed of --strategy simulate and hypothesis.")
@click.option("--walks", type=click.IntRange(min=1),
              help="simulate: number of random walks; hypothesis: runs (max_examples, 100).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--out", type=click.Path(), metavar="DIR",
              help="Write the counterexample here (trace.json, .dot, .svg): DIR holds one run.")
@click.option("--trace", "with_trace", is_flag=True,
              help="With --json: put the counterexample's trace in the violation object.")
@click.option("--workers", type=click.IntRange(min=1), metavar="N",
              help="bfs: worker processes, each owning a share of the visited set (TLC's "
                   "-workers; default 1); with --engine ray, Ray actors, or for simulate Ray "
                   "tasks (default: one per CPU of the cluster).")
@click.option("--engine", type=click.Choice(["plain", "vector", "auto", "ray"]),
              default="plain", show_default=True,
              help="vector: a BFS a level at a time on numpy, for models whose actions the "
                   "symbolic back end traces; auto: plain up to 50,000 states, then vector "
                   "when the model allows it; ray: the partitioned BFS, or simulate's walks, on "
                   "a Ray cluster (pip install 'kripke[ray]').")
@click.option("--address", metavar="HOST:PORT",
              help="With --engine ray: the cluster's head (default: a local Ray instance).")
@click.option("--memory", "memory", metavar="SIZE",
              help="Memory budget, e.g. 600MB or 4GB (default: 90% of what is available): "
                   "past half of it the queue spills to disk, past all of it the search stops "
                   "(verdict incomplete).")
@click.option("--checkpoint", type=click.Path(file_okay=False), metavar="DIR",
              help="bfs: save the search in DIR every --checkpoint-every minutes and when "
                   "stopped (Ctrl-C, SIGTERM); --resume DIR finishes it.")
@click.option("--checkpoint-every", type=click.FloatRange(min=0, min_open=True),
              metavar="MINUTES", default=5.0, show_default=True,
              help="Minutes between two checkpoints.")
@click.option("--resume", type=click.Path(file_okay=False), metavar="DIR",
              help="Take up the search saved in DIR (same model, parameters, properties and "
                   "options) and finish it, saving to DIR as it goes.")
def check(model_name, params, properties, strategy, symmetry, deadlock, max_states, max_depth,
          time_limit, keep_going, fairness, seed, walks, as_json, out, with_trace, workers,
          engine, address, memory, checkpoint, checkpoint_every, resume):
    """Check MODEL (a registered name or path/to/file.py:ClassName).

    Progress goes to stderr: live on a terminal, else a line every 5 seconds. Ctrl-C stops the
    search and prints what it counted so far (verdict interrupted, exit code 130); with
    --checkpoint it is saved first, and --resume goes on from there.
    """
    from kripke.checkers.frontier import parse_size
    from kripke.checkers.explicit import check as explicit_check
    from kripke.models.system import load_model

    if keep_going and strategy not in ("bfs", "dfs"):
        raise ParamError(f"--continue: --strategy {strategy} stops at its first violation; "
                         "use --strategy bfs or dfs")
    memory_limit = None if memory is None else parse_size(memory)
    if memory is not None and memory_limit is None:
        raise ParamError(f"--memory {memory}: write a size such as 600MB, 4GB or 1.5G")
    if engine in ("vector", "auto") and strategy != "bfs":
        raise ParamError(f"--engine {engine} runs --strategy bfs, not {strategy}")
    if engine == "ray" and strategy not in ("bfs", "simulate"):
        raise ParamError(f"--engine ray runs --strategy bfs or simulate, not {strategy}")
    if (workers or checkpoint or resume) and strategy not in ("bfs", "dfs") and not (
            engine == "ray" and strategy == "simulate" and not (checkpoint or resume)):
        raise ParamError(f"--workers, --checkpoint and --resume are for --strategy bfs, not "
                         f"{strategy}")
    cls = load_model(model_name)
    model = cls(**parse_params(cls, params))
    if with_trace and not as_json:
        raise ParamError("--trace adds the counterexample to the --json object: add --json "
                         "(without --json the counterexample is printed anyway)")
    if out:  # before the search: its verdict is never lost to a folder that cannot be written
        _ready_folder(out)
    progress = _Progress()
    try:
        if strategy == "simulate":
            from kripke.checkers.simulate import simulate
            result = simulate(model, properties=properties or None, seed=seed, max_states=max_states,
                              max_depth=max_depth, deadlock=deadlock, symmetry=symmetry,
                              walks=walks, time_limit=time_limit, engine=engine,
                              address=address, workers=workers)
        elif strategy == "bmc":
            from kripke.checkers.bmc import bmc
            result = bmc(model, properties=properties or None, max_depth=max_depth,
                         time_limit=time_limit)
        elif strategy == "hypothesis":
            from kripke.checkers.stateful import hypothesis_check
            result = hypothesis_check(model, properties=properties or None, seed=seed,
                                      max_examples=walks, max_depth=max_depth,
                                      max_states=max_states, time_limit=time_limit,
                                      deadlock=deadlock, symmetry=symmetry)
        else:
            result = explicit_check(model, properties=properties or None, strategy=strategy,
                                    symmetry=symmetry, max_states=max_states,
                                    max_depth=max_depth, deadlock=deadlock, progress=progress,
                                    keep_going=keep_going, time_limit=time_limit,
                                    fairness=fairness, memory_limit=memory_limit,
                                    workers=workers or (None if engine == "ray" else 1),
                                    engine=engine, address=address,
                                    checkpoint=checkpoint, resume=resume,
                                    checkpoint_every=60 * checkpoint_every)
    except KeyboardInterrupt:  # outside the exhaustive search, which returns what it counted
        click.echo("kripke: interrupted", err=True)
        sys.exit(EXIT["interrupted"])
    finally:
        progress.close()
    v = result.violation
    trace = v.trace if v is not None and out else None
    trace_file = str(Path(out) / "trace.json") if trace is not None else None
    more = _more_folders(result, out)
    trace_files = [trace_file] + [None if f is None else str(f / "trace.json") for _, f in more]
    if as_json:
        click.echo(json.dumps(result.to_json(trace_file, with_trace, trace_files)))
    else:
        _print_result(result, cls, trace_file, deadlock)
        _print_more(result, cls, trace_files)
    if out:  # the verdict is out first: no file written now can lose it or change the exit code
        _write_out(trace, Path(out), model)
        _write_more(more, Path(out), model)
    sys.exit(EXIT[result.verdict])


def _more_folders(result, out):
    """``[(violation, folder or None)]`` for the violations after the first (``--continue``):
    with ``--out DIR`` each with a trace goes to ``DIR/<property>/`` (the first to DIR)."""
    return [(v, Path(out) / _folder_name(v.property) if out and v.trace is not None else None)
            for v in result.violations[1:]]


def _folder_name(prop):
    """The folder of a property's counterexample under --out: ``terminal()`` is ``terminal``."""
    import re
    return re.sub(r"[^\w.-]+", "", prop) or "property"


def _write_more(more, out, model):
    """The counterexamples after the first (``--continue``), each in ``out/<property>/``;
    the property folders of an earlier run that this one does not write lose kripke's files
    (``out`` holds one run)."""
    written = set()
    for v, folder in more:
        if folder is not None:
            _write_out(v.trace, folder, model)
            written.add(folder.name)
    names = {_folder_name(p.name) for p in model.properties}
    names |= {"deadlock", "exception", "terminal", "within"}
    for name in sorted(names - written):
        folder = out / name
        if folder.is_dir():
            clear_out(folder)
            try:
                folder.rmdir()
            except OSError:  # the user's files are in it: they stay
                pass


def _print_more(result, cls, trace_files):
    """The violations after the first (``--continue``), each as ``_print_result`` prints the
    first."""
    from kripke.traces.render import format_trace
    more = result.violations[1:]
    if not more:
        return
    click.echo("")
    click.echo(f"also violated (--continue): {', '.join(v.property for v in more)}")
    for v, trace_file in zip(more, trace_files[1:]):
        click.echo("")
        if v.trace is None:
            click.echo(f"{v.property} ({v.kind}): {v.message}")
        else:
            click.echo(format_trace(v.trace, cls.set_fields(), trace_file))


#: the files ``kripke check --out DIR`` writes, and so the only ones it removes from DIR
OUT_FILES = ("trace.json", "counterexample.dot", "counterexample.svg", "msc.svg")


def write_counterexample(trace, out, model):
    """trace.json, counterexample.dot and .svg in ``out`` (and, for a message-passing model, the
    message sequence chart msc.svg); returns the JSON path.

    ``out`` holds one run (issue 10, item 5): every file is written whole under a temporary name
    and renamed, and the files of an earlier run that this one does not write are removed. The
    sequence chart is SVG written by kripke itself (``kripke.traces.msc``); the Graphviz drawing
    (.svg) comes last: without Graphviz's ``dot`` it is skipped, and once everything else is
    written ``graphviz.ExecutableNotFound`` is raised.
    """
    import graphviz

    from kripke.traces.msc import sequence_chart
    from kripke.traces.render import to_dot, write_drawing
    from kripke.traces.trace import write_atomic
    out.mkdir(parents=True, exist_ok=True)
    trace_file = out / "trace.json"
    trace.save(trace_file)
    written, missing = [trace_file.name], None
    chart = sequence_chart(model, trace)
    if chart is not None:
        write_atomic(out / "msc.svg", chart)
        written.append("msc.svg")
    graph = to_dot(trace, model.set_fields())
    write_drawing(graph, out / "counterexample.dot")
    written.append("counterexample.dot")
    try:
        write_drawing(graph, out / "counterexample.svg")
        written.append("counterexample.svg")
    except graphviz.ExecutableNotFound as e:
        missing = e
    clear_out(out, keep=written)
    if missing is not None:
        raise missing
    return str(trace_file)


def clear_out(out, keep=()):
    """Remove kripke's files (``OUT_FILES``) from the folder ``out``, but those named in
    ``keep``; any other file in it is the user's and stays."""
    for name in OUT_FILES:
        if name not in keep:
            (out / name).unlink(missing_ok=True)


def _write_out(trace, out, model):
    """``check --out`` after the verdict: the run's counterexample, or (no trace) no files of an
    earlier run. What cannot be written is one line on stderr; the exit code stays the
    verdict's."""
    import graphviz

    from kripke.traces.render import NO_DOT
    try:
        if trace is None:
            clear_out(out)
        else:
            write_counterexample(trace, out, model)
    except graphviz.ExecutableNotFound:
        click.echo(f"kripke: no .svg drawing: {NO_DOT}; trace.json and the .dot files are "
                   "written", err=True)
    except OSError as e:
        click.echo(f"kripke: --out {out}: the counterexample could not be written: "
                   f"{e.strerror or e}", err=True)


def _ready_folder(out):
    """``--out DIR``, made and tried before the search: DIR is created when missing (its parent
    must exist) and must take a new file; else bad input (``ParamError``), one line, exit 2."""
    path = Path(out)
    try:
        path.mkdir(exist_ok=True)
    except FileNotFoundError:
        raise ParamError(f"--out {out}: the folder {path.parent} does not exist") from None
    except FileExistsError:
        raise ParamError(f"--out {out}: a file is in the way (--out names a folder)") from None
    except NotADirectoryError:
        raise ParamError(f"--out {out}: {path.parent} is a file, not a folder") from None
    except OSError as e:
        raise ParamError(f"--out {out}: cannot create the folder: {e.strerror}") from None
    _try_writing(path, f"--out {out}")


def _ready_file(output):
    """``-o FILE``, tried before any work: its folder must exist and take a new file, and FILE
    must not be a folder; else bad input (``ParamError``), one line, exit 2."""
    path = Path(output)
    folder = path.parent
    if path.is_dir():
        raise ParamError(f"-o {output}: a folder is in the way (-o names a file)")
    if not folder.is_dir():
        why = "is a file, not a folder" if folder.exists() else "does not exist"
        raise ParamError(f"-o {output}: the folder {folder} {why}")
    _try_writing(folder, f"-o {output}")


def _try_writing(folder, option):
    import tempfile
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".kripke-try-")
        os.close(fd)
        os.unlink(name)
    except OSError as e:
        raise ParamError(f"{option}: cannot write in {folder}: {e.strerror}") from None


def _draw(graph, output, fmt=None):
    """``write_drawing`` for ``-o FILE`` (in format ``fmt``, default its suffix): without
    Graphviz's ``dot`` an .svg is bad input (one line, exit 2), and no file is left behind."""
    import graphviz

    from kripke.traces.render import NO_DOT, write_drawing
    try:
        write_drawing(graph, output, fmt)
    except graphviz.ExecutableNotFound:
        raise ParamError(f"-o {output}: cannot draw it: {NO_DOT} (or write the source: "
                         f"-o {Path(output).with_suffix('.dot')})") from None


def _no_drawing_note(output):
    """One line on stderr when an HTML page goes out without its drawing (no ``dot``)."""
    import shutil

    from kripke.traces.render import NO_DOT
    if shutil.which("dot") is None:
        click.echo(f"kripke: {output} is written without its drawing: {NO_DOT}", err=True)


def _print_result(result, cls, trace_file, deadlock=True):
    params = ", ".join(f"{k}={v}" for k, v in result.params.items())
    sym = ", symmetry" if result.symmetry else ""
    engine = f" on the {result.engine} engine" if result.engine != "plain" else ""
    click.echo(f"{result.model} ({params}) {result.strategy}{engine}{sym}: "
               f"{result.verdict.upper()}")
    symbolic = result.strategy == "bmc"
    if symbolic:
        click.echo(f"  every behaviour of up to {result.depth - 1} steps, symbolically (z3), "
                   f"{result.elapsed_s:.2f} s")
    else:
        click.echo(f"  {result.distinct_states:,} distinct states, {result.states_generated:,} "
                   f"generated, depth {result.depth}, {result.elapsed_s:.2f} s")
    click.echo(f"  properties: {', '.join(result.properties)}" if result.properties else
               "  properties: none; only " + ("deadlock and " if deadlock else "")
               + "the declared types were checked")
    if result.symmetry_note:
        click.echo(f"  {result.symmetry_note}")
    for name, why in result.not_checked.items():
        click.echo(f"  not checked: {name} ({why})")
    if result.per_state:
        click.echo(f"  checked state by state (the tracer refused them): "
                   f"{', '.join(result.per_state)}")
    if result.bound and result.bound.startswith("bmc: "):
        click.echo(f"  incomplete: {result.bound[5:]}")
    elif result.bound:
        click.echo(f"  incomplete: the bound {result.bound} was reached")
    if result.verdict == "interrupted":
        click.echo("  interrupted (Ctrl-C or SIGTERM): the counts so far")
        if result.checkpoint:
            click.echo(f"  saved in {result.checkpoint}: kripke check ... --resume "
                       f"{result.checkpoint} finishes the search")
    if result.outside_constraint:
        click.echo(f"  {result.outside_constraint:,} successors outside the constraint within(): "
                   "checked, not explored")
    if symbolic:  # no states were stored, fingerprinted or counted per action
        return _print_violation(result, cls, trace_file)
    if result.partition is not None:  # "fingerprint" or "by VAR[, VAR]" (checkers.partition)
        split = result.partition.removeprefix("by ")
        click.echo(f"  {result.workers} {'Ray actors' if result.engine == 'ray' else 'workers'},"
                   f" the states split among them by "
                   f"{'their fingerprint' if split == 'fingerprint' else split}")
    if result.collision_probability:  # (--engine vector compares whole states)
        click.echo(f"  fingerprint collision probability: {result.collision_probability:.1e} "
                   "(TLC's estimate, if SipHash behaves as a random function)")
    unfired = [a for a, c in result.coverage.items() if not c["fired"]]
    click.echo("  coverage: " + ", ".join(f"{a} {c['fired']:,}/{c['new']:,}"
                                         for a, c in result.coverage.items())
               + "  (fired/new)")
    if unfired and result.verdict == "ok":  # after a violation or a bound: not yet reached
        click.echo(f"  never enabled: {', '.join(unfired)}")
    _print_violation(result, cls, trace_file)


def _print_violation(result, cls, trace_file):
    from kripke.traces.render import format_trace
    v = result.violation
    if v is None:
        return
    click.echo("")
    if v.trace is None:
        click.echo(f"{v.property} ({v.kind}): {v.message}")
        return
    if v.kind == "liveness":  # which instance fails, and how the lasso ends
        click.echo(v.message)
    click.echo(format_trace(v.trace, cls.set_fields(), trace_file))
    if trace_file is None:
        click.echo("(write the trace and its drawing with --out DIR)")


class _Progress:
    """Progress of a long search on stderr (the engine reports every second after the first
    two): live on a terminal (rich, erased at the end); otherwise, for a log, a plain line every
    ``every`` seconds, the first after ``every`` seconds, so a quick search prints none. Never
    on stdout, so ``--json`` stays one object."""

    def __init__(self, every=5.0, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.every, self.next = every, every
        self.live = None
        self.tty = self.stream.isatty()

    @staticmethod
    def line(counts):
        rate = counts["distinct"] / max(counts["elapsed"], 1e-9)
        return (f"{counts['distinct']:,} distinct, {counts['generated']:,} generated, "
                f"queue {counts['queue']:,}, depth {counts['depth']}, {rate:,.0f} states/s")

    def __call__(self, counts):
        if self.tty:
            if self.live is None:
                from rich.console import Console
                from rich.live import Live
                self.live = Live(console=Console(file=self.stream), transient=True,
                                 auto_refresh=False)
                self.live.start()
            self.live.update(self.line(counts), refresh=True)
        elif counts["elapsed"] >= self.next:
            self.next = counts["elapsed"] + self.every
            print(f"kripke: {counts['elapsed']:.0f} s: {self.line(counts)}", file=self.stream,
                  flush=True)

    def close(self):
        if self.live is not None:
            self.live.stop()


@main.command()
@click.argument("model_name", metavar="MODEL")
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Set a model parameter (repeatable).")
@click.option("--property", "prop", required=True, metavar="NAME",
              help="The invariant to prove.")
@click.option("--invariant", "invariants", multiple=True, metavar="NAME",
              help="An auxiliary invariant, assumed and proved with the property (repeatable).")
@click.option("--k", "k", type=click.IntRange(min=1), default=1, show_default=True,
              help="k-induction: assume the invariants on k consecutive states; the base case "
                   "is bounded model checking to depth k-1.")
@click.option("--simple-path/--no-simple-path", default=True, show_default=True,
              help="Ask the k+1 states of the step case to be distinct.")
@click.option("--time-limit", type=click.FloatRange(min=0), metavar="SECONDS",
              help="Stop after this many seconds: the checks left are unknown (exit 3).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--out", type=click.Path(), metavar="DIR",
              help="Write the counterexample: a reachable violation as trace.json and its "
                   "drawing, a counterexample to induction as cti.json, cti.dot and cti.svg.")
@click.option("--trace", "with_trace", is_flag=True,
              help="With --json: put the trace or the counterexample to induction in it.")
@click.option("--all-sizes", is_flag=True,
              help="Prove it for every size of the model's domain (every number of RMs): the "
                   "domain an uninterpreted z3 sort (checkers/parametric.py).")
def prove(model_name, params, prop, invariants, k, simple_path, time_limit, as_json, out,
          with_trace, all_sizes):
    """Prove an invariant of MODEL by induction with z3 (with auxiliary invariants).

    Exit 0 proved (the invariants hold initially and every action preserves each of them), 1 a
    reachable violation (found by bounded model checking, a trace that replays), 3 not proved (a
    counterexample to induction, which may be unreachable; a solver unknown; the time limit).
    """
    from kripke.checkers.prove import prove as prove_model
    from kripke.models.system import load_model

    cls = load_model(model_name)
    model = cls(**parse_params(cls, params))
    if all_sizes:
        from kripke.checkers.parametric import prove_all_sizes
        from kripke.checkers.result import envelope
        proof = prove_all_sizes(model, prop, invariants=list(invariants) or None)
        click.echo(json.dumps(envelope(**proof.to_json())) if as_json else proof.report())
        sys.exit(EXIT[proof.verdict])
    if with_trace and not as_json:
        raise ParamError("--trace adds the counterexample to the --json object: add --json")
    if out:
        _ready_folder(out)
    proof = prove_model(model, prop, invariants=invariants, k=k, time_limit=time_limit,
                        simple_path=simple_path)
    v = proof.violation
    trace_file = str(Path(out) / "trace.json") if out and v is not None else None
    cti_file = str(Path(out) / "cti.json") if out and proof.cti is not None else None
    if as_json:
        click.echo(json.dumps(proof.to_json(trace_file, cti_file, with_trace)))
    else:
        _print_proof(proof, cls, trace_file, cti_file)
    if out:  # after the verdict, as for check: a file that fails is one line on stderr
        _write_out(v.trace if v is not None else None, Path(out), model)
        _write_cti(proof.cti, Path(out), model)
    sys.exit(EXIT[proof.verdict])


#: the files ``kripke prove --out DIR`` writes for a counterexample to induction
CTI_FILES = ("cti.json", "cti.dot", "cti.svg")


def _write_cti(cti, out, model):
    """A counterexample to induction in ``out`` (cti.json, cti.dot, cti.svg; never trace.json:
    it is no trace), or, without one, no CTI files of an earlier run."""
    import graphviz

    from kripke.traces.cti import cti_dot
    from kripke.traces.render import NO_DOT, write_drawing
    for name in CTI_FILES:
        (out / name).unlink(missing_ok=True)
    if cti is None:
        return
    try:
        cti.save(out / "cti.json")
        graph = cti_dot(cti, model.set_fields())
        write_drawing(graph, out / "cti.dot")
        write_drawing(graph, out / "cti.svg")
    except graphviz.ExecutableNotFound:
        click.echo(f"kripke: no .svg drawing: {NO_DOT}; cti.json and cti.dot are written",
                   err=True)
    except OSError as e:
        click.echo(f"kripke: --out {out}: the counterexample to induction could not be written: "
                   f"{e.strerror or e}", err=True)


def _print_proof(proof, cls, trace_file, cti_file):
    """The verdict, the table (one row per action: which invariants it does not preserve), and
    the counterexample: a reachable violation's trace, or the counterexample to induction."""
    from kripke.checkers.prove import FAILS, INITIATION, UNKNOWN
    from kripke.traces.cti import format_cti
    from kripke.traces.render import format_trace
    params = ", ".join(f"{k}={v}" for k, v in proof.params.items())
    word = {"ok": "PROVED", "violated": "VIOLATED", "incomplete": "NOT PROVED"}[proof.verdict]
    click.echo(f"{proof.model} ({params}) induction, k={proof.k}: {word}")
    aux = [n for n in proof.invariants if n not in (proof.property, "type_ok")]
    click.echo(f"  property: {proof.property}; auxiliary invariants: "
               f"{', '.join(aux) if aux else 'none'}; and type_ok (the declared types)")
    n = len(proof.invariants)
    rows = {}
    for r in proof.rows:
        rows.setdefault(r.action, []).append(r)
    width = max(len(a) for a in rows)
    for action, group in rows.items():
        bad = [r.invariant for r in group if r.outcome == FAILS]
        unknown = [r for r in group if r.outcome == UNKNOWN]
        verb = "establish" if action == INITIATION else "preserve"
        if not bad and not unknown:
            verbs = "establishes" if action == INITIATION else "preserves"
            text = f"{verbs} all {n}" if len(group) == n else f"{verbs} {len(group)} of {n}"
        else:
            parts = [f"does not {verb} {', '.join(bad)}"] if bad else []
            if unknown:
                parts.append(f"unknown: {', '.join(r.invariant for r in unknown)} "
                             f"({unknown[0].reason})")
            text = "; ".join(parts)
        click.echo(f"  {action:<{width}}  {text}")
    click.echo(f"  {proof.reason} ({proof.elapsed_s:.2f} s)")
    if proof.violation is not None:
        click.echo("")
        click.echo(format_trace(proof.violation.trace, cls.set_fields(), trace_file))
        if trace_file is None:
            click.echo("(write the trace and its drawing with --out DIR)")
    elif proof.cti is not None:
        click.echo("")
        click.echo(format_cti(proof.cti, cls.set_fields(), cti_file))
        if cti_file is None:
            click.echo("(write it and its drawing with --out DIR)")


@main.command()
@click.argument("which", type=click.Choice(["vector-clock", "retry-jitter"]))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def laws(which, as_json):
    """Prove laws with z3 for every size: the vector-clock merge laws for every dimension, or
    the bound delay <= max_delay of both retriers over the reals (the article's is refuted,
    with its exact worst case). Exit 0 every law proved, 1 one refuted, 3 solver unknown."""
    from kripke.checkers import parametric
    from kripke.checkers.result import envelope
    if which == "vector-clock":
        r = parametric.prove_vector_clock_laws()
        verdict, out = r.verdict, {"laws": r.laws, "counterexamples": r.counterexamples}
        lines = [f"vector clocks, every dimension: {verdict}"]
        lines += [f"  {name:<30} {v}" for name, v in r.laws.items()]
    else:
        rows = [parametric.retry_jitter_bound(k) for k in ("retry-article", "retry")]
        verdict = "ok" if all(b.bound_holds for b in rows) else "violated"
        out = {"retriers": [{"retrier": b.retrier, "worst_ratio": str(b.worst_ratio),
                             "attained": b.attained, "bound_holds": b.bound_holds,
                             "witness": {k: str(v) for k, v in (b.witness or {}).items()} or None}
                            for b in rows]}
        lines = [f"retry: delay <= max_delay over the reals: {verdict}"]
        for b in rows:
            lines.append(f"  {b.retrier:<14} sup delay = {b.worst_ratio} x max_delay "
                         f"({'attained' if b.attained else 'not attained'}): " +
                         ("holds" if b.bound_holds else "refuted by " + ", ".join(
                             f"{k}={v}" for k, v in b.witness.items())))
    click.echo(json.dumps(envelope(verdict=verdict, **out)) if as_json else "\n".join(lines))
    sys.exit(EXIT[verdict])


@main.command()
@click.argument("trace_path", metavar="TRACE.json", type=click.Path())
@click.option("--model", "model_name", metavar="MODEL",
              help="The model of an ITF trace written by another tool (Apalache, Quint): its "
                   "variables must be the trace's. With a kripke trace, it must be the trace's.")
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Set a parameter of --model (with a kripke trace: must agree with it).")
@click.option("--property", "prop", metavar="NAME",
              help="The property whose violation an ITF trace of another tool shows (none: it "
                   "is only checked to be a behaviour of the model).")
def replay(trace_path, model_name, params, prop):
    """Re-execute a trace against its model and confirm its violation. TRACE is kripke's trace
    JSON, or ITF (Apalache's ADR-015): as kripke render writes it, or as another tool does,
    replayed against --model (each state must follow from the one before by a step of it)."""
    from kripke.common import read_json
    from kripke.models.system import load_model
    from kripke.traces.itf import foreign_trace, from_itf, has_kripke_meta, is_itf
    from kripke.traces.trace import ReplayResult, from_json
    from kripke.traces.trace import replay as replay_trace
    data = read_json(trace_path, "trace")
    if is_itf(data) and not has_kripke_meta(data):
        if model_name is None:
            _fail(f"{trace_path} is an ITF trace without kripke's #meta (model, actions): name "
                  "the model whose variables it records with --model MODEL [-p NAME=VALUE]")
        cls = load_model(model_name)
        model = cls(**parse_params(cls, params))
        trace = foreign_trace(data, model, prop, trace_path)
        if isinstance(trace, ReplayResult):
            click.echo("diverges: " + trace.message)
            sys.exit(1)
        steps = [f"  {n:>3} {step.label()}" for n, step in enumerate(trace.steps)]
        if trace.loop_start is not None:
            steps[trace.loop_start] += "   <- the loop starts here"
        if prop is None:
            result = ReplayResult(True, f"a behaviour of {trace.model}: each of its "
                                        f"{len(trace.steps) - 1} steps is a step of the model "
                                        "(no --property given: no violation confirmed)")
        else:
            result = replay_trace(trace)
        click.echo(("ok: " if result.ok else "diverges: ") + result.message)
        click.echo("\n".join(steps))
        sys.exit(0 if result.ok else 1)
    trace = from_itf(data, trace_path) if is_itf(data) else from_json(data, trace_path)
    if model_name is not None and model_name != trace.model:
        _fail(f"--model {model_name}: {trace_path} is a trace of {trace.model}")
    if params:
        cls = load_model(trace.model)
        values = parse_params(cls, params)
        differ = [k for k, v in values.items()
                  if trace.params.get(k, cls._params[k].default) != v]
        if differ:
            _fail(f"-p {differ[0]}: {trace_path} was recorded with {differ[0]}="
                  f"{trace.params.get(differ[0])}; leave -p out to use the trace's parameters")
    if prop is not None and prop != trace.property:
        _fail(f"--property {prop}: {trace_path} records a violation of {trace.property}")
    result = replay_trace(trace)
    click.echo(("ok: " if result.ok else "diverges: ") + result.message)
    sys.exit(0 if result.ok else 1)


@main.command()
@click.argument("model_name", metavar="MODEL", required=False)
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Set a model parameter.")
@click.option("--trace", "trace_path", type=click.Path(), metavar="T.json",
              help="A counterexample to step through (kripke JSON or ITF); its model and "
                   "parameters are the explorer's (MODEL may then be left out).")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="The port on 127.0.0.1; 0 takes any free one.")
@click.option("--no-browser", is_flag=True, help="Print the URL; do not open a browser.")
def explore(model_name, params, trace_path, port, no_browser):
    """Walk a model's states in the browser: the state's typed fields, the steps on offer (what
    each changes and breaks), the path (back, forward, jump; in the URL), the properties, the
    messages in flight and the sequence chart; a counterexample (--trace, or a check run from
    the page) to step through. Serves 127.0.0.1 only, until Ctrl-C."""
    from kripke.checkers.explicit import check as explicit_check
    from kripke.models.system import load_model
    from kripke.traces.explore import BadRequest, Explorer, serve
    trace = None
    if trace_path is not None:
        from kripke.traces.itf import load_any
        trace = load_any(trace_path)
        if model_name is not None and model_name != trace.model:
            _fail(f"--trace {trace_path} is a trace of {trace.model}, not {model_name}")
        model_name = trace.model
    if model_name is None:
        _fail("explore needs a MODEL, or a counterexample to step through with --trace")
    cls = load_model(model_name)
    values = parse_params(cls, params)
    if trace is not None:
        differ = [k for k, v in values.items() if trace.params.get(k, cls._params[k].default) != v]
        if differ:
            _fail(f"-p {differ[0]}: the trace was recorded with {differ[0]}="
                  f"{trace.params.get(differ[0])}; leave -p out to use the trace's parameters")
        values = trace.params
    model = cls(**values)

    def run_check(m, properties, max_states, time_limit):
        return explicit_check(m, properties=properties, max_states=max_states,
                              time_limit=time_limit)

    explorer = Explorer(model, run_check)
    start = None
    if trace is not None:
        try:
            info = explorer.load_trace(trace, str(trace_path))
        except BadRequest as e:
            _fail(f"--trace {trace_path}: {e}")
        start = f"path={info['path']}&at=0&trace={info['id']}"
    try:
        serve(explorer, port, open_browser=not no_browser, start_at=start,
              announce=click.echo)
    except OSError as e:
        _fail(f"cannot serve on 127.0.0.1:{port}: {e.strerror or e}"
              + (" (try --port 0 for any free port)" if port else ""))


@main.command()
@click.argument("trace_path", metavar="TRACE.json", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(),
              help="FILE.dot, FILE.svg, FILE.html or FILE.itf.json")
@click.option("--msc", is_flag=True,
              help="Draw a message sequence chart (message-passing models; FILE.svg) instead "
                   "of the path.")
def render(trace_path, output, msc):
    """Draw a trace as Graphviz (.dot/.svg) or as a self-contained HTML report, or write it in
    the Informal Trace Format of Apalache and Quint (.itf.json). TRACE is kripke's trace JSON,
    or ITF."""
    from kripke.models.system import load_model
    from kripke.traces.itf import dumps, load_any, to_itf
    from kripke.traces.render import to_dot
    from kripke.traces.report import html_report
    from kripke.traces.trace import write_atomic
    trace = load_any(trace_path)
    model = _model_of(trace)
    set_fields = model.set_fields() if model is not None else ()
    suffix = ".itf.json" if output.endswith(".itf.json") else Path(output).suffix
    if suffix not in ((".svg",) if msc else (".dot", ".svg", ".html", ".itf.json")):
        raise ParamError(f"-o {output}: the file must end in " + (".svg" if msc else
                         ".dot, .svg or .html (a drawing) or .itf.json (ITF)"))
    _ready_file(output)
    if suffix == ".itf.json":
        # ITF writes each variable by its declared type: the model must load (else: why not)
        itf = to_itf(trace, model or load_model(trace.model)(**trace.params))
        write_atomic(output, dumps(itf))
    elif msc:
        from kripke.traces.msc import sequence_chart
        chart = sequence_chart(model, trace)
        if chart is None:
            raise ParamError(f"--msc: {trace.model} is not a message-passing model")
        write_atomic(output, chart)
    elif suffix == ".html":
        write_atomic(output, html_report(trace, set_fields))
        _no_drawing_note(output)
    else:
        _draw(to_dot(trace, set_fields), output)
    click.echo(f"wrote {output}")


def _model_of(trace):
    """The trace's model with its parameters, when it can still be built (else None)."""
    from kripke.models.system import load_model
    try:
        return load_model(trace.model)(**trace.params)
    except KripkeError:
        return None


@main.command()
@click.argument("model_name", metavar="MODEL")
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE")
@click.option("-o", "--output", type=click.Path(),
              help="FILE.md or FILE.html (default: Markdown on stdout)")
@click.option("--field", "fields", multiple=True, metavar="VARIABLE",
              help="Draw the state diagram merged on these variables (repeatable), as kripke "
                   "graph --field does.")
@click.option("--property", "properties", multiple=True, metavar="NAME",
              help="Check only this property (repeatable; default: the model's default ones).")
@click.option("--symmetry/--no-symmetry", default=False, show_default=True,
              help="Count orbits under the model's symmetric domain (default: every state, as "
                   "the diagram draws them).")
@click.option("--deadlock/--no-deadlock", default=True, show_default=True,
              help="Report a reachable state with no step that is not declared terminal.")
@click.option("--max-states", type=click.IntRange(min=1), metavar="N",
              help="Store at most N states; more make the verdict incomplete (and the diagram "
                   "is not drawn).")
@click.option("--max-depth", type=click.IntRange(min=1), metavar="N",
              help="Explore (and draw) N levels; more make the verdict incomplete.")
@click.option("--time-limit", type=click.FloatRange(min=0), metavar="SECONDS",
              help="Stop the search after this many seconds: the verdict is incomplete.")
def review(model_name, params, output, fields, properties, symmetry, deadlock, max_states,
           max_depth, time_limit):
    """Spec review of MODEL: what the checker found (every property's verdict beside its
    description, each violation's counterexample), the docstring, parameters, variables,
    actions with coverage and (HTML) the state diagram. The bounds and --symmetry are check's;
    the search goes on after a violation (check --continue)."""
    from kripke.checkers.explicit import check as explicit_check
    from kripke.models.system import load_model
    from kripke.traces.review import review_html, review_markdown
    from kripke.traces.trace import write_atomic
    cls = load_model(model_name)
    model = cls(**parse_params(cls, params))
    if output and Path(output).suffix not in (".md", ".html"):
        raise ParamError(f"-o {output}: the file must end in .md or .html")
    names = list(getattr(cls, "_types", None) or {})
    for name in fields:
        if name not in names:
            raise UnknownNameError(f"variable of {cls.display_name()}", name, names)
    if output:
        _ready_file(output)
    # By default without symmetry: the counts of the diagram, and TLC's.
    result = explicit_check(model, properties=properties or None, symmetry=symmetry,
                            max_states=max_states, max_depth=max_depth, time_limit=time_limit,
                            deadlock=deadlock, keep_going=True)
    if output and output.endswith(".html"):
        write_atomic(output, review_html(model, result, fields=fields or None,
                                         max_states=max_states or 10_000, max_depth=max_depth,
                                         symmetry=result.symmetry))
        _no_drawing_note(output)
    elif output:
        write_atomic(output, review_markdown(model, result))
    else:
        click.echo(review_markdown(model, result))
    if output:
        click.echo(f"wrote {output}")


@main.command()
@click.argument("history_path", metavar="HISTORY.json", type=click.Path())
@click.option("--level", "levels", multiple=True, metavar="LEVEL",
              help="A consistency level to check (repeatable; default: all of them).")
@click.option("--budget", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="Seconds per level; when they run out the verdict is unknown.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--spec", "spec", metavar="SPEC",
              help="The object's sequential spec: register, kv, queue, stack, set or "
                   "path/to/file.py:Name (default: the history's \"spec\", else register).")
def history(history_path, levels, budget, as_json, spec):
    """Check a recorded history of client operations against consistency levels.

    Levels a spec has no definition for (causal consistency of a queue) are listed as not
    applying when no --level is given, and are bad input when asked for.
    Exit code: 0 every level holds, 1 one is violated, 3 one is unknown, 2 bad input.
    """
    from kripke.specs.consistency import (LEVELS, NotApplicable, check_history, describe,
                                          load_history)
    operations = load_history(history_path, spec=spec)
    results, absent = {}, {}
    for level in levels or LEVELS:
        try:
            results[level] = check_history(operations, level, budget_s=budget)
        except NotApplicable as e:
            if levels:
                raise
            absent[level] = e
    verdicts = {r.verdict for r in results.values()}
    verdict = "violated" if "violated" in verdicts else "unknown" if "unknown" in verdicts \
        else "ok"
    if as_json:
        from kripke.checkers.result import envelope
        click.echo(json.dumps(envelope(verdict=verdict, spec=operations.spec.name, levels={
            level: {"verdict": results[level].verdict, "explanation": results[level].explanation,
                    "violation": [operations.index(op) for op in results[level].violation]}
            if level in results else
            {"verdict": "does not apply", "explanation": str(absent[level]), "violation": []}
            for level in levels or LEVELS})))
    else:
        for level, r in results.items():
            click.echo(f"{level}: {r.verdict}" + (f" ({r.explanation})" if r.explanation else ""))
            for op in r.violation or ():
                click.echo(f"    {describe(op)}")
        reasons = {}  # the levels that do not apply, one line per reason
        for e in absent.values():
            reasons.setdefault(e.reason, []).append(e.level)
        for reason, names in reasons.items():
            if len(names) > 1:
                click.echo(f"{', '.join(names)}: do not apply (each {reason})")
            else:
                click.echo(f"{names[0]}: does not apply (it {reason})")
    sys.exit({"violated": 1, "unknown": 3, "ok": 0}[verdict])


#: ``kripke graph``'s formats: the Graphviz drawing, and the graph as data through networkx
GRAPH_FORMATS = ("svg", "dot", "graphml", "gexf")


@main.command()
@click.argument("model_name", metavar="MODEL")
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE")
@click.option("-o", "--output", required=True, type=click.Path(),
              help="FILE.svg, FILE.dot, FILE.graphml or FILE.gexf")
@click.option("--format", "fmt", metavar="|".join(GRAPH_FORMATS),
              help="The file's format (default: its suffix): svg and dot draw the graph "
                   "(Graphviz), graphml and gexf are the graph as data (networkx: notebooks, "
                   "Gephi), a node per state with one attribute per variable.")
@click.option("--field", "fields", multiple=True, metavar="VARIABLE",
              help="Merge the states equal on these variables into one node, which shows "
                   "them and the count of states it stands for (repeatable).")
@click.option("--cluster", metavar="VARIABLE",
              help="Group the nodes by this variable (svg, dot; with --field, merged on too).")
@click.option("--max-nodes", type=click.IntRange(min=1), default=None, metavar="N",
              help="Draw the whole graph when it has at most N nodes and 2N edges; above, its "
                   "strongly connected components or the neighbourhood of the initial state "
                   "(svg, dot)  [default: 30]")
@click.option("--around", type=click.IntRange(min=0), metavar="NODE",
              help="Draw the neighbourhood of the node numbered #NODE in the drawing with the "
                   "same --field options (svg, dot).")
@click.option("--radius", type=click.IntRange(min=0), metavar="R",
              help="With --around: the nodes within R steps of it, either way (default: as "
                   "many as --max-nodes allows).")
@click.option("--components", "components_only", is_flag=True,
              help="Draw the strongly connected components, however many (svg, dot).")
@click.option("--max-states", type=click.IntRange(min=1), default=10_000, show_default=True,
              metavar="N", help="Refuse a model of more than N reachable states.")
@click.option("--max-depth", type=click.IntRange(min=1), metavar="N",
              help="Only the first N levels (the initial states are level 1).")
@click.option("--symmetry/--no-symmetry", default=False, show_default=True,
              help="One node per orbit under the model's symmetric domain (tested first, as "
                   "check tests it).")
def graph(model_name, params, output, fmt, fields, cluster, max_nodes, around, radius,
          components_only, max_states, max_depth, symmetry):
    """Draw the reachable states of MODEL and the steps between them, as much as can be read
    (it says what it drew and why), or write them as a graph file (GraphML, GEXF) with each
    state's variables and each step's actions."""
    from kripke.models.system import load_model
    from kripke.traces.graph import (MAX_NODES, TooManyStates, state_view, to_networkx,
                                     write_graph)
    if fmt is None and Path(output).suffix[1:] not in GRAPH_FORMATS:
        raise ParamError(f"-o {output}: the file must end in .svg, .dot, .graphml or .gexf "
                         "(or name its format with --format)")
    fmt = fmt or Path(output).suffix[1:]
    if fmt not in GRAPH_FORMATS:
        raise UnknownNameError("graph format", fmt, GRAPH_FORMATS)
    drawing = fmt in ("svg", "dot")
    asked = [name for name, value in (("--cluster", cluster), ("--max-nodes", max_nodes),
                                      ("--around", around), ("--radius", radius),
                                      ("--components", components_only)) if value]
    if asked and not drawing:
        raise ParamError(f"{asked[0]} is for a drawing (svg, dot); a {fmt} file holds the "
                         "whole graph (merged by --field), every variable a node attribute")
    if around is not None and components_only:
        raise ParamError("--around or --components: a neighbourhood or the components")
    if radius is not None and around is None:
        raise ParamError("--radius is the neighbourhood's: name its centre with --around NODE")
    _ready_file(output)
    cls = load_model(model_name)
    model = cls(**parse_params(cls, params))
    domain = model.symmetric_domain()
    if symmetry:
        from kripke.checkers.symmetry_check import symmetry_problem
        if domain is None:
            raise ParamError(f"--symmetry: {model.display_name()} declares no symmetric domain")
        note = symmetry_problem(model, domain, [], deadlock=False)
        if note is not None:
            raise ParamError(f"--symmetry would draw a wrong graph: {note}")
    try:
        if drawing:
            view = state_view(model, fields=fields or None, cluster=cluster,
                              max_states=max_states, max_depth=max_depth, symmetry=symmetry,
                              max_nodes=max_nodes or MAX_NODES, around=around, radius=radius,
                              components_only=components_only)
        else:
            data = to_networkx(model, max_states=max_states, max_depth=max_depth,
                               symmetry=symmetry, fields=fields or None, merge=bool(fields))
    except TooManyStates as e:
        fewer = ", --symmetry (one node per orbit)" if domain is not None and not symmetry else ""
        raise ParamError(f"{e}: explore fewer with -p (a smaller instance), --max-depth N (the "
                         f"first N levels){fewer}, or raise --max-states") from None
    if drawing:
        _draw(view.digraph, output, fmt)
        click.echo(view.message)
    else:
        write_graph(data, output, fmt)
        merged = f", merged by projection onto {', '.join(fields)}" if fields else ""
        click.echo(f"{data.number_of_nodes():,} nodes and {data.number_of_edges():,} edges"
                   f"{merged}")
    click.echo(f"wrote {output}")


def _echo_rows(rows):
    """``kripke bench --json``: the rows in the JSON envelope."""
    from kripke.checkers.result import envelope
    click.echo(json.dumps(envelope(rows=rows)))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--sizes", default="5,6,7", show_default=True, help="Values of rms to explore.")
@click.option("--repeat", type=click.IntRange(min=1), default=3, show_default=True,
              help="Runs per size; the median is reported.")
@click.option("--baseline", type=click.Path(exists=True, dir_okay=False),
              help="A plain BFS script (naive_twophase.py N) to time beside kripke.")
@click.option("--liveness", is_flag=True,
              help="Time temporal properties beside the safety runs of the same models "
                   "(two-phase at --sizes, commit-2pc at its defaults).")
@click.option("--raft", is_flag=True,
              help="Time raft at its defaults with symmetry (kripke check raft), each run a "
                   "fresh process.")
@click.option("--against", metavar="CMD",
              help="With --raft: another kripke's command line (e.g. \"env PYTHONPATH=/tmp/old "
                   "python -m checkers.cli\") timed beside this one, interleaved.")
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE",
              help="With --raft: a raft parameter other than its default (repeatable).")
@click.option("--workers", type=click.IntRange(min=2), metavar="N",
              help="Time N worker processes beside one (two-phase at --sizes, raft at its "
                   "defaults, without symmetry) and print the speed-up.")
@click.option("--memory", metavar="SIZE",
              help="kripke's memory budget for every run (e.g. 600MB): the frontier spills "
                   "to disk past half of it.")
@click.option("--engine", type=click.Choice(["vector"]),
              help="vector: time the vectorised engine on two-phase at --sizes beside the plain "
                   "engine, the hand-written numpy BFS (--baseline, default "
                   "../shared/bench/numpy_twophase.py) and SPIN (../shared/bench/twophase.pml).")
@click.option("--paxos", is_flag=True,
              help="With --engine vector: time paxos instead, on both engines, at the size the "
                   "plain engine takes about a minute for (ballots 0..2, 4 values).")
def bench(as_json, sizes, repeat, baseline, liveness, raft, against, params, workers, memory,
          engine, paxos):
    """The standard performance suite: two-phase without symmetry at several sizes."""
    from kripke.checkers.bench import (run_bench, run_liveness_bench, run_paxos_vector_bench,
                                       run_raft_bench, run_vector_bench, run_workers_bench)
    if (against or params) and not raft:
        raise click.UsageError("--against and -p need --raft")
    if paxos and engine != "vector":
        raise click.UsageError("--paxos needs --engine vector")
    if paxos:
        rows = run_paxos_vector_bench(repeat)
        if as_json:
            return _echo_rows(rows)
        click.echo(f"{'model':<6} {'params':<20} {'engine':<7} {'distinct':>9} {'generated':>10} "
                   f"{'seconds':>8} {'peak MB':>8} {'vector is':>10}")
        for r in rows:
            ratio = "" if r["engine"] == "vector" else f"{r['vector_speedup']:>8.2f}x faster"
            click.echo(f"{r['model']:<6} {r['params']:<20} {r['engine']:<7} "
                       f"{r['distinct_states']:>9,} {r['states_generated']:>10,} "
                       f"{r['seconds']:>8.2f} {r['peak_rss_mb']:>8.0f} {ratio}")
        return
    if raft:
        rows = run_raft_bench(repeat, against, tuple(x for p in params for x in ("-p", p)))
        if as_json:
            return _echo_rows(rows)
        click.echo(f"{'model':<6} {'params':<9} {'distinct':>9} {'generated':>10} {'verdict':<8} "
                   f"{'seconds':>8} {'states/s':>9} {'peak MB':>8}"
                   + (f" {'baseline s':>10} {'ratio':>6}" if against else ""))
        for r in rows:
            line = (f"{r['model']:<6} {r['params']:<9} {r['distinct_states']:>9,} "
                    f"{r['states_generated']:>10,} {r['verdict']:<8} {r['seconds']:>8.2f} "
                    f"{r['states_per_s']:>9,.0f} {r['peak_rss_mb']:>8.0f}")
            if against:
                line += f" {r['baseline_seconds']:>10.2f} {r['ratio_to_baseline']:>6.2f}"
            click.echo(line)
        return
    try:
        ns = [int(x) for x in sizes.split(",")]
    except ValueError:
        raise ParamError(f"--sizes expects numbers separated by commas, got {sizes!r}")
    if engine == "vector":
        rows = run_vector_bench(ns, repeat, baseline)
        if as_json:
            return _echo_rows(rows)
        click.echo(f"{'rms':>4} {'program':<8} {'distinct':>11} {'seconds':>8} {'peak MB':>8} "
                   f"{'vector is':>10}")
        for r in rows:
            ratio = ("" if r["program"] == "vector"
                     else f"{r['vector_speedup']:>8.2f}x faster" if r["vector_speedup"] >= 1
                     else f"{1 / r['vector_speedup']:>8.2f}x slower")
            click.echo(f"{r['rms']:>4} {r['program']:<8} {r['distinct_states']:>11,} "
                       f"{r['seconds']:>8.2f} {r['peak_rss_mb']:>8.0f} {ratio}")
        return
    if workers:
        rows = run_workers_bench(ns, workers, repeat)
        if as_json:
            return _echo_rows(rows)
        click.echo(f"{'model':<10} {'params':<9} {'workers':>7} {'distinct':>10} "
                   f"{'generated':>11} {'seconds':>8} {'states/s':>9} {'peak MB':>8} "
                   f"{'speed-up':>8}  partition")
        for r in rows:
            up = f"{r['speedup']:>7.2f}x  {r['partition']}" if "speedup" in r else ""
            click.echo(f"{r['model']:<10} {r['params']:<9} {r['workers']:>7} "
                       f"{r['distinct_states']:>10,} {r['states_generated']:>11,} "
                       f"{r['seconds']:>8.2f} {r['states_per_s']:>9,.0f} "
                       f"{r['peak_rss_mb']:>8.0f} {up}")
        return
    if liveness:
        rows = run_liveness_bench(ns, repeat)
        if as_json:
            return _echo_rows(rows)
        click.echo(f"{'model':<11} {'params':<7} {'run':<9} {'distinct':>9} {'generated':>10} "
                   f"{'verdict':<9} {'seconds':>8} {'peak MB':>8}  properties")
        for r in rows:
            ratio = (f"  ({r['time_ratio']:.2f}x time, {r['memory_ratio']:.2f}x memory)"
                     if r["run"] == "liveness" else "")
            click.echo(f"{r['model']:<11} {r['params']:<7} {r['run']:<9} "
                       f"{r['distinct_states']:>9,} {r['states_generated']:>10,} "
                       f"{r['verdict']:<9} {r['seconds']:>8.2f} {r['peak_rss_mb']:>8.0f}  "
                       f"{r['properties']}{ratio}")
        return
    from kripke.checkers.frontier import parse_size
    if memory is not None and parse_size(memory) is None:
        raise ParamError(f"--memory {memory}: write a size such as 600MB or 4GB")
    rows = run_bench(ns, repeat, baseline, memory)
    if as_json:
        return _echo_rows(rows)
    click.echo(f"{'rms':>4} {'properties':>13} {'distinct':>10} {'generated':>11} {'seconds':>8} {'states/s':>9} "
               f"{'peak MB':>8}" + (f" {'baseline s':>10} {'ratio':>6}" if baseline else ""))
    for r in rows:
        line = (f"{r['rms']:>4} {r['properties']:>13} {r['distinct_states']:>10,} {r['states_generated']:>11,} "
                f"{r['seconds']:>8.2f} {r['states_per_s']:>9,.0f} {r['peak_rss_mb']:>8.0f}")
        if baseline:
            line += f" {r['baseline_seconds']:>10.2f} {r['ratio_to_baseline']:>6.2f}"
        click.echo(line)


if __name__ == "__main__":
    main()

"""Counterexample traces: the versioned JSON format, loading with validation, and replay.

Format (DESIGN.md)::

    {"format": "kripke-trace", "version": 1, "model", "params", "property", "kind",
     "steps": [{"action", "args", "state"}...], "loop_start": null|int}

Step 0 is the initial state (``action`` null). States are plain JSON, one key per variable. A
step whose action raised has ``"state": null`` and an ``"error"``. Loading parses JSON and checks
its shape; it never executes anything from the file.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from checkers.errors import KripkeError, TraceFormatError

__all__ = ["Step", "Trace", "load", "read_json", "replay", "ReplayResult", "format_value", "FORMAT", "VERSION"]

FORMAT, VERSION = "kripke-trace", 1
KINDS = ("invariant", "step", "refinement", "always_possible", "deadlock", "exception",
         "liveness")


@dataclass
class Step:
    action: str  # None for the initial state
    args: dict
    state: dict  # None when the action raised
    error: str = None

    def label(self):
        if self.action is None:
            return "init"
        args = ", ".join(f"{k}={format_value(v)}" for k, v in self.args.items())
        return f"{self.action}({args})"


@dataclass
class Trace:
    model: str
    params: dict
    property: str
    kind: str
    steps: list = field(default_factory=list)
    loop_start: int = None

    def to_json(self):
        return {
            "format": FORMAT, "version": VERSION,
            "model": self.model, "params": self.params,
            "property": self.property, "kind": self.kind,
            "steps": [dict({"action": s.action, "args": s.args, "state": s.state},
                           **({"error": s.error} if s.error is not None else {}))
                      for s in self.steps],
            "loop_start": self.loop_start,
        }

    def save(self, path):
        Path(path).write_text(json.dumps(self.to_json(), indent=1) + "\n")


def format_value(v):
    """Compact, readable text for a JSON value: records as ``Prepared(rm=0)``."""
    if isinstance(v, dict):
        if "type" in v and isinstance(v["type"], str):
            body = ", ".join(f"{k}={format_value(x)}" for k, x in v.items() if k != "type")
            return f"{v['type']}({body})"
        return "{" + ", ".join(f"{k}: {format_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(format_value(x) for x in v) + "]"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def read_json(path, what):
    """Parse the JSON file ``path`` (a ``what``: "trace", "history"), evaluating nothing; a
    file that cannot be read, is not text or is not JSON is a ``TraceFormatError``."""
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise TraceFormatError(f"cannot read {what} {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise TraceFormatError(f"{path} is not text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise TraceFormatError(f"{path} is not JSON ({e.msg} at line {e.lineno})") from None


def load(path):
    """Read and validate a trace file; any defect is a ``TraceFormatError`` naming it."""
    return from_json(read_json(path, "trace"), path)


def from_json(data, path="trace"):
    def bad(why):
        return TraceFormatError(f"{path}: {why}")
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise bad(f"not a kripke trace (no \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise bad(f"trace version {data.get('version')!r}; this kripke reads version {VERSION}")
    for key, typ in (("model", str), ("params", dict), ("property", str), ("kind", str),
                     ("steps", list)):
        if not isinstance(data.get(key), typ):
            raise bad(f"field {key!r} is missing or not a {typ.__name__}")
    if data["kind"] not in KINDS:
        raise bad(f"unknown kind {data['kind']!r}")
    if not data["steps"]:
        raise bad("a trace needs at least the initial state")
    steps = []
    for n, raw in enumerate(data["steps"]):
        if not isinstance(raw, dict) or not {"action", "args", "state"} <= raw.keys():
            raise bad(f"step {n} needs action, args and state")
        if (raw["action"] is None) != (n == 0) or not isinstance(raw["args"], dict):
            raise bad(f"step {n} has a malformed action or args")
        if raw["state"] is None and "error" not in raw:
            raise bad(f"step {n} has no state")
        steps.append(Step(raw["action"], raw["args"], raw["state"], raw.get("error")))
    loop = data.get("loop_start")
    if loop is not None and not (isinstance(loop, int) and 0 <= loop < len(steps)):
        raise bad(f"loop_start {loop!r} is not a step index")
    return Trace(data["model"], data["params"], data["property"], data["kind"], steps, loop)


@dataclass
class ReplayResult:
    ok: bool
    message: str
    step: int = None  # where it diverged


def replay(trace):
    """Re-execute ``trace`` against its model: does it reproduce every step and the violation?

    Bad input (unknown model or parameters, states of another model) raises ``KripkeError``.
    """
    from models.system import load_model
    cls = load_model(trace.model)
    try:
        model = cls(**trace.params)
    except KripkeError as e:
        raise TraceFormatError(f"trace parameters do not fit {trace.model}: {e}") from None
    first = trace.steps[0].state
    expected = model.encode(next(iter(model.init())))
    if isinstance(expected, dict) and (not isinstance(first, dict) or set(first) != set(expected)):
        fields = sorted(first) if isinstance(first, dict) else type(first).__name__
        raise TraceFormatError(
            f"the trace's states have fields {fields}, but {trace.model} has "
            f"{sorted(expected)}: a trace of another model?")
    previous = current = None
    for s in model.init():
        if model.encode(s) == first:
            current = s
            break
    if current is None:
        return ReplayResult(False, "step 0: the trace's initial state is not an initial state "
                                   "of the model", 0)
    for n, step in enumerate(trace.steps[1:], start=1):
        if step.action not in model._actions:
            return ReplayResult(False, f"step {n}: the model has no action {step.action!r}", n)
        fn = getattr(model, step.action)
        try:
            args = model.action_args_from(step.action, step.args, current)
        except KeyError as e:
            return ReplayResult(False, f"step {n}: {step.label()} lacks argument {e}", n)
        except LookupError as e:
            return ReplayResult(False, f"step {n}: {step.label()} cannot be taken: {e}", n)
        if step.error is not None:
            try:
                fn(current, *args)
            except Exception as e:  # the finding being replayed
                got = f"{type(e).__name__}: {e}"
                if got == step.error:
                    return ReplayResult(True, f"reproduced: step {n} {step.label()} raises {got}")
                return ReplayResult(False, f"step {n}: {step.label()} raised {got}, the trace "
                                           f"records {step.error}", n)
            return ReplayResult(False, f"step {n}: {step.label()} no longer raises "
                                       f"{step.error}", n)
        out = fn(current, *args)
        outs = [] if out is None else out if type(out) is list else [out]
        if not outs:
            return ReplayResult(False, f"step {n}: {step.label()} is not enabled in the state "
                                       f"of step {n - 1}", n)
        match = next((t for t in outs if model.encode(t) == step.state), None)
        if match is None:
            got = model.encode(outs[0])
            diff = ([k for k in got if got[k] != step.state.get(k)] if isinstance(got, dict)
                    else ["state"])
            return ReplayResult(False, f"step {n}: {step.label()} leads to a different state "
                                       f"(fields {', '.join(diff)} differ from the trace)", n)
        previous, current = current, match
    return _confirm(model, trace, previous, current)


def _confirm(model, trace, previous, last):
    """The trace's path replays; does its last state (or step) show the recorded violation?"""
    n = len(trace.steps) - 1
    if trace.kind == "deadlock":
        if any(True for _ in model.successors(last)) or model.terminal(last):
            return ReplayResult(False, f"step {n}: the last state is not a deadlock", n)
        return ReplayResult(True, f"reproduced: deadlock after {n} steps")
    if trace.kind == "exception":
        return ReplayResult(False, "an exception trace must end with the step that raised", n)
    prop = next((p for p in model.properties if p.name == trace.property), None)
    if prop is None:
        return ReplayResult(False, f"{trace.model} has no property {trace.property!r}", n)
    if trace.kind == "invariant":
        if prop.condition(model, last):
            return ReplayResult(False, f"step {n}: {trace.property} holds in the last state", n)
        return ReplayResult(True, f"reproduced: {trace.property} violated after {n} steps")
    if trace.kind == "always_possible":
        if _can_reach(model, last, prop):
            return ReplayResult(False, f"step {n}: a state satisfying {prop.name} is still "
                                       "reachable from the last state", n)
        return ReplayResult(True, f"reproduced: after {n} steps {prop.name} can never hold again")
    if trace.kind in ("refinement", "step"):
        if trace.kind == "refinement":
            check = prop.checker(model)
            broken = not (check.init_ok(last) if n == 0 else check.step_ok(previous, last))
        else:
            broken = n > 0 and not prop.condition(model, previous, last)
        if not broken:
            return ReplayResult(False, f"step {n}: the last step is allowed by {prop.name}", n)
        return ReplayResult(True, f"reproduced: {trace.property} violated by step {n}")
    return ReplayResult(False, f"cannot confirm a violation of kind {trace.kind}", n)


def _can_reach(model, s, prop):
    """Is a state satisfying ``prop`` reachable from ``s``? (A plain search of what follows s.)"""
    seen, todo = {s}, [s]
    while todo:
        u = todo.pop()
        if prop.condition(model, u):
            return True
        for _, _, t in model.successors(u):
            if t not in seen:
                seen.add(t)
                todo.append(t)
    return False

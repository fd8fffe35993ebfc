"""Counterexample traces: the versioned JSON format, loading with validation, and replay.

Format (DESIGN.md)::

    {"format": "kripke-trace", "version": 1, "model", "params", "property", "kind",
     "steps": [{"action", "args", "state"}...], "loop_start": null|int}

Step 0 is the initial state (``action`` null). States are plain JSON, one key per variable. Only
the last step may carry an ``"error"`` (``"Type: message"``): with ``"state": null`` when its action
raised, with the state when a property (named by ``property``) or ``terminal()`` raised on it.
Loading parses JSON and checks its shape; it never executes anything from the file.

Replay (issue 9, "replay cannot be fooled") re-executes the steps, comparing states and arguments
as typed JSON (``true`` is not ``1``, ``1`` is not ``1.0``), and confirms the violation by the rules
of the property's own kind; a trace whose kind does not fit its property is bad input.
"""

import inspect
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from kripke.common import read_json
from kripke.errors import KripkeError, TraceFormatError, UnknownNameError
from kripke.models.types import Domain, encode_value, json_equal

__all__ = ["Step", "Trace", "load", "replay", "ReplayResult", "format_value",
           "json_equal", "encode_any", "walk_trace", "write_atomic", "FORMAT", "VERSION"]

FORMAT, VERSION = "kripke-trace", 1
#: the kinds of violation a trace may record (DESIGN.md, ``kripke check --json``)
KINDS = ("invariant", "sometimes", "always_possible", "step", "refinement", "deadlock", "type",
         "liveness", "exception")
#: the kinds named after a property of the model, whose kind they must be
PROPERTY_KINDS = ("invariant", "always_possible", "step", "refinement")
#: the property of a trace made by ``kripke conformance`` (checkers/conformance.py): the
#: implementation's last step, which the model cannot take, so replay diverges there
CONFORMANCE = "conformance"
SOMETIMES = ("a sometimes violation (no reachable state satisfies it) cannot be confirmed by a "
             "trace; run kripke check")


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
    #: a liveness counterexample found without the model's fairness (``--no-fairness``)
    fairness: bool = True

    def to_json(self):
        return {
            "format": FORMAT, "version": VERSION,
            "model": self.model, "params": self.params,
            "property": self.property, "kind": self.kind,
            "steps": [dict({"action": s.action, "args": s.args, "state": s.state},
                           **({"error": s.error} if s.error is not None else {}))
                      for s in self.steps],
            "loop_start": self.loop_start,
            **({} if self.fairness else {"fairness": False}),
        }

    def save(self, path):
        write_atomic(path, json.dumps(self.to_json(), indent=1) + "\n")


def write_atomic(path, data):
    """Write ``data`` (text or bytes) to ``path`` whole or not at all: into a new file beside it,
    renamed over ``path`` once complete (issue 10, item 5: never a 0-byte or half-written file,
    and a reader sees the old file or the new one)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0o666 less the umask
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
        steps.append(Step(raw["action"], raw["args"], raw["state"], raw.get("error")))
    why = _malformed_steps(steps)
    if why:
        raise bad(why)
    loop = data.get("loop_start")
    if loop is not None and not (type(loop) is int and 0 <= loop < len(steps)):
        raise bad(f"loop_start {loop!r} is not a step index")
    if (loop is None) != (data["kind"] != "liveness"):
        raise bad("a liveness trace is a lasso and needs loop_start; other kinds have none"
                  if loop is None else f"a {data['kind']} trace has no loop (loop_start)")
    fairness = data.get("fairness", True)
    if type(fairness) is not bool:
        raise bad(f"fairness {fairness!r} is not true or false")
    return Trace(data["model"], data["params"], data["property"], data["kind"], steps, loop,
                 fairness)


def _malformed_steps(steps):
    """What is wrong with the shape of ``steps``, or None: every step records a state, but the
    last may record an error instead (its action raised); only the last step records an error."""
    last = len(steps) - 1
    for n, step in enumerate(steps):
        if step.error is not None and not isinstance(step.error, str):
            return f"step {n} has an error that is not a string \"Type: message\""
        if step.error is not None and n < last:
            return (f"step {n} records an error but is not the last step (the step that raised "
                    "ends its trace)")
        if step.state is None and (step.error is None or n == 0):
            return f"step {n} has no state"
    return None


@dataclass
class ReplayResult:
    ok: bool
    message: str
    step: int = None  # where it diverged


def walk_trace(model, walk, prop, kind):
    """The trace of a walk ``[(action, args, state)...]`` (the first action None), as the random
    strategies record them; the last state of a ``type`` violation is encoded by ``encode_any``."""
    from kripke.models.system import model_spec
    steps = [Step(name, model.action_args(name, args) if name else {},
                  encode_any(model, s) if kind == "type" and n == len(walk) - 1
                  else model.encode(s))
             for n, (name, args, s) in enumerate(walk)]
    return Trace(model_spec(type(model)), model.params, prop, kind, steps)


def encode_any(model, t):
    """A state as JSON even when it is not well typed (the last state of a ``type`` trace): each
    field by ``encode_value`` rather than by its declared type, which may not fit the value."""
    if model.variables is not None and type(t) is model.State:
        return {n: encode_value(v) for n, v in zip(t._fields, t)}
    return encode_value(t)


def _encodings(model, t, loose):
    """The JSON a trace may record for ``t``: ``model.encode(t)``; with ``loose`` (the last state
    of a ``type`` trace), or when the declared types cannot encode ``t``, also ``encode_any``."""
    try:
        found = [model.encode(t)]
    except Exception:  # a value the declared type cannot encode: only an ill-typed state
        found, loose = [], True
    return found + [encode_any(model, t)] if loose else found


def replay(trace):
    """Re-execute ``trace`` against its model: does it reproduce every step and the violation?

    States and arguments are compared as typed JSON (``json_equal``); the violation is confirmed
    by the rules of its property's kind. Bad input (unknown model or parameters, states of another
    model, a kind that does not fit the property, a violation no trace can show) raises
    ``KripkeError``.
    """
    from kripke.models.system import load_model
    cls = load_model(trace.model)
    try:
        model = cls(**trace.params)
    except KripkeError as e:
        raise TraceFormatError(f"trace parameters do not fit {trace.model}: {e}") from None
    why = _malformed_steps(trace.steps)
    if why:
        raise TraceFormatError(f"the trace's {why}")
    first = trace.steps[0].state
    expected = model.encode(next(iter(model.init())))
    if isinstance(expected, dict) and (not isinstance(first, dict) or set(first) != set(expected)):
        fields = sorted(first) if isinstance(first, dict) else type(first).__name__
        raise TraceFormatError(
            f"the trace's states have fields {fields}, but {trace.model} has "
            f"{sorted(expected)}: a trace of another model?")
    prop = _property_of(model, trace)
    last = len(trace.steps) - 1
    conformance = trace.property == CONFORMANCE and trace.kind == "refinement"
    loose = trace.kind == "type"  # the last state, outside its types, as encode_any writes it
    previous = None
    states = []  # the states of the steps replayed (a lasso's are all looked at again)
    current = next((s for s in model.init() if any(
        json_equal(e, first) for e in _encodings(model, s, loose and last == 0))), None)
    if current is None:
        return ReplayResult(False, "step 0: the trace's initial state is not an initial state "
                                   "of the model", 0)
    for n, step in enumerate(trace.steps[1:], start=1):
        call = _call(model, step, current, n, lenient=conformance and n == last)
        if isinstance(call, ReplayResult):
            return call
        out, error = _run(call)
        if step.state is None:  # the action raised: the finding being replayed
            if error is None:
                return ReplayResult(False, f"step {n}: {step.label()} no longer raises "
                                           f"{step.error}", n)
            if error != step.error:
                return ReplayResult(False, f"step {n}: {step.label()} raised {error}, the trace "
                                           f"records {step.error}", n)
            return ReplayResult(True, f"reproduced: step {n} {step.label()} raises {error}")
        if error is not None:
            return ReplayResult(False, f"step {n}: {step.label()} raised {error}; the trace "
                                       "records the state it led to", n)
        outs = [] if out is None else out if type(out) is list else [out]
        if not outs:
            return ReplayResult(False, f"step {n}: {step.label()} is not enabled in the state "
                                       f"of step {n - 1}", n)
        encoded = [_encodings(model, t, loose and n == last) for t in outs]
        k = next((i for i, es in enumerate(encoded) if any(json_equal(e, step.state)
                                                             for e in es)), None)
        if k is None:
            return ReplayResult(False, f"step {n}: {step.label()} leads to a different state "
                                       f"({_difference(encoded[0][0], step.state)})", n)
        states.append(current)
        previous, current = current, outs[k]
    if trace.kind == "liveness":
        return _confirm_lasso(model, trace, prop, states + [current])
    return _confirm(model, trace, prop, previous, current)


def _call(model, step, s, n, lenient=False):
    """The call of the action that ``step`` records, made in state ``s``: its thunk, found among
    the model's calls in ``s`` by comparing arguments as typed JSON (so ``rm=true`` is not the
    call ``rm=1``), or a ``ReplayResult`` saying why there is none.

    A step that no state could make (an action the model does not have, arguments it does not
    take, a value outside a declared domain) is bad input, a ``TraceFormatError`` (issue 10,
    item 5), unless ``lenient`` (an implementation's step, which replay reports as diverging);
    a value of a state-dependent domain that is not on offer in ``s`` diverges.
    """
    misfit = _misfit(model, step)
    if misfit and not lenient:
        raise TraceFormatError(f"step {n}: {misfit}: a trace of another model, or edited?")
    if misfit:
        return ReplayResult(False, f"step {n}: {misfit}", n)
    offered = []
    try:
        for name, args, thunk in model.each_call(s):
            if name == step.action:
                named = model.action_args(name, args)
                if json_equal(named, step.args):
                    return thunk
                offered.append(Step(name, named, None).label())
    except KripkeError:
        raise
    except Exception as e:  # a state-dependent domain raised
        return ReplayResult(False, f"step {n}: the calls of {step.action} in the state of step "
                                   f"{n - 1} cannot be listed: {type(e).__name__}: {e}", n)
    listed = ", ".join(offered[:4]) + (", ..." if len(offered) > 4 else "") or "none"
    return ReplayResult(False, f"step {n}: {step.label()} cannot be taken: it is not a call of "
                               f"the model in the state of step {n - 1} (on offer: {listed})", n)


def _misfit(model, step):
    """Why no state of ``model`` has the call ``step`` records, or None: the action is not the
    model's, an argument is missing or unknown, or a value lies outside its declared (static)
    domain."""
    if step.action not in model._actions:
        actions = ", ".join(model._actions) or "(none)"
        return f"the model has no action {step.action!r} (its actions: {actions})"
    params = list(inspect.signature(getattr(model, step.action)).parameters)[1:]
    missing = [p for p in params if p not in step.args]
    if missing:
        return f"{step.label()} lacks argument {missing[0]!r}"
    extra = [a for a in step.args if a not in params]
    if extra:
        return f"{step.label()}: {step.action} has no argument {extra[0]!r}"
    for p, each in zip(params, model._actions[step.action].each):
        domain = model._domain(each)
        if not isinstance(domain, Domain):  # state-dependent: on offer or not, state by state
            continue
        values = [encode_value(v) for v in domain.values(model)]
        if not any(json_equal(v, step.args[p]) for v in values):
            listed = ", ".join(_dump(v) for v in values[:6]) + (", ..." if len(values) > 6
                                                                 else "")
            return (f"{step.label()}: {p}={_dump(step.args[p])} is outside the domain of "
                    f"{step.action}'s {p} ({domain.name}: {listed})")
    return None


def _run(fn, *args):
    """``(result, None)``, or ``(None, "Type: message")`` when the model's code raised (a
    ``KripkeError``, bad input, still propagates)."""
    try:
        return fn(*args), None
    except KripkeError:
        raise
    except Exception as e:  # the model's own code: compared with the trace, never a traceback
        return None, f"{type(e).__name__}: {e}"


def _difference(got, want):
    """Which fields of the model's state ``got`` differ from the trace's ``want``, and how."""
    if not (isinstance(got, dict) and isinstance(want, dict)):
        return f"the model gives {_dump(got)}, the trace records {_dump(want)}"
    keys = list(got) + [k for k in want if k not in got]
    diff = [k for k in keys if k not in got or k not in want or not json_equal(got[k], want[k])]
    k = diff[0]
    return (f"fields {', '.join(diff)} differ from the trace: {k} is "
            f"{_dump(got[k]) if k in got else 'absent'} in the model, "
            f"{_dump(want[k]) if k in want else 'absent'} in the trace")


def _dump(v, width=60):
    """A JSON value as the trace file writes it (``true``, ``1``, ``1.0``, ``"1"``), cut short."""
    text = json.dumps(v, default=repr)
    return text if len(text) <= width else text[:width - 3] + "..."


def _a(word):
    return ("an " if word[0] in "aeiou" else "a ") + word


def _property_of(model, trace):
    """The property whose violation ``trace`` records (None for a kind that names none),
    checked to fit the trace's kind: a trace that does not fit is a ``TraceFormatError``."""
    kind, name, last = trace.kind, trace.property, trace.steps[-1]
    n = len(trace.steps) - 1
    if kind not in KINDS:
        raise TraceFormatError(f"unknown kind {kind!r}")
    if kind == "sometimes":
        raise TraceFormatError(f"the trace says {name} is violated as a sometimes property: "
                               f"{SOMETIMES}")
    if name == CONFORMANCE and kind == "refinement":
        return None  # an implementation's step, not the model's: replay diverges at it
    if last.error is not None and kind != "exception":
        raise TraceFormatError(f"step {n} records an error ({last.error}), but the trace's kind "
                               f"is {kind}: only an exception trace ends with an error")
    if kind == "deadlock" and name != "deadlock":
        raise TraceFormatError(f"a deadlock trace names the property 'deadlock', this one "
                               f"{name!r}")
    if kind == "type":
        if name != "type_ok":
            raise TraceFormatError(f"a type trace names the property 'type_ok', this one "
                                   f"{name!r}")
        if model.variables is None:
            raise TraceFormatError(f"{trace.model} declares no types for its variables: it has "
                                   "no type violation to confirm")
    if kind == "step" and n == 0:
        raise TraceFormatError(f"a step property is violated by a step, and the trace of {name} "
                               "has only its initial state")
    if kind == "liveness":
        prop = _lookup(model, trace)
        if not prop.temporal:
            raise TraceFormatError(f"{name} is {_a(prop.kind)} property, the trace says liveness: "
                                   "a lasso shows a temporal property failing")
        return prop
    if kind not in PROPERTY_KINDS + ("exception",):
        return None
    if kind == "exception":
        if last.state is None and name != "exception":
            raise TraceFormatError(f"the last step's action raised (its state is null), so the "
                                   f"trace's property is 'exception', not {name!r}")
        if last.state is None or last.error is None or name in ("exception", "terminal()"):
            return None
    prop = _lookup(model, trace)
    if kind == "exception":  # the property raised when evaluated: any kind of property may
        if prop.kind == "step" and n == 0:
            raise TraceFormatError(f"{name} is a step property: it cannot raise on an initial "
                                   "state alone")
        return prop
    if prop.kind != kind:
        why = (SOMETIMES if prop.kind == "sometimes" else
               "replay confirms a violation by the rules of its property's kind (a trace edited "
               "by hand, or of another version of the model?)")
        raise TraceFormatError(f"{name} is {_a(prop.kind)} property, the trace says {kind}: "
                               f"{why}")
    return prop


def _lookup(model, trace):
    for p in model.properties:
        if p.name == trace.property:
            return p
    if trace.property == "type_ok" and model.variables is not None:
        from kripke.specs.properties import type_ok  # every typed model's TypeOK, listed or not
        return type_ok
    raise UnknownNameError(f"property of {trace.model}", trace.property,
                           [p.name for p in model.properties])


def _evaluate(model, prop, previous, last):
    """``prop`` on the last state (or step) of a trace, by the rules of its kind."""
    if prop.kind == "refinement":
        check = prop.checker(model)
        return check.init_ok(last) if previous is None else check.step_ok(previous, last)
    if prop.kind == "step":
        return prop.condition(model, previous, last)
    return prop.condition(model, last)


def _confirm(model, trace, prop, previous, last):
    """The trace's path replays; does its last state (or step) show the recorded violation?"""
    n, kind, step = len(trace.steps) - 1, trace.kind, trace.steps[-1]
    if trace.property == CONFORMANCE and kind == "refinement":
        return ReplayResult(False, f"step {n}: the model takes the implementation's last step "
                                   "too: the trace shows no conformance violation", n)
    if kind == "deadlock":
        stuck, error = _run(lambda: not any(True for _ in model.successors(last))
                            and not model.terminal(last))
        if error is not None:
            return _raised(n, "checking the last state for a deadlock", error)
        if not stuck:
            return ReplayResult(False, f"step {n}: the last state is not a deadlock", n)
        return ReplayResult(True, f"reproduced: deadlock after {n} steps")
    if kind == "type":
        if type(last) is not model.State:
            return ReplayResult(True, f"reproduced: after {n} steps the state is a "
                                      f"{type(last).__name__}, not a {trace.model} State record")
        field, error = _run(model.type_ok, last)
        if error is not None:
            return _raised(n, "checking the types of the last state", error)
        if field is None:
            return ReplayResult(False, f"step {n}: the last state is well typed", n)
        value = getattr(last, field)
        return ReplayResult(True, f"reproduced: after {n} steps {field} = {value!r} "
                                  f"({type(value).__name__}) is outside its declared type "
                                  f"{model._types[field]!r}")
    if kind == "exception":
        if step.error is None or prop is None and trace.property != "terminal()":
            return ReplayResult(False, "an exception trace must end with the step that raised",
                                n)
        if prop is None:
            what, value, error = "terminal()", *_run(model.terminal, last)
        else:
            what, value, error = trace.property, *_run(_evaluate, model, prop, previous, last)
        if error is None:
            return ReplayResult(False, f"step {n}: {what} no longer raises {step.error} on the "
                                       f"last state (it returns {value!r})", n)
        if error != step.error:
            return ReplayResult(False, f"step {n}: {what} raised {error} on the last state, the "
                                       f"trace records {step.error}", n)
        return ReplayResult(True, f"reproduced: {what} raises {error} on the state after {n} "
                                  "steps")
    if kind == "invariant":
        holds, error = _run(prop.condition, model, last)
        if error is not None:
            return _raised(n, f"evaluating {prop.name} on the last state", error)
        if holds:
            return ReplayResult(False, f"step {n}: {trace.property} holds in the last state", n)
        return ReplayResult(True, f"reproduced: {trace.property} violated after {n} steps")
    if kind == "always_possible":
        reachable, error = _run(_can_reach, model, last, prop)
        if error is not None:
            return _raised(n, f"searching for a state satisfying {prop.name}", error)
        if reachable:
            return ReplayResult(False, f"step {n}: a state satisfying {prop.name} is still "
                                       "reachable from the last state", n)
        return ReplayResult(True, f"reproduced: after {n} steps {prop.name} can never hold again")
    if kind in ("refinement", "step"):
        allowed, error = _run(_evaluate, model, prop, previous, last)
        if error is not None:
            return _raised(n, f"evaluating {prop.name} on the last step", error)
        if allowed:
            return ReplayResult(False, f"step {n}: the last step is allowed by {prop.name}", n)
        return ReplayResult(True, f"reproduced: {trace.property} violated by step {n}")
    return ReplayResult(False, f"cannot confirm a violation of kind {kind}", n)


def _confirm_lasso(model, trace, prop, states):
    """The lasso replays: does its loop close, does ``prop`` fail on the behaviour that repeats
    the loop for ever, and is that behaviour fair (unless the trace was found without
    fairness)? WF: every weakly fair call enabled in every state of the loop is taken in it;
    SF: every strongly fair call enabled in some state of it is taken in it."""
    k, n = trace.loop_start, len(states) - 1
    if k < n and not json_equal(model.encode(states[n]), model.encode(states[k])):
        return ReplayResult(False, f"step {n}: the loop does not close: the last state is not "
                                   f"the state of step {k} (loop_start)", n)
    fails, error = _run(_lasso_fails, model, prop, states, k)
    if error is not None:
        return _raised(n, f"evaluating {prop.name} on the lasso", error)
    if fails is None:
        return ReplayResult(False, f"{prop.name} holds on the behaviour that repeats steps "
                                   f"{k + 1}-{n} for ever" if k < n else
                                   f"{prop.name} holds on the behaviour that stutters at step "
                                   f"{n} for ever", n)
    unfair, error = (None, None) if not trace.fairness else _run(_unfair, model, trace, states)
    if error is not None:
        return _raised(n, "listing the calls enabled in the loop", error)
    if unfair is not None:
        return ReplayResult(False, f"the loop is not fair: {unfair}", n)
    loop = f"repeats steps {k + 1}-{n} for ever" if k < n else f"stutters at step {n} for ever"
    fair = "fair (every fair call taken or disabled as its fairness asks)" if trace.fairness \
        else "without fairness"
    return ReplayResult(True, f"reproduced: {prop.name}{fails} fails on the behaviour that "
                              f"{loop}, {fair}")


def _lasso_fails(model, prop, states, k):
    """Does ``prop`` fail on the behaviour ``states[:k]`` then ``states[k:]`` for ever? The
    instance it fails for (" for participant=1", or "") or None."""
    loop = states[k:-1] or states[k:]
    for label, p, q in prop.instances(model):
        if prop.kind == "eventually":
            fails = not any(p(s) for s in states)
        elif prop.kind == "always_eventually":
            fails = not any(p(s) for s in loop)
        elif prop.kind == "eventually_always":
            fails = not all(p(s) for s in loop)
        else:  # leads_to: P at some step i, and Q at no step from min(i, k) on
            quiet = len(states)  # Q holds at no step from here on
            while quiet > 0 and not q(states[quiet - 1]):
                quiet -= 1
            fails = quiet <= k and any(p(s) for s in states[quiet:])
        if fails:
            return "".join(f" for {name}={_dump(v)}" for name, v in label.items())
    return None


def _unfair(model, trace, states):
    """Why the loop of a lasso is not fair, or None."""
    k = trace.loop_start
    loop = states[k:-1] or states[k:]
    taken = {(step.action, json.dumps(step.args, sort_keys=True))
             for step, before, after in zip(trace.steps[k + 1:], states[k:], states[k + 1:])
             if not json_equal(model.encode(before), model.encode(after))}
    enabled = []  # per state of the loop: {call: fairness} of the fair calls that change it
    for s in loop:
        here = {}
        for name, args, t in model.successors(s):
            strength = model.fairness(name)
            if strength is not None and not json_equal(model.encode(t), model.encode(s)):
                here[(name, json.dumps(model.action_args(name, args), sort_keys=True))] = \
                    strength
        enabled.append(here)
    for call in sorted(set().union(*enabled)):
        if call in taken:
            continue
        strength = next(e[call] for e in enabled if call in e)
        label = Step(call[0], json.loads(call[1]), None).label()
        if strength == "weak" and all(call in e for e in enabled):
            return (f"{label} is weakly fair, enabled in every state of the loop and never "
                    "taken in it")
        if strength == "strong":
            return f"{label} is strongly fair, enabled in the loop and never taken in it"
    return None


def _raised(n, what, error):
    return ReplayResult(False, f"step {n}: {what} raised {error}; the trace records a violation, "
                               "not an exception", n)


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

"""Traces in the Informal Trace Format (ITF) of Apalache and Quint, written and read back.

ITF is Apalache's ADR-015 (https://apalache-mc.org/docs/adr/015adr-trace.html): a trace is
``{"#meta", "vars", "states", "loop"}``, a state is ``{"#meta", var: value, ...}`` defining every
variable of ``vars``, and ``loop`` is the index of the state where a lasso's loop starts. A value
is a string, a boolean, ``{"#bigint": "-12"}`` (every integer, since the ADR's revision of
2023-09-14), a list (a TLA+ sequence), a record (a JSON object), ``{"#tup": [...]}``,
``{"#set": [...]}``, ``{"#map": [[key, value], ...]}`` (a TLA+ function) or
``{"#unserializable": "..."}``.

kripke writes each variable by its declared type (``models/types.py``), as Apalache writes the
TLA+ value the type stands for::

    Enum, Bool          "working", true
    Int, Id             {"#bigint": "3"}
    Optional(T)         Quint's Option: {"tag": "None", "value": {"#tup": []}} or
                        {"tag": "Some", "value": <T>}
    Array(D, T)         a TLA+ function [D -> T]: {"#map": [[{"#bigint": "0"}, <T>], ...]}
    Seq(T, n)           a list
    Set(T)              {"#set": [...]}
    Bag(T, n)           TLA+'s Bags, element -> count: {"#map": [[<T>, {"#bigint": "2"}], ...]};
                        a FIFO bag (ordered channels) is a list, in the order it keeps
    Map(K, V)           {"#map": [[<K>, <V>], ...]}
    record, OneOf       a record; a message keeps its tag in a field "type", as TLA+ specs
                        write messages: {"type": "Prepared", "rm": {"#bigint": "0"}}

A value that does not have the shape of its declared type (the last state of a ``type`` trace)
and every variable of an untyped model are written by their JSON shape instead: integers as
``#bigint``, lists, records, null as Quint's None, a float as ``{"#unserializable": "1.0"}``. A
state's ``#meta.untyped`` lists its variables written so, and an untyped model whose states are
not records has the one variable ``state``: reading back never guesses.

What only kripke needs rides in ``#meta``, which the ADR leaves to each tool. The trace's
``#meta.kripke`` holds the model, its parameters, the property and the kind of violation
(``fairness`` when false); each state's ``#meta`` holds the ``action`` and ``args`` (kripke's
trace JSON) of the step that led to it, and the ``error`` a property raised on it. A last step
that has no ITF state (its action raised, or it made a value that is no state record) is
``#meta.kripke.final_step``, a step as the kripke trace JSON writes it.

``from_itf`` reads such a file back into a ``Trace``, for ``kripke replay``: the ITF ``vars``
must be the variables of the model ``#meta.kripke`` names.

An ITF trace written by another tool (Apalache, Quint) has no ``#meta.kripke``: no model, no
actions. ``foreign_trace`` reads it against a model the user names (``kripke replay T.itf.json
--model MODEL``) whose variables have the trace's names: each value is read by its variable's
declared type and must lie inside it (an Enum's values, an Int's range, a Seq's length), the
first state must be an initial state of the model, and each next state must be the successor of
the one before by some step of the model, which becomes the step's action and arguments. The
result is an ordinary kripke ``Trace`` (``loop`` its ``loop_start``), replayed as any other. Sets, maps and unordered bags are put
in kripke's canonical order, so an ITF file that orders them otherwise replays the same. Reading
parses JSON and nothing else; any defect is a one-line ``TraceFormatError``.
"""

import json
import re

from kripke.common import read_json
from kripke.errors import KripkeError, TraceFormatError
# the very order and parameter lookup the types encode with, so that reading back agrees
from kripke.models.types import (Array, Bag, Bool, Enum, Id, Int, Map, OneOf, Optional,
                                 RecordType, Seq, Set, _json_sort_key, _resolve)
from kripke.traces.trace import (FORMAT, VERSION, ReplayResult, Step, Trace, _difference, _run,
                                 from_json, json_equal)

__all__ = ["to_itf", "from_itf", "foreign_trace", "has_kripke_meta", "dumps", "is_itf",
           "load_any", "ADR", "ITF_VERSION"]

ADR = "https://apalache-mc.org/docs/adr/015adr-trace.html"
#: the version of kripke's own ``#meta.kripke`` block
ITF_VERSION = 1
#: Quint's ``None`` of its ``Option`` type (an older Quint writes the value as ``{}``)
NONE = {"tag": "None", "value": {"#tup": []}}
#: the one variable of an untyped model whose states are not records
STATE = "state"
#: the ADR's ``[-][0-9]+``, within the digits Python converts to an int
_BIGINT = re.compile(r"-?[0-9]{1,4300}")


class _Mismatch(Exception):
    """A value that does not have the shape its type is written in."""


def to_itf(trace, model):
    """``trace`` (of ``model``, an instance with the trace's parameters) as an ITF object."""
    names = _variables(model)
    states, final = [], None
    for n, step in enumerate(trace.steps):
        fields = _fields(step.state, names)
        if fields is None:
            if n < len(trace.steps) - 1:
                raise TraceFormatError(f"step {n}: its state is not a record of "
                                       f"{trace.model}'s variables {names}")
            final = {"action": step.action, "args": step.args, "state": step.state}
            if step.error is not None:
                final["error"] = step.error
            break
        meta = {"index": n}
        if n:
            meta.update(action=step.action, args=step.args)
        if step.error is not None:
            meta["error"] = step.error
        state, untyped = {"#meta": meta}, []
        for name in names or [STATE]:
            state[name], typed = _write_field(model, name, fields[name], n)
            if not typed and model.variables is not None:
                untyped.append(name)
        if untyped:
            meta["untyped"] = untyped
        states.append(state)
    kripke = {"version": ITF_VERSION, "model": trace.model, "params": trace.params,
              "property": trace.property, "kind": trace.kind}
    if not trace.fairness:
        kripke["fairness"] = False
    if final is not None:
        kripke["final_step"] = final
    out = {"#meta": {"format": "ITF", "format-description": ADR, "source": trace.model,
                     "description": f"kripke counterexample: {trace.property} ({trace.kind}) "
                                    f"violated in {trace.model}",
                     "kripke": kripke},
           "vars": names or [STATE], "states": states}
    if trace.loop_start is not None:
        out["loop"] = trace.loop_start
    return out


def dumps(itf):
    """The ITF object ``itf`` as text, one line per variable of each state (``json.dumps`` with
    an indent puts every ``#bigint`` on lines of its own, and a state on a page of them)."""
    def state(s):
        return "  {" + ",\n   ".join(f"{json.dumps(k)}: {json.dumps(v)}"
                                    for k, v in s.items()) + "}"
    parts = [' "states": [\n' + ",\n".join(map(state, v)) + "\n ]" if k == "states" else
             f" {json.dumps(k)}: {json.dumps(v)}" for k, v in itf.items()]
    return "{\n" + ",\n".join(parts) + "\n}\n"


def is_itf(data):
    """Is ``data`` (parsed JSON) meant as an ITF trace: ``vars`` or ``states`` at the top, or a
    ``#meta`` saying its format is ITF?"""
    if not isinstance(data, dict) or data.get("format") == FORMAT:
        return False
    meta = data.get("#meta")
    return "vars" in data or "states" in data or (isinstance(meta, dict)
                                                  and meta.get("format") == "ITF")


def load_any(path):
    """Read the trace file ``path``: kripke's trace JSON, or ITF (told apart by ``is_itf``)."""
    data = read_json(path, "trace")
    return from_itf(data, path) if is_itf(data) else from_json(data, path)


def _shape(data, bad):
    """``(vars, states, loop)`` of an ITF object, checked for ADR-015's shape (``bad(why)``: the
    error to raise)."""
    variables, states, loop = data.get("vars"), data.get("states"), data.get("loop")
    if type(variables) is not list or not all(type(v) is str for v in variables):
        raise bad("\"vars\" is missing or not a list of variable names")
    if type(states) is not list or not states:
        raise bad("\"states\" is missing, empty or not a list of states")
    if loop is not None and not (type(loop) is int and 0 <= loop < len(states)):
        raise bad(f"\"loop\" {loop!r} is not the index of a state")
    return variables, states, loop


def from_itf(data, path="trace"):
    """The ``Trace`` an ITF object written by ``to_itf`` records; a defect is a
    ``TraceFormatError`` naming it (the file ``path``, the state, the variable)."""
    def bad(why):
        return TraceFormatError(f"{path}: {why}")
    if not isinstance(data, dict):
        raise bad("not an ITF trace (not a JSON object)")
    meta = data.get("#meta")
    kripke = meta.get("kripke") if isinstance(meta, dict) else None
    if not isinstance(kripke, dict):
        raise bad("an ITF trace without kripke's #meta.kripke (model, params, property, kind): "
                  "kripke replays the ITF traces it writes (kripke render T.json -o T.itf.json)")
    if kripke.get("version") != ITF_VERSION:
        raise bad(f"#meta.kripke version {kripke.get('version')!r}; this kripke reads version "
                  f"{ITF_VERSION}")
    for key, typ in (("model", str), ("params", dict)):
        if not isinstance(kripke.get(key), typ):
            raise bad(f"#meta.kripke.{key} is missing or not a {typ.__name__}")
    variables, states, loop = _shape(data, bad)
    model = _model(kripke, bad)
    names = _variables(model)
    if sorted(variables) != sorted(names or [STATE]):
        raise bad(f"vars {variables} are not the variables of {kripke['model']} "
                  f"({names or [STATE]}): an ITF trace of another model?")
    steps = [_read_state(model, names, state, n, bad) for n, state in enumerate(states)]
    if "final_step" in kripke:
        steps.append(kripke["final_step"])
    return from_json({"format": FORMAT, "version": VERSION, "model": kripke["model"],
                      "params": kripke["params"], "property": kripke.get("property"),
                      "kind": kripke.get("kind"), "steps": steps, "loop_start": loop,
                      **({"fairness": kripke["fairness"]} if "fairness" in kripke else {})},
                     path)


def _model(kripke, bad):
    """The model ``#meta.kripke`` names, with its parameters."""
    from kripke.models.system import load_model
    cls = load_model(kripke["model"])
    try:
        return cls(**kripke["params"])
    except KripkeError as e:
        raise bad(f"#meta.kripke.params do not fit {kripke['model']}: {e}") from None


def _variables(model):
    """The names of ``model``'s variables, in declaration order; for an untyped model the
    fields of its states, or None when they are not records (one variable ``state``)."""
    if model.variables is not None:
        return list(model._types)
    first = next(iter(model.init()), None)
    encoded = None if first is None else model.encode(first)
    return list(encoded) if isinstance(encoded, dict) else None


def _fields(state, names):
    """``{variable: value}`` of a state in trace JSON, or None when it is no record of
    ``names`` (an action raised, or a type violation made something else)."""
    if names is None:
        return None if state is None else {STATE: state}
    return state if isinstance(state, dict) and state.keys() == set(names) else None


def _write_field(model, name, value, n):
    """Variable ``name``'s ``value`` in ITF, and whether it is written by its declared type."""
    t = model._types[name] if model.variables is not None else None
    if t is not None:
        try:
            return _write(t, value, model), True
        except _Mismatch:
            pass  # outside its type's shape (a type violation): written by its JSON shape
    try:
        return _write_json(value), False
    except _Mismatch as e:
        raise TraceFormatError(f"step {n}: {name} cannot be written in ITF: {e}") from None


def _read_state(model, names, state, n, bad):
    """The kripke trace step ITF state ``n`` records."""
    if type(state) is not dict:
        raise bad(f"state {n} is not an object")
    meta = state.get("#meta", {})
    if type(meta) is not dict:
        raise bad(f"state {n}: #meta is not an object")
    if meta.get("index", n) != n:
        raise bad(f"state {n} says it is state {meta['index']!r} (#meta.index)")
    expected = names or [STATE]
    untyped = meta.get("untyped", [])
    if type(untyped) is not list or not set(untyped) <= set(expected):
        raise bad(f"state {n}: #meta.untyped is not a list of its variables")
    fields = _read_fields(model, expected, state, n, bad, untyped)
    step = {"action": None, "args": {}, "state": fields if names is not None else fields[STATE]}
    if n:
        if type(meta.get("action")) is not str or type(meta.get("args")) is not dict:
            raise bad(f"state {n}: #meta needs the action (a string) and args (an object) of "
                      "the step that led to it")
        step.update(action=meta["action"], args=meta["args"])
    if "error" in meta:
        step["error"] = meta["error"]
    return step


def _read_fields(model, expected, state, n, bad, untyped=(), within=False):
    """``{variable: trace JSON}`` of ITF state ``n``, which must define exactly the variables
    ``expected``; with ``within``, each typed value must also lie inside its declared type."""
    missing = [v for v in expected if v not in state]
    extra = [k for k in state if k != "#meta" and k not in expected]
    if missing or extra:
        raise bad(f"state {n} " + (f"lacks {', '.join(missing)}" if missing else
                                   f"has variables not in \"vars\": {', '.join(extra)}"))
    fields = {}
    for name in expected:
        t = None if model.variables is None or name in untyped else model._types[name]
        try:
            fields[name] = _read_json(state[name]) if t is None else _read(t, state[name], model)
            if within and t is not None:
                _within(t, fields[name], model)
        except _Mismatch as e:
            raise bad(f"state {n}, variable {name}: {e}") from None
    return fields


# -- traces of other tools (no #meta.kripke) -------------------------------------------------------

def has_kripke_meta(data):
    """Does the ITF object ``data`` carry kripke's ``#meta.kripke`` (written by ``to_itf``)?"""
    meta = data.get("#meta") if isinstance(data, dict) else None
    return isinstance(meta, dict) and "kripke" in meta


def foreign_trace(data, model, prop=None, path="trace"):
    """The kripke ``Trace`` of ``model`` (an instance) that the ITF object ``data``, written by
    another tool, records; or a ``ReplayResult`` saying which step no step of the model takes.

    Each state is read by the declared types of the model's variables (which the trace's must
    be, by name) and must lie inside them; the first must be an initial state of the model; each
    next state is matched, by value, against the model's successors of the state before, the
    first successor in the model's order naming the step's action and arguments (ITF records no
    actions). With ``loop`` (a lasso), a last state that is not the state at ``loop`` must lead
    back to it by a step, which is added, so that the loop closes as kripke's lassos do (the
    ADR's "the loop ends in the last state" is read either way). ``prop`` names the property
    whose violation the trace is meant to show, and gives the trace its kind; None: none (the
    trace is only a behaviour of the model, its kind "invariant" a placeholder). A defect of the
    file or a trace that cannot show ``prop`` is a one-line ``TraceFormatError``.
    """
    from kripke.models.system import model_spec
    name = model_spec(type(model))

    def bad(why):
        return TraceFormatError(f"{path}: {why}")
    if not isinstance(data, dict):
        raise bad("not an ITF trace (not a JSON object)")
    variables, states, loop = _shape(data, bad)
    expected = _variables(model) or [STATE]
    missing = [v for v in expected if v not in variables]
    extra = [v for v in variables if v not in expected]
    if missing or extra:
        raise bad((f"vars lack {', '.join(missing)}" if missing else
                   f"vars has {', '.join(extra)}, not a variable") +
                  f" of {name} ({', '.join(expected)})")
    kind = _kind_of(model, name, prop, loop)
    wanted = []
    for n, state in enumerate(states):
        if type(state) is not dict:
            raise bad(f"state {n} is not an object")
        fields = _read_fields(model, expected, state, n, bad, within=True)
        wanted.append(fields if _variables(model) is not None else fields[STATE])
    inits = [(model.encode(s), s) for s in model.init()]
    current = next((s for e, s in inits if json_equal(e, wanted[0])), None)
    if current is None:
        closest = min((e for e, _ in inits), key=lambda e: _distance(e, wanted[0]))
        raise bad(f"state 0 is not an initial state of {name}: "
                  f"{_difference(closest, wanted[0])}")
    steps = [Step(None, {}, wanted[0])]
    targets = list(enumerate(wanted[1:], start=1))
    if loop is not None and loop < len(wanted) - 1 and not json_equal(wanted[-1], wanted[loop]):
        targets.append((len(wanted), wanted[loop]))  # the step that closes the loop
    for n, want in targets:
        found = _step_to(model, current, want)
        if isinstance(found, str):
            back = f" (back to state {loop}, closing the loop)" if n == len(wanted) else ""
            return ReplayResult(False, f"step {n}: no step of {name} leads from state {n - 1} "
                                       f"to state {n}{back}: {found}", n)
        action, args, current = found
        steps.append(Step(action, model.action_args(action, args), want))
    return Trace(name, dict(model.params), prop if prop is not None else "behaviour", kind,
                 steps, loop)


def _kind_of(model, name, prop, loop):
    """The kind of violation a trace of ``prop`` shows (a lasso: liveness), or refuse a trace
    that cannot show it."""
    from kripke.traces.trace import SOMETIMES, _lookup
    if prop is None:
        return "liveness" if loop is not None else "invariant"
    if prop == "deadlock":
        kind = "deadlock"
    else:
        p = _lookup(model, Trace(name, {}, prop, None))
        if p.kind == "sometimes":
            raise TraceFormatError(f"{prop} is a sometimes property: {SOMETIMES}")
        kind = "liveness" if p.temporal else p.kind
    if (kind == "liveness") != (loop is not None):
        raise TraceFormatError(
            f"{prop} is {'a temporal' if kind == 'liveness' else 'an ' + kind} property and the "
            f"ITF trace " + ("has no \"loop\": a temporal property fails on a lasso"
                             if loop is None else f"is a lasso (\"loop\": {loop}): a lasso "
                             "shows a temporal property failing"))
    return kind


def _step_to(model, s, want):
    """``(action, args, t)``: the first step of ``model`` from ``s`` to a state encoded as
    ``want``; or, when there is none, what the closest successor gets wrong, in words."""
    closest, raised = None, []
    for action, args, thunk in model.each_call(s):
        out, error = _run(thunk)
        if error is not None:
            raised.append(f"{action} raised {error}")
            continue
        for t in [] if out is None else out if type(out) is list else [out]:
            got = model.encode(t)
            if json_equal(got, want):
                return action, args, t
            d = _distance(got, want)
            if closest is None or d < closest[0]:
                closest = (d, action, args, got)
    also = f" ({'; '.join(raised[:2])})" if raised else ""
    if closest is None:
        return f"that state has no successor{also}"
    _, action, args, got = closest
    label = Step(action, model.action_args(action, args), None).label()
    return f"the closest successor is {label}'s, and its {_difference(got, want)}{also}"


def _distance(got, want):
    """How many variables of the encoded state ``got`` differ from ``want``."""
    if not (isinstance(got, dict) and isinstance(want, dict)):
        return 0 if json_equal(got, want) else 1
    return sum(not json_equal(got.get(k), want.get(k)) for k in set(got) | set(want))


def _within(t, v, model):
    """``_Mismatch`` unless ``v`` (trace JSON of the shape of ``t``) lies inside ``t``'s bounds,
    as ``t.checker`` says of the Python value (models/types.py)."""
    if isinstance(t, Enum):
        _expect(v in t.values, f"one of {t!r}", v)
    elif isinstance(t, Int):
        lo, hi = _resolve(t.lo, model), _resolve(t.hi, model)
        _expect(lo <= v <= hi, f"an integer in {lo}..{hi}", v)
    elif isinstance(t, Id):
        size = len(t.domain.values(model))
        _expect(0 <= v < size, f"an id of {t.domain.name} (0..{size - 1})", v)
    elif isinstance(t, Optional):
        if v is not None:
            _within(t.inner, v, model)
    elif isinstance(t, Array):
        size = len(t.index.values(model))
        _expect(len(v) == size, f"a function of {t.index.name} ({size} ids)", v)
        for x in v:
            _within(t.value, x, model)
    elif isinstance(t, (Seq, Bag, Set)):
        bound = _resolve(t.max_len if isinstance(t, Seq) else t.max_size, model) \
            if not isinstance(t, Set) else None
        _expect(bound is None or len(v) <= bound, f"at most {bound} elements", v)
        if isinstance(t, Set):
            keys = [_json_sort_key(x) for x in v]
            _expect(len(set(keys)) == len(keys), "a set (each element once)", v)
        for x in v:
            _within(t.elem, x, model)
    elif isinstance(t, Map):
        bound = None if t.max_size is None else _resolve(t.max_size, model)
        _expect(bound is None or len(v) <= bound, f"at most {bound} keys", v)
        keys = [_json_sort_key(k) for k, _ in v]
        _expect(len(set(keys)) == len(keys), "a map (each key once)", v)
        for k, x in v:
            _within(t.key, k, model)
            _within(t.value, x, model)
    elif isinstance(t, OneOf):
        _within(_alternative(t, v), v, model)
    elif isinstance(t, RecordType):
        for k, ft in t.fields.items():
            _within(ft, v[k], model)


# -- values by their declared type ----------------------------------------------------------------

def _write(t, v, model):
    """``v`` (trace JSON of type ``t``) as an ITF value; ``_Mismatch`` when ``v`` does not have
    the shape of ``t``, or ``t`` has no ITF form."""
    if isinstance(t, Enum):
        _expect(type(v) is str, "a string", v)
        return v
    if isinstance(t, Bool):
        _expect(type(v) is bool, "a boolean", v)
        return v
    if isinstance(t, (Int, Id)):
        _expect(type(v) is int, "an integer", v)
        return _bigint(v)
    if isinstance(t, Optional):
        return NONE if v is None else {"tag": "Some", "value": _write(t.inner, v, model)}
    if isinstance(t, Array):
        _expect(type(v) is list and len(v) == len(t.index.values(model)), "an array", v)
        return {"#map": [[_bigint(i), _write(t.value, x, model)] for i, x in enumerate(v)]}
    if isinstance(t, Seq) or isinstance(t, Bag) and _resolve(t.fifo, model):
        _expect(type(v) is list, "a list", v)
        return [_write(t.elem, x, model) for x in v]
    if isinstance(t, Set):
        _expect(_canonical(v), "a list in canonical order", v)
        return {"#set": [_write(t.elem, x, model) for x in v]}
    if isinstance(t, Bag):
        _expect(_canonical(v), "a list in canonical order", v)
        counts = {}  # equal elements are neighbours in the canonical order
        for x in v:
            counts.setdefault(_json_sort_key(x), [x, 0])[1] += 1
        return {"#map": [[_write(t.elem, x, model), _bigint(k)] for x, k in counts.values()]}
    if isinstance(t, Map):
        _expect(_canonical(v) and all(type(p) is list and len(p) == 2 for p in v),
                "a list of [key, value] in canonical order", v)
        return {"#map": [[_write(t.key, k, model), _write(t.value, x, model)] for k, x in v]}
    if isinstance(t, OneOf):
        return _write(_alternative(t, v), v, model)
    if isinstance(t, RecordType):
        _expect(_is_record(t, v), f"a {t!r} record", v)
        return {k: x if k == "type" else _write(t.fields[k], x, model) for k, x in v.items()}
    raise _Mismatch(f"{t!r} has no ITF form")


def _read(t, x, model):
    """The trace JSON of type ``t`` that the ITF value ``x`` stands for (``_write``'s inverse,
    with sets, maps and unordered bags put in kripke's canonical order)."""
    if isinstance(t, Enum):
        _expect(type(x) is str, f"a string ({t!r})", x)
        return x
    if isinstance(t, Bool):
        _expect(type(x) is bool, "true or false", x)
        return x
    if isinstance(t, (Int, Id)):
        return _int(x)
    if isinstance(t, Optional):
        if _is_none(x):
            return None
        _expect(type(x) is dict and x.keys() == {"tag", "value"} and x["tag"] == "Some",
                "Quint's Option ({\"tag\": \"None\", ...} or {\"tag\": \"Some\", \"value\": ...})",
                x)
        return _read(t.inner, x["value"], model)
    if isinstance(t, Array):
        pairs = _pairs(x, f"a function of {t.index.name}")
        out = {_int(k): v for k, v in pairs}
        _expect(sorted(out) == list(range(len(pairs))),
                f"a #map whose keys are {t.index.name} 0 .. n-1, each once", x)
        return [_read(t.value, out[i], model) for i in range(len(out))]
    if isinstance(t, Seq) or isinstance(t, Bag) and _resolve(t.fifo, model):
        _expect(type(x) is list, "a list", x)
        return [_read(t.elem, v, model) for v in x]
    if isinstance(t, Set):
        _expect(type(x) is dict and x.keys() == {"#set"} and type(x["#set"]) is list,
                "{\"#set\": [...]}", x)
        return sorted((_read(t.elem, v, model) for v in x["#set"]), key=_json_sort_key)
    if isinstance(t, Bag):
        out = []
        for v, count in _pairs(x, "a bag (element -> count)"):
            k = _int(count)
            _expect(k >= 1, "a positive count", count)
            out += [_read(t.elem, v, model)] * k
        return sorted(out, key=_json_sort_key)
    if isinstance(t, Map):
        return sorted(([_read(t.key, k, model), _read(t.value, v, model)]
                       for k, v in _pairs(x, "a map")), key=_json_sort_key)
    if isinstance(t, OneOf):
        return _read(_alternative(t, x), x, model)
    if isinstance(t, RecordType):
        _expect(_is_record(t, x), f"a {t!r} record", x)
        head = {} if t.cls._tag is None else {"type": t.cls._tag}
        return dict(head, **{k: _read(ft, x[k], model) for k, ft in t.fields.items()})
    raise _Mismatch(f"{t!r} has no ITF form")


def _alternative(t, v):
    """The record type of ``OneOf`` ``t`` that ``v`` is, by its ``type`` tag."""
    tags = {a.cls._tag: a for a in t.alternatives}
    _expect(type(v) is dict and v.get("type") in tags,
            f"a record with \"type\" one of {', '.join(map(str, tags))}", v)
    return tags[v["type"]]


def _is_record(t, v):
    tag = t.cls._tag
    keys = set(t.fields) | ({"type"} if tag is not None else set())
    return type(v) is dict and v.keys() == keys and (tag is None or v["type"] == tag)


def _canonical(v):
    """Is ``v`` a list in kripke's canonical order of set elements (``models.types``)?"""
    if type(v) is not list:
        return False
    keys = [_json_sort_key(x) for x in v]
    return keys == sorted(keys)


# -- values by their JSON shape (untyped) ---------------------------------------------------------

def _write_json(v):
    """A trace JSON value with no declared type as ITF."""
    if v is None:
        return NONE
    if type(v) in (bool, str):
        return v
    if type(v) is int:
        return _bigint(v)
    if type(v) is float:
        return {"#unserializable": repr(v)}
    if type(v) in (list, tuple):
        return [_write_json(x) for x in v]
    if type(v) is dict:
        _expect(all(type(k) is str and not k.startswith("#") for k in v),
                "a record (ITF field names do not start with #)", v)
        return {k: _write_json(x) for k, x in v.items()}
    raise _Mismatch(f"{type(v).__name__} is not JSON")


def _read_json(x):
    """The trace JSON an ITF value written by ``_write_json`` stands for."""
    if type(x) in (bool, str, int):
        return x
    if type(x) is list:
        return [_read_json(v) for v in x]
    _expect(type(x) is dict, "an ITF value", x)
    if _is_none(x):
        return None
    if "#bigint" in x:
        return _int(x)
    if "#unserializable" in x:
        text = x["#unserializable"]
        _expect(x.keys() == {"#unserializable"} and type(text) is str and _is_float(text),
                "a float written as {\"#unserializable\": \"1.0\"}", x)
        return float(text)
    _expect(not any(k.startswith("#") for k in x), "a record, or a value kripke writes", x)
    return {k: _read_json(v) for k, v in x.items()}


def _is_float(text):
    """Is ``text`` the ``repr`` of a float (nothing else is read as one)?"""
    try:
        return repr(float(text)) == text
    except ValueError:
        return False


# -- the ITF forms ------------------------------------------------------------------------------

def _bigint(i):
    return {"#bigint": str(i)}


def _int(x):
    """An integer: ``{"#bigint": "-12"}``, or a JSON integer as the ADR allowed before its
    revision of 2023-09-14."""
    if type(x) is int:
        return x
    _expect(type(x) is dict and x.keys() == {"#bigint"} and type(x["#bigint"]) is str
            and _BIGINT.fullmatch(x["#bigint"]) is not None, "{\"#bigint\": \"[-][0-9]+\"}", x)
    return int(x["#bigint"])


def _pairs(x, what):
    """The ``[key, value]`` pairs of ``{"#map": ...}`` (``what`` it should have been)."""
    _expect(type(x) is dict and x.keys() == {"#map"} and type(x["#map"]) is list
            and all(type(p) is list and len(p) == 2 for p in x["#map"]),
            f"{what} as {{\"#map\": [[key, value], ...]}}", x)
    return x["#map"]


def _is_none(x):
    return (type(x) is dict and x.keys() == {"tag", "value"} and x["tag"] == "None"
            and x["value"] in ({"#tup": []}, {}))


def _expect(ok, what, got):
    if not ok:
        raise _Mismatch(f"expected {what}, got {_dump(got)}")


def _dump(v, width=60):
    text = json.dumps(v, default=repr)
    return text if len(text) <= width else text[:width - 3] + "..."

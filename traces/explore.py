"""The interactive explorer (issue 15, item 1): walk a model's states in the browser.

``kripke explore MODEL`` serves one self-contained page (``explore_page.PAGE``: inline CSS and
JavaScript, no CDN, works offline) and a small JSON API from a stdlib ``ThreadingHTTPServer``
bound to 127.0.0.1. The bar is Stateright's Explorer (its users' favourite feature) and the TLA+
trace explorer: the current state as a table of typed fields, the fields the last step changed
highlighted; the enabled calls of each action as buttons, each showing on hover what it would
change and which property it would break; the path so far (back, forward, jump); every property
evaluated on the current state; for message-passing models the messages in flight and the
message sequence chart of the path (``traces.msc``), growing as one steps; a counterexample
loaded from a file (``--trace``) or found by a check run from the page, to step through.

**Paths.** A state is named by its path from an initial state: the labels of the steps taken,
as a trace prints them (``rm_prepare(rm=0)``), each percent-encoded (``quote_plus``) and joined by
``/``. When one call has several outcomes the second is ``label~1``, the third ``label~2``; a
model with several initial states starts its path with ``init~k``. A segment that is a number is
the index of a successor in the order the server lists them (handy from a script, but not
stable across processes: a bag of messages is ordered by fingerprint). Labels are stable, so a
page's URL (``#path=...&at=N``) names the same state after a reload or on another machine.

**API** (every answer JSON; bad input is ``{"error": "..."}`` with status 400, never a
traceback page):

* ``GET /api/model``: the model, its parameters, properties and loaded counterexamples;
* ``GET /api/state?path=P&at=N``: the state after the first ``N`` steps of path ``P`` (all of
  it without ``at``), and ``P`` checked to its end: fields, the steps on offer, properties,
  messages in flight, the sequence chart;
* ``GET /api/trace?id=K``: a loaded counterexample, as a path;
* ``POST /api/check`` ``{"property": name|null, "max_states": N}``: run a bounded check
  (``run_check``, given by the front door: traces/ imports no checker) and load its violation.

Only requests whose ``Host`` is this server's own address are answered (a web page elsewhere
cannot reach the explorer by DNS rebinding), and ``POST`` takes only ``application/json`` (a
form on another site cannot start a check).
"""

import json
import re
import threading
from collections import OrderedDict
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote_plus, unquote_plus, urlsplit

from kripke.errors import KripkeError
from kripke.models.system import model_spec
from kripke.models.types import Array, Bag, Map, Seq, Set, json_equal, type_text
from kripke.traces.render import changes
from kripke.traces.trace import Step, Trace, encode_any

__all__ = ["Explorer", "BadRequest", "make_server", "serve", "encode_segment", "path_text"]

#: the longest path a request may name (a walk of the model per request: keep it bounded)
MAX_PATH = 10_000
#: the largest request body (a check request is a few dozen bytes)
MAX_BODY = 65_536
#: the bound of a check run from the page, unless the page asks for another
DEFAULT_MAX_STATES = 200_000
#: the longest a check run from the page may take, in seconds
CHECK_TIME_LIMIT = 60.0


class BadRequest(KripkeError):
    """A request the explorer cannot answer (a malformed path, an unknown action): status 400
    with the message, one line."""


# -- paths -------------------------------------------------------------------------------------
def encode_segment(key):
    """A step's key as one segment of a path (``rm_prepare(rm=0)`` stays readable)."""
    return quote_plus(key, safe="=(),:~'!*[]")


def path_text(keys):
    """Keys (the steps after the initial state, ``init~k`` first when it is not the first
    initial state) as a path string."""
    return "/".join(encode_segment(k) for k in keys)


def _segments(text):
    """The decoded segments of a path string; an empty segment is malformed."""
    text = (text or "").strip()
    if text.startswith("/"):
        text = text[1:]
    if not text:
        return []
    parts = text.split("/")
    if len(parts) > MAX_PATH:
        raise BadRequest(f"the path has {len(parts)} steps; the explorer follows at most "
                         f"{MAX_PATH}")
    if any(p == "" for p in parts):
        raise BadRequest(f"malformed path {text[:80]!r}: an empty step (two / in a row, or a "
                         "trailing /)")
    return [unquote_plus(p) for p in parts]


_INIT = re.compile(r"init(?:~(\d+))?$")


class _Succ:
    """One step on offer in a state: the call, its outcome and how the page names it."""

    __slots__ = ("key", "label", "action", "args", "raw_args", "state", "encoded")

    def __init__(self, key, label, action, args, raw_args, state, encoded):
        self.key, self.label, self.action, self.args = key, label, action, args
        self.raw_args, self.state, self.encoded = raw_args, state, encoded


class _Node:
    """A state reached by a path: the state, its JSON, the step that led to it, what is on
    offer in it (computed once, cached with the path)."""

    __slots__ = ("state", "encoded", "step", "succs", "raised", "listing_error")

    def __init__(self, state, encoded, step):
        self.state, self.encoded, self.step = state, encoded, step
        self.succs = self.raised = self.listing_error = None


# -- the explorer ------------------------------------------------------------------------------
class Explorer:
    """What the server answers, independent of HTTP (the tests call it directly).

    ``model`` is a model instance; ``run_check(model, properties, max_states, time_limit)``
    returns a checker's ``Result`` (the front door passes ``kripke.checkers.explicit.check``:
    the traces layer imports no checker); None hides the page's check button.
    """

    def __init__(self, model, run_check=None):
        self.model = model
        self.run_check = run_check
        self.lock = threading.RLock()
        self.types = getattr(model, "_types", None) if model.variables is not None else None
        self.set_fields = model.set_fields()
        self.has_chart = callable(getattr(model, "sequence_chart", None))
        self.init_error = None
        try:
            self.initial = list(model.init())
        except Exception as e:  # init() raising is the model's bug: say so on the page
            self.initial, self.init_error = [], f"{type(e).__name__}: {e}"
        self.traces = []
        self._refinements = {}
        self._nodes = OrderedDict()  # path keys -> _Node, the most recent 512

    # -- walking ---------------------------------------------------------------------------
    def _root(self, k):
        key = "init" if k == 0 else f"init~{k}"
        if (key,) not in self._nodes:
            s = self.initial[k]
            self._remember((key,), _Node(s, self.model.encode(s), Step(None, {}, None)))
        return self._nodes[(key,)]

    def _remember(self, keys, node):
        self._nodes[keys] = node
        self._nodes.move_to_end(keys)
        while len(self._nodes) > 512:
            self._nodes.popitem(last=False)

    def _expand(self, node):
        """The steps on offer in ``node``'s state, each call's outcomes in order; a call that
        raises is listed apart (the finding a check would report)."""
        if node.succs is not None:
            return node.succs
        m, s = self.model, node.state
        succs, raised, seen = [], [], {}
        try:
            for name, args, thunk in m.each_call(s):
                named = m.action_args(name, args)
                label = Step(name, named, None).label()
                try:
                    out = thunk()
                except Exception as e:
                    raised.append({"label": label, "action": name,
                                   "error": f"{type(e).__name__}: {e}"})
                    continue
                if out is None:
                    continue
                for t in (out if type(out) is list else (out,)):
                    k = seen.get(label, 0)
                    seen[label] = k + 1
                    key = label if k == 0 else f"{label}~{k}"
                    try:
                        encoded = m.encode(t)
                    except Exception:  # a value outside its declared type: shown as it is
                        encoded = encode_any(m, t)
                    succs.append(_Succ(key, label, name, named, args, t, encoded))
        except Exception as e:  # a state-dependent domain raised while listing the calls
            node.listing_error = f"{type(e).__name__}: {e}"
        node.succs, node.raised = succs, raised
        return succs

    def walk(self, segments):
        """The nodes along a path (decoded segments): the initial state first."""
        if not self.initial:
            raise BadRequest("the model has no initial state" + (
                f": init() raised {self.init_error}" if self.init_error else ""))
        start = 0
        if segments and _INIT.match(segments[0]):
            k = int(_INIT.match(segments[0]).group(1) or 0)
            if k >= len(self.initial):
                raise BadRequest(f"step 0: {segments[0]}: the model has {len(self.initial)} "
                                 "initial state(s)")
            segments, start = segments[1:], k
        node = self._root(start)
        keys = ("init" if start == 0 else f"init~{start}",)
        nodes = [node]
        for n, seg in enumerate(segments, start=1):
            # a cached child is found by its key; an index is resolved against the listing
            child = None if seg.isdigit() else self._nodes.get(keys + (seg,))
            if child is None:
                succ = self._find(node, seg, n)
                seg = succ.key
                child = self._nodes.get(keys + (seg,)) or _Node(
                    succ.state, succ.encoded, Step(succ.action, succ.args, None))
            keys += (seg,)
            self._remember(keys, child)
            node = child
            nodes.append(node)
        return keys, nodes

    def _find(self, node, seg, n):
        succs = self._expand(node)
        if seg.isdigit():
            i = int(seg)
            if i >= len(succs):
                raise BadRequest(f"step {n}: successor {i} does not exist: "
                                 f"{len(succs)} step(s) are on offer in the state of step "
                                 f"{n - 1}")
            return succs[i]
        for succ in succs:
            if succ.key == seg:
                return succ
        name = seg.split("(", 1)[0]
        if name not in self.model._actions:
            actions = ", ".join(self.model._actions) or "(none)"
            raise BadRequest(f"step {n}: {seg!r}: the model has no action {name!r} (its "
                             f"actions: {actions})")
        offered = [s.key for s in succs if s.action == name]
        listed = ", ".join(offered[:6]) + (", ..." if len(offered) > 6 else "") or "none"
        raise BadRequest(f"step {n}: {seg} is not enabled in the state of step {n - 1} "
                         f"(calls of {name} on offer: {listed})")

    # -- the view of a state -------------------------------------------------------------------
    def view(self, path, at=None):
        """The page's data for the state after ``at`` steps of ``path`` (a path string)."""
        with self.lock:
            keys, nodes = self.walk(_segments(path))
            n = len(nodes) - 1
            if at is None:
                at = n
            if not 0 <= at <= n:
                raise BadRequest(f"at={at}: the path has {n} step(s) (at is 0..{n})")
            return self._view(keys, nodes, at)

    def _view(self, keys, nodes, at):
        m = self.model
        node = nodes[at]
        prev = nodes[at - 1] if at else None
        succs = self._expand(node)
        path = [{"key": keys[0], "seg": encode_segment(keys[0]), "label": "init"}] + [
            {"key": k, "seg": encode_segment(k), "label": nd.step.label()}
            for k, nd in zip(keys[1:], nodes[1:])]
        props = self._properties(node, prev, succs)
        violated = {p["name"] for p in props if p["status"] == "violated"}
        breaking = [{"property": p["name"], "actions": p["breaks_after"]}
                    for p in props if p["breaks_after"] and p["default"]]
        enabled = {s.action for s in succs}
        terminal = _safe(lambda: m.terminal(node.state), False)
        view = {
            "path": path,
            "at": at,
            "label": path[at]["label"],
            "fields": self._fields(node, prev),
            "changes": changes(prev.encoded if prev else None, node.encoded, self.set_fields),
            "actions": [self._succ_view(node, s, keys[at + 1] if at + 1 < len(keys) else None,
                                        violated) for s in succs],
            "raised": node.raised,
            "listing_error": node.listing_error,
            "disabled": [a for a in m._actions if a not in enabled],
            "properties": props,
            "next_breaking": breaking,
            "deadlock": not succs and not node.raised and not terminal,
            "terminal": not succs and terminal,
            "within": _safe(lambda: m.within(node.state), True),
            "messages": self._messages(node, succs),
            "chart": self._chart(nodes[:at + 1], props) if self.has_chart else None,
        }
        return view

    def _fields(self, node, prev):
        if not isinstance(node.encoded, dict):  # an untyped model: one unnamed value
            before = prev.encoded if prev else None
            return [{"name": "state", "type": "", "kind": _kind(None), "value": node.encoded,
                     "before": before, "changed": prev is not None and not json_equal(
                         before, node.encoded)}]
        out = []
        for name, value in node.encoded.items():
            t = (self.types or {}).get(name)
            before = prev.encoded.get(name) if prev else None
            out.append({"name": name, "type": _type_text(t, self.model),
                        "kind": _kind(t), "index": _index_name(t), "value": value,
                        "before": before,
                        "changed": prev is not None and not json_equal(before, value)})
        return out

    def _succ_view(self, node, succ, forward_key, violated):
        m = self.model
        lines = changes(node.encoded, succ.encoded, self.set_fields)
        changed = ([k for k in succ.encoded if not json_equal(node.encoded.get(k),
                                                               succ.encoded[k])]
                   if isinstance(succ.encoded, dict) else ["state"] * (lines != []))
        breaks = []
        for p in self._checked():
            if p.name in violated and p.kind != "step":  # broken already, not "next"
                continue
            broken = self._breaks(p, node.state, succ.state)
            if broken:
                breaks.append({"property": p.name, "kind": p.kind, "why": broken,
                               "default": p.default and not p.expected_to_fail})
        type_error = _safe(lambda: m.type_error(succ.state, node.state), None)
        if type_error and not any(b["property"] == "type_ok" for b in breaks):
            breaks.append({"property": "type_ok", "kind": "invariant", "why": type_error,
                           "default": True})
        return {"key": succ.key, "seg": encode_segment(succ.key), "label": succ.label, "action": succ.action, "args": succ.args,
                "changes": lines, "fields": changed, "stutter": not lines,
                "breaks": breaks, "forward": succ.key == forward_key,
                "outside": not _safe(lambda: m.within(succ.state), True)}

    # -- properties ------------------------------------------------------------------------
    def _checked(self):
        """The properties a step can break: invariants (that hold here), step properties and
        refinements."""
        return [p for p in self.model.properties
                if p.kind in ("invariant", "step", "refinement")]

    def _breaks(self, p, s, t):
        """Why step ``s -> t`` breaks ``p`` (a short text), or None."""
        m = self.model
        try:
            if p.kind == "invariant":
                if not p.condition(m, s):
                    return None  # already violated here: not "would break next"
                return None if p.condition(m, t) else "fails in the next state"
            if p.kind == "step":
                return None if t == s or p.condition(m, s, t) else "the step violates it"
            if p.kind == "refinement":
                return None if self._refinement(p).step_ok(s, t) else (
                    "the step is not a step of the abstract model")
        except Exception as e:
            return f"raises {type(e).__name__}: {e}"
        return None

    def _refinement(self, p):
        check = self._refinements.get(p.name)
        if check is None:
            check = self._refinements[p.name] = p.checker(self.model)
        return check

    def _properties(self, node, prev, succs):
        m, s = self.model, node.state
        out = []
        for p in m.properties:
            status, text = self._status(p, s, prev.state if prev else None)
            after = [succ.label for succ in succs if self._breaks(p, s, succ.state)] \
                if p.kind in ("invariant", "step", "refinement") and (
                    status != "violated" or p.kind == "step") else []
            out.append({"name": p.name, "kind": p.kind, "doc": p.doc, "status": status,
                        "text": text, "breaks_after": list(dict.fromkeys(after)),
                        "default": p.default and not p.expected_to_fail,
                        "expected_to_fail": p.expected_to_fail})
        return out

    def _status(self, p, s, prev):
        """``(status, text)`` of property ``p`` here: status is ``holds`` / ``violated`` (a
        verdict on this state or step), ``yes`` / ``no`` (a predicate that is not a verdict on
        its own), ``na`` (nothing to say here) or ``raised``."""
        m = self.model
        try:
            if p.kind == "invariant":
                ok = p.condition(m, s)
                return ("holds", "holds in this state") if ok else (
                    "violated", "is violated in this state")
            if p.kind == "sometimes":
                return ("yes", "holds here: a witness that it is reachable") if p.condition(
                    m, s) else ("no", "does not hold here (it must somewhere)")
            if p.kind == "always_possible":
                return ("yes", "holds here") if p.condition(m, s) else (
                    "no", "does not hold here; it must stay reachable from here")
            if p.kind == "step":
                if prev is None:
                    return "na", "a property of steps: no step taken yet"
                ok = prev == s or p.condition(m, prev, s)
                return ("holds", "the last step satisfies it") if ok else (
                    "violated", "is violated by the last step")
            if p.kind == "refinement":
                check = self._refinement(p)
                if prev is None:
                    ok = check.init_ok(s)
                    return ("holds", "the initial state maps to an abstract initial state") \
                        if ok else ("violated", "is violated: the initial state maps to no "
                                                "abstract initial state")
                ok = check.step_ok(prev, s)
                return ("holds", "the last step maps to an abstract step or a stutter") if ok \
                    else ("violated", "is violated: the last step maps to no abstract step")
            if p.temporal:
                parts = []
                for label, pred, target in p.instances(m):
                    who = ", ".join(f"{k}={v}" for k, v in label.items())
                    what = f"P={_yes(pred(s))}" + (
                        f", Q={_yes(target(s))}" if target is not None else "")
                    parts.append(f"{who}: {what}" if who else what)
                return "na", ("over whole behaviours (run a check); here " + "; ".join(parts))
        except Exception as e:
            return "raised", f"raised {type(e).__name__}: {e}"
        return "na", ""

    # -- messages ------------------------------------------------------------------------------
    def _messages(self, node, succs):
        """The messages in flight of a message-passing model (``models.network``), each with
        what can happen to it now; None for other models."""
        m, s = self.model, node.state
        bag = (self.types or {}).get("messages")
        if not isinstance(bag, Bag) or not hasattr(m, "deliverable"):
            return None
        deliverable = _safe(lambda: list(m.deliverable(s)), [])
        out = []
        for msg in s.messages:
            encoded = bag.elem.to_json(msg, m)
            if msg in deliverable:
                status = "deliverable"
            elif not s.up[msg.dst]:
                status = f"to a crashed node ({msg.dst})"
            elif _safe(lambda: m.separated(s, msg.src, msg.dst), False):
                status = "held back by the partition"
            else:
                status = "waiting behind an older message on its channel (FIFO)"
            steps = [{"key": x.key, "seg": encode_segment(x.key), "label": x.label,
                      "action": x.action} for x in succs if _carries(x, msg)]
            out.append({"message": encoded, "type": encoded.get("type", "message")
                        if isinstance(encoded, dict) else "message",
                        "src": msg.src, "dst": msg.dst, "status": status,
                        "steps": list({x["key"]: x for x in steps}.values())})
        return out

    # -- the sequence chart --------------------------------------------------------------------
    def _chart(self, nodes, props):
        """The message sequence chart of the path so far (SVG), drawn by ``traces.msc``; the
        current state's violated invariant, if any, marked at the last step."""
        from kripke.traces.msc import events, to_svg
        steps = [Step(nd.step.action, nd.step.args, nd.encoded) for nd in nodes]
        trace = Trace(model_spec(type(self.model)), self.model.params, "", "invariant", steps)
        try:
            chart = events(self.model, trace)
            n = len(steps) - 1
            chart.subtitle = f"the path explored so far: {n} step{'s' * (n != 1)}"
            bad = [p["name"] for p in props if p["status"] == "violated" and p["default"]]
            chart.violation = n if bad else None
            chart.violation_text = f"✗ {', '.join(bad)} violated" if bad else None
            return to_svg(chart)
        except Exception as e:  # a chart that cannot be drawn must not hide the state
            return f"<p class=\"note\">The sequence chart could not be drawn: " \
                   f"{type(e).__name__}: {e}</p>"

    # -- counterexamples -----------------------------------------------------------------------
    def load_trace(self, trace, source):
        """Follow a counterexample (``traces.trace.Trace``) through the model and keep it: its
        id, or a ``BadRequest`` naming the step the model does not take."""
        with self.lock:
            keys = self._follow(trace)
            n = len(trace.steps) - 1
            last = trace.steps[-1]
            info = {
                "id": len(self.traces), "source": source, "property": trace.property,
                "kind": trace.kind, "length": n, "loop_start": trace.loop_start,
                "path": path_text(keys[1:] if keys[0] == "init" else keys),
                "steps": len(keys) - 1,
                "headline": _headline(trace),
                "error": (f"step {n}: {last.label()} raises {last.error}"
                          if last.error is not None and last.state is None else None),
            }
            self.traces.append(info)
            return info

    def _follow(self, trace):
        m = self.model
        if not self.initial:
            raise BadRequest("the model has no initial state")
        first = trace.steps[0].state
        k = next((i for i, s in enumerate(self.initial)
                  if json_equal(m.encode(s), first)), None)
        if k is None:
            raise BadRequest("step 0: the trace's initial state is not an initial state of "
                             f"{m.display_name()} with these parameters")
        keys = ("init" if k == 0 else f"init~{k}",)
        node = self._root(k)
        for n, step in enumerate(trace.steps[1:], start=1):
            if step.state is None:  # the action raised: the path ends before it
                break
            same = [x for x in self._expand(node)
                    if x.action == step.action and json_equal(x.args, step.args)]
            exact = [x for x in same if json_equal(x.encoded, step.state)]
            found = exact[0] if exact else same[0] if len(same) == 1 else None
            if found is None:
                raise BadRequest(f"step {n}: {step.label()} is not a step of "
                                 f"{m.display_name()} from the state of step {n - 1}: a trace of "
                                 "another model, other parameters, or edited?")
            keys += (found.key,)
            child = self._nodes.get(keys) or _Node(found.state, found.encoded,
                                                   Step(found.action, found.args, None))
            self._remember(keys, child)
            node = child
        return keys

    def check(self, prop=None, max_states=None):
        """Run a bounded check from the page; load its violation's trace. The result as JSON."""
        if self.run_check is None:
            raise BadRequest("this explorer runs no checks")
        m = self.model
        names = None
        if prop is not None:
            known = [p.name for p in m.properties]
            if prop not in known:
                raise BadRequest(f"unknown property {prop!r} (the model's: {', '.join(known)})")
            names = [prop]
        bound = DEFAULT_MAX_STATES if max_states is None else max_states
        if type(bound) is not int or not 1 <= bound <= 10**8:
            raise BadRequest(f"max_states must be a whole number 1..100000000, got {bound!r}")
        fresh = type(m)(**m.params)  # the search gets a model of its own (the page goes on)
        try:
            result = self.run_check(fresh, names, bound, CHECK_TIME_LIMIT)
        except KripkeError as e:
            raise BadRequest(str(e)) from None
        out = {"verdict": result.verdict, "distinct_states": result.distinct_states,
               "states_generated": result.states_generated, "depth": result.depth,
               "elapsed_s": round(result.elapsed_s, 3), "bound": result.bound,
               "properties": list(result.properties), "violation": None}
        v = result.violation
        if v is not None:
            out["violation"] = {"property": v.property, "kind": v.kind, "message": v.message,
                                "trace": None}
            if v.trace is not None:
                out["violation"]["trace"] = self.load_trace(v.trace, "check")
        return out

    def boot(self):
        """What the page needs before its first state: the model, parameters, properties."""
        m = self.model
        declared = m._params
        return {
            "model": m.display_name(), "spec": model_spec(type(m)),
            "title": (m.__doc__ or "").strip().split("\n")[0],
            "params": [{"name": k, "value": v, "default": k in declared
                        and v == declared[k].default} for k, v in m.params.items()],
            "properties": [{"name": p.name, "kind": p.kind, "doc": p.doc,
                            "default": p.default and not p.expected_to_fail}
                           for p in m.properties],
            "initial_states": len(self.initial), "init_error": self.init_error,
            "has_chart": self.has_chart, "can_check": self.run_check is not None,
            "max_states": DEFAULT_MAX_STATES, "traces": self.traces,
        }


def _headline(trace):
    n = len(trace.steps) - 1
    what = {"deadlock": "deadlock", "exception": "the model raised an exception"}.get(
        trace.kind, f"{trace.property} violated ({trace.kind})")
    loop = ""
    if trace.loop_start is not None:
        k = trace.loop_start
        loop = ", then stuttering forever" if k == n else f", then back to step {k} forever"
    return f"{what} after {n} step{'s' * (n != 1)}{loop}"


def _carries(succ, msg):
    """Is ``msg`` the last argument of the call ``succ`` (the message a handler receives, the
    network drops or duplicates)?"""
    last = succ.raw_args[-1] if succ.raw_args else None
    return type(last) is type(msg) and last == msg


def _type_text(t, model):
    """A declared type as the page shows it: ``[RM -> {working, prepared}]``, a bound given as
    a function of the model (``lambda m: m.max_log_len + 1``) shown as its value."""
    if t is None:
        return ""
    try:
        return type_text(t, model, value=str)
    except Exception:  # a bound that cannot be computed: the declaration as written
        return repr(t)


def _kind(t):
    for cls, name in ((Array, "array"), (Set, "set"), (Bag, "bag"), (Seq, "seq"), (Map, "map")):
        if isinstance(t, cls):
            return name
    return "scalar"


def _index_name(t):
    return t.index.name if isinstance(t, Array) else None


def _yes(v):
    return "true" if v else "false"


def _safe(fn, default):
    try:
        return fn()
    except Exception:
        return default


# -- HTTP --------------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    server_version = "kripke-explore"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet: the terminal shows the URL, not each request
        pass

    def _send(self, status, body, content_type):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _json(self, status, obj):
        self._send(status, json.dumps(obj), "application/json; charset=utf-8")

    def send_error(self, code, message=None, explain=None):
        """Protocol errors (a malformed request line, a method not served) as JSON too."""
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        self.close_connection = True
        self._json(code, {"error": message or phrase})

    def _host_ok(self):
        host = (self.headers.get("Host") or "").lower()
        port = self.server.server_address[1]
        return host in {f"127.0.0.1:{port}", f"localhost:{port}"} | (
            {"127.0.0.1", "localhost"} if port == 80 else set())

    def _answer(self, fn):
        try:
            if not self._host_ok():
                return self._json(403, {"error": "the explorer answers requests for "
                                                 "127.0.0.1 or localhost only"})
            status, body, ctype = fn()
            if ctype is None:
                self._json(status, body)
            else:
                self._send(status, body, ctype)
        except (BadRequest, KripkeError) as e:
            self._json(400, {"error": str(e)})
        except Exception as e:  # a bug: one line, never a traceback page
            self._json(500, {"error": f"internal error: {type(e).__name__}: {e}"})

    def do_GET(self):
        self._answer(self._get)

    def do_HEAD(self):
        self._answer(self._get)

    def do_POST(self):
        self._answer(self._post)

    def _query(self):
        url = urlsplit(self.path)
        try:
            query = parse_qs(url.query, keep_blank_values=True, strict_parsing=False,
                             errors="strict")
        except (ValueError, UnicodeDecodeError) as e:
            raise BadRequest(f"malformed query: {e}") from None
        return url.path, {k: v[-1] for k, v in query.items()}

    def _get(self):
        explorer = self.server.explorer
        route, q = self._query()
        if route in ("/", "/index.html"):
            from kripke.traces.explore_page import page
            return 200, page(explorer.boot()), "text/html; charset=utf-8"
        if route == "/api/model":
            return 200, explorer.boot(), None
        if route == "/api/state":
            at = q.get("at")
            if at not in (None, "") and not re.fullmatch(r"\d{1,9}", at):
                raise BadRequest(f"at={at!r}: expected a step number")
            return 200, explorer.view(q.get("path", ""), int(at) if at else None), None
        if route == "/api/trace":
            ident = q.get("id", "")
            if not ident.isdigit() or int(ident) >= len(explorer.traces):
                raise BadRequest(f"no counterexample {ident!r} is loaded "
                                 f"({len(explorer.traces)} are)")
            return 200, explorer.traces[int(ident)], None
        return 404, {"error": f"no page {route!r} (the explorer serves /, /api/model, "
                              "/api/state, /api/trace and POST /api/check)"}, None

    def _post(self):
        route, _ = self._query()
        if route != "/api/check":
            return 404, {"error": f"POST {route!r}: only /api/check takes a POST"}, None
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise BadRequest("POST /api/check takes application/json")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise BadRequest("malformed Content-Length") from None
        if not 0 <= length <= MAX_BODY:
            raise BadRequest(f"the request body is over {MAX_BODY} bytes")
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError) as e:
            raise BadRequest(f"the request body is not JSON: {e}") from None
        if not isinstance(body, dict):
            raise BadRequest("the request body must be a JSON object")
        prop = body.get("property")
        if prop is not None and not isinstance(prop, str):
            raise BadRequest("property must be a name or null")
        return 200, self.server.explorer.check(prop, body.get("max_states")), None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # a port in use is an error, as it should be: never share it with another server
    allow_reuse_address = False


def make_server(explorer, port=0, host="127.0.0.1"):
    """An HTTP server for ``explorer`` on ``host:port`` (port 0: a free one), not yet serving;
    ``server.url`` is its address."""
    server = _Server((host, port), _Handler)
    server.explorer = explorer
    server.url = f"http://{host}:{server.server_address[1]}/"
    return server


def serve(explorer, port=8765, open_browser=True, announce=print, start_at=None):
    """Serve ``explorer`` on 127.0.0.1 until Ctrl-C; open the page in a browser unless told
    not to. ``start_at`` is a URL fragment to open (a loaded trace's)."""
    server = make_server(explorer, port)
    url = server.url + (f"#{start_at}" if start_at else "")
    announce(f"kripke explore: {explorer.model.display_name()} at {url} (Ctrl-C to stop)")
    if open_browser:
        import webbrowser
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()

"""Message sequence charts drawn for people (issue 15, item 3): the events of a trace of a
message-passing model, and the chart drawn from them as SVG, directly (no Graphviz).

``events(model, trace)`` reads consecutive states of a trace (and each step's action) and gives a
``Chart``: plain data, so tests can ask which message sent at which step was received at which.
What it finds, for a model on ``kripke.models.network``:

* **messages**: the bag ``messages`` grows when one is sent and shrinks when one is received;
  a removal is matched with the earliest copy of an equal message still in flight. A copy made
  by the network's ``duplicate_message`` is a *duplicate* (drawn from the first copy's send), a
  removal by ``drop_message`` a *drop*; what is left at the end is *in flight*. Fields keep the
  order the message record declares them in.
* **notes**: a change of a per-node field on that node's lifeline: the fields the model declares
  in ``msc_notes`` (``model.sequence_chart()["notes"]``), or, when it declares none, every
  variable that is an ``Array`` over its nodes; values in ``msc_highlight`` are drawn in red
  (Raft's leaders). Step 0 notes the initial values.
* **shared changes**: the other variables (history variables such as Raft's ``elections``), in a
  column of their own at the right.
* **client operations**: a variable holding a history in the format of ``specs.consistency``
  (records with ``session``, ``kind``, ``value``, ``completed``; sessions that are nodes) is drawn
  as requests coming into the session's node and responses leaving it (UML's found and lost
  messages), so a stale read shows as one.
* **atomic interactions**: a step that sends nothing but changes the per-node fields of nodes
  other than the one named by its arguments (cap-register's replication within a side) is a
  horizontal arrow from that node to each of them.
* **partitions** (``partition``) and **crashes** (``up``), from when they start to when they
  heal or recover.
* the **violating step**: the last, or ``loop_start`` for a lasso (whose loop is also drawn).

``to_svg(chart)`` lays it out: lifelines in the order of the nodes, time flowing down one row per
step (a row as tall as its notes), every message an arrow from its send to its receipt, at most
``WIDTH`` (1400) pixels wide. Text widths are estimated with Helvetica's (Arial's) metrics, the
font the chart asks for, and long text is wrapped, never cut; a message's arrow and label carry
a tooltip saying when it was sent and what became of it.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from kripke.models.types import Array, Bag, Id, OneOf, RecordType, Seq, Set
from kripke.traces.render import LOOP_COLOR, LOOP_FILL, loop_note
from kripke.traces.trace import format_value

__all__ = ["Chart", "Message", "Note", "Operation", "Interaction", "Partition", "Crash", "Row",
           "events", "to_svg", "sequence_chart", "chart_title", "WIDTH"]

#: the widest chart drawn, in pixels (the issue's bar: readable at 1400)
WIDTH = 1400
#: the network's variables, drawn as arrows, walls and crosses rather than as notes
NETWORK = ("messages", "partition", "up")


# -- the events ------------------------------------------------------------------------------
@dataclass
class Message:
    """One copy of a message: sent at step ``sent`` by ``src`` to ``dst``, then received,
    dropped, or still in flight at the end (``fate``)."""
    fields: dict  # the message as trace JSON, "type" first, then its declared field order
    src: int
    dst: int
    sent: int
    received: int = None
    dropped: int = None
    duplicated: int = None  # the step at which the network made this copy (None: it was sent)

    @property
    def fate(self):
        if self.received is not None:
            return "received"
        return "dropped" if self.dropped is not None else "in flight"

    @property
    def kind(self):
        return self.fields.get("type", "message")

    def body(self):
        """The fields but the type and the endpoints (the arrow shows those), in order."""
        return ", ".join(f"{k}={format_value(v)}" for k, v in self.fields.items()
                         if k not in ("type", "src", "dst"))

    def text(self):
        return f"{self.kind}({self.body()})"


@dataclass
class Note:
    """Node ``node``'s per-node fields as step ``step`` left them (the changed ones)."""
    node: int
    step: int
    lines: list
    highlight: bool = False


@dataclass
class Operation:
    """A client's request arriving at node ``node`` (``request``) or its response (``response``),
    from a history in the format of ``specs.consistency``."""
    node: int
    step: int
    kind: str  # "request" or "response"
    text: str


@dataclass
class Interaction:
    """An atomic step of ``src`` that changed ``dst``'s state with no message in the network."""
    src: int
    dst: int
    step: int
    label: str


@dataclass
class Partition:
    """The network split into ``sides`` from step ``start`` until it healed at ``end`` (None: it
    had not healed at the end)."""
    sides: list
    start: int
    end: int = None


@dataclass
class Crash:
    """Node ``node`` down from step ``start`` until it recovered at ``end`` (None: never)."""
    node: int
    start: int
    end: int = None


@dataclass
class Row:
    """One step: its number, the action as text, the node that took it (None: the network or
    the environment), and the changes of the shared (not per-node) variables."""
    step: int
    action: str
    args: str
    actor: int = None
    shared: list = field(default_factory=list)


@dataclass
class Chart:
    title: str
    subtitle: str
    nodes: list  # the node ids, in lifeline order
    node_names: list
    rows: list
    messages: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    operations: list = field(default_factory=list)
    interactions: list = field(default_factory=list)
    partitions: list = field(default_factory=list)
    crashes: list = field(default_factory=list)
    violation: int = None  # the step marked as the violating one
    violation_text: str = None
    loop_start: int = None
    loop_text: str = None
    message_types: list = field(default_factory=list)  # in declaration order (their colours)


def sequence_chart(model, trace):
    """The trace as a message sequence chart (SVG text), for a model that declares how it is
    drawn (``model.sequence_chart()``: message-passing models do), or None for other models."""
    if model is None or getattr(model, "sequence_chart", None) is None:
        return None
    return to_svg(events(model, trace))


def chart_title(model, params):
    """The model's name and the parameters that differ from its defaults: ``cap-register
    (mode=ap)``."""
    declared = getattr(type(model), "_params", {})
    changed = [f"{k}={_param_text(v)}" for k, v in params.items()
               if k not in declared or v != declared[k].default]
    name = model.display_name() if hasattr(model, "display_name") else type(model).__name__
    return name + (f" ({', '.join(changed)})" if changed else "")


def _param_text(v):
    return str(v).lower() if isinstance(v, bool) else str(v)


def _subtitle(trace):
    n = len(trace.steps) - 1
    steps = f"{n} step{'s' * (n != 1)}"
    if trace.kind == "deadlock":
        return f"deadlock after {steps}"
    if trace.kind == "exception":
        return f"the model raised an exception at step {n}"
    what = f"{trace.property} violated ({trace.kind})"
    k = trace.loop_start
    if k is None:
        return f"{what} at step {n}"
    if k == n:
        return f"{what}: after {steps} the behaviour stutters forever"
    return f"{what}: steps {k}–{n} repeat forever"


def events(model, trace):
    """What the chart of ``trace`` shows, as data (``Chart``). A pure function of the model's
    declarations and the trace."""
    declared = model.sequence_chart()
    nodes = list(declared["nodes"])
    node_name = declared.get("node_name", "node")
    types = getattr(model, "_types", None) or {}
    node_domain = getattr(model, "NODE", None)
    per_node = [n for n, t in types.items()
                if isinstance(t, Array) and t.index is node_domain and n not in NETWORK]
    notes = [n for n in declared.get("notes", ()) if n in per_node] or per_node
    highlight = declared.get("highlight") or {}
    history = _history_field(types, node_domain)
    shared = [n for n in types if n not in per_node and n not in NETWORK and n != history]
    order = _field_order(types.get("messages"))

    states, prev = [], None
    for step in trace.steps:  # a step whose action raised keeps the state before it
        prev = step.state if step.state is not None else prev
        states.append(prev)
    chart = Chart(chart_title(model, trace.params), _subtitle(trace), nodes,
                  [f"{node_name} {i}" for i in nodes], [])
    chart.message_types = list(order)
    chart.messages = _messages(trace, states, order)
    moved = {k for m in chart.messages for k in (m.sent, m.received, m.dropped, m.duplicated)}
    for k, step in enumerate(trace.steps):
        old = states[k - 1] if k else None
        new = states[k]
        actor = _actor(model, step, node_domain)
        args = ", ".join(f"{a}={_arg_text(v)}" for a, v in step.args.items())
        row = Row(k, step.action or "init", args, actor)
        chart.rows.append(row)
        if new is None:
            continue
        for name in shared:
            if name in new and (old is None or old.get(name) != new[name]):
                row.shared.extend(_note_lines(name, None if old is None else old.get(name),
                                              new[name], isinstance(types[name], (Set, Bag))))
        changed = {i for i in nodes for name in per_node if name in new and (
            old is None or old[name][i] != new[name][i])}
        for i in sorted(changed):
            lines, bright = [], False
            for name in notes:  # in the order the model declares them
                if old is not None and old[name][i] == new[name][i]:
                    continue
                is_set = isinstance(types[name].value, (Set, Bag))
                lines.extend(_note_lines(name, None if old is None else old[name][i],
                                         new[name][i], is_set))
                bright |= new[name][i] in highlight.get(name, ())
            if lines:
                chart.notes.append(Note(i, k, lines, bright))
        if history is not None and old is not None:
            chart.operations.extend(_operations(old.get(history), new.get(history), k))
        if (old is not None and actor is not None and k not in moved
                and step.action not in ("recover_node", "crash_node")):
            chart.interactions.extend(Interaction(actor, i, k, step.action)
                                      for i in sorted(changed - {actor}))
    chart.partitions = _partitions(states)
    chart.crashes = _crashes(states, nodes)
    n = len(trace.steps) - 1
    chart.loop_start = trace.loop_start
    chart.violation = n if trace.loop_start is None else trace.loop_start
    chart.violation_text = _violation_text(trace)
    chart.loop_text = loop_note(trace)
    return chart


def _violation_text(trace):
    if trace.kind == "deadlock":
        return "✗ deadlock: no step is enabled"
    if trace.kind == "exception":
        return f"✗ raised {trace.steps[-1].error}"
    if trace.loop_start is not None:
        return f"⟳ {trace.property} violated: the loop starts here"
    return f"✗ {trace.property} violated"


def _field_order(bag):
    """{message type: its fields in declaration order}, from the ``messages`` Bag's type."""
    if not isinstance(bag, Bag):
        return {}
    elem = bag.elem
    alternatives = elem.alternatives if isinstance(elem, OneOf) else [elem]
    return {a.cls._tag: list(a.fields) for a in alternatives
            if isinstance(a, RecordType) and a.cls._tag is not None}


def _ordered(m, order):
    """Message ``m`` (trace JSON) with its fields in the declared order."""
    fields = order.get(m.get("type"))
    if not fields:
        return dict(m)
    head = {"type": m["type"]} if "type" in m else {}
    return {**head, **{f: m[f] for f in fields if f in m},
            **{k: v for k, v in m.items() if k not in head and k not in fields}}


def _key(m):
    return json.dumps(m, sort_keys=True)


def _messages(trace, states, order):
    """Every copy of every message, from the growth and shrinking of the ``messages`` bag."""
    out, in_flight = [], {}  # key -> copies in flight, oldest first
    before = Counter()
    for k, state in enumerate(states):
        if state is None or trace.steps[k].state is None:
            continue
        now = state.get("messages") or []
        after = Counter(_key(m) for m in now)
        action = trace.steps[k].action
        for key, count in before.items():
            for _ in range(count - after[key]):
                copies = in_flight.get(key)
                if not copies:
                    continue
                m = copies.pop(0)
                if action == "drop_message":
                    m.dropped = k
                else:
                    m.received = k
        seen = set()
        for m in now:
            key = _key(m)
            if key in seen:
                continue
            seen.add(key)
            for _ in range(after[key] - before[key]):
                copies = in_flight.setdefault(key, [])
                if not isinstance(m, dict) or "src" not in m or "dst" not in m:
                    continue
                first = copies[0] if copies else None
                if action == "duplicate_message" and first is not None:
                    copy = Message(first.fields, first.src, first.dst, first.sent, duplicated=k)
                else:
                    copy = Message(_ordered(m, order), m["src"], m["dst"], k)
                copies.append(copy)
                out.append(copy)
        before = after
    return out


def _actor(model, step, node_domain):
    """The node that takes a step: the recipient of the message it handles, else the first
    argument that is a node; None for the network's own steps and the environment's."""
    if step.action is None or step.action in ("drop_message", "duplicate_message"):
        return None
    for v in step.args.values():
        if isinstance(v, dict) and isinstance(v.get("dst"), int):
            return v["dst"]
    spec = getattr(model, "_actions", {}).get(step.action)
    if spec is None:
        return None
    for domain, v in zip(spec.each, step.args.values()):
        if isinstance(domain, str):
            domain = getattr(model, domain, None)
        if domain is node_domain and isinstance(v, int):
            return v
    return None


def _arg_text(v):
    """An action's argument: a message as its type and endpoints (the arrow shows the rest)."""
    if isinstance(v, dict) and "src" in v and "dst" in v:
        return f"{v.get('type', 'message')} {v['src']}→{v['dst']}"
    return format_value(v)


def _note_lines(path, old, new, is_set=False):
    """What changed from ``old`` to ``new``, as ``path = new value`` lines (the element added to
    or removed from a set as ``path +x -y``); all of ``new`` when there was nothing before."""
    if old is None or type(old) is not type(new):
        return [f"{path} = {format_value(new)}"]
    if old == new:
        return []
    if isinstance(new, list) and (is_set or len(old) != len(new)):
        added = [x for x in new if x not in old]
        removed = [x for x in old if x not in new]
        return [f"{path} " + " ".join([f"+{format_value(x)}" for x in added]
                                      + [f"−{format_value(x)}" for x in removed])]
    if isinstance(new, list):
        return [line for i, (a, b) in enumerate(zip(old, new))
                for line in _note_lines(f"{path}[{i}]", a, b)]
    if isinstance(new, dict) and new.keys() == old.keys() and "type" not in new:
        return [line for key in new for line in _note_lines(f"{path}.{key}", old[key], new[key])]
    return [f"{path} = {format_value(new)}"]


def _history_field(types, node_domain):
    """The variable holding a history of client operations (``specs.consistency``'s format)
    whose sessions are nodes, or None."""
    for name, t in types.items():
        elem = getattr(t, "elem", None) if isinstance(t, Seq) else None
        if (isinstance(elem, RecordType)
                and {"session", "kind", "value", "completed"} <= elem.fields.keys()
                and isinstance(elem.fields["session"], Id)
                and elem.fields["session"].domain is node_domain):
            return name
    return None


def _operations(old, new, k):
    """The requests (operations added) and responses (operations completed) of step k."""
    old, new = old or [], new or []
    out = []
    for n, op in enumerate(new):
        before = old[n] if n < len(old) else None
        call = _call(op)
        if before is None:
            out.append(Operation(op["session"], k, "request", call))
        if op.get("completed") is not None and (before is None
                                                 or before.get("completed") is None):
            result = "ok" if op.get("kind") == "write" else f"= {format_value(op.get('value'))}"
            out.append(Operation(op["session"], k, "response", f"{call} {result}"))
    return out


def _call(op):
    key = f"key={op['key']}, " if op.get("key") not in (None, 0) else ""
    if op.get("kind") == "write":
        return f"write({key}{format_value(op.get('value'))})"
    return f"{op.get('kind', 'op')}({key.rstrip(', ')})"


def _partitions(states):
    out, current = [], None
    for k, state in enumerate(states):
        sides = (state or {}).get("partition") or []
        if current is not None and sides != current.sides:
            current.end = k
            current = None
        if sides and current is None:
            current = Partition(sides, k)
            out.append(current)
    return out


def _crashes(states, nodes):
    out, down = [], {}
    for k, state in enumerate(states):
        up = (state or {}).get("up")
        if up is None:
            continue
        for i in nodes:
            if not up[i] and i not in down:
                down[i] = Crash(i, k)
                out.append(down[i])
            elif up[i] and i in down:
                down.pop(i).end = k
    return out


# -- text metrics ------------------------------------------------------------------------------
# Helvetica/Arial advance widths (1/1000 em) of the printable ASCII characters, space to "~".
_ARIAL = [278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
          556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
          1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
          667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
          333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
          556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584]


def text_width(text, size, bold=False):
    """The estimated width in pixels of ``text`` in Helvetica at ``size`` px."""
    units = sum(_ARIAL[ord(c) - 32] if 32 <= ord(c) < 127 else 900 for c in text)
    return units * size / 1000 * (1.07 if bold else 1.0)


def wrap(text, width, size, bold=False):
    """``text`` broken into lines of at most ``width`` px, after ", " or a space where it can."""
    if text_width(text, size, bold) <= width:
        return [text]
    lines, line = [], ""
    for token in _tokens(text):
        if line and text_width(line + token, size, bold) > width:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line += token
        while text_width(line, size, bold) > width and len(line) > 1:  # one long word
            cut = len(line)
            while cut > 1 and text_width(line[:cut], size, bold) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _tokens(text):
    out, start = [], 0
    for n, c in enumerate(text):
        if c == " ":
            out.append(text[start:n + 1])
            start = n + 1
    out.append(text[start:])
    return [t for t in out if t]


# -- the drawing -------------------------------------------------------------------------------
FONT = "Helvetica, Arial, sans-serif"
#: message colours, one per message type in declaration order (red is kept for violations,
#: partitions, crashes and drops)
PALETTE = ["#1f5fbf", "#2a7d2a", "#7b3fb0", "#a0522d", "#00838f", "#c2185b", "#5d6d00",
           "#455a64"]
RED, GREEN, CLIENT, SYNC = "#c62828", "#2e7d32", "#00695c", "#546e7a"
NOTE_FILL, NOTE_LINE = "#fff8dc", "#d6c27a"
GUTTER = 30  # the step numbers
TITLE_SIZE, TEXT, SMALL = 18, 12, 11
LINE = 14  # the height of a line of SMALL text
NOTE_PAD = 4


@dataclass
class _Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def overlap(self, other):
        w = min(self.x1, other.x1) - max(self.x0, other.x0)
        h = min(self.y1, other.y1) - max(self.y0, other.y0)
        return w * h if w > 0 and h > 0 else 0

    def holds(self, x, y):
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1


class _Svg:
    """An SVG document built as text."""

    def __init__(self):
        self.parts = []

    def add(self, tag, text=None, title=None, **attrs):
        body = "".join(f" {k.rstrip('_').replace('_', '-')}={quoteattr(str(v))}"
                       for k, v in attrs.items() if v is not None)
        inner = (f"<title>{escape(title)}</title>" if title else "") + (
            escape(text) if text is not None else "")
        self.parts.append(f"<{tag}{body}>{inner}</{tag}>" if inner else f"<{tag}{body}/>")

    def text(self, x, y, text, size=SMALL, **attrs):
        self.add("text", text, x=f"{x:.1f}", y=f"{y:.1f}", font_size=size, **attrs)

    def line(self, x1, y1, x2, y2, **attrs):
        self.add("line", x1=f"{x1:.1f}", y1=f"{y1:.1f}", x2=f"{x2:.1f}", y2=f"{y2:.1f}", **attrs)

    def rect(self, x, y, w, h, **attrs):
        self.add("rect", x=f"{x:.1f}", y=f"{y:.1f}", width=f"{w:.1f}", height=f"{h:.1f}", **attrs)

    def pill(self, x, y, text, colour, anchor="middle"):
        """A rounded label centred on (x, y) (or starting at x); its box."""
        w = text_width(text, SMALL, True) + 12
        x0 = x - w / 2 if anchor == "middle" else x
        self.rect(x0, y - 9, w, 18, rx=9, fill="white", stroke=colour, stroke_width=1.2)
        self.text(x0 + w / 2, y + 4, text, text_anchor="middle", fill=colour, font_weight="bold")
        return _Box(x0, y - 9, x0 + w, y + 9)

    def cross(self, x, y, r, colour=RED):
        self.add("path", d=f"M{x - r:.1f},{y - r:.1f} L{x + r:.1f},{y + r:.1f} "
                           f"M{x - r:.1f},{y + r:.1f} L{x + r:.1f},{y - r:.1f}",
                 stroke=colour, stroke_width=2.5, fill="none")


class _Layout:
    """Where everything goes: the columns across (steps, one per node, other state) and the
    rows down, each as tall as what it holds."""

    def __init__(self, chart, width):
        self.chart = chart
        self.margin = 30 if chart.loop_start is not None else 14  # room for the loop's bracket
        n = len(chart.nodes)
        wanted = [text_width(x, TEXT, i == 0) for r in chart.rows
                  for i, x in enumerate(_row_lines(r, 230))]
        if chart.violation_text:
            wanted.append(min(230, text_width(chart.violation_text, TEXT, True)))
        self.left = min(260, max(170, GUTTER + 10 + max(wanted)))
        shared = [x for r in chart.rows for x in r.shared]
        self.right = 0 if not shared else min(270, max(
            120, 16 + max(text_width(x, SMALL) for x in shared)))
        room = width - 2 * self.margin - self.left - self.right
        self.col = min(440, room / max(n, 1))
        self.x0 = self.margin + self.left
        self.x_end = self.x0 + self.col * n
        self.width = self.x_end + self.right + self.margin
        self.x = {i: self.x0 + self.col * (j + 0.5) for j, i in enumerate(chart.nodes)}
        self.shared_x = self.x_end + 12
        self.note_width = self.col - 18
        self.label_width = self.left - GUTTER - 8
        self.notes = {}
        for note in chart.notes:
            lines = [x for line in note.lines for x in wrap(line, self.note_width - 2 * NOTE_PAD,
                                                            SMALL, note.highlight)]
            self.notes[(note.node, note.step)] = (note, lines)
        responses = {(o.node, o.step) for o in chart.operations if o.kind == "response"}
        # the legend at the top right: beside the title, or the subtitle, or on a line of its own
        legend = sum(text_width(text, SMALL) + 52 for _, text in _legend(chart))
        free = self.width - 2 * self.margin - legend - 24
        self.legend_y, self.header_top = 26, 64
        if text_width(chart.title, TITLE_SIZE, True) > free:
            self.legend_y = 46
            if text_width(chart.subtitle, 13) > free:
                self.legend_y, self.header_top = 72, 88
        self.top, self.event, self.out, self.bottom = {}, {}, {}, {}
        y = self.header_top + 40
        for r in chart.rows:
            self.top[r.step] = y
            event = y + 20  # a row's arrows arrive here; its notes hang below
            self.event[r.step] = event
            tallest = 0
            for i in chart.nodes:
                found = self.notes.get((i, r.step))
                out = event  # and its messages leave here: below the node's note
                if found is not None:
                    out = event + 7 + len(found[1]) * LINE + 2 * NOTE_PAD + 3
                self.out[(i, r.step)] = out
                tallest = max(tallest, out - y + (18 if (i, r.step) in responses else 0))
            label = 15 * (len(_row_lines(r, self.label_width)) + len(self.violation_lines(r.step)))
            side = len([x for line in r.shared for x in wrap(line, self.right - 16, SMALL)])
            y += max(36, tallest + 10, label + 16, side * LINE + 16)
            self.bottom[r.step] = y
        self.end = y
        tail = any(m.fate == "in flight" for m in chart.messages) or chart.loop_text
        self.height = y + (56 if tail else 24)

    def violation_lines(self, step):
        c = self.chart
        if step != c.violation or not c.violation_text:
            return []
        return wrap(c.violation_text, self.label_width, TEXT, True)

    def y_out(self, node, step):
        return self.out.get((node, step), self.event[step])


def _row_lines(row, width):
    return (wrap(row.action, width, TEXT, True)
            + (wrap(f"({row.args})", width, SMALL) if row.args else []))


@dataclass
class _Label:
    """A message's label, placed once everything else is drawn: along its arrow, where it hides
    the least."""
    lines: list
    colour: str
    full: str
    path: list  # the arrow's points


class _Drawing:
    """The chart drawn: what is placed so far (boxes that a label should not hide, points of the
    arrows) and the labels still to place."""

    def __init__(self, chart, lay):
        self.chart, self.lay, self.svg = chart, lay, _Svg()
        self.boxes, self.paths, self.labels = [], [], []
        kinds = list(chart.message_types)
        for m in chart.messages:
            if m.kind not in kinds:
                kinds.append(m.kind)
        self.colours = {k: PALETTE[n % len(PALETTE)] for n, k in enumerate(kinds)}

    def arrow(self, path, colour, title=None, dash=None, head="head", width=1.6):
        d = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in path)
        self.svg.add("path", title=title, d=d, fill="none", stroke=colour, stroke_width=width,
                     stroke_dasharray=dash,
                     marker_end=None if head is None else f"url(#{head}-{colour.lstrip('#')})")
        self.paths.append(path)

    def draw(self):
        chart, lay, svg = self.chart, self.lay, self.svg
        colours = set(self.colours.values()) | {CLIENT, SYNC, "#333333"}
        svg.parts.append("<defs>" + "".join(_markers(c) for c in sorted(colours)) + "</defs>")
        self.background()
        self.header()
        self.steps()
        self.lifelines()
        self.partitions()
        for m in chart.messages:
            self.message(m)
        for a in chart.interactions:
            self.interaction(a)
        for r in chart.rows:  # the node that takes each step
            if r.actor in lay.x:
                svg.add("circle", cx=f"{lay.x[r.actor]:.1f}", cy=f"{lay.event[r.step]:.1f}",
                        r=3.5, fill="#37474f")
        for note, lines in lay.notes.values():
            self.note(note, lines)
        for op in chart.operations:
            self.operation(op)
        self.crashes()
        for label in self.labels:
            self.place(label)
        self.tail()
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{lay.width:.0f}" '
                f'height="{lay.height:.0f}" viewBox="0 0 {lay.width:.0f} {lay.height:.0f}" '
                f'font-family={quoteattr(FONT)}>'
                f"<title>{escape(chart.title)}: {escape(chart.subtitle)}</title>")
        return "\n".join([head] + svg.parts + ["</svg>"]) + "\n"

    # -- the frame ---------------------------------------------------------------------------
    def background(self):
        chart, lay, svg = self.chart, self.lay, self.svg
        left = lay.margin
        svg.rect(0, 0, lay.width, lay.height, fill="white")
        loop = chart.loop_start
        for r in chart.rows:
            fill = ("#fdecea" if r.step == chart.violation else
                    LOOP_FILL if loop is not None and r.step >= loop else
                    "#f5f5f5" if r.step % 2 else None)
            if fill:
                svg.rect(left, lay.top[r.step], lay.width - 2 * left,
                         lay.bottom[r.step] - lay.top[r.step], fill=fill)
        if chart.violation in lay.top:
            v = chart.violation
            svg.rect(left, lay.top[v], 4, lay.bottom[v] - lay.top[v], fill=RED)

    def steps(self):
        """The step column at the left (number, action, arguments, the violation) and the other
        state's changes at the right."""
        chart, lay, svg = self.chart, self.lay, self.svg
        left, loop = lay.margin, chart.loop_start
        if loop is not None:  # a bracket beside the loop's rows, as the terminal draws it
            y0, y1 = lay.top[loop] + 2, lay.bottom[chart.rows[-1].step] - 2
            svg.add("path", d=f"M{left - 4},{y0} h-6 V{y1} h6", fill="none", stroke=LOOP_COLOR,
                    stroke_width=2.5)
            mid = (y0 + y1) / 2
            svg.text(left - 17, mid, "loop", text_anchor="middle", fill=LOOP_COLOR,
                     font_weight="bold", transform=f"rotate(-90 {left - 17} {mid:.1f})")
        for r in chart.rows:
            y = lay.event[r.step] + 4
            svg.text(left + GUTTER - 6, y, str(r.step), size=TEXT, text_anchor="end",
                     fill="#555555", font_weight="bold")
            lines = _row_lines(r, lay.label_width)
            for n, text in enumerate(lines):
                svg.text(left + GUTTER, y + 15 * n, text, size=TEXT if n == 0 else SMALL,
                         font_weight="bold" if n == 0 else None,
                         fill="#222222" if n == 0 else "#555555")
            for n, text in enumerate(lay.violation_lines(r.step)):
                svg.text(left + GUTTER, y + 15 * (len(lines) + n), text, size=TEXT, fill=RED,
                         font_weight="bold")
            row = 0
            for line in r.shared if lay.right else ():
                for n, text in enumerate(wrap(line, lay.right - 16, SMALL)):
                    svg.text(lay.shared_x + (10 if n else 0), y + LINE * row, text,
                             fill="#444444")
                    row += 1

    def header(self):
        chart, lay, svg = self.chart, self.lay, self.svg
        svg.text(lay.margin, 28, chart.title, size=TITLE_SIZE, font_weight="bold", fill="#111111")
        svg.text(lay.margin, 50, chart.subtitle, size=13, fill=RED)
        self.legend()
        top = lay.header_top
        for i, name in zip(chart.nodes, chart.node_names):
            w = min(lay.col - 16, text_width(name, 13, True) + 28)
            x = lay.x[i]
            svg.rect(x - w / 2, top, w, 28, rx=4, fill="#eceff1", stroke="#78909c")
            svg.text(x, top + 19, name, size=13, font_weight="bold", text_anchor="middle",
                     fill="#263238")
            self.boxes.append(_Box(x - w / 2, top, x + w / 2, top + 28))
        if lay.right:
            svg.text(lay.shared_x, top + 19, "other state", font_weight="bold", fill="#555555")

    def legend(self):
        """The kinds of mark this chart uses, at the top right (only those that appear)."""
        svg = self.svg
        x, y = self.lay.width - self.lay.margin, self.lay.legend_y
        for kind, text in reversed(_legend(self.chart)):
            svg.text(x, y + 4, text, text_anchor="end", fill="#444444")
            x -= text_width(text, SMALL) + 6
            if kind in ("solid", "dashed", "dotted", "client", "sync"):
                colour = {"client": CLIENT, "sync": SYNC}.get(kind, "#333333")
                svg.line(x - 28, y, x, y, stroke=colour, stroke_width=1.5,
                         stroke_dasharray={"dashed": "6 4", "dotted": "2 3"}.get(kind),
                         marker_end=f"url(#{'open' if kind == 'dashed' else 'head'}-"
                                    f"{colour.lstrip('#')})")
            elif kind == "cross":
                svg.line(x - 28, y, x - 6, y, stroke="#333333", stroke_width=1.5)
                svg.cross(x - 5, y, 4)
            elif kind == "wall":
                svg.line(x - 8, y - 8, x - 8, y + 8, stroke=RED, stroke_width=3,
                         stroke_dasharray="5 3")
            else:
                svg.cross(x - 8, y, 5)
            x -= 28 + 18

    def lifelines(self):
        chart, lay, svg = self.chart, self.lay, self.svg
        top, bottom = lay.header_top + 28, lay.end + 30
        for i in chart.nodes:
            svg.line(lay.x[i], top, lay.x[i], bottom, stroke="#9e9e9e", stroke_width=1.3)
        for c in chart.crashes:  # down: the lifeline thin and dotted
            x, y0 = lay.x[c.node], lay.event[c.start]
            y1 = lay.event[c.end] if c.end is not None else bottom
            svg.line(x, y0, x, y1, stroke="white", stroke_width=3)
            svg.line(x, y0, x, y1, stroke="#bdbdbd", stroke_width=1.5, stroke_dasharray="1 4")
        for p in chart.partitions:  # the far side tinted when the walls alone cannot say which
            if _contiguous(p.sides, chart.nodes):
                continue
            y0 = lay.event[p.start]
            y1 = lay.event[p.end] if p.end is not None else bottom
            for side in p.sides:
                if chart.nodes[0] not in side:
                    for i in side:
                        svg.line(lay.x[i], y0, lay.x[i], y1, stroke="#ef6c00", stroke_width=3,
                                 stroke_opacity=0.6)

    def partitions(self):
        """A wall between neighbouring lifelines on different sides, from the step that cuts
        the network to the step that heals it."""
        chart, lay, svg = self.chart, self.lay, self.svg
        for p in chart.partitions:
            y0 = lay.event[p.start] - 12
            y1 = lay.event[p.end] if p.end is not None else lay.end + 30
            where = {i: n for n, side in enumerate(p.sides) for i in side}
            walls = [(lay.x[a] + lay.x[b]) / 2 for a, b in zip(chart.nodes, chart.nodes[1:])
                     if where.get(a) != where.get(b)]
            for x in walls:
                svg.line(x, y0, x, y1, stroke=RED, stroke_width=3, stroke_dasharray="9 5",
                         stroke_opacity=0.8)
                self.paths.append([(x, y0), (x, y1)])  # for labels to keep clear of
            sides = " | ".join("{" + ", ".join(map(str, side)) + "}" for side in p.sides)
            if walls:
                self.boxes.append(svg.pill(walls[0], y0 - 1, f"partition {sides}", RED))
                if p.end is not None:
                    self.boxes.append(svg.pill(walls[0], y1 + 1, "healed", GREEN))

    def crashes(self):
        lay, svg = self.lay, self.svg
        for c in self.chart.crashes:
            x, y = lay.x[c.node], lay.event[c.start]
            svg.cross(x, y, 7)
            self.boxes.append(svg.pill(x + 12, y, "crashed", RED, anchor="start"))
            if c.end is not None:
                y = lay.event[c.end]
                svg.add("circle", cx=f"{x:.1f}", cy=f"{y:.1f}", r=5, fill=GREEN)
                self.boxes.append(svg.pill(x + 12, y, "recovered", GREEN, anchor="start"))

    def tail(self):
        chart, lay = self.chart, self.lay
        x, y = lay.margin + GUTTER, lay.end + 44
        if chart.loop_text:
            self.svg.text(x, y, f"⟳ {chart.loop_text}", size=TEXT, fill=LOOP_COLOR,
                          font_weight="bold")
        elif any(m.fate == "in flight" for m in chart.messages):
            self.svg.text(x, y, "end of the trace: dashed messages are still in flight",
                          fill="#555555")

    # -- what happens ------------------------------------------------------------------------
    def note(self, note, lines):
        lay, svg = self.lay, self.svg
        x = lay.x[note.node]
        w = min(lay.note_width, max(text_width(t, SMALL, note.highlight) for t in lines)
                + 2 * NOTE_PAD + 4)
        y = lay.event[note.step] + 7
        h = len(lines) * LINE + 2 * NOTE_PAD
        colour = RED if note.highlight else "#333333"
        svg.rect(x - w / 2, y, w, h, rx=3, fill="#fdecea" if note.highlight else NOTE_FILL,
                 stroke=RED if note.highlight else NOTE_LINE,
                 stroke_width=1.5 if note.highlight else 1)
        for n, text in enumerate(lines):
            svg.text(x - w / 2 + NOTE_PAD + 2, y + NOTE_PAD + 10 + LINE * n, text, fill=colour,
                     font_weight="bold" if note.highlight else None)
        self.boxes.append(_Box(x - w / 2, y, x + w / 2, y + h))

    def operation(self, op):
        """A client's request (an arrow from the client's dot into the lifeline, UML's found
        message) or its response (from the lifeline back to the dot), left of the lifeline."""
        lay, svg = self.lay, self.svg
        x = lay.x[op.node]
        far = x - lay.col * 0.4
        if op.kind == "request":
            y = lay.event[op.step]
            self.arrow([(far + 5, y), (x - 2, y)], CLIENT)
            text, text_y = f"client: {op.text}", y - 5
        else:
            y = lay.y_out(op.node, op.step) + 2
            self.arrow([(x - 2, y), (far + 6, y)], CLIENT)
            text, text_y = f"reply: {op.text}", y + 14
        svg.add("circle", cx=f"{far:.1f}", cy=f"{y:.1f}", r=4, fill=CLIENT)
        svg.text(far, text_y, text, fill=CLIENT, font_weight="bold")
        w = text_width(text, SMALL, True)
        self.boxes.append(_Box(far - 5, min(y, text_y - 10) - 1, far + w, max(y, text_y) + 4))

    def message(self, m):
        lay = self.lay
        colour = self.colours[m.kind]
        x1, y1 = lay.x[m.src], lay.y_out(m.src, m.sent)
        x2 = lay.x[m.dst]
        head, dash, fate = "head", None, ""
        if m.duplicated is not None:
            dash, fate = "2 3", f", duplicated at step {m.duplicated}"
        if m.fate == "received":
            y2 = lay.event[m.received]
            fate += f", received at step {m.received}"
        elif m.fate == "dropped":  # part of the way, to a cross
            y2 = lay.event[m.dropped]
            x2 = x1 + (x2 - x1) * 0.55 if x2 != x1 else x1 + 40
            head, fate = None, fate + f", dropped at step {m.dropped}"
        else:  # most of the way, to the end of the trace
            y2 = lay.end + 20
            x2 = x1 + (x2 - x1) * 0.8 if x2 != x1 else x1 + 40
            head, dash, fate = "open", dash or "7 4", fate + ", still in flight at the end"
        if m.src == m.dst and m.fate == "received":  # to itself: out to the right and back
            path = [(x1, y1), (x1 + 36, y1), (x1 + 36, y2), (x1 + 2, y2)]
        else:
            path = [(x1, y1), (x2, y2)]
        title = f"{m.text()} from {m.src} to {m.dst}, sent at step {m.sent}{fate}"
        self.arrow(path, colour, title, dash, head)
        if m.fate == "dropped":
            self.svg.cross(x2, y2, 6)
        if m.duplicated is not None:  # a ring where the network made the copy
            (ax, ay), (bx, by) = path[0], path[-1]
            y = lay.event[m.duplicated]
            x = ax + (bx - ax) * ((y - ay) / (by - ay) if by != ay else 0.5)
            self.svg.add("circle", cx=f"{x:.1f}", cy=f"{y:.1f}", r=4, fill="white",
                         stroke=colour, stroke_width=2)
        span = max(abs(b[0] - a[0]) for a, b in zip(path, path[1:]))
        kind = m.kind + (" (copy)" if m.duplicated is not None else "")
        width = max(text_width(kind, SMALL, True) + 2,
                    lay.col * 0.8 if m.src == m.dst else min(span - 16, lay.col * 1.5), 110)
        lines = [kind]
        if m.body():
            lines += wrap(m.body(), width, SMALL)
        lines += {"dropped": ["✕ dropped"], "in flight": ["… in flight"]}.get(m.fate, [])
        self.labels.append(_Label(lines, colour, title, path))

    def interaction(self, a):
        x1, x2, y = self.lay.x[a.src], self.lay.x[a.dst], self.lay.event[a.step]
        self.arrow([(x1, y), (x2 + (-2 if x2 > x1 else 2), y)], SYNC)
        self.labels.append(_Label([a.label], SYNC, f"{a.label}: {a.src} updates {a.dst} in one "
                                  "atomic step", [(x1, y), (x2, y)]))

    def place(self, label):
        """Put ``label`` beside or on its arrow, where it hides the least: no note, pill or
        other label, no arrow's end, as little of any arrow as it can."""
        lay, svg = self.lay, self.svg
        w = max(text_width(t, SMALL, n == 0)
                for n, t in enumerate(label.lines)) + 8
        h = len(label.lines) * 13 + 5
        segment = max(zip(label.path, label.path[1:]),
                      key=lambda s: abs(s[1][0] - s[0][0]) + abs(s[1][1] - s[0][1]))
        (ax, ay), (bx, by) = segment
        lo, hi = lay.x0 + 2, lay.x_end - 2
        best = None
        for n, t in enumerate((0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8)):
            for where in ("on", "above", "below", "right", "left"):
                cx, cy = ax + (bx - ax) * t, ay + (by - ay) * t
                if where in ("right", "left"):  # clear of the line across the label's height
                    xs = [ax + (bx - ax) * min(max((y - ay) / (by - ay), 0), 1) if by != ay
                          else cx for y in (cy - h / 2, cy + h / 2)]
                    cx = max(xs) + w / 2 + 4 if where == "right" else min(xs) - w / 2 - 4
                cx = min(max(cx, lo + w / 2), hi - w / 2)
                if where in ("above", "below") and bx != ax:  # clear across the label's width
                    ys = [ay + (by - ay) * min(max((x - ax) / (bx - ax), 0), 1)
                          for x in (cx - w / 2, cx + w / 2)]
                    cy = (min(ys) - h / 2 - 3) if where == "above" else (max(ys) + h / 2 + 3)
                elif where in ("above", "below"):
                    cy += (-1 if where == "above" else 1) * (h / 2 + 3)
                box = _Box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                cost = n + sum(box.overlap(o) for o in self.boxes) + self.hides(box, label.path)
                if best is None or cost < best[0]:
                    best = (cost, box)
        box = best[1]
        self.boxes.append(box)
        svg.parts.append(f"<g><title>{escape(label.full)}</title>")
        svg.rect(box.x0, box.y0, w, h, rx=3, fill="white", fill_opacity=0.92,
                 stroke=label.colour, stroke_width=0.6, stroke_opacity=0.5)
        for n, text in enumerate(label.lines):
            svg.text(box.x0 + 4, box.y0 + 13 + 13 * n, text, fill=label.colour,
                     font_weight="bold" if n == 0 else None)
        svg.parts.append("</g>")

    def hides(self, box, own):
        """How much of the arrows ``box`` would hide: their ends (arrowheads, crosses) most,
        another arrow more than its own."""
        cost = 0
        for path in self.paths:
            for (ax, ay), (bx, by) in zip(path, path[1:]):
                steps = max(1, int(max(abs(bx - ax), abs(by - ay)) / 6))
                for s in range(steps + 1):
                    x, y = ax + (bx - ax) * s / steps, ay + (by - ay) * s / steps
                    if not box.holds(x, y):
                        continue
                    if s >= steps - 2 or (s <= 1 and path is not own):
                        cost += 400
                    else:
                        cost += 12 if path is own else 60
        return cost


def _legend(chart):
    """The kinds of mark the chart uses, each with its words."""
    fates = {m.fate for m in chart.messages}
    return [(kind, text) for kind, text, shown in (
        ("solid", "message", "received" in fates),
        ("dashed", "in flight at the end", "in flight" in fates),
        ("cross", "dropped", "dropped" in fates),
        ("dotted", "duplicate", any(m.duplicated is not None for m in chart.messages)),
        ("client", "client request / response", bool(chart.operations)),
        ("sync", "atomic update", bool(chart.interactions)),
        ("wall", "partition", bool(chart.partitions)),
        ("crash", "crash", bool(chart.crashes))) if shown]


def _markers(colour):
    ident = colour.lstrip("#")
    return (f'<marker id="head-{ident}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
            f'markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/>'
            f'</marker><marker id="open-{ident}" viewBox="0 0 10 10" refX="10" refY="5" '
            f'markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10" '
            f'fill="none" stroke="{colour}" stroke-width="1.5"/></marker>')


def _contiguous(sides, nodes):
    """Are the sides runs of neighbouring lifelines (so the walls between them say it all)?"""
    where = {i: n for n, side in enumerate(sides) for i in side}
    return sum(where.get(a) != where.get(b) for a, b in zip(nodes, nodes[1:])) <= len(sides) - 1


def to_svg(chart, width=WIDTH):
    """The chart as SVG text, at most ``width`` pixels wide."""
    return _Drawing(chart, _Layout(chart, width)).draw()

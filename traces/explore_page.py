"""The explorer's one page (``traces.explore``): HTML with its CSS and JavaScript inline, no CDN,
no framework, so that it works offline. The model's description is embedded as JSON; every state
comes from the server's ``/api/state``. The URL's fragment holds the path
(``#path=rm_prepare(rm=0)/tm_rcv_prepared(rm=0)&at=1&trace=0``), so the browser's own back
button, a reload and a shared link all give the same state.

Elements the tests find by id: ``state`` (the table; a row per field, ``data-field``),
``actions`` (a button per step on offer, ``data-key``), ``path`` (a row per step,
``data-step``), ``back`` / ``forward``, ``alerts`` (violations), ``step-counter`` (in the
counterexample's bar), ``messages``, ``chart``, ``check-run``.
"""

import json

__all__ = ["page"]


def page(boot):
    """The page, with ``boot`` (``Explorer.boot()``) embedded as JSON."""
    data = json.dumps(boot).replace("</", "<\\/")
    title = f"{boot['model']} · kripke explore"
    return (_PAGE.replace("{{TITLE}}", _escape(title))
                 .replace("{{BOOT}}", data))


def _escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_PAGE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{TITLE}}</title>
<link rel="icon" href="data:,">
<style>
:root {
  --ink: #1d2330; --muted: #667085; --line: #e3e6ec; --bg: #f4f5f8; --panel: #fff;
  --accent: #2f5bd3; --accent-soft: #e8eefc; --changed: #fff3bf; --changed-ink: #7a5b00;
  --bad: #c62828; --bad-soft: #fdecea; --ok: #1b7f3b; --ok-soft: #e6f4ea; --warn: #b25e00;
  --warn-soft: #fff1e0; --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial,
       sans-serif; color: var(--ink); background: var(--bg); }
header { background: #1d2330; color: #fff; padding: 10px 20px; display: flex; gap: 18px;
         align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 17px; margin: 0; font-weight: 600; }
header h1 .brand { color: #9db4f5; font-weight: 500; margin-right: 6px; }
header .doc { color: #c5cbd8; font-size: 13px; }
header .params { display: flex; gap: 6px; flex-wrap: wrap; margin-left: auto; }
.chip { font: 12px var(--mono); padding: 1px 7px; border-radius: 10px; background: #2c3446;
        color: #c5cbd8; white-space: nowrap; }
.chip.set { background: #34508f; color: #fff; }
#tracebar { display: none; padding: 9px 20px; background: var(--bad-soft);
            border-bottom: 1px solid #f3c1bd; align-items: center; gap: 14px; flex-wrap: wrap; }
#tracebar.on { display: flex; }
#tracebar .what { font-weight: 600; color: var(--bad); }
#tracebar .counter { font: 600 13px var(--mono); background: #fff; border: 1px solid #f3c1bd;
                     border-radius: 6px; padding: 2px 9px; }
main { display: grid; grid-template-columns: minmax(260px, 330px) minmax(0, 1fr); gap: 16px;
       padding: 16px 20px 40px; align-items: start; }
.wide { grid-column: 1 / -1; }
aside, section.main { display: flex; flex-direction: column; gap: 16px; min-width: 0; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px;
         padding: 12px 14px; min-width: 0; }
.panel h2 { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; margin: 0 0 8px;
            color: var(--muted); font-weight: 600; display: flex; align-items: center; gap: 8px; }
.panel h2 .right { margin-left: auto; text-transform: none; letter-spacing: 0; }
button { font: inherit; cursor: pointer; border: 1px solid #c9cfdb; background: #fff;
         color: var(--ink); border-radius: 6px; padding: 3px 10px; }
button:hover:not(:disabled) { border-color: var(--accent); background: var(--accent-soft); }
button:disabled { opacity: .45; cursor: default; }
.nav { display: flex; gap: 6px; margin-bottom: 8px; }
ol#path { list-style: none; margin: 0; padding: 0; max-height: 42vh; overflow: auto;
          font: 12.5px var(--mono); }
ol#path li { padding: 3px 6px; border-radius: 5px; cursor: pointer; display: flex; gap: 8px; }
ol#path li .l { min-width: 0; word-break: break-word; }
ol#path li .n { color: var(--muted); min-width: 2.2em; text-align: right; }
ol#path li:hover { background: var(--accent-soft); }
ol#path li.current { background: var(--accent); color: #fff; }
ol#path li.current .n { color: #d5defa; }
ol#path li.future { color: #9aa2b1; }
ol#path li.loop { border-left: 3px solid #3b6fd8; border-radius: 0 5px 5px 0; }
ol#path li.loop .n::before { content: "⟳ "; color: #3b6fd8; }
ol#path li.bad .l::after { content: " ✗"; color: var(--bad); font-weight: 700; }
ol#path li.current.bad .l::after { color: #ffd7d3; }
#stepinfo { font-size: 15px; margin: 0 0 10px; font-weight: 600; }
#stepinfo code { font: 600 14px var(--mono); background: var(--accent-soft); padding: 1px 6px;
                 border-radius: 4px; }
#alerts:empty { display: none; }
.alert { border-radius: 6px; padding: 7px 11px; margin-bottom: 8px; }
.alert.bad { background: var(--bad-soft); color: var(--bad); border: 1px solid #f3c1bd; }
.alert.warn { background: var(--warn-soft); color: var(--warn); border: 1px solid #f6d3a8; }
.alert.info { background: var(--accent-soft); color: #23418f; border: 1px solid #cdd9f7; }
.alert b { font-family: var(--mono); }
.alert code { font: 12.5px var(--mono); }
.alert .by { font-size: 12.5px; opacity: .85; }
.alert .doc { color: var(--ink); opacity: .75; font-size: 13px; }
.alert .line + .line { margin-top: 4px; }
table { border-collapse: collapse; width: 100%; }
#state th, #state td { text-align: left; vertical-align: top; padding: 6px 8px;
                       border-bottom: 1px solid var(--line); }
#state th { width: 22%; min-width: 150px; font: 600 13px var(--mono); }
#state th .type { font: 11px var(--mono); color: var(--muted); font-weight: 400;
                  margin-top: 2px; word-break: break-word; }
#state tr.changed { background: var(--changed); }
#state tr.changed th::before { content: "●"; color: #e0a800; margin-right: 5px; }
#state tr.preview { outline: 2px dashed var(--accent); outline-offset: -2px; }
#state td { font: 13px var(--mono); }
.cells { display: flex; flex-wrap: wrap; gap: 5px; }
.cell { border: 1px solid var(--line); border-radius: 5px; padding: 1px 7px; background: #fafbfc;
        max-width: 100%; word-break: break-word; }
.cell .i { color: var(--muted); font-size: 11px; margin-right: 5px; }
.cell.chg { background: #ffe58a; border-color: #e0b400; font-weight: 600; }
.cell.add { background: var(--ok-soft); border-color: #9fd3ad; color: #0f5a28; }
.cell.add::before { content: "+ "; }
.cell.del { background: var(--bad-soft); border-color: #f3c1bd; color: var(--bad);
            text-decoration: line-through; }
.was { color: var(--changed-ink); font-size: 11.5px; font-weight: 400; margin-left: 6px; }
.empty { color: var(--muted); }
.group { display: grid; grid-template-columns: minmax(120px, 210px) 1fr; gap: 8px;
         padding: 5px 0; border-bottom: 1px solid var(--line); align-items: start; }
.group:last-child { border-bottom: 0; }
.group .name { font: 600 13px var(--mono); padding-top: 4px; word-break: break-word; }
.group .buttons { display: flex; flex-wrap: wrap; gap: 6px; min-width: 0; }
button.act { font: 12.5px var(--mono); text-align: left; max-width: 100%; word-break: break-word; }
button.act.forward { border-color: var(--accent); box-shadow: inset 0 0 0 1px var(--accent); }
button.act.forward::before { content: "▶ "; color: var(--accent); }
button.act.breaks { border-color: #e57373; background: #fff6f5; }
button.act.breaks::after { content: " ⚠"; color: var(--bad); }
button.act.stutter { color: #8a92a3; border-style: dashed; }
.quiet { color: var(--muted); font-size: 12.5px; margin-top: 8px; }
.quiet code { font-family: var(--mono); }
.raised { color: var(--bad); font: 12.5px var(--mono); margin-top: 6px; }
#preview { position: fixed; z-index: 10; display: none; max-width: 560px; background: #1d2330;
           color: #eef1f7; border-radius: 8px; padding: 9px 12px; font: 12.5px var(--mono);
           box-shadow: 0 6px 24px rgba(0,0,0,.25); pointer-events: none; }
#preview .t { font-weight: 700; color: #9db4f5; margin-bottom: 4px; }
#preview .c { white-space: pre-wrap; word-break: break-word; }
#preview .b { color: #ff9d94; margin-top: 5px; font-weight: 600; }
#preview .o { color: #ffd58a; margin-top: 5px; }
#props td { padding: 4px 4px; border-bottom: 1px solid var(--line); vertical-align: top;
            font-size: 12.5px; }
#props td.n { font: 600 12px var(--mono); word-break: break-word; }
#props .k { color: var(--muted); font: 11px system-ui, sans-serif; }
#props td:last-child { text-align: right; width: 1%; }
#props tr.more { display: none; }
#props.all tr.more { display: table-row; }
#props tr.more td.n { font-weight: 400; color: #4a5263; }
.badge { display: inline-block; border-radius: 9px; padding: 0 7px; font-size: 11.5px;
         font-weight: 600; white-space: nowrap; }
.badge.holds { background: var(--ok-soft); color: var(--ok); }
.badge.violated { background: var(--bad); color: #fff; }
.badge.yes { background: var(--ok-soft); color: var(--ok); }
.badge.no, .badge.na { background: #eef0f4; color: var(--muted); }
.badge.raised { background: var(--bad-soft); color: var(--bad); }
.nextbreak { color: var(--bad); font-size: 11.5px; }
#messages td, #messages th { padding: 4px 8px; border-bottom: 1px solid var(--line);
                             text-align: left; vertical-align: top; font-size: 12.5px; }
#messages th { color: var(--muted); font-weight: 600; font-size: 11.5px; }
#messages td.m { font-family: var(--mono); word-break: break-word; }
#messages td.s.deliverable { color: var(--ok); }
#messages td.s { color: var(--warn); }
#messages button { font-size: 12px; padding: 1px 7px; margin: 0 4px 3px 0; }
#chart { overflow: auto; }
#chart svg { max-width: 100%; height: auto; display: block; }
#check-panel label { display: block; font-size: 12.5px; color: var(--muted); margin: 6px 0 2px; }
#check-panel select, #check-panel input { width: 100%; font: inherit; padding: 3px 6px;
                                          border: 1px solid #c9cfdb; border-radius: 6px; }
#check-panel .row { display: flex; gap: 8px; align-items: end; margin-top: 8px; }
#check-result { margin-top: 10px; font-size: 13px; }
#check-result .ok { color: var(--ok); font-weight: 600; }
#check-result .bad { color: var(--bad); font-weight: 600; }
#check-result .inc { color: var(--warn); font-weight: 600; }
#error { display: none; position: fixed; bottom: 16px; left: 50%; transform: translateX(-50%);
         background: var(--bad); color: #fff; padding: 9px 16px; border-radius: 8px;
         max-width: 80vw; z-index: 20; box-shadow: 0 6px 24px rgba(0,0,0,.25); }
.keys { color: var(--muted); font-size: 11.5px; margin-top: 6px; }
kbd { font: 11px var(--mono); border: 1px solid #c9cfdb; border-bottom-width: 2px;
      border-radius: 4px; padding: 0 4px; background: #fff; }
@media (max-width: 900px) { main { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<script id="boot" type="application/json">{{BOOT}}</script>
<header>
  <h1><span class="brand">kripke explore</span><span id="model"></span></h1>
  <span class="doc" id="model-doc"></span>
  <span class="params" id="params"></span>
</header>
<div id="tracebar">
  <span class="what" id="trace-what"></span>
  <span class="counter" id="step-counter"></span>
  <button id="trace-first" title="the initial state">« first</button>
  <button id="trace-prev" title="previous step (←)">◀ step</button>
  <button id="trace-next" title="next step (→)">step ▶</button>
  <button id="trace-last" title="the violating state">last »</button>
  <span class="quiet" id="trace-note"></span>
</div>
<main>
  <aside>
    <div class="panel">
      <h2>Path <span class="right quiet" id="depth"></span></h2>
      <div class="nav">
        <button id="back" title="back one step (←)">◀ Back</button>
        <button id="forward" title="forward one step (→)">Forward ▶</button>
        <button id="restart" title="the initial state (Home)">« Initial</button>
      </div>
      <ol id="path"></ol>
      <div class="keys"><kbd>←</kbd> <kbd>→</kbd> back and forward, <kbd>Home</kbd> the initial
        state; the URL names this state.</div>
    </div>
    <div class="panel">
      <h2>Properties <span class="right"><label class="quiet"><input type="checkbox"
        id="show-all-props"> all</label></span></h2>
      <table id="props"></table>
    </div>
    <div class="panel" id="check-panel">
      <h2>Check</h2>
      <label for="check-prop">property</label>
      <select id="check-prop"></select>
      <div class="row">
        <div style="flex:1"><label for="check-max">at most states</label>
          <input id="check-max" type="number" min="1" step="1"></div>
        <button id="check-run">Run check</button>
      </div>
      <div id="check-result"></div>
    </div>
  </aside>
  <section class="main">
    <div class="panel">
      <div id="stepinfo"></div>
      <div id="alerts"></div>
      <table id="state"></table>
    </div>
    <div class="panel">
      <h2>Next steps <span class="right quiet" id="actions-count"></span></h2>
      <div id="actions"></div>
      <div id="actions-extra"></div>
    </div>
    <div class="panel" id="messages-panel" hidden>
      <h2>Messages in flight <span class="right quiet" id="messages-count"></span></h2>
      <table id="messages"></table>
    </div>
  </section>
  <div class="panel wide" id="chart-panel" hidden>
    <h2>Sequence chart of the path <span class="right quiet">grows as you step; hover an arrow
      for its message</span></h2>
    <div id="chart"></div>
  </div>
</main>
<div id="preview"></div>
<div id="error"></div>
<script>
"use strict";
const BOOT = JSON.parse(document.getElementById("boot").textContent);
const $ = (id) => document.getElementById(id);
let view = null;          // the server's answer for the state shown
let route = null;         // {path, at, trace} read from the URL's fragment
let loading = 0;

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;", "'": "&#39;"}[c]));
}
// format_value of traces/trace.py: records as Prepared(rm=0)
function fmt(v) {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return "[" + v.map(fmt).join(", ") + "]";
  if (typeof v === "object") {
    const keys = Object.keys(v);
    if (typeof v.type === "string")
      return v.type + "(" + keys.filter((k) => k !== "type").map((k) => k + "=" + fmt(v[k]))
        .join(", ") + ")";
    return "{" + keys.map((k) => k + ": " + fmt(v[k])).join(", ") + "}";
  }
  if (typeof v === "boolean") return v ? "true" : "false";
  return String(v);
}
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// -- the URL's fragment: #path=seg/seg&at=N&trace=K ------------------------------------------
function readRoute() {
  const r = {path: "", at: null, trace: null};
  for (const part of location.hash.replace(/^#/, "").split("&")) {
    const i = part.indexOf("=");
    if (i < 0) continue;
    const k = part.slice(0, i), v = part.slice(i + 1);
    if (k === "path") r.path = v;
    else if (k === "at" && /^\d+$/.test(v)) r.at = parseInt(v, 10);
    else if (k === "trace" && /^\d+$/.test(v)) r.trace = parseInt(v, 10);
  }
  return r;
}
function go(segs, at, trace, replace) {
  let h = "path=" + segs.join("/");
  const steps = segs.length - (segs.length && segs[0].startsWith("init~") ? 1 : 0);
  if (at !== null && at !== undefined && at < steps) h += "&at=" + at;
  if (trace !== null && trace !== undefined) h += "&trace=" + trace;
  if (replace) history.replaceState(null, "", "#" + h); else location.hash = h;
  if (replace) load();
}
// the segments of the whole path shown (the initial state's only when it is not the first)
function segsOf(path) {
  const segs = path.map((p) => p.seg);
  return segs[0] === "init" ? segs.slice(1) : segs;
}
function offset(path) { return path[0].seg === "init" ? 0 : 1; }

function traceInfo(id) { return BOOT.traces.find((t) => t.id === id) || null; }

async function load() {
  route = readRoute();
  const ticket = ++loading;
  const q = "path=" + encodeURIComponent(route.path) +
            (route.at !== null ? "&at=" + route.at : "");
  try {
    const r = await fetch("/api/state?" + q);
    const body = await r.json();
    if (ticket !== loading) return;
    if (!r.ok) { showError(body.error || r.statusText); return; }
    hideError();
    view = body;
    render();
  } catch (e) {
    showError("the explorer's server does not answer (" + e + ")");
  }
}
function showError(text) { const e = $("error"); e.textContent = text; e.style.display = "block"; }
function hideError() { $("error").style.display = "none"; }

// -- moving ----------------------------------------------------------------------------------
function stepTo(action) {
  const segs = segsOf(view.path), off = offset(view.path);
  const at = view.at;
  if (action.forward) return go(segs, at + 1, route.trace);
  go(segs.slice(0, at + off).concat([action.seg]), null, null);
}
function jump(i) {
  if (!view || i < 0 || i >= view.path.length) return;
  go(segsOf(view.path), i, route.trace);
}
function back() { if (view && view.at > 0) jump(view.at - 1); }
function forward() { if (view && view.at < view.path.length - 1) jump(view.at + 1); }

// -- rendering -------------------------------------------------------------------------------
function renderHeader() {
  $("model").textContent = BOOT.model;
  $("model-doc").textContent = BOOT.title;
  $("params").innerHTML = BOOT.params.map((p) =>
    `<span class="chip${p.default ? "" : " set"}" title="${p.default ? "default" : "set with -p"}">` +
    `${esc(p.name)}=${esc(fmt(p.value))}</span>`).join("");
  const sel = $("check-prop");
  sel.innerHTML = `<option value="">every property kripke check checks</option>` +
    BOOT.properties.map((p) => `<option value="${esc(p.name)}">${esc(p.name)} (${esc(p.kind)}` +
      `${p.default ? "" : ", only when named"})</option>`).join("");
  $("check-max").value = BOOT.max_states;
  if (!BOOT.can_check) $("check-panel").hidden = true;
}

function render() {
  renderTrace();
  renderPath();
  renderState();
  renderActions();
  renderProps();
  renderMessages();
  renderChart();
  document.title = `${BOOT.model} · step ${view.at} · kripke explore`;
}

function renderTrace() {
  const t = route.trace !== null ? traceInfo(route.trace) : null;
  const bar = $("tracebar");
  if (!t) { bar.classList.remove("on"); return; }
  bar.classList.add("on");
  $("trace-what").textContent = "Counterexample" + (t.source === "check" ? " (from the check)" : "") +
    ": " + t.headline;
  $("step-counter").textContent = `step ${view.at} of ${view.path.length - 1}`;
  $("trace-first").disabled = $("trace-prev").disabled = view.at === 0;
  $("trace-next").disabled = $("trace-last").disabled = view.at >= view.path.length - 1;
  const notes = [];
  if (t.loop_start !== null) notes.push(`the loop starts at step ${t.loop_start}`);
  if (t.error) notes.push(t.error);
  $("trace-note").textContent = notes.join("; ");
}

function renderPath() {
  const bad = violated().length > 0;
  const t = route.trace !== null ? traceInfo(route.trace) : null;
  const loop = t && t.loop_start !== null ? t.loop_start : null;  // a lasso's loop: steps k..n
  $("path").innerHTML = view.path.map((p, i) => {
    const cls = [i === view.at ? "current" : "", i > view.at ? "future" : "",
                 i === view.at && bad ? "bad" : "", loop !== null && i >= loop ? "loop" : ""]
                .join(" ").trim();
    return `<li data-step="${i}" class="${cls}" title="${esc(p.label)}"><span class="n">${i}</span>` +
           `<span class="l">${esc(p.label)}</span></li>`;
  }).join("");
  const cur = $("path").querySelector("li.current");
  if (cur) cur.scrollIntoView({block: "nearest"});
  $("back").disabled = view.at === 0;
  $("forward").disabled = view.at >= view.path.length - 1;
  $("restart").disabled = view.at === 0;
  const n = view.path.length - 1;
  $("depth").textContent = view.at < n ? `at step ${view.at} of ${n}` : `${n} step${n === 1 ? "" : "s"}`;
}

function violated() {
  return view.properties.filter((p) => p.status === "violated" && p.default);
}

function renderState() {
  const label = view.at === 0 ? "the initial state" :
    `after step ${view.at}: <code>${esc(view.label)}</code>`;
  $("stepinfo").innerHTML = `<span id="at" data-at="${view.at}">State ${label}</span>`;
  const alerts = [];
  const bad = violated();
  if (bad.length)
    alerts.push(`<div class="alert bad">` + bad.map((p) =>
      `<div class="line">✗ <b>${esc(p.name)}</b> ${esc(p.text)}` +
      (p.doc ? ` <span class="doc">— ${esc(p.doc)}</span>` : "") + `</div>`).join("") + `</div>`);
  if (view.deadlock)
    alerts.push(`<div class="alert bad">✗ <b>deadlock</b>: no step is enabled, and the model ` +
                `does not call this state terminal</div>`);
  if (view.next_breaking.length)
    alerts.push(`<div class="alert warn">⚠ One step from here can break ` +
      view.next_breaking.map((b) => `<b>${esc(b.property)}</b> <span class="by">(by ` +
        b.actions.map((a) => `<code>${esc(a)}</code>`).join(", ") + `)</span>`).join("; ") +
      `: the steps marked ⚠ below.</div>`);
  if (!view.within)
    alerts.push(`<div class="alert info">This state lies outside the model's state ` +
                `constraint (<code>within</code>): a check does not go on from it.</div>`);
  $("alerts").innerHTML = alerts.join("");
  $("state").innerHTML = view.fields.map((f) =>
    `<tr data-field="${esc(f.name)}" class="${f.changed ? "changed" : ""}">` +
    `<th>${esc(f.name)}<div class="type">${esc(f.type)}</div></th>` +
    `<td>${fieldHtml(f)}</td></tr>`).join("");
}

function fieldHtml(f) {
  const v = f.value, b = f.before, changed = f.changed;
  if (f.kind === "array" && Array.isArray(v)) {
    return `<div class="cells">` + v.map((x, i) => {
      const chg = changed && Array.isArray(b) && !same(b[i], x);
      return `<span class="cell${chg ? " chg" : ""}"><span class="i">${esc(f.index || "")} ${i}</span>` +
        `${esc(fmt(x))}${chg ? `<span class="was">was ${esc(fmt(b[i]))}</span>` : ""}</span>`;
    }).join("") + `</div>`;
  }
  if ((f.kind === "set" || f.kind === "bag" || f.kind === "map") && Array.isArray(v)) {
    const show = (x) => f.kind === "map" ? `${fmt(x[0])} ↦ ${fmt(x[1])}` : fmt(x);
    const left = Array.isArray(b) ? b.map((x) => JSON.stringify(x)) : [];
    const cells = v.map((x) => {
      const k = JSON.stringify(x), i = left.indexOf(k);
      const added = changed && i < 0;
      if (i >= 0) left.splice(i, 1);
      return `<span class="cell${added ? " add" : ""}">${esc(show(x))}</span>`;
    });
    if (changed) for (const k of left)
      cells.push(`<span class="cell del" title="removed by the last step">${esc(show(JSON.parse(k)))}</span>`);
    if (!cells.length) return `<span class="empty">${f.kind === "map" ? "empty map" : "∅ (empty)"}</span>`;
    return `<div class="cells">${cells.join("")}</div>`;
  }
  if (f.kind === "seq" && Array.isArray(v)) {
    if (!v.length && !(changed && b && b.length)) return `<span class="empty">⟨⟩ (empty)</span>`;
    const cells = v.map((x, i) => {
      const chg = changed && (!Array.isArray(b) || i >= b.length || !same(b[i], x));
      return `<span class="cell${chg ? " chg" : ""}"><span class="i">${i + 1}</span>${esc(fmt(x))}</span>`;
    });
    if (changed && Array.isArray(b) && b.length > v.length)
      for (let i = v.length; i < b.length; i++)
        cells.push(`<span class="cell del">${esc(fmt(b[i]))}</span>`);
    return `<div class="cells">${cells.join("")}</div>`;
  }
  return `<span class="${changed ? "cell chg" : ""}">${esc(fmt(v))}</span>` +
    (changed ? `<span class="was">was ${esc(fmt(b))}</span>` : "");
}

function argsText(a) {
  const keys = Object.keys(a.args);
  if (!keys.length) return a.action + "()";
  return keys.map((k) => `${k}=${fmt(a.args[k])}`).join(", ");
}

function renderActions() {
  const groups = new Map();
  view.actions.forEach((a, i) => {
    if (!groups.has(a.action)) groups.set(a.action, []);
    groups.get(a.action).push([a, i]);
  });
  const html = [];
  for (const [name, list] of groups) {
    const buttons = list.map(([a, i]) => {
      const cls = ["act", a.forward ? "forward" : "", a.breaks.some((b) => b.default) ? "breaks" : "",
                   a.stutter ? "stutter" : ""].join(" ").trim();
      const dup = a.key !== a.label ? ` <span class="quiet">#${esc(a.key.split("~").pop())}</span>` : "";
      return `<button class="${cls}" data-i="${i}" data-key="${esc(a.key)}">${esc(argsText(a))}${dup}</button>`;
    }).join("");
    html.push(`<div class="group"><div class="name">${esc(name)}</div><div class="buttons">${buttons}</div></div>`);
  }
  $("actions").innerHTML = html.join("") || `<div class="quiet">No step is enabled in this state` +
    (view.terminal ? ": a terminal state (the model says so)." : view.deadlock ? ": a deadlock." : ".") + `</div>`;
  $("actions-count").textContent = `${view.actions.length} enabled`;
  const extra = [];
  for (const r of view.raised)
    extra.push(`<div class="raised">✗ ${esc(r.label)} raises ${esc(r.error)}</div>`);
  if (view.listing_error)
    extra.push(`<div class="raised">✗ listing the calls raised ${esc(view.listing_error)}</div>`);
  if (view.disabled.length)
    extra.push(`<div class="quiet">Not enabled here: ${view.disabled.map((d) => `<code>${esc(d)}</code>`).join(", ")}</div>`);
  $("actions-extra").innerHTML = extra.join("");
}

function showPreview(button) {
  const a = view.actions[parseInt(button.dataset.i, 10)];
  const p = $("preview");
  const lines = a.changes.length ? a.changes.join("\n") : "no change (the step stutters)";
  let html = `<div class="t">${esc(a.label)}</div><div class="c">${esc(lines)}</div>`;
  for (const b of a.breaks)
    html += `<div class="b">✗ breaks ${esc(b.property)} (${esc(b.kind)}): ${esc(b.why)}` +
            `${b.default ? "" : " — checked only when named"}</div>`;
  if (a.outside) html += `<div class="o">leads outside the state constraint</div>`;
  if (a.forward) html += `<div class="o">the next step of the path shown</div>`;
  p.innerHTML = html;
  p.style.display = "block";
  const r = button.getBoundingClientRect(), w = p.offsetWidth, h = p.offsetHeight;
  let x = Math.min(r.left, window.innerWidth - w - 8), y = r.bottom + 6;
  if (y + h > window.innerHeight - 8) y = r.top - h - 6;
  p.style.left = Math.max(8, x) + "px";
  p.style.top = Math.max(8, y) + "px";
  for (const f of a.fields) {
    const row = $("state").querySelector(`tr[data-field="${CSS.escape(f)}"]`);
    if (row) row.classList.add("preview");
  }
}
function hidePreview() {
  $("preview").style.display = "none";
  for (const row of $("state").querySelectorAll("tr.preview")) row.classList.remove("preview");
}

function renderProps() {
  const label = {holds: "holds", violated: "violated", yes: "here", no: "not here", na: "—",
                 raised: "raised"};
  $("props").innerHTML = view.properties.map((p) => {
    const k = p.breaks_after.length;
    const nb = k ? `<div class="nextbreak" title="${esc(p.breaks_after.join("\n"))}">⚠ ` +
      `breaks after ${k === 1 ? esc(p.breaks_after[0]) : k + " of the next steps"}</div>` : "";
    return `<tr class="${p.default ? "" : "more"}" data-property="${esc(p.name)}" title="${esc(p.doc)}">` +
      `<td class="n">${esc(p.name)}<div class="k">${esc(p.kind.replace("_", " "))}</div>${nb}</td>` +
      `<td><span class="badge ${p.status}" title="${esc(p.text)}">${label[p.status]}</span></td></tr>`;
  }).join("");
  $("props").classList.toggle("all", $("show-all-props").checked);
}

function renderMessages() {
  const panel = $("messages-panel");
  if (!view.messages) { panel.hidden = true; return; }
  panel.hidden = false;
  $("messages-count").textContent = `${view.messages.length} in flight`;
  if (!view.messages.length) {
    $("messages").innerHTML = `<tr><td class="quiet">No message is in flight.</td></tr>`;
    return;
  }
  $("messages").innerHTML = `<tr><th>message</th><th>from → to</th><th>now</th><th></th></tr>` +
    view.messages.map((m) => {
      const buttons = m.steps.map((s) => {
        const verb = s.action === "drop_message" ? "drop" : s.action === "duplicate_message" ?
          "duplicate" : s.action;
        return `<button data-seg="${esc(s.seg)}" title="${esc(s.label)}">${verb}</button>`;
      }).join("");
      return `<tr><td class="m">${esc(fmt(m.message))}</td><td>${m.src} → ${m.dst}</td>` +
        `<td class="s ${m.status === "deliverable" ? "deliverable" : ""}">${esc(m.status)}</td>` +
        `<td>${buttons}</td></tr>`;
    }).join("");
}

function renderChart() {
  const panel = $("chart-panel");
  if (!view.chart) { panel.hidden = true; return; }
  panel.hidden = false;
  $("chart").innerHTML = view.chart;
}

async function runCheck() {
  const button = $("check-run"), out = $("check-result");
  const prop = $("check-prop").value || null;
  const max = parseInt($("check-max").value, 10);
  button.disabled = true;
  out.innerHTML = `<span class="quiet">checking…</span>`;
  try {
    const r = await fetch("/api/check", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({property: prop, max_states: Number.isFinite(max) ? max : null})});
    const body = await r.json();
    if (!r.ok) { out.innerHTML = `<span class="bad">${esc(body.error)}</span>`; return; }
    const counts = `${body.distinct_states.toLocaleString()} distinct states, depth ${body.depth}, ` +
                   `${body.elapsed_s} s`;
    const v = body.violation;
    if (body.verdict === "ok") {
      out.innerHTML = `<div class="ok">✓ every property holds</div><div class="quiet">${counts}</div>`;
    } else if (v) {
      let html = `<div class="bad" id="check-verdict">✗ ${esc(v.property)} violated (${esc(v.kind)})</div>` +
                 `<div class="quiet">${counts}</div>`;
      if (v.trace) {
        BOOT.traces.push(v.trace);
        html += `<div style="margin-top:6px"><button id="check-open">Step through its ${v.trace.length} steps</button></div>`;
      } else if (v.message) html += `<div class="quiet">${esc(v.message)}</div>`;
      out.innerHTML = html;
      if (v.trace) $("check-open").onclick = () => openTrace(v.trace);
    } else {
      out.innerHTML = `<div class="inc">… ${esc(body.verdict)}${body.bound ? ": " + esc(body.bound) : ""}` +
                      `</div><div class="quiet">${counts}</div>`;
    }
  } catch (e) {
    out.innerHTML = `<span class="bad">the check failed: ${esc(e)}</span>`;
  } finally {
    button.disabled = false;
  }
}
function openTrace(t) { location.hash = "path=" + t.path + "&at=0&trace=" + t.id; }

// -- wiring ----------------------------------------------------------------------------------
$("actions").addEventListener("click", (e) => {
  const b = e.target.closest("button.act");
  if (b) { hidePreview(); stepTo(view.actions[parseInt(b.dataset.i, 10)]); }
});
$("actions").addEventListener("mouseover", (e) => {
  const b = e.target.closest("button.act");
  if (b) showPreview(b);
});
$("actions").addEventListener("mouseout", (e) => {
  if (e.target.closest("button.act")) hidePreview();
});
$("messages").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-seg]");
  if (!b) return;
  const a = view.actions.find((x) => x.seg === b.dataset.seg);
  if (a) stepTo(a);
});
$("path").addEventListener("click", (e) => {
  const li = e.target.closest("li[data-step]");
  if (li) jump(parseInt(li.dataset.step, 10));
});
$("back").onclick = back;
$("forward").onclick = forward;
$("restart").onclick = () => jump(0);
$("trace-first").onclick = () => jump(0);
$("trace-prev").onclick = back;
$("trace-next").onclick = forward;
$("trace-last").onclick = () => jump(view.path.length - 1);
$("check-run").onclick = runCheck;
$("show-all-props").onchange = () => $("props").classList.toggle("all", $("show-all-props").checked);
document.addEventListener("keydown", (e) => {
  if (e.target.closest("input, select, textarea") || e.altKey || e.ctrlKey || e.metaKey) return;
  if (e.key === "ArrowLeft") { back(); e.preventDefault(); }
  else if (e.key === "ArrowRight") { forward(); e.preventDefault(); }
  else if (e.key === "Home") { jump(0); e.preventDefault(); }
});
window.addEventListener("hashchange", load);

renderHeader();
if (BOOT.init_error) showError("init() raised " + BOOT.init_error);
if (!location.hash && BOOT.traces.length) {
  const t = BOOT.traces[0];
  history.replaceState(null, "", "#path=" + t.path + "&at=0&trace=" + t.id);
}
load();
</script>
</body>
</html>
"""

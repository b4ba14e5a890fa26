"""The style and the script of the interactive page (html.py), as they are written into it.

The script reads the page's data (`#gradcalc-data`, JSON), never text of the page, and puts
every text into the document with textContent. Values the reader types are read as numbers
by one pattern (digits, a sign, a point, an exponent) and computed with `OPS`, the registry's
rules written out by script_rules.py, on `M`, the number system; nothing else is run.
"""

STYLE = r"""
:root { --bg: #ffffff; --ink: #000000; --value: #0072B2; --grad: #B84F00; --lit: #000000;
  --lit-fill: #FFF3C4; --muted: #595959; --line: #c8c8c8; --row: #FFF3C4; color-scheme: light dark; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #1e1e1e; --ink: #f0f0f0; --value: #56B4E9; --grad: #E69F00; --lit: #ffffff;
    --lit-fill: #4a4020; --muted: #b0b0b0; --line: #555555; --row: #4a4020; }
}
* { box-sizing: border-box; }
body { margin: 0 auto; padding: 0.75rem; max-width: 1800px; background: var(--bg); color: var(--ink);
  font: 16px/1.4 Helvetica, Arial, sans-serif; }
h1 { font-size: 1.4rem; margin: 0 0 0.25rem; overflow-wrap: anywhere; }
h2 { font-size: 1rem; margin: 0.75rem 0 0.25rem; }
.origin, .note, .hint, .keys, .legend { color: var(--muted); font-size: 0.9rem; margin: 0.25rem 0; }
.origin:empty, .note:empty { display: none; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 0.9rem; }
main { display: grid; gap: 0.75rem; grid-template-columns: minmax(0, 1fr) minmax(0, max-content);
  grid-template-areas: "controls controls" "left tables"; align-items: start; }
#controls { grid-area: controls; position: sticky; top: 0; z-index: 1; background: var(--bg);
  border-bottom: 1px solid var(--line); padding: 0.25rem 0; }
#left { grid-area: left; min-width: 0; }
#tables { grid-area: tables; min-width: 0; }
#tables { max-height: calc(100vh - 9rem); overflow-y: auto; position: sticky; top: 8.5rem; }
@media (max-width: 900px) {
  main { grid-template-columns: minmax(0, 1fr); grid-template-areas: "controls" "left" "tables"; }
  #controls { position: static; }
  #tables { max-height: none; position: static; }
  .keys { display: none; }
}
.buttons { display: inline-flex; gap: 0.25rem; flex-wrap: wrap; }
button { font: inherit; min-width: 2.75rem; min-height: 2.75rem; padding: 0 0.6rem; color: var(--ink);
  background: var(--bg); border: 1px solid var(--ink); border-radius: 4px; cursor: pointer; }
button:disabled { opacity: 0.5; cursor: default; }
button[aria-pressed="true"] { border-width: 3px; }
:focus-visible { outline: 3px dashed var(--ink); outline-offset: 2px; }
.slider { display: inline-flex; align-items: center; gap: 0.4rem; margin: 0 0.5rem; }
.slider input { width: min(22rem, 60vw); min-height: 2.75rem; }
#counter { font-variant-numeric: tabular-nums; margin-right: 0.75rem; white-space: nowrap; }
#explain { margin: 0.25rem 0 0; min-height: 1.4em; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
#picture { border: 1px solid var(--line); border-radius: 4px; }
#picture svg { display: block; max-width: none; font: 14px Helvetica, Arial, sans-serif; }
svg .ink { fill: var(--ink); }
svg .lit-ink { fill: var(--lit); }
svg line, svg .wire path { stroke: var(--ink); stroke-width: 1; fill: none; }
svg circle { fill: var(--bg); stroke: var(--ink); stroke-width: 1.2; }
svg text { fill: var(--ink); }
svg .label, svg .mark { text-anchor: middle; }
svg .mark { font-weight: bold; }
svg .value { fill: var(--value); }
svg .grad { fill: var(--grad); font-weight: bold; }
svg .fresh { text-decoration: underline; }
svg .node { cursor: pointer; }
svg .node:focus { outline: none; }
svg .node:focus-visible circle, svg .node.focus circle { stroke-dasharray: 4 3; stroke-width: 3; }
svg .node:focus-visible .name, svg .node.focus .name { text-decoration: underline; }
svg .node.lit circle { stroke: var(--lit); stroke-width: 4; fill: var(--lit-fill); }
svg .node.lit .stub { stroke: var(--lit); stroke-width: 4; }
svg .node.lit .name { font-weight: bold; }
svg .wire.lit path { stroke: var(--lit); stroke-width: 4; marker-end: url(#arrow-lit); }
svg .badge rect { fill: var(--lit-fill); stroke: var(--lit); stroke-width: 1.5; }
svg .badge text { font-weight: bold; }
svg .badge .leader { stroke: var(--lit); stroke-width: 1.5; stroke-dasharray: 3 3; }
.value-key { color: var(--value); }
.grad-key { color: var(--grad); font-weight: bold; }
table { border-collapse: collapse; font-size: 0.9rem; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 0.2rem 0.45rem; text-align: left; vertical-align: top;
  white-space: nowrap; }
td.number { text-align: right; }
td.locals { white-space: pre; }
tr.current { background: var(--row); font-weight: bold; }
tr.current td:first-child::before { content: "▶ "; }
tr.future { color: var(--muted); }
#details dl { margin: 0; display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 0.15rem 0.75rem; }
#details dt { font-weight: bold; }
#details dd { margin: 0; overflow-wrap: anywhere; font-variant-numeric: tabular-nums; }
fieldset { border: 1px solid var(--line); border-radius: 4px; }
#fields { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; margin-bottom: 0.5rem; }
#fields label { display: inline-flex; align-items: center; gap: 0.3rem; }
#fields input { font: inherit; width: 8rem; min-height: 2.75rem; color: var(--ink); background: var(--bg);
  border: 1px solid var(--ink); border-radius: 4px; padding: 0 0.4rem; }
#fields input[aria-invalid="true"] { border-width: 3px; border-style: dashed; }
#status { font-size: 0.9rem; overflow-wrap: anywhere; }
#status.error { font-weight: bold; }
#status.error::before { content: "⚠ "; }
"""

SCRIPT = r"""
"use strict";
(() => {
  const DATA = JSON.parse(document.getElementById("gradcalc-data").textContent);
  const nodes = DATA.nodes;
  const count = nodes.length;
  const $ = (id) => document.getElementById(id);
  const WIRE_DIGITS = 3;
  const TABLE_DIGITS = 6;
  const PLAY_MS = 900;
  const NUMBER = /^\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*$/;

  // ---- numbers as gradcalc shows them (numerals.human) ----------------------------------
  function decoded(x) {
    if (x === "inf") return Infinity;
    if (x === "-inf") return -Infinity;
    if (x === "nan") return NaN;
    return x;
  }

  function shortest(x) {  // Python's repr of a float, or the integer when it is one
    if (Number.isInteger(x) && Math.abs(x) < 1e16) return String(x);
    const [mantissa, power] = Math.abs(x).toExponential().split("e");  // the shortest digits
    const digits = mantissa.replace(".", ""), exponent = Number(power);
    let text;
    if (exponent >= -4 && exponent < 16) {
      const point = exponent + 1;
      if (point <= 0) text = "0." + "0".repeat(-point) + digits;
      else if (point >= digits.length) text = digits.padEnd(point, "0") + ".0";
      else text = digits.slice(0, point) + "." + digits.slice(point);
    } else {
      text = digits[0] + (digits.length > 1 ? "." + digits.slice(1) : "") + "e" + (exponent < 0 ? "-" : "+")
        + String(Math.abs(exponent)).padStart(2, "0");
    }
    return (x < 0 ? "-" : "") + text;
  }

  function rounded(x, digits) {  // Python's format(x, ".{digits}g"): ties to even, exactly
    if (x === 0) return Object.is(x, -0) ? "-0" : "0";
    const negative = x < 0;
    const full = Math.abs(x).toExponential(99);  // enough digits to see an exact tie
    const cut = full.indexOf("e");
    let all = full.slice(0, cut).replace(".", "");
    let exponent = Number(full.slice(cut + 1));
    let kept = all.slice(0, digits).split("").map(Number);
    const rest = all.slice(digits);
    const up = rest[0] > "5" || (rest[0] === "5" && (/[1-9]/.test(rest.slice(1)) || kept[kept.length - 1] % 2 === 1));
    if (up) {
      let k = kept.length - 1;
      while (k >= 0 && kept[k] === 9) { kept[k] = 0; k--; }
      if (k >= 0) kept[k] += 1; else { kept.unshift(1); kept.pop(); exponent += 1; }
    }
    let text;
    if (exponent >= -4 && exponent < digits) {
      const point = exponent + 1;
      const padded = point <= 0 ? "0".repeat(1 - point) + kept.join("") : kept.join("").padEnd(point, "0");
      const at = Math.max(point, 1);
      text = padded.slice(0, at) + (padded.length > at ? "." + padded.slice(at) : "");
      if (text.includes(".")) text = text.replace(/0+$/, "").replace(/\.$/, "");
    } else {
      let mantissa = kept[0] + (kept.length > 1 ? "." + kept.slice(1).join("") : "");
      if (mantissa.includes(".")) mantissa = mantissa.replace(/0+$/, "").replace(/\.$/, "");
      text = mantissa + "e" + (exponent < 0 ? "-" : "+") + String(Math.abs(exponent)).padStart(2, "0");
    }
    return (negative ? "-" : "") + text;
  }

  function human(x, digits) {
    if (x === null || x === undefined) return "—";
    if (Number.isNaN(x)) return "nan";
    if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
    const short = rounded(x, digits), exact = shortest(x);
    const text = exact.length <= short.length ? exact : short;
    return text === "-0" ? "0" : text;
  }

  // ---- the staged program, recomputed with the registry's rules -------------------------
  class StageError extends Error {
    constructor(i, what, args) {
      const node = nodes[i];
      const given = node.inputs.map((j, k) => [j, args[k]]).filter(([j]) => nodes[j].op !== "const")
        .map(([j, v]) => `${nodes[j].name} = ${human(v, TABLE_DIGITS)}`).join(", ");
      super(`stage ${node.name} = ${node.definition}: ${what}` + (given ? ` (${given})` : ""));
    }
  }

  function ruleOf(node) { return OPS[node.op + "/" + node.inputs.length]; }

  function computed(at) {
    const values = new Array(count).fill(null), locals = nodes.map(() => []);
    for (let i = 0; i < count; i++) {
      const node = nodes[i];
      if (node.op === "input") values[i] = at[i];
      else if (node.op === "const") values[i] = node.value;
      else {
        const args = node.inputs.map((j) => values[j]);
        const out = ruleOf(node).f(args);
        if (!Number.isFinite(out)) throw new StageError(i, "the value is undefined or not finite", args);
        values[i] = out;
      }
    }
    const grads = new Array(count).fill(0);
    grads[DATA.output] = 1;
    for (let i = count - 1; i >= 0; i--) {
      const node = nodes[i];
      if (!node.inputs.length) continue;
      const rule = ruleOf(node), args = node.inputs.map((j) => values[j]);
      const out = values[i], upstream = grads[i];
      locals[i] = node.inputs.map((j, k) => {
        const p = rule.d[k](out, args);
        if (!Number.isFinite(p)) {
          if (DATA.live[i] && DATA.varying[j]) {
            throw new StageError(i, `the derivative with respect to ${nodes[j].name} is undefined or infinite`, args);
          }
          return null;
        }
        grads[j] = grads[j] + p * upstream;
        return p;
      });
    }
    for (let i = count - 1; i >= 0; i--) {
      if (DATA.varying[i] && !Number.isFinite(grads[i])) {
        throw new Error(`the gradient with respect to ${nodes[i].name} is not finite (overflow while accumulating it)`);
      }
    }
    return { values, locals, grads };
  }

  // ---- the steps: start, forward, seed, backward, done -----------------------------------
  const drawnGate = (i) => nodes[i].drawn && !nodes[i].cut && nodes[i].op !== "input";

  function stepsOf(evaluation) {
    const steps = [{ kind: "start" }];
    if (!evaluation) return steps;
    for (let i = 0; i < count; i++) if (drawnGate(i)) steps.push({ kind: "forward", node: i });
    steps.push({ kind: "seed", node: DATA.output });
    const totals = new Map();
    for (let i = count - 1; i >= 0; i--) {
      if (!DATA.live[i] || !nodes[i].inputs.length) continue;
      const upstream = evaluation.grads[i];
      nodes[i].inputs.forEach((j, k) => {
        const local = evaluation.locals[i][k];
        if (nodes[j].op === "const" || local === null || local === undefined) return;
        const contribution = local * upstream;
        const first = !totals.has(j);
        const total = first ? contribution : totals.get(j) + contribution;
        totals.set(j, total);
        if (drawnGate(i) && nodes[j].drawn) {
          steps.push({ kind: "backward", node: i, input: j, wire: nodes[i].wires[k], local, upstream,
                       contribution, total, first });
        }
      });
    }
    steps.push({ kind: "done" });
    return steps;
  }

  // ---- state ---------------------------------------------------------------------------
  let evaluation = DATA.evaluation ? {
    values: DATA.evaluation.values.map(decoded),
    locals: DATA.evaluation.locals.map((ps) => ps.map((p) => (p === null ? null : decoded(p)))),
    grads: DATA.evaluation.grads.map(decoded),
  } : null;
  let steps = [], valueAt = [], gradsAt = [], current = 0, timer = null;

  function index() {
    steps = stepsOf(evaluation);
    valueAt = nodes.map((node) => (node.drawn && (node.op === "input" || node.cut) ? 0 : Infinity));
    gradsAt = nodes.map(() => []);
    steps.forEach((step, s) => {
      if (step.kind === "forward") valueAt[step.node] = s;
      if (step.kind === "seed") gradsAt[step.node].push([s, 1]);
      if (step.kind === "backward") gradsAt[step.input].push([s, step.total]);
    });
    const slider = $("step");
    slider.max = String(steps.length - 1);
    buildTables();
  }

  function gradAt(i, s) {
    if (steps[s].kind === "done") return evaluation.grads[i];
    let shown = null;
    for (const [at, total] of gradsAt[i]) { if (at <= s) shown = total; else break; }
    return shown;
  }

  // ---- the picture ---------------------------------------------------------------------
  function setText(element, text) { if (element && element.textContent !== text) element.textContent = text; }

  function paintPicture(s) {
    const step = steps[s];
    document.querySelectorAll("#circuit .lit").forEach((e) => e.classList.remove("lit"));
    document.querySelectorAll("#circuit .fresh").forEach((e) => e.classList.remove("fresh"));
    for (let i = 0; i < count; i++) {
      if (!nodes[i].drawn) continue;
      const known = evaluation && s >= valueAt[i];
      setText($("v" + i), known ? human(evaluation.values[i], WIRE_DIGITS) : "");
      const grad = evaluation ? gradAt(i, s) : null;
      setText($("g" + i), grad === null ? "" : human(grad, WIRE_DIGITS));
    }
    const badge = $("badge");
    badge.setAttribute("visibility", "hidden");
    if (step.kind === "forward") {
      $("n" + step.node).classList.add("lit");
      $("v" + step.node).classList.add("fresh");
      reveal($("n" + step.node));
    } else if (step.kind === "seed") {
      $("n" + step.node).classList.add("lit");
      $("g" + step.node).classList.add("fresh");
    } else if (step.kind === "backward") {
      const wire = $("w" + step.wire);
      wire.classList.add("lit");
      $("n" + step.node).classList.add("lit");
      $("g" + step.input).classList.add("fresh");
      const [l, u, c] = [step.local, step.upstream, step.contribution].map((x) => human(x, WIRE_DIGITS));
      placeBadge(badge, wire.querySelector("path"), `${l} × ${u} = ${c}`);
      reveal(wire);
    }
  }

  function placeBadge(badge, path, text) {  // in the band above the circuit, a leader down to the wire
    const label = badge.querySelector("text"), box = badge.querySelector("rect");
    const leader = badge.querySelector("line");
    label.textContent = text;
    const middle = path.getPointAtLength(path.getTotalLength() / 2);
    const width = Number($("circuit").getAttribute("width"));
    label.setAttribute("y", "20");
    label.setAttribute("x", "0");
    const size = label.getBBox();
    const x = Math.max(size.width / 2 + 6, Math.min(width - size.width / 2 - 6, middle.x));
    label.setAttribute("x", x.toFixed(1));
    label.setAttribute("text-anchor", "middle");
    const bounds = label.getBBox();
    box.setAttribute("x", (bounds.x - 4).toFixed(1));
    box.setAttribute("y", (bounds.y - 2).toFixed(1));
    box.setAttribute("width", (bounds.width + 8).toFixed(1));
    box.setAttribute("height", (bounds.height + 4).toFixed(1));
    leader.setAttribute("x1", middle.x.toFixed(1));
    leader.setAttribute("y1", (bounds.y + bounds.height + 2).toFixed(1));
    leader.setAttribute("x2", middle.x.toFixed(1));
    leader.setAttribute("y2", middle.y.toFixed(1));
    badge.parentNode.appendChild(badge);  // drawn last: above the wires and labels
    badge.setAttribute("visibility", "visible");
  }

  const wide = window.matchMedia("(min-width: 901px)");

  function reveal(element) {  // scroll the picture to show what is lit; the page too, below the controls
    const box = $("picture");
    const outer = box.getBoundingClientRect(), inner = element.getBoundingClientRect();
    if (inner.left < outer.left || inner.right > outer.right) {
      box.scrollLeft += inner.left - outer.left - (outer.width - inner.width) / 2;
    }
    if (!wide.matches) return;  // on a phone the controls scroll away: the reader scrolls
    const top = $("controls").getBoundingClientRect().bottom, shown = element.getBoundingClientRect();
    if (shown.top < top || shown.bottom > window.innerHeight) {
      window.scrollBy(0, shown.top - top - (window.innerHeight - top - shown.height) / 2);
    }
  }

  // ---- the tables ----------------------------------------------------------------------
  const forwardRows = new Map();
  let backwardRows = [];

  function cell(row, text, kind) {
    const td = document.createElement("td");
    if (kind) td.className = kind;
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function buildTables() {
    const forward = $("forward").tBodies[0], backward = $("backward").tBodies[0];
    forward.replaceChildren();
    backward.replaceChildren();
    forwardRows.clear();
    for (let i = 0; i < count; i++) {
      const node = nodes[i];
      if (!node.drawn) continue;
      const row = document.createElement("tr");
      row.dataset.node = String(i);
      cell(row, node.name);
      cell(row, node.op === "input" ? "input" : node.cut ? `${node.definition} (not drawn)` : node.definition);
      const value = cell(row, "", "number"), locals = cell(row, "", "locals"), grad = cell(row, "", "number");
      forward.appendChild(row);
      forwardRows.set(i, { row, value, locals, grad });
    }
    backwardRows = [];
    steps.forEach((step, s) => {
      if (step.kind !== "backward" && step.kind !== "seed") return;
      const row = document.createElement("tr");
      row.dataset.step = String(s);
      if (step.kind === "seed") {
        cell(row, String(s), "number");
        cell(row, `d${DATA.outputName} = 1`);
        [0, 1, 2].forEach(() => cell(row, "", "number"));
        cell(row, "seed");
      } else {
        cell(row, String(s), "number");
        cell(row, `${nodes[step.node].name} → ${nodes[step.input].name}`);
        for (const number of [step.local, step.upstream, step.contribution]) {
          cell(row, "", "number").dataset.shown = human(number, TABLE_DIGITS);
        }
        const total = cell(row, "");
        const name = nodes[step.input].name;
        total.dataset.shown = step.first ? `d${name} = ${human(step.total, TABLE_DIGITS)}`
          : `d${name} += ${human(step.contribution, TABLE_DIGITS)} → ${human(step.total, TABLE_DIGITS)}`;
      }
      backward.appendChild(row);
      backwardRows.push({ row, step: s });
    });
  }

  function localsText(i, known) {
    const node = nodes[i];
    if (!known || !node.inputs.length || node.cut) return "";
    return node.inputs.map((j, k) => [j, k]).filter(([j]) => nodes[j].op !== "const")
      .map(([j, k]) => `∂/∂${nodes[j].name} = ${human(evaluation.locals[i][k], TABLE_DIGITS)}`).join("\n");
  }

  function paintTables(s) {
    const step = steps[s];
    let lit = null;
    for (const [i, entry] of forwardRows) {
      const known = evaluation && s >= valueAt[i];
      setText(entry.value, known ? human(evaluation.values[i], TABLE_DIGITS) : "");
      setText(entry.locals, localsText(i, known));
      const grad = evaluation ? gradAt(i, s) : null;
      setText(entry.grad, grad === null ? "" : human(grad, TABLE_DIGITS));
      if (grad === null) delete entry.grad.dataset.exact; else entry.grad.dataset.exact = String(grad);
      const here = (step.kind === "forward" && step.node === i);
      entry.row.classList.toggle("current", here);
      entry.row.classList.toggle("future", evaluation !== null && !known);
      if (here) lit = entry.row;
      markCurrent(entry.row, here);
    }
    for (const { row, step: at } of backwardRows) {
      const here = at === s, past = at <= s;
      row.classList.toggle("current", here);
      row.classList.toggle("future", !past);
      if (here) lit = row;
      markCurrent(row, here);
      row.querySelectorAll("td[data-shown]").forEach((td) => setText(td, past ? td.dataset.shown : ""));
    }
    if (lit) revealRow(lit);
  }

  function markCurrent(row, here) {  // the current row says so to screen readers, not by colour alone
    if (here) row.setAttribute("aria-current", "step"); else row.removeAttribute("aria-current");
  }

  function revealRow(row) {  // scroll the tables' own box (never the page) to the current row
    const box = $("tables");
    if (box.scrollHeight <= box.clientHeight) return;
    const outer = box.getBoundingClientRect(), inner = row.getBoundingClientRect();
    if (inner.top < outer.top || inner.bottom > outer.bottom) {
      box.scrollTop += inner.top - outer.top - (outer.height - inner.height) / 2;
    }
  }

  // ---- what the current step says -------------------------------------------------------
  function explanation(s) {
    const step = steps[s];
    const v = (i, numbers) => human((numbers || evaluation.values)[i], TABLE_DIGITS);
    if (!evaluation) return "The structure only: give the inputs values below and press Compute.";
    if (step.kind === "start") {
      return "start: the inputs carry their values; forward, each stage computes its value from its inputs.";
    }
    if (step.kind === "forward") {
      const node = nodes[step.node];
      const args = node.inputs.filter((j) => nodes[j].op !== "const").map((j) => `${nodes[j].name} = ${v(j)}`);
      const given = args.length ? ` (${args.join(", ")})` : "";
      return `forward: ${node.name} = ${node.definition} = ${v(step.node)}${given}`;
    }
    if (step.kind === "seed") return `seed: d${DATA.outputName} = 1, the output's gradient with respect to itself.`;
    if (step.kind === "backward") {
      const node = nodes[step.node], input = nodes[step.input];
      const [l, u, c] = [step.local, step.upstream, step.contribution].map((x) => human(x, TABLE_DIGITS));
      const sum = step.first ? `d${input.name} = ${c}` : `d${input.name} += ${c} → ${human(step.total, TABLE_DIGITS)}`;
      return `backward: edge ${node.name} → ${input.name}: local ∂${node.name}/∂${input.name} = ${l}`
        + ` × upstream d${node.name} = ${u} = ${c}; ${sum}`;
    }
    const inputs = nodes.map((node, i) => [node, i]).filter(([node]) => node.op === "input" && node.drawn);
    const grads = inputs.map(([node, i]) => `∂${DATA.outputName}/∂${node.name} = ${v(i, evaluation.grads)}`);
    return `done: ${DATA.outputName} = ${v(DATA.output)}` + (grads.length ? `; ${grads.join(", ")}` : "");
  }

  // ---- moving between steps --------------------------------------------------------------
  function go(s, keepHash) {
    current = Math.max(0, Math.min(steps.length - 1, Number.isFinite(s) ? Math.trunc(s) : 0));
    paintPicture(current);
    paintTables(current);
    $("step").value = String(current);
    setText($("counter"), `${current} of ${steps.length - 1}`);
    setText($("explain"), explanation(current));
    $("link").setAttribute("href", "#step=" + current);
    $("first").disabled = $("back").disabled = current === 0;
    $("next").disabled = $("last").disabled = current === steps.length - 1;
    $("play").disabled = steps.length < 2;
    if (!keepHash && location.hash !== "#step=" + current) history.replaceState(null, "", "#step=" + current);
    if (focused !== null) showDetails(focused);
    document.body.dataset.step = String(current);
  }

  function stepFromHash() {
    const found = /^#step=(\d+)$/.exec(location.hash);
    return found ? Number(found[1]) : 0;
  }

  function play(on) {
    if (timer !== null) { clearInterval(timer); timer = null; }
    if (on) {
      if (current >= steps.length - 1) go(0);
      timer = setInterval(() => { if (current >= steps.length - 1) play(false); else go(current + 1); }, PLAY_MS);
    }
    const button = $("play");
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.setAttribute("aria-label", on ? "pause" : "play");
    setText(button, on ? "❚❚ Pause" : "▶ Play");
  }

  // ---- hover and focus: a stage's definition, rules and values -------------------------
  let focused = null;

  function showDetails(i) {
    focused = i;
    const node = nodes[i], box = $("details");
    const list = document.createElement("dl");
    const add = (term, text) => {
      const dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = term;
      dd.textContent = text;
      list.append(dt, dd);
    };
    const known = evaluation && current >= valueAt[i];
    if (node.op === "input") add("input", node.name);
    else {
      add("stage", `${node.name} = ${node.definition}`);
      add("op", node.op);
    }
    if (!node.cut && node.op !== "input") {
      node.inputs.forEach((j, k) => {
        if (nodes[j].op === "const") return;
        const rule = node.rules ? node.rules[k] : null;
        const value = known ? human(evaluation.locals[i][k], TABLE_DIGITS) : null;
        const parts = [rule, value].filter((part) => part !== null && part !== undefined && part !== "");
        add(`∂${node.name}/∂${nodes[j].name}`, parts.length ? [...new Set(parts)].join(" = ") : "—");
      });
    }
    add("value", known ? human(evaluation.values[i], TABLE_DIGITS) : "not yet computed");
    const grad = evaluation ? gradAt(i, current) : null;
    add(`∂${DATA.outputName}/∂${node.name}`, grad === null ? "not yet computed" : human(grad, TABLE_DIGITS));
    box.replaceChildren(list);
    document.querySelectorAll("#circuit .focus").forEach((e) => e.classList.remove("focus"));
    const shape = $("n" + i);
    if (shape) shape.classList.add("focus");
  }

  // ---- values typed by the reader ------------------------------------------------------
  const inputs = nodes.map((node, i) => [node, i]).filter(([node]) => node.op === "input");

  function buildFields() {
    const fields = $("fields");
    for (const [node, i] of inputs) {
      const label = document.createElement("label");
      const input = document.createElement("input");
      input.type = "text";
      input.inputMode = "decimal";
      input.id = "at-" + i;
      input.name = node.name;
      input.autocomplete = "off";
      input.spellcheck = false;
      if (evaluation) input.value = String(evaluation.values[i]);
      label.append(document.createTextNode(node.name + " ="), input);
      fields.appendChild(label);
    }
    if (DATA.unscripted.length) {
      $("compute").disabled = true;
      fields.querySelectorAll("input").forEach((input) => { input.disabled = true; });
      status(`Recomputation is unavailable in this page: it has no script for ${DATA.unscripted.join(", ")}.`, true);
    } else if (!inputs.length) {
      $("compute").disabled = true;
    }
  }

  function status(text, error) {
    const line = $("status");
    line.textContent = text;
    line.classList.toggle("error", Boolean(error));
  }

  function recompute(event) {
    event.preventDefault();
    const at = {}, wrong = [];
    for (const [node, i] of inputs) {
      const input = $("at-" + i);
      const ok = NUMBER.test(input.value) && Number.isFinite(Number(input.value));
      input.setAttribute("aria-invalid", ok ? "false" : "true");
      if (ok) at[i] = Number(input.value);
      else if (!input.value.trim()) wrong.push(`${node.name}: give it a value`);
      else wrong.push(`${node.name}: ${JSON.stringify(input.value)} is not a finite number (write digits: -1.5e3)`);
    }
    if (wrong.length) { status(wrong.join("; "), true); return; }
    try {
      evaluation = computed(at);
    } catch (error) {
      status(error.message, true);
      return;
    }
    status("Computed in this page, with the registry's rules run as JavaScript.", false);
    play(false);
    index();
    go(0);
  }

  // ---- wiring up -----------------------------------------------------------------------
  function keys(event) {
    const target = event.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const moves = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: steps.length - 1 };
    if (event.key in moves) { event.preventDefault(); play(false); go(moves[event.key]); return; }
    if (event.key === " " && !(target instanceof HTMLButtonElement || target instanceof HTMLAnchorElement)) {
      event.preventDefault();
      play(timer === null);
    }
  }

  function start() {
    setText($("source"), DATA.source);
    setText($("origin"), DATA.origin ? `read from ${DATA.origin}` : "");
    setText($("note"), DATA.note || "");
    if (!DATA.source) $("program").hidden = true;
    buildFields();
    index();
    $("first").addEventListener("click", () => { play(false); go(0); });
    $("back").addEventListener("click", () => { play(false); go(current - 1); });
    $("next").addEventListener("click", () => { play(false); go(current + 1); });
    $("last").addEventListener("click", () => { play(false); go(steps.length - 1); });
    $("play").addEventListener("click", () => play(timer === null));
    $("step").addEventListener("input", (event) => { play(false); go(Number(event.target.value)); });
    $("inputs").addEventListener("submit", recompute);
    document.addEventListener("keydown", keys);
    window.addEventListener("hashchange", () => go(stepFromHash(), true));
    document.querySelectorAll("#circuit .node").forEach((shape) => {
      const i = Number(shape.dataset.node);
      shape.addEventListener("mouseenter", () => showDetails(i));
      shape.addEventListener("focus", () => showDetails(i));
    });
    $("forward").addEventListener("mouseover", (event) => {
      const row = event.target.closest("tr[data-node]");
      if (row) showDetails(Number(row.dataset.node));
    });
    if (!evaluation && !inputs.length && !DATA.unscripted.length) {  // constants only: nothing to type
      try {
        evaluation = computed({});
        index();
      } catch (error) {
        status(error.message, true);
      }
    } else if (!evaluation && !DATA.unscripted.length) {
      status("Type a value for each input and press Compute.", false);
    }
    go(stepFromHash(), true);
    document.body.dataset.ready = "true";
  }

  start();
})();
"""

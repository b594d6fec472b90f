// The showcase page: samples by tab, a run followed live over SSE (graph, log, result, checks), the router,
// the workers on the server's broker.
// Plain browser JavaScript, no build step; Cytoscape.js and Chart.js are vendored under /static/vendor.
"use strict";

const TABS = ["image", "voice", "gui", "research"];
const token = new URLSearchParams(location.search).get("token");
const state = { samples: [], tab: "image", run: null, source: null, cy: null, charts: {} };

// ---- the API ------------------------------------------------------------------------------------
async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {}, token ? { authorization: `Bearer ${token}` } : {});
  const response = await fetch(path, Object.assign({}, options, { headers }));
  const body = (response.headers.get("content-type") || "").includes("json") ? await response.json() : null;
  if (!response.ok) {
    const error = new Error(errorText(body) || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

function errorText(body) {
  if (!body) return "";
  if (body.problems && body.problems.length) {
    return body.problems.map((p) => `line ${p.line ?? "?"}${p.path ? ` (${p.path})` : ""}: ${p.message}`
      + (p.hint ? ` (${p.hint})` : "")).join("\n");
  }
  return body.error || (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail));
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

// ---- tabs and sample cards ----------------------------------------------------------------------
async function loadSamples() {
  state.samples = await api("/api/samples");
  renderTab();
}

function renderTab() {
  const nav = document.getElementById("tabs");
  nav.replaceChildren(...TABS.map((tab) => el("button", {
    role: "tab", id: `tab-${tab}`, "aria-selected": String(tab === state.tab), "aria-controls": "samples",
    text: tab === "gui" ? "GUI" : tab === "research" ? "Deep research" : tab[0].toUpperCase() + tab.slice(1),
    onclick: () => { state.tab = tab; renderTab(); },
  })));
  const cards = state.samples.filter((s) => s.tab === state.tab).map(card);
  document.getElementById("samples").replaceChildren(...cards);
}

function card(sample) {
  const edit = el("div", { hidden: true });
  const run = el("button", { type: "button", text: `Run ${sample.id}`, disabled: !sample.available,
                             onclick: () => startSample(sample, edit) });
  const editButton = el("button", { type: "button", text: `Edit ${sample.id}`, disabled: !sample.available,
                                    onclick: () => toggleEdit(sample, edit) });
  return el("article", { class: "card", "aria-label": sample.id },
    el("h3", { text: `${sample.id}: ${sample.title}` }),
    el("p", { text: sample.description }),
    el("p", { class: "caps", text: `Needs: ${sample.capabilities.join(", ")}` }),
    sample.available ? null : el("p", { class: "missing", role: "note",
      text: `Not installed here: ${sample.missing.join(", ")}. Install with: ${sample.install}` }),
    el("p", {}, run, " ", editButton), edit);
}

async function toggleEdit(sample, box) {
  if (!box.hidden) { box.hidden = true; return; }
  if (!box.childElementCount) {
    const detail = await api(`/api/samples/${sample.id}`);
    box.append(
      el("label", { text: "Task file" }),
      el("textarea", { "aria-label": `Task file of ${sample.id}`, spellcheck: "false" }),
      el("label", { text: "Overrides (one KEY=VALUE per line, as --set)" }),
      el("textarea", { "aria-label": `Overrides of ${sample.id}`, rows: 2, class: "overrides" }),
      ...Object.entries(detail.file_inputs).map(([name, path]) => el("p", {}, el("label", {},
        `Replace input ${name} (${path}) `,
        el("input", { type: "file", "data-input": name, "aria-label": `Replace ${name} of ${sample.id}` })))));
    box.querySelector("textarea").value = detail.task_text;
  }
  box.hidden = false;
}

async function startSample(sample, box) {
  const form = new FormData();
  form.append("sample", sample.id);
  if (!box.hidden && box.childElementCount) {
    const [text, overrides] = box.querySelectorAll("textarea");
    form.append("task_text", text.value);
    for (const line of overrides.value.split("\n").map((x) => x.trim()).filter(Boolean)) form.append("set", line);
    for (const picker of box.querySelectorAll("input[type=file]")) {
      if (picker.files.length) { form.append("files", picker.files[0]); form.append("replace", picker.dataset.input); }
    }
  }
  await start(form, sample.id);
}

async function start(form, label) {
  showRun(label);
  try {
    const started = await api("/api/runs", { method: "POST", body: form });
    follow(started.run_id, label);
  } catch (error) {
    setStatus("not started");
    showError(error.message);
  }
}

document.getElementById("upload-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  if (!form.getAll("files").some((f) => f.size)) form.delete("files");
  start(form, form.get("task").name);
});

// ---- one run, live --------------------------------------------------------------------------------
function showRun(label) {
  if (state.source) state.source.close();
  state.run = null;
  document.getElementById("run").hidden = false;
  document.getElementById("run-title").textContent = `Run: ${label}`;
  document.getElementById("run-error").hidden = true;
  document.getElementById("log").replaceChildren();
  document.getElementById("result").replaceChildren();
  document.getElementById("cancel").disabled = true;
  setStatus("starting");
  if (state.cy) state.cy.destroy();
  state.cy = cytoscape({
    container: document.getElementById("graph"), elements: [], maxZoom: 1.5,
    style: [
      { selector: "node", style: { label: "data(label)", "text-wrap": "wrap", "text-valign": "center",
        "font-size": 9, width: 120, height: 48, shape: "round-rectangle", "background-color": "#d0d7de" } },
      { selector: "node[state = 'running']", style: { "background-color": "#54aeff" } },
      { selector: "node[state = 'succeeded']", style: { "background-color": "#4ac26b" } },
      { selector: "node[state = 'failed']", style: { "background-color": "#ff8182" } },
      { selector: "node[state = 'skipped'], node[state = 'cancelled']", style: { "background-color": "#eaeef2" } },
      { selector: "node[gated = 'yes']", style: { "border-width": 3, "border-color": "#bf8700" } },
      { selector: "edge", style: { width: 1.5, "curve-style": "bezier", "target-arrow-shape": "triangle" } },
    ],
  });
}

function setStatus(text) { document.getElementById("run-status").textContent = text; }
function showError(text) { const e = document.getElementById("run-error"); e.textContent = text; e.hidden = false; }

function addNode(id, capability) {
  if (state.cy.getElementById(id).length) return;
  state.cy.add({ group: "nodes", data: { id, capability: capability || "", state: "pending", note: "",
                                         label: `${id}\n${capability || ""}` } });
}

function addEdge(from, to) {
  const id = `${from}->${to}`;
  if (!state.cy.getElementById(id).length && state.cy.getElementById(from).length) {
    state.cy.add({ group: "edges", data: { id, source: from, target: to } });
  }
}

function layout() {
  state.cy.layout({ name: "breadthfirst", directed: true, spacingFactor: 1.1, animate: false }).run();
}

function setNode(id, fields) {
  const node = state.cy.getElementById(id);
  if (!node.length) return;
  node.data(fields);
  const d = node.data();
  const progress = d.state === "running" && d.progress ? ` ${d.progress}` : "";
  node.data("label", `${id}${progress}\n${d.capability}${d.note ? `\n${d.note}` : ""}`);
}

async function loadGraph(runId) {
  try {
    const run = await api(`/api/runs/${runId}`);
    for (const n of run.graph) addNode(n.id, n.capability);
    for (const n of run.graph) for (const dep of n.after) addEdge(dep, n.id);
    layout();
  } catch (error) { /* the journal may not exist yet; the events still draw the nodes */ }
}

function follow(runId, label) {
  state.run = runId;
  document.getElementById("cancel").disabled = false;
  setStatus("running");
  const url = `/api/runs/${runId}/events${token ? `?token=${encodeURIComponent(token)}` : ""}`;
  const source = new EventSource(url);
  state.source = source;
  const kinds = ["run.started", "run.planning", "run.planned", "run.finished", "run.error", "node.started",
                 "node.progress", "node.finished", "node.failed", "node.skipped", "route.decided",
                 "check.completed", "retry.scheduled", "node.replanned", "node.added", "artifact.written"];
  for (const kind of kinds) {
    source.addEventListener(kind, (message) => onEvent(JSON.parse(message.data), runId, source));
  }
  source.onerror = () => { if (state.run === runId && source.readyState === EventSource.CLOSED) setStatus("lost"); };
}

function onEvent(e, runId, source) {
  if (state.run !== runId) return;
  logLine(e);
  switch (e.kind) {
    case "run.started":
      for (const id of e.nodes) addNode(id, "");
      loadGraph(runId);
      break;
    case "run.planning": setStatus(`planning: ${e.goal}`); break;
    case "node.added":
      addNode(e.node_id, e.capability);
      for (const dep of e.after) addEdge(dep, e.node_id);
      layout();
      break;
    case "route.decided": {
      const d = e.decision;
      const p = d.probabilities[d.chosen];
      const share = (name) => (d.probabilities[name] !== undefined ? ` ${d.probabilities[name].toFixed(2)}` : "");
      const note = `${d.chosen}${p !== undefined ? ` p=${p.toFixed(2)}` : ""}`
        + (d.gated ? `\ngated, side by side: ${[...new Set([d.chosen, ...d.alternatives])].map((a) => a + share(a)).join(" | ")}` : "");
      setNode(e.node_id, { note, gated: d.gated ? "yes" : "no" });
      break;
    }
    case "node.started": setNode(e.node_id, { state: "running" }); break;
    case "node.progress":
      if (e.fraction !== null) {
        setStatus(`running: ${e.node_id} ${Math.round(e.fraction * 100)}% ${e.message}`);
        setNode(e.node_id, { progress: `${Math.round(e.fraction * 100)}%` });
      }
      break;
    case "node.finished": setNode(e.node_id, { state: "succeeded" }); break;
    case "node.failed": if (e.final) setNode(e.node_id, { state: "failed" }); break;
    case "node.skipped": setNode(e.node_id, { state: "skipped" }); break;
    case "run.error":
      source.close();
      setStatus("failed");
      showError(e.error);
      document.getElementById("cancel").disabled = true;
      break;
    case "run.finished":
      source.close();
      setStatus(e.status);
      document.getElementById("cancel").disabled = true;
      showResult(runId);
      loadRouter();
      break;
    default: break;
  }
}

function logLine(e) {
  const time = e.ts ? new Date(e.ts * 1000).toLocaleTimeString() : "";
  let extra = "";
  if (e.kind === "route.decided") extra = `→ ${e.decision.chosen}`;
  else if (e.kind === "check.completed") extra = e.passed ? "passed" : "FAILED";
  else if (e.kind === "node.failed") extra = e.error;
  else if (e.kind === "node.progress") extra = e.message;
  else if (e.kind === "run.finished") extra = e.status;
  const log = document.getElementById("log");
  log.append(el("li", { text: `${time} ${e.kind} ${e.node_id || ""} ${extra}`.trim() }));
  if (!state.scrolling) {  // once per frame: scrolling after every event forces a layout each time
    state.scrolling = true;
    requestAnimationFrame(() => { log.scrollTop = log.scrollHeight; state.scrolling = false; });
  }
}

document.getElementById("cancel").addEventListener("click", async () => {
  if (!state.run) return;
  document.getElementById("cancel").disabled = true;
  setStatus("cancelling");
  await api(`/api/runs/${state.run}/cancel`, { method: "POST" });
});

// ---- the result, by kind --------------------------------------------------------------------------
async function showResult(runId) {
  const run = await api(`/api/runs/${runId}`);
  const box = document.getElementById("result");
  box.replaceChildren(el("h3", { text: "Result" }));
  if (!run.result) { box.append(el("p", { text: run.error || "no result" })); return; }
  const artifactsRoot = `${run.summary.run_dir}/artifacts/`;
  for (const node of Object.values(run.result.nodes)) {
    const section = el("section", { class: "node", "aria-label": `Node ${node.id}` },
      el("h4", { text: `${node.id} (${node.capability}) — ${node.status}${node.expert ? ` by ${node.expert}` : ""}` }));
    if (node.error) section.append(el("p", { class: "error", text: node.error }));
    if (node.verdicts.length) section.append(checks(node.verdicts));
    if (node.output && Array.isArray(node.output.evidence)) section.append(evidenceChain(node.output, node.id));
    if (node.output) section.append(...await render(node.output, artifactsRoot, runId));
    box.append(section);
  }
  if (run.result.checks.length) box.append(el("h4", { text: "Final checks" }), checks(run.result.checks));
  const visual = Object.values(run.result.nodes).filter((n) => n.capability === "image.keyvisual" && n.output).pop();
  if (visual) box.append(followUp(visual.output.brief, artifactsRoot, runId));
}

// image-a is a conversation: a follow-up instruction revises the last key visual's brief in a new run.
function followUp(briefPath, root, runId) {
  const input = el("textarea", { "aria-label": "Follow-up instruction", rows: 2,
                                 placeholder: "make the headline bigger; use the second palette" });
  const send = el("button", { type: "button", text: "Send follow-up", onclick: async () => {
    const brief = await fetch(artifactUrl(briefPath, root, runId)).then((r) => r.blob());
    const edits = input.value.split(/[;\n]/).map((x) => x.trim()).filter(Boolean);
    const task = { name: "key visual follow-up", inputs: { previous: { file: "previous-brief.json" } },
                   graph: [{ id: "revise", capability: "image.keyvisual",
                             inputs: { previous: "${inputs.previous}", edits, variants: 3 } }] };
    const form = new FormData();
    form.append("task", new Blob([JSON.stringify(task)], { type: "application/json" }), "follow-up.json");
    form.append("files", brief, "previous-brief.json");
    await start(form, `follow-up: ${edits.join("; ")}`);
  } });
  return el("section", { "aria-label": "Follow-up" }, el("h4", { text: "Revise this key visual" }), input, send);
}

function checks(verdicts) {
  return el("ul", { "aria-label": "Checks" }, ...verdicts.map((v) => el("li", {
    class: v.passed ? "pass" : "fail", text: `${v.passed ? "✔" : "✘"} ${v.check}: ${v.message || v.score}` })));
}

function artifactUrl(path, root, runId) {
  const rel = path.slice(root.length).split("/").map(encodeURIComponent).join("/");
  return `/api/runs/${runId}/artifacts/${rel}${token ? `?token=${encodeURIComponent(token)}` : ""}`;
}

// Files the output names are shown as what they are; segments as a transcript; the rest as JSON.
async function render(output, root, runId) {
  const parts = [];
  const files = [];
  (function walk(value) {
    if (typeof value === "string" && value.startsWith(root)) files.push(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === "object") Object.values(value).forEach(walk);
  })(output);
  const more = el("details", {}, el("summary", { text: "more pictures" }));
  let pictures = 0;
  for (const path of [...new Set(files)]) {
    const url = artifactUrl(path, root, runId);
    const name = path.slice(root.length);
    if (/\.(png|jpe?g|svg|webp)$/i.test(path)) {
      const figure = el("figure", {}, el("img", { src: url, alt: name, loading: "lazy" }),
                        el("figcaption", { text: name }));
      pictures += 1;
      if (pictures <= 3) parts.push(figure);
      else more.append(figure);
    }
    else if (/\.(wav|mp3|ogg|flac)$/i.test(path)) parts.push(el("p", {}, `${name} `, el("audio", { controls: true, src: url })));
    else if (/\.(md|txt)$/i.test(path)) {
      const text = await fetch(url).then((r) => r.text());
      parts.push(el("details", {}, el("summary", { text: name }), el("pre", { text })));
    } else parts.push(el("p", {}, el("a", { href: url, text: name })));
  }
  if (pictures > 3) {
    more.querySelector("summary").textContent = `${pictures - 3} more pictures`;
    parts.push(more);
  }
  const fields = [];
  for (const [key, value] of Object.entries(output)) {
    const listed = Array.isArray(value) && value.length && value.length <= 20
      && value.every((v) => typeof v !== "object" && !(typeof v === "string" && v.startsWith(root)));
    const scalars = listed ? [[key, value.join("; ")]]
      : value && typeof value === "object" && !Array.isArray(value)
        ? Object.entries(value).filter(([, v]) => typeof v !== "object").map(([k, v]) => [`${key}.${k}`, v])
        : typeof value !== "object" ? [[key, value]] : [];
    for (const [k, v] of scalars) {
      if (!(typeof v === "string" && (v.startsWith(root) || v.length > 400))) fields.push([k, String(v)]);
    }
  }
  if (fields.length) {
    parts.push(el("table", { "aria-label": "Fields" },
      ...fields.map(([k, v]) => el("tr", {}, el("th", { text: k }), el("td", { text: v })))));
  }
  if (Array.isArray(output.segments) && output.segments.length && "speaker" in output.segments[0]) {
    parts.push(el("table", { "aria-label": "Transcript" },
      el("tr", {}, el("th", { text: "speaker" }), el("th", { text: "time" }), el("th", { text: "text" })),
      ...output.segments.map((s) => el("tr", {}, el("td", { text: s.speaker }),
        el("td", { text: `${s.start.toFixed(1)}–${s.end.toFixed(1)} s` }), el("td", { text: s.text })))));
  }
  parts.push(el("details", {}, el("summary", { text: "output (JSON)" }),
                el("pre", { text: JSON.stringify(output, null, 2) })));
  return parts;
}

// A research result as its chain: statements (conclusions, findings, matrix cells, risks, traced claims), each
// citing evidence by id; a citation is a link to its passage below, which it highlights.
function evidenceChain(output, nodeId) {
  const anchor = (id) => `ev-${nodeId}-${id}`;
  const cite = (statement) => el("span", {}, ...(statement.citations || []).map((id) => el("a", {
    href: `#${anchor(id)}`, class: "citation", text: ` [${id}]`,
    onclick: () => { document.querySelectorAll(".evidence li").forEach((li) => li.classList.remove("cited"));
                     const li = document.getElementById(anchor(id)); if (li) li.classList.add("cited"); } })));
  const said = (label, statement, extra = "") => el("li", {}, label ? el("strong", { text: `${label}: ` }) : null,
    statement ? statement.text : el("em", { text: "unknown: the corpus says nothing on it" }),
    statement ? cite(statement) : null, extra ? el("span", { class: "fail", text: ` ${extra}` }) : null);
  const items = [];
  for (const c of output.conclusions || []) items.push(said("Conclusion", c));
  for (const f of output.findings || []) items.push(said(f.question, f.answer));
  for (const cell of output.matrix || []) items.push(said(`${cell.option} × ${cell.criterion}`, cell.statement));
  for (const r of output.risks || []) items.push(said(`Risk (${r.option}, ${r.likelihood}/${r.impact})`, r.risk));
  for (const c of output.claims || []) {
    items.push(said(c.sourced ? "Sourced" : "Flagged", c.source || { text: c.claim, citations: c.closest || [] },
                    c.sourced ? "" : c.note));
  }
  const box = el("section", { "aria-label": `Evidence chain of ${nodeId}` }, el("h5", { text: "Evidence chain" }),
                 el("ol", { "aria-label": "Statements" }, ...items));
  box.append(el("ol", { class: "evidence", "aria-label": "Evidence" }, ...output.evidence.map((e) => el("li", {
    id: anchor(e.id) }, el("strong", { text: `${e.id} ` }), el("span", { text: `${e.title}${e.heading ? ` § ${e.heading}` : ""}`
    + ` (characters ${e.start}–${e.end}): ` }), el("q", { text: e.text })))));
  if ((output.references || []).length) {
    box.append(el("h5", { text: "References" }), el("ol", {}, ...output.references.map((r) => el("li", {
      text: r.formatted || `${r.title} (${r.doc})` }))));
  }
  return box;
}

// ---- the router panel -----------------------------------------------------------------------------
async function loadRouter() {
  const router = await api("/api/router");
  document.getElementById("router-note").textContent = router.learned
    ? `From ${router.state}: ${router.experts.length} expert(s) learned about.`
    : "The router has not learned anything yet: it learns from nodes that had more than one candidate expert.";
  const series = [];
  for (const [capability, experts] of Object.entries(router.weights)) {
    for (const [expert, values] of Object.entries(experts)) {
      series.push({ label: `${capability}: ${expert}`, data: values.map((y, x) => ({ x: x + 1, y })),
                    pointRadius: 0, borderWidth: 1.5 });
    }
  }
  drawChart("weights", "weights-chart", { type: "line", data: { datasets: series },
    options: { animation: false, parsing: false, scales: { x: { type: "linear", title: { display: true, text: "decision" } },
                                         y: { min: 0, max: 1, title: { display: true, text: "π" } } } } });
  const stacked = Object.entries(router.contributions).map(([expert, shares], i) => ({
    label: expert, data: shares, fill: i === 0 ? "origin" : "-1", pointRadius: 0 }));
  drawChart("contrib", "contrib-chart", { type: "line",
    data: { labels: router.contribution_calls.map((c) => Math.round(c)), datasets: stacked },
    options: { animation: false, scales: { y: { stacked: true, min: 0, max: 1, title: { display: true, text: "share of reward" } },
                                           x: { title: { display: true, text: "call" } } } } });
}

function drawChart(key, canvasId, config) {
  if (state.charts[key]) state.charts[key].destroy();
  state.charts[key] = new Chart(document.getElementById(canvasId), config);
  document.getElementById(canvasId).dataset.points = String(config.data.datasets.reduce((n, d) => n + d.data.length, 0));
}

// ---- the workers on the server's broker (refreshed while the page is open) --------------------------
const WORKERS_EVERY_MS = 3000;

async function loadWorkers() {
  const answer = await api("/api/workers");
  const note = document.getElementById("workers-note");
  const table = document.getElementById("workers-table");
  table.hidden = !answer.workers.length;
  if (!answer.broker) {
    note.textContent = "No broker: every expert runs on this machine (agentos ui --broker mqtt://USER@HOST:PORT "
      + "adds the experts of workers on other machines).";
  } else if (answer.error) {
    note.textContent = `Broker ${answer.broker} cannot be reached: ${answer.error}`;
  } else {
    const live = answer.workers.filter((w) => w.alive).length;
    note.textContent = `Broker ${answer.broker}: ${live} live worker(s)`
      + (answer.workers.length > live ? `, ${answer.workers.length - live} gone` : "") + ".";
  }
  table.querySelector("tbody").replaceChildren(...answer.workers.map((w) => el("tr", { class: w.alive ? "live" : "gone" },
    el("td", { text: w.worker }), el("td", { text: w.alive ? "live" : "gone" }),
    el("td", { text: w.experts.join(", ") }), el("td", { text: `${w.busy} of ${w.concurrency}` }),
    el("td", { text: `${w.seen_s_ago.toFixed(1)} s ago` }))));
}

async function watchWorkers() {
  try { await loadWorkers(); } catch (error) { document.getElementById("workers-note").textContent = error.message; }
  setTimeout(watchWorkers, WORKERS_EVERY_MS);
}

loadSamples().catch((error) => showError(error.message));
watchWorkers();
const linked = new URLSearchParams(location.search).get("run");  // ?run=ID opens that run, live or past
if (linked) { showRun(linked); follow(linked, linked); }
loadRouter().catch(() => {});

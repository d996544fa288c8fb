// DAGI Mesh dashboard: reads this node's replica through its API and draws it. No framework,
// no CDN — every chart is a few lines of SVG built here, so the page works offline.
"use strict";

const COLORS = ["#58a6ff", "#3fb950", "#d29922", "#bc8cff", "#f85149", "#39c5cf", "#ff7b72", "#a5d6ff"];
const $ = (selector) => document.querySelector(selector);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    // Styles through the CSSOM: the page's content security policy refuses style attributes.
    if (key === "style") Object.assign(node.style, value); else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

async function get(path) {
  const response = await fetch(path, { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

function bytes(n) {
  if (n == null) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

const usd = (n) => `$${(n || 0).toFixed(n >= 1 ? 2 : 4)}`;

// A sparkline of [ts, value] points; data-points says how many it drew.
function sparkline(points, max) {
  const width = 150, height = 28;
  const chart = svg("svg", { class: "spark", width, height, viewBox: `0 0 ${width} ${height}`, "data-points": points.length });
  if (points.length < 2) {
    chart.append(svg("text", { x: 0, y: 18 }, document.createTextNode(points.length ? "1 sample" : "no samples yet")));
    return chart;
  }
  const t0 = points[0][0], t1 = points[points.length - 1][0];
  const top = max || Math.max(...points.map((p) => p[1]), 1e-9);
  const path = points.map(([t, v]) => `${((t - t0) / (t1 - t0 || 1)) * width},${height - 2 - (Math.min(v, top) / top) * (height - 4)}`).join(" ");
  chart.append(svg("polyline", { points: path, fill: "none", stroke: "#58a6ff", "stroke-width": 1.5 }));
  return chart;
}

// Stacked bars: one per day, one colour per series; data-points counts the segments drawn.
function stackedBars(rows, seriesKey, valueOf, format, emptyText) {
  const days = [...new Set(rows.map((r) => r.group.day))].sort();
  const series = [...new Set(rows.map((r) => r.group[seriesKey]))].sort();
  const width = 360, height = 150, left = 44, bottom = 18;
  const totals = days.map((day) => rows.filter((r) => r.group.day === day).reduce((sum, r) => sum + valueOf(r), 0));
  const top = Math.max(...totals, 0);
  const chart = svg("svg", { width: "100%", viewBox: `0 0 ${width} ${height}`, "data-points": 0 });
  if (!days.length || top <= 0) {
    return el("div", { class: "empty", "data-points": 0 }, emptyText);
  }
  const slot = (width - left) / days.length, bar = Math.max(2, slot * 0.7);
  let drawn = 0;
  days.forEach((day, i) => {
    let y = height - bottom;
    series.forEach((name, s) => {
      const row = rows.find((r) => r.group.day === day && r.group[seriesKey] === name);
      const value = row ? valueOf(row) : 0;
      if (value <= 0) return;
      const h = (value / top) * (height - bottom - 8);
      y -= h;
      const rect = svg("rect", { x: left + i * slot + (slot - bar) / 2, y, width: bar, height: h, fill: COLORS[s % COLORS.length] });
      rect.append(svg("title", {}, document.createTextNode(`${day.slice(0, 10)} ${name}: ${format(value)}`)));
      chart.append(rect);
      drawn++;
    });
    if (days.length <= 14) chart.append(svg("text", { x: left + i * slot + slot / 2, y: height - 4, "text-anchor": "middle" }, document.createTextNode(day.slice(5, 10))));
  });
  chart.append(svg("text", { x: 0, y: 12 }, document.createTextNode(format(top))));
  chart.setAttribute("data-points", drawn);
  const legend = el("div", { class: "legend" }, ...series.map((name, s) => el("span", {}, el("i", { style: { background: COLORS[s % COLORS.length] } }), name || "(none)")));
  return el("div", {}, chart, legend);
}

function badge(state) { return el("span", { class: `badge ${state}` }, state); }

async function drawNodes(status) {
  const box = $("#nodes");
  const cards = await Promise.all(status.nodes.map(async (node) => {
    let series = {};
    try { series = (await get(`/v1/metrics/series?node=${encodeURIComponent(node.id)}&minutes=60`)).series; } catch (_) { /* shown empty */ }
    const row = (label, points, max, now) => el("div", { class: "metric" }, el("span", { class: "muted" }, label), sparkline(points || [], max), el("span", {}, now));
    const card = el("div", { class: "card node", "data-node": node.id },
      el("h3", {}, el("span", {}, node.id + (node.local ? " (this node)" : "")), badge(node.state)),
      el("div", { class: "muted" }, `${node.os}/${node.arch} · ${node.cpu_count} cores · ${node.api_url}`),
      row("CPU", series.cpu_percent, 100, node.cpu_percent == null ? "–" : `${node.cpu_percent.toFixed(0)}%`),
      row("Memory", series.mem_used_bytes, node.mem_total, `${bytes(node.mem_used)}`),
    );
    if (node.gpu_count > 0) card.append(row("GPU", series.gpu_util_percent, 100, `${node.gpu_count} GPU`));
    return card;
  }));
  box.replaceChildren(...cards);
}

function drawModels(status) {
  const rows = status.models.map((m) => el("tr", { "data-model": m.name },
    el("td", {}, m.name), el("td", {}, m.node), el("td", {}, m.source), el("td", {}, badge(m.state)), el("td", {}, bytes(m.size_bytes))));
  $("#models tbody").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 5, class: "empty" }, "no models yet"))]));
}

function drawAgents(status, spendToday) {
  const rows = status.agents.map((a) => {
    const spent = spendToday.get(a.name) || 0;
    const budget = a.budget_daily_usd;
    const bar = budget ? el("div", { class: "bar", title: `${usd(spent)} of ${usd(budget)}` },
      el("span", { class: spent > budget ? "over" : "", style: { width: `${Math.min(100, (spent / budget) * 100).toFixed(1)}%` } })) : el("span", { class: "muted" }, "none");
    return el("tr", { "data-agent": a.name }, el("td", {}, a.name), el("td", {}, badge(a.status)), el("td", {}, a.assigned.join(", ") || "–"),
      el("td", {}, usd(spent)), el("td", {}, bar));
  });
  $("#agents tbody").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 5, class: "empty" }, "no agents yet"))]));
}

async function drawSpend() {
  const byAgent = (await get("/v1/usage?group_by=day,agent&since=14d")).data;
  const byProvider = (await get("/v1/usage?group_by=day,provider&since=14d")).data;
  $("#spend-agent").replaceChildren(stackedBars(byAgent, "agent", (r) => r.cost_usd, usd, "nothing spent: every request ran on the mesh"));
  $("#tokens-agent").replaceChildren(stackedBars(byAgent, "agent", (r) => r.prompt_tokens + r.completion_tokens, (n) => `${Math.round(n)} tok`, "no requests in this window yet"));
  $("#spend-provider").replaceChildren(stackedBars(byProvider, "provider", (r) => r.cost_usd, usd, "no cloud spend in this window"));
  const saved = byAgent.reduce((sum, r) => sum + (r.saving_usd || 0), 0);
  const spent = byAgent.reduce((sum, r) => sum + (r.cost_usd || 0), 0);
  $("#savings").textContent = `Spent ${usd(spent)} in 14 days; served locally instead of in the cloud, the mesh saved ${usd(saved)}.`;
  const today = new Date().toISOString().slice(0, 10);
  // A Map, not an object: agent names come from peers, and "constructor" is a valid one.
  const spendToday = new Map();
  for (const r of byAgent) {
    if (String(r.group.day || "").startsWith(today)) spendToday.set(r.group.agent, (spendToday.get(r.group.agent) || 0) + Number(r.cost_usd || 0));
  }
  return spendToday;
}

async function drawProviders() {
  let providers = [];
  try { providers = (await get("/v1/providers")).data; } catch (_) { /* no router views */ }
  const rows = providers.map((p) => el("tr", {}, el("td", {}, p.name), el("td", {}, p.kind), el("td", {}, badge(p.state)),
    el("td", {}, p.success_rate == null ? "–" : `${(p.success_rate * 100).toFixed(0)}%`),
    el("td", {}, p.latency_ms == null ? "–" : `${Math.round(p.latency_ms)} ms`), el("td", {}, p.inflight)));
  $("#providers tbody").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 6, class: "empty" }, "no cloud providers configured"))]));
}

function logRow(r, live) {
  return el("tr", live ? { class: "live" } : {}, el("td", {}, r.time.slice(11, 19)), el("td", {}, r.agent), el("td", {}, r.model), el("td", {}, r.route),
    el("td", {}, r.prompt_tokens + r.completion_tokens), el("td", {}, `${Math.round(r.latency_ms)} ms`), el("td", {}, usd(r.cost_usd)), el("td", {}, r.status));
}

async function startLog() {
  const body = $("#log tbody");
  // The last few minutes first, then every new request as its ledger row lands (SSE).
  try {
    // Newest first, as /v1/usage lists them.
    const recent = (await get("/v1/usage?since=15m&limit=25")).data;
    body.replaceChildren(...recent.map(logRow));
  } catch (_) { /* the stream still fills it */ }
  const events = new EventSource("/v1/usage/live");
  events.onmessage = (message) => {
    body.prepend(logRow(JSON.parse(message.data), true));
    while (body.children.length > 50) body.lastChild.remove();
  };
}

// Each section draws on its own: one that fails (a peer's odd row) leaves the others drawn.
async function section(name, draw) {
  try { return await draw(); } catch (error) { console.error(name, error); return undefined; }
}

async function refresh() {
  let status;
  try {
    status = await get("/v1/status");
  } catch (error) {
    $("#updated").textContent = `cannot read the node: ${error.message}`;
    return;
  }
  $("#local").textContent = `node ${status.local_node} · ${status.nodes.length} node(s)`;
  const spendToday = (await section("spend", drawSpend)) || new Map();
  await section("models", () => drawModels(status));
  await section("agents", () => drawAgents(status, spendToday));
  await Promise.all([section("nodes", () => drawNodes(status)), section("providers", drawProviders)]);
  $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  document.body.dataset.ready = "true";
}

refresh();
startLog();
setInterval(refresh, 5000);

// The operator dashboard: reads /v1/operations/overview every few seconds and /v1/release-study on demand,
// with the operator key kept in this tab's session storage only. Every text goes in through textContent:
// nothing read from the API is ever parsed as HTML.
"use strict";

const REFRESH_MS = 5000;
const STUDY_REFRESH_MS = 60000;
const SVG = "http://www.w3.org/2000/svg";
const KEY_ITEM = "sw-operator-key";
const lodgedSamples = []; // [time, lodged in the last minute], one per refresh, for the throughput plot

const $ = (id) => document.getElementById(id);

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function svgElement(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.abs(seconds);
  const sign = seconds < 0 ? "-" : "";
  if (s < 1) return `${sign}${Math.round(s * 1000)} ms`;
  if (s < 120) return `${sign}${s.toFixed(1)} s`;
  if (s < 7200) return `${sign}${(s / 60).toFixed(1)} min`;
  if (s < 172800) return `${sign}${(s / 3600).toFixed(1)} h`;
  return `${sign}${(s / 86400).toFixed(1)} d`;
}

function fillRows(tbody, rows, cells) {
  tbody.replaceChildren(
    ...rows.map((row) => {
      const tr = element("tr");
      for (const [value, numeric] of cells(row)) tr.append(element("td", value, numeric ? "number" : undefined));
      return tr;
    }),
  );
  if (rows.length === 0) {
    const tr = element("tr");
    const td = element("td", "none");
    td.colSpan = tbody.closest("table").querySelectorAll("th").length;
    tr.append(td);
    tbody.append(tr);
  }
}

async function getJson(path) {
  const response = await fetch(path, { headers: { "X-API-Key": sessionStorage.getItem(KEY_ITEM) || "" } });
  if (response.status === 401 || response.status === 403) {
    throw new Error(`the key was refused (${response.status}): an operator key is needed`);
  }
  if (!response.ok) {
    let detail = response.statusText;
    try {
      detail = (await response.json()).detail || detail;
    } catch (ignored) {
      // not problem details: keep the status text
    }
    throw new Error(`${path} answered ${response.status}: ${detail}`);
  }
  return response.json();
}

function showServices(overview) {
  $("services").replaceChildren(
    ...overview.services.map((service) => {
      const card = element("div", undefined, `card ${service.ready ? "up" : "down"}`);
      card.dataset.service = service.name;
      card.append(element("strong", service.name), element("div", service.ready ? "ready" : "NOT READY"));
      if (!service.reachable) card.append(element("div", service.error || "unreachable"));
      return card;
    }),
  );
  const broker = overview.broker;
  $("broker").textContent =
    `Kafka ${broker.bootstrap}: ${broker.connected ? "connected" : "NOT CONNECTED"}` +
    (broker.offsets_read ? "" : " (offsets not readable just now)") +
    (broker.last_error ? `; last error: ${broker.last_error}` : "");
}

function showThroughput(overview) {
  const t = overview.throughput;
  for (const [name, windowed] of [["1", t.last_minute], ["15", t.last_15_minutes]]) {
    $(`lodged-${name}`).textContent = windowed.lodged;
    $(`decisions-${name}`).textContent = windowed.decisions;
    $(`released-${name}`).textContent = windowed.released;
  }
  $("backlog").textContent = overview.outbox_backlog;
  lodgedSamples.push([Date.parse(overview.at), t.last_minute.lodged]);
  while (lodgedSamples.length > 120) lodgedSamples.shift();
  const plot = $("throughput-plot");
  const top = Math.max(1, ...lodgedSamples.map(([, n]) => n));
  const first = lodgedSamples[0][0];
  const span = Math.max(1, lodgedSamples[lodgedSamples.length - 1][0] - first);
  const points = lodgedSamples.map(([at, n]) => `${40 + ((at - first) / span) * 550},${110 - (n / top) * 95}`);
  plot.replaceChildren(
    svgElement("text", { x: 2, y: 14 }, top),
    svgElement("text", { x: 2, y: 110 }, 0),
    svgElement("polyline", { class: "line", points: points.join(" ") }),
    svgElement("text", { x: 40, y: 118 }, "lodged in the last minute, at each refresh"),
  );
}

function showLagAndDeadLetters(overview) {
  fillRows($("lag"), overview.lag, (l) => [[l.group], [l.topic], [l.partition, true], [l.behind, true]]);
  fillRows($("dead-letters"), overview.dead_letters, (d) => [[d.topic], [d.records, true]]);
}

function horizontalBars(svg, bars, label) {
  // bars: [{name, parts: [{value, className, text}]}]; one row each, parts stacked from the left.
  const top = Math.max(1e-9, ...bars.map((bar) => bar.parts.reduce((sum, part) => sum + part.value, 0)));
  const rowHeight = 22;
  svg.setAttribute("viewBox", `0 0 600 ${Math.max(1, bars.length) * rowHeight + 8}`);
  const nodes = [];
  bars.forEach((bar, index) => {
    const y = 4 + index * rowHeight;
    nodes.push(svgElement("text", { x: 2, y: y + 14 }, bar.name));
    let x = 170;
    for (const part of bar.parts) {
      const width = (part.value / top) * 250;
      const rect = svgElement("rect", { x, y, width: Math.max(width, 0.5), height: rowHeight - 6, class: part.className });
      rect.append(svgElement("title", {}, part.text));
      nodes.push(rect);
      x += width;
    }
    nodes.push(svgElement("text", { x: x + 6, y: y + 14 }, bar.parts.map((part) => part.text).join(" · ")));
  });
  if (bars.length === 0) nodes.push(svgElement("text", { x: 2, y: 18 }, `no ${label} yet`));
  svg.replaceChildren(...nodes);
}

function showMix(overview) {
  const byAgency = new Map();
  for (const row of overview.decision_mix.rows) {
    const name = row.lane === "none" ? row.agency : `${row.agency} (${row.lane})`;
    if (!byAgency.has(name)) byAgency.set(name, []);
    byAgency.get(name).push({ value: row.count, className: `bar-${row.outcome}`, text: `${row.outcome} ${row.count}` });
  }
  const bars = [...byAgency.entries()].map(([name, parts]) => ({ name, parts }));
  horizontalBars($("mix-plot"), bars, "decisions");
}

function showWaiting(overview) {
  fillRows($("waiting"), overview.waiting_longest, (w) => [
    [w.declaration_id],
    [w.state],
    [duration(w.waiting_seconds), true],
    [w.waiting_for.join("; ") || "the single-window join"],
  ]);
}

function studyPath(format) {
  const days = Number($("period").value);
  const since = new Date(Date.now() - days * 86400000).toISOString();
  const query = new URLSearchParams({ since });
  query.append("by", "lane");
  query.append("by", "agency");
  if (format) query.set("format", format);
  return `/v1/release-study?${query}`;
}

function percentileBars(rows) {
  return rows.map((row) => ({
    name: `${row.group} (${row.count}${row.waiting ? `, ${row.waiting} waiting` : ""})`,
    parts: [
      { value: row.p50_seconds || 0, className: "bar-p50", text: `p50 ${duration(row.p50_seconds)}` },
      {
        value: Math.max(0, (row.p90_seconds || 0) - (row.p50_seconds || 0)),
        className: "bar-p90",
        text: `p90 ${duration(row.p90_seconds)}`,
      },
    ],
  }));
}

async function refreshStudy() {
  const study = await getJson(studyPath());
  $("study-summary").textContent =
    `Declarations lodged: ${study.consignments}, from ${new Date(study.since).toLocaleString()} ` +
    `to ${new Date(study.until).toLocaleString()}; percentiles by ${study.percentile_method.split(":")[0]}.`;
  const lanes = study.rows.filter((r) => r.dimension === "lane" && r.interval === "lodgement_to_release");
  const agencies = study.rows.filter((r) => r.dimension === "agency" && r.interval === "lodgement_to_decision");
  horizontalBars($("study-lanes"), percentileBars(lanes.filter((r) => r.count > 0)), "releases");
  horizontalBars($("study-agencies"), percentileBars(agencies.filter((r) => r.count > 0)), "decisions");
}

async function downloadCsv() {
  const response = await fetch(studyPath("csv"), { headers: { "X-API-Key": sessionStorage.getItem(KEY_ITEM) || "" } });
  if (!response.ok) throw new Error(`the study answered ${response.status}`);
  const link = element("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = "release-study.csv";
  link.click();
  URL.revokeObjectURL(link.href);
}

function report(error) {
  $("status").textContent = error ? String(error.message || error) : `Live: updated ${new Date().toLocaleTimeString()}`;
  $("status").classList.toggle("error", Boolean(error));
}

let lastStudy = 0;
let lastActivity = "";

async function refresh() {
  if (!sessionStorage.getItem(KEY_ITEM)) return;
  try {
    const overview = await getJson("/v1/operations/overview");
    $("live").hidden = false;
    showServices(overview);
    showThroughput(overview);
    showLagAndDeadLetters(overview);
    showMix(overview);
    showWaiting(overview);
    // The study is read again when decisions or releases have happened since, and at least every minute.
    const activity = JSON.stringify(overview.throughput.last_15_minutes);
    if (activity !== lastActivity || Date.now() - lastStudy > STUDY_REFRESH_MS) {
      lastActivity = activity;
      lastStudy = Date.now();
      await refreshStudy();
    }
    document.body.dataset.refreshed = overview.at;
    report(null);
  } catch (error) {
    report(error);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_ITEM, $("key").value.trim());
    $("key").value = "";
    lastStudy = 0;
    refresh();
  });
  $("forget").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_ITEM);
    $("live").hidden = true;
    report(null);
    $("status").textContent = "Key forgotten. Give an operator key to see the live figures.";
  });
  $("period").addEventListener("change", () => refreshStudy().catch(report));
  $("study-csv").addEventListener("click", () => downloadCsv().catch(report));
  refresh();
  setInterval(refresh, REFRESH_MS);
});

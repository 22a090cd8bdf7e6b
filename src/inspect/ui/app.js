// Ferry Inspector: recent events from /api/events, then live updates over Ferry's own WebSocket (/live).
const MAX_ROWS = 3000;
const SHOWN = 400;
const rows = new Map(); // seq → row
let paused = false;
let selected = null; // { kind, seq } or { session }
// `publish`: POSTs to realtime paths (a feed publishing many times a second would flood the list).
const kinds = { dns: true, http: true, ws: true, publish: false };
let filterText = "";
let socket = null;
let watchedSession = null;
let frames = [];

const $ = (s) => document.querySelector(s);
const esc = (s) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c],
  );
const ms = (v) => (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v));
const clock = (t) =>
  `${new Date(t).toLocaleTimeString("en-GB")}.${String(Math.floor(t) % 1000).padStart(3, "0")}`;
const bytes = (n) =>
  n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`;
const OPS = { 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong" };

// ---- charts ----
const series = { t: [], http: [], dns: [], ws: [], h50: [], h90: [], h99: [], d50: [], d99: [] };
function chart(el, labels, colors) {
  const opts = {
    width: el.clientWidth || 400,
    height: 130,
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    axes: [
      { stroke: "#8690b0", grid: { stroke: "#232d47" } },
      { stroke: "#8690b0", grid: { stroke: "#232d47" }, size: 44 },
    ],
    series: [{}, ...labels.map((label, i) => ({ label, stroke: colors[i], width: 1.5, spanGaps: true }))],
  };
  return new uPlot(opts, [[], ...labels.map(() => [])], el);
}
const charts = {
  rate: chart($("#chart-rate"), ["HTTP req/s", "DNS q/s"], ["#4fb3ff", "#b48cff"]),
  ws: chart($("#chart-ws"), ["messages/s"], ["#3ddc97"]),
  latency: chart(
    $("#chart-latency"),
    ["HTTP p50", "HTTP p90", "HTTP p99", "DNS p50", "DNS p99"],
    ["#4fb3ff", "#8fd0ff", "#cfeaff", "#b48cff", "#e2d2ff"],
  ),
};
function addPoint(p) {
  if (series.t.length && p.t <= series.t[series.t.length - 1]) return;
  series.t.push(p.t);
  series.http.push(p.httpRequests);
  series.dns.push(p.dnsQueries);
  series.ws.push(p.wsMessages);
  series.h50.push(p.httpP50);
  series.h90.push(p.httpP90);
  series.h99.push(p.httpP99);
  series.d50.push(p.dnsP50);
  series.d99.push(p.dnsP99);
  if (series.t.length > 300) for (const k in series) series[k].shift();
}
function redrawCharts() {
  charts.rate.setData([series.t, series.http, series.dns]);
  charts.ws.setData([series.t, series.ws]);
  charts.latency.setData([series.t, series.h50, series.h90, series.h99, series.d50, series.d99]);
  // Legends show the latest second (uPlot shows "--" until the pointer is over a chart).
  const last = series.t.length - 1;
  if (last >= 0)
    for (const c of Object.values(charts))
      if (c.cursor.idx == null || c.cursor.left < 0) c.setLegend({ idx: last });
}
window.addEventListener("resize", () => {
  for (const [id, c] of [
    ["#chart-rate", charts.rate],
    ["#chart-ws", charts.ws],
    ["#chart-latency", charts.latency],
  ])
    c.setSize({ width: $(id).clientWidth, height: 130 });
});

// ---- the event list ----
function summary(r) {
  if (r.kind === "dns")
    return {
      what: `${esc(r.name)} <span class="muted">${esc(r.type)}</span>`,
      result: `<span class="${r.rcode === "NOERROR" ? "ok" : "bad"}">${esc(r.rcode)}</span> ${r.answers.length ? esc(r.answers.slice(0, 2).join(", ")) : ""}`,
      size: `${r.answers.length} ans`,
      via: `${r.transport}${r.cache ? ` · cache ${r.cache}` : ""}`,
    };
  if (r.kind === "http") {
    const cls = r.status >= 400 ? "bad" : r.status >= 300 ? "redirect" : "ok";
    return {
      what: `${esc(r.method)} <span class="muted">${r.tls ? "🔒 " : ""}${esc(r.host)}</span>${esc(r.target)}${r.httpVersion === "2.0" ? ' <span class="muted">h2</span>' : ""}`,
      result: `<span class="${cls}">${r.status}</span>${r.completed ? "" : " <span class=bad>aborted</span>"}`,
      size: bytes(r.bytes),
      via: `${esc(r.site)} ${esc(r.location)}${r.handler ? ` · ${esc(r.handler)}` : ""}${
        r.upstream
          ? ` → ${esc(r.upstream.address || "no upstream")}${r.upstream.error ? ` <span class=bad>${esc(r.upstream.error)}</span>` : ""}`
          : ""
      }`,
    };
  }
  return {
    what: `session #${r.session} ${r.event === "open" ? "opened" : "closed"} <span class="muted">${esc(r.path)}</span> ${esc(r.channels.join(", "))}`,
    result:
      r.event === "close"
        ? `<span class="${r.code === 1000 || r.code === 1001 || r.code === 1005 ? "ok" : "bad"}">${r.code}</span> ${esc(r.reason)}`
        : r.compressed
          ? "deflate"
          : "",
    size: "",
    via: esc(r.site),
  };
}
function text(r) {
  if (r.kind === "dns")
    return `${r.client} ${r.name} ${r.type} ${r.rcode} ${r.answers.join(" ")} ${r.transport}`;
  if (r.kind === "http") return `${r.client} ${r.method} ${r.host}${r.target} ${r.status} ${r.site}`;
  return `${r.client} ws session #${r.session} ${r.event} ${r.path} ${r.channels.join(" ")} ${r.code}`;
}
// Filter words must all match; a word starting with "-" must not (e.g. "-post" hides publishes).
function visible(r) {
  if (!kinds[r.kind]) return false;
  if (r.kind === "http" && r.handler === "publish" && !kinds.publish) return false;
  if (!filterText) return true;
  const t = text(r).toLowerCase();
  return filterText
    .split(/\s+/)
    .every((w) => (w.startsWith("-") && w.length > 1 ? !t.includes(w.slice(1)) : t.includes(w)));
}
let renderQueued = false;
function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}
function render() {
  const list = [...rows.values()].sort((a, b) => b.seq - a.seq);
  const shown = list.filter(visible).slice(0, SHOWN);
  const html = shown.map((r) => {
    const s = summary(r);
    const sel = selected && selected.seq === r.seq ? " selected" : "";
    return `<tr class="${sel}" data-seq="${r.seq}" data-kind="${r.kind}"><td>${clock(r.time)}</td><td><span class="badge ${r.kind}">${r.kind.toUpperCase()}</span></td><td>${esc(r.client)}</td><td class="what">${s.what}</td><td class="result">${s.result}</td><td class="num">${s.size}</td><td class="num">${r.kind === "ws" && r.event === "open" ? "" : ms(r.durationMs)}</td><td class="muted via">${s.via}</td></tr>`;
  });
  $("#events tbody").innerHTML = html.join("");
  const c = { dns: 0, http: 0, ws: 0 };
  for (const r of list) c[r.kind]++;
  $("#counts").textContent =
    `${c.dns} DNS · ${c.http} HTTP · ${c.ws} WS events kept (showing ${shown.length})`;
}
function add(list) {
  for (const r of list) rows.set(r.seq, r);
  if (rows.size > MAX_ROWS) {
    const keys = [...rows.keys()].sort((a, b) => a - b);
    for (const k of keys.slice(0, rows.size - MAX_ROWS)) rows.delete(k);
  }
  if (!paused) queueRender();
}

// ---- details ----
function kv(pairs) {
  return `<table class="kv">${pairs.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join("")}</table>`;
}
function renderFrames() {
  const body = frames
    .map(
      (f) =>
        `<tr><td class="dir-${f.direction}">${f.direction === "in" ? "↑" : "↓"}</td><td>${clock(f.time)}</td><td class="text">${f.text ? esc(f.text) : `<span class="muted">${OPS[f.opcode] ?? f.opcode}</span>`}</td><td class="num">${f.length}</td></tr>`,
    )
    .join("");
  const el = $("#frames tbody");
  if (el)
    el.innerHTML =
      body ||
      `<tr><td colspan="4" class="muted">No frames recorded yet (frames are recorded while an inspector is open).</td></tr>`;
}
function watchSession(id) {
  if (socket && socket.readyState === 1) {
    if (watchedSession !== null)
      socket.send(JSON.stringify({ type: "unsubscribe", channel: `frames:${watchedSession}` }));
    if (id !== null) socket.send(JSON.stringify({ type: "subscribe", channel: `frames:${id}` }));
  }
  watchedSession = id;
}
async function showDetail(seq) {
  const r = rows.get(seq);
  if (!r) return;
  selected = { seq };
  render();
  const d = $("#detail");
  if (r.kind === "http") {
    watchSession(null);
    d.innerHTML =
      `<h2>${esc(r.method)} ${esc(r.host)}${esc(r.target)}</h2>` +
      kv([
        ["Status", r.status],
        ["Client", r.client],
        ["HTTP", r.httpVersion],
        ...(r.tls
          ? [
              [
                "TLS",
                `${r.tls.version}${r.tls.alpn ? ` · ALPN ${r.tls.alpn}` : ""}${r.tls.sni ? ` · SNI ${r.tls.sni}` : ""}`,
              ],
            ]
          : []),
        ["Site", r.site],
        ["Location", r.location || "—"],
        ["Body bytes", r.bytes],
        ["Duration", `${ms(r.durationMs)} ms`],
        ["Completed", r.completed ? "yes" : "no (connection closed)"],
        ...(r.upstream
          ? [
              ["Upstream", r.upstream.address || "— (none reachable)"],
              ["Upstream status", r.upstream.status || "— (no response)"],
              [
                "Upstream connect",
                `${ms(r.upstream.connectMs)} ms${r.upstream.connectMs === 0 ? " (reused)" : ""}`,
              ],
              ["Upstream first byte", `${ms(r.upstream.firstByteMs)} ms`],
              ["Upstreams tried", r.upstream.tries],
              ["Upstream error", r.upstream.error || "—"],
            ]
          : []),
      ]) +
      `<h3>Request headers</h3>${kv(r.requestHeaders)}<h3>Response headers</h3>${kv(r.responseHeaders)}`;
  } else if (r.kind === "dns") {
    watchSession(null);
    d.innerHTML =
      `<h2>${esc(r.name)} ${esc(r.type)}</h2>` +
      kv([
        ["Rcode", r.rcode],
        ["Flags", r.flags.join(" ")],
        ["Client", r.client || "(DoH)"],
        ["Transport", r.transport],
        ["Forwarder cache", r.cache ?? "— (authoritative)"],
        ["Duration", `${ms(r.durationMs)} ms`],
      ]) +
      `<h3>Answer</h3>${r.answers.length ? kv(r.answers.map((a, i) => [String(i + 1), a])) : '<p class="muted">empty</p>'}`;
  } else {
    d.innerHTML =
      `<h2>WebSocket session #${r.session}</h2>` +
      kv([
        ["Event", r.event],
        ["Client", r.client],
        ["Site", r.site],
        ["Path", r.path],
        ["Channels", r.channels.join(", ") || "—"],
        ["Compression", r.compressed ? "permessage-deflate" : "none"],
        ...(r.event === "close"
          ? [
              ["Close", `${r.code} ${r.reason}`],
              ["Duration", `${ms(r.durationMs)} ms`],
            ]
          : []),
      ]) +
      `<h3>Messages</h3><table class="frames" id="frames"><thead><tr><th></th><th>Time</th><th>Data</th><th class="num">Length</th></tr></thead><tbody></tbody></table>`;
    frames = await (await fetch(`/api/sessions/${r.session}/frames`)).json();
    renderFrames();
    watchSession(r.event === "open" ? r.session : null);
  }
}
$("#events tbody").addEventListener("click", (e) => {
  const tr = e.target.closest("tr[data-seq]");
  if (tr) showDetail(Number(tr.dataset.seq));
});

// ---- channels ----
async function refreshChannels() {
  const list = await (await fetch("/api/channels")).json();
  const el = $("#channels tbody");
  if (el)
    el.innerHTML = list
      .slice(0, 30)
      .map(
        (c) =>
          `<tr><td>${esc(c.channel)}</td><td class="num">${c.rate}</td><td class="num">${c.subscribers}</td><td class="num">${c.offset}</td></tr>`,
      )
      .join("");
}
setInterval(() => refreshChannels().catch(() => {}), 2000);

// ---- proxy upstreams ----
async function refreshUpstreams() {
  const list = await (await fetch("/api/upstreams")).json();
  $("#upstreams-box").hidden = list.length === 0;
  $("#upstreams tbody").innerHTML = list
    .map(
      (u) =>
        `<tr title="${esc(u.reason)}"><td>${esc(u.upstream)}</td><td class="muted">${esc(u.site)} ${esc(u.location)}</td><td><span class="${u.healthy ? "ok" : "bad"}">${u.healthy ? "up" : "down"}</span>${u.changed ? ` <span class="muted">since ${clock(u.changed)}</span>` : ""}</td><td class="num">${u.inflight}</td><td class="num">${u.connections}</td></tr>`,
    )
    .join("");
}
refreshUpstreams().catch(() => {});
setInterval(() => refreshUpstreams().catch(() => {}), 2000);

// ---- toolbar ----
for (const box of document.querySelectorAll("input[data-kind]"))
  box.addEventListener("change", () => {
    kinds[box.dataset.kind] = box.checked;
    render();
  });
$("#filter").addEventListener("input", (e) => {
  filterText = e.target.value.trim().toLowerCase();
  render();
});
$("#pause").addEventListener("click", () => {
  paused = !paused;
  $("#pause").textContent = paused ? "Resume" : "Pause";
  if (!paused) render();
});
$("#clear").addEventListener("click", () => {
  rows.clear();
  render();
});

// ---- live ----
function setStatus(t, cls) {
  $("#status").textContent = t;
  $("#status").className = `status ${cls}`;
}
async function snapshot() {
  const s = await (await fetch("/api/events?limit=2000")).json();
  add(s.rows);
  for (const p of s.series) addPoint(p);
  redrawCharts();
  refreshChannels().catch(() => {});
}
function connect() {
  const ws = new WebSocket(`ws://${location.host}/live?subscribe=events,series`);
  ws.onopen = () => {
    socket = ws;
    setStatus("live", "live");
    if (watchedSession !== null)
      ws.send(JSON.stringify({ type: "subscribe", channel: `frames:${watchedSession}` }));
    snapshot();
  };
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.type !== "message") return;
    if (m.channel === "events") add(m.data.rows);
    else if (m.channel === "series") {
      addPoint(m.data);
      redrawCharts();
    } else if (m.channel === `frames:${watchedSession}`) {
      frames.push(...m.data);
      if (frames.length > 500) frames.splice(0, frames.length - 500);
      renderFrames();
    }
  };
  ws.onclose = () => {
    socket = null;
    setStatus("reconnecting…", "down");
    setTimeout(connect, 1000);
  };
}
window.__inspector = { rows };
connect();

// The live market page: subscribes to ticker:KRW-* on Ferry's realtime endpoint, flashes prices,
// draws the selected symbol's chart, and after a drop reconnects and recovers with `since`.
const SYMBOLS = ["KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL", "KRW-DOGE", "KRW-ADA", "KRW-AVAX", "KRW-LINK", "KRW-DOT", "KRW-TRX"];
const NAMES = { "KRW-BTC": "Bitcoin", "KRW-ETH": "Ethereum", "KRW-XRP": "XRP", "KRW-SOL": "Solana", "KRW-DOGE": "Dogecoin", "KRW-ADA": "Cardano", "KRW-AVAX": "Avalanche", "KRW-LINK": "Chainlink", "KRW-DOT": "Polkadot", "KRW-TRX": "TRON" };
const MAX_POINTS = 600;

const market = {
  /** Per channel: last offset and epoch seen, for recovery. */
  offsets: {},
  epochs: {},
  /** Per symbol: latest tick and the price series for the chart. */
  latest: {},
  series: {},
  selected: "KRW-BTC",
  received: 0,
  duplicates: 0,
  gaps: 0,
  reconnects: 0,
  socket: null,
};
window.__market = market; // for the browser test and the curious

const $ = (id) => document.getElementById(id);
const krw = (v) => v >= 100 ? Math.round(v).toLocaleString("en") : v.toLocaleString("en", { maximumFractionDigits: 2 });
const pct = (r) => `${r > 0 ? "+" : ""}${(r * 100).toFixed(2)}%`;
const bigKrw = (v) => v >= 1e12 ? `${(v / 1e12).toFixed(2)}T` : v >= 1e9 ? `${(v / 1e9).toFixed(1)}B` : `${(v / 1e6).toFixed(0)}M`;
const side = (r) => (r > 0 ? "up" : r < 0 ? "down" : "");

// ---- the board ----
const rows = {};
for (const symbol of SYMBOLS) {
  const tr = document.createElement("tr");
  tr.dataset.symbol = symbol;
  tr.innerHTML = `<td class="coin"><b>${NAMES[symbol]}</b><small>${symbol}</small></td>
    <td class="num"><span class="price">—</span></td><td class="num change">—</td><td class="num value">—</td>`;
  tr.addEventListener("click", () => select(symbol));
  document.querySelector("#board tbody").append(tr);
  rows[symbol] = { tr, price: tr.querySelector(".price"), change: tr.querySelector(".change"), value: tr.querySelector(".value") };
  market.series[symbol] = [];
}
$("host").textContent = location.host;

function select(symbol) {
  market.selected = symbol;
  for (const s of SYMBOLS) rows[s].tr.classList.toggle("selected", s === symbol);
  renderQuote();
  dirty = true;
}

function renderRow(t, live) {
  const r = rows[t.symbol];
  r.price.textContent = krw(t.price);
  r.price.className = `price ${side(t.changeRate)}`;
  r.change.textContent = pct(t.changeRate);
  r.change.className = `num change ${side(t.changeRate)}`;
  r.value.textContent = bigKrw(t.value);
  if (live && t.price !== t.prev) {
    const cls = t.price > t.prev ? "flash-up" : "flash-down";
    r.price.classList.add(cls);
    setTimeout(() => r.price.classList.remove(cls), 180);
  }
}

function renderQuote() {
  const t = market.latest[market.selected];
  $("q-name").textContent = NAMES[market.selected];
  $("q-symbol").textContent = market.selected;
  if (!t) return;
  $("q-price").textContent = krw(t.price);
  $("q-price").className = side(t.changeRate);
  $("q-change").textContent = `${t.change > 0 ? "+" : ""}${krw(t.change)}  ${pct(t.changeRate)}`;
  $("q-change").className = `q-change ${side(t.changeRate)}`;
  $("q-high").textContent = krw(t.high);
  $("q-low").textContent = krw(t.low);
  $("q-volume").textContent = t.volume.toLocaleString("en", { maximumFractionDigits: 2 });
  $("q-value").textContent = `${bigKrw(t.value)} KRW`;
}

// ---- the chart ----
const canvas = $("chart");
const ctx = canvas.getContext("2d");
let dirty = true;

function draw() {
  requestAnimationFrame(draw);
  if (!dirty) return;
  dirty = false;
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (canvas.width !== w * dpr || canvas.height !== h * dpr) {
    canvas.width = w * dpr;
    canvas.height = h * dpr;
  }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const pts = market.series[market.selected];
  const t = market.latest[market.selected];
  if (pts.length < 2 || !t) {
    ctx.fillStyle = "#8a93b8";
    ctx.fillText("waiting for ticks…", 12, 20);
    return;
  }
  const pad = { l: 8, r: 86, t: 12, b: 22 };
  let lo = Math.min(t.open, ...pts.map((p) => p.price));
  let hi = Math.max(t.open, ...pts.map((p) => p.price));
  if (hi === lo) hi = lo + 1;
  const span = hi - lo;
  lo -= span * 0.08;
  hi += span * 0.08;
  const t0 = pts[0].ts;
  const t1 = Math.max(pts[pts.length - 1].ts, t0 + 1);
  const x = (ts) => pad.l + ((ts - t0) / (t1 - t0)) * (w - pad.l - pad.r);
  const y = (v) => pad.t + (1 - (v - lo) / (hi - lo)) * (h - pad.t - pad.b);
  // grid and price labels
  ctx.strokeStyle = "rgba(138,147,184,.12)";
  ctx.fillStyle = "#8a93b8";
  ctx.font = "11px system-ui, sans-serif";
  ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    const yy = Math.round(y(v)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(pad.l, yy);
    ctx.lineTo(w - pad.r, yy);
    ctx.stroke();
    ctx.fillText(krw(v), w - pad.r + 6, yy + 4);
  }
  // 24h open as a dashed line
  ctx.setLineDash([4, 4]);
  ctx.strokeStyle = "rgba(230,233,245,.35)";
  ctx.beginPath();
  ctx.moveTo(pad.l, y(t.open));
  ctx.lineTo(w - pad.r, y(t.open));
  ctx.stroke();
  ctx.setLineDash([]);
  const colour = t.price >= t.open ? "#ff4d5e" : "#3d8bff";
  // area
  const grad = ctx.createLinearGradient(0, pad.t, 0, h - pad.b);
  grad.addColorStop(0, t.price >= t.open ? "rgba(255,77,94,.28)" : "rgba(61,139,255,.28)");
  grad.addColorStop(1, "rgba(0,0,0,0)");
  ctx.beginPath();
  ctx.moveTo(x(pts[0].ts), h - pad.b);
  for (const p of pts) ctx.lineTo(x(p.ts), y(p.price));
  ctx.lineTo(x(pts[pts.length - 1].ts), h - pad.b);
  ctx.closePath();
  ctx.fillStyle = grad;
  ctx.fill();
  // line
  ctx.beginPath();
  pts.forEach((p, i) => (i ? ctx.lineTo(x(p.ts), y(p.price)) : ctx.moveTo(x(p.ts), y(p.price))));
  ctx.strokeStyle = colour;
  ctx.lineWidth = 1.6;
  ctx.stroke();
  // last price tag
  const ly = y(t.price);
  ctx.fillStyle = colour;
  ctx.fillRect(w - pad.r + 2, ly - 9, pad.r - 4, 18);
  ctx.fillStyle = "#fff";
  ctx.fillText(krw(t.price), w - pad.r + 6, ly + 4);
  // time axis
  ctx.fillStyle = "#8a93b8";
  const fmt = (ts) => new Date(ts).toLocaleTimeString("en-GB");
  ctx.fillText(fmt(t0), pad.l, h - 6);
  const last = fmt(t1);
  ctx.fillText(last, w - pad.r - ctx.measureText(last).width, h - 6);
}
requestAnimationFrame(draw);
window.addEventListener("resize", () => (dirty = true));

// ---- the realtime connection ----
let rateCount = 0;
setInterval(() => {
  $("rate").textContent = rateCount;
  rateCount = 0;
}, 1000);

function onTick(channel, offset, t, live) {
  const last = market.offsets[channel];
  if (last !== undefined && offset <= last) {
    market.duplicates++;
    return;
  }
  if (last !== undefined && offset > last + 1) market.gaps++;
  market.offsets[channel] = offset;
  market.latest[t.symbol] = t;
  const s = market.series[t.symbol];
  s.push({ ts: t.ts, price: t.price });
  if (s.length > MAX_POINTS) s.splice(0, s.length - MAX_POINTS);
  renderRow(t, live);
  if (t.symbol === market.selected) {
    renderQuote();
    dirty = true;
  }
}

function setStatus(text, cls) {
  const el = $("status");
  el.textContent = text;
  el.className = `status ${cls}`;
}

let backoff = 500;
function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws`);
  market.socket = ws;
  ws.onopen = () => {
    backoff = 500;
    setStatus("live", "live");
    for (const symbol of SYMBOLS) {
      const channel = `ticker:${symbol}`;
      const msg = { type: "subscribe", channel, since: market.offsets[channel] ?? 0 };
      if (market.epochs[channel]) msg.epoch = market.epochs[channel];
      ws.send(JSON.stringify(msg));
    }
  };
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.type === "message") {
      market.received++;
      rateCount++;
      $("count").textContent = market.received.toLocaleString("en");
      onTick(m.channel, m.offset, m.data, true);
    } else if (m.type === "subscribed") {
      const symbol = m.channel.slice("ticker:".length);
      if (market.epochs[m.channel] && (m.recovered === false)) {
        // The channel's history does not reach back (or it was created anew): start its series over.
        delete market.offsets[m.channel];
        market.series[symbol] = [];
      }
      market.epochs[m.channel] = m.epoch;
    } else if (m.type === "error") {
      console.warn("ferry:", m.code, m.message);
    }
  };
  ws.onclose = () => {
    market.socket = null;
    market.reconnects++;
    setStatus("reconnecting…", "down");
    setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, 5000);
  };
}
select(market.selected);
connect();

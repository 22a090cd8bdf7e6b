// A simulated KRW market: a random walk per symbol, published several times per second to
// `ticker:<SYMBOL>` through Ferry's HTTP publish API (one keep-alive connection).
import http from "node:http";

/** Symbol, name, starting price in KRW, daily volatility. */
const MARKETS = [
  ["KRW-BTC", "Bitcoin", 142_350_000, 0.018],
  ["KRW-ETH", "Ethereum", 5_120_000, 0.024],
  ["KRW-XRP", "XRP", 3_412, 0.035],
  ["KRW-SOL", "Solana", 298_700, 0.032],
  ["KRW-DOGE", "Dogecoin", 512.4, 0.045],
  ["KRW-ADA", "Cardano", 1_288, 0.038],
  ["KRW-AVAX", "Avalanche", 51_830, 0.04],
  ["KRW-LINK", "Chainlink", 32_960, 0.036],
  ["KRW-DOT", "Polkadot", 11_240, 0.037],
  ["KRW-TRX", "TRON", 391.2, 0.022],
];

/** KRW tick sizes like a Korean exchange's price units. */
function tick(price) {
  if (price >= 2_000_000) return 1000;
  if (price >= 1_000_000) return 500;
  if (price >= 500_000) return 100;
  if (price >= 100_000) return 50;
  if (price >= 10_000) return 10;
  if (price >= 1_000) return 1;
  if (price >= 100) return 0.1;
  return 0.01;
}

function round(price) {
  const t = tick(price);
  return Number((Math.round(price / t) * t).toFixed(t < 1 ? 2 : 0));
}

function gaussian() {
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

/** Starts publishing; returns a function that stops it. */
export function startMarketFeed({ port, key, host = "127.0.0.1", ticksPerSecond = 8 }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const state = MARKETS.map(([symbol, name, start, vol]) => {
    const open = round(start * (1 + gaussian() * vol * 0.6));
    return { symbol, name, vol, open, price: round(start), high: Math.max(open, start), low: Math.min(open, start), volume: 0, value: 0 };
  });
  for (const s of state) {
    s.volume = (2e10 / s.price) * (0.5 + Math.random());
    s.value = s.volume * s.price;
  }
  let stopped = false;
  const publish = (channel, data) =>
    new Promise((resolve) => {
      const req = http.request(
        { host, port, path: "/ws", method: "POST", agent, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" } },
        (res) => {
          res.resume();
          res.on("end", resolve);
        },
      );
      req.on("error", resolve);
      req.end(JSON.stringify({ channel, data }));
    });
  const step = async () => {
    if (stopped) return;
    // A few symbols move on each step; BTC and ETH move most often.
    const movers = state.filter((s, i) => Math.random() < (i < 2 ? 0.9 : 0.45));
    for (const s of movers) {
      const prev = s.price;
      const dt = 1 / (ticksPerSecond * 3600);
      s.price = Math.max(tick(prev), round(prev * Math.exp(s.vol * 6 * Math.sqrt(dt) * gaussian())));
      s.high = Math.max(s.high, s.price);
      s.low = Math.min(s.low, s.price);
      const traded = (1e7 / s.price) * Math.random() * 4;
      s.volume += traded;
      s.value += traded * s.price;
      await publish(`ticker:${s.symbol}`, {
        symbol: s.symbol,
        name: s.name,
        price: s.price,
        prev,
        open: s.open,
        change: round(s.price - s.open),
        changeRate: (s.price - s.open) / s.open,
        high: s.high,
        low: s.low,
        volume: Number(s.volume.toFixed(4)),
        value: Math.round(s.value),
        ts: Date.now(),
      });
    }
    setTimeout(step, 1000 / ticksPerSecond);
  };
  step();
  return () => {
    stopped = true;
    agent.destroy();
  };
}

import assert from "node:assert/strict";
import { test } from "node:test";
import { parseExposition } from "../../test/prometheus.js";
import { Metrics, withLabel } from "./metrics.js";

test("metrics render in the Prometheus text format and parse back with their values", () => {
  const m = new Metrics(() => [
    {
      site: "a.test",
      path: "/ws",
      connections: 3,
      channels: 2,
      messagesIn: 5,
      messagesOut: 40,
      published: 8,
      slowConsumers: 1,
      idleClosed: 0,
    },
  ]);
  m.httpRequests.inc({ site: "a.test", status: "2xx" });
  m.httpRequests.inc({ site: "a.test", status: "2xx" });
  m.httpRequests.inc({ site: 'we"ird\\site', status: "4xx" });
  for (const v of [0.0004, 0.003, 0.2, 7]) m.httpDuration.observe(v, { site: "a.test" });
  m.dnsQueries.inc({ rcode: "NXDOMAIN", transport: "udp" });
  m.dnsForwarded.inc({ result: "hit" }, 3);
  m.dnsForwarded.inc({ result: "miss" });
  const f = parseExposition(m.render());
  assert.equal(f.get("ferry_http_requests_total")!.type, "counter");
  const reqs = f.get("ferry_http_requests_total")!.samples;
  assert.equal(reqs.find((s) => s.labels.status === "2xx")!.value, 2);
  assert.equal(reqs.find((s) => s.labels.status === "4xx")!.labels.site, 'we"ird\\site');
  const h = f.get("ferry_http_request_duration_seconds")!;
  assert.equal(h.type, "histogram");
  const buckets = h.samples.filter((s) => s.name.endsWith("_bucket"));
  const le = (x: string) => buckets.find((b) => b.labels.le === x)!.value;
  assert.deepEqual([le("0.0005"), le("0.005"), le("0.25"), le("5"), le("+Inf")], [1, 2, 3, 3, 4]);
  for (let i = 1; i < buckets.length; i++)
    assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, "buckets are cumulative");
  assert.equal(h.samples.find((s) => s.name.endsWith("_count"))!.value, 4);
  assert.ok(Math.abs(h.samples.find((s) => s.name.endsWith("_sum"))!.value - 7.2034) < 1e-9);
  assert.equal(f.get("ferry_dns_forward_cache_hit_ratio")!.samples[0]!.value, 0.75);
  assert.equal(f.get("ferry_ws_connections")!.samples[0]!.value, 3);
  assert.equal(f.get("ferry_ws_slow_consumers_total")!.type, "counter");
  assert.ok(f.get("ferry_process_resident_memory_bytes")!.samples[0]!.value > 0);
});

test("withLabel adds one label to every sample, with or without labels of its own, and parses back", () => {
  const m = new Metrics(
    () => [],
    () => [],
    () => 1234,
  );
  m.httpRequests.inc({ site: 'a "b" site', status: "2xx" });
  m.httpDuration.observe(0.002, { site: "a" });
  const f = parseExposition(withLabel(m.render(), "worker", "2"));
  for (const [, family] of f)
    for (const sample of family.samples) assert.equal(sample.labels.worker, "2", sample.name);
  assert.equal(f.get("ferry_http_requests_total")!.samples[0]!.labels.site, 'a "b" site');
  assert.equal(f.get("ferry_process_resident_memory_bytes")!.samples[0]!.value, 1234);
});

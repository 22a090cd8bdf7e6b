import assert from "node:assert/strict";
import { test } from "node:test";
import { clusterSeeds } from "./cluster-url.js";

test("a redis+cluster:// URL gives its seed nodes and credentials; any other URL is not a cluster", () => {
  const cases: [string, ReturnType<typeof clusterSeeds>][] = [
    [
      "redis+cluster://127.0.0.1:7000",
      { nodes: [{ host: "127.0.0.1", port: 7000 }], username: undefined, password: undefined, tls: false },
    ],
    // A port ending in 0 is the port, not a database.
    [
      "redis+cluster://127.0.0.1:7000,127.0.0.1:7010/0",
      {
        nodes: [
          { host: "127.0.0.1", port: 7000 },
          { host: "127.0.0.1", port: 7010 },
        ],
        username: undefined,
        password: undefined,
        tls: false,
      },
    ],
    [
      "redis+cluster://:p%40ss@127.0.0.1:7000/",
      { nodes: [{ host: "127.0.0.1", port: 7000 }], username: undefined, password: "p@ss", tls: false },
    ],
    [
      "rediss+cluster://ops:pw@[::1]:7000,cache.test:7001",
      {
        nodes: [
          { host: "::1", port: 7000 },
          { host: "cache.test", port: 7001 },
        ],
        username: "ops",
        password: "pw",
        tls: true,
      },
    ],
    // Not UTF-8 once decoded: taken as written (a wrong password, never a crash).
    [
      "redis+cluster://:%FF@127.0.0.1:7000",
      { nodes: [{ host: "127.0.0.1", port: 7000 }], username: undefined, password: "%FF", tls: false },
    ],
    ["redis://127.0.0.1:6379/0", null],
    ["rediss://127.0.0.1:6379", null],
    // Cluster has one database: another is not a cluster URL (the schema refuses it).
    ["redis+cluster://127.0.0.1:7000/1", null],
  ];
  for (const [url, want] of cases) assert.deepEqual(clusterSeeds(url), want, url);
});

import assert from "node:assert/strict";
import { symlinkSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { brotliDecompressSync, gunzipSync, gzipSync } from "node:zlib";
import { get, rawExchange, startHttp, type TestServer, tmpSite } from "./helpers.js";

/**
 * The static conformance suite (hono's habit): every case runs with the
 * file cache on and off, so both ways of serving a file answer alike. A
 * second HTTP engine joins the list when it lands.
 */
const variants = [
  { name: "file cache on", fileCache: { maxFileSize: "1MiB", validity: "100ms" } },
  { name: "file cache off", fileCache: { maxSize: "0" } },
];

const big = Buffer.alloc(3 * 1024 * 1024);
for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
const css = `body { color: red; }\n${"/* padding */\n".repeat(200)}`;
const js = `console.log("hi");\n${"// more\n".repeat(300)}`;

for (const variant of variants) {
  describe(variant.name, () => {
    let site: string;
    let outside: string;
    let srv: TestServer;

    before(async () => {
      outside = tmpSite({ "secret.txt": "top secret" });
      site = tmpSite({
        "index.html": "<h1>home</h1>",
        "hello.txt": "hello world\n",
        "data.json": '{"a":1}',
        "image.png": Buffer.from([0x89, 0x50, 0x4e, 0x47]),
        "docs/index.html": "<h1>docs</h1>",
        "docs/guide.html": "guide",
        "empty/.keep": "",
        "style.css": css,
        "app.js": js,
        "app.js.gz": gzipSync(Buffer.from("precompressed gzip sibling")),
        "big.bin": big,
        ".env": "SECRET=1",
        ".git/config": "[core]",
        ".well-known/security.txt": "Contact: mailto:security@example.test",
        "a b/c&d.txt": "spaced",
        "list/b.txt": "bbb",
        "list/a.txt": "a",
        "list/<script>.txt": "xss",
        "list/sub/x.txt": "x",
        "list/.hidden": "h",
        "spa/app.html": "<div id=app></div>",
        "errors/404.html": "<h1>custom not found</h1>",
        "assets/logo.svg": "<svg/>",
      });
      symlinkSync(path.join(outside, "secret.txt"), path.join(site, "leak.txt"));
      symlinkSync(path.join(site, "hello.txt"), path.join(site, "inner-link.txt"));
      symlinkSync(outside, path.join(site, "outdir"));
      utimesSync(
        path.join(site, "hello.txt"),
        new Date("2026-01-01T00:00:00Z"),
        new Date("2026-01-01T00:00:00Z"),
      );
      srv = await startHttp({
        sites: [
          {
            root: site,
            errorPages: { "404": "/errors/404.html" },
            headers: { "X-Site": "main" },
            locations: [
              { path: "/list/", listing: true },
              { path: "/spa/", spa: "/spa/app.html" },
              {
                path: "/assets/",
                root: path.join(site, "assets"),
                cacheControl: "public, max-age=31536000, immutable",
              },
              { path: "/old/", redirect: { to: "/docs/", status: 308 } },
              { path: "/nocompress/", root: site, compress: false },
            ],
          },
        ],
        fileCache: variant.fileCache,
      });
    });

    after(() => srv.close());

    describe("files and folders", () => {
      test("index.html for /", async () => {
        const r = await get(srv.port, "/");
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), "<h1>home</h1>");
        assert.equal(r.headers["content-type"], "text/html; charset=utf-8");
        assert.equal(r.headers["x-site"], "main");
      });

      test("a folder without the slash: 301 to the slash form, path-only", async () => {
        const r = await get(srv.port, "/docs?x=1");
        assert.equal(r.status, 301);
        assert.equal(r.headers.location, "/docs/?x=1");
        const d = await get(srv.port, "/docs/");
        assert.equal(d.body.toString(), "<h1>docs</h1>");
      });

      test("no open redirect from //host or /\\host paths", async () => {
        const r = await get(srv.port, "//docs");
        assert.equal(r.status, 301);
        assert.equal(r.headers.location, "/docs/");
        // Paths are normalised before any redirect is built: the Location is always path-only.
        const evil = await get(srv.port, "//evil.test/%2e%2e/docs");
        assert.equal(evil.status, 301);
        assert.equal(evil.headers.location, "/docs/");
        for (const p of ["//evil.test", "///evil.test/"]) {
          const r = await get(srv.port, p);
          assert.equal(r.status, 404, p);
          assert.equal(r.headers.location, undefined, p);
        }
        const back = await get(srv.port, "/\\evil.test");
        assert.equal(back.status, 400);
      });

      test("MIME types, charset for text", async () => {
        assert.equal(
          (await get(srv.port, "/hello.txt")).headers["content-type"],
          "text/plain; charset=utf-8",
        );
        assert.equal(
          (await get(srv.port, "/data.json")).headers["content-type"],
          "application/json; charset=utf-8",
        );
        assert.equal((await get(srv.port, "/image.png")).headers["content-type"], "image/png");
        assert.equal((await get(srv.port, "/style.css")).headers["content-type"], "text/css; charset=utf-8");
      });

      test("percent-encoded names", async () => {
        const r = await get(srv.port, "/a%20b/c%26d.txt");
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), "spaced");
      });

      test("a file with a trailing slash is not found", async () => {
        assert.equal((await get(srv.port, "/hello.txt/")).status, 404);
      });

      test("a folder with no index and no listing is not found", async () => {
        assert.equal((await get(srv.port, "/empty/")).status, 404);
      });

      test("a large file streams whole, with a length", async () => {
        const r = await rawExchange(
          srv.port,
          "GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
          {
            timeout: 10_000,
          },
        );
        const res = r.responses[0]!;
        assert.equal(res.status, 200);
        assert.equal(Number(res.headers["content-length"]), big.length);
        assert.ok(res.body.equals(big));
      });
    });

    describe("methods", () => {
      test("HEAD is GET without a body", async () => {
        const g = await get(srv.port, "/hello.txt");
        const h = await get(srv.port, "/hello.txt", {}, "HEAD");
        assert.equal(h.status, 200);
        assert.equal(h.body.length, 0);
        for (const k of ["content-type", "content-length", "etag", "last-modified", "accept-ranges"])
          assert.equal(h.headers[k], g.headers[k], k);
      });

      test("405 with Allow for other methods; OPTIONS answers Allow", async () => {
        for (const m of ["POST", "PUT", "DELETE", "PATCH", "PROPFIND"]) {
          const r = await get(srv.port, "/hello.txt", { "Content-Length": "0" }, m);
          assert.equal(r.status, 405, m);
          assert.equal(r.headers.allow, "GET, HEAD, OPTIONS");
        }
        assert.equal((await get(srv.port, "/hello.txt", {}, "BREW")).status, 501);
        const o = await get(srv.port, "/hello.txt", {}, "OPTIONS");
        assert.equal(o.status, 204);
        assert.equal(o.headers.allow, "GET, HEAD, OPTIONS");
      });
    });

    describe("validators and conditional requests", () => {
      test("strong ETag and Last-Modified", async () => {
        const r = await get(srv.port, "/hello.txt");
        assert.match(r.headers.etag!, /^"[0-9a-f]+-[0-9a-f]+"$/);
        assert.equal(r.headers["last-modified"], "Thu, 01 Jan 2026 00:00:00 GMT");
      });

      test("304 for If-None-Match: exact, in a list, weak, and *", async () => {
        const { etag } = (await get(srv.port, "/hello.txt")).headers;
        for (const inm of [etag!, `"nope", ${etag}`, `W/${etag}`, "*"]) {
          const r = await get(srv.port, "/hello.txt", { "If-None-Match": inm });
          assert.equal(r.status, 304, inm);
          assert.equal(r.body.length, 0);
          assert.equal(r.headers.etag, etag);
        }
        assert.equal((await get(srv.port, "/hello.txt", { "If-None-Match": '"other"' })).status, 200);
      });

      test("304 for If-Modified-Since; 200 when older; INM takes precedence", async () => {
        assert.equal(
          (await get(srv.port, "/hello.txt", { "If-Modified-Since": "Thu, 01 Jan 2026 00:00:00 GMT" }))
            .status,
          304,
        );
        assert.equal(
          (await get(srv.port, "/hello.txt", { "If-Modified-Since": "Wed, 31 Dec 2025 00:00:00 GMT" }))
            .status,
          200,
        );
        const both = await get(srv.port, "/hello.txt", {
          "If-None-Match": '"x"',
          "If-Modified-Since": "Thu, 01 Jan 2026 00:00:00 GMT",
        });
        assert.equal(both.status, 200);
      });

      test("412 for a failed If-Match", async () => {
        assert.equal((await get(srv.port, "/hello.txt", { "If-Match": '"nope"' })).status, 412);
      });
    });

    describe("ranges", () => {
      test("single, open, suffix ranges and Accept-Ranges", async () => {
        const a = await get(srv.port, "/hello.txt", { Range: "bytes=0-4" });
        assert.equal(a.status, 206);
        assert.equal(a.body.toString(), "hello");
        assert.equal(a.headers["content-range"], "bytes 0-4/12");
        assert.equal(a.headers["accept-ranges"], "bytes");
        assert.equal((await get(srv.port, "/hello.txt", { Range: "bytes=6-" })).body.toString(), "world\n");
        assert.equal((await get(srv.port, "/hello.txt", { Range: "bytes=-6" })).body.toString(), "world\n");
      });

      test("an end past EOF is clamped", async () => {
        const r = await get(srv.port, "/hello.txt", { Range: "bytes=6-999" });
        assert.equal(r.status, 206);
        assert.equal(r.headers["content-range"], "bytes 6-11/12");
      });

      test("416 with bytes */SIZE when unsatisfiable", async () => {
        const r = await get(srv.port, "/hello.txt", { Range: "bytes=100-200" });
        assert.equal(r.status, 416);
        assert.equal(r.headers["content-range"], "bytes */12");
      });

      test("a range of a streamed large file", async () => {
        const r = await get(srv.port, "/big.bin", { Range: "bytes=2000000-2000099" });
        assert.equal(r.status, 206);
        assert.ok(r.body.equals(big.subarray(2_000_000, 2_000_100)));
      });

      test("If-Range honoured: matching ETag gives 206, stale gives 200", async () => {
        const { etag, "last-modified": lm } = (await get(srv.port, "/hello.txt")).headers;
        assert.equal(
          (await get(srv.port, "/hello.txt", { Range: "bytes=0-0", "If-Range": etag! })).status,
          206,
        );
        assert.equal(
          (await get(srv.port, "/hello.txt", { Range: "bytes=0-0", "If-Range": lm! })).status,
          206,
        );
        const stale = await get(srv.port, "/hello.txt", { Range: "bytes=0-0", "If-Range": '"old"' });
        assert.equal(stale.status, 200);
        assert.equal(stale.body.toString(), "hello world\n");
      });

      test("multiple ranges get the whole file", async () => {
        assert.equal((await get(srv.port, "/hello.txt", { Range: "bytes=0-1,3-4" })).status, 200);
      });
    });

    describe("compression", () => {
      test("on-the-fly brotli and gzip, distinct ETags, Vary", async () => {
        const id = await get(srv.port, "/style.css");
        const br = await get(srv.port, "/style.css", { "Accept-Encoding": "gzip, br" });
        const gz = await get(srv.port, "/style.css", { "Accept-Encoding": "gzip" });
        assert.equal(id.headers["content-encoding"], undefined);
        assert.equal(br.headers["content-encoding"], "br");
        assert.equal(gz.headers["content-encoding"], "gzip");
        assert.equal(brotliDecompressSync(br.body).toString(), css);
        assert.equal(gunzipSync(gz.body).toString(), css);
        const tags = new Set([id.headers.etag, br.headers.etag, gz.headers.etag]);
        assert.equal(tags.size, 3);
        for (const r of [id, br, gz]) assert.equal(r.headers.vary, "Accept-Encoding");
      });

      test("Vary on 206 and 304 of a negotiated resource", async () => {
        const r = await get(srv.port, "/style.css", { "Accept-Encoding": "gzip", Range: "bytes=0-3" });
        assert.equal(r.status, 206);
        assert.equal(r.headers.vary, "Accept-Encoding");
        const etag = (await get(srv.port, "/style.css", { "Accept-Encoding": "br" })).headers.etag!;
        const nm = await get(srv.port, "/style.css", { "Accept-Encoding": "br", "If-None-Match": etag });
        assert.equal(nm.status, 304);
        assert.equal(nm.headers.vary, "Accept-Encoding");
      });

      test("a precompressed .gz sibling is served as is", async () => {
        const r = await get(srv.port, "/app.js", { "Accept-Encoding": "gzip" });
        assert.equal(r.headers["content-encoding"], "gzip");
        assert.equal(gunzipSync(r.body).toString(), "precompressed gzip sibling");
        assert.equal(r.headers["content-type"], "text/javascript; charset=utf-8");
      });

      test("small and incompressible files are not compressed", async () => {
        const small = await get(srv.port, "/hello.txt", { "Accept-Encoding": "br, gzip" });
        assert.equal(small.headers["content-encoding"], undefined);
        const png = await get(srv.port, "/image.png", { "Accept-Encoding": "br, gzip" });
        assert.equal(png.headers["content-encoding"], undefined);
      });

      test("q=0 refuses a coding", async () => {
        const r = await get(srv.port, "/style.css", { "Accept-Encoding": "br;q=0, gzip;q=1" });
        assert.equal(r.headers["content-encoding"], "gzip");
      });

      test("compression off per location", async () => {
        const r = await get(srv.port, "/nocompress/style.css", { "Accept-Encoding": "br, gzip" });
        assert.equal(r.status, 200);
        assert.equal(r.headers["content-encoding"], undefined);
      });
    });

    describe("listing, error pages, SPA, locations", () => {
      test("HTML listing: escaped, sorted, folders first, no dotfiles", async () => {
        const r = await get(srv.port, "/list/");
        assert.equal(r.status, 200);
        const html = r.body.toString();
        assert.ok(html.includes("&#60;script&#62;.txt"), html);
        assert.ok(!html.includes("<script>"));
        assert.ok(!html.includes(".hidden"));
        const order = ["sub/", "&#60;script&#62;.txt", "a.txt", "b.txt"].map((s) => html.indexOf(s));
        assert.deepEqual(
          [...order].sort((x, y) => x - y),
          order,
        );
        assert.ok(order.every((i) => i > 0));
      });

      test("JSON listing with Accept: application/json", async () => {
        const r = await get(srv.port, "/list/", { Accept: "application/json" });
        assert.equal(r.headers["content-type"], "application/json; charset=utf-8");
        const j = JSON.parse(r.body.toString()) as {
          entries: { name: string; type: string; size: number }[];
        };
        assert.deepEqual(
          j.entries.map((e) => e.name),
          ["sub", "<script>.txt", "a.txt", "b.txt"],
        );
        assert.equal(j.entries.find((e) => e.name === "b.txt")!.size, 3);
      });

      test("custom error page with the error status", async () => {
        const r = await get(srv.port, "/nope.html");
        assert.equal(r.status, 404);
        assert.equal(r.body.toString(), "<h1>custom not found</h1>");
      });

      test("SPA fallback serves the app for unknown paths", async () => {
        const r = await get(srv.port, "/spa/some/client/route");
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), "<div id=app></div>");
      });

      test("Cache-Control per location; a location's own root", async () => {
        const r = await get(srv.port, "/assets/logo.svg");
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), "<svg/>");
        assert.equal(r.headers["cache-control"], "public, max-age=31536000, immutable");
        assert.equal((await get(srv.port, "/hello.txt")).headers["cache-control"], undefined);
      });

      test("redirect location with status and the rest of the path", async () => {
        const r = await get(srv.port, "/old/guide.html?v=2");
        assert.equal(r.status, 308);
        assert.equal(r.headers.location, "/docs/guide.html?v=2");
        // Methods are the location's business: a redirect answers every one (a static location only GET/HEAD).
        const post = await get(srv.port, "/old/form", {}, "POST");
        assert.equal(post.status, 308);
        assert.equal(post.headers.location, "/docs/form");
        assert.equal((await get(srv.port, "/hello.txt", {}, "POST")).status, 405);
      });
    });

    describe("security", () => {
      test("dotfiles are hidden, /.well-known/ is not", async () => {
        for (const p of ["/.env", "/.git/config", "/%2eenv", "/.git/"])
          assert.equal((await get(srv.port, p)).status, 404, p);
        const wk = await get(srv.port, "/.well-known/security.txt");
        assert.equal(wk.status, 200);
      });

      test("traversal in every encoding never leaves the root", async () => {
        const attempts = [
          "/../secret.txt",
          "/..%2fsecret.txt",
          "/%2e%2e/%2e%2e/etc/passwd",
          "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
          "/..%5c..%5cetc%5cpasswd",
          "/%252e%252e/%252e%252e/etc/passwd",
          "/docs/../../../../etc/passwd",
          "/.%2e/.%2e/etc/passwd",
          "/%c0%ae%c0%ae/etc/passwd",
          "/..\\..\\etc\\passwd",
        ];
        for (const p of attempts) {
          const r = await get(srv.port, p);
          assert.ok(r.status === 400 || r.status === 404, `${p} → ${r.status}`);
          assert.ok(!r.body.toString().includes("root:"), p);
        }
      });

      test("NUL bytes are refused", async () => {
        assert.equal((await get(srv.port, "/hello.txt%00.html")).status, 400);
      });

      test("symlinks leaving the root are refused; inside ones are served", async () => {
        assert.equal((await get(srv.port, "/leak.txt")).status, 404);
        assert.equal((await get(srv.port, "/outdir/secret.txt")).status, 404);
        assert.equal((await get(srv.port, "/inner-link.txt")).body.toString(), "hello world\n");
      });

      test("symlinks: follow allows any target", async () => {
        const s = await startHttp({ sites: [{ root: site, symlinks: "follow" }] });
        try {
          assert.equal((await get(s.port, "/leak.txt")).body.toString(), "top secret");
        } finally {
          await s.close();
        }
      });
    });

    describe("file cache", () => {
      test("a hot file is served from memory (no disk I/O) until the validity passes, then revalidated", async () => {
        const dir = tmpSite({ "f.txt": "one" });
        const s = await startHttp({ sites: [{ root: dir }], fileCache: { validity: "1h" } });
        try {
          assert.equal((await get(s.port, "/f.txt")).body.toString(), "one");
          writeFileSync(path.join(dir, "f.txt"), "two!");
          // Within the validity the cached bytes are served without looking at the disk.
          assert.equal((await get(s.port, "/f.txt")).body.toString(), "one");
        } finally {
          await s.close();
        }
        const s2 = await startHttp({ sites: [{ root: dir }], fileCache: { validity: "50ms" } });
        try {
          assert.equal((await get(s2.port, "/f.txt")).body.toString(), "two!");
          writeFileSync(path.join(dir, "f.txt"), "three");
          await new Promise((r) => setTimeout(r, 120));
          const r = await get(s2.port, "/f.txt");
          assert.equal(r.body.toString(), "three");
          assert.equal(r.headers["content-length"], "5");
        } finally {
          await s2.close();
        }
      });

      test("memory stays within maxSize", async () => {
        const files: Record<string, string> = {};
        for (let i = 0; i < 40; i++) files[`f${i}.bin`] = "x".repeat(20_000);
        const dir = tmpSite(files);
        const s = await startHttp({ sites: [{ root: dir }], fileCache: { maxSize: "200KiB" } });
        try {
          for (let i = 0; i < 40; i++) assert.equal((await get(s.port, `/f${i}.bin`)).body.length, 20_000);
          assert.ok(s.service.handler.cache.size <= 200 * 1024, String(s.service.handler.cache.size));
          assert.ok(s.service.handler.cache.size > 0);
        } finally {
          await s.close();
        }
      });
    });
  });
}

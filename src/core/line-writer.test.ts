import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { LineWriter } from "./line-writer.js";

const tmp = () => mkdtempSync(path.join(os.tmpdir(), "ferry-lines-"));

test("lines are buffered, written in order on flush and close, UTF-8 intact; big lines pass whole", () => {
  const file = path.join(tmp(), "logs", "access.log");
  const w = new LineWriter(file, () => assert.fail("no error expected"));
  const lines: string[] = [];
  for (let i = 0; i < 5000; i++) lines.push(`line ${i} é ☃ ${"x".repeat(i % 97)}\n`);
  lines.push(`${"big ".repeat(40_000)}\n`);
  for (const l of lines.slice(0, 100)) w.write(l);
  assert.equal(readFileSync(file, "utf8"), "", "nothing is written before a chunk fills or a flush");
  w.flush();
  assert.equal(readFileSync(file, "utf8"), lines.slice(0, 100).join(""));
  for (const l of lines.slice(100)) w.write(l);
  w.close();
  assert.equal(readFileSync(file, "utf8"), lines.join(""));
  w.write("after close\n");
  assert.equal(readFileSync(file, "utf8"), lines.join(""), "nothing is written after close");
});

test("reopen: after the file is moved (logrotate), new lines go to a new file of the same name", () => {
  const dir = tmp();
  const file = path.join(dir, "access.log");
  const w = new LineWriter(file, () => assert.fail("no error expected"));
  w.write("before\n");
  w.flush();
  renameSync(file, `${file}.1`);
  w.write("moved\n");
  w.reopen();
  w.write("after\n");
  w.close();
  assert.equal(readFileSync(`${file}.1`, "utf8"), "before\nmoved\n");
  assert.equal(readFileSync(file, "utf8"), "after\n");
});

test("a reopen that fails keeps the old file and reports ERR_ACCESS_LOG_REOPEN", () => {
  const dir = tmp();
  const file = path.join(dir, "access.log");
  const errors: string[] = [];
  const w = new LineWriter(file, (code, message) => errors.push(`${code} ${message}`));
  w.write("one\n");
  // The log's folder moves away and a plain file takes its name: the log cannot be opened there.
  renameSync(dir, `${dir}.gone`);
  writeFileSync(dir, "not a folder");
  w.reopen();
  w.write("two\n");
  w.close();
  assert.match(errors[0] ?? "", /^ERR_ACCESS_LOG_REOPEN cannot reopen/);
  assert.equal(readFileSync(path.join(`${dir}.gone`, "access.log"), "utf8"), "one\ntwo\n");
});

test("a full disk (/dev/full) drops the chunk, reports ERR_ACCESS_LOG_WRITE once, and never throws", () => {
  const errors: string[] = [];
  const w = new LineWriter("/dev/full", (code, message) => errors.push(`${code} ${message}`));
  for (let i = 0; i < 20_000; i++) w.write(`line ${i}\n`);
  w.flush();
  w.write("more\n");
  w.close();
  assert.equal(errors.length, 1, errors.join("\n"));
  assert.match(errors[0]!, /^ERR_ACCESS_LOG_WRITE .*ENOSPC.*bytes of log lines lost/);
});

test("a pipe whose reader is late (EAGAIN): lines wait, nothing is lost, nothing blocks", async () => {
  const out = path.join(tmp(), "late.log");
  // The reader starts after 700 ms; until then the pipe (64 KiB) fills and writes get EAGAIN.
  const reader = spawn("sh", ["-c", `sleep 0.7; cat > ${JSON.stringify(out)}`], {
    stdio: ["pipe", "ignore", "inherit"],
  });
  const fd = (reader.stdin as unknown as { _handle: { fd: number } })._handle.fd;
  const errors: string[] = [];
  const w = new LineWriter(fd, (code, message) => errors.push(`${code} ${message}`));
  const lines: string[] = [];
  for (let i = 0; i < 10_000; i++) lines.push(`late line ${i} ${"y".repeat(40)}\n`);
  const started = Date.now();
  for (const l of lines) w.write(l);
  w.flush();
  assert.ok(Date.now() - started < 500, "writing did not wait for the reader");
  await new Promise((r) => setTimeout(r, 1500));
  w.close();
  reader.stdin!.end();
  await once(reader, "exit");
  assert.deepEqual(errors, []);
  assert.equal(readFileSync(out, "utf8"), lines.join(""));
});

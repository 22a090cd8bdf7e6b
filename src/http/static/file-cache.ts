/**
 * A size-bounded in-memory cache of files: for small files the bytes and
 * their compressed variants, for every file its validators and prepared
 * headers. A hit costs no disk I/O; an entry is checked against the disk at
 * most once per `validity` and rebuilt when the file changed.
 */
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import mime from "mime-types";
import { type Coding, compressBuffer, isCompressible } from "./compress.js";

/** One way of sending a file: identity or one coding, from memory or from disk. */
export interface Representation {
  coding: Coding | null;
  etag: string;
  /** Bytes in memory, or null to stream `file`. */
  body: Buffer | null;
  /** File to stream from when `body` is null (the original or a precompressed sibling). */
  file: string;
  /** Length in bytes, or -1 when compressed on the fly (unknown until sent). */
  size: number;
}

/** What the cache knows of one file. */
export interface FileEntry {
  file: string;
  ino: number;
  size: number;
  mtimeMs: number;
  lastModified: string;
  contentType: string;
  identity: Representation;
  /** Compressed representations, best first (br before gzip). */
  variants: Representation[];
  /** Whether responses vary on Accept-Encoding. */
  negotiated: boolean;
  checkedAt: number;
  cost: number;
  ref: boolean;
  revalidating: Promise<FileEntry | null> | null;
}

/** Compression settings that shape an entry. */
export interface EntryOptions {
  compress: boolean;
  threshold: number;
  gzip: boolean;
  brotli: boolean;
}

export interface FileCacheOptions {
  maxSize: number;
  maxFileSize: number;
  validity: number;
}

const ENTRY_OVERHEAD = 512;

function etagOf(size: number, mtimeMs: number, coding: Coding | null): string {
  return `"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}${coding ? `-${coding}` : ""}"`;
}

async function siblingSize(file: string): Promise<number> {
  try {
    const s = await stat(file);
    return s.isFile() ? s.size : -1;
  } catch {
    return -1;
  }
}

/** The cache. Keys are chosen by the caller (location and file path). */
export class FileCache {
  private readonly entries = new Map<string, FileEntry>();
  private used = 0;
  readonly options: FileCacheOptions;

  constructor(options: FileCacheOptions) {
    this.options = options;
  }

  /** Bytes held now. */
  get size(): number {
    return this.used;
  }

  /** A fresh entry, or undefined when there is none or it must be checked on disk first. */
  peek(key: string, now: number): FileEntry | undefined {
    const e = this.entries.get(key);
    if (e === undefined || now - e.checkedAt > this.options.validity) return undefined;
    e.ref = true;
    return e;
  }

  /** A stale entry that may still be valid after a stat. */
  stale(key: string): FileEntry | undefined {
    return this.entries.get(key);
  }

  /**
   * Checks a stale entry against the disk; concurrent callers share one stat.
   * Resolves to the entry when unchanged, or null (and drops it) when not.
   */
  revalidate(key: string, entry: FileEntry): Promise<FileEntry | null> {
    if (entry.revalidating) return entry.revalidating;
    entry.revalidating = stat(entry.file).then(
      (s) => {
        entry.revalidating = null;
        if (s.isFile() && s.ino === entry.ino && s.size === entry.size && s.mtimeMs === entry.mtimeMs) {
          entry.checkedAt = Date.now();
          return entry;
        }
        this.delete(key);
        return null;
      },
      () => {
        entry.revalidating = null;
        this.delete(key);
        return null;
      },
    );
    return entry.revalidating;
  }

  delete(key: string): void {
    const e = this.entries.get(key);
    if (e) {
      this.entries.delete(key);
      this.used -= e.cost;
    }
  }

  /** Builds the entry for a regular file and keeps it when it fits. */
  async load(
    key: string,
    file: string,
    st: { ino: number; size: number; mtimeMs: number },
    opts: EntryOptions,
  ): Promise<FileEntry> {
    const entry = await buildEntry(file, st, opts, this.options.maxFileSize);
    if (this.options.maxSize > 0 && entry.cost <= this.options.maxSize / 4) {
      this.delete(key);
      this.evictFor(entry.cost);
      this.entries.set(key, entry);
      this.used += entry.cost;
    }
    return entry;
  }

  /** CLOCK eviction: entries hit since the last sweep get a second chance. */
  private evictFor(cost: number): void {
    let guard = this.entries.size * 2;
    while (this.used + cost > this.options.maxSize && guard-- > 0) {
      const first = this.entries.entries().next();
      if (first.done) return;
      const [key, e] = first.value;
      this.entries.delete(key);
      if (e.ref) {
        e.ref = false;
        this.entries.set(key, e);
      } else {
        this.used -= e.cost;
      }
    }
  }
}

async function buildEntry(
  file: string,
  st: { ino: number; size: number; mtimeMs: number },
  opts: EntryOptions,
  maxFileSize: number,
): Promise<FileEntry> {
  const contentType = mime.contentType(path.extname(file)) || "application/octet-stream";
  const inMemory = st.size <= maxFileSize;
  const body = inMemory ? await readFile(file) : null;
  // The file may have changed between stat and read: trust what was read.
  const size = body ? body.length : st.size;
  const identity: Representation = { coding: null, etag: etagOf(size, st.mtimeMs, null), body, file, size };
  const variants: Representation[] = [];
  const negotiated = opts.compress && isCompressible(contentType) && size >= opts.threshold;
  if (negotiated) {
    const codings: Coding[] = [];
    if (opts.brotli) codings.push("br");
    if (opts.gzip) codings.push("gzip");
    for (const coding of codings) {
      const sibling = `${file}.${coding === "br" ? "br" : "gz"}`;
      const sSize = await siblingSize(sibling);
      const etag = etagOf(size, st.mtimeMs, coding);
      if (sSize >= 0) {
        const sBody = sSize <= maxFileSize ? await readFile(sibling) : null;
        variants.push({ coding, etag, body: sBody, file: sibling, size: sBody ? sBody.length : sSize });
      } else if (body) {
        const packed = compressBuffer(body, coding);
        if (packed.length < body.length)
          variants.push({ coding, etag, body: packed, file, size: packed.length });
      } else {
        variants.push({ coding, etag, body: null, file, size: -1 });
      }
    }
  }
  let cost = ENTRY_OVERHEAD + (body?.length ?? 0);
  for (const v of variants) cost += v.body?.length ?? 0;
  return {
    file,
    ino: st.ino,
    size,
    mtimeMs: st.mtimeMs,
    lastModified: new Date(st.mtimeMs).toUTCString(),
    contentType,
    identity,
    variants,
    negotiated,
    checkedAt: Date.now(),
    cost,
    ref: false,
    revalidating: null,
  };
}

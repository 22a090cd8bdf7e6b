/**
 * Disk lookups for static locations, through the file cache: concurrent
 * misses for one file share one stat, one read and one compression (a cold
 * start or a flood of pipelined requests costs one lookup, not thousands).
 * One per config load, shared by every static location of every site.
 */
import { stat } from "node:fs/promises";
import type { HttpConfig } from "../../core/config/types.js";
import { type EntryOptions, FileCache, type FileEntry } from "./file-cache.js";

/** Why a file lookup found nothing servable. */
export type Miss = 404 | 403;

/** What a lookup found: a file, a miss, or a folder (`dir: ""` when the path lacks its trailing `/`). */
export type Found = FileEntry | Miss | { dir: string };

/** What a lookup needs from the location it is for. */
export interface LookupLocation {
  readonly index: readonly string[];
  readonly options: EntryOptions;
  /** True when `file` may be served (symlink policy). */
  inside(file: string): Promise<boolean>;
}

export class StaticFiles {
  readonly cache: FileCache;
  private readonly compression: HttpConfig["compression"];
  /** Disk lookups in flight, by cache key (and whether the path ends in `/`). */
  private readonly inflight = new Map<string, Promise<Found>>();

  constructor(config: Pick<HttpConfig, "fileCache" | "compression">) {
    this.cache = new FileCache(config.fileCache);
    this.compression = config.compression;
  }

  /** Cache options for a location that compresses (or not). */
  entryOptions(compress: boolean): EntryOptions {
    return { compress, ...this.compression };
  }

  /** Finds the file for a request path, sharing one disk lookup among concurrent requests for it. */
  lookup(loc: LookupLocation, requestPath: string, file: string, key: string): Promise<Found> {
    const k = requestPath.endsWith("/") ? `${key}/` : key;
    let p = this.inflight.get(k);
    if (p === undefined) {
      p = this.onDisk(loc, requestPath, file, key).finally(() => this.inflight.delete(k));
      this.inflight.set(k, p);
    }
    return p;
  }

  /** Finds the file on disk (or a stale cache entry still valid). */
  private async onDisk(loc: LookupLocation, requestPath: string, file: string, key: string): Promise<Found> {
    const stale = this.cache.stale(key);
    if (stale !== undefined) {
      const still = await this.cache.revalidate(key, stale);
      if (still !== null) return still;
    }
    const st = await stat(file).catch(() => null);
    if (st === null || !(await loc.inside(file))) return 404;
    if (st.isDirectory()) {
      if (!requestPath.endsWith("/")) return { dir: "" };
      for (const name of loc.index) {
        const candidate = file + name;
        const ist = await stat(candidate).catch(() => null);
        if (ist?.isFile() && (await loc.inside(candidate))) {
          return this.cache.load(key, candidate, ist, loc.options);
        }
      }
      return { dir: file };
    }
    if (!st.isFile() || requestPath.endsWith("/")) return 404;
    return this.cache.load(key, file, st, loc.options);
  }
}

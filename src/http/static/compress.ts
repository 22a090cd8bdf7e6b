import zlib from "node:zlib";

/** A content coding Ferry can send. */
export type Coding = "br" | "gzip";

const COMPRESSIBLE =
  /^(text\/|application\/(javascript|json|xml|wasm|manifest\+json|ld\+json|rss\+xml|atom\+xml|x-javascript)|image\/(svg\+xml|x-icon|vnd\.microsoft\.icon|bmp)|font\/(ttf|otf)|application\/vnd\.ms-fontobject)|\+json|\+xml/;

/** True for types that shrink when compressed (text, JSON, JS, SVG …). */
export function isCompressible(contentType: string): boolean {
  return COMPRESSIBLE.test(contentType);
}

/**
 * Picks the best coding the client accepts among `offered` (in preference
 * order), honouring q-values (`q=0` refuses). Null means identity.
 */
export function negotiateEncoding(accept: string | undefined, offered: readonly Coding[]): Coding | null {
  if (accept === undefined || accept === "" || offered.length === 0) return null;
  if (!accept.includes(";")) {
    // Fast path: a plain list such as "gzip, deflate, br".
    for (const c of offered) if (accept.includes(c) || accept.includes("*")) return c;
    return null;
  }
  const q = new Map<string, number>();
  for (const part of accept.split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    let weight = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p);
      if (m) weight = Number(m[1]);
    }
    if (name) q.set(name, weight);
  }
  let best: Coding | null = null;
  let bestQ = 0;
  for (const c of offered) {
    const w = q.get(c) ?? q.get("*") ?? 0;
    if (w > bestQ) {
      best = c;
      bestQ = w;
    }
  }
  return best;
}

/**
 * A streaming compressor for a file compressed on the fly (too large for
 * the cache): faster settings than the cache's, which compresses once.
 */
export function streamEncoder(coding: Coding): zlib.BrotliCompress | zlib.Gzip {
  return coding === "br"
    ? zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } })
    : zlib.createGzip({ level: 6 });
}

/** Compresses a whole buffer (for the file cache: done once per file version). */
export function compressBuffer(data: Buffer, coding: Coding): Buffer {
  return coding === "br"
    ? zlib.brotliCompressSync(data, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: 9,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
        },
      })
    : zlib.gzipSync(data, { level: 9 });
}

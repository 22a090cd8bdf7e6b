/** The DNS message model shared by the reader, the writer and the server. */

/** RDATA of the types Ferry knows; anything else stays opaque bytes (RFC 3597). */
export type RData =
  | { type: "a"; address: string }
  | { type: "aaaa"; address: string }
  | { type: "name"; name: string }
  | {
      type: "soa";
      mname: string;
      rname: string;
      serial: number;
      refresh: number;
      retry: number;
      expire: number;
      minimum: number;
    }
  | { type: "mx"; preference: number; exchange: string }
  | { type: "txt"; strings: Buffer[] }
  | { type: "srv"; priority: number; weight: number; port: number; target: string }
  | { type: "caa"; flags: number; tag: string; value: Buffer }
  | { type: "ds"; keyTag: number; algorithm: number; digestType: number; digest: Buffer }
  | { type: "opt"; options: { code: number; data: Buffer }[] }
  | { type: "raw"; data: Buffer };

/** A resource record. For OPT, `klass` is the UDP payload size and `ttl` holds extended rcode, version and flags. */
export interface Record {
  name: string;
  type: number;
  klass: number;
  ttl: number;
  data: RData;
}

export interface Question {
  name: string;
  type: number;
  klass: number;
}

export interface Message {
  id: number;
  /** The 16-bit flags word without the rcode bits; use `Flag` masks. */
  flags: number;
  opcode: number;
  /** The low 4 bits of the rcode (the rest lives in OPT). */
  rcode: number;
  questions: Question[];
  answers: Record[];
  authority: Record[];
  additional: Record[];
}

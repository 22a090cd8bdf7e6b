/**
 * The worker thread that runs the local CA (see ca-thread.ts): `open` opens
 * the CA in the state folder (creating the root the first time) and answers
 * its root; `issue` answers a leaf for the names asked.
 */
import { parentPort, workerData } from "node:worker_threads";
import { workerSide } from "../core/thread.js";
import { LocalCA } from "./local-ca.js";

const opening = LocalCA.open((workerData as { state: string }).state);
// Reported by the first call instead of crashing the thread.
opening.catch(() => {});

workerSide(parentPort!).serve(async (payload) => {
  const ca = await opening;
  const p = payload as { kind: "open" } | { kind: "issue"; names: string[] };
  if (p.kind === "open") return { certPath: ca.certPath, certPem: ca.certPem };
  return ca.issue(p.names);
});

/**
 * The worker thread that runs the local CA (see ca-thread.ts): it opens the
 * CA in the state folder, says so, then issues a certificate per request.
 * Messages in: `{id, names}`; out: `{ready, certPath, certPem}` or
 * `{failed}` once, then `{id, issued}` or `{id, error}` per request.
 */
import { parentPort, workerData } from "node:worker_threads";
import { LocalCA } from "./local-ca.js";

const port = parentPort!;
try {
  const ca = await LocalCA.open((workerData as { state: string }).state);
  port.postMessage({ ready: true, certPath: ca.certPath, certPem: ca.certPem });
  port.on("message", (m: { id: number; names: string[] }) => {
    ca.issue(m.names).then(
      (issued) => port.postMessage({ id: m.id, issued }),
      (err: Error) => port.postMessage({ id: m.id, error: err.message }),
    );
  });
} catch (err) {
  port.postMessage({ failed: (err as Error).message });
}

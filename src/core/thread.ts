/**
 * A worker thread asked for work by message: `call(payload)` resolves with
 * the worker's answer. The worker may also send events (anything without a
 * reply `id`), handed to `onEvent`, which may answer them: a returned
 * promise's value is posted back as `{ack, value}` (or `{ack, error}`).
 * The thread is unref'd while nothing is asked of it, so it never keeps
 * Ferry alive on its own; it does not inherit node's command-line flags.
 *
 * Protocol: in `{id, payload}` → out `{id, result}` or `{id, error}`;
 * events out `{event, ...}` → in `{ack, value}` / `{ack, error}`.
 */
import { Worker } from "node:worker_threads";

type Out = { id: number; result: unknown } | { id: number; error: string } | { event: number; data: unknown };

export class Thread {
  private next = 1;
  /** True once the worker has ended: every call is refused from then on. */
  exited = false;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly worker: Worker,
    private readonly onEvent: (data: unknown) => unknown = () => undefined,
  ) {
    worker.on("message", (m: Out) => {
      if ("event" in m) {
        this.answer(m.event, m.data);
        return;
      }
      const w = this.waiting.get(m.id);
      if (w === undefined) return;
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) this.worker.unref();
      if ("result" in m) w.resolve(m.result);
      else w.reject(new Error(m.error));
    });
    worker.on("error", (err) => this.failAll(err));
    worker.on("exit", () => {
      this.exited = true;
      this.failAll(new Error("the thread stopped"));
    });
    worker.unref();
  }

  /** Starts `url` as a worker with `workerData`. */
  static start(url: URL, workerData: unknown, onEvent?: (data: unknown) => unknown): Thread {
    return new Thread(new Worker(url, { workerData, execArgv: [] }), onEvent);
  }

  /** Asks the worker; resolves with its result, rejects with its error message. */
  call<T>(payload: unknown): Promise<T> {
    if (this.exited) return Promise.reject(new Error("the thread stopped"));
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, payload });
    });
  }

  terminate(): void {
    void this.worker.terminate();
  }

  private answer(ack: number, data: unknown): void {
    Promise.resolve()
      .then(() => this.onEvent(data))
      .then(
        (value) => this.worker.postMessage({ ack, value }),
        (err: Error) => this.worker.postMessage({ ack, error: err.message }),
      );
  }

  private failAll(err: Error): void {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}

/**
 * The worker side: `serve(handle)` answers each call with `handle(payload)`;
 * `emit(data)` sends an event to the owner and resolves with its answer.
 */
export function workerSide(port: import("node:worker_threads").MessagePort) {
  let nextEvent = 1;
  const acks = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let handler: ((payload: unknown) => Promise<unknown>) | null = null;
  port.on(
    "message",
    (m: { id?: number; payload?: unknown; ack?: number; value?: unknown; error?: string }) => {
      if (m.ack !== undefined) {
        const a = acks.get(m.ack);
        acks.delete(m.ack);
        if (m.error !== undefined) a?.reject(new Error(m.error));
        else a?.resolve(m.value);
        return;
      }
      if (m.id === undefined || handler === null) return;
      const id = m.id;
      handler(m.payload).then(
        (result) => port.postMessage({ id, result }),
        (err: Error) => port.postMessage({ id, error: err.message }),
      );
    },
  );
  return {
    serve(handle: (payload: unknown) => Promise<unknown>): void {
      handler = handle;
    },
    emit<T>(data: unknown): Promise<T> {
      const event = nextEvent++;
      return new Promise<T>((resolve, reject) => {
        acks.set(event, { resolve: resolve as (v: unknown) => void, reject });
        port.postMessage({ event, data });
      });
    },
  };
}

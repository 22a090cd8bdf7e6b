/** Errors of the HTTP layer that handlers meet (typed, with stable codes). */
import { FerryError } from "../core/errors.js";

/** A request body passed the limit the handler (or the listener's `maxBodySize`) allows: answer 413. */
export class HttpBodyTooLargeError extends FerryError {
  readonly status = 413;
  constructor(readonly limit: number) {
    super("ERR_HTTP_BODY_TOO_LARGE", `the request body is over ${limit} bytes`);
    this.name = "HttpBodyTooLargeError";
  }
}

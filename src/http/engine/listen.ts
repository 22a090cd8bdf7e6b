/** Binds a server to an address for either engine; a failure is `ERR_LISTEN` naming the address and why. */
import type net from "node:net";
import type { ListenAddress } from "../../core/config/types.js";
import { FerryError } from "../../core/errors.js";

/** Resolves to the address bound (the real port when 0 was asked for). */
export function listenOn(server: net.Server, addr: ListenAddress): Promise<ListenAddress> {
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      const why = err.code === "EADDRINUSE" ? "address already in use" : err.message;
      reject(
        new FerryError("ERR_LISTEN", `cannot listen on ${addr.host}:${addr.port}: ${why}`, { cause: err }),
      );
    });
    server.listen({ host: addr.host, port: addr.port }, () => {
      resolve({ host: addr.host, port: (server.address() as net.AddressInfo).port });
    });
  });
}

/** A Redis Cluster broker URL: its seed nodes and credentials. */
export interface ClusterSeeds {
  nodes: { host: string; port: number }[];
  username: string | undefined;
  password: string | undefined;
  tls: boolean;
}

/**
 * The seed nodes and credentials of a `redis+cluster://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT…]`
 * URL (`rediss+cluster://` for TLS; IPv6 hosts in brackets); `null` for any other URL.
 */
export function clusterSeeds(url: string): ClusterSeeds | null {
  const m = /^(rediss?)\+cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^@/]+)(?:\/0?)?$/i.exec(url);
  if (m === null) return null;
  const nodes = m[4]!.split(",").map((hostPort) => {
    const colon = hostPort.lastIndexOf(":");
    const host = hostPort.slice(0, colon);
    return { host: host.startsWith("[") ? host.slice(1, -1) : host, port: Number(hostPort.slice(colon + 1)) };
  });
  return {
    nodes,
    username: m[2] ? decoded(m[2]) : undefined,
    password: m[3] !== undefined ? decoded(m[3]) : undefined,
    tls: m[1]!.toLowerCase() === "rediss",
  };
}

/** Percent-decoded, or as written when that is not valid UTF-8 (`%FF`): a wrong password, not a crash. */
function decoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A message that breaks the wire format: the server answers FORMERR (or drops it when even the header is unreadable). */
export class DnsFormatError extends Error {
  readonly code = "ERR_DNS_FORMAT";
  constructor(message: string) {
    super(message);
    this.name = "DnsFormatError";
  }
}

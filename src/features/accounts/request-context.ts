/** Where a request came from, for the audit log and the sessions list. */
export interface RequestContext {
  ip: string | null;
  /** The client's User-Agent header (bounded), recorded on the sessions it starts. */
  userAgent?: string | null;
}

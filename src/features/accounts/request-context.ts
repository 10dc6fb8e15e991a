/** Where a request came from, for the audit log. */
export interface RequestContext {
  ip: string | null;
}

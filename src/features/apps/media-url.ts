/** Public path of a stored icon or screenshot; content-addressed, so it never changes meaning. */
export function mediaUrl(sha256: string): string {
  return `/v1/media/${sha256}`;
}

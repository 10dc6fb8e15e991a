/** Answers whether one feature still needs a stored blob (a version's package, an app's icon, …). */
export type BlobReferenceCheck = (sha256: string) => Promise<boolean>;

/**
 * Which stored blobs are still in use, asked of every feature that stores some. A feature that
 * keeps blobs adds its check when its service is built, so `gc` can never delete what a later
 * feature (store signatures, crash dumps, backups) refers to just because nobody edited a list.
 */
export class BlobReferences {
  private readonly checks = new Map<string, BlobReferenceCheck>();

  /** `owner` names the check in errors; each owner adds one check. */
  add(owner: string, check: BlobReferenceCheck): void {
    if (this.checks.has(owner)) throw new Error(`blob references of ${owner} are already registered`);
    this.checks.set(owner, check);
  }

  /** Who registered checks, for operators and tests. */
  owners(): string[] {
    return [...this.checks.keys()];
  }

  async isReferenced(sha256: string): Promise<boolean> {
    for (const check of this.checks.values()) if (await check(sha256)) return true;
    return false;
  }
}

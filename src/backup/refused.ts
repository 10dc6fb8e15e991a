/**
 * A snapshot (or a restore target) the operator has to deal with: a checksum that does not match,
 * a missing file, a DATA_DIR that is not empty. The commands answer it with exit 2 and the lines of
 * `problems`; anything else thrown is a failure of the machine (exit 1).
 */
export class SnapshotRefused extends Error {
  override readonly name = 'SnapshotRefused';

  constructor(
    readonly summary: string,
    readonly problems: readonly string[] = [],
  ) {
    super(problems.length === 0 ? summary : `${summary}\n${listed(problems)}`);
  }
}

/** At most this many problems are spelled out; a snapshot with its blobs gone could list thousands. */
const LISTED = 20;

function listed(problems: readonly string[]): string {
  const lines = problems.slice(0, LISTED).map((p) => `  - ${p}`);
  if (problems.length > LISTED) lines.push(`  - … and ${problems.length - LISTED} more`);
  return lines.join('\n');
}

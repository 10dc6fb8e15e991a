/**
 * A failure the CLI reports as one line on stderr (`mosis: <message>`) with an exit code:
 * 2 for usage and input problems, 1 for a package that fails its checks.
 */
export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(
    message: string,
    readonly exitCode: number = 2,
  ) {
    super(message);
  }
}

/** The message of an unknown thrown value, for one-line error reports. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === undefined ? error.message : `${code}: ${error.message}`;
  }
  return String(error);
}

/**
 * What a verb prints. For a person: lines on stdout (`say`) and notes about the work in progress on
 * stderr (`note`: waiting, retrying, the upload's progress). With `--json` (every verb takes it) stdout
 * carries one JSON document, the verb's result (`emit`), or `{"error": …}` when it fails, so a
 * script reads stdout and the exit code and never has to parse prose.
 */

let json = false;
let emitted = false;

export function useJsonOutput(on: boolean): void {
  json = on;
}

export function jsonOutput(): boolean {
  return json;
}

/** A line of the verb's answer for a person; nothing under --json. */
export function say(line = ''): void {
  if (!json) console.log(line);
}

/** A note on stderr about what the verb is doing; kept under --json too, where stdout is the document. */
export function note(line: string): void {
  console.error(line);
}

/** The verb's result as JSON on stdout, under --json only. */
export function emit(result: unknown): void {
  if (!json) return;
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  emitted = true;
}

/** Whether the verb's result went out: a failure after it (checks failed) adds no second document. */
export function resultEmitted(): boolean {
  return emitted;
}

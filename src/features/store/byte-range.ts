/**
 * The Range header of a download (RFC 9110 §14): one range is served as 206; several are answered
 * with the whole file (allowed by the RFC, and what a resuming device never asks for); a range that
 * cannot be read or lies past the end is 416.
 */
export type RangeAnswer = { kind: 'whole' } | { kind: 'part'; start: number; end: number } | { kind: 'unsatisfiable' };

const SPEC = /^(\d{0,15})-(\d{0,15})$/;

export function byteRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: 'whole' };
  const match = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  // Another unit is ignored, as the RFC says.
  if (!match) return { kind: 'whole' };
  // Empty elements (a trailing comma) are allowed by the RFC's list syntax.
  const specs = (match[1] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (specs.length === 0 || specs.length > 100) return { kind: 'unsatisfiable' };
  const parsed: { start: number; end: number }[] = [];
  for (const spec of specs) {
    const m = SPEC.exec(spec);
    if (!m) return { kind: 'unsatisfiable' };
    const [first, last] = [m[1] ?? '', m[2] ?? ''];
    if (first === '' && last === '') return { kind: 'unsatisfiable' };
    if (first === '') {
      // The last n bytes.
      const n = Number(last);
      if (n === 0) return { kind: 'unsatisfiable' };
      parsed.push({ start: Math.max(0, size - n), end: size - 1 });
      continue;
    }
    const start = Number(first);
    const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
    if (last !== '' && Number(last) < start) return { kind: 'unsatisfiable' };
    parsed.push({ start, end });
  }
  const satisfiable = parsed.filter((r) => r.start < size && r.start <= r.end);
  if (satisfiable.length === 0) return { kind: 'unsatisfiable' };
  if (specs.length > 1) return { kind: 'whole' };
  const only = satisfiable[0] as { start: number; end: number };
  return { kind: 'part', start: only.start, end: only.end };
}

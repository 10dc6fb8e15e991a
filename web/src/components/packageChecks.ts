/**
 * What each package-check code means and how to fix it, read from the one place it is written:
 * the table in docs/package-checks.md, bundled as text at build time (Vite's ?raw) into the chunk
 * of the pages that show findings. A code the table lacks still shows its message; a code added to
 * the doc is explained here with the next build, so the UI and the docs cannot drift apart.
 */
import checksDoc from '../../../docs/package-checks.md?raw';
import type { Finding } from '../api/types';

export type Tier = Finding['tier'];

export interface CheckExplanation {
  code: string;
  tier: Tier;
  severity: Finding['severity'];
  /** "triggered by" in the doc: when the check fires. */
  cause: string;
  /** "how to fix" in the doc. */
  fix: string;
}

/** The tiers of PACKAGE.md, in the order the checks run. */
export const TIERS: Record<Tier, { title: string; about: string }> = {
  1: { title: 'Tier 1: structure', about: 'The archive, file names, manifest and signature. Errors here block the upload.' },
  2: { title: 'Tier 2: content', about: 'Every Lua, RML and RCSS file parses; icons are what they claim. Errors here block the upload.' },
  3: { title: 'Tier 3: security analysis', about: 'What the code reaches for. Warnings never block: the reviewer reads them and may ask why.' },
};

/** The doc's table rows: `| \`code\` | tier | severity | triggered by | how to fix |`. */
function parseTable(markdown: string): Map<string, CheckExplanation> {
  const explanations = new Map<string, CheckExplanation>();
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const cells = line
      .replace(/^\|/, '')
      .replace(/\|\s*$/, '')
      .split(' | ')
      .map((cell) => cell.trim());
    const [codeCell, tierCell, severity, cause, fix] = cells;
    const code = /^`([a-z0-9_]+)`$/.exec(codeCell ?? '')?.[1];
    const tier = Number(tierCell);
    if (!code || (tier !== 1 && tier !== 2 && tier !== 3) || (severity !== 'error' && severity !== 'warning') || !cause || !fix) continue;
    explanations.set(code, { code, tier, severity, cause, fix });
  }
  return explanations;
}

const EXPLANATIONS = parseTable(checksDoc);

export function explainCheck(code: string): CheckExplanation | undefined {
  return EXPLANATIONS.get(code);
}

/** Every code the doc explains (for tests and the docs link). */
export function explainedCodes(): string[] {
  return [...EXPLANATIONS.keys()];
}

/** Findings by tier, errors before warnings, in the order the checks reported them within each. */
export function findingsByTier(findings: readonly Finding[]): { tier: Tier; findings: Finding[] }[] {
  return ([1, 2, 3] as const)
    .map((tier) => ({
      tier,
      findings: findings
        .map((finding, index) => ({ finding, index }))
        .filter(({ finding }) => finding.tier === tier)
        .sort((a, b) => (a.finding.severity === b.finding.severity ? a.index - b.index : a.finding.severity === 'error' ? -1 : 1))
        .map(({ finding }) => finding),
    }))
    .filter((group) => group.findings.length > 0);
}

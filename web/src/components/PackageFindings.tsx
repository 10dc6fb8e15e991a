/**
 * A package's check findings, grouped by tier, each with what triggers it and how to fix it
 * (from docs/package-checks.md, see packageChecks.ts). Used by the upload page (a dry run) and a
 * version's page; reviewers' pages may use it too.
 */
import { Fragment, type ReactNode } from 'react';
import type { Finding } from '../api/types';
import { explainCheck, findingsByTier, TIERS } from './packageChecks';

/** `code` spans in the doc's text become <code>, the rest stays text. */
export function withCode(text: string): ReactNode {
  return text.split('`').map((part, index) => (index % 2 === 1 ? <code key={index}>{part}</code> : <Fragment key={index}>{part}</Fragment>));
}

export function PackageFindings({ findings, headingLevel = 3, emptyText = 'No findings: every check passed without a warning.' }: { findings: readonly Finding[]; headingLevel?: 2 | 3; emptyText?: string }) {
  if (findings.length === 0) return <p className="dev-findings-none">{emptyText}</p>;
  const Heading = headingLevel === 2 ? 'h2' : 'h3';
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.length - errors;
  return (
    <div className="dev-findings">
      <p className="dev-findings-summary">
        {errors > 0 ? <span className="badge badge-danger">{errors === 1 ? '1 error' : `${errors} errors`}</span> : null}{' '}
        {warnings > 0 ? <span className="badge badge-warning">{warnings === 1 ? '1 warning' : `${warnings} warnings`}</span> : null}
      </p>
      {findingsByTier(findings).map((group) => (
        <section key={group.tier} className="dev-findings-tier" aria-labelledby={`findings-tier-${group.tier}`}>
          <Heading id={`findings-tier-${group.tier}`}>{TIERS[group.tier].title}</Heading>
          <p className="muted small">{TIERS[group.tier].about}</p>
          <ul className="dev-findings-list">
            {group.findings.map((finding, index) => (
              <FindingItem key={`${finding.code}-${index}`} finding={finding} />
            ))}
          </ul>
        </section>
      ))}
      <p className="muted small">
        Every check and its fix: <a href="/docs/package-checks">package checks</a> in the docs.
      </p>
    </div>
  );
}

function FindingItem({ finding }: { finding: Finding }) {
  const explanation = explainCheck(finding.code);
  const where = finding.file ? `${finding.file}${finding.line ? `:${finding.line}` : ''}` : null;
  return (
    <li className={`dev-finding dev-finding-${finding.severity}`}>
      <div className="dev-finding-head">
        <span className={finding.severity === 'error' ? 'badge badge-danger' : 'badge badge-warning'}>{finding.severity === 'error' ? 'Error' : 'Warning'}</span>
        <code className="dev-finding-code">{finding.code}</code>
        {where ? <code className="dev-finding-where">{where}</code> : null}
      </div>
      <p className="dev-finding-message">{finding.message}</p>
      {explanation ? (
        <dl className="dev-finding-explanation">
          <dt>Why</dt>
          <dd>{withCode(explanation.cause)}</dd>
          <dt>How to fix</dt>
          <dd>{withCode(explanation.fix)}</dd>
        </dl>
      ) : null}
    </li>
  );
}

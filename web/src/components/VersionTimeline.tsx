/**
 * A version's status timeline, from its history (GET …/versions/{version_id}/history: the domain
 * events about it, oldest first): uploaded, checked, reviewed, published, every rollout change,
 * halts (the crash guard's included), replaced by a newer version, yanked.
 */
import { Link } from 'react-router';
import type { Version, VersionHistoryEntry } from '../api/types';
import { formatBytes } from './appUpload';
import { Time } from './Time';

type Tone = 'neutral' | 'success' | 'warning' | 'danger' | 'info';

interface Step {
  key: number;
  at: string;
  tone: Tone;
  title: string;
  detail: string | null;
  by: string | null;
  link?: { to: string; label: string };
}

const str = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);
const num = (value: unknown): number | null => (typeof value === 'number' ? value : null);

function byWhom(entry: VersionHistoryEntry, version: Version): string | null {
  if (entry.data['by'] === 'crash_guard') return 'by the crash guard';
  if (entry.actor === 'owner') return 'by you';
  if (entry.actor === 'portal') return 'by the portal';
  if ((entry.type === 'version.approved' || entry.type === 'version.rejected') && version.review?.reviewer_name) return `by ${version.review.reviewer_name}`;
  return entry.type === 'version.approved' || entry.type === 'version.rejected' ? 'by a reviewer' : 'by a portal admin';
}

/** The entries as steps a person reads; the rollout's previous state says whether a change raised, lowered or resumed it. */
export function timelineSteps(entries: readonly VersionHistoryEntry[], version: Version): Step[] {
  const steps: Step[] = [];
  let percent: number | null = null;
  let halted = false;
  for (const entry of entries) {
    const d = entry.data;
    const own = d['version_id'] === version.id;
    const base = { key: entry.id, at: entry.created_at, by: byWhom(entry, version) };
    switch (entry.type) {
      case 'version.submitted':
        steps.push({ ...base, tone: 'neutral', title: 'Uploaded', detail: num(d['size']) !== null ? formatBytes(num(d['size']) ?? 0) : null });
        break;
      case 'version.checked': {
        const blocking = num(d['blocking_findings']) ?? 0;
        steps.push(
          d['status'] === 'failed'
            ? { ...base, tone: 'danger', title: 'Failed its checks', detail: blocking === 1 ? '1 blocking finding' : `${blocking} blocking findings` }
            : { ...base, tone: 'info', title: 'Passed its checks: waiting for review', detail: null },
        );
        break;
      }
      case 'version.approved':
        steps.push({ ...base, tone: 'success', title: 'Approved', detail: str(d['notes']) });
        break;
      case 'version.rejected':
        steps.push({ ...base, tone: 'danger', title: 'Rejected', detail: str(d['notes']) });
        break;
      case 'version.published':
        if (own) {
          percent = num(d['rollout_percent']);
          halted = false;
          steps.push({ ...base, tone: 'success', title: `Published on ${str(d['channel']) ?? 'a channel'} to ${percent ?? '?'} % of devices`, detail: null });
        } else {
          steps.push({
            ...base,
            tone: 'neutral',
            title: `Replaced on ${str(d['channel']) ?? 'its channel'} by a newer version`,
            detail: num(d['version_code']) !== null ? `Version code ${num(d['version_code'])} was published.` : null,
            ...(str(d['version_id']) ? { link: { to: `/apps/${version.app_id}/versions/${str(d['version_id'])}`, label: 'Open the newer version' } } : {}),
          });
        }
        break;
      case 'version.rollout_changed': {
        const nowHalted = d['halted'] === true;
        const nowPercent = num(d['rollout_percent']);
        if (nowHalted && !halted) steps.push({ ...base, tone: 'warning', title: 'Rollout halted', detail: str(d['reason']) });
        else if (!nowHalted && halted) steps.push({ ...base, tone: 'success', title: `Rollout resumed at ${nowPercent ?? '?'} %`, detail: null });
        else
          steps.push({
            ...base,
            tone: 'info',
            title: percent !== null && nowPercent !== null && nowPercent < percent ? `Rollout lowered to ${nowPercent} %` : `Rollout raised to ${nowPercent ?? '?'} %`,
            detail: null,
          });
        halted = nowHalted;
        percent = nowPercent;
        break;
      }
      case 'version.yanked':
        if (own) steps.push({ ...base, tone: 'danger', title: 'Yanked: withdrawn from the store', detail: str(d['reason']) });
        else
          steps.push({
            ...base,
            tone: 'info',
            title: 'Live again: the newer version was yanked',
            detail: str(d['reason']),
            ...(str(d['version_id']) ? { link: { to: `/apps/${version.app_id}/versions/${str(d['version_id'])}`, label: 'Open the yanked version' } } : {}),
          });
        break;
      case 'version.notes_changed':
        steps.push({ ...base, tone: 'neutral', title: 'Release notes edited', detail: null });
        break;
    }
  }
  return steps;
}

export function VersionTimeline({ entries, version }: { entries: readonly VersionHistoryEntry[]; version: Version }) {
  const steps = timelineSteps(entries, version);
  if (steps.length === 0) return <p className="muted">Nothing has happened to this version yet.</p>;
  return (
    <ol className="dev-timeline">
      {steps.map((step) => (
        <li key={step.key} className={`dev-timeline-step dev-timeline-${step.tone}`}>
          <p className="dev-timeline-title">
            <strong>{step.title}</strong>
            {step.by ? <span className="muted"> {step.by}</span> : null}
          </p>
          <p className="dev-timeline-meta muted small">
            <Time value={step.at} absolute />
          </p>
          {step.detail ? <p className="dev-timeline-detail">{step.detail}</p> : null}
          {step.link ? (
            <p className="small">
              <Link to={step.link.to}>{step.link.label}</Link>
            </p>
          ) : null}
        </li>
      ))}
    </ol>
  );
}

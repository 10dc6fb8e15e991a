import type { AppStatus, VersionStatus } from '../api/types';

/** How each status of a version or an app reads, and its colour (the word carries the meaning; colour only helps). */
const STATUSES: Record<VersionStatus | AppStatus, { label: string; tone: 'neutral' | 'info' | 'success' | 'warning' | 'danger' }> = {
  processing: { label: 'Processing', tone: 'info' },
  failed: { label: 'Failed checks', tone: 'danger' },
  pending_review: { label: 'Waiting for review', tone: 'warning' },
  approved: { label: 'Approved', tone: 'success' },
  rejected: { label: 'Rejected', tone: 'danger' },
  published: { label: 'Published', tone: 'success' },
  yanked: { label: 'Yanked', tone: 'danger' },
  draft: { label: 'Draft', tone: 'neutral' },
  suspended: { label: 'Suspended', tone: 'danger' },
};

export function statusLabel(status: VersionStatus | AppStatus): string {
  return STATUSES[status].label;
}

export function StatusBadge({ status }: { status: VersionStatus | AppStatus }) {
  const { label, tone } = STATUSES[status] ?? { label: status, tone: 'neutral' };
  return <span className={`badge badge-${tone}`}>{label}</span>;
}

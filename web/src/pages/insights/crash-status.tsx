/** A crash group's status as people read it, and the badge that shows it (the word carries the meaning; colour only helps). */
import type { CrashGroupStatus } from './types';

export const CRASH_STATUSES: Record<CrashGroupStatus, { label: string; tone: 'danger' | 'success' | 'neutral'; explain: string }> = {
  open: { label: 'Open', tone: 'danger', explain: 'Still happening, or not looked at yet.' },
  resolved: {
    label: 'Resolved',
    tone: 'success',
    explain: 'Marked fixed. A crash from a version newer than every version that crashed this way opens it again.',
  },
  ignored: { label: 'Ignored', tone: 'neutral', explain: 'Stays ignored, whatever crashes come.' },
};

export function CrashStatusBadge({ status }: { status: CrashGroupStatus }) {
  const { label, tone } = CRASH_STATUSES[status];
  return <span className={`badge badge-${tone}`}>{label}</span>;
}

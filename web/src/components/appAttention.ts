/**
 * What needs a developer's attention in an app, from its newest versions: a failed check or a
 * rejection of the newest upload, a halted rollout, an approved version waiting to be published,
 * and an app with nothing uploaded yet. Pure, so the dashboard and the overview say the same.
 */
import type { App, Version } from '../api/types';

export type AttentionTone = 'danger' | 'warning' | 'info';

export interface AttentionItem {
  key: string;
  app: App;
  version: Version | null;
  tone: AttentionTone;
  title: string;
  detail: string | null;
  /** Where to act. */
  link: string;
  linkLabel: string;
}

/** A live version: published, and not replaced on its channel by a newer one. */
export function isLive(version: Version): boolean {
  return version.status === 'published' && version.superseded_at === null;
}

export function versionName(version: Version): string {
  // A version still being checked has no number yet: the manifest is read by the checks.
  return version.version ? `${version.version} (code ${version.version_code})` : 'the new upload';
}

/** `versions`: the app's newest versions, newest upload first (GET /v1/apps/{app_id}/versions). */
export function attentionFor(app: App, versions: readonly Version[]): AttentionItem[] {
  const items: AttentionItem[] = [];
  const base = `/apps/${app.id}`;
  const versionLink = (v: Version) => `${base}/versions/${v.id}`;
  if (versions.length === 0) {
    items.push({
      key: `${app.id}:empty`,
      app,
      version: null,
      tone: 'info',
      title: 'No version uploaded yet',
      detail: 'Upload a signed package: its checks run at once, then a reviewer looks at it.',
      link: `${base}/versions/new`,
      linkLabel: 'Upload a version',
    });
    return items;
  }
  const newest = versions[0];
  if (newest?.status === 'failed') {
    const errors = newest.checks.filter((f) => f.severity === 'error').length;
    items.push({
      key: `${newest.id}:failed`,
      app,
      version: newest,
      tone: 'danger',
      title: `Version ${versionName(newest)} failed its checks`,
      detail: `${errors === 1 ? '1 blocking finding' : `${errors} blocking findings`}: fix the package and upload it again.`,
      link: versionLink(newest),
      linkLabel: 'See the findings',
    });
  }
  if (newest?.status === 'rejected') {
    items.push({
      key: `${newest.id}:rejected`,
      app,
      version: newest,
      tone: 'danger',
      title: `Version ${versionName(newest)} was rejected in review`,
      detail: newest.review?.notes ? `Reviewer's notes: ${newest.review.notes}` : null,
      link: versionLink(newest),
      linkLabel: 'Read the review',
    });
  }
  for (const version of versions) {
    if (isLive(version) && version.rollout?.halted) {
      items.push({
        key: `${version.id}:halted`,
        app,
        version,
        tone: 'warning',
        title: `The rollout of ${versionName(version)} is halted`,
        detail: version.rollout.halt_reason,
        link: versionLink(version),
        linkLabel: 'Resume or yank',
      });
    }
  }
  // An approved version newer than anything live: the developer only has to publish it.
  const newestLiveCode = Math.max(0, ...versions.filter(isLive).map((v) => v.version_code));
  for (const version of versions) {
    if (version.status === 'approved' && version.version_code > newestLiveCode) {
      items.push({
        key: `${version.id}:approved`,
        app,
        version,
        tone: 'info',
        title: `Version ${versionName(version)} is approved and ready to publish`,
        detail: version.review?.notes ? `Reviewer's notes: ${version.review.notes}` : null,
        link: versionLink(version),
        linkLabel: 'Publish it',
      });
    }
  }
  return items;
}

export function formatPercent(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined) return '—';
  return `${value.toFixed(value === 100 ? 0 : digits)} %`;
}

export const numberFormat = new Intl.NumberFormat();

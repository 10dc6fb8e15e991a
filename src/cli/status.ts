import type { components } from '@mosis/api-client';
import type { Command } from 'commander';
import { CliError } from './errors.js';
import { emit, say } from './output.js';
import { call, connect, type PortalSession } from './portal.js';
import { eachPage, findApp } from './publish.js';

/** `mosis status [package]`: your apps, or one app's versions with their review state and rollout. */

type Version = components['schemas']['Version'];
type App = components['schemas']['App'];

/** The newest versions shown for one app; the web UI has the full history. */
const VERSIONS_SHOWN = 20;

interface StatusOptions {
  portal?: string;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show your apps, or one app\'s versions: review state, channel and rollout')
    .argument('[package]', 'the app\'s id, e.g. com.example.notes (default: every app)')
    .option('--portal <url>', 'the portal (default: the one you signed in to)')
    .action(async (packageId: string | undefined, options: StatusOptions) => {
      await statusCommand(packageId, options);
    });
}

export async function statusCommand(packageId: string | undefined, options: StatusOptions): Promise<void> {
  const session = await connect(options.portal);
  if (packageId === undefined) return listApps(session);
  const app = await findApp(session, packageId);
  if (app === null) throw new CliError(`${packageId} is not one of your apps on ${session.url}`);
  const page = await call(session, session.api.GET('/v1/apps/{app_id}/versions', { params: { path: { app_id: app.id }, query: { limit: VERSIONS_SHOWN } } }));
  say(`${app.name} (${app.package_id}): ${app.status}`);
  if (page.items.length === 0) say('No versions yet: `mosis publish` uploads the first.');
  else table(['VERSION', 'CODE', 'STATUS', 'REVIEW', 'CHANNEL', 'ROLLOUT', 'UPLOADED'], page.items.map(versionRow));
  emit({ portal: session.url, app, versions: page.items });
}

async function listApps(session: PortalSession): Promise<void> {
  const apps: App[] = [];
  await eachPage(async (cursor) => {
    const page = await call(session, session.api.GET('/v1/apps', { params: { query: { limit: 100, ...(cursor === undefined ? {} : { cursor }) } } }));
    apps.push(...page.items);
    return page;
  });
  if (apps.length === 0) say(`No apps on ${session.url} yet: \`mosis publish\` in an app folder creates one.`);
  else table(['PACKAGE', 'NAME', 'STATUS', 'UPDATED'], apps.map((app) => [app.package_id, app.name, app.status, app.updated_at.slice(0, 16).replace('T', ' ')]));
  emit({ portal: session.url, apps });
}

function versionRow(version: Version): string[] {
  const review = version.review === null ? '-' : `${version.review.decision === 'approve' ? 'approved' : 'rejected'}${version.review.reviewer_name === null ? '' : ` by ${version.review.reviewer_name}`}`;
  const rollout = version.rollout_percent === null ? '-' : `${version.rollout_percent}%${version.rollout?.halted === true ? ' (halted)' : ''}`;
  return [version.version, String(version.version_code), version.status, review, version.channel ?? '-', rollout, version.created_at.slice(0, 16).replace('T', ' ')];
}

/** Columns padded to their widest cell: readable in a terminal, splittable on runs of spaces. */
function table(header: string[], rows: string[][]): void {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  for (const row of [header, ...rows]) say(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd());
}

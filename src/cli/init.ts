import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { validateManifest } from '../package/index.js';
import { CliError, describeError } from './errors.js';
import { isMissing } from './home.js';
import { sampleApp, sampleManifest } from './sample-app.js';
import { emit, say } from './output.js';

interface InitOptions {
  id?: string;
  name?: string;
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create a sample app that passes every package check')
    .argument('[dir]', 'folder to create (must be new or empty)', '.')
    .option('--id <id>', 'app id, reverse-domain (default: com.example.<folder name>)')
    .option('--name <name>', 'display name (default: the folder name)')
    .action(async (dir: string, options: InitOptions) => {
      await initApp(dir, options);
    });
}

export async function initApp(dir: string, options: InitOptions): Promise<void> {
  const target = path.resolve(dir);
  await assertEmptyOrMissing(target, dir);
  const folderName = path.basename(target);
  const id = options.id ?? defaultId(folderName);
  const name = options.name ?? defaultName(folderName);

  // The same rules as the portal, so a bad --id or --name fails now rather than at the first upload.
  const problems = validateManifest(sampleManifest({ id, name })).findings.filter((finding) => finding.severity === 'error');
  if (problems.length > 0) throw new CliError(`cannot create the app: ${problems.map((finding) => finding.message).join('; ')}`);

  const files = sampleApp({ id, name });
  for (const file of files) {
    const destination = path.join(target, ...file.path.split('/'));
    await mkdir(path.dirname(destination), { recursive: true });
    // 'wx' so a file created meanwhile by something else is never overwritten.
    await writeFile(destination, file.data, { flag: 'wx' });
  }

  const shown = path.relative(process.cwd(), target) || '.';
  say(`Created ${name} (${id}) in ${shown}:`);
  for (const file of files) say(`  ${file.path}`);
  say();
  say('Next: `mosis keys generate` (once per machine), then `mosis publish` in the app folder (`mosis build` to check it first).');
  emit({ id, name, folder: target, files: files.map((file) => file.path) });
}

async function assertEmptyOrMissing(target: string, given: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(target);
  } catch (error) {
    if (isMissing(error)) return;
    if (error instanceof Error && (error as NodeJS.ErrnoException).code === 'ENOTDIR') throw new CliError(`${given} is a file, not a folder`);
    throw new CliError(`cannot read ${given}: ${describeError(error)}`);
  }
  if (entries.length > 0) throw new CliError(`${given} is not empty; run \`mosis init\` with a new or empty folder`);
}

/** `My Notes!` → `com.example.mynotes`: ids allow only lowercase letters, digits and periods. */
function defaultId(folderName: string): string {
  const slug = folderName.toLowerCase().replace(/[^a-z0-9]/g, '');
  return `com.example.${slug === '' ? 'app' : slug}`;
}

function defaultName(folderName: string): string {
  const name = folderName.trim().slice(0, 50);
  return name === '' ? 'My Mosis App' : name;
}

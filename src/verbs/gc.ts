import type { Config } from '../config/index.js';
import type { Verb } from './verb.js';
import { withCore } from './with-core.js';

export const gcVerb: Verb = {
  name: 'gc',
  summary: 'delete stored packages and images nothing refers to any more',
  usage: 'mosis-portal gc',
  help: `Deletes blobs (packages, icons, screenshots) no row refers to and that are older than an hour
(a younger one may belong to an upload in progress). A daily job does the same.`,
  run: (config) => gc(config),
};

async function gc(config: Config): Promise<void> {
  const [{ GC_GRACE_MS }, { collectGarbage }] = await Promise.all([import('../core.js'), import('../storage/index.js')]);
  await withCore(config, async (core) => {
    const result = await collectGarbage(core.blobs, (sha256) => core.blobReferences.isReferenced(sha256), { graceMs: GC_GRACE_MS, now: core.clock.now() });
    console.log(`Deleted ${result.deleted} unreferenced blob(s); kept ${result.kept} in use and ${result.tooYoung} younger than an hour.`);
  });
}

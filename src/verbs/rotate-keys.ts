import { parseArgs } from 'node:util';
import type { Config } from '../config/index.js';
import type { Verb } from './verb.js';
import { withCore } from './with-core.js';

export const rotateKeysVerb: Verb = {
  name: 'rotate-keys',
  summary: 'add a new access-token (or, with --store, store) signing key',
  usage: 'mosis-portal rotate-keys [--store]',
  help: `Adds a new access-token signing key; older keys keep verifying until their tokens expire.
With --store: adds a new store signing key instead; the older ones stay published, so every store
signature made with them still verifies. Running servers pick new keys up within seconds.`,
  run: (config, args) => rotateKeys(config, args),
};

async function rotateKeys(config: Config, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { store: { type: 'boolean', default: false } }, strict: true });
  if (values.store) {
    const { StoreKeys } = await import('../features/review/index.js');
    const { keyId, published } = await withCore(config, (core) => StoreKeys.rotate(config.dataDir, core.clock));
    console.log(`New store signing key ${keyId}; it signs versions approved from now on (running servers pick it up within seconds).`);
    console.log(`${published} store key(s) are published at /.well-known/mosis-store-keys.json.`);
    return;
  }
  const { AccessTokens } = await import('../features/accounts/index.js');
  const { kid, dropped } = await withCore(config, (core) => AccessTokens.rotate(config.dataDir, core.clock));
  console.log(`New access-token signing key ${kid}; running servers pick it up within seconds.`);
  if (dropped.length > 0) console.log(`Removed retired keys whose tokens have all expired: ${dropped.join(', ')}`);
}

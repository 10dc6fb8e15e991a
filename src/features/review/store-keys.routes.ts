import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { FeatureRoutes } from '../../http/feature-routes.js';
import type { StoreKeys } from './store-keys.js';

const storeKeysResponse = z.object({
  keys: z.array(
    z.object({
      key_id: z.string().describe('Lowercase hex SHA-256 of the raw public key'),
      alg: z.literal('Ed25519'),
      public_key: z.string().describe('Base64 of the raw 32-byte Ed25519 public key'),
      active: z.boolean().describe('Signs newly approved versions; the others only verify'),
      created_at: z.string(),
      retired_at: z.string().nullable(),
    }),
  ),
});

/** GET /.well-known/mosis-store-keys.json: what devices verify store signatures with. Public. */
export const storeKeysRoutes: FeatureRoutes<{ storeKeys: StoreKeys }> = (app, { core }) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/.well-known/mosis-store-keys.json',
    {
      schema: {
        tags: ['store'],
        summary: "The store's Ed25519 public keys, oldest first",
        description: 'A device verifies the store signature of a version (PACKAGE.md, "Store signature") with the key its key_id names. Retired keys stay listed: what they signed still verifies.',
        response: { 200: storeKeysResponse },
      },
    },
    async (_request, reply) => {
      // Short: a rotation reaches devices within minutes, and the list is tiny.
      void reply.header('cache-control', 'public, max-age=300');
      return { keys: await core.storeKeys.published() };
    },
  );
};

import { z } from 'zod';
import { API_KEY_SCOPES } from '../../shared/index.js';

export const createApiKeyBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    scopes: z.array(z.enum(API_KEY_SCOPES)).min(1).max(API_KEY_SCOPES.length),
    expires_at: z.iso.datetime({ offset: true }).optional().describe('When the key stops working; absent means never, or, for a key created with an API key, when that key expires (a later time is refused)'),
    app_ids: z.array(z.string().min(1).max(64)).min(1).max(100).optional().describe('Restrict the key to these apps of yours'),
  })
  .strict();

export const apiKeyParams = z.object({ id: z.string().min(1).max(64) });

export const apiKeyResponse = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string().describe('The first characters of the key; the key itself is shown only once'),
    scopes: z.array(z.enum(API_KEY_SCOPES)),
    app_ids: z.array(z.string()).nullable(),
    expires_at: z.string().nullable(),
    last_used_at: z.string().nullable(),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
  })
  .meta({ id: 'ApiKey' });

export const createdApiKeyResponse = apiKeyResponse.extend({ key: z.string().describe('The key; shown only in this answer') }).meta({ id: 'CreatedApiKey' });

export type CreateApiKeyInput = z.infer<typeof createApiKeyBody>;
export type ApiKeyResponse = z.infer<typeof apiKeyResponse>;
export type CreatedApiKeyResponse = z.infer<typeof createdApiKeyResponse>;

import { z } from 'zod';
import { API_KEY_SCOPES } from '../../shared/index.js';

// Not strict: RFC 6749 clients may send parameters this portal has no use for (client_id), and must be ignored, not refused.
export const deviceCodeBody = z.object({
  client_id: z.string().max(100).optional().describe('Ignored: the portal has no registered clients'),
  client_name: z.string().max(100).optional().describe('Shown on the approval page and as the API key\'s name, e.g. "mosis CLI on build-box"'),
  scope: z.string().max(500).optional().describe('Space-separated API key scopes'),
});

export const deviceCodeResponse = z.object({
  device_code: z.string().describe('The secret the client polls with'),
  user_code: z.string().describe('What the person enters at verification_uri, e.g. BCDF-GHJK'),
  verification_uri: z.string(),
  verification_uri_complete: z.string().describe('verification_uri with the code filled in'),
  expires_in: z.number().int().describe('Seconds the code lasts'),
  interval: z.number().int().describe('Seconds to wait between polls'),
});

export const deviceTokenBody = z.object({
  grant_type: z.string().max(100),
  device_code: z.string().min(1).max(200),
  client_id: z.string().max(100).optional(),
});

export const deviceTokenResponse = z.object({
  access_token: z.string().describe('A new API key (mk_live_…): send it as Authorization: Bearer'),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().describe('Seconds until the key expires'),
  scope: z.string().describe('Space-separated scopes of the key'),
  key_id: z.string().describe('The key\'s id in the API keys list'),
});

export const deviceGrantErrorResponse = z
  .object({
    error: z.enum(['invalid_request', 'invalid_scope', 'unsupported_grant_type', 'invalid_grant', 'authorization_pending', 'slow_down', 'access_denied', 'expired_token']),
    error_description: z.string(),
  })
  .describe('An RFC 6749 §5.2 / RFC 8628 §3.5 error');

const userCode = z.string().trim().min(1).max(32).describe('The code the client showed, with or without its dash, any case');

export const deviceLookupQuery = z.object({ user_code: userCode });

export const deviceDecisionBody = z.object({ user_code: userCode }).strict();

export const deviceRequestResponse = z.object({
  user_code: z.string(),
  client_name: z.string(),
  scopes: z.array(z.enum(API_KEY_SCOPES)),
  requested_from: z.string().nullable().describe('The IP address the client asked from'),
  created_at: z.string(),
  expires_at: z.string(),
});

export const deviceLookupResponse = deviceRequestResponse.extend({
  from_your_address: z.boolean().describe('Whether the client asked from the address this look-up comes from; a request from elsewhere deserves a second look'),
});

export const revokeBody = z.object({
  token: z.string().min(1).max(200),
  token_type_hint: z.string().max(50).optional(),
});

export const revokedResponse = z.object({}).describe('Revoked, or there was nothing to revoke');

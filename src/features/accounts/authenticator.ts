import type { FastifyRequest } from 'fastify';
import type { Db } from '../../db/index.js';
import { credentialOf, type Authenticator } from '../../http/auth.js';
import { errors, type Actor } from '../../shared/index.js';
import type { AccessTokens } from './access-tokens.js';
import { findUserById } from './accounts.repository.js';

/**
 * Access JWTs. The user row is read on every request so that a suspension or a role change takes
 * effect at once rather than when the 15-minute token runs out.
 */
export function tokenAuthenticator(db: Db, tokens: AccessTokens): Authenticator {
  return {
    async authenticate(request: FastifyRequest): Promise<Actor | null> {
      const credential = credentialOf(request);
      if (credential === null) return null;
      const claims = await tokens.verify(credential);
      const user = await findUserById(db, claims.userId);
      if (!user || user.status !== 'active') throw errors.unauthorized('The access token is invalid or expired.');
      return { userId: user.id, role: user.role, scopes: null };
    },
  };
}

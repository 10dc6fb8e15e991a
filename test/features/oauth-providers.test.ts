import { describe, expect, it } from 'vitest';
import { startPortal } from '../support/portal.js';

// The sign-in page offers a button only for the providers this portal has set up.
describe('GET /v1/auth/oauth/providers', () => {
  it('lists none on a portal without OAuth, and exactly the configured ones otherwise, to anyone', async () => {
    const plain = await startPortal('sqlite');
    try {
      const res = await plain.portal.app.inject({ method: 'GET', url: '/v1/auth/oauth/providers' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ providers: [] });
    } finally {
      await plain.stop();
    }
    const env = { GITHUB_CLIENT_ID: 'gh-client', GITHUB_CLIENT_SECRET: 'gh-secret', GOOGLE_CLIENT_ID: 'g-client', GOOGLE_CLIENT_SECRET: 'g-secret' };
    const configured = await startPortal('sqlite', env);
    try {
      const res = await configured.portal.app.inject({ method: 'GET', url: '/v1/auth/oauth/providers' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ providers: ['github', 'google'] });
      // Names only: no client id or secret leaves the portal.
      expect(res.body).not.toMatch(/client|secret/);
    } finally {
      await configured.stop();
    }
  });
});

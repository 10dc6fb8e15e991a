import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { TestPortal } from './portal.js';

let counter = 0;

export interface TestUser {
  id: string;
  email: string;
  accessToken: string;
  refreshToken: string;
  auth: { authorization: string };
}

export const PASSWORD = 'correct horse battery staple';

/** Registers a new developer through the API, signs them in and returns their tokens. */
export async function registerUser(portal: TestPortal, name = 'Dev'): Promise<TestUser> {
  counter += 1;
  const email = `${name.toLowerCase().replace(/\W/g, '')}${counter}-${Date.now()}@example.com`;
  const res = await portal.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password: PASSWORD, name } });
  expect(res.statusCode, res.body).toBe(202);
  // Sign-up answers the same for any address and starts no session: the new account signs in.
  const login = await portal.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD } });
  expect(login.statusCode, login.body).toBe(200);
  const body = login.json<{ user: { id: string }; access_token: string; refresh_token: string }>();
  return {
    id: body.user.id,
    email,
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    auth: { authorization: `Bearer ${body.access_token}` },
  };
}

export async function createApp(portal: TestPortal, user: TestUser, packageId: string, extra: Record<string, unknown> = {}): Promise<{ id: string; package_id: string }> {
  const res = await portal.app.inject({ method: 'POST', url: '/v1/apps', headers: user.auth, payload: { package_id: packageId, name: 'Notes', ...extra } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

/** Asserts an RFC 9457 problem answer with the given status and code; returns its body. */
export function expectProblem(res: LightMyRequestResponse | { statusCode: number; headers: Record<string, unknown>; body: string }, status: number, code: string): Record<string, unknown> {
  expect(res.statusCode, res.body).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  expect(body).toMatchObject({ status, code, type: expect.any(String), title: expect.any(String), detail: expect.any(String), request_id: expect.any(String) });
  return body;
}

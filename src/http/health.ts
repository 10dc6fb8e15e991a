import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';

/** A named readiness check: resolves when the dependency is usable, throws with the reason when not. */
export type ReadinessCheck = [name: string, check: () => Promise<void>];

const readiness = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.record(z.string(), z.object({ ok: z.boolean() })),
});

/**
 * /healthz says the process is alive (for restarts); /readyz says it can serve (for load
 * balancers): database reachable, migrations applied, data directories writable. /readyz is
 * public, so it names the failing check and nothing more: the reason (a path, a host, a driver's
 * message) goes to the log.
 */
export function healthRoutes(app: FastifyInstance, checks: readonly ReadinessCheck[]): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['operations'];

  r.get('/healthz', { logLevel: 'warn', schema: { tags, summary: 'Liveness', response: { 200: z.object({ status: z.literal('ok') }) } } }, () => ({
    status: 'ok' as const,
  }));

  r.get('/readyz', { logLevel: 'warn', schema: { tags, summary: 'Readiness', response: { 200: readiness, 503: readiness } } }, async (request, reply) => {
    type Outcome = [string, { ok: boolean }];
    const results = await Promise.all(
      checks.map(async ([name, check]): Promise<Outcome> => {
        try {
          await check();
          return [name, { ok: true }];
        } catch (err) {
          request.log.warn({ check: name, err }, 'readiness check failed');
          return [name, { ok: false }];
        }
      }),
    );
    const ready = results.every(([, r]) => r.ok);
    const body: z.infer<typeof readiness> = { status: ready ? 'ready' : 'not_ready', checks: Object.fromEntries(results) };
    return reply.code(ready ? 200 : 503).send(body);
  });
}

import type { FastifyInstance } from 'fastify';
import createRouter, { type HTTPMethod } from 'find-my-way';

/**
 * A shadow of the routes, used only to tell a 405 (the path exists under other methods) from a
 * 404. Fastify answers both as "not found", which misleads API clients.
 */
export function trackRoutes(app: FastifyInstance): (url: string) => string[] {
  const router = createRouter();
  const methods = new Set<HTTPMethod>();
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat() as HTTPMethod[]) {
      if (method === 'HEAD') continue;
      // Duplicate registrations (e.g. the same URL under a prefix) are harmless here.
      if (!router.hasRoute(method, route.url)) router.on(method, route.url, () => undefined);
      methods.add(method);
    }
  });
  return (url) => {
    const pathOnly = url.split('?')[0] ?? url;
    return [...methods].filter((m) => router.find(m, pathOnly) !== null).sort();
  };
}

import type { FastifyInstance } from 'fastify';
import createRouter, { type HTTPMethod } from 'find-my-way';

/** One registered route: its method and its URL pattern as registered (`/v1/apps/:app_id`). */
export interface RouteEntry {
  method: HTTPMethod;
  url: string;
}

const tables = new WeakMap<FastifyInstance, RouteEntry[]>();

/**
 * Every route registered on an app built by createServer (HEAD aside), in registration order,
 * read from Fastify itself. The ownership (IDOR) matrix test walks it, so a new route is covered
 * the day it is added.
 */
export function routeTable(app: FastifyInstance): readonly RouteEntry[] {
  return tables.get(app) ?? [];
}

/**
 * A shadow of the routes, used only to tell a 405 (the path exists under other methods) from a
 * 404. Fastify answers both as "not found", which misleads API clients.
 */
export function trackRoutes(app: FastifyInstance): (url: string) => string[] {
  const router = createRouter();
  const methods = new Set<HTTPMethod>();
  const table: RouteEntry[] = [];
  tables.set(app, table);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat() as HTTPMethod[]) {
      if (method === 'HEAD') continue;
      // Duplicate registrations (e.g. the same URL under a prefix) are harmless here.
      if (!router.hasRoute(method, route.url)) {
        router.on(method, route.url, () => undefined);
        table.push({ method, url: route.url });
      }
      methods.add(method);
    }
  });
  return (url) => {
    const pathOnly = url.split('?')[0] ?? url;
    return [...methods].filter((m) => router.find(m, pathOnly) !== null).sort();
  };
}

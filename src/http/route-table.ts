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
  const table: RouteEntry[] = [];
  const seen = new Set<string>();
  tables.set(app, table);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat() as HTTPMethod[]) {
      // Duplicate registrations (e.g. the same URL under a prefix) are harmless here.
      const key = `${method} ${route.url}`;
      if (method === 'HEAD' || seen.has(key)) continue;
      seen.add(key);
      table.push({ method, url: route.url });
    }
  });
  // Built at the first request no route answers, not at start: two hundred routes cost a router
  // a tenth of a second to build, and most processes never need it.
  let router: { find: (method: HTTPMethod, path: string) => unknown; methods: HTTPMethod[] } | undefined;
  const shadow = () => {
    if (!router) {
      const built = createRouter();
      for (const { method, url } of table) if (!built.hasRoute(method, url)) built.on(method, url, () => undefined);
      router = { find: (method, path) => built.find(method, path), methods: [...new Set(table.map((r) => r.method))] };
    }
    return router;
  };
  return (url) => {
    const pathOnly = url.split('?')[0] ?? url;
    const { find, methods } = shadow();
    return methods.filter((m) => find(m, pathOnly) !== null).sort();
  };
}

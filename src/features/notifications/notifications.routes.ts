import type { FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, requireUser, type Authenticator } from '../../http/auth.js';
import type { FeatureRoutes } from '../../http/feature-routes.js';
import { JSON_BODY, PAGED, problemsOf, USER_ONLY, USER_ONLY_WRITE } from '../../http/schemas.js';
import { escapeHtml } from './mail-templates.js';
import { notificationsErrors } from './notifications.errors.js';
import {
  notificationsPage,
  notificationsQuery,
  preferencesBody,
  preferencesResponse,
  readBody,
  readResponse,
  unreadResponse,
  unsubscribeQuery,
} from './notifications.schemas.js';
import type { NotificationsService } from './notifications.service.js';

const problems = problemsOf(notificationsErrors);

/**
 * /v1/notifications: a person's own in-app notifications and email preferences (signed in as
 * themselves: they are personal, no API key scope covers them), and the unsubscribe links of mail.
 */
export const notificationsRoutes: FeatureRoutes<{ notifications: NotificationsService; auth: Authenticator }> = (app, { core }) => {
  const { notifications } = core;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const guard = requireUser(core.auth);
  const tags = ['notifications'];
  const security = [{ bearer: [] }];

  r.get(
    '/v1/notifications',
    {
      preHandler: guard,
      schema: {
        tags,
        security,
        summary: 'My notifications, newest first',
        description: 'Kept 90 days. `unread=true` lists only unread ones; `unread_count` counts all unread.',
        querystring: notificationsQuery,
        response: { 200: notificationsPage, ...problems(...USER_ONLY, ...PAGED) },
      },
    },
    (request) => notifications.list(actorOf(request).userId, request.query),
  );

  r.get(
    '/v1/notifications/unread-count',
    { preHandler: guard, schema: { tags, security, summary: 'How many of my notifications are unread', response: { 200: unreadResponse, ...problems(...USER_ONLY) } } },
    (request) => notifications.unreadCount(actorOf(request).userId),
  );

  r.post(
    '/v1/notifications/read',
    {
      preHandler: guard,
      schema: {
        tags,
        security,
        summary: 'Mark notifications read',
        description: '`{ids: [...]}` (at most 100) or `{all: true}`. Ids that are not the caller\'s are ignored.',
        body: readBody,
        response: { 200: readResponse, ...problems(...USER_ONLY_WRITE, ...JSON_BODY) },
      },
    },
    (request) => notifications.markRead(actorOf(request).userId, request.body),
  );

  r.get(
    '/v1/notifications/preferences',
    { preHandler: guard, schema: { tags, security, summary: 'Which kinds of notification I also get by email', response: { 200: preferencesResponse, ...problems(...USER_ONLY) } } },
    (request) => notifications.preferences(actorOf(request).userId),
  );

  r.put(
    '/v1/notifications/preferences',
    {
      preHandler: guard,
      schema: {
        tags,
        security,
        summary: 'Turn email on or off per kind',
        description: 'Kinds left out keep their setting; all false means no notification email at all. Account mail (verification, password reset) is always sent.',
        body: preferencesBody,
        response: { 200: preferencesResponse, ...problems(...USER_ONLY_WRITE, ...JSON_BODY) },
      },
    },
    (request) => notifications.setPreferences(actorOf(request).userId, request.body),
  );

  // The link in every notification mail. GET only shows a confirmation (mail scanners open links);
  // POST unsubscribes: the page's button, or a mail client's one-click unsubscribe (RFC 8058).
  app.register((scope, _options, done) => {
    // One-click unsubscribe posts `List-Unsubscribe=One-Click` form-encoded; the token is in the URL.
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 }, (_request, _body, parsed) => parsed(null, {}));
    const s = scope.withTypeProvider<ZodTypeProvider>();
    s.get(
      '/v1/notifications/unsubscribe',
      {
        schema: {
          tags,
          summary: 'The page an unsubscribe link opens',
          description: 'An HTML page naming the kind of mail, with a button that unsubscribes.',
          querystring: unsubscribeQuery,
          response: { 200: z.unknown().meta({ description: 'An HTML page' }), ...problems('validation_failed', 'unsubscribe_invalid') },
        },
      },
      (request, reply) => {
        const { description } = notifications.readUnsubscribe(request.query.token);
        const action = `/v1/notifications/unsubscribe?token=${encodeURIComponent(request.query.token)}`;
        return page(reply, 'Unsubscribe', `<p>Stop email when ${escapeHtml(description)}?</p><form method="post" action="${escapeHtml(action)}"><button type="submit">Unsubscribe</button></form>`);
      },
    );
    s.post(
      '/v1/notifications/unsubscribe',
      {
        schema: {
          tags,
          summary: 'Unsubscribe from one kind of mail',
          description: 'Needs only the token of the link. Answers JSON, or an HTML page to a browser.',
          querystring: unsubscribeQuery,
          response: { 200: z.unknown().meta({ description: 'JSON `{kind, email: false}`, or an HTML page when the client accepts text/html' }), ...problems('validation_failed', 'unsubscribe_invalid') },
        },
      },
      async (request, reply) => {
        const { kind, description } = await notifications.unsubscribe(request.query.token);
        if (request.headers.accept?.includes('text/html')) return page(reply, 'Unsubscribed', `<p>You will no longer get email when ${escapeHtml(description)}.</p>`);
        return { kind, email: false as const };
      },
    );
    done();
  });
};

function page(reply: FastifyReply, title: string, body: string): FastifyReply {
  return reply
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title} · Mosis Portal</title></head><body style="font-family:system-ui,sans-serif;max-width:480px;margin:64px auto;padding:0 16px"><h1>${title}</h1>${body}</body></html>`);
}

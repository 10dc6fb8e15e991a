import { z } from 'zod';
import { pageQuery, pageSchema } from '../../http/pagination.js';
import { NOTIFICATION_KINDS } from './notification-kinds.js';

export const notificationsQuery = pageQuery
  .extend({ unread: z.enum(['true', 'false']).optional().describe('"true": only unread notifications') })
  .strict()
  .transform((q) => ({ ...q, unread: q.unread === 'true' }));

export const notificationItem = z.object({
  id: z.string(),
  kind: z.string().describe(`One of ${NOTIFICATION_KINDS.join(', ')} (more may be added)`),
  title: z.string(),
  body: z.string(),
  link: z.string().describe('The page of the web UI it is about, a path under the portal URL'),
  app_id: z.string().nullable(),
  created_at: z.string(),
  read_at: z.string().nullable(),
});

export const notificationsPage = pageSchema(notificationItem).extend({ unread_count: z.number().int() });

export const readBody = z
  .object({
    ids: z.array(z.string().min(1).max(64)).min(1).max(100).optional(),
    all: z.literal(true).optional(),
  })
  .strict()
  .refine((b) => (b.ids === undefined) !== (b.all === undefined), { message: 'either ids or "all": true', path: ['ids'] });

export const readResponse = z.object({ updated: z.number().int(), unread_count: z.number().int() });
export const unreadResponse = z.object({ unread_count: z.number().int() });

const kindFlags = z.object(Object.fromEntries(NOTIFICATION_KINDS.map((k) => [k, z.boolean()])) as Record<(typeof NOTIFICATION_KINDS)[number], z.ZodBoolean>);

export const preferencesResponse = z.object({ email: kindFlags.describe('Whether each kind of notification is also sent by email (in-app notifications always are made)') });
export const preferencesBody = z.object({ email: kindFlags.partial().strict() }).strict();

export const unsubscribeQuery = z.object({ token: z.string().min(1).max(1024) }).strict();

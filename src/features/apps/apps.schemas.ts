import { z } from 'zod';

/** PACKAGE.md's rule for a manifest `id`: reverse-domain, lowercase, at least two segments. */
export const packageId = z
  .string()
  .max(255)
  .regex(/^[a-z0-9]+(\.[a-z0-9]+)+$/, 'must be reverse-domain: lowercase letters and digits in two or more segments joined by single periods, e.g. com.example.notes');

export const appIdParams = z.object({ app_id: z.string().min(1).max(64) });

const category = z.string().regex(/^[a-z0-9-]{1,32}$/, 'must be a lowercase slug such as "productivity"');

export const createAppBody = z
  .object({
    package_id: packageId,
    name: z.string().trim().min(1).max(50),
    summary: z.string().trim().max(80).default(''),
    description: z.string().trim().max(4000).default(''),
    category: category.nullable().default(null),
  })
  .strict();

export const listAppsQuery = z.object({
  status: z.enum(['draft', 'published', 'suspended']).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(512).optional(),
});

export const appResponse = z
  .object({
    id: z.string(),
    package_id: z.string(),
    name: z.string(),
    summary: z.string(),
    description: z.string(),
    category: z.string().nullable(),
    status: z.enum(['draft', 'published', 'suspended']),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'App' });

export type CreateAppInput = z.infer<typeof createAppBody>;
export type AppResponse = z.infer<typeof appResponse>;

import { z } from 'zod';

/** `?limit=&cursor=` as DESIGN.md defines them: default 20, at most 100, opaque cursor. */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(512).optional(),
});

/** The response schema of a page of `item` (the Page type and cursors are in shared/pagination.ts). */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), next_cursor: z.string().nullable() });
}

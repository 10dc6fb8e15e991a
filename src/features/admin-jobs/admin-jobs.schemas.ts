import { z } from 'zod';
import { pageQuery } from '../../http/pagination.js';
import { jobStates } from '../../jobs/index.js';

export const jobListQuery = pageQuery.extend({
  state: z.enum(jobStates).optional(),
  kind: z.string().min(1).max(64).optional(),
});
export type JobListQuery = z.infer<typeof jobListQuery>;

export const jobIdParams = z.object({ id: z.string().min(1).max(64) });

export const jobResponse = z.object({
  id: z.string(),
  kind: z.string(),
  key: z.string().nullable().describe('Dedupe key; `slot:<time>` for a recurring job'),
  state: z.enum(jobStates),
  attempts: z.number().int(),
  max_attempts: z.number().int(),
  run_at: z.string().describe('Not run before this time'),
  locked_until: z.string().nullable().describe('While running: when its lease ends'),
  last_error: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  finished_at: z.string().nullable(),
});

const stateCounts = z.object(Object.fromEntries(jobStates.map((state) => [state, z.number().int()])) as Record<(typeof jobStates)[number], z.ZodNumber>);

export const jobSummaryResponse = z
  .object({
    counts: stateCounts.describe('Jobs in each state, every kind together'),
    by_kind: z.array(stateCounts.extend({ kind: z.string() })).describe('The same, per kind, by kind name'),
  })
  .meta({ id: 'JobSummary' });
export type JobSummaryResponse = z.infer<typeof jobSummaryResponse>;

import { z } from 'zod';
import { listingDescription, listingName, listingSummary } from './apps.schemas.js';
import { canonicalLocale, isListingLocale } from './locale.js';

const locale = z
  .string()
  .max(16)
  .refine(isListingLocale, 'must be a BCP-47 tag: language, optional script and region, e.g. en, de-CH, zh-Hant-TW')
  .transform(canonicalLocale)
  .meta({ description: 'BCP-47 tag; stored in canonical case (de-ch → de-CH)' });

export const listingParams = z.object({ app_id: z.string().min(1).max(64), locale });

export const putListingBody = z
  .object({
    name: listingName,
    summary: listingSummary.default(''),
    description: listingDescription.default(''),
  })
  .strict();

export const listingResponse = z
  .object({
    locale: z.string(),
    name: z.string(),
    summary: z.string(),
    description: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Listing' });

export const listingsResponse = z.object({ items: z.array(listingResponse), next_cursor: z.null() });

export type PutListingInput = z.infer<typeof putListingBody>;
export type ListingResponse = z.infer<typeof listingResponse>;

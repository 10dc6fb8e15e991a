/**
 * What each API key scope lets a key do, in words, for the key form's checkboxes and the list.
 * Typed by the API's own list: a scope added there is a type error here until it is explained.
 */
import type { Schemas } from '../../api/types';

export type Scope = Schemas['ApiKey']['scopes'][number];

export const SCOPES: Record<Scope, { label: string; explanation: string }> = {
  'apps:read': { label: 'Read apps', explanation: 'See your apps, their listings, versions and webhooks.' },
  'apps:write': { label: 'Change apps', explanation: 'Create and change apps, listings, icons, screenshots and webhooks, and create versions.' },
  'versions:upload': { label: 'Upload versions', explanation: 'Upload new signed packages: what a CI pipeline needs.' },
  'versions:publish': { label: 'Publish versions', explanation: 'Publish approved versions, change their rollout, halt, resume and yank them.' },
  'telemetry:read': { label: 'Read analytics', explanation: 'Read analytics and crash reports.' },
  'keys:manage': {
    label: 'Manage keys',
    explanation: 'List, create and revoke API keys and signing keys. A key it creates never has more scopes than it, nor outlives it.',
  },
};

export const SCOPE_ORDER = Object.keys(SCOPES) as Scope[];

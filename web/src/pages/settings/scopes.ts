/**
 * What each API key scope lets a key do, in words, for the key form's checkboxes and the list, and
 * (`plain`) as the device sign-in page (/device) puts it to the person about to hand a client a key.
 * Typed by the API's own list: a scope added there is a type error here until it is explained.
 */
import type { Schemas } from '../../api/types';

export type Scope = Schemas['ApiKey']['scopes'][number];

export const SCOPES: Record<Scope, { label: string; explanation: string; plain: string }> = {
  'apps:read': { label: 'Read apps', explanation: 'See your apps, their listings, versions and webhooks.', plain: 'See your apps and their versions' },
  'apps:write': { label: 'Change apps', explanation: 'Create and change apps, listings, icons, screenshots and webhooks, and create versions.', plain: 'Create apps and edit their listings' },
  'versions:upload': { label: 'Upload versions', explanation: 'Upload new signed packages: what a CI pipeline needs.', plain: 'Upload new versions' },
  'versions:publish': { label: 'Publish versions', explanation: 'Publish approved versions, change their rollout, halt, resume and yank them.', plain: 'Publish approved versions and change rollouts' },
  'telemetry:read': { label: 'Read analytics', explanation: 'Read analytics and crash reports.', plain: 'Read your apps’ analytics and crash reports' },
  'keys:manage': {
    label: 'Manage keys',
    explanation: 'List, create and revoke API keys and signing keys. A key it creates never has more scopes than it, nor outlives it.',
    plain: 'Manage your API keys and signing keys',
  },
};

export const SCOPE_ORDER = Object.keys(SCOPES) as Scope[];

import { PERMISSIONS, type Manifest, type Permission } from './findings.js';

/**
 * Permissions: which Lua API needs which permission, and what changed between two versions.
 */

/** Global Lua tables of the Mosis API and the permission each needs (`http.*` needs `network`). */
export const PERMISSION_APIS: Readonly<Record<string, Permission>> = Object.freeze({
  http: 'network',
  network: 'network',
  clipboard: 'clipboard',
  notifications: 'notifications',
  camera: 'camera',
  storage: 'storage',
  microphone: 'microphone',
  location: 'location',
  sensors: 'sensors',
});

/**
 * Permissions `next` asks for that `previous` did not, and the ones it dropped, in the order of
 * PERMISSIONS. With no previous version every permission of `next` is new.
 */
export function comparePermissions(previous: Manifest | null, next: Manifest): { added: Permission[]; removed: Permission[] } {
  return diffPermissions(previous?.permissions ?? [], next.permissions);
}

export function diffPermissions(previous: readonly Permission[], next: readonly Permission[]): { added: Permission[]; removed: Permission[] } {
  const before = new Set<Permission>(previous);
  const after = new Set<Permission>(next);
  return {
    added: PERMISSIONS.filter((permission) => after.has(permission) && !before.has(permission)),
    removed: PERMISSIONS.filter((permission) => before.has(permission) && !after.has(permission)),
  };
}

export type PermissionRisk = 'low' | 'medium' | 'high';

/**
 * How much a permission lets an app reach of the user's privacy, for the reviewer reading a
 * version's permission changes: high reaches the person (what they say, see, where they are),
 * medium reaches data or other parties, low stays inside the app.
 */
export const PERMISSION_RISK: Readonly<Record<Permission, { risk: PermissionRisk; why: string }>> = Object.freeze({
  storage: { risk: 'low', why: "keeps files in the app's own storage" },
  notifications: { risk: 'low', why: 'shows notifications to the user' },
  network: { risk: 'medium', why: 'can send anything the app holds to any server' },
  clipboard: { risk: 'medium', why: 'can read what the user copied in other apps' },
  sensors: { risk: 'medium', why: 'motion sensors can reveal activity and, with care, typed input' },
  camera: { risk: 'high', why: 'can see what the camera sees' },
  microphone: { risk: 'high', why: 'can hear what the microphone hears' },
  location: { risk: 'high', why: 'knows where the device is' },
});

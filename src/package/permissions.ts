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

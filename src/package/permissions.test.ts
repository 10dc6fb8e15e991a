import { describe, expect, it } from 'vitest';
import type { Manifest, Permission } from './findings.js';
import { comparePermissions } from './permissions.js';
import { manifestJson } from './test-support.js';

const manifest = (permissions: Permission[]) => ({ ...manifestJson(), permissions }) as unknown as Manifest;

describe('comparePermissions', () => {
  it('lists permissions added and removed, in the canonical order', () => {
    expect(comparePermissions(manifest(['storage', 'camera']), manifest(['sensors', 'network', 'storage']))).toEqual({
      added: ['network', 'sensors'],
      removed: ['camera'],
    });
  });

  it('treats every permission of a first version as added', () => {
    expect(comparePermissions(null, manifest(['clipboard']))).toEqual({ added: ['clipboard'], removed: [] });
  });

  it('reports nothing when nothing changed', () => {
    expect(comparePermissions(manifest(['camera']), manifest(['camera']))).toEqual({ added: [], removed: [] });
  });
});

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('works with no environment at all: SQLite and packages under ./data on port 8080', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8080);
    expect(config.baseUrl).toBe('http://localhost:8080');
    expect(config.dataDir).toBe(path.resolve('data'));
    expect(config.database).toEqual({ dialect: 'sqlite', file: path.resolve('data', 'portal.db') });
    expect(config.packagesDir).toBe(path.resolve('data', 'packages'));
    expect(config.backupsDir).toBe(path.resolve('data', 'backups'));
    expect(config.limits.packageBytes).toBe(256 * 1024 * 1024);
  });

  it('switches to PostgreSQL on a postgres:// DATABASE_URL', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://u@db:5432/portal' });
    expect(config.database).toEqual({ dialect: 'postgres', url: 'postgres://u@db:5432/portal' });
  });

  it('derives directories from DATA_DIR and strips a trailing slash from BASE_URL', () => {
    const config = loadConfig({ DATA_DIR: '/srv/mosis', BASE_URL: 'https://portal.example.com/' });
    expect(config.packagesDir).toBe('/srv/mosis/packages');
    expect(config.baseUrl).toBe('https://portal.example.com');
  });

  it('is frozen, deep down', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.limits)).toBe(true);
  });

  it.each([
    ['PORT', 'abc', /PORT must be an integer between 1 and 65535 \(got "abc"\)/],
    ['PORT', '70000', /PORT must be an integer between 1 and 65535/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent \(got "loud"\)/],
    ['DATABASE_URL', 'mysql://x', /DATABASE_URL must be postgres:\/\/.* or sqlite:<path to file>/],
    ['BASE_URL', 'portal.example.com', /BASE_URL must be an absolute http\(s\) URL/],
    ['MAX_PACKAGE_BYTES', '-5', /MAX_PACKAGE_BYTES must be an integer/],
    ['TRUST_PROXY', 'maybe', /TRUST_PROXY must be true or false/],
  ])('refuses %s=%s with one line naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    try {
      loadConfig({ [name]: value });
    } catch (err) {
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).not.toContain('\n');
    }
  });
});

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.js';
import { litestreamYaml, shellQuote } from './litestream.js';

describe('litestream.yml', () => {
  it('replicates both SQLite files to BACKUPS_DIR/litestream, with the retention and snapshot interval of the configuration', () => {
    const yml = litestreamYaml(loadConfig({ DATA_DIR: '/srv/mosis $HOME', BACKUPS_DIR: '/mnt/backups', LITESTREAM_RETENTION_HOURS: '48', LOG_LEVEL: 'silent' }));
    expect(yml).toContain(`- path: ${JSON.stringify(path.resolve('/srv/mosis $HOME/portal.db'))}`);
    expect(yml).toContain(`- path: ${JSON.stringify(path.resolve('/srv/mosis $HOME/telemetry.db'))}`);
    expect(yml).toContain('path: "/mnt/backups/litestream/portal.db"');
    expect(yml).toContain('path: "/mnt/backups/litestream/telemetry.db"');
    expect(yml.match(/retention: "48h"/g)).toHaveLength(2);
    expect(yml.match(/snapshot-interval: "6h"/g)).toHaveLength(2);
    expect(yml).toContain('level: error');
    expect(yml).not.toContain('type: "s3"');
  });

  it('adds the bucket as a second replica of each database, under its prefix', () => {
    const yml = litestreamYaml(loadConfig({ DATA_DIR: '/data', LITESTREAM_S3_URL: 's3://bucket.example/nas/portal', LITESTREAM_S3_REGION: 'auto' }));
    expect(yml).toContain('bucket: "bucket.example"');
    expect(yml).toContain('path: "nas/portal/portal.db"');
    expect(yml).toContain('path: "nas/portal/telemetry.db"');
    expect(yml).toContain('region: "auto"');
    expect(yml).not.toContain('endpoint');
    expect(yml).not.toContain('force-path-style');
    expect(yml.match(/sync-interval: "10000ms"/g)).toHaveLength(2);
  });

  it('is refused on PostgreSQL', () => {
    expect(() => litestreamYaml(loadConfig({ DATABASE_URL: 'postgres://portal@db:5432/portal' }))).toThrow(/pg_dump/);
  });
});

describe('LITESTREAM_* settings', () => {
  it('names a bad bucket URL and S3 settings without a bucket', () => {
    expect(() => loadConfig({ LITESTREAM_S3_URL: 'https://bucket' })).toThrow(/LITESTREAM_S3_URL must be s3:\/\/bucket or s3:\/\/bucket\/prefix/);
    expect(() => loadConfig({ LITESTREAM_S3_ENDPOINT: 'https://s3.example.com' })).toThrow(/need LITESTREAM_S3_URL/);
    expect(() => loadConfig({ LITESTREAM_SYNC_MS: '10' })).toThrow(/LITESTREAM_SYNC_MS must be an integer between 100 and 3600000/);
  });
});

describe('shellQuote', () => {
  it('leaves plain words alone and keeps anything else literal inside single quotes', () => {
    expect(shellQuote('/usr/bin/node')).toBe('/usr/bin/node');
    expect(shellQuote('--max-old-space-size=512')).toBe('--max-old-space-size=512');
    expect(shellQuote("/srv/it's $HOME")).toBe(`'/srv/it'\\''s $HOME'`);
  });
});

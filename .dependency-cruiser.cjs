/**
 * DESIGN.md's dependency direction: app.ts (HTTP) and core.ts (no HTTP) -> features -> (http, jobs, events, storage, package, db) ->
 * (shared, config). A feature reaches another only through its index.ts; nothing below features
 * imports a feature, except `import type` of table rows by db/database.ts.
 */
const LOWER = '^src/(http|jobs|events|storage|package|db|shared|config|backup)/';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'lower-layers-do-not-import-features',
      comment: 'http/, jobs/, events/, storage/, package/, db/, shared/ and config/ never import a feature (db/database.ts may import table types).',
      severity: 'error',
      from: { path: LOWER, pathNot: '^src/db/database\\.ts$' },
      to: { path: '^src/features/' },
    },
    {
      name: 'database-imports-only-table-types',
      severity: 'error',
      from: { path: '^src/db/database\\.ts$' },
      to: { path: '^src/features/', pathNot: '^src/features/[^/]+/[^/]+\\.table\\.ts$' },
    },
    {
      name: 'nothing-imports-app-or-main',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/(main|app)\\.ts$', '^src/verbs/'] },
      to: { path: '^src/(main|app)\\.ts$' },
    },
    {
      name: 'only-the-entry-points-import-core',
      comment: 'main.ts, app.ts and the commands of main.ts (verbs/) are the entry points.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/(main|app)\\.ts$', '^src/verbs/'] },
      to: { path: '^src/core\\.ts$' },
    },
    {
      name: 'core-builds-no-server',
      comment: 'createCore runs CLI verbs and job workers: it never builds Fastify (app.ts does, on top of a core).',
      severity: 'error',
      from: { path: '^src/core\\.ts$' },
      to: { reachable: true, path: ['^src/app\\.ts$', '^src/http/server\\.ts$'] },
    },
    {
      name: 'features-use-each-other-through-index',
      comment: 'features/a may import features/b only through features/b/index.ts.',
      severity: 'error',
      from: { path: '^src/features/([^/]+)/' },
      to: { path: '^src/features/([^/]+)/', pathNot: ['^src/features/$1/', '^src/features/[^/]+/index\\.ts$'] },
    },
    {
      name: 'backup-sits-on-db-and-storage',
      comment: 'backup/ (snapshots, restore) runs from the CLI and a job: only db/, storage/, shared/ and config/ below it.',
      severity: 'error',
      from: { path: '^src/backup/' },
      to: { path: '^src/', pathNot: '^src/(backup|db|storage|shared|config)/' },
    },
    {
      name: 'shared-and-config-are-leaves',
      severity: 'error',
      from: { path: '^src/(shared|config)/' },
      to: { path: '^src/', pathNot: '^src/(shared|config)/' },
    },
    {
      name: 'package-is-pure',
      comment: 'package/ is shared with the CLI: no database, HTTP, storage or jobs.',
      severity: 'error',
      from: { path: '^src/package/' },
      to: { path: '^src/(db|http|storage|jobs|events|features|cli)/' },
    },
    {
      name: 'services-never-import-fastify',
      severity: 'error',
      from: { path: '\\.(service|repository)\\.ts$' },
      to: { path: 'node_modules/(fastify|@fastify)/' },
    },
    {
      name: 'services-and-jobs-never-import-http',
      comment: 'Rules run without HTTP (CLI verbs, job workers): pagination and errors live in shared/.',
      severity: 'error',
      from: { path: ['\\.(service|repository)\\.ts$', '^src/(jobs|events|storage|db)/'] },
      to: { path: '^src/http/' },
    },
    {
      name: 'cli-uses-package-only',
      comment: 'The developer CLI runs offline on a laptop: it must not pull in the server.',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/(db|http|storage|jobs|events|features|app\\.ts|main\\.ts)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};

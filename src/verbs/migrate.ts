import type { Config } from '../config/index.js';
import type { Verb } from './verb.js';

export const migrateVerb: Verb = {
  name: 'migrate',
  summary: 'apply pending migrations and exit',
  usage: 'mosis-portal migrate',
  help: 'Applies the migrations the database lacks (serve does it too, before it listens) and says which.',
  run: (config) => migrate(config),
};

async function migrate(config: Config): Promise<void> {
  const { migrateToLatest, openDatabase } = await import('../db/index.js');
  const database = openDatabase(config.database);
  try {
    const applied = await migrateToLatest(database.db);
    console.log(applied.length > 0 ? `Applied: ${applied.join(', ')}` : 'The database is up to date.');
  } finally {
    await database.close();
  }
}

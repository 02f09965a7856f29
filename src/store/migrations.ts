import type Database from 'better-sqlite3';
import { CtopError } from '../errors.js';
import type { Logger } from '../log.js';
import { SCHEMA_V1 } from './schema-v1.js';
import { SCHEMA_V2 } from './schema-v2.js';
import { migrateToV3 } from './schema-v3.js';
import { SCHEMA_V4 } from './schema-v4.js';

/**
 * Schema changes by `PRAGMA user_version`. A migration runs in one transaction together
 * with the version bump, so a crash leaves the database at the old version or the new,
 * never between. Append only: a released migration is never edited.
 */
export interface Migration {
  /** The user_version after this migration; consecutive from 1. */
  readonly version: number;
  readonly name: string;
  up(db: Database.Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'locks, reads, manifests, events, alerts, outbox, outages, statistics',
    up: (db) => db.exec(SCHEMA_V1),
  },
  {
    version: 2,
    name: "audit trail of the officers' console",
    up: (db) => db.exec(SCHEMA_V2),
  },
  {
    version: 3,
    name: 'receipts stored once, not in every row they settle',
    up: migrateToV3,
  },
  {
    version: 4,
    name: 'outbox rows keep their envelope signed once',
    up: (db) => db.exec(SCHEMA_V4),
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Brings the database to the last version of `migrations`; returns the versions from and to. */
export function migrate(
  db: Database.Database,
  log: Logger,
  migrations: readonly Migration[] = MIGRATIONS,
): { from: number; to: number } {
  const latest = migrations.at(-1)?.version ?? 0;
  const from = schemaVersion(db);
  if (from > latest) {
    throw new CtopError(
      'E_STORE_VERSION',
      `database schema version ${from} is newer than this agent's ${latest}`,
      { details: { found: from, supported: latest } },
    );
  }
  for (const m of migrations) {
    if (m.version <= from) continue;
    const apply = db.transaction(() => {
      m.up(db);
      const broken = db.pragma('foreign_key_check') as unknown[];
      if (broken.length > 0) {
        throw new CtopError(
          'E_STORE_MIGRATION',
          `migration ${m.version} left ${broken.length} broken references`,
        );
      }
      db.pragma(`user_version = ${m.version}`);
    }).immediate;
    try {
      apply();
    } catch (err) {
      if (err instanceof CtopError && err.code === 'E_STORE_MIGRATION') throw err;
      throw new CtopError(
        'E_STORE_MIGRATION',
        `migration ${m.version} (${m.name}) failed: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    log.info({ version: m.version, migration: m.name }, 'database migrated');
  }
  return { from, to: Math.max(from, latest) };
}

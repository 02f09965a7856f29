import type { Command } from 'commander';
import { loadConfig } from '../../config/index.js';
import { CtopError } from '../../errors.js';
import { type BackupSummary, backupDatabase, DEFAULT_DB_PATH, restoreDatabase } from '../../store/index.js';
import { toJson } from './store-common.js';

interface DatabaseChoice {
  db?: string;
  config?: string;
}

/** The database named by --db, or by store.path of --config (what the daemon opens). */
function databasePath(opts: DatabaseChoice): string {
  if (opts.db && opts.config) throw new CtopError('E_USAGE', '--db and --config exclude each other');
  if (opts.config) return loadConfig(opts.config).config.store.path;
  return opts.db ?? DEFAULT_DB_PATH;
}

function describe(summary: BackupSummary): string[] {
  const o = summary.outbox;
  return [
    `  ${summary.bytes} bytes, schema version ${summary.schemaVersion}, integrity_check ${summary.integrity}`,
    `  ${summary.manifests} manifests; outbox: ${o.queued} queued, ${o.in_flight} in flight, ${o.acknowledged} acknowledged, ${o.rejected} rejected`,
  ];
}

/**
 * `ctop-agent backup` and `ctop-agent restore` (docs/OPERATIONS.md, "Backup and restore"):
 * a thin shell over src/store/backup.ts.
 */
export function register(program: Command): void {
  program
    .command('backup')
    .description(
      'copy the database while the daemon runs (SQLite online backup, one consistent snapshot), owner-only, verified with integrity_check',
    )
    .requiredOption('--out <file>', 'the backup to write (must not exist; mode 0600)')
    .option('--db <file>', `the agent database (default ${DEFAULT_DB_PATH})`)
    .option('--config <file>', "take the database from this configuration's store.path")
    .option('--json', 'print the summary as JSON')
    .action(async (opts: DatabaseChoice & { out: string; json?: boolean }) => {
      const summary = await backupDatabase(databasePath(opts), opts.out);
      if (opts.json) {
        process.stdout.write(toJson(summary));
        return;
      }
      process.stdout.write(`${[`backup written to ${summary.file}`, ...describe(summary)].join('\n')}\n`);
    });

  program
    .command('restore')
    .description(
      'restore a backup as the agent database; refused while the daemon or another command has the database open',
    )
    .argument('<file>', 'a backup written by `ctop-agent backup`')
    .option('--db <file>', `where to restore it (default ${DEFAULT_DB_PATH})`)
    .option('--config <file>', "restore to this configuration's store.path")
    .option('--force', 'replace an existing database (it is kept beside it as <db>.before-restore-<time>)')
    .option('--json', 'print the summary as JSON')
    .action(async (file: string, opts: DatabaseChoice & { force?: boolean; json?: boolean }) => {
      const summary = await restoreDatabase(file, databasePath(opts), { force: opts.force ?? false });
      if (opts.json) {
        process.stdout.write(toJson(summary));
        return;
      }
      const lines = [`restored ${file} to ${summary.file}`, ...describe(summary)];
      if (summary.replacedKeptAt)
        lines.push(`  the database it replaced is kept at ${summary.replacedKeptAt}`);
      lines.push(
        '  start the agent: rows not acknowledged in the backup are sent again under their messageIds, and the exchange keeps each once',
      );
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

import type { Command } from 'commander';
import { renderTable } from '../../manifest/render.js';
import { DB_OPTION, formatTime, openForCli, shortHex, toJson } from './store-common.js';

export function register(program: Command): void {
  const locks = program
    .command('locks')
    .description('the locks this gateway knows and the identity keys pinned for them');

  locks
    .command('list')
    .description('every known lock: pinned key, last trusted read, battery, seal, events, alerts')
    .option('--json', 'print JSON')
    .option(...DB_OPTION)
    .action((opts: { db: string; json?: boolean }) => {
      const store = openForCli(opts.db);
      try {
        const rows = store.locks.list();
        if (opts.json) {
          process.stdout.write(toJson(rows));
          return;
        }
        if (rows.length === 0) {
          process.stdout.write('no locks known yet\n');
          return;
        }
        const table = renderTable(
          ['LOCK', 'KEY', 'PINNED', 'LAST SEEN', 'FIRMWARE', 'BATTERY', 'SEAL', 'EVENTS', 'READS', 'ALERTS'],
          rows.map((l) => [
            l.lockId,
            shortHex(l.identityKey),
            l.pinnedBy ?? 'NOT PINNED',
            formatTime(l.lastSeenAt),
            l.firmware ?? '—',
            l.battery === undefined ? '—' : `${l.battery}%`,
            l.sealState === undefined ? '—' : String(l.sealState),
            String(l.events),
            String(l.reads),
            l.alerts > 0 ? String(l.alerts) : '',
          ]),
        );
        process.stdout.write(`${table}\n`);
      } finally {
        store.close();
      }
    });
}

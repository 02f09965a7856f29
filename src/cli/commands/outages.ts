import type { Command } from 'commander';
import { renderTable } from '../../manifest/render.js';
import { utcDay } from '../../store/index.js';
import { parseInteger } from '../parse.js';
import { DB_OPTION, formatAge, formatTime, openForCli, parseSince, toJson } from './store-common.js';

/**
 * Periods the gateway had no working path to the customs exchange (traceability agreement
 * Art. 11: recorded and reported to the exchange once it is back), and the per-day
 * exchange figures kept for the periodic evaluation of CTOP Protocol Art. 5.
 */
export function register(program: Command): void {
  const outages = program
    .command('outages')
    .description('periods without a working path to the customs exchange, and the daily exchange figures');

  outages
    .command('list')
    .description('outages with start, end, cause and when they were reported to the exchange')
    .option(
      '--since <when>',
      'only outages open or ended since a date/time or an age (7d, 48h)',
      parseSince(),
    )
    .option('--json', 'print JSON')
    .option(...DB_OPTION)
    .action((opts: { db: string; since?: number; json?: boolean }) => {
      const store = openForCli(opts.db);
      try {
        const now = Date.now();
        const list = store.outages.list(opts.since ?? 0);
        if (opts.json) {
          process.stdout.write(toJson(list));
          return;
        }
        if (list.length === 0) {
          process.stdout.write('no outages recorded: the exchange path has worked throughout\n');
          return;
        }
        const rows = list.map((o) => [
          String(o.id),
          formatTime(o.startedAt),
          o.endedAt === undefined ? 'open' : formatTime(o.endedAt),
          formatAge((o.endedAt ?? now) - o.startedAt),
          o.cause,
          o.reportedAt === undefined ? (o.endedAt === undefined ? '—' : 'pending') : formatTime(o.reportedAt),
          (o.detail ?? '').slice(0, 60),
        ]);
        const open = list.filter((o) => o.endedAt === undefined).length;
        process.stdout.write(
          `${renderTable(['ID', 'STARTED', 'ENDED', 'DURATION', 'CAUSE', 'REPORTED', 'DETAIL'], rows)}\n` +
            `${list.length} outage${list.length === 1 ? '' : 's'}${open > 0 ? `, ${open} still open` : ''}; ` +
            'closed ones are reported to the exchange through the outbox\n',
        );
      } finally {
        store.close();
      }
    });

  outages
    .command('stats')
    .description(
      'per-day exchange figures (UTC): messages, resends, receipts, outage time, bytes (CTOP Art. 5)',
    )
    .option('--days <n>', 'the last n days', parseInteger('--days', 1, 3660), 30)
    .option('--json', 'print JSON')
    .option(...DB_OPTION)
    .action((opts: { db: string; days: number; json?: boolean }) => {
      const store = openForCli(opts.db);
      try {
        const from = utcDay(Date.now() - (opts.days - 1) * 86_400_000);
        const days = store.exchangeStats.list(from);
        if (opts.json) {
          process.stdout.write(toJson(days));
          return;
        }
        if (days.length === 0) {
          process.stdout.write(`no exchange activity since ${from}\n`);
          return;
        }
        const rows = days.map((d) => [
          d.day,
          String(d.messagesSent),
          String(d.resends),
          String(d.receiptsAccepted),
          String(d.receiptsRejected),
          formatAge(d.outageSeconds * 1000),
          String(d.bytesSent),
        ]);
        process.stdout.write(
          `${renderTable(['DAY', 'SENT', 'RESENDS', 'ACCEPTED', 'REJECTED', 'OUTAGE', 'BYTES'], rows)}\n`,
        );
      } finally {
        store.close();
      }
    });
}

import type { Command } from 'commander';
import { renderTable } from '../../manifest/render.js';
import { DB_OPTION, formatAge, formatTime, openForCli, toJson } from './store-common.js';

export function register(program: Command): void {
  const outbox = program.command('outbox').description('what is waiting to reach the customs exchange');

  outbox
    .command('status')
    .description('rows by state, the oldest unacknowledged one, the quarantine, the current outage')
    .option('--json', 'print JSON')
    .option(...DB_OPTION)
    .action((opts: { db: string; json?: boolean }) => {
      const store = openForCli(opts.db);
      try {
        const now = Date.now();
        const status = store.outbox.status(now);
        const outage = store.outages.current();
        const alarm = store.checkSpace();
        if (opts.json) {
          process.stdout.write(toJson({ ...status, outage, alarm }));
          return;
        }
        const c = status.counts;
        const lines = [
          `queued        ${c.queued}`,
          `in flight     ${c.in_flight}`,
          `acknowledged  ${c.acknowledged}`,
          `rejected      ${c.rejected}`,
          status.oldestUnacknowledgedAt === undefined
            ? 'oldest unacknowledged: none — everything stored has reached the exchange'
            : `oldest unacknowledged: ${formatAge(status.oldestUnacknowledgedAgeMs!)} (stored ${formatTime(status.oldestUnacknowledgedAt)})`,
        ];
        if (status.nextAttemptAt !== undefined)
          lines.push(`next attempt: ${formatTime(status.nextAttemptAt)}`);
        lines.push(
          outage
            ? `exchange outage: since ${formatTime(outage.startedAt)} (${formatAge(now - outage.startedAt)}), ${outage.cause}`
            : 'exchange outage: none open',
        );
        lines.push(
          alarm.state === 'ok'
            ? 'store: ok'
            : `store: FULL since ${formatTime(alarm.since)} — ${alarm.reason}`,
        );
        if (status.rejected.length > 0) {
          lines.push(
            '',
            'rejected by the exchange (quarantine, never deleted):',
            renderTable(
              ['ID', 'KIND', 'REASON', 'AT', 'MANIFEST'],
              status.rejected.map((r) => [
                String(r.id),
                r.kind,
                r.reasonCode ?? '?',
                formatTime(r.at),
                r.manifestId?.slice(0, 12) ?? '',
              ]),
            ),
          );
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      } finally {
        store.close();
      }
    });
}

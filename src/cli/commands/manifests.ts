import type { Command } from 'commander';
import { CtopError } from '../../errors.js';
import { loadPrivateKey, TrustStore } from '../../keys/index.js';
import { inspectManifest, openManifest, renderBody } from '../../manifest/index.js';
import { renderTable } from '../../manifest/render.js';
import {
  type AlertRecord,
  type ManifestListEntry,
  type ManifestRecord,
  type Store,
  VERIFICATION_STATUSES,
} from '../../store/index.js';
import { parseInteger } from '../parse.js';
import { DB_OPTION, formatTime, openForCli, parseSince, toJson } from './store-common.js';

interface ListOptions {
  db: string;
  container?: string;
  wagon?: string;
  train?: string;
  lock?: string;
  since?: number;
  status?: string;
  limit: number;
  json?: boolean;
}

const STATUS_CHOICES = [...VERIFICATION_STATUSES, 'flagged'];

function statusLabel(m: ManifestRecord): string {
  return m.verification === 'valid' ? 'valid' : m.verification.toUpperCase();
}

function syncLabel(m: ManifestListEntry): string {
  if (m.payloadPurgedAt !== undefined) return 'acknowledged (purged)';
  return m.syncState?.replace('_', ' ') ?? '—';
}

function listTable(rows: ManifestListEntry[]): string {
  return renderTable(
    ['RECEIVED', 'CONTAINER', 'WAGON', 'TRAIN', 'LOCK', 'ROUTE', 'STATUS', 'SYNC', 'ALERTS', 'ID'],
    rows.map((m) => [
      formatTime(m.receivedAt),
      m.routing?.container ?? '?',
      m.routing?.wagon ?? '?',
      m.routing?.train ?? '',
      m.lockId ?? '?',
      m.routing?.departure ? `${m.routing.departure}→${m.routing.destination}` : '?',
      statusLabel(m),
      syncLabel(m),
      m.alerts > 0 ? String(m.alerts) : '',
      m.manifestId.slice(0, 12),
    ]),
    [20, 12, 9, 18, 18, 26, 15, 22, 6, 12],
  );
}

/** A manifest by id prefix (6+ hex digits) or by container number (the newest for it). */
function resolve(store: Store, ref: string): { manifest: ManifestRecord; others: string[] } {
  if (/^[0-9a-fA-F]{6,64}$/.test(ref)) {
    const found = store.manifests.findByPrefix(ref);
    if (found.length > 1)
      throw new CtopError('E_USAGE', `${ref} is ambiguous: give more digits of the manifest id`);
    if (found.length === 1) return { manifest: found[0]!, others: [] };
  }
  const byContainer = store.manifests.list({ container: ref.toUpperCase(), limit: 50 });
  if (byContainer.length === 0) {
    throw new CtopError('E_STORE_NOT_FOUND', `no stored manifest with id or container "${ref}"`);
  }
  return { manifest: byContainer[0]!, others: byContainer.slice(1).map((m) => m.manifestId) };
}

function pairs(rows: [string, string | undefined][]): string {
  const shown = rows.filter((r): r is [string, string] => r[1] !== undefined);
  const width = Math.max(...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

/**
 * The manifest's own alerts, and those raised since it arrived about a lock that carried it
 * (a broken or cut-back event log, a clone): the officer deciding on this container needs both.
 */
function alertsFor(store: Store, m: ManifestRecord): AlertRecord[] {
  const lockIds = new Set(store.reads.forManifest(m.manifestId).flatMap((r) => (r.lockId ? [r.lockId] : [])));
  const lockAlerts = [...lockIds]
    .flatMap((id) => store.alerts.forLock(id))
    .filter((a) => a.manifestId === undefined && a.lastSeenAt >= m.receivedAt);
  return [...store.alerts.forManifest(m.manifestId), ...lockAlerts];
}

function showText(store: Store, m: ManifestRecord, others: string[]): string {
  const r = m.routing ?? {};
  const row = store.outbox.forManifest(m.manifestId);
  const status =
    m.verification === 'valid'
      ? 'VALID'
      : `${m.verification.toUpperCase()} — not valid data, kept as evidence${m.verificationDetail ? ` (${m.verificationDetail})` : ''}`;
  const head = pairs([
    ['manifest', m.manifestId],
    ['status', status],
    ['signer', m.signerKid],
    ['container', r.container],
    ['wagon', r.wagon],
    ['train', r.train],
    [
      'lock',
      r.lockId === undefined || r.lockId === m.lockId ? m.lockId : `${m.lockId} (manifest names ${r.lockId})`,
    ],
    [
      'route',
      r.departure === undefined
        ? undefined
        : `${r.departure} (${r.departureCountry ?? '?'}) → ${r.destination} (${r.destinationCountry ?? '?'})`,
    ],
    ['created', r.createdAt === undefined ? undefined : formatTime(r.createdAt)],
    ['received', formatTime(m.receivedAt)],
    [
      'size',
      `${m.size} bytes${m.payloadPurgedAt !== undefined ? `, bytes purged ${formatTime(m.payloadPurgedAt)} (hash and receipt kept)` : ''}`,
    ],
    [
      'sync',
      row
        ? `${row.state.replace('_', ' ')}, ${row.attempts} attempt${row.attempts === 1 ? '' : 's'}${row.messageId ? `, ${row.messageId}` : ''}${
            row.receipt
              ? `, receipt ${row.receipt.status}${row.receipt.reasonCode ? ` ${row.receipt.reasonCode}` : ''} at ${formatTime(row.receipt.at)}`
              : ''
          }${row.state === 'queued' && row.lastError ? `, last error: ${row.lastError}` : ''}`
        : undefined,
    ],
  ]);
  const reads = store.reads.forManifest(m.manifestId);
  const readTable = renderTable(
    ['READ AT', 'GATEWAY', 'VIA', 'ENDPOINT', 'LOCK', 'TRUST', 'OUTCOME'],
    reads.map((x) => [
      formatTime(x.startedAt),
      x.gatewayId,
      x.transport,
      x.endpoint,
      x.lockId ?? '?',
      x.trust === 'trusted' ? 'trusted' : x.trust.toUpperCase(),
      x.outcome + (x.errorCode ? ` ${x.errorCode}` : '') + (x.importId !== undefined ? ' (imported)' : ''),
    ]),
  );
  const alerts = alertsFor(store, m);
  const parts = [head, '', `reads (${reads.length})`, readTable];
  if (alerts.length > 0) {
    parts.push(
      '',
      `alerts (${alerts.length})`,
      ...alerts.map(
        (a) =>
          `  ${formatTime(a.raisedAt)}  ${a.kind.toUpperCase()}  ${a.detail}${a.occurrences > 1 ? ` (×${a.occurrences})` : ''}`,
      ),
    );
  }
  if (others.length > 0)
    parts.push(
      '',
      `${others.length} older manifest${others.length === 1 ? '' : 's'} for this container: ${others.map((id) => id.slice(0, 12)).join(', ')}`,
    );
  return `${parts.join('\n')}\n`;
}

export function register(program: Command): void {
  const manifests = program
    .command('manifests')
    .description('the manifests stored on this gateway: list and show them, offline (officer view)');

  manifests
    .command('list')
    .description('stored manifests as a table, newest first')
    .option('--container <number>', 'only this container (ISO 6346)')
    .option('--wagon <number>', 'only this wagon')
    .option('--train <number>', 'only this train or consist')
    .option('--lock <id>', 'only manifests read from this lock')
    .option(
      '--since <time>',
      'received at or after: 2025-03-14, 2025-03-14T08:00Z, or an age such as 48h',
      parseSince(),
    )
    .option('--status <status>', `${STATUS_CHOICES.join(' | ')} (flagged = anything not valid)`)
    .option('--limit <n>', 'at most this many rows', parseInteger('--limit', 1, 1_000_000), 100)
    .option('--json', 'print JSON')
    .option(...DB_OPTION)
    .action((opts: ListOptions) => {
      if (opts.status !== undefined && !STATUS_CHOICES.includes(opts.status)) {
        throw new CtopError('E_USAGE', `--status must be one of ${STATUS_CHOICES.join(', ')}`);
      }
      const store = openForCli(opts.db);
      try {
        const rows = store.manifests.list({
          ...(opts.container === undefined ? {} : { container: opts.container.toUpperCase() }),
          ...(opts.wagon === undefined ? {} : { wagon: opts.wagon }),
          ...(opts.train === undefined ? {} : { train: opts.train }),
          ...(opts.lock === undefined ? {} : { lockId: opts.lock }),
          ...(opts.since === undefined ? {} : { since: opts.since }),
          ...(opts.status === undefined ? {} : { status: opts.status as never }),
          limit: opts.limit,
        });
        if (opts.json) {
          process.stdout.write(toJson(rows));
          return;
        }
        if (rows.length === 0) {
          process.stdout.write('no manifests stored that match\n');
          return;
        }
        process.stdout.write(`${listTable(rows)}\n`);
        if (rows.length === opts.limit)
          process.stdout.write(`(the newest ${opts.limit}; --limit shows more)\n`);
      } finally {
        store.close();
      }
    });

  manifests
    .command('show')
    .description(
      'one manifest: routing, verification, sync state, every read and alert; --decrypt shows the goods',
    )
    .argument('<ref>', 'manifest id (6 or more hex digits) or container number')
    .option('--decrypt', 'decrypt the goods body with a customs recipient key (needs --key and --trust)')
    .option('--key <file>', 'customs recipient private key (.key, mode 0600)')
    .option('--trust <file>', 'trust store: the manifest is verified again before decrypting')
    .option('--json', 'print JSON')
    .option(...DB_OPTION)
    .action(
      (
        ref: string,
        opts: { db: string; decrypt?: boolean; key?: string; trust?: string; json?: boolean },
      ) => {
        if (opts.decrypt && (!opts.key || !opts.trust)) {
          throw new CtopError('E_USAGE', '--decrypt needs --key <recipient.key> and --trust <trust store>');
        }
        const store = openForCli(opts.db);
        try {
          const { manifest, others } = resolve(store, ref);
          let body: string | undefined;
          let opened: ReturnType<typeof openManifest> | undefined;
          if (opts.decrypt) {
            const bytes = store.manifests.bytes(manifest.manifestId);
            if (!bytes) {
              throw new CtopError(
                'E_STORE_NOT_FOUND',
                `the bytes of manifest ${manifest.manifestId.slice(0, 16)}… were purged by retention after the exchange acknowledged them`,
              );
            }
            const trust = TrustStore.load(opts.trust!);
            const key = loadPrivateKey(opts.key!);
            if (!opts.json && inspectManifest(bytes, trust).verification.status !== 'valid') {
              // Show what is stored, then let openManifest refuse: evidence is never decrypted as data.
              process.stdout.write(showText(store, manifest, others));
            }
            opened = openManifest(bytes, key, trust);
            body = renderBody(opened.body);
          }
          if (opts.json) {
            process.stdout.write(
              toJson({
                ...manifest,
                reads: store.reads.forManifest(manifest.manifestId),
                alerts: alertsFor(store, manifest),
                ...(opened ? { body: opened.body } : {}),
              }),
            );
            return;
          }
          process.stdout.write(showText(store, manifest, others));
          if (body !== undefined) process.stdout.write(`\n${body}\n`);
        } finally {
          store.close();
        }
      },
    );
}

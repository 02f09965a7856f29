import { InvalidArgumentError } from 'commander';
import { createLogger } from '../../log.js';
import { DEFAULT_DB_PATH, openStore, type Store } from '../../store/index.js';

/**
 * Shared by the store's command groups (manifests, locks, outbox, export/import): the
 * --db option, opening the database for an offline officer, and the text formats.
 */
export const DB_OPTION = ['--db <file>', 'the agent database', DEFAULT_DB_PATH] as const;

/**
 * Opens the database for a CLI command. `create: false` for the read-only views: a typo in
 * --db must not create an empty database. No quick_check: the daemon runs it at start-up,
 * and an officer's listing must answer in milliseconds on a large store.
 */
export function openForCli(file: string, options: { create?: boolean } = {}): Store {
  const log = createLogger({ fd: 2, level: process.env.CTOP_LOG_LEVEL ?? 'warn' });
  return openStore({ path: file, create: options.create ?? false, quickCheck: false, log });
}

/** 2025-03-14 08:30:12Z: UTC, so officers on both sides of the border read the same time. */
export function formatTime(ms: number | undefined): string {
  if (ms === undefined) return '—';
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** --since: an ISO date or time (2025-03-14, 2025-03-14T08:00Z) or an age (90m, 48h, 7d). */
export function parseSince(now: () => number = Date.now): (value: string) => number {
  return (value) => {
    const relative = /^(\d{1,6})([mhd])$/.exec(value.trim());
    if (relative) return now() - Number(relative[1]) * UNITS[relative[2]!]!;
    const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(ms)) {
      throw new InvalidArgumentError(
        `--since must be a date or time (2025-03-14, 2025-03-14T08:00Z) or an age (90m, 48h, 7d), got "${value}"`,
      );
    }
    return ms;
  };
}

export function shortHex(bytes: Uint8Array | undefined, length = 16): string {
  return bytes ? Buffer.from(bytes).toString('hex').slice(0, length) : '—';
}

/** JSON with byte strings as hex, for --json output. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, (_key, v) => (v && typeof v === 'object' && v.type === 'Buffer' && Array.isArray(v.data) ? Buffer.from(v.data).toString('hex') : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v), 2)}\n`;
}

/**
 * What must hold after a soak, checked against the two parties' own stores: the agent's
 * SQLite (read-only, after the daemon stopped) and the reference exchange's database.
 */
import Database from 'better-sqlite3';
import type { Exchange } from '../../src/reference-exchange/index.js';
import type { DaemonChild, Sample } from './daemon.js';
import type { SoakLock } from './locks.js';

export interface Presented extends SoakLock {
  presentedAt: number;
}

/** A step of the daemon's wall clock: at (real ms), from and to its offset from the real time. */
export interface ClockJump {
  at: number;
  fromSeconds: number;
  toSeconds: number;
}

/**
 * libfaketime reads the offset file at most once a second and only on whole-second
 * boundaries: the daemon may still run on the old offset up to 2 s after a jump.
 */
const FAKETIME_LAG_MS = 2000;
/** After a cut the daemon dates the outage's end when it has connected again: within 15 s. */
const RECONNECT_MS = 15_000;

/**
 * The wall-clock offsets (s) the daemon may have dated `e` by: the one in force as it began,
 * and any it stepped to before the daemon saw the path back. An outage spanning a step is
 * dated by the clock at its end (OutageTracker), one near a step may be on either side.
 */
export function offsetsAround(e: Episode, jumps: ClockJump[]): number[] {
  const from = e.startedAt - FAKETIME_LAG_MS;
  const sorted = [...jumps].sort((a, b) => a.at - b.at);
  const before = sorted.filter((j) => j.at <= from).at(-1);
  const offsets = [before ? before.toSeconds : (sorted[0]?.fromSeconds ?? 0)];
  for (const j of sorted) if (j.at > from && j.at <= e.endedAt + RECONNECT_MS) offsets.push(j.toSeconds);
  return [...new Set(offsets)];
}

/** A network cut or a broker restart. */
export interface Episode {
  kind: string;
  startedAt: number;
  endedAt: number;
  /** The same daemon was ready before and still running after. */
  daemonUp: boolean;
}

export interface Invariant {
  name: string;
  ok: boolean;
  detail?: string;
}

const EXPECTED_ALERT: Record<SoakLock['kind'], string | undefined> = {
  genuine: undefined,
  tampered: 'tamper',
  cloned: 'clone',
  wrong_hash: 'tamper',
};

/** Limits: generous for a 2-core CI box, tight enough to catch a leak. */
const RSS_LIMIT_BYTES = 400 * 1024 * 1024;
const FD_LIMIT = 200;
const FD_GROWTH = 24;

function isGenuine(l: SoakLock): boolean {
  return l.kind === 'genuine' || l.kind === 'tampered';
}

/** The drain's progress, read while the daemon runs (WAL: a reader does not block it). */
export function agentState(
  dbPath: string,
  exchange: Exchange,
  presented: Presented[],
): { pending: number; openOutages: number; missingAtExchange: number } {
  let db: Database.Database | undefined;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
    const pending = db
      .prepare("SELECT count(*) FROM outbox WHERE state <> 'acknowledged'")
      .pluck()
      .get() as number;
    const openOutages = db
      .prepare('SELECT count(*) FROM outage WHERE ended_at IS NULL OR reported_at IS NULL')
      .pluck()
      .get() as number;
    const at = new Set(
      (
        exchange.db.db
          .prepare("SELECT manifest_id FROM message WHERE kind = 'manifest'")
          .pluck()
          .all() as string[]
      ).filter(Boolean),
    );
    const missingAtExchange = presented.filter((l) => isGenuine(l) && !at.has(l.manifestId)).length;
    return { pending, openOutages, missingAtExchange };
  } catch {
    return { pending: -1, openOutages: -1, missingAtExchange: -1 };
  } finally {
    db?.close();
  }
}

export function checkInvariants(o: {
  dbPath: string;
  exchange: Exchange;
  gatewayId: string;
  presented: Presented[];
  episodes: Episode[];
  clockJumps: ClockJump[];
  samples: Sample[];
  daemons: DaemonChild[];
  unexpectedExits: unknown[];
  finalStop: { code: number | null; signal: NodeJS.Signals | null };
  drained: boolean;
}) {
  const invariants: Invariant[] = [];
  const add = (name: string, ok: boolean, detail?: string) =>
    invariants.push({ name, ok, ...(detail ? { detail } : {}) });
  const db = new Database(o.dbPath, { readonly: true, fileMustExist: true });
  const xdb = o.exchange.db.db;
  try {
    // 1. Every genuine manifest at the exchange exactly once, acknowledged with a signed receipt.
    const genuine = o.presented.filter(isGenuine);
    const atExchange = new Map<string, number>();
    for (const id of xdb
      .prepare("SELECT manifest_id FROM message WHERE kind = 'manifest' AND manifest_id IS NOT NULL")
      .pluck()
      .all() as string[])
      atExchange.set(id, (atExchange.get(id) ?? 0) + 1);
    const receipt = db.prepare(
      "SELECT state, receipt_status, receipt_id IS NOT NULL AS has, message_id FROM outbox WHERE kind = 'manifest' AND manifest_id = ?",
    );
    const exchangeHas = xdb.prepare('SELECT count(*) FROM message WHERE message_id = ?').pluck();
    const missing: string[] = [];
    const duplicated: string[] = [];
    const noReceipt: string[] = [];
    for (const l of genuine) {
      const n = atExchange.get(l.manifestId) ?? 0;
      if (n === 0) missing.push(l.lockId);
      if (n > 1) duplicated.push(l.lockId);
      const rows = receipt.all(l.manifestId) as {
        state: string;
        receipt_status: string | null;
        has: number;
        message_id: string | null;
      }[];
      const good = rows.filter(
        (r) =>
          r.state === 'acknowledged' &&
          r.receipt_status === 'accepted' &&
          r.has === 1 &&
          r.message_id !== null &&
          (exchangeHas.get(r.message_id) as number) === 1,
      );
      if (good.length !== 1) noReceipt.push(`${l.lockId}(${rows.length} rows, ${good.length} acknowledged)`);
    }
    const anyDuplicate = [...atExchange.values()].filter((n) => n > 1).length;
    add(
      'every genuine manifest at the exchange exactly once',
      missing.length === 0 && duplicated.length === 0 && anyDuplicate === 0,
      missing.length + duplicated.length + anyDuplicate > 0
        ? `missing ${missing.length} [${missing.slice(0, 8).join(' ')}], duplicated ${duplicated.length + anyDuplicate}`
        : `${genuine.length} of ${genuine.length}`,
    );
    add(
      'each with an accepted, signed receipt in the agent store',
      noReceipt.length === 0,
      noReceipt.length > 0 ? noReceipt.slice(0, 8).join(' ') : undefined,
    );

    // 2. Nothing left behind: every outbox row acknowledged, none rejected.
    const states = db.prepare('SELECT state, count(*) AS n FROM outbox GROUP BY state').all() as {
      state: string;
      n: number;
    }[];
    const notAcked = states.filter((s) => s.state !== 'acknowledged').reduce((a, s) => a + s.n, 0);
    add(
      'outbox drained: every message acknowledged',
      notAcked === 0 && o.drained,
      states.map((s) => `${s.state} ${s.n}`).join(', '),
    );

    // 3. Every tamper and clone alert raised, and delivered.
    const alertRows = db.prepare('SELECT alert_id FROM alert WHERE lock_id = ? AND kind = ?').pluck();
    const alertOutbox = db.prepare(
      "SELECT state, message_id FROM outbox WHERE kind = 'alert' AND json_extract(routing, '$.alertId') = ?",
    );
    let alertsExpected = 0;
    let alertsDelivered = 0;
    const alertProblems: string[] = [];
    for (const l of o.presented) {
      const kind = EXPECTED_ALERT[l.kind];
      if (!kind) continue;
      alertsExpected++;
      const ids = alertRows.all(l.lockId, kind) as number[];
      if (ids.length === 0) {
        alertProblems.push(`${l.lockId} ${l.kind}: no ${kind} alert`);
        continue;
      }
      const delivered = ids.some((id) =>
        (alertOutbox.all(id) as { state: string; message_id: string | null }[]).some(
          (r) =>
            r.state === 'acknowledged' &&
            r.message_id !== null &&
            (exchangeHas.get(r.message_id) as number) === 1,
        ),
      );
      if (delivered) alertsDelivered++;
      else alertProblems.push(`${l.lockId} ${l.kind}: ${kind} alert not at the exchange`);
    }
    const alertsTotal = db.prepare('SELECT count(*) FROM alert').pluck().get() as number;
    add(
      'every tamper and clone alert raised and delivered',
      alertProblems.length === 0,
      alertProblems.length > 0
        ? alertProblems.slice(0, 8).join('; ')
        : `${alertsDelivered} of ${alertsExpected}`,
    );

    // 4. Outages: each cut long enough to count recorded; every outage closed and reported.
    const outages = db.prepare('SELECT outage_id, started_at, ended_at, reported_at FROM outage').all() as {
      outage_id: number;
      started_at: number;
      ended_at: number | null;
      reported_at: number | null;
    }[];
    const reports = new Set(
      o.exchange.db
        .outageReports()
        .filter((r) => r.sender.includes(o.gatewayId) || r.sender === o.gatewayId)
        .map((r) => r.outageId),
    );
    const allReports = new Set(o.exchange.db.outageReports().map((r) => r.outageId));
    const unreported = outages.filter(
      (x) =>
        x.ended_at === null ||
        x.reported_at === null ||
        !(reports.has(x.outage_id) || allReports.has(x.outage_id)),
    );
    add(
      'every outage closed and reported to the exchange',
      unreported.length === 0 && outages.length > 0,
      `${outages.length} recorded, ${outages.length - unreported.length} reported`,
    );
    const checkable = o.episodes.filter((e) => e.daemonUp && e.endedAt - e.startedAt >= 3500);
    const unrecorded = checkable.filter(
      (e) =>
        !offsetsAround(e, o.clockJumps).some((offset) =>
          outages.some(
            (x) =>
              x.started_at <= e.endedAt + offset * 1000 + 10_000 &&
              (x.ended_at ?? Number.MAX_SAFE_INTEGER) >= e.startedAt + offset * 1000,
          ),
        ),
    );
    const stepped = checkable.filter((e) => offsetsAround(e, o.clockJumps).length > 1).length;
    add(
      'every cut and broker restart of 3.5 s or more (daemon up throughout) recorded as an outage',
      unrecorded.length === 0,
      `${checkable.length - unrecorded.length} of ${checkable.length} checked, ${stepped} with a clock step near or inside (not checked: ${o.episodes.filter((e) => !e.daemonUp).length} with the daemon restarted, ${o.episodes.filter((e) => e.endedAt - e.startedAt < 3500).length} shorter)${unrecorded.length ? `: missing ${unrecorded.map((e) => `${e.kind}@${new Date(e.startedAt).toISOString()}`).join(' ')}` : ''}`,
    );

    // 5. The database is sound.
    const integrity = db.pragma('integrity_check', { simple: true }) as string;
    add('agent database integrity_check', integrity === 'ok', integrity);

    // 6. The daemon: no crash of its own, a clean last stop, memory and descriptors bounded.
    add(
      'no daemon exit the soak did not cause',
      o.unexpectedExits.length === 0,
      o.unexpectedExits.length ? JSON.stringify(o.unexpectedExits).slice(0, 400) : undefined,
    );
    add('graceful SIGTERM at the end (exit 0)', o.finalStop.code === 0, JSON.stringify(o.finalStop));
    const peakRss = Math.max(0, ...o.samples.map((s) => s.rssBytes));
    add(
      `RSS bounded (peak ≤ ${RSS_LIMIT_BYTES / 1048576} MiB)`,
      peakRss > 0 && peakRss <= RSS_LIMIT_BYTES,
      `peak ${(peakRss / 1048576).toFixed(0)} MiB over ${o.samples.length} samples`,
    );
    const fds = o.samples.map((s) => s.fds);
    const fdMin = fds.length ? Math.min(...fds) : 0;
    const fdMax = fds.length ? Math.max(...fds) : 0;
    // Per incarnation: after its first 20 s, the last quarter may not sit above the first quarter.
    const growth: string[] = [];
    for (const d of o.daemons) {
      const own = o.samples.filter((s) => s.pid === d.pid && s.at - d.startedAt > 20_000);
      if (own.length < 40) continue;
      const q = Math.floor(own.length / 4);
      const early = Math.max(...own.slice(0, q).map((s) => s.fds));
      const late = Math.min(...own.slice(-q).map((s) => s.fds));
      if (late > early + FD_GROWTH) growth.push(`pid ${d.pid}: ${early} → ${late}`);
    }
    add(
      `no file-descriptor leak (≤ ${FD_LIMIT}, no steady growth)`,
      fds.length > 0 && fdMax <= FD_LIMIT && growth.length === 0,
      `range ${fdMin}–${fdMax}${growth.length ? `; grew: ${growth.join(', ')}` : ''}`,
    );

    const xstats = xdb
      .prepare('SELECT count(*) AS messages, sum(duplicates) AS resent FROM message')
      .get() as { messages: number; resent: number | null };
    return {
      invariants,
      figures: {
        genuine: genuine.length,
        genuineAtExchange: genuine.filter((l) => (atExchange.get(l.manifestId) ?? 0) === 1).length,
        manifestsStored: db.prepare('SELECT count(*) FROM manifest').pluck().get() as number,
        reads: db.prepare('SELECT count(*) FROM lock_read').pluck().get() as number,
        locksKnown: db.prepare('SELECT count(*) FROM lock').pluck().get() as number,
        alertsExpected,
        alertsDelivered,
        alertsTotal,
        outages: outages.length,
        outagesReported: outages.length - unreported.length,
        exchangeMessages: xstats.messages,
        exchangeDuplicatesAbsorbed: xstats.resent ?? 0,
        exchangeRejections: o.exchange.db.rejections().length,
        peakRssBytes: peakRss,
        fdMin,
        fdMax,
        samples: o.samples.length,
      },
    };
  } finally {
    db.close();
  }
}

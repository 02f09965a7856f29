import type Database from 'better-sqlite3';
import { CtopError } from '../errors.js';
import type { SpaceGuard } from './space.js';

/** What the console records; callers may add their own lower-case tokens. */
export const AUDIT_ACTIONS = [
  /** An officer logged in. */
  'login',
  /** A login was refused: wrong password, unknown account, or too many attempts. */
  'login_failed',
  'logout',
  /** A page or data request of a logged-in officer (target: the path). */
  'view',
  /** A manifest's goods body was decrypted for an officer, or the attempt was refused (target: manifest id). */
  'decrypt',
] as const;

export type AuditOutcome = 'ok' | 'refused' | 'failed';

export interface AuditInput {
  /** User name; '-' when no known account was named. */
  officer: string;
  /** Lower-case token, see AUDIT_ACTIONS. */
  action: string;
  /** Path or manifest id; cut at 512 characters. */
  target?: string;
  /** Default 'ok'. */
  outcome?: AuditOutcome;
  /** Why a request was refused or failed (an error code and message); never a manifest body or secret. Cut at 1000 characters. */
  detail?: string;
  /** The client address. */
  remote?: string;
}

export interface AuditRecord {
  id: number;
  at: number;
  officer: string;
  action: string;
  target?: string;
  outcome: AuditOutcome;
  detail?: string;
  remote?: string;
}

export interface AuditQuery {
  officer?: string;
  action?: string;
  /** At or after, ms. */
  since?: number;
  /** Only rows older than this id (paging backwards from the newest). */
  beforeId?: number;
  /** Default 100; newest first. */
  limit?: number;
}

interface AuditRow {
  audit_id: number;
  at: number;
  officer: string;
  action: string;
  target: string | null;
  outcome: AuditOutcome;
  detail: string | null;
  remote: string | null;
}

function fromRow(r: AuditRow): AuditRecord {
  return {
    id: r.audit_id,
    at: r.at,
    officer: r.officer,
    action: r.action,
    ...(r.target === null ? {} : { target: r.target }),
    outcome: r.outcome,
    ...(r.detail === null ? {} : { detail: r.detail }),
    ...(r.remote === null ? {} : { remote: r.remote }),
  };
}

const ACTION_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;
const OUTCOMES: readonly AuditOutcome[] = ['ok', 'refused', 'failed'];

/**
 * The console's audit trail (schema v2): every page view, every decrypt, every login, in
 * one append-only table. Writes go through the space guard like the sync's bookkeeping, so
 * a full disk surfaces as E_STORE_FULL and the console refuses the view rather than show
 * it unrecorded.
 */
export class AuditTrail {
  readonly #db: Database.Database;
  readonly #space: SpaceGuard;
  readonly #insert: Database.Statement<Record<string, unknown>>;
  readonly #get: Database.Statement<[number], AuditRow>;
  readonly #lists = new Map<string, Database.Statement<unknown[], AuditRow>>();

  constructor(db: Database.Database, space: SpaceGuard) {
    this.#db = db;
    this.#space = space;
    this.#insert = db.prepare(`
      INSERT INTO audit (at, officer, action, target, outcome, detail, remote)
      VALUES (@at, @officer, @action, @target, @outcome, @detail, @remote)`);
    this.#get = db.prepare('SELECT * FROM audit WHERE audit_id = ?');
  }

  /** Appends one entry at `at` (ms) and returns it as stored. */
  record(entry: AuditInput, at: number): AuditRecord {
    if (!ACTION_PATTERN.test(entry.action))
      throw new CtopError('E_STORE_INPUT', `audit action "${entry.action}" is not a token`);
    const outcome = entry.outcome ?? 'ok';
    if (!OUTCOMES.includes(outcome))
      throw new CtopError('E_STORE_INPUT', `audit outcome "${outcome}" is not one of ${OUTCOMES.join(', ')}`);
    const officer = entry.officer.slice(0, 64);
    if (officer.length === 0) throw new CtopError('E_STORE_INPUT', 'audit entry without an officer');
    if (!Number.isSafeInteger(at)) throw new CtopError('E_STORE_INPUT', 'audit time must be integer ms');
    return this.#space.run('audit', () => {
      const id = Number(
        this.#insert.run({
          at,
          officer,
          action: entry.action,
          target: entry.target?.slice(0, 512) ?? null,
          outcome,
          detail: entry.detail?.slice(0, 1000) ?? null,
          remote: entry.remote?.slice(0, 64) ?? null,
        }).lastInsertRowid,
      );
      return fromRow(this.#get.get(id)!);
    });
  }

  /** Entries in the order they were recorded, newest first. */
  list(query: AuditQuery = {}): AuditRecord[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.officer !== undefined) {
      where.push('officer = ?');
      params.push(query.officer);
    }
    if (query.action !== undefined) {
      where.push('action = ?');
      params.push(query.action);
    }
    if (query.since !== undefined) {
      where.push('at >= ?');
      params.push(query.since);
    }
    if (query.beforeId !== undefined) {
      where.push('audit_id < ?');
      params.push(query.beforeId);
    }
    const sql = `SELECT * FROM audit ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY audit_id DESC LIMIT ?`;
    let statement = this.#lists.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#lists.set(sql, statement);
    }
    return statement.all(...params, query.limit ?? 100).map(fromRow);
  }
}

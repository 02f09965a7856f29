import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Officer, OfficerRole } from './officers.js';

export interface SessionOptions {
  /** A session ends after this long without a request. Default 30 min. */
  idleMs?: number;
  /** And at the latest this long after login, however busy (one shift). Default 12 h. */
  maxMs?: number;
  /** Sessions held at most; the oldest goes first beyond it. Default 1000. */
  maxSessions?: number;
}

export interface Session {
  user: string;
  name: string;
  roles: readonly OfficerRole[];
  remote: string;
  createdAt: number;
  lastSeenAt: number;
}

/**
 * Server-side sessions. The cookie holds a random 256-bit id; the map is keyed by its
 * SHA-256 so the process never keeps a usable cookie value beyond the request (a heap
 * dump hands out no live session). Logging out, expiry and a restart all end a session.
 */
export class Sessions {
  readonly #clock: Clock;
  readonly #idleMs: number;
  readonly #maxMs: number;
  readonly #maxSessions: number;
  readonly #byHash = new Map<string, Session>();

  constructor(clock: Clock, options: SessionOptions = {}) {
    this.#clock = clock;
    this.#idleMs = options.idleMs ?? 30 * 60_000;
    this.#maxMs = options.maxMs ?? 12 * 3_600_000;
    this.#maxSessions = options.maxSessions ?? 1000;
  }

  get size(): number {
    return this.#byHash.size;
  }

  /** A new session with a new id: never reuse one across logins (session fixation). */
  create(officer: Officer, remote: string): { id: string; session: Session } {
    this.sweep();
    while (this.#byHash.size >= this.#maxSessions) {
      const oldest = this.#byHash.keys().next().value as string;
      this.#byHash.delete(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    const now = this.#clock.now();
    const session: Session = {
      user: officer.user,
      name: officer.name,
      roles: officer.roles,
      remote,
      createdAt: now,
      lastSeenAt: now,
    };
    this.#byHash.set(hashId(id), session);
    return { id, session };
  }

  /** The live session for a cookie value; `touch` counts the request as activity. */
  get(id: string | undefined, touch = true): Session | undefined {
    if (!id || id.length > 100) return undefined;
    const key = hashId(id);
    const session = this.#byHash.get(key);
    if (!session) return undefined;
    const now = this.#clock.now();
    if (this.#expired(session, now)) {
      this.#byHash.delete(key);
      return undefined;
    }
    if (touch) session.lastSeenAt = now;
    return session;
  }

  destroy(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const key = hashId(id);
    const session = this.#byHash.get(key);
    this.#byHash.delete(key);
    return session;
  }

  /** Drops expired sessions (called on login and by the console's timer). */
  sweep(): number {
    const now = this.#clock.now();
    let dropped = 0;
    for (const [key, session] of this.#byHash) {
      if (this.#expired(session, now)) {
        this.#byHash.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  #expired(session: Session, now: number): boolean {
    return now - session.lastSeenAt >= this.#idleMs || now - session.createdAt >= this.#maxMs;
  }
}

function hashId(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { Logger } from '../log.js';
import type { Language } from './i18n/languages.js';
import { localeFor } from './i18n/locale.js';
import { renderTrain } from './pages/train-strip.js';
import { NO_STORE, SECURITY_HEADERS } from './security-headers.js';
import type { Sessions } from './sessions.js';
import type { TrainFeed, TrainView } from './train-feed.js';

export interface TrainEventsOptions {
  /** Updates of one train within this window go out as one event. Default 150 ms. */
  intervalMs?: number;
  /** A comment line this often keeps proxies from closing the stream; the session is re-checked then. Default 15 s. */
  heartbeatMs?: number;
}

interface Listener {
  res: ServerResponse;
  sessionId: string;
  /** The page's language: its strip is rendered in it. */
  language: Language;
}

/** A page that cannot keep up is dropped (it reconnects and gets a fresh snapshot) rather than buffered without bound. */
const MAX_BUFFERED = 1024 * 1024;

/**
 * Server-Sent Events for the live strip. One subscription to the train feed fans out to
 * every open page; bursts (a progress event per manifest chunk) are coalesced per train, and
 * each event carries the train's section already rendered and escaped on the server (once
 * per language that has a page open), so the page's script only swaps markup and there is
 * one renderer. A stream whose session
 * has expired or was logged out is told so and ended.
 */
export class TrainEvents {
  readonly #feed: TrainFeed;
  readonly #sessions: Sessions;
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #listeners = new Set<Listener>();
  readonly #pending = new Map<string, TrainView>();
  readonly #heartbeat: NodeJS.Timeout;
  #flushTimer: NodeJS.Timeout | undefined;
  readonly #onUpdate = (train: TrainView) => {
    this.#pending.set(train.trainId, train);
    this.#flushTimer ??= setTimeout(() => this.#flush(), this.#intervalMs);
  };

  constructor(feed: TrainFeed, sessions: Sessions, log: Logger, options: TrainEventsOptions = {}) {
    this.#feed = feed;
    this.#sessions = sessions;
    this.#log = log;
    this.#intervalMs = options.intervalMs ?? 150;
    this.#heartbeat = setInterval(() => this.#beat(), options.heartbeatMs ?? 15_000);
    this.#heartbeat.unref();
    feed.on('update', this.#onUpdate);
  }

  get listeners(): number {
    return this.#listeners.size;
  }

  /** Takes over the reply: headers, the current snapshot, then updates until the page or the session goes. */
  attach(reply: FastifyReply, sessionId: string, language: Language): void {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': NO_STORE,
      connection: 'keep-alive',
      // Tells a reverse proxy (nginx) not to buffer the stream.
      'x-accel-buffering': 'no',
    });
    const listener: Listener = { res, sessionId, language };
    this.#listeners.add(listener);
    res.on('close', () => this.#listeners.delete(listener));
    // Oldest first: the page prepends trains it does not have yet, so the newest ends on top.
    const trains = [...this.#feed.snapshot()].reverse();
    res.write('retry: 2000\n\n');
    for (const train of trains) this.#send(listener, 'train', this.#payload(train, language));
  }

  /** Ends the streams of a session at once (logout), not at the next heartbeat. */
  endSession(sessionId: string): void {
    for (const l of this.#listeners) {
      if (l.sessionId !== sessionId) continue;
      this.#send(l, 'expired', '{}');
      l.res.end();
      this.#listeners.delete(l);
    }
  }

  /** Ends every stream (the server is closing) and lets go of the feed. */
  close(): void {
    clearInterval(this.#heartbeat);
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#feed.off('update', this.#onUpdate);
    for (const l of this.#listeners) l.res.end();
    this.#listeners.clear();
  }

  #payload(train: TrainView, language: Language): string {
    return JSON.stringify({
      trainId: train.trainId,
      startedAt: train.startedAt,
      html: renderTrain(localeFor(language), train).value,
    });
  }

  #flush(): void {
    this.#flushTimer = undefined;
    const trains = [...this.#pending.values()];
    this.#pending.clear();
    for (const train of trains) {
      const rendered = new Map<Language, string>();
      for (const l of this.#listeners) {
        if (!this.#live(l)) continue;
        let data = rendered.get(l.language);
        if (data === undefined) {
          data = this.#payload(train, l.language);
          rendered.set(l.language, data);
        }
        this.#send(l, 'train', data);
      }
    }
  }

  #beat(): void {
    for (const l of this.#listeners) {
      if (this.#live(l)) l.res.write(': ping\n\n');
    }
  }

  /** False (and the stream ended) when the session is gone. Does not count as activity. */
  #live(l: Listener): boolean {
    if (this.#sessions.get(l.sessionId, false)) return true;
    this.#send(l, 'expired', '{}');
    l.res.end();
    this.#listeners.delete(l);
    return false;
  }

  #send(l: Listener, event: string, data: string): void {
    if (l.res.writableLength > MAX_BUFFERED) {
      this.#log.warn(
        { buffered: l.res.writableLength },
        'live strip: a page fell behind; its stream was ended',
      );
      l.res.end();
      this.#listeners.delete(l);
      return;
    }
    l.res.write(`event: ${event}\ndata: ${data}\n\n`);
  }
}

import { type Clock, type ClockTimer, clockTimeout } from '../clock.js';
import { RetransmitTimer } from './rto.js';

/** A request that got no answer in time; the session retransmits it under a new sequence number. */
export class RequestTimeout extends Error {
  /** True when a later request was answered first: a loss, found without waiting. */
  constructor(readonly overtaken = false) {
    super('request timed out');
  }
}

/** One request waiting for its answer. */
export interface PendingRequest<K, M> {
  /** What was asked (the request's message type), for messages and type checks. */
  kind: K;
  /** Position in send order: a lock answers in order, so an answer to a later request means this one was lost. */
  order: number;
  sentAt: number;
  firstTransmission: boolean;
  timer: ClockTimer | undefined;
  resolve: (m: M) => void;
  reject: (e: Error) => void;
}

/** What a frame matching no pending request is: `late` (we gave up and resent), `replay` (answered already) or `stray`. */
export type UnmatchedKind = 'late' | 'replay' | 'stray';

export interface RequestMatcherOptions {
  clock: Clock;
  /** The first sequence number (random, so a new session is not confused with an old one). */
  firstSeq: number;
  /** The retransmission timeout's bounds (RFC 6298), from the link's line rate. */
  rto: { initialMs: number; minMs: number; maxMs: number };
}

/** How many answered/abandoned sequence numbers are remembered to classify unmatched frames. */
const SEQ_MEMORY = 256;

/**
 * Matches answers to requests by sequence number, with a timeout per request (as
 * zigbee-herdsman's utils/waitress.ts does for its adapters), and owns all the timing and
 * replay bookkeeping of one session: sequence numbers, the requests in flight, the
 * retransmission timeout measured from round trips (Karn's rule: first transmissions only),
 * and the memory of answered and abandoned sequence numbers that tells a replayed or late
 * frame from a stray one. The session decides what to do with what it reports (retransmit,
 * count, end the session); deadlines and replay limits on a whole read belong here too.
 */
export class RequestMatcher<K, M> {
  readonly #clock: Clock;
  readonly #rto: RetransmitTimer;
  readonly #pending = new Map<number, PendingRequest<K, M>>();
  readonly #answered = new SeqMemory(SEQ_MEMORY);
  readonly #abandoned = new SeqMemory(SEQ_MEMORY);
  #seq: number;
  #order = 0;
  /** When the last answer arrived: requests queued behind others are timed from here. */
  #lastAnswerAt = 0;
  /** When the timeout last backed off: once per silence, not once per request of the window. */
  #lastBackoffAt = 0;

  constructor(options: RequestMatcherOptions) {
    this.#clock = options.clock;
    this.#seq = options.firstSeq & 0xffff;
    this.#rto = new RetransmitTimer(options.rto);
  }

  /** The current retransmission timeout, ms. */
  get timeoutMs(): number {
    return this.#rto.timeoutMs;
  }

  /** The sequence number for the next transmission (a retransmission gets a new one). */
  nextSeq(): number {
    const seq = this.#seq;
    this.#seq = (this.#seq + 1) & 0xffff;
    return seq;
  }

  /** Waits for the answer to `seq`; rejects with RequestTimeout when none comes in time. */
  wait(seq: number, kind: K, firstTransmission: boolean): Promise<M> {
    return new Promise((resolve, reject) => {
      const pending: PendingRequest<K, M> = {
        kind,
        order: this.#order++,
        sentAt: this.#clock.monotonic(),
        firstTransmission,
        timer: undefined,
        resolve,
        reject,
      };
      this.#pending.set(seq, pending);
      this.#arm(seq, pending);
    });
  }

  /** The request waiting for `seq`, if any. */
  pending(seq: number): PendingRequest<K, M> | undefined {
    return this.#pending.get(seq);
  }

  /** Stops waiting for `seq` (answered, failed or given up). */
  forget(seq: number): void {
    const p = this.#pending.get(seq);
    p?.timer?.cancel();
    this.#pending.delete(seq);
  }

  /**
   * An answer to `seq` arrived. Karn: only first transmissions are sampled, and the time
   * spent queued behind earlier requests is not the lock's service time. Answers come in
   * request order, so every request sent before this one is lost; the others wait on.
   */
  answered(seq: number, pending: PendingRequest<K, M>): void {
    this.forget(seq);
    this.#answered.add(seq);
    const now = this.#clock.monotonic();
    if (pending.firstTransmission) this.#rto.sample(now - Math.max(pending.sentAt, this.#lastAnswerAt));
    this.#lastAnswerAt = now;
    for (const [other, p] of this.#pending) {
      if (p.order < pending.order) this.#lose(other, p, true);
      else this.#arm(other, p);
    }
  }

  /**
   * The session gave up on `seq` after a timeout and will resend: a late answer to it is
   * then recognised. The timeout backs off once per silence; a loss found by a later
   * answer (`overtaken`) is no silence at all.
   */
  abandoned(seq: number, overtaken: boolean): void {
    this.#abandoned.add(seq);
    const now = this.#clock.monotonic();
    if (!overtaken && now - this.#lastBackoffAt >= this.#rto.timeoutMs) {
      this.#rto.backoff();
      this.#lastBackoffAt = now;
    }
  }

  /** What a frame matching no pending request is. */
  classify(seq: number): UnmatchedKind {
    if (this.#abandoned.has(seq)) return 'late';
    return this.#answered.has(seq) ? 'replay' : 'stray';
  }

  /** Fails every request in flight with `err` (the session ended). */
  failAll(err: Error): void {
    for (const [seq, p] of this.#pending) {
      p.timer?.cancel();
      this.#pending.delete(seq);
      p.reject(err);
    }
  }

  /**
   * (Re)starts a request's timer. Timers restart whenever the lock answers anything: with
   * a window in flight, a request waits behind the others, and only silence means loss.
   */
  #arm(seq: number, pending: PendingRequest<K, M>): void {
    pending.timer?.cancel();
    pending.timer = clockTimeout(this.#clock, () => this.#lose(seq, pending), this.#rto.timeoutMs);
  }

  #lose(seq: number, pending: PendingRequest<K, M>, overtaken = false): void {
    pending.timer?.cancel();
    this.#pending.delete(seq);
    pending.reject(new RequestTimeout(overtaken));
  }
}

/** A bounded set of recent sequence numbers. */
class SeqMemory {
  #order: number[] = [];
  #set = new Set<number>();
  constructor(readonly capacity: number) {}
  add(seq: number): void {
    if (this.#set.has(seq)) return;
    this.#set.add(seq);
    this.#order.push(seq);
    if (this.#order.length > this.capacity) this.#set.delete(this.#order.shift()!);
  }
  has(seq: number): boolean {
    return this.#set.has(seq);
  }
}

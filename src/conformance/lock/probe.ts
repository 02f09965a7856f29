import { assertDeterministic } from '../../cbor/index.js';
import { ClockTimeout, systemClock, withTimeout } from '../../clock.js';
import { isCtopError, toCtopError } from '../../errors.js';
import { MAX_LINE, MESSAGE_NAMES, MessageType, RESPONSE_BIT } from '../../lock/codec/constants.js';
import { Frame } from '../../lock/codec/frame.js';
import { LineFramer } from '../../lock/codec/line-framer.js';
import {
  type BodyOf,
  decodeMessage,
  encodeMessage,
  type Message,
  type MessageTypeCode,
} from '../../lock/codec/messages.js';
import type { LinkOpener, LockLink } from '../../lock/transport/link.js';
import type { Findings } from './findings.js';

/**
 * The kit's side of one link: a gateway that sends exactly what a check scripts — frames
 * with chosen sequence numbers, damaged frames, raw bytes — and holds every line the lock
 * sends up to the requirements that apply to all of them (LINE-1, LINE-2, FRAME-1, FRAME-5,
 * SESS-1). Unlike the agent's session it never retransmits and never gives up on a lock's
 * mistake: it records it and goes on.
 */

export interface ProbeContext {
  findings: Findings;
  /** Every sequence number sent on any link of the run, by link number: a late answer from an earlier link is not a stray. */
  sentBefore: Map<number, number>;
  /** Quiet time after which an answer is given up. */
  answerTimeoutMs: number;
  random: (n: number) => Uint8Array;
  /** Round trips of lone requests, minus line time (TIME-1). */
  serviceTimes: number[];
  /** Lines and frames seen in the whole run, for the observed requirements' evidence. */
  seen: { lines: number; frames: number; stale: number };
}

export interface Arrival {
  seq: number;
  message: Message;
  /** performance.now() when the line completed. */
  at: number;
  bytes: number;
  /** Came as a binary frame (§13.4), not a line. */
  binary: boolean;
}

interface Sent {
  type: number;
  at: number;
  bytes: number;
  answers: number;
  /** The check sends this seq twice on purpose: a second answer is its finding, not SESS-1's. */
  duplicate: boolean;
}

/** A step of a check could not be taken (no answer, link gone): the check fails with this text. */
export class ProbeError extends Error {}

/**
 * `promise`, or a ProbeError after `ms`. A link that never settles an opening, a write or a
 * close (a lock that stopped reading, a port below node-serialport that never calls back)
 * must fail the check that needed it, not hang the whole run.
 */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return withTimeout(systemClock, promise, ms).catch((err: unknown) => {
    throw err instanceof ClockTimeout ? new ProbeError(`${what} did not complete within ${ms} ms`) : err;
  });
}

let linkCounter = 0;

export class ProbeLink {
  readonly arrivals: Arrival[] = [];
  readonly linkNo = ++linkCounter;
  readonly #link: LockLink;
  readonly #ctx: ProbeContext;
  readonly #framer: LineFramer;
  readonly #sent = new Map<number, Sent>();
  readonly #lineMs: number;
  #seq: number;
  #lastActivity = performance.now();
  #closed: string | undefined;
  #wake = new Set<() => void>();
  /** A HELLO offering binary framing was sent on this link (§13.4). */
  #offeredBinary = false;
  #binary = false;

  private constructor(link: LockLink, ctx: ProbeContext) {
    this.#link = link;
    this.#ctx = ctx;
    const seed = ctx.random(2);
    this.#seq = ((seed[0] ?? 0) << 8) | (seed[1] ?? 0);
    this.#lineMs = link.bytesPerSecond ? (MAX_LINE * 1000) / link.bytesPerSecond : 50;
    this.#framer = new LineFramer({ lineTimeoutMs: Math.max(1000, 4 * this.#lineMs), overflow: 'skip' });
    this.#framer.on('data', (line: Buffer) => this.#onLine(line));
    this.#framer.on('frame', (bytes: Buffer) => this.#onBinaryFrame(bytes));
    this.#framer.on('error', (err: Error) => {
      // Only a binary stream fails the framer (a lock's overlong lines are skipped): it is broken.
      ctx.findings.fail(
        'BIN-2',
        `link ${this.linkNo}: ${isCtopError(err) ? err.code : 'E_FRAME'}: ${err.message}`,
      );
      this.#gone(`binary stream broken: ${err.message}`);
    });
    this.#framer.on('overlong', (err: Error) => {
      const code = isCtopError(err) ? err.code : 'E_LINE';
      ctx.findings.fail('LINE-1', `link ${this.linkNo}: ${code}: ${err.message}`);
    });
    void this.#pump();
  }

  /** Opens a link and ends any half line the lock may hold from before (PROTOCOL.md §2). */
  static async open(opener: LinkOpener, ctx: ProbeContext): Promise<ProbeLink> {
    const opening = opener();
    let link: LockLink;
    try {
      link = await within(opening, ctx.answerTimeoutMs, 'opening the link');
    } catch (err) {
      // Opened after all, too late: closed, so the lock is not left holding a link nobody reads.
      opening.then((l) => l.close()).catch(() => undefined);
      throw err;
    }
    const probe = new ProbeLink(link, ctx);
    await probe.writeRaw(Buffer.from('\n'));
    return probe;
  }

  get closed(): string | undefined {
    return this.#closed;
  }

  /** Frames travel binary on this link: the lock accepted the offer (§13.4). */
  get binary(): boolean {
    return this.#binary;
  }

  /** Milliseconds `bytes` take on the line (0 on links without a nominal rate). */
  lineTime(bytes: number): number {
    return this.#link.bytesPerSecond ? (bytes * 1000) / this.#link.bytesPerSecond : 0;
  }

  nextSeq(): number {
    const seq = this.#seq;
    this.#seq = (this.#seq + 1) & 0xffff;
    return seq;
  }

  /** Sends a request frame; returns its seq. */
  async send<T extends MessageTypeCode>(
    type: T,
    body: BodyOf<T>,
    options: { seq?: number; duplicate?: boolean } = {},
  ): Promise<number> {
    const seq = options.seq ?? this.nextSeq();
    const frame = encodeMessage(type, seq, body);
    if (type === MessageType.Hello && (body as BodyOf<MessageType.Hello>).bin === true)
      this.#offeredBinary = true;
    await this.sendLine(
      this.#binary ? frame.toBuffer() : frame.toLine(),
      type,
      seq,
      options.duplicate === true,
    );
    return seq;
  }

  /** Sends a prepared frame line and registers its seq as a request of `type`. */
  async sendLine(line: Buffer, type: number, seq: number, duplicate = false): Promise<void> {
    const known = this.#sent.get(seq);
    this.#sent.set(seq, {
      type,
      at: performance.now(),
      bytes: line.byteLength,
      answers: known?.answers ?? 0,
      duplicate: duplicate || known?.duplicate === true,
    });
    this.#ctx.sentBefore.set(seq, this.linkNo);
    await this.writeRaw(line);
    const sent = this.#sent.get(seq);
    if (sent) sent.at = performance.now();
  }

  async writeRaw(bytes: Buffer): Promise<void> {
    if (this.#closed) throw new ProbeError(`link ${this.linkNo} is gone: ${this.#closed}`);
    try {
      // A lock that stops reading leaves the write pending: bounded by the answer timeout
      // plus the bytes' own line time.
      await within(
        this.#link.write(bytes),
        this.#ctx.answerTimeoutMs + this.lineTime(bytes.byteLength),
        `writing ${bytes.byteLength} bytes`,
      );
    } catch (err) {
      this.#gone(toCtopError(err).message);
      throw new ProbeError(`link ${this.linkNo} is gone: ${this.#closed}`);
    }
    this.#lastActivity = performance.now();
  }

  /** The first answer to `seq`, or undefined when the line stayed quiet for the answer timeout. */
  async answer(seq: number): Promise<Arrival | undefined> {
    for (;;) {
      const found = this.arrivals.find((a) => a.seq === seq);
      if (found) return found;
      if (this.#closed) return undefined;
      const quiet = performance.now() - this.#lastActivity;
      if (quiet >= this.#ctx.answerTimeoutMs) return undefined;
      await this.#sleep(this.#ctx.answerTimeoutMs - quiet);
    }
  }

  /**
   * Sends a request and waits for its answer; a lone request's round trip minus line time
   * is a TIME-1 sample. No answer fails SESS-1 and throws for the check.
   */
  async request<T extends MessageTypeCode>(
    type: T,
    body: BodyOf<T>,
    what = MESSAGE_NAMES[type],
  ): Promise<Message> {
    const lone = [...this.#sent.values()].every((s) => s.answers > 0 || s.duplicate);
    const seq = await this.send(type, body);
    const arrival = await this.answer(seq);
    if (!arrival) throw this.noAnswer(seq, what ?? `type ${type}`);
    const sent = this.#sent.get(seq)!;
    if (lone) this.#ctx.serviceTimes.push(arrival.at - sent.at - this.lineTime(sent.bytes + arrival.bytes));
    return arrival.message;
  }

  /** Records an unanswered request (SESS-1) and returns the error a check throws. */
  noAnswer(seq: number, what: string): ProbeError {
    const why = this.#closed
      ? `link ${this.linkNo} dropped before ${what} (seq ${hex(seq)}) was answered: ${this.#closed}`
      : `${what} (seq ${hex(seq)}) unanswered after ${this.#ctx.answerTimeoutMs} ms of silence`;
    if (!this.#closed) this.#ctx.findings.fail('SESS-1', why);
    return new ProbeError(why);
  }

  /** Waits `ms`, or until the link is gone. */
  async settle(ms: number): Promise<void> {
    const until = performance.now() + ms;
    while (!this.#closed && performance.now() < until) await this.#sleep(until - performance.now());
  }

  async close(): Promise<void> {
    this.#gone('closed by the kit');
    this.#framer.destroy();
    await within(this.#link.close(), this.#ctx.answerTimeoutMs, 'closing the link').catch(() => undefined);
  }

  async #pump(): Promise<void> {
    try {
      for (;;) {
        // Only whole lines count as activity: an endless line must not hold off the timeout.
        this.#framer.write(await this.#link.read());
      }
    } catch (err) {
      this.#gone(toCtopError(err).message);
    }
  }

  #gone(why: string): void {
    this.#closed ??= why;
    for (const wake of this.#wake) wake();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, ms));
      this.#wake.add(done);
    });
  }

  #onLine(raw: Buffer): void {
    const { findings, seen } = this.#ctx;
    this.#lastActivity = performance.now();
    seen.lines++;
    const crlf = raw.byteLength > 0 && raw[raw.byteLength - 1] === 0x0d;
    if (crlf) findings.fail('LINE-2', `link ${this.linkNo}: a line ends in CR LF`);
    if (raw.byteLength === 0 || raw[0] !== 0x7e) return; // noise (a boot banner) is allowed
    let frame: Frame;
    let message: Message;
    try {
      frame = Frame.fromLine(raw)!;
      message = decodeMessage(frame);
    } catch (err) {
      const e = toCtopError(err);
      findings.fail(
        e.code === 'E_FRAME_ENCODING' ? 'LINE-1' : 'FRAME-1',
        `link ${this.linkNo}: ${e.code}: ${e.message}`,
      );
      return;
    }
    if (message.type === MessageType.HelloResponse && message.body.bin === true) {
      if (!this.#offeredBinary || this.#link.kind !== 'ble') {
        findings.fail(
          this.#link.kind === 'ble' ? 'BIN-1' : 'BIN-4',
          `link ${this.linkNo} (${this.#link.kind}): HELLO_R accepts binary framing that was not offered`,
        );
      } else {
        // The lock's next byte is binary (§13.4): switch at this line's LF.
        this.#binary = true;
        this.#framer.binary();
      }
    }
    this.#onFrame(frame, message, raw.byteLength + 1, false);
  }

  /**
   * A binary frame (§13.4): judged as a line's frame is; a broken one ends the stream. After
   * the switch the framer reads only frames: a line from the lock breaks the stream (BIN-2,
   * through the framer's error).
   */
  #onBinaryFrame(bytes: Buffer): void {
    const { findings } = this.#ctx;
    this.#lastActivity = performance.now();
    let frame: Frame;
    let message: Message;
    try {
      frame = Frame.fromBuffer(bytes);
      message = decodeMessage(frame);
    } catch (err) {
      const e = toCtopError(err);
      findings.fail('BIN-2', `link ${this.linkNo}: binary frame: ${e.code}: ${e.message}`);
      if (!['E_FRAME_TYPE', 'E_FRAME_BODY'].includes(e.code))
        this.#gone(`binary stream broken: ${e.message}`);
      return;
    }
    this.#onFrame(frame, message, bytes.byteLength, true);
  }

  #onFrame(frame: Frame, message: Message, wireBytes: number, binary: boolean): void {
    const { findings, seen } = this.#ctx;
    seen.frames++;
    if (!(message.type & RESPONSE_BIT)) {
      findings.fail('FRAME-1', `link ${this.linkNo}: the lock sent a request (${frame.typeName})`);
      return;
    }
    try {
      assertDeterministic(frame.body, { maxDepth: 8, maxArrayLength: 64, maxMapSize: 64 });
    } catch (err) {
      findings.fail('FRAME-5', `${frame.typeName} seq ${hex(frame.seq)}: ${(err as Error).message}`);
    }
    this.#match(frame, message, wireBytes, binary);
    for (const wake of this.#wake) wake();
  }

  #match(frame: Frame, message: Message, wireBytes: number, binary: boolean): void {
    const { findings } = this.#ctx;
    const sent = this.#sent.get(frame.seq);
    if (!sent) {
      const link = this.#ctx.sentBefore.get(frame.seq);
      if (link !== undefined && link !== this.linkNo) this.#ctx.seen.stale++;
      else
        findings.fail(
          'SESS-1',
          `link ${this.linkNo}: ${frame.typeName} with seq ${hex(frame.seq)} answers no request`,
        );
      return;
    }
    sent.answers++;
    if (sent.answers > 1 && !sent.duplicate) {
      findings.fail(
        'SESS-1',
        `${MESSAGE_NAMES[sent.type]} seq ${hex(frame.seq)} answered ${sent.answers} times`,
      );
    }
    const expected = sent.type | RESPONSE_BIT;
    if (message.type !== expected && message.type !== MessageType.Error && isRequest(sent.type)) {
      findings.fail(
        'SESS-1',
        `${MESSAGE_NAMES[sent.type]} seq ${hex(frame.seq)} answered with ${frame.typeName}, not ${MESSAGE_NAMES[expected]} or ERROR`,
      );
    }
    this.arrivals.push({ seq: frame.seq, message, at: performance.now(), bytes: wireBytes, binary });
  }
}

function isRequest(type: number): boolean {
  return MESSAGE_NAMES[type] !== undefined && type < RESPONSE_BIT;
}

export function hex(seq: number): string {
  return `0x${seq.toString(16).padStart(4, '0')}`;
}

import { crc32 } from 'node:zlib';
import { Encoder } from 'cbor-x';
import { decodeToObjects } from '../../cbor/index.js';
import { MAX_LINE, MessageType, WireError } from '../../lock/codec/constants.js';
import { Frame } from '../../lock/codec/frame.js';
import { LineFramer } from '../../lock/codec/line-framer.js';
import { decodeMessage, encodeMessage } from '../../lock/codec/messages.js';
import { type Logger, silentLogger } from '../../log.js';
import { seededRandom } from '../prng.js';
import type { LockEngine } from './lock-engine.js';

/**
 * Misbehaviour a simulated lock can be told to show (issue 3 item 6). Rates are per
 * response frame. Counters marked "per link" restart when a new link comes up; one-shot
 * faults fire a limited number of times over the lock's life.
 */
export interface LockFaults {
  /** Seed of the fault PRNG, so a failing run can be replayed. Default 1. */
  seed?: number;
  /** Processing time per request, ms. */
  latencyMs?: number;
  /** Probability that a response is never sent. */
  dropRate?: number;
  /** Probability that a response goes out with a wrong CRC. */
  corruptCrcRate?: number;
  /** Probability that an earlier response is sent again after a response. */
  replayRate?: number;
  /** One-shot: after this many responses, ignore everything for `durationMs`. */
  stall?: { afterResponses: number; durationMs: number };
  /** One-shot (`times`, default 1): drop the link once this many manifest bytes were served. */
  disconnect?: { afterManifestBytes: number; times?: number };
  /** Per link: after this many responses, send bytes without a line end, forever. */
  endlessLine?: { afterResponses: number };
  /** Per link: after this many responses, send every response one byte per interval. */
  slowLoris?: { afterResponses: number; byteIntervalMs: number };
  /** Per link: after this many responses, responses carry a length field larger than their body. */
  oversizeFrameLength?: { afterResponses: number };
  /** Lines without the frame marker printed when a link comes up (a firmware boot banner). */
  bootBanner?: string[];
  /**
   * One-shot: drop the link right after the `after`-th response to a request of one of
   * `types` (all types when absent) — a cable pulled or a radio lost mid-pairing.
   */
  dropLinkAfter?: { after: number; types?: readonly MessageType[] };
  /** How long the lock stays dark after a power loss in the flash model (engine.flash). Default 200 ms. */
  powerOffMs?: number;
  /*
   * Line and frame mistakes a firmware could make, one per requirement of PROTOCOL.md §16
   * (protocol-logic ones are the engine's LockQuirks).
   */
  /** The lock's own line timeout, ms; 0 never drops a half line (breaks LINE-4). Default 5000. */
  lineTimeoutMs?: number;
  /** After 2047 bytes without a LF, start a new line with the next byte instead of discarding up to the LF (breaks LINE-3). */
  overlongRestart?: boolean;
  /** Answer a request with a bad CRC with ERROR MALFORMED instead of dropping it (breaks FRAME-2). */
  answerCorruptRequests?: boolean;
  /** Send the answers to two requests in a row in reverse order (breaks SESS-6). */
  reorderAnswers?: boolean;
  /** Answer BUSY while earlier answers are still on the wire, however small the window (breaks SESS-5). */
  busyBelowWindow?: boolean;
  /** End lines with CR LF (breaks LINE-2, a SHOULD). */
  crlf?: boolean;
  /** Encode answers with their keys in reverse order (breaks FRAME-5, a SHOULD). */
  nonCanonical?: boolean;
  /** A lock of revision 1.1, which knows nothing of binary framing: it ignores HELLO's `bin` (§13.4). */
  lineOnly?: boolean;
  /** Switch to binary framing on BLE though HELLO did not offer it (breaks BIN-1). */
  binaryUnasked?: boolean;
  /** After the switch, read `~` where a frame would start as a frame header (breaks BIN-3). */
  noLinesBetweenFrames?: boolean;
  /** Drop a broken binary frame and stay on the link, hoping to resynchronise (breaks BIN-5). */
  keepLinkOnBrokenBinary?: boolean;
}

/** Where a simulated lock's bytes go: the serving transport. */
export interface LockOutput {
  write(bytes: Buffer): void;
  /** Bytes written but not yet on the wire (pacing); lets endless output stay bounded. */
  readonly queued: number;
  /** Drops the link (pulls the cable, or disconnects the BLE connection). */
  dropLink(): void;
  /** The link can carry binary frames (BLE GATT, PROTOCOL.md §13.4); a serial line cannot. */
  readonly binaryFraming?: boolean;
}

export interface SimulatedLockStats {
  requests: number;
  responses: number;
  manifestBytesServed: number;
  linksUp: number;
  dropped: number;
  corrupted: number;
  replayed: number;
  disconnects: number;
}

/**
 * A lock as the gateway meets it: the protocol engine behind line framing, per-request
 * latency and the configured faults. Transport-agnostic: the serial server and the BLE
 * peripheral model both feed it bytes and give it a LockOutput.
 */
export class SimulatedLock {
  readonly engine: LockEngine;
  readonly faults: LockFaults;
  readonly stats: SimulatedLockStats = {
    requests: 0,
    responses: 0,
    manifestBytesServed: 0,
    linksUp: 0,
    dropped: 0,
    corrupted: 0,
    replayed: 0,
    disconnects: 0,
  };
  readonly #log: Logger;
  readonly #random: () => number;
  #output: LockOutput | undefined;
  #framer: LineFramer | undefined;
  #queue: Frame[] = [];
  #busy = false;
  #sent: Buffer[] = [];
  #linkResponses = 0;
  #stallFired = false;
  #stalledUntil = 0;
  #disconnectsLeft: number;
  #dropLinkCount = 0;
  #dropLinkFired = false;
  #timers = new Set<NodeJS.Timeout>();
  #powerTimer: NodeJS.Timeout | undefined;
  /** reorderAnswers: an answer held back until the next one has gone out. */
  #heldAnswer: Buffer | undefined;
  /** This link carries binary frames (after a HELLO_R that accepted them, §13.4). */
  #binary = false;

  constructor(engine: LockEngine, faults: LockFaults = {}, log: Logger = silentLogger) {
    this.engine = engine;
    this.faults = faults;
    this.#log = log.child({ component: 'lock-sim', lockId: engine.lockId });
    this.#random = seededRandom(faults.seed ?? 1);
    this.#disconnectsLeft = faults.disconnect?.times ?? 1;
  }

  /** A link came up: start listening and answering on it. */
  attach(output: LockOutput): void {
    this.detach();
    this.#output = output;
    this.#linkResponses = 0;
    this.#binary = false;
    this.stats.linksUp++;
    this.#newFramer(output);
    for (const line of this.faults.bootBanner ?? []) output.write(Buffer.from(`${line}\r\n`, 'latin1'));
  }

  /**
   * The lock bounds its input like the gateway does: a hostile gateway gets no more room.
   * An overlong or stalled line is dropped up to its LF and the lock listens on (§2).
   */
  #newFramer(output: LockOutput): void {
    const restart = this.faults.overlongRestart === true;
    const framer = new LineFramer({
      lineTimeoutMs: this.faults.lineTimeoutMs ?? 5000,
      // The faulty lock sees every line whole and cuts it itself (#onLine).
      ...(restart ? { maxLine: 1 << 20 } : { overflow: 'skip' as const }),
      linesBetweenFrames: this.faults.noLinesBetweenFrames !== true,
    });
    framer.on('data', (line: Buffer) => this.#onLine(restart ? restartAfterBound(line) : line));
    framer.on('frame', (bytes: Buffer) => this.#onBinaryFrame(bytes, output));
    framer.on('overlong', (err: Error) => this.#log.debug({ err: err.message }, 'input line dropped'));
    framer.on('error', (err: Error) => {
      if (this.#binary) {
        this.#lostSync(output, err.message);
        return;
      }
      this.#log.debug({ err: err.message }, 'input line rejected; starting a fresh line buffer');
      if (this.#output === output) this.#newFramer(output);
    });
    if (this.#binary) framer.binary();
    this.#framer = framer;
  }

  /** The link went away: forget queued work, stop all timers; the lock's session ends with it. */
  detach(): void {
    this.engine.endSession();
    this.#framer?.removeAllListeners();
    this.#framer?.destroy();
    this.#framer = undefined;
    this.#output = undefined;
    this.#queue = [];
    this.#busy = false;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  /** Bytes from the gateway. */
  receive(bytes: Uint8Array): void {
    this.#framer?.write(bytes);
  }

  #onLine(line: Buffer): void {
    let frame: Frame | undefined;
    try {
      frame = Frame.fromLine(line);
    } catch {
      // Firmware drops corrupt frames silently; the gateway retransmits.
      if (this.faults.answerCorruptRequests) this.#answerCorrupt(line);
      return;
    }
    if (!frame) return;
    this.#accept(frame);
  }

  /**
   * A binary frame (§13.4): one that fails the checks of §3 leaves no boundary to trust, so
   * the lock ends the link, and the gateway starts over on a new one.
   */
  #onBinaryFrame(bytes: Buffer, output: LockOutput): void {
    let frame: Frame;
    try {
      frame = Frame.fromBuffer(bytes);
    } catch (err) {
      this.#lostSync(output, (err as Error).message);
      return;
    }
    this.#accept(frame);
  }

  #lostSync(output: LockOutput, reason: string): void {
    if (this.#output !== output) return;
    if (this.faults.keepLinkOnBrokenBinary) {
      this.#log.debug({ reason }, 'binary stream broken; staying on the link (fault)');
      this.#framer?.removeAllListeners();
      this.#framer?.destroy();
      this.#newFramer(output);
      return;
    }
    this.#log.debug({ reason }, 'binary stream broken; dropping the link');
    this.detach();
    output.dropLink();
  }

  #accept(frame: Frame): void {
    this.stats.requests++;
    if (performance.now() < this.#stalledUntil) return;
    this.#queue.push(frame);
    this.#next();
  }

  #next(): void {
    if (this.#busy || this.#queue.length === 0 || !this.#output) return;
    this.#busy = true;
    const frame = this.#queue.shift()!;
    this.#later(this.faults.latencyMs ?? 0, () => {
      this.#busy = false;
      this.#answer(frame);
      this.#next();
    });
  }

  #answer(request: Frame): void {
    const output = this.#output;
    if (!output) return;
    if (performance.now() < this.#stalledUntil) return;
    if (this.engine.poweredOff) return;
    const response = this.engine.handle(request, {
      binaryFraming: output.binaryFraming === true && this.faults.lineOnly !== true,
      binary: this.#binary,
      unasked: this.faults.binaryUnasked === true,
    });
    if (this.engine.poweredOff) {
      this.#powerFailed(output);
      return;
    }
    if (!response) return;
    const f = this.faults;
    if (f.busyBelowWindow && output.queued > 0 && request.type === MessageType.Read) {
      output.write(
        this.#wire(encodeMessage(MessageType.Error, request.seq, { code: WireError.Busy, retry: 20 })),
      );
      return;
    }
    this.stats.responses++;
    this.#linkResponses++;
    const n = this.#linkResponses;

    if (f.stall && !this.#stallFired && n > f.stall.afterResponses) {
      this.#stallFired = true;
      this.#stalledUntil = performance.now() + f.stall.durationMs;
      this.#queue = [];
      this.#log.debug({ ms: f.stall.durationMs }, 'stalling');
      return;
    }
    if (f.endlessLine && n > f.endlessLine.afterResponses) {
      this.#endlessLine(output);
      return;
    }
    if (f.dropRate && this.#random() < f.dropRate) {
      this.stats.dropped++;
      return;
    }

    let line: Buffer;
    if (f.oversizeFrameLength && n > f.oversizeFrameLength.afterResponses) {
      line = this.#wireBytes(lyingLength(response));
    } else if (f.corruptCrcRate && this.#random() < f.corruptCrcRate) {
      this.stats.corrupted++;
      line = this.#wireBytes(corruptCrc(response));
    } else {
      line = this.#wire(f.nonCanonical ? reversedKeys(response) : response);
    }
    if (f.crlf && !this.#binary) line = Buffer.concat([line.subarray(0, -1), Buffer.from('\r\n')]);
    // The answer that accepts binary framing is the last line on this link (§13.4).
    if (!this.#binary && response.type === MessageType.HelloResponse && acceptsBinary(response)) {
      this.#binary = true;
      this.#framer?.binary();
    }

    if (f.slowLoris && n > f.slowLoris.afterResponses) {
      this.#dribble(output, line, f.slowLoris.byteIntervalMs);
      return;
    }
    this.#send(output, line);
    this.#remember(line);
    if (f.replayRate && this.#sent.length > 1 && this.#random() < f.replayRate) {
      this.stats.replayed++;
      output.write(this.#sent[Math.floor(this.#random() * (this.#sent.length - 1))]!);
    }

    const cut = f.dropLinkAfter;
    if (cut && !this.#dropLinkFired && (!cut.types || cut.types.includes(request.type))) {
      if (++this.#dropLinkCount >= cut.after) {
        this.#dropLinkFired = true;
        this.stats.disconnects++;
        this.#log.debug({ after: this.#dropLinkCount }, 'dropping the link after a response');
        this.detach();
        output.dropLink();
        return;
      }
    }

    if (response.type === MessageType.ReadResponse) {
      const read = decodeMessage(response);
      if (read.type === MessageType.ReadResponse) this.stats.manifestBytesServed += read.body.data.byteLength;
      const d = f.disconnect;
      if (
        d &&
        this.#disconnectsLeft > 0 &&
        this.stats.manifestBytesServed >= d.afterManifestBytes * (this.stats.disconnects + 1)
      ) {
        this.#disconnectsLeft--;
        this.stats.disconnects++;
        this.#log.debug({ served: this.stats.manifestBytesServed }, 'dropping the link mid-transfer');
        this.detach();
        output.dropLink();
      }
    }
  }

  /**
   * The flash model lost power mid-operation: the lock goes dark (queued requests and the
   * half-received line are gone with its RAM) and boots again after `powerOffMs`.
   */
  #powerFailed(output: LockOutput): void {
    this.#queue = [];
    this.#busy = false;
    this.#log.debug('power lost; rebooting');
    clearTimeout(this.#powerTimer);
    this.#powerTimer = setTimeout(() => {
      this.#powerTimer = undefined;
      this.engine.powerOn();
      if (this.#output !== output) return;
      this.#framer?.removeAllListeners();
      this.#framer?.destroy();
      this.#newFramer(output);
    }, this.faults.powerOffMs ?? 200);
    this.#powerTimer.unref?.();
  }

  /** Writes an answer; with reorderAnswers, every other one waits for the next (or 50 ms). */
  #send(output: LockOutput, line: Buffer): void {
    if (!this.faults.reorderAnswers) {
      output.write(line);
      return;
    }
    const held = this.#heldAnswer;
    if (held) {
      this.#heldAnswer = undefined;
      output.write(line);
      output.write(held);
      return;
    }
    this.#heldAnswer = line;
    this.#later(50, () => {
      if (this.#heldAnswer === line && this.#output === output) output.write(line);
      if (this.#heldAnswer === line) this.#heldAnswer = undefined;
    });
  }

  /** A frame as this link carries it: a line, or binary after the switch (§13.4). */
  #wire(frame: Frame): Buffer {
    return this.#wireBytes(frame.toBuffer());
  }

  /** The bytes of a frame (perhaps damaged on purpose) as this link carries them. */
  #wireBytes(frame: Buffer): Buffer {
    return this.#binary ? frame : Buffer.from(`~${frame.toString('base64')}\n`, 'latin1');
  }

  /** answerCorruptRequests: an ERROR MALFORMED with whatever seq the damaged frame carries. */
  #answerCorrupt(line: Buffer): void {
    const bin = Buffer.from(line.toString('latin1').replace(/^~/, '').trim(), 'base64');
    if (bin.byteLength < 4 || !this.#output) return;
    this.#output.write(
      this.#wire(
        encodeMessage(MessageType.Error, bin.readUInt16BE(2), {
          code: WireError.Malformed,
          msg: 'bad CRC',
        }),
      ),
    );
  }

  #remember(line: Buffer): void {
    this.#sent.push(line);
    if (this.#sent.length > 16) this.#sent.shift();
  }

  #endlessLine(output: LockOutput): void {
    const filler = Buffer.alloc(256, 'A');
    output.write(Buffer.from('~', 'latin1'));
    const pump = () => {
      if (this.#output !== output) return;
      while (output.queued < 4096) output.write(filler);
      this.#later(5, pump);
    };
    pump();
  }

  #dribble(output: LockOutput, line: Buffer, intervalMs: number): void {
    let i = 0;
    const step = () => {
      if (this.#output !== output || i >= line.byteLength) return;
      output.write(line.subarray(i, i + 1));
      i++;
      this.#later(intervalMs, step);
    };
    step();
  }

  #later(ms: number, fn: () => void): void {
    if (ms <= 0) {
      fn();
      return;
    }
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }
}

/** A frame whose CRC no longer matches its content. */
function corruptCrc(frame: Frame): Buffer {
  const bin = frame.toBuffer();
  bin[bin.byteLength - 1]! ^= 0x5a;
  return bin;
}

/** A frame whose length field claims 65535 body bytes, with a CRC that covers the lie. */
function lyingLength(frame: Frame): Buffer {
  const bin = frame.toBuffer();
  const head = Buffer.from(bin.subarray(0, bin.byteLength - 4));
  head.writeUInt16BE(0xffff, 4);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(head));
  return Buffer.concat([head, crc]);
}

function acceptsBinary(helloResponse: Frame): boolean {
  const message = decodeMessage(helloResponse);
  return message.type === MessageType.HelloResponse && message.body.bin === true;
}

/** What a lock that restarts a line at its bound sees: the bytes from the 2048th on, as a line of their own. */
function restartAfterBound(line: Buffer): Buffer {
  return line.byteLength >= MAX_LINE ? line.subarray(MAX_LINE - 1) : line;
}

/** The frame re-encoded with its body's keys in reverse order: legal CBOR, not deterministic. */
function reversedKeys(frame: Frame): Frame {
  const decoded = decodeToObjects(frame.body);
  if (!decoded || typeof decoded !== 'object' || Array.isArray(decoded)) return frame;
  const reversed = Object.fromEntries(Object.entries(decoded).reverse());
  const body = Buffer.from(nonCanonicalEncoder.encode(reversed));
  return new Frame(frame.version, frame.type, frame.seq, body);
}

const nonCanonicalEncoder = new Encoder({ useRecords: false, tagUint8Array: false });

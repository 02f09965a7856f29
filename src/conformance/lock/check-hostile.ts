import { encodeCanonical } from '../../cbor/index.js';
import { MAX_LINE, MessageType, WireError } from '../../lock/codec/constants.js';
import { Frame } from '../../lock/codec/frame.js';
import { encodeMessage, type LockInfo } from '../../lock/codec/messages.js';
import { checkOrder, isError } from './check-read.js';
import { hex, ProbeError, type ProbeLink } from './probe.js';
import { describe, hello, obtain, onLink, type Run, step } from './run.js';

/** A type no version of the protocol uses (vector unknown-type). */
const UNKNOWN_TYPE = 0x30;
/** How long the kit listens for an answer that must not come, after the one that must. */
const SILENCE_MS = 300;

/**
 * A hostile gateway (§2, §3, §9.2, §9.3): damaged and unknown frames, a repeated seq, a
 * window of mixed requests, an overlong line, half a frame then silence. The lock must
 * answer as the spec says and go on answering.
 */
export async function hostileChecks(run: Run): Promise<void> {
  const { findings } = run;
  await onLink(run, async (link) => {
    const lock = await obtain(run, 'FRAME-2', () => hello(run, link));
    if (!lock) return;
    await step(run, 'FRAME-2', async () => {
      const seq = link.nextSeq();
      const bin = encodeMessage(MessageType.Read, seq, { off: 0, len: 16 }).toBuffer();
      bin[bin.byteLength - 1]! ^= 0x01;
      await link.sendLine(Buffer.from(`~${bin.toString('base64')}\n`, 'latin1'), MessageType.Read, seq);
      await link.request(MessageType.Info, {}, 'INFO after a bad-CRC READ');
      await link.settle(SILENCE_MS);
      const answered = link.arrivals.find((a) => a.seq === seq);
      findings.check(
        'FRAME-2',
        !answered,
        answered
          ? `the bad-CRC READ (seq ${hex(seq)}) was answered ${describe(answered.message)}`
          : 'bad-CRC READ dropped; the INFO after it answered',
      );
    });
    await step(run, 'FRAME-3', async () => {
      const seq = link.nextSeq();
      await link.sendLine(new Frame(1, UNKNOWN_TYPE, seq, encodeCanonical({})).toLine(), UNKNOWN_TYPE, seq);
      const a = await link.answer(seq);
      if (!a) throw link.noAnswer(seq, `message type 0x${UNKNOWN_TYPE.toString(16)}`);
      findings.check(
        'FRAME-3',
        isError(a.message, WireError.UnknownType),
        `type 0x30 answered ${describe(a.message)}`,
      );
    });
    await step(run, 'FRAME-4', async () => {
      const seq = link.nextSeq();
      await link.sendLine(
        new Frame(1, MessageType.Read, seq, encodeCanonical({ off: 0 })).toLine(),
        MessageType.Read,
        seq,
      );
      const a = await link.answer(seq);
      if (!a) throw link.noAnswer(seq, 'READ without len');
      findings.check(
        'FRAME-4',
        isError(a.message, WireError.Malformed),
        `READ {off: 0} answered ${describe(a.message)}`,
      );
    });
    await step(run, 'SESS-2', async () => {
      const seq = link.nextSeq();
      const line = encodeMessage(MessageType.Info, seq, {}).toLine();
      await link.sendLine(line, MessageType.Info, seq, true);
      await link.sendLine(line, MessageType.Info, seq, true);
      await link.request(MessageType.Info, {}, 'INFO after the duplicate');
      await link.settle(SILENCE_MS);
      const n = link.arrivals.filter((a) => a.seq === seq).length;
      findings.check(
        'SESS-2',
        n === 1,
        `the same INFO frame (seq ${hex(seq)}) sent twice: answered ${n} time(s)`,
      );
    });
    await step(run, 'SESS-6', async () => mixedWindow(run, link, lock));
    await step(run, 'LINE-3', async () => {
      const hidden = link.nextSeq();
      const frame = encodeMessage(MessageType.Info, hidden, {}).toLine();
      await link.sendLine(Buffer.concat([Buffer.alloc(MAX_LINE - 1, 0x41), frame]), MessageType.Info, hidden);
      await link.request(MessageType.Info, {}, 'INFO after an overlong line');
      await link.settle(SILENCE_MS);
      const answered = link.arrivals.some((a) => a.seq === hidden);
      findings.check(
        'LINE-3',
        !answered,
        answered
          ? `a frame starting at byte ${MAX_LINE} of an overlong line (seq ${hex(hidden)}) was answered`
          : `a ${MAX_LINE - 1 + frame.byteLength}-byte line hiding a frame after byte ${MAX_LINE - 1}: nothing answered; the next line was`,
      );
    });
  });
}

/** LINE-4 and LINE-5 on a link of their own: they take 6 to 23 s of deliberate silence. */
export async function lineTimeoutChecks(run: Run): Promise<void> {
  await onLink(run, async (link) => {
    if (!(await obtain(run, 'LINE-4', () => hello(run, link)))) return;
    await halfLine(run, link);
  });
}

/** SESS-6: up to five different requests in flight, two of them wrong: answered in order. */
async function mixedWindow(run: Run, link: ProbeLink, info: LockInfo): Promise<void> {
  const k = Math.min(info.win, 5);
  if (k < 2) {
    run.findings.skip('SESS-6', `win ${info.win}: one request at a time, no order to check`);
    return;
  }
  const sent: number[] = [];
  const unknown = link.nextSeq();
  const requests: (() => Promise<number>)[] = [
    () => link.send(MessageType.Info, {}),
    () => link.send(MessageType.Read, { off: info.msize, len: 16 }),
    async () => {
      await link.sendLine(
        new Frame(1, UNKNOWN_TYPE, unknown, encodeCanonical({})).toLine(),
        UNKNOWN_TYPE,
        unknown,
      );
      return unknown;
    },
    () => link.send(MessageType.Events, { from: 1, max: 1 }),
    () => link.send(MessageType.Info, {}),
  ];
  for (const send of requests.slice(0, k)) sent.push(await send());
  for (const seq of sent) {
    if (!(await link.answer(seq))) throw link.noAnswer(seq, 'a request of a mixed window');
  }
  checkOrder(run, link, sent);
}

/**
 * LINE-4 and LINE-5: half a frame, then silence past the lock's line timeout, then a whole
 * request. A lock that dropped the half line answers it; one that did not glues the two and
 * drops both. First after 5.5 s (LINE-5, SHOULD), else again after 10.5 s (LINE-4, MUST).
 */
async function halfLine(run: Run, link: ProbeLink): Promise<void> {
  const attempt = async (waitMs: number): Promise<boolean> => {
    const line = encodeMessage(MessageType.Info, link.nextSeq(), {}).toLine();
    await link.writeRaw(line.subarray(0, Math.floor(line.byteLength / 2)));
    await link.settle(waitMs);
    const seq = await link.send(MessageType.Info, {});
    const answered = (await link.answer(seq)) !== undefined;
    if (link.closed) throw new ProbeError(`link ${link.linkNo} dropped: ${link.closed}`);
    return answered;
  };
  await step(run, 'LINE-4', async () => {
    if (await attempt(5500)) {
      run.findings.pass('LINE-5', 'half a frame, 5.5 s of silence: dropped, the next request answered');
      run.findings.pass('LINE-4', 'dropped within 5.5 s');
      return;
    }
    run.findings.fail(
      'LINE-5',
      'half a frame, 5.5 s of silence, then a request: not answered (the half line was kept)',
    );
    const ok = await attempt(10_500);
    run.findings.check(
      'LINE-4',
      ok,
      `half a frame, 10.5 s of silence, then a request: ${ok ? 'answered (the line timeout is over 5 s)' : 'not answered: the half line is never dropped'}`,
    );
  });
}

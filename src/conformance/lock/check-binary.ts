import { createHash } from 'node:crypto';
import { MessageType } from '../../lock/codec/constants.js';
import { encodeMessage, type LockInfo } from '../../lock/codec/messages.js';
import { readRange } from './check-read.js';
import { hex, ProbeError, type ProbeLink } from './probe.js';
import { describe, expectType, obtain, onLink, type Run, step } from './run.js';

const BIN_ON_BLE = ['BIN-1', 'BIN-2', 'BIN-3', 'BIN-5'] as const;

/**
 * Binary framing (§13.4). On a BLE link: never accepted unasked (BIN-1); accepted, every
 * frame after is binary and a whole manifest reads in binary (BIN-2); a HELLO sent again as a
 * line is answered binary (BIN-3); a binary frame with a bad CRC ends the link (BIN-5). On a
 * serial link the offer is ignored (BIN-4). A lock that declines meets what applies to it.
 */
export async function binaryChecks(run: Run): Promise<void> {
  if (run.transport === 'serial') {
    await serialChecks(run);
    for (const id of BIN_ON_BLE) run.findings.skip(id, 'needs a BLE link (--ble)');
    return;
  }
  run.findings.skip('BIN-4', 'needs a serial link (--serial)');
  await onLink(run, async (link) => {
    await step(run, 'BIN-1', async () => {
      const m = await helloWith(run, link, false);
      run.findings.check(
        'BIN-1',
        m.body.bin !== true && !link.binary,
        m.body.bin === true
          ? 'HELLO_R accepts binary framing nobody offered'
          : 'HELLO without `bin`: lines go on',
      );
    });
  });
  await onLink(run, async (link) => {
    const answer = await obtain(run, 'BIN-2', () => helloWith(run, link, true));
    if (!answer) return;
    if (answer.body.bin !== true) {
      for (const id of ['BIN-2', 'BIN-3', 'BIN-5'])
        run.findings.skip(id, 'the lock declines binary framing (a lock of revision 1.1): lines go on');
      return;
    }
    const { v: _v, bin: _bin, ...info } = answer.body;
    await step(run, 'BIN-2', async () => readInBinary(run, link, info));
    await step(run, 'BIN-3', async () => {
      const seq = link.nextSeq();
      const line = encodeMessage(MessageType.Hello, seq, { v: [1], gw: run.gatewayId, bin: true }).toLine();
      await link.sendLine(line, MessageType.Hello, seq);
      const a = await link.answer(seq);
      if (!a) throw link.noAnswer(seq, 'HELLO sent as a line on the binary link');
      run.findings.check(
        'BIN-3',
        a.binary && a.message.type === MessageType.HelloResponse,
        `HELLO as a line after the switch answered ${describe(a.message)} ${a.binary ? 'binary' : 'as a line'}`,
      );
    });
    await step(run, 'BIN-5', async () => {
      const seq = link.nextSeq();
      const frame = encodeMessage(MessageType.Read, seq, { off: 0, len: 16 }).toBuffer();
      frame[frame.byteLength - 1]! ^= 0x01;
      await link.sendLine(frame, MessageType.Read, seq);
      await link.settle(run.probe.answerTimeoutMs);
      const answered = link.arrivals.find((a) => a.seq === seq);
      run.findings.check(
        'BIN-5',
        !answered && link.closed !== undefined,
        answered
          ? `the bad-CRC binary READ (seq ${hex(seq)}) was answered ${describe(answered.message)}`
          : link.closed === undefined
            ? `the link was still up ${run.probe.answerTimeoutMs} ms after a bad-CRC binary READ`
            : 'bad-CRC binary READ not answered; the lock ended the link',
      );
    });
  });
}

/** BIN-2: the whole manifest (up to --max-manifest) in binary, checked against `mhash`. */
async function readInBinary(run: Run, link: ProbeLink, info: LockInfo): Promise<void> {
  if (!link.binary) throw new ProbeError('the link did not switch after HELLO_R accepted binary framing');
  const to = Math.min(info.msize, run.maxManifestBytes);
  if (to === 0) {
    const m = await link.request(MessageType.Info, {}, 'INFO in binary');
    run.findings.check('BIN-2', m.type === MessageType.InfoResponse, `binary INFO answered ${describe(m)}`);
    return;
  }
  const bytes = await readRange(run, link, info, 0, to, Math.max(1, Math.min(info.win, 16)));
  const whole = to === info.msize;
  const sha = createHash('sha256').update(bytes).digest();
  run.findings.check(
    'BIN-2',
    !whole || sha.equals(info.mhash),
    whole
      ? `${info.msize} bytes read in binary frames: SHA-256 ${sha.equals(info.mhash) ? '=' : '≠'} mhash`
      : `the first ${to} bytes read in binary frames (above --max-manifest: the hash not checked)`,
  );
}

/** BIN-4: on serial, `bin` is ignored and lines go on. */
async function serialChecks(run: Run): Promise<void> {
  await onLink(run, async (link) => {
    await step(run, 'BIN-4', async () => {
      const m = await helloWith(run, link, true);
      if (m.body.bin === true) return; // the probe failed BIN-4 on seeing it
      const info = await link.request(MessageType.Info, {}, 'INFO as a line after HELLO offering `bin`');
      run.findings.check(
        'BIN-4',
        info.type === MessageType.InfoResponse,
        `on serial HELLO offering \`bin\` answered without it; INFO as a line answered ${describe(info)}`,
      );
    });
  });
}

/** HELLO offering binary framing or not, and its answer. */
async function helloWith(run: Run, link: ProbeLink, bin: boolean) {
  const body = { v: [1], gw: run.gatewayId, ...(bin ? { bin: true } : {}) };
  return expectType(
    await link.request(MessageType.Hello, body, bin ? 'HELLO offering `bin`' : 'HELLO without `bin`'),
    MessageType.HelloResponse,
    'HELLO',
  );
}

import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_CHUNK, MAX_WINDOW, MessageType, WireError } from '../../lock/codec/constants.js';
import type { LockInfo } from '../../lock/codec/messages.js';
import { authenticate, openSession } from './check-session.js';
import { hex, ProbeError, type ProbeLink } from './probe.js';
import { describe, expectType, obtain, onLink, type Run, step } from './run.js';

/** READ: exact answers, a full window, any order, resume after a dropped link (§4.4, §9.3, §11). */
export async function readChecks(run: Run): Promise<void> {
  const { findings } = run;
  let info: LockInfo | undefined;
  await onLink(run, async (link) => {
    info = await obtain(run, 'READ-1', () => openSession(run, link));
    if (!info) return;
    const lock = info;
    if (lock.msize === 0) {
      for (const id of ['READ-1', 'READ-2', 'READ-3', 'SESS-5'])
        findings.skip(id, 'the lock carries no manifest (msize 0)');
      await step(run, 'READ-4', async () => {
        const m = await link.request(MessageType.Read, { off: 0, len: 16 }, 'READ without a manifest');
        findings.check(
          'READ-4',
          isError(m, WireError.NoManifest),
          `READ at 0 of no manifest answered ${describe(m)}`,
        );
      });
      return;
    }
    await step(run, 'READ-1', async () => {
      if (lock.msize > run.maxManifestBytes) {
        const last = lastChunk(lock);
        await readRange(run, link, lock, last, lock.msize, 1);
        findings.skip(
          'READ-1',
          `manifest of ${lock.msize} bytes is above --max-manifest ${run.maxManifestBytes}: only its last chunk was read (exact), the hash not checked`,
        );
        return;
      }
      const bytes = await readRange(run, link, lock, 0, lock.msize, windowOf(lock));
      const sha = createHash('sha256').update(bytes).digest();
      if (
        findings.check(
          'READ-1',
          sha.equals(lock.mhash),
          `${lock.msize} bytes in ${chunkOf(lock)}-byte chunks, window ${windowOf(lock)}: SHA-256 ${sha.equals(lock.mhash) ? '=' : '≠'} mhash`,
        )
      ) {
        run.manifest = bytes;
      }
    });
    await step(run, 'READ-2', async () => {
      const chunk = chunkOf(lock);
      const evidence: string[] = [];
      for (let off = lastChunk(lock), n = 0; off >= 0 && n < 8; off -= chunk, n++) {
        const data = await readRange(run, link, lock, off, Math.min(lock.msize, off + chunk), 1);
        const expected = run.manifest?.subarray(off, off + data.byteLength);
        if (expected && !expected.equals(data))
          throw new ProbeError(`READ at ${off} in reverse order returned other bytes than in order`);
        evidence.push(String(off));
      }
      findings.pass('READ-2', `offsets ${evidence.join(', ')} read in that order, bytes as read in order`);
    });
    await step(run, 'READ-4', async () => {
      const m = await link.request(MessageType.Read, { off: lock.msize, len: 16 }, 'READ at msize');
      findings.check(
        'READ-4',
        isError(m, WireError.OutOfRange),
        `READ at off = msize (${lock.msize}) answered ${describe(m)}`,
      );
    });
  });
  if (info && info.msize > 0 && info.msize <= run.maxManifestBytes) await resumeChecks(run, info);
}

/**
 * SESS-4 and READ-3: half the manifest on one link, a window of READs sent and the link
 * closed before their answers; on a new link HELLO must be answered (stale answers of the
 * old link may come first) and READ must continue where the first link stopped.
 */
async function resumeChecks(run: Run, info: LockInfo): Promise<void> {
  const { findings } = run;
  const chunk = chunkOf(info);
  const half = Math.floor(info.msize / chunk / 2) * chunk;
  let first: Buffer | undefined;
  const dropped = await step(run, 'READ-3', async () => {
    await onLink(run, async (link) => {
      await openSession(run, link);
      first = await readRange(run, link, info, 0, half, windowOf(info));
      for (let off = half, n = 0; off < info.msize && n < windowOf(info); off += chunk, n++) {
        await link.send(MessageType.Read, { off, len: Math.min(chunk, info.msize - off) });
      }
    });
  });
  if (!dropped) return;
  await onLink(run, async (link) => {
    let again: LockInfo | undefined;
    const answered = await step(run, 'SESS-4', async () => {
      const seq = await link.send(MessageType.Hello, { v: [1], gw: run.gatewayId });
      // The abandoned window's answers may still be on the line ahead of HELLO_R.
      const arrival = (await link.answer(seq)) ?? (await link.answer(seq));
      if (!arrival) throw link.noAnswer(seq, 'HELLO on a new link after one closed mid-window');
      const m = expectType(arrival.message, MessageType.HelloResponse, 'HELLO on the new link');
      findings.pass(
        'SESS-4',
        `HELLO on a new link answered after ${run.probe.seen.stale} stale answer(s) of the closed one`,
      );
      const { v: _v, ...rest } = m.body;
      again = rest;
    });
    if (!answered || !again) return;
    await step(run, 'READ-3', async () => {
      const same = again!.msize === info.msize && Buffer.from(again!.mhash).equals(info.mhash);
      if (!same)
        throw new ProbeError(
          `after the drop the lock announces msize ${again!.msize}, mhash ${hex16(again!.mhash)}, before ${info.msize}, ${hex16(info.mhash)}`,
        );
      await authenticate(run, link, again!);
      const rest = await readRange(run, link, info, half, info.msize, windowOf(info));
      const sha = createHash('sha256')
        .update(Buffer.concat([first!, rest]))
        .digest();
      findings.check(
        'READ-3',
        sha.equals(info.mhash),
        `resumed at byte ${half} on a new link: SHA-256 of both parts ${sha.equals(info.mhash) ? '=' : '≠'} mhash`,
      );
    });
  });
}

/**
 * READ [from, to) with `window` requests in flight. Checks every answer (READ-1: `off`
 * repeated, n = min(len, chunk, msize − off)); BUSY within the window fails SESS-5 and the
 * request is sent again after `retry`; answers out of send order fail SESS-6.
 */
export async function readRange(
  run: Run,
  link: ProbeLink,
  info: LockInfo,
  from: number,
  to: number,
  window: number,
): Promise<Buffer> {
  const { findings } = run;
  const chunk = chunkOf(info);
  const parts = new Map<number, Buffer>();
  const inFlight: { seq: number; off: number; len: number }[] = [];
  const sentOrder: number[] = [];
  let next = from;
  let busy = 0;
  while (next < to || inFlight.length > 0) {
    while (inFlight.length < window && next < to) {
      const len = Math.min(chunk, to - next);
      const seq = await link.send(MessageType.Read, { off: next, len });
      inFlight.push({ seq, off: next, len });
      sentOrder.push(seq);
      next += len;
    }
    const oldest = inFlight.shift()!;
    const arrival = await link.answer(oldest.seq);
    if (!arrival) throw link.noAnswer(oldest.seq, `READ at ${oldest.off}`);
    const m = arrival.message;
    if (m.type === MessageType.Error && m.body.code === WireError.Busy) {
      findings.fail(
        'SESS-5',
        `READ at ${oldest.off} answered BUSY with ${inFlight.length + 1} of win ${info.win} in flight`,
      );
      if (++busy > 50) throw new ProbeError('more than 50 BUSY answers: gave up reading');
      await sleep(Math.min(m.body.retry ?? 20, 1000));
      const seq = await link.send(MessageType.Read, { off: oldest.off, len: oldest.len });
      inFlight.push({ seq, off: oldest.off, len: oldest.len });
      continue;
    }
    if (m.type !== MessageType.ReadResponse) {
      throw new ProbeError(
        `READ [${oldest.off}, +${oldest.len}) of msize ${info.msize} answered ${describe(m)}`,
      );
    }
    const expected = Math.min(oldest.len, info.chunk, info.msize - oldest.off);
    if (m.body.off !== oldest.off || m.body.data.byteLength !== expected) {
      findings.fail(
        'READ-1',
        `READ [${oldest.off}, +${oldest.len}) answered off ${m.body.off} with ${m.body.data.byteLength} bytes, expected ${expected}`,
      );
      throw new ProbeError(`READ at ${oldest.off}: wrong answer`);
    }
    parts.set(oldest.off, Buffer.from(m.body.data));
  }
  checkOrder(run, link, sentOrder);
  if (window > 1 && !run.findings.failed('SESS-5'))
    findings.pass('SESS-5', `${window} READs in flight (win ${info.win}) all answered`);
  return Buffer.concat([...parts.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p));
}

/** SESS-6: the answers to `sent` arrived in the order the requests were sent. */
export function checkOrder(run: Run, link: ProbeLink, sent: number[]): void {
  const position = new Map(link.arrivals.map((a, i) => [a.seq, i] as const));
  const arrived = sent.filter((s) => position.has(s));
  for (let i = 1; i < arrived.length; i++) {
    if (position.get(arrived[i]!)! < position.get(arrived[i - 1]!)!) {
      run.findings.fail(
        'SESS-6',
        `the answer to seq ${hex(arrived[i]!)} came before the answer to ${hex(arrived[i - 1]!)}, sent earlier`,
      );
      return;
    }
  }
  if (arrived.length > 1) run.findings.pass('SESS-6', `${arrived.length} answers in request order`);
}

export function isError(m: { type: number; body: unknown }, code: number): boolean {
  return m.type === MessageType.Error && (m.body as { code: number }).code === code;
}

function chunkOf(info: LockInfo): number {
  return Math.min(MAX_CHUNK, info.chunk);
}

function windowOf(info: LockInfo): number {
  return Math.max(1, Math.min(MAX_WINDOW, info.win));
}

function lastChunk(info: LockInfo): number {
  return Math.floor((info.msize - 1) / chunkOf(info)) * chunkOf(info);
}

function hex16(b: Uint8Array): string {
  return `${Buffer.from(b).toString('hex').slice(0, 16)}…`;
}

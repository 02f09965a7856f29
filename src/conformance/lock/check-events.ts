import { EventKind, MAX_EVENTS_PER_FRAME, MessageType, SealState } from '../../lock/codec/constants.js';
import type { LockInfo } from '../../lock/codec/messages.js';
import { eventFromWire, type LockEvent, verifyEventChain } from '../../lock/event-log.js';
import { openSession } from './check-session.js';
import { ProbeError, type ProbeLink } from './probe.js';
import { expectType, obtain, onLink, type Run, step } from './run.js';

/** EVENTS and the log (§4.5, §7): EV-1, EV-2, EV-3. */
export async function eventChecks(run: Run): Promise<void> {
  const { findings } = run;
  await onLink(run, async (link) => {
    const lock = await obtain(run, 'EV-1', () => openSession(run, link));
    if (!lock) return;
    let events: LockEvent[] | undefined;
    await step(run, 'EV-1', async () => {
      const one = await eventsFrom(link, 1, 1);
      const firstOk = lock.ecount === 0 ? one.ev.length === 0 : one.ev.length === 1 && one.ev[0]![0] === 1;
      if (!firstOk) {
        findings.fail(
          'EV-1',
          `EVENTS {from: 1, max: 1} answered ${one.ev.length} event(s), counters [${one.ev.map((e) => e[0]).join(', ')}]`,
        );
      }
      events = await wholeLog(run, link, lock);
      const past = await eventsFrom(link, lock.ecount + 1, MAX_EVENTS_PER_FRAME);
      findings.check(
        'EV-1',
        past.ev.length === 0 && past.count === lock.ecount,
        `max 1 → ${one.ev.length} event; the whole log in order (${events.length} events, count ${lock.ecount}); from ${lock.ecount + 1} → ${past.ev.length} event(s), count ${past.count}`,
      );
    });
    if (!events) return;
    run.events = events;
    const problems = verifyEventChain(lock.id, lock.key, events, { count: lock.ecount, head: lock.ehead });
    findings.check(
      'EV-2',
      problems.length === 0,
      problems.length === 0
        ? `${events.length} events chained and signed, ending at ecount/ehead`
        : problems.map((p) => `${p.kind} at #${p.counter}: ${p.detail}`).join('; '),
    );
    cleanLog(run, lock, events);
  });
}

async function eventsFrom(link: ProbeLink, from: number, max: number) {
  const m = await link.request(MessageType.Events, { from, max }, `EVENTS from ${from}`);
  return expectType(m, MessageType.EventsResponse, `EVENTS {from: ${from}, max: ${max}}`).body;
}

/**
 * The log from 1, asking again from the last counter + 1. An answer beyond `max` fails
 * EV-1 but is used, so EV-2 and EV-3 are still judged; counters that do not run on from
 * `from` end the read.
 */
async function wholeLog(run: Run, link: ProbeLink, info: LockInfo): Promise<LockEvent[]> {
  const events: LockEvent[] = [];
  let from = 1;
  for (let round = 0; from <= info.ecount; round++) {
    if (round > 4096) throw new ProbeError('EVENTS never reaches ecount');
    const max = 16;
    const body = await eventsFrom(link, from, max);
    const counters = body.ev.map((e) => e[0]);
    if (body.ev.length === 0)
      throw new ProbeError(`EVENTS from ${from} answered nothing although ecount is ${info.ecount}`);
    if (counters[0] !== from || counters.some((c, i) => i > 0 && c !== counters[i - 1]! + 1)) {
      throw new ProbeError(`EVENTS {from: ${from}, max: ${max}} answered counters [${counters.join(', ')}]`);
    }
    if (body.ev.length > max)
      run.findings.fail('EV-1', `EVENTS {from: ${from}, max: ${max}} answered ${body.ev.length} events`);
    if (body.count !== info.ecount)
      run.findings.fail('EV-1', `EVENTS count ${body.count}, ecount ${info.ecount}`);
    events.push(...body.ev.map(eventFromWire));
    from = counters.at(-1)! + 1;
  }
  return events;
}

/** EV-3: a sealed lock with a manifest holds a commit naming it, followed by a seal (§7). */
function cleanLog(run: Run, info: LockInfo, events: readonly LockEvent[]): void {
  if (info.seal !== SealState.Sealed || info.msize === 0) {
    run.findings.skip(
      'EV-3',
      `not a sealed lock carrying a manifest (seal ${info.seal}, msize ${info.msize})`,
    );
    return;
  }
  const prefix = Buffer.from(info.mhash.subarray(0, 8));
  const commit = events.findIndex((e) => e.kind === EventKind.Commit && prefix.equals(e.detail));
  const seal = events.findIndex((e, i) => i > commit && e.kind === EventKind.Sealed);
  const why =
    events.length === 0
      ? 'the log is empty'
      : commit === -1
        ? `no commit event names the manifest (${prefix.toString('hex')})`
        : seal === -1
          ? `no sealed event after the commit (#${events[commit]!.counter})`
          : undefined;
  run.findings.check(
    'EV-3',
    why === undefined,
    why ?? `commit #${events[commit]!.counter} names the manifest, sealed #${events[seal]!.counter} follows`,
  );
}

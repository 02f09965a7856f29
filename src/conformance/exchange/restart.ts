import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kit } from './kit.js';
import type { BuiltMessage } from './messages.js';
import type { ObservedResult } from './probe.js';

/**
 * The restart checks (EXCHANGE.md §2.6, §8), run only when the operator gives commands
 * that stop and start the exchange under test: a burst of messages, a hard stop as soon as
 * the first receipt is out, then — every message a receipt accepted is still recorded,
 * resends are duplicates with the first receivedAt, and (with separate stop and start
 * commands) a message published while the exchange was down is answered once it is back.
 */
export interface RestartCommands {
  /** One command that stops the exchange hard and starts it again. */
  restart?: string;
  /** Stops the exchange (kill -9 is the honest test); must not return before it is down. */
  stop?: string;
  /** Starts it again. */
  start?: string;
  /** How long a command may run. */
  timeoutMs: number;
}

const BURST = 20;

export async function checkRestart(kit: Kit, commands: RestartCommands): Promise<void> {
  const stopStart = commands.stop !== undefined && commands.start !== undefined;
  if (!stopStart && commands.restart === undefined) {
    for (const id of ['restart.durable', 'restart.duplicate', 'restart.complete'])
      kit.skip(id, 'no --restart-command (or --stop-command and --start-command)');
  }
  if (!stopStart) kit.skip('restart.session', 'needs --stop-command and --start-command');
  if (!stopStart && commands.restart === undefined) return;

  const f = kit.factory;
  const burst = Array.from({ length: BURST }, () => f.message('pairing', f.pairing()));
  for (const m of burst) await kit.probe.publish(m.level, m.bytes);
  const ids = new Set(burst.map((m) => m.envelope.messageId));
  const firstAnswer = await kit.probe.nextResult(
    burst[0]!.envelope.messageId,
    burst[0]!.envelopeSha256,
    kit.timing.receiptTimeoutMs,
  );
  const stopped = await run(stopStart ? commands.stop! : commands.restart!, commands.timeoutMs);
  const acceptedBefore = new Map<string, ObservedResult>();
  for (const o of kit.probe.results) {
    if (ids.has(o.result.messageId) && o.result.status === 'accepted')
      acceptedBefore.set(o.result.messageId, o);
  }
  let whileDown: BuiltMessage | undefined;
  let started: string | undefined;
  if (stopStart) {
    whileDown = f.message('pairing', f.pairing());
    await kit.probe.publish(whileDown.level, whileDown.bytes);
    started = await run(commands.start!, commands.timeoutMs);
  }
  const commandProblems = [stopped, started].filter((p): p is string => p !== undefined);
  if (!firstAnswer) commandProblems.push(`no receipt for the burst within ${kit.timing.receiptTimeoutMs} ms`);

  if (whileDown) {
    const o = await kit.probe.nextResult(
      whileDown.envelope.messageId,
      whileDown.envelopeSha256,
      kit.timing.receiptTimeoutMs,
    );
    kit.record(
      'restart.session',
      [...commandProblems, ...kit.problems(o, { status: 'accepted', duplicate: false })],
      'published while stopped, answered after the start without a resend',
    );
  }
  await checkDurable(kit, burst, acceptedBefore, commandProblems);
}

async function checkDurable(
  kit: Kit,
  burst: BuiltMessage[],
  acceptedBefore: Map<string, ObservedResult>,
  commandProblems: string[],
): Promise<void> {
  const find = async (messageId: string) =>
    (
      await kit.probe.ask(
        kit.signer,
        { action: 'ctop/v1/query.document', messageId },
        kit.exchangeAddress,
        kit.timing.answerTimeoutMs,
      )
    ).answer?.result.records;
  const lost: string[] = [];
  for (const [messageId, o] of acceptedBefore) {
    const records = await find(messageId);
    if (records === undefined) lost.push(`no answer about ${messageId}`);
    else if (records.length !== 1 || records[0]!.receivedAt !== o.result.receivedAt)
      lost.push(`${messageId}: ${records.length} records after the restart`);
  }
  kit.record(
    'restart.durable',
    [...commandProblems, ...(acceptedBefore.size === 0 ? ['no receipt came before the stop'] : []), ...lost],
    `${acceptedBefore.size} messages accepted before the stop, all recorded after it`,
  );

  const duplicates: string[] = [];
  const incomplete: string[] = [];
  for (const m of burst) {
    const before = acceptedBefore.get(m.envelope.messageId);
    const o = await kit.send(kit.factory.resend(m));
    if (o?.result.status !== 'accepted')
      incomplete.push(`${m.envelope.messageId}: ${o?.result.status ?? 'no receipt'}`);
    if (before && (!o?.result.duplicate || o.result.receivedAt !== before.result.receivedAt)) {
      duplicates.push(
        `${m.envelope.messageId}: duplicate ${o?.result.duplicate}, receivedAt ${o?.result.receivedAt} (first ${before.result.receivedAt})`,
      );
    }
    const records = await find(m.envelope.messageId);
    if (records?.length !== 1)
      incomplete.push(`${m.envelope.messageId}: ${records?.length ?? 'no answer'} records`);
  }
  kit.record(
    'restart.duplicate',
    [
      ...commandProblems,
      ...(acceptedBefore.size === 0 ? ['no receipt came before the stop'] : []),
      ...duplicates,
    ],
    `${acceptedBefore.size} resends answered duplicate with the first receivedAt`,
  );
  kit.record(
    'restart.complete',
    [...commandProblems, ...incomplete],
    `${burst.length} messages, one record each`,
  );
}

/**
 * Runs an operator's shell command; a problem line when it fails or overruns. Its output
 * goes to a temporary file, not a pipe: a start command leaves the exchange running with
 * the descriptors it inherited, and a pipe closed under it would break its writes.
 */
function run(command: string, timeoutMs: number): Promise<string | undefined> {
  const file = path.join(os.tmpdir(), `ctop-conformance-${process.pid}-${Date.now()}.log`);
  const fd = openSync(file, 'w+', 0o600);
  return new Promise<string | undefined>((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', fd, fd] });
    const output = () => readFileSync(file, 'utf8').slice(0, 2000).trim();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(`\`${command}\` did not finish within ${timeoutMs} ms`);
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve(`\`${command}\`: ${err.message}`);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? undefined : `\`${command}\` exited ${code}: ${output()}`);
    });
  }).finally(() => {
    closeSync(fd);
    rmSync(file, { force: true });
  });
}

import type { LockInfo, Message } from '../../lock/codec/messages.js';
import type { LockEvent } from '../../lock/event-log.js';
import type { LinkOpener } from '../../lock/transport/link.js';
import type { Findings } from './findings.js';
import { type ProbeContext, ProbeError, ProbeLink } from './probe.js';

/** A lock's advertising as the kit hears it over BLE (ADV-1). */
export interface LockAdvertising {
  /** The seal state its scan response announced (§13.2; 0 unsealed, 1 sealed, 2 tampered). */
  sealState: number;
  /** When each of its advertising reports arrived over the next `durationMs`, ms on one monotonic clock. */
  reportsFor(durationMs: number): Promise<number[]>;
}

/** What one conformance run knows: how to reach the lock, what it learned, what it found. */
export interface Run {
  open: LinkOpener;
  /** What the links are: binary framing is checked on BLE, its refusal on serial (§13.4). */
  transport: 'serial' | 'ble';
  /** Over BLE, when the lock announces its GATT handles (§13.5): links at them alone. */
  announced?: { rxHandle: number; open: LinkOpener };
  /** Over BLE: the lock's advertising (ADV-1). */
  advertising?: LockAdvertising;
  findings: Findings;
  probe: ProbeContext;
  gatewayId: string;
  /** The identity key provisioned for the lock (AUTH-2), if the vendor gave one. */
  pinnedKey?: Uint8Array;
  /** Largest manifest read in full; beyond it only the ends are read. */
  maxManifestBytes: number;
  /** Learned on the way: HELLO_R, the manifest read, the log read. */
  info?: LockInfo;
  manifest?: Buffer;
  events?: LockEvent[];
}

/** A message's type and body narrowed, or a ProbeError naming what came instead. */
export function expectType<T extends Message['type']>(
  message: Message,
  type: T,
  what: string,
): Extract<Message, { type: T }> {
  if (message.type !== type) throw new ProbeError(`${what}: got ${describe(message)}`);
  return message as Extract<Message, { type: T }>;
}

export function describe(message: Message): string {
  if (message.type === 0xff)
    return `ERROR ${message.body.code}${message.body.msg ? ` (${message.body.msg})` : ''}`;
  return `type 0x${message.type.toString(16)}`;
}

/** Opens a link, runs `steps` on it, always closes it. */
export async function onLink<T>(run: Run, steps: (link: ProbeLink) => Promise<T>): Promise<T> {
  const link = await ProbeLink.open(run.open, run.probe);
  try {
    return await steps(link);
  } finally {
    await link.close();
  }
}

/** HELLO (version 1) and its answer, the lock info. */
export async function hello(run: Run, link: ProbeLink): Promise<LockInfo> {
  const answer = expectType(await link.request(0x01, { v: [1], gw: run.gatewayId }, 'HELLO'), 0x81, 'HELLO');
  const { v: _v, bin: _bin, ...info } = answer.body;
  return info;
}

/**
 * One step of a check: when it cannot be taken (no answer, the link gone, a wrong answer),
 * requirement `id` fails with the reason; returns whether it went through, so later steps
 * that need it are left not reached.
 */
export async function step(run: Run, id: string, body: () => Promise<void>): Promise<boolean> {
  try {
    await body();
    return true;
  } catch (err) {
    run.findings.fail(id, err instanceof ProbeError ? err.message : `kit error: ${(err as Error).stack}`);
    return false;
  }
}

/** `step` for a step that yields something later steps need: its value, or undefined when it failed `id`. */
export async function obtain<T>(run: Run, id: string, body: () => Promise<T>): Promise<T | undefined> {
  let value: T | undefined;
  const ok = await step(run, id, async () => {
    value = await body();
  });
  return ok ? value : undefined;
}

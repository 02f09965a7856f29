import { randomBytes } from 'node:crypto';
import { MessageType, WireError } from '../../lock/codec/constants.js';
import type { LockInfo, Message } from '../../lock/codec/messages.js';
import { authPayload, verifySignature } from '../../lock/identity.js';
import type { ProbeLink } from './probe.js';
import { describe, expectType, hello, onLink, type Run, step } from './run.js';

/**
 * HELLO, INFO, AUTH and the session state (PROTOCOL.md §4.1–§4.3, §5, §6, §9.1):
 * HELLO-1..3, AUTH-1..2, SESS-3.
 */
export async function sessionChecks(run: Run): Promise<void> {
  const { findings } = run;
  await onLink(run, async (link) => {
    await step(run, 'SESS-3', async () => {
      // A serial lock cannot see a cable change: BYE ends whatever session it still holds.
      await link.request(MessageType.Bye, {}, 'BYE');
      const m = await link.request(MessageType.Read, { off: 0, len: 16 }, 'READ before HELLO');
      findings.check('SESS-3', isError(m, WireError.BadState), `READ before HELLO answered ${describe(m)}`);
    });
    await step(run, 'HELLO-2', async () => {
      const m = await link.request(
        MessageType.Hello,
        { v: [200], gw: run.gatewayId },
        'HELLO offering only 200',
      );
      const versions = m.type === MessageType.Error ? m.body.v : undefined;
      findings.check(
        'HELLO-2',
        isError(m, WireError.Version) && versions?.includes(1) === true,
        `HELLO {v:[200]} answered ${describe(m)}${versions ? `, versions ${JSON.stringify(versions)}` : ''}`,
      );
    });
    const helloOk = await step(run, 'HELLO-1', async () => {
      const m = await link.request(MessageType.Hello, { v: [1], gw: run.gatewayId }, 'HELLO');
      const answer = expectType(m, MessageType.HelloResponse, 'HELLO');
      findings.check(
        'HELLO-1',
        answer.version === 1 && answer.body.v === 1,
        `HELLO_R in frame version ${answer.version}, v = ${answer.body.v}, lock ${answer.body.id}, msize ${answer.body.msize}, ecount ${answer.body.ecount}, chunk ${answer.body.chunk}, win ${answer.body.win}`,
      );
      const { v: _v, ...info } = answer.body;
      run.info = info;
    });
    if (!helloOk || !run.info) return;
    const info = run.info;
    await step(run, 'HELLO-3', async () => {
      const m = expectType(
        await link.request(MessageType.Info, {}, 'INFO'),
        MessageType.InfoResponse,
        'INFO',
      );
      const differ = differences(info, m.body);
      findings.check(
        'HELLO-3',
        differ.length === 0,
        differ.length ? `INFO differs from HELLO_R in ${differ.join(', ')}` : 'INFO = HELLO_R',
      );
    });
    await step(run, 'AUTH-1', async () => {
      const evidence: string[] = [];
      let ok = true;
      for (const nonce of [randomBytes(32), randomBytes(32)]) {
        const m = expectType(
          await link.request(MessageType.Auth, { nonce }, 'AUTH'),
          MessageType.AuthResponse,
          'AUTH',
        );
        const valid = verifyAuth(info, nonce, m.body.sig);
        ok &&= valid;
        evidence.push(
          `nonce ${nonce.subarray(0, 4).toString('hex')}…: signature ${valid ? 'verifies' : 'does NOT verify'}`,
        );
      }
      findings.check(
        'AUTH-1',
        ok,
        `${evidence.join('; ')} with key ${Buffer.from(info.key).toString('hex').slice(0, 16)}…`,
      );
    });
    if (run.pinnedKey) {
      const same = Buffer.from(run.pinnedKey).equals(info.key);
      findings.check(
        'AUTH-2',
        same,
        `announced ${Buffer.from(info.key).toString('hex')}${same ? ' = ' : ' ≠ '}pinned ${Buffer.from(run.pinnedKey).toString('hex')}`,
      );
    } else {
      findings.skip('AUTH-2', 'no --pin-key given: the provisioned key was not compared');
    }
    await byeThenRead(run, link);
  });
}

/** AUTH-1 for one answer: the §5.2 payload for the announced state, by the announced key. */
export function verifyAuth(info: LockInfo, nonce: Uint8Array, sig: Uint8Array): boolean {
  const payload = authPayload({
    lockId: info.id,
    nonce,
    manifestHash: info.mhash,
    eventHead: info.ehead,
    eventCount: info.ecount,
  });
  return verifySignature(payload, sig, info.key);
}

/** SESS-3 after BYE: the session is over, so READ is BAD_STATE. */
async function byeThenRead(run: Run, link: ProbeLink): Promise<void> {
  await step(run, 'SESS-3', async () => {
    const bye = await link.request(MessageType.Bye, {}, 'BYE');
    const m = await link.request(MessageType.Read, { off: 0, len: 16 }, 'READ after BYE');
    run.findings.check(
      'SESS-3',
      bye.type === MessageType.ByeResponse && isError(m, WireError.BadState),
      `BYE answered ${bye.type === MessageType.ByeResponse ? 'BYE_R' : describe(bye)}, READ after it ${describe(m)}`,
    );
  });
}

/** HELLO then AUTH on a link, for the checks that need a session (the answers are not judged here). */
export async function openSession(run: Run, link: ProbeLink): Promise<LockInfo> {
  const info = await hello(run, link);
  await authenticate(run, link, info);
  return info;
}

/** AUTH with a fresh nonce; a signature that does not verify fails AUTH-1 (the read goes on). */
export async function authenticate(run: Run, link: ProbeLink, info: LockInfo): Promise<void> {
  const nonce = randomBytes(32);
  const auth = expectType(
    await link.request(MessageType.Auth, { nonce }, 'AUTH'),
    MessageType.AuthResponse,
    'AUTH',
  );
  if (!verifyAuth(info, nonce, auth.body.sig))
    run.findings.fail('AUTH-1', `link ${link.linkNo}: AUTH_R does not verify`);
}

export function isError(m: Message, code: number): boolean {
  return m.type === MessageType.Error && m.body.code === code;
}

const COMPARED = [
  'id',
  'fw',
  'key',
  'seal',
  'msize',
  'mhash',
  'ecount',
  'ehead',
  'chunk',
  'win',
  'staged',
] as const;

function differences(a: LockInfo, b: LockInfo): string[] {
  return COMPARED.filter((k) => {
    const x = a[k];
    const y = b[k];
    return x instanceof Uint8Array && y instanceof Uint8Array ? !Buffer.from(x).equals(y) : x !== y;
  }).map((k) => `${k} (${show(a[k])} then ${show(b[k])})`);
}

function show(v: unknown): string {
  return v instanceof Uint8Array ? `${Buffer.from(v).toString('hex').slice(0, 12)}…` : String(v);
}

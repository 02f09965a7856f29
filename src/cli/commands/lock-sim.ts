import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { CtopError } from '../../errors.js';
import { loadPublicKey } from '../../keys/index.js';
import { LOCK_ID_PATTERN, SealState } from '../../lock/codec/constants.js';
import { createLogger } from '../../log.js';
import { simulatedLog } from '../../sim/lock/event-log-builder.js';
import { generateLockIdentity, LockEngine, type LockQuirks } from '../../sim/lock/lock-engine.js';
import { SerialLockServer } from '../../sim/lock/serial-lock-server.js';
import { type LockFaults, SimulatedLock } from '../../sim/lock/simulated-lock.js';
import { PtyPair } from '../../sim/pty-pair.js';
import { parseHex, parseInteger, parseRate } from '../parse.js';

/**
 * Firmware mistakes, one per requirement of PROTOCOL.md §16 (what `conformance lock` must
 * catch): [flag, LockFaults or LockQuirks key, where it lives, help].
 */
const MISTAKES: [string, string, 'faults' | 'quirks', string][] = [
  [
    '--overlong-restart',
    'overlongRestart',
    'faults',
    'LINE-3: restart a line at its 2048th byte instead of discarding it',
  ],
  [
    '--answer-corrupt-requests',
    'answerCorruptRequests',
    'faults',
    'FRAME-2: answer a bad-CRC request MALFORMED',
  ],
  ['--reorder-answers', 'reorderAnswers', 'faults', 'SESS-6: send two answers in a row in reverse order'],
  [
    '--busy-below-window',
    'busyBelowWindow',
    'faults',
    'SESS-5: answer READ BUSY while answers are on the wire',
  ],
  ['--crlf', 'crlf', 'faults', 'LINE-2: end lines with CR LF'],
  ['--non-canonical', 'nonCanonical', 'faults', 'FRAME-5: encode answers with keys in reverse order'],
  ['--answer-duplicates', 'answerDuplicates', 'quirks', 'SESS-2: answer a repeated seq again'],
  ['--silent-unknown-type', 'silentUnknownType', 'quirks', 'FRAME-3: no answer to an unknown type'],
  ['--silent-malformed', 'silentMalformed', 'quirks', 'FRAME-4: no answer to a malformed body'],
  ['--skip-session-check', 'noSessionCheck', 'quirks', 'SESS-3: serve requests before HELLO and after BYE'],
  ['--lenient-range', 'lenientRange', 'quirks', 'READ-4: answer READ past the end with no data'],
  ['--events-ignore-max', 'eventsIgnoreMax', 'quirks', 'EV-1: ignore the max of EVENTS'],
  ['--skip-version-error', 'noVersionError', 'quirks', 'HELLO-2: no VERSION error without a common version'],
  ['--info-mismatch', 'infoMismatch', 'quirks', 'HELLO-3: INFO announces another size than HELLO'],
  ['--sequential-reads', 'sequentialReads', 'quirks', 'READ-2/READ-3: serve READ in order from 0 only'],
];

const LOG_KINDS = ['clean', 'empty', 'foreign-commit', 'bad-signature'] as const;

export function register(program: Command): void {
  const n = (name: string) => parseInteger(name, 0, 2 ** 31);
  const command = program
    .command('lock-sim')
    .description('serve a simulated lock on a serial line (a fresh pseudo-terminal pair, or a tty path)')
    .option('--link <path>', 'with a fresh pty pair: the path the gateway opens (default: a temporary path)')
    .option('--path <tty>', 'serve on this existing tty instead of a fresh pty pair')
    .option('--manifest <file>', 'manifest bytes the lock carries (default: 8 KiB of random bytes)')
    .option('--lock-id <id>', 'lock id, 1-16 of A-Z 0-9 -', 'SSL-KZ-000123')
    .option('--baud <n>', 'line rate the output is paced to', parseInteger('--baud', 300, 4_000_000), 115200)
    .option(
      '--identity-seed <hex>',
      'Ed25519 seed of the lock identity (32 bytes hex; default random)',
      parseHex('--identity-seed', 32),
    )
    .option('--latency-ms <n>', 'processing time per request', n('--latency-ms'))
    .option('--drop-rate <p>', 'probability a response is dropped', parseRate('--drop-rate'))
    .option('--corrupt-rate <p>', 'probability a response has a bad CRC', parseRate('--corrupt-rate'))
    .option('--replay-rate <p>', 'probability an old response is sent again', parseRate('--replay-rate'))
    .option('--stall-after <n>', 'stall once after this many responses', n('--stall-after'))
    .option('--stall-ms <n>', 'how long the stall lasts', n('--stall-ms'), 5000)
    .option(
      '--disconnect-after <bytes>',
      'pull the cable once after serving this many manifest bytes',
      n('--disconnect-after'),
    )
    .option(
      '--endless-line-after <n>',
      'after this many responses, send an endless line',
      n('--endless-line-after'),
    )
    .option('--slow-loris-after <n>', 'after this many responses, dribble bytes', n('--slow-loris-after'))
    .option(
      '--slow-loris-interval-ms <n>',
      'pause between dribbled bytes',
      n('--slow-loris-interval-ms'),
      500,
    )
    .option(
      '--oversize-frame-after <n>',
      'after this many responses, lie in the frame length field',
      n('--oversize-frame-after'),
    )
    .option('--oversize-manifest', 'announce a 4 GiB manifest')
    .option('--wrong-hash', 'announce a manifest hash that does not match')
    .option('--cloned', 'present the identity public key but sign with another key')
    .option('--seed <n>', 'fault PRNG seed', n('--seed'), 1)
    .option(
      '--carrier-key <pub...>',
      'carrier public key files provisioned in the lock: who may pair it (ctop-agent pair)',
      (value: string, previous: string[] = []) => [...previous, value],
      [],
    )
    .option('--unsealed', 'a lock waiting at the loading track: unsealed, its log empty (pair it)')
    .addOption(
      new Option(
        '--log <kind>',
        'its event log: clean, empty (EV-3), foreign-commit (EV-3), bad-signature (EV-2)',
      )
        .choices(LOG_KINDS)
        .default('clean'),
    )
    .option(
      '--line-timeout-ms <n>',
      "the lock's own line timeout; 0 never (LINE-4), over 5000 (LINE-5)",
      n('--line-timeout-ms'),
    )
    .option(
      '--hello-version <n>',
      'HELLO-1: choose this version in HELLO_R',
      parseInteger('--hello-version', 1, 255),
    );
  for (const [flag, , , help] of MISTAKES) command.option(flag, help);
  command.action(async (opts) => {
    const log = createLogger({ fd: 2 });
    if (!LOCK_ID_PATTERN.test(opts.lockId)) {
      throw new CtopError('E_USAGE', `--lock-id "${opts.lockId}" must be 1-16 characters of A-Z, 0-9 and -`);
    }
    if (opts.path && opts.link) throw new CtopError('E_USAGE', '--path and --link exclude each other');
    let manifest: Uint8Array;
    try {
      // A lock waiting to be paired carries nothing yet unless told otherwise.
      manifest = opts.manifest
        ? readFileSync(opts.manifest)
        : opts.unsealed
          ? new Uint8Array(0)
          : randomBytes(8 * 1024);
    } catch (err) {
      throw new CtopError('E_FILE', `cannot read --manifest ${opts.manifest}: ${(err as Error).message}`);
    }
    const identity = generateLockIdentity(opts.identitySeed);
    const now = Math.floor(Date.now() / 1000);
    const events = simulatedLog(
      opts.lockId,
      identity.secretKey,
      manifest,
      opts.unsealed ? 'unpaired' : opts.log,
      {
        time: now - 3600,
      },
    );
    const mistakes = { faults: {} as Record<string, boolean>, quirks: {} as Record<string, unknown> };
    for (const [flag, key, where] of MISTAKES) {
      if (opts[camel(flag)]) mistakes[where][key] = true;
    }
    if (opts.helloVersion !== undefined) mistakes.quirks.helloVersion = opts.helloVersion;
    const carrierKeys = (opts.carrierKey as string[]).map((file) => {
      const key = loadPublicKey(file);
      if (key.role !== 'carrier') {
        throw new CtopError('E_KEY_ROLE', `${file} is a ${key.role} key, not a carrier key`);
      }
      return { kid: key.kid, publicKey: key.publicKey };
    });
    const faults: LockFaults = {
      seed: opts.seed,
      ...(opts.latencyMs !== undefined && { latencyMs: opts.latencyMs }),
      ...(opts.dropRate !== undefined && { dropRate: opts.dropRate }),
      ...(opts.corruptRate !== undefined && { corruptCrcRate: opts.corruptRate }),
      ...(opts.replayRate !== undefined && { replayRate: opts.replayRate }),
      ...(opts.stallAfter !== undefined && {
        stall: { afterResponses: opts.stallAfter, durationMs: opts.stallMs },
      }),
      ...(opts.disconnectAfter !== undefined && {
        disconnect: { afterManifestBytes: opts.disconnectAfter },
      }),
      ...(opts.endlessLineAfter !== undefined && {
        endlessLine: { afterResponses: opts.endlessLineAfter },
      }),
      ...(opts.slowLorisAfter !== undefined && {
        slowLoris: { afterResponses: opts.slowLorisAfter, byteIntervalMs: opts.slowLorisIntervalMs },
      }),
      ...(opts.oversizeFrameAfter !== undefined && {
        oversizeFrameLength: { afterResponses: opts.oversizeFrameAfter },
      }),
      ...(opts.lineTimeoutMs !== undefined && { lineTimeoutMs: opts.lineTimeoutMs }),
      ...mistakes.faults,
    };
    const engine = new LockEngine({
      lockId: opts.lockId,
      identity,
      manifest,
      events,
      carrierKeys,
      quirks: mistakes.quirks as LockQuirks,
      ...(opts.unsealed && { sealState: SealState.Unsealed }),
      ...(opts.oversizeManifest && { announcedSizeOverride: 0xfffffff0 }),
      ...(opts.wrongHash && { announcedHashOverride: randomBytes(32) }),
      ...(opts.cloned && { signingKeyOverride: generateLockIdentity().secretKey }),
    });
    const lock = new SimulatedLock(engine, faults, log);
    const pty = opts.path
      ? undefined
      : await PtyPair.open(opts.link ? { gatewayPath: opts.link, lockPath: `${opts.link}.lock` } : {});
    const server = await SerialLockServer.start({
      lock,
      path: opts.path ?? pty!.lockPath,
      baudRate: opts.baud,
      log,
      ...(pty ? { pty } : {}),
    });
    const gatewayPath = pty?.gatewayPath ?? `(the other end of ${opts.path})`;
    process.stdout.write(
      `lock ${opts.lockId} serving ${manifest.byteLength} manifest bytes at ${opts.baud} baud\n` +
        `identity ${Buffer.from(identity.publicKey).toString('hex')}\n` +
        `read it with: ctop-agent read --serial ${gatewayPath} --baud ${opts.baud} --out manifest.bin\n` +
        (carrierKeys.length > 0
          ? `pair it with: ctop-agent pair --serial ${gatewayPath} --baud ${opts.baud} --carrier-key <${carrierKeys[0]!.kid}.key> --manifest … --container … --wagon … --trust …\n`
          : ''),
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.stop();
    await pty?.close();
  });
}

/** Commander's property name of a flag: --answer-duplicates → answerDuplicates. */
function camel(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

import { type Command, Option } from 'commander';
import { writeFileAtomic } from '../../atomic-file.js';
import { readProvisionedLocks } from '../../config/references.js';
import { CtopError } from '../../errors.js';
import { assessTamper } from '../../ingest/tamper.js';
import { TrustStore } from '../../keys/index.js';
import { EVENT_KIND_NAMES } from '../../lock/codec/constants.js';
import type { LockInfo } from '../../lock/codec/messages.js';
import { type LockReadResult, readLock } from '../../lock/reader.js';
import { SerialLink } from '../../lock/transport/serial-link.js';
import { createLogger } from '../../log.js';
import { parseHex, parseInteger } from '../parse.js';
import { createProgress } from '../progress.js';
import { describeProof, proofOf, type ReadProof, signatureFailure } from '../read-proof.js';

const SEAL_STATES = ['unsealed', 'sealed', 'TAMPERED'];

export function describeLock(info: LockInfo): string {
  return [
    `lock        ${info.id}`,
    `firmware    ${info.fw}`,
    `key         ${Buffer.from(info.key).toString('hex')}`,
    `battery     ${info.bat}%`,
    `seal        ${SEAL_STATES[info.seal] ?? info.seal}`,
    `manifest    ${info.msize} bytes, sha256 ${Buffer.from(info.mhash).toString('hex')}`,
    `events      ${info.ecount}`,
  ].join('\n');
}

/** Every exit code of `read`, exact: what each proves or refutes (issue 18). */
const EXIT_HELP = `
Exit codes:
  0  the lock proved its identity key (pinned, or "first use, not pinned" as printed), the
     manifest bytes match the SHA-256 the lock signed in AUTH, the event log is an intact
     signed chain; and with --trust, the manifest's COSE signature is valid. Without --trust
     the signature is NOT checked (the output says so).
  2  usage: a bad or missing option.
  4  link or timeout: the device cannot be opened, or the lock did not answer in time.
  5  protocol violation: malformed frames, replays beyond the bound, an overlong line.
  6  integrity: a clone (key not the pinned one, or AUTH failed), impersonation, a manifest
     not matching its hash, a broken or tampered event log, a tampered manifest
     (E_MANIFEST_BAD_SIGNATURE), or --require-pin for a lock with no pinned key. Treat the
     container as suspect.
  7  manifest: with --trust, a manifest signed by an unknown, expired or revoked signer, or
     not a well-formed manifest.
See docs/ERRORS.md for every code.`;

export function register(program: Command): void {
  program
    .command('read')
    .description(
      'read one lock over a serial line: its identity, its manifest (written as read), its event log; --trust checks the manifest signature',
    )
    .requiredOption('--serial <path>', 'serial device of the lock, e.g. /dev/ttyUSB0')
    .option('--baud <n>', 'line rate', parseInteger('--baud', 300, 4_000_000), 115200)
    .requiredOption('--out <file>', 'where to write the manifest bytes exactly as read')
    .option(
      '--gateway-id <id>',
      'our gateway id, sent to the lock',
      process.env.CTOP_GATEWAY_ID ?? 'ctop-cli',
    )
    .option(
      '--pin-key <hex>',
      "the lock's provisioned Ed25519 identity key (32 bytes hex)",
      parseHex('--pin-key', 32),
    )
    .option(
      '--provisioned <file>',
      'a provisioning list (YAML/JSON of { lockId, identityKey }): pins the lock read',
    )
    .option(
      '--require-pin',
      'refuse a lock whose identity key is not pinned (exit 6) instead of reading it as first use',
    )
    .option('--trust <file>', "verify the manifest's COSE signature against this trust store")
    .option('--attempts <n>', 'links opened at most', parseInteger('--attempts', 1, 100), 6)
    .option(
      '--read-deadline <seconds>',
      'no valid answer for this long ends the read, whatever links are left (PROTOCOL.md §10)',
      parseInteger('--read-deadline', 1, 30),
      15,
    )
    .addOption(new Option('--json', 'print the result as JSON instead of text'))
    .addHelpText('after', EXIT_HELP)
    .action(async (opts) => {
      const log = createLogger({ fd: 2, level: process.env.CTOP_LOG_LEVEL ?? 'warn' });
      if (opts.requirePin && !opts.pinKey && !opts.provisioned) {
        throw new CtopError(
          'E_USAGE',
          '--require-pin needs --pin-key or --provisioned: there is nothing to pin against',
        );
      }
      const trust = opts.trust ? TrustStore.load(opts.trust) : undefined;
      const provisioned = opts.provisioned ? readProvisionedLocks(opts.provisioned) : [];
      const progress = opts.json ? undefined : createProgress('manifest');
      const result = await readLock({
        open: () => SerialLink.open({ path: opts.serial, baudRate: opts.baud }),
        gatewayId: opts.gatewayId,
        attempts: opts.attempts,
        readDeadlineMs: opts.readDeadline * 1000,
        ...(opts.pinKey ? { pinnedKey: opts.pinKey } : {}),
        pinnedKeyFor: (id) => provisioned.find((p) => p.lockId === id)?.identityKey,
        requirePin: opts.requirePin === true,
        log,
        onProgress: (p) => {
          if (p.phase === 'manifest' || p.phase === 'retrying') {
            progress?.update(
              p.bytes,
              p.total,
              p.phase === 'retrying' ? `retry ${p.attempt}: ${p.error?.code}` : '',
            );
          }
        },
      });
      progress?.stop();
      if (result.manifest) {
        // Confidential (CTOP Art. 6): owner-only from creation, also when it replaces a
        // file that was readable by others (writeFileSync would keep that file's mode).
        writeFileAtomic(opts.out, result.manifest, 0o600);
      }
      const proof = proofOf(result, trust);
      process.stdout.write(
        opts.json ? `${JSON.stringify(jsonOf(result, proof))}\n` : textOf(result, proof, opts.out),
      );
      if (result.error) throw result.error;
      if (result.chainProblems.length > 0) {
        throw new CtopError(
          'E_LOCK_TAMPER',
          `event log of ${result.info?.id}: ${result.chainProblems.map((p) => `${p.kind} at #${p.counter}`).join(', ')}`,
        );
      }
      // §7, the clean log of a sealed lock (and the other findings of the lock's own log),
      // as the daemon's and the train reader's ingest judge them.
      const findings = result.info && result.auth ? tamperFindings(result, result.info) : [];
      if (findings.length > 0) {
        throw new CtopError(
          'E_LOCK_TAMPER',
          `lock ${result.info?.id}: ${findings.map((f) => `${f.kind}: ${f.detail}`).join('; ')}`,
          { details: { findings: findings.map((f) => f.kind) } },
        );
      }
      const signature = signatureFailure(proof);
      if (signature) throw signature;
    });
}

function tamperFindings(result: LockReadResult, info: LockInfo) {
  return assessTamper({
    lockId: info.id,
    sealState: info.seal,
    manifestHash: info.msize > 0 ? info.mhash : undefined,
    eventCount: info.ecount,
    events: result.events,
  });
}

function jsonOf(result: LockReadResult, proof: ReadProof): object {
  return {
    outcome: result.outcome,
    error: result.error && { code: result.error.code, message: result.error.message },
    lockId: result.info?.id,
    identity: proof.identity,
    manifestSignature: proof.manifestSignature,
    ...(proof.signerKid ? { signerKid: proof.signerKid } : {}),
    manifestBytes: result.manifest?.byteLength,
    events: result.events.length,
    chainProblems: result.chainProblems,
    stats: result.stats,
    durationMs: result.finishedAt - result.startedAt,
  };
}

function textOf(result: LockReadResult, proof: ReadProof, out: string): string {
  const lines: string[] = [];
  if (result.info) lines.push(describeLock(result.info));
  for (const e of result.events) {
    const when = new Date(e.time * 1000).toISOString();
    lines.push(`  event #${e.counter} ${when} ${EVENT_KIND_NAMES[e.kind] ?? e.kind}`);
  }
  if (result.info) lines.push(...describeProof(proof, result.manifest !== undefined));
  if (result.manifest) {
    const secs = (result.finishedAt - result.startedAt) / 1000;
    lines.push(`wrote ${result.manifest.byteLength} bytes to ${out} in ${secs.toFixed(1)} s`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

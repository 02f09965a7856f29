import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { systemClock } from '../../clock.js';
import { CtopError } from '../../errors.js';
import { loadPrivateKey, loadPublicKey, signDetached, TrustStore } from '../../keys/index.js';
import { createLogger } from '../../log.js';
import { formatIssue, type RecipientKey, resolveLimits } from '../../manifest/index.js';
import {
  composeForPairing,
  type PairingPhase,
  type PairingResult,
  pairLock,
  preparePairing,
  type RecordedPairing,
  recordPairing,
} from '../../pairing/index.js';
import { DEFAULT_DB_PATH, openStore } from '../../store/index.js';
import { type ConnectedLock, connectLock, type LockLinkChoice, lockLinkOptions } from '../lock-link.js';
import { parseInteger } from '../parse.js';
import { createProgress } from '../progress.js';

interface PairOptions extends LockLinkChoice {
  container: string;
  wagon: string;
  manifest?: string;
  goods?: string;
  signKey?: string;
  to: string[];
  recipientKey: string[];
  trust: string;
  carrierKey: string;
  gatewayId: string;
  db: string;
  unseal?: string;
  attempts: number;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

const PHASE_NOTES: Record<PairingPhase, string> = {
  connecting: 'connecting',
  hello: 'identifying the lock',
  carrier_auth: 'carrier authentication',
  unseal: 'unsealing',
  write: 'writing',
  commit: 'committing',
  seal: 'sealing',
  verify: 'reading back',
  retrying: 'link lost, resuming',
  done: 'done',
};

/** The signed manifest to write: given, or composed, encrypted and signed here. */
function manifestBytes(opts: PairOptions, trust: TrustStore): Uint8Array {
  if (opts.manifest !== undefined) {
    if (opts.goods !== undefined || opts.signKey !== undefined) {
      throw new CtopError('E_USAGE', '--manifest excludes --goods and --sign-key');
    }
    const max = resolveLimits().maxBytes;
    try {
      const bytes = readFileSync(opts.manifest);
      if (bytes.byteLength > max) {
        throw new CtopError(
          'E_MANIFEST_TOO_LARGE',
          `${opts.manifest} is ${bytes.byteLength} bytes; at most ${max}`,
        );
      }
      return bytes;
    } catch (err) {
      if (err instanceof CtopError) throw err;
      throw new CtopError('E_FILE', `cannot read --manifest ${opts.manifest}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  if (opts.goods === undefined || opts.signKey === undefined) {
    throw new CtopError(
      'E_USAGE',
      'name the manifest: --manifest <signed.cose>, or --goods <file> --sign-key <file>',
    );
  }
  const composed = composeForPairing(opts.goods, loadPrivateKey(opts.signKey), recipients(opts, trust));
  for (const w of composed.warnings) process.stderr.write(`warning: ${formatIssue(w, composed.source)}\n`);
  return composed.bytes;
}

function recipients(opts: PairOptions, trust: TrustStore): RecipientKey[] {
  const out: RecipientKey[] = [];
  for (const kid of opts.to) {
    const key = trust.find(kid, 'recipient');
    if (!key)
      throw new CtopError('E_MANIFEST_RECIPIENT', `${kid} is not a customs recipient key in ${opts.trust}`);
    out.push({ kid, publicKey: key.publicKey });
  }
  for (const file of opts.recipientKey) {
    const key = loadPublicKey(file);
    if (key.role !== 'recipient') {
      throw new CtopError(
        'E_MANIFEST_RECIPIENT',
        `${file} is a ${key.role} key, not a customs recipient key`,
      );
    }
    out.push({ kid: key.kid, publicKey: key.publicKey });
  }
  if (out.length === 0) {
    throw new CtopError(
      'E_USAGE',
      '--goods needs the customs recipients: --to <kid...> (or --recipient-key <pub>)',
    );
  }
  return out;
}

function summary(result: PairingResult, recorded: RecordedPairing, seconds: number): string {
  const { steps } = result;
  const at = new Date(result.sealEvent.time * 1000).toISOString().replace(/\.000Z$/, 'Z');
  const did = [
    steps.unsealed ? 'unsealed' : undefined,
    steps.committed ? `wrote ${steps.bytesWritten} bytes` : 'already carried the manifest',
    steps.resumedFrom.length > 0 ? `resumed at ${steps.resumedFrom.join(', ')}` : undefined,
  ].filter(Boolean);
  return [
    `paired lock ${result.lockId} with container ${Buffer.from(result.sealEvent.detail).toString('utf8')}`,
    `manifest    ${result.manifestId} (${result.readBack.manifest?.byteLength} bytes): ${did.join(', ')}`,
    `commit      event ${result.commitEvent.counter}`,
    `sealed      event ${result.sealEvent.counter} at ${at}`,
    `read back   same manifest bytes, event chain of ${result.readBack.events.length} events valid`,
    `recorded    read ${recorded.ingest.readId}, pairing outbox row ${recorded.outboxId}${recorded.duplicate ? ' (recorded before)' : ''}`,
    `took        ${seconds.toFixed(1)} s over ${result.links + result.readBack.stats.links} link(s), ${result.retransmits} retransmission(s)`,
  ].join('\n');
}

export function register(program: Command): void {
  lockLinkOptions(program.command('pair'), 'the lock')
    .description(
      'pair a lock with a container at loading: write the signed manifest into the lock, commit, seal, read it back and record the pairing',
    )
    .requiredOption('--container <number>', 'container the lock closes (ISO 6346); must match the manifest')
    .requiredOption('--wagon <number>', 'wagon carrying the container; must match the manifest')
    .option('--manifest <file>', 'signed manifest to write (.cose)')
    .option('--goods <file>', 'goods file (JSON or CSV) to compose, encrypt and sign here instead')
    .option('--sign-key <file>', 'with --goods: customs signer private key (.key, mode 0600)')
    .option('--to <kid...>', 'with --goods: customs recipient key ids, looked up in --trust', collect, [])
    .option(
      '--recipient-key <pub...>',
      'with --goods: recipient public key files instead of --to',
      collect,
      [],
    )
    .requiredOption('--trust <file>', 'trust store: the manifest must verify before it is written')
    .requiredOption('--carrier-key <file>', 'carrier private key provisioned in the lock (.key, mode 0600)')
    .option('--gateway-id <id>', 'our gateway id', process.env.CTOP_GATEWAY_ID ?? 'ctop-cli')
    .option('--db <file>', 'the agent database the pairing is recorded in', DEFAULT_DB_PATH)
    .option(
      '--unseal <reason>',
      'unseal a lock still sealed for another consignment first (logged in the lock)',
    )
    .option('--attempts <n>', 'links opened at most before giving up', parseInteger('--attempts', 1, 100), 6)
    .addOption(new Option('--json', 'print the result as JSON instead of text'))
    .addHelpText(
      'after',
      '\nRun the same command again after an interruption (cable, power, crash): it continues from what the lock\nreports. Exit codes: 0 paired and confirmed; 2 usage (wrong lock, container or wagon, sealed lock);\n4 link; 6 the read-back does not confirm the pairing; 10 carrier key refused. See docs/ERRORS.md.',
    )
    .action(async (opts: PairOptions) => {
      const log = createLogger({ fd: 2, level: process.env.CTOP_LOG_LEVEL ?? 'warn' });
      if ((opts.serial === undefined) === (opts.ble === undefined)) {
        throw new CtopError('E_USAGE', 'name the lock link: --serial <path> or --ble <lock id>');
      }
      const trust = TrustStore.load(opts.trust);
      const carrierKey = loadPrivateKey(opts.carrierKey);
      if (carrierKey.role !== 'carrier') {
        throw new CtopError(
          'E_KEY_ROLE',
          `${opts.carrierKey} is a ${carrierKey.role} key, not a carrier key`,
        );
      }
      const manifest = preparePairing({
        manifest: manifestBytes(opts, trust),
        container: opts.container,
        wagon: opts.wagon,
        trust,
      });
      // The carrier holds the lock and it proves its key: first use is trustworthy here.
      const store = openStore({ path: opts.db, trustOnFirstUse: true, quickCheck: false, log });
      let link: ConnectedLock | undefined;
      try {
        link = await connectLock(opts, log);
        const open = link.open;
        const pinned = store.locks.get(manifest.routing.lockId)?.identityKey;
        const progress = opts.json ? undefined : createProgress('pairing');
        const started = systemClock.monotonic();
        let staged = 0;
        const result = await pairLock({
          open,
          manifest,
          container: manifest.routing.container,
          carrier: { kid: carrierKey.kid, sign: (payload) => signDetached(carrierKey, payload, 'carrier') },
          gatewayId: opts.gatewayId,
          attempts: opts.attempts,
          ...(opts.unseal === undefined ? {} : { unsealReason: opts.unseal }),
          ...(pinned ? { pinnedKey: pinned } : {}),
          log,
          onProgress: (p) => {
            const note = p.error ? `${PHASE_NOTES[p.phase]} (${p.error.code})` : PHASE_NOTES[p.phase];
            if (p.phase === 'write' || p.phase === 'commit') staged = p.staged;
            progress?.update(staged, p.total, note);
          },
        });
        progress?.stop();
        const recorded = recordPairing(result, {
          store,
          trust,
          log,
          clock: systemClock,
          wagon: manifest.routing.wagon,
          carrierKid: carrierKey.kid,
          gatewayId: opts.gatewayId,
        });
        const seconds = (systemClock.monotonic() - started) / 1000;
        if (opts.json) {
          process.stdout.write(
            `${JSON.stringify({
              lockId: result.lockId,
              container: manifest.routing.container,
              wagon: manifest.routing.wagon,
              manifestId: result.manifestId,
              commitCounter: result.commitEvent.counter,
              sealCounter: result.sealEvent.counter,
              sealedAt: result.sealEvent.time * 1000,
              steps: {
                unsealed: result.steps.unsealed,
                resumedFrom: result.steps.resumedFrom,
                bytesWritten: result.steps.bytesWritten,
                committed: result.steps.committed !== undefined,
                sealed: result.steps.sealed !== undefined,
              },
              findings: result.findings,
              readId: recorded.ingest.readId,
              outboxId: recorded.outboxId,
              duplicate: recorded.duplicate,
              links: result.links,
              retransmits: result.retransmits,
              durationMs: Math.round(seconds * 1000),
            })}\n`,
          );
        } else {
          process.stdout.write(`${summary(result, recorded, seconds)}\n`);
          for (const f of result.findings) {
            process.stdout.write(`warning: a checkpoint will flag this lock: ${f.detail}\n`);
          }
        }
      } finally {
        await link?.close();
        store.close();
      }
    });
}

import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { writeFileAtomic } from '../../atomic-file.js';
import { CtopError } from '../../errors.js';
import { loadPrivateKey, loadPublicKey, TrustStore } from '../../keys/index.js';
import { inspectManifest } from '../../manifest/index.js';
import { exportBundle, importBundle, openBundle } from '../../store/index.js';
import { parseInteger } from '../parse.js';
import { DB_OPTION, formatTime, openForCli, parseSince } from './store-common.js';

/** The fingerprint an officer reads out on the phone to check who signed a bundle. */
function fingerprint(publicKey: Uint8Array): string {
  return createHash('sha256')
    .update(publicKey)
    .digest('hex')
    .slice(0, 32)
    .replace(/(.{4})(?!$)/g, '$1 ');
}

function readLimited(file: string, max: number): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new CtopError('E_FILE', `cannot open ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const size = fstatSync(fd).size;
    if (size > max)
      throw new CtopError('E_BUNDLE_FORMAT', `${file} is ${size} bytes; the limit is ${max} (--max-bytes)`);
    const buf = Buffer.alloc(size);
    let done = 0;
    while (done < size) {
      const n = readSync(fd, buf, done, size - done, done);
      if (n === 0) break;
      done += n;
    }
    return buf.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

export function register(program: Command): void {
  program
    .command('export')
    .description(
      'write what this gateway stored since a time into a signed bundle, for manual transfer when the network is gone',
    )
    .requiredOption(
      '--since <time>',
      'stored at or after: 2025-03-14, 2025-03-14T08:00Z, or an age such as 72h',
      parseSince(),
    )
    .requiredOption('--out <file>', 'the bundle to write (mode 0600)')
    .requiredOption('--key <file>', "this gateway's private key (role gateway, mode 0600)")
    .option('--gateway-id <id>', 'the gateway id recorded in the bundle (default: the key id)')
    .option(...DB_OPTION)
    .action((opts: { since: number; out: string; key: string; gatewayId?: string; db: string }) => {
      const key = loadPrivateKey(opts.key);
      if (key.role !== 'gateway') {
        throw new CtopError(
          'E_KEY_ROLE',
          `${opts.key} is a ${key.role} key; a bundle is signed with the gateway key`,
        );
      }
      const store = openForCli(opts.db);
      try {
        const { bundle, summary } = exportBundle(store, {
          since: opts.since,
          gatewayId: opts.gatewayId ?? key.kid,
          key,
          now: Date.now(),
        });
        // Owner-only: a bundle carries confidential customs data.
        writeFileAtomic(opts.out, bundle, 0o600);
        process.stdout.write(
          `${opts.out}: ${summary.manifests} manifests, ${summary.reads} reads, ${summary.events} lock events, ${summary.alerts} alerts, ` +
            `${summary.locks} locks stored since ${formatTime(opts.since)} (${bundle.byteLength} bytes)\n` +
            `signed by ${key.kid}, key fingerprint ${fingerprint(key.publicKey)}\n` +
            (summary.purged > 0
              ? `${summary.purged} manifests already acknowledged and purged were left out\n`
              : '') +
            `import it with: ctop-agent import ${path.basename(opts.out)} --trust <trust store with ${key.kid}>\n`,
        );
      } finally {
        store.close();
      }
    });

  program
    .command('import')
    .description(
      'import a signed bundle from another gateway: checked, deduplicated, queued for sync from here',
    )
    .argument('<file>', 'the bundle written by `ctop-agent export`')
    .option('--trust <file>', 'trust store holding the sending gateway key; also re-verifies every manifest')
    .option('--signer <file>', "the sending gateway's public key file (.pub) instead of --trust")
    .option(
      '--max-bytes <n>',
      'largest bundle accepted (default 1 GiB)',
      parseInteger('--max-bytes', 1024, 2 ** 40),
      2 ** 30,
    )
    .option(...DB_OPTION)
    .action((file: string, opts: { trust?: string; signer?: string; maxBytes: number; db: string }) => {
      if ((opts.trust === undefined) === (opts.signer === undefined)) {
        throw new CtopError(
          'E_USAGE',
          'name the sending gateway key: --trust <trust store> or --signer <gateway.pub>',
        );
      }
      const bytes = readLimited(file, opts.maxBytes);
      // Self-consistency first, to learn which key signed it; then that key must be trusted here.
      const claimed = openBundle(bytes).signer;
      let trustedSigner: { kid: string; publicKey: Uint8Array };
      let trust: TrustStore | undefined;
      if (opts.trust !== undefined) {
        trust = TrustStore.load(opts.trust);
        const key = trust.find(claimed.kid, 'gateway');
        if (!key) {
          throw new CtopError(
            'E_BUNDLE_SIGNATURE',
            `the bundle is signed by "${claimed.kid}" (fingerprint ${fingerprint(claimed.publicKey)}), which is not a gateway key in ${opts.trust}`,
          );
        }
        trustedSigner = { kid: key.kid, publicKey: key.publicKey };
      } else {
        const key = loadPublicKey(opts.signer!);
        if (key.role !== 'gateway')
          throw new CtopError('E_KEY_ROLE', `${opts.signer} is a ${key.role} key, not a gateway key`);
        trustedSigner = { kid: key.kid, publicKey: key.publicKey };
      }
      const store = openForCli(opts.db, { create: true });
      try {
        const r = importBundle(store, bytes, {
          trustedSigner,
          now: Date.now(),
          ...(trust ? { inspect: (m: Uint8Array) => inspectManifest(m, trust) } : {}),
        });
        if (r.alreadyImported) {
          process.stdout.write(`${file}: already imported; nothing changed\n`);
          return;
        }
        process.stdout.write(
          `${file}: from gateway ${r.gatewayId}, signed by ${r.signerKid} (fingerprint ${fingerprint(trustedSigner.publicKey)})\n` +
            `  manifests  ${r.manifests.new} new, ${r.manifests.seen} already stored\n` +
            `  reads      ${r.reads.new} new, ${r.reads.seen} already stored\n` +
            `  events     ${r.events.new} new, ${r.events.seen} already stored${r.events.conflicts > 0 ? `, ${r.events.conflicts} CONFLICTING` : ''}${r.events.skipped > 0 ? `, ${r.events.skipped} skipped (lock key differs)` : ''}\n` +
            `  alerts     ${r.alerts.new} new, ${r.alerts.seen} already stored\n` +
            `  ${r.outboxIds.length} outbox rows queued for the exchange\n`,
        );
      } finally {
        store.close();
      }
    });
}

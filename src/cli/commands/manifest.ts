import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { Command } from 'commander';
import { writeFileAtomic } from '../../atomic-file.js';
import { CtopError } from '../../errors.js';
import { loadPrivateKey, loadPublicKey, TrustStore } from '../../keys/index.js';
import {
  composeManifest,
  decodeDraft,
  encodeDraft,
  encodePayload,
  encryptFor,
  formatIssue,
  type GoodsFileFormat,
  inspectManifest,
  type ManifestLimits,
  openManifest,
  type RecipientKey,
  readGoodsFile,
  renderBody,
  renderInspection,
  resolveLimits,
  signManifest,
} from '../../manifest/index.js';
import { parseInteger } from '../parse.js';

interface LimitOptions {
  maxBytes?: number;
}

function limitsOf(opts: LimitOptions): Partial<ManifestLimits> {
  return opts.maxBytes === undefined ? {} : { maxBytes: opts.maxBytes };
}

/** Reads an input file, refusing one larger than `max` before reading it. */
function readInput(file: string, max: number): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new CtopError('E_FILE', `cannot open ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const size = fstatSync(fd).size;
    if (size > max) {
      throw new CtopError(
        'E_MANIFEST_TOO_LARGE',
        `${file} is ${size} bytes; the limit is ${max} (--max-bytes)`,
        {
          details: { size, limit: max },
        },
      );
    }
    const buf = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, buf, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    return buf.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

function recipientsFrom(kids: string[], pubs: string[], trustFile: string | undefined): RecipientKey[] {
  const recipients: RecipientKey[] = [];
  if (kids.length > 0) {
    if (!trustFile)
      throw new CtopError('E_USAGE', '--to <kid> needs --trust <file> to look the recipient keys up');
    const store = TrustStore.load(trustFile);
    for (const kid of kids) {
      const key = store.find(kid, 'recipient');
      if (!key) {
        const other = store.get(kid);
        throw new CtopError(
          'E_MANIFEST_RECIPIENT',
          other
            ? `${kid} is a ${other.role} key, not a customs recipient key`
            : `${kid} is not in ${trustFile}`,
        );
      }
      recipients.push({ kid, publicKey: key.publicKey });
    }
  }
  for (const file of pubs) {
    const key = loadPublicKey(file);
    if (key.role !== 'recipient') {
      throw new CtopError(
        'E_MANIFEST_RECIPIENT',
        `${file} is a ${key.role} key, not a customs recipient key`,
      );
    }
    recipients.push({ kid: key.kid, publicKey: key.publicKey });
  }
  if (recipients.length === 0)
    throw new CtopError('E_USAGE', 'name the customs recipients: --to <kid> --trust <file>');
  return recipients;
}

/** Accumulates repeated and variadic option values: `--to a b --to c` → [a, b, c]. */
const collect = (value: string, previous: string[] = []) => [...previous, value];

export function register(program: Command): void {
  const manifest = program
    .command('manifest')
    .description('compose, encrypt, sign, verify and show customs manifests (firmware-protocol/MANIFEST.md)');
  const maxBytes = [
    '--max-bytes <n>',
    'largest manifest accepted (default 262144)',
    parseInteger('--max-bytes', 1024, 64 * 1024 * 1024),
  ] as const;

  manifest
    .command('compose')
    .description('validate a goods file (JSON or CSV) and write the unencrypted draft')
    .requiredOption('--in <file>', 'goods file: .json or .csv (MANIFEST.md §8)')
    .option('--format <format>', 'json | csv (default: from the file name)')
    .option('--out <file>', 'write the draft here (deterministic CBOR, mode 0600); without it, only validate')
    .option(...maxBytes)
    .action((opts: { in: string; format?: GoodsFileFormat; out?: string } & LimitOptions) => {
      if (opts.format !== undefined && opts.format !== 'json' && opts.format !== 'csv') {
        throw new CtopError('E_USAGE', '--format must be json or csv');
      }
      const limits = limitsOf(opts);
      const parsed = readGoodsFile(opts.in, {
        limits,
        ...(opts.format === undefined ? {} : { format: opts.format }),
      });
      const { manifest: composed, warnings } = composeManifest(parsed.input, {
        limits,
        locate: parsed.locate,
        source: parsed.source,
      });
      for (const w of warnings) process.stderr.write(`warning: ${formatIssue(w, parsed.source)}\n`);
      const r = composed.routing;
      process.stdout.write(
        `${parsed.source}: valid — ${composed.body.goods.length} goods line${composed.body.goods.length === 1 ? '' : 's'}, container ${r.container}, ` +
          `lock ${r.lockId}, ${r.departureCountry} → ${r.destinationCountry}\n`,
      );
      if (opts.out) {
        writeFileAtomic(opts.out, encodeDraft(composed), 0o600);
        process.stdout.write(
          `draft written to ${opts.out}; next: manifest encrypt --in ${opts.out} --to <kid> --trust <file>\n`,
        );
      }
    });

  manifest
    .command('encrypt')
    .description('encrypt the goods body of a draft for customs recipients (routing stays clear)')
    .requiredOption('--in <file>', 'draft from `manifest compose`')
    .option(
      '--to <kid...>',
      'customs recipient key ids, looked up in --trust (several, or repeat --to)',
      collect,
      [],
    )
    .option('--trust <file>', 'trust store holding the recipient keys')
    .option('--recipient-key <pub...>', 'recipient public key files instead of --to', collect, [])
    .requiredOption('--out <file>', 'encrypted, unsigned payload')
    .option(...maxBytes)
    .action(
      (
        opts: {
          in: string;
          to: string[];
          trust?: string;
          recipientKey: string[];
          out: string;
        } & LimitOptions,
      ) => {
        const limits = resolveLimits(limitsOf(opts));
        const draft = decodeDraft(readInput(opts.in, limits.maxBytes), limits);
        const recipients = recipientsFrom(opts.to, opts.recipientKey, opts.trust);
        writeFileAtomic(opts.out, encodePayload(encryptFor(draft, recipients)), 0o644);
        process.stdout.write(
          `encrypted for ${recipients.map((r) => r.kid).join(', ')} → ${opts.out}; next: manifest sign --in ${opts.out} --key <signer.key>\n`,
        );
      },
    );

  manifest
    .command('sign')
    .description('sign an encrypted payload with a customs signer key (COSE_Sign1, EdDSA)')
    .requiredOption('--in <file>', 'payload from `manifest encrypt`')
    .requiredOption('--key <file>', 'customs signer private key (.key, mode 0600)')
    .requiredOption('--out <file>', 'signed manifest (.cose): the bytes a lock carries')
    .option(...maxBytes)
    .action((opts: { in: string; key: string; out: string } & LimitOptions) => {
      const limits = limitsOf(opts);
      const signer = loadPrivateKey(opts.key);
      const bytes = signManifest(readInput(opts.in, resolveLimits(limits).maxBytes), signer, { limits });
      writeFileAtomic(opts.out, bytes, 0o644);
      process.stdout.write(`signed by ${signer.kid}: ${opts.out} (${bytes.byteLength} bytes)\n`);
    });

  manifest
    .command('verify')
    .description('verify a signed manifest against the trust store; exit 0 only when valid')
    .requiredOption('--in <file>', 'signed manifest (.cose)')
    .requiredOption('--trust <file>', 'trust store')
    .option('--json', 'print the inspection as JSON')
    .option(...maxBytes)
    .action((opts: { in: string; trust: string; json?: boolean } & LimitOptions) => {
      const limits = resolveLimits(limitsOf(opts));
      const bytes = readInput(opts.in, limits.maxBytes);
      const inspection = inspectManifest(bytes, TrustStore.load(opts.trust), { limits });
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(inspection, null, 2)}\n`
          : `${inspection.verification.status}${inspection.verification.signerKid ? ` (signer ${inspection.verification.signerKid})` : ''} ${inspection.manifestId}\n`,
      );
      const v = inspection.verification;
      if (v.status !== 'valid')
        throw new CtopError(v.code ?? 'E_MANIFEST_MALFORMED', `${opts.in}: ${v.status}: ${v.detail}`);
    });

  manifest
    .command('show')
    .description('show a signed manifest as a table; --decrypt with a customs recipient key shows the goods')
    .requiredOption('--in <file>', 'signed manifest (.cose)')
    .requiredOption('--trust <file>', 'trust store')
    .option('--decrypt', 'decrypt the goods body (needs --key)')
    .option('--key <file>', 'customs recipient private key (.key, mode 0600)')
    .option('--json', 'print JSON instead of tables')
    .option(...maxBytes)
    .action(
      (
        opts: { in: string; trust: string; decrypt?: boolean; key?: string; json?: boolean } & LimitOptions,
      ) => {
        const limits = resolveLimits(limitsOf(opts));
        if (opts.decrypt && !opts.key)
          throw new CtopError('E_USAGE', '--decrypt needs --key <recipient.key>');
        const bytes = readInput(opts.in, limits.maxBytes);
        const trust = TrustStore.load(opts.trust);
        const inspection = inspectManifest(bytes, trust, { limits });
        if (!opts.decrypt) {
          process.stdout.write(
            opts.json ? `${JSON.stringify(inspection, null, 2)}\n` : `${renderInspection(inspection)}\n`,
          );
          return;
        }
        const key = loadPrivateKey(opts.key!);
        if (inspection.verification.status !== 'valid') {
          // Show what is known, then refuse: unverified bytes are evidence, never decrypted as data.
          if (!opts.json) process.stdout.write(`${renderInspection(inspection)}\n`);
        }
        const opened = openManifest(bytes, key, trust, { limits });
        process.stdout.write(
          opts.json
            ? `${JSON.stringify({ ...inspection, body: opened.body }, null, 2)}\n`
            : `${renderInspection(inspection)}\n\n${renderBody(opened.body)}\n`,
        );
      },
    );
}

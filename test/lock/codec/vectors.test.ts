import { createHash, createPrivateKey, createPublicKey, verify } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import {
  bodyFromJson,
  buildVectors,
  type EventChainVector,
  type KeyVector,
  type SignatureVector,
  type Vector,
} from '../../../scripts/lib/protocol-vectors.js';
import { encodeCanonical } from '../../../src/cbor/index.js';
import { isCtopError } from '../../../src/errors.js';
import { Frame } from '../../../src/lock/codec/frame.js';
import { LineFramer } from '../../../src/lock/codec/line-framer.js';
import { decodeMessage, encodeMessage, type MessageTypeCode } from '../../../src/lock/codec/messages.js';
import { authPayload, carrierAuthPayload, eventSignPayload, sha256 } from '../../../src/lock/identity.js';

const dir = new URL('../../../firmware-protocol/vectors/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
const vectors: Vector[] = files.map((f) => JSON.parse(readFileSync(new URL(f, dir), 'utf8')));

/** Ed25519 verification by node:crypto, independent of tweetnacl. */
function nodeVerify(publicKeyHex: string, message: Buffer, signatureHex: string): boolean {
  const der = Buffer.concat([
    Buffer.from('302a300506032b6570032100', 'hex'),
    Buffer.from(publicKeyHex, 'hex'),
  ]);
  const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  return verify(null, message, key, Buffer.from(signatureHex, 'hex'));
}

async function lineError(line: string): Promise<string | undefined> {
  const framer = new LineFramer();
  let code: string | undefined;
  framer.on('error', (err) => {
    code = isCtopError(err) ? err.code : 'untyped';
  });
  framer.on('data', (l: Buffer) => {
    try {
      const frame = Frame.fromLine(l);
      if (frame) decodeMessage(frame);
    } catch (err) {
      code = isCtopError(err) ? err.code : 'untyped';
    }
  });
  framer.write(Buffer.from(`${line}\n`, 'latin1'));
  await new Promise((resolve) => setImmediate(resolve)); // stream errors are emitted on the next tick
  return code;
}

t.test('at least 30 vectors, and the files are what the generator writes', async (t) => {
  t.ok(vectors.length >= 30, `${vectors.length} vectors`);
  const fresh = buildVectors();
  t.equal(files.length, fresh.length, 'one file per vector');
  for (const v of fresh) {
    const onDisk = vectors.find((x) => x.name === v.name);
    t.same(onDisk, JSON.parse(JSON.stringify(v)), `${v.name}.json is current (npm run vectors)`);
  }
});

t.test('every message type has a valid vector', async (t) => {
  const types = new Set(vectors.flatMap((v) => (v.kind === 'line' && v.frame ? [v.frame.typeCode] : [])));
  for (const code of [
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b,
    0x8c, 0xff,
  ]) {
    t.ok(types.has(code), `type 0x${code.toString(16)} covered`);
  }
});

for (const v of vectors) {
  if (v.kind !== 'binary') continue;
  t.test(`binary vector ${v.name} (§13.4)`, async (t) => {
    const framer = new LineFramer();
    const frames: Buffer[] = [];
    let error: string | undefined;
    framer.on('frame', (f: Buffer) => frames.push(f));
    framer.on('error', (err) => {
      error = isCtopError(err) ? err.code : 'untyped';
    });
    framer.binary();
    framer.write(Buffer.from(v.bytes, 'hex'));
    if (v.expect === 'valid') {
      t.equal(error, undefined);
      t.equal(frames.length, 1, 'one whole frame');
      const frame = Frame.fromBuffer(frames[0]!);
      decodeMessage(frame);
      t.equal(frame.toLine().toString('latin1').trimEnd(), v.line, 'the same frame as its line');
      t.ok(frames[0]!.byteLength < Buffer.byteLength(v.line ?? ''), 'shorter than the line');
      return;
    }
    t.equal(error, (v.expect as { error: string }).error, 'refused on the header alone');
    t.equal(frames.length, 0);
  });
}

for (const v of vectors) {
  if (v.kind !== 'line') continue;
  t.test(`line vector ${v.name}`, async (t) => {
    if (v.expect === 'noise') {
      t.equal(Frame.fromLine(Buffer.from(v.line, 'latin1')), undefined, 'ignored as noise');
      t.equal(await lineError(v.line), undefined, 'passes the line framer');
      return;
    }
    if (v.expect === 'valid') {
      const frame = Frame.fromLine(Buffer.from(v.line, 'latin1'));
      if (!frame) throw new Error('not a frame');
      t.equal(frame.toBuffer().toString('hex'), v.frame!.hex, 'binary frame');
      t.equal(frame.seq, v.frame!.seq);
      t.equal(frame.type, v.frame!.typeCode);
      const msg = decodeMessage(frame);
      const expected = bodyFromJson(v.body);
      t.same(msg.body, expected, 'decoded body');
      t.equal(await lineError(v.line), undefined, 'accepted through the line framer');
      if (v.canonical === false) {
        // A legal, non-deterministic encoding: accepted; re-encoding gives another line.
        t.not(
          encodeMessage(frame.type as MessageTypeCode, frame.seq, expected as never)
            .toLine()
            .toString('latin1')
            .trimEnd(),
          v.line,
          'not the deterministic line',
        );
        return;
      }
      // Our encoder produces exactly the vector: canonical CBOR, same layout.
      const again = encodeMessage(frame.type as MessageTypeCode, frame.seq, expected as never)
        .toLine()
        .toString('latin1');
      t.equal(again.trimEnd(), v.line.replace(/\r$/, ''), 're-encoded line');
      return;
    }
    t.equal(await lineError(v.line), v.expect.error, `rejected with ${v.expect.error}`);
  });
}

t.test('signature vectors verify with node:crypto and rebuild from their inputs', async (t) => {
  const sigs = vectors.filter((v): v is SignatureVector => v.kind === 'signature');
  t.equal(sigs.length, 2);
  for (const v of sigs) {
    const payload = Buffer.from(v.payload, 'hex');
    t.ok(nodeVerify(v.publicKey, payload, v.signature), `${v.name} verifies`);
    const flipped = Buffer.from(payload);
    flipped[0]! ^= 1;
    t.notOk(nodeVerify(v.publicKey, flipped, v.signature), `${v.name} fails on a flipped byte`);
    const i = v.inputs as Record<string, string>;
    const hexOf = (k: string) => Buffer.from(i[k] ?? '', 'hex');
    const rebuilt =
      v.name === 'auth-signature'
        ? authPayload({
            lockId: i.lockId ?? '',
            nonce: hexOf('nonce'),
            manifestHash: hexOf('manifestHash'),
            eventHead: hexOf('eventHead'),
            eventCount: Number(i.eventCount),
          })
        : carrierAuthPayload(i.lockId ?? '', hexOf('nonce'));
    t.equal(rebuilt.toString('hex'), v.payload, `${v.name} payload layout`);
  }
});

t.test('the event-chain vector is a valid chain', async (t) => {
  const v = vectors.find((x): x is EventChainVector => x.kind === 'event-chain')!;
  let prev = '00'.repeat(32);
  for (const e of v.events) {
    const cbor = encodeCanonical([
      e.counter,
      e.time,
      e.kind,
      Buffer.from(e.detail, 'hex'),
      Buffer.from(e.prev, 'hex'),
    ]);
    t.equal(cbor.toString('hex'), e.cbor, `event ${e.counter} CBOR`);
    t.equal(sha256(cbor).toString('hex'), e.hash, `event ${e.counter} hash`);
    t.equal(e.prev, prev, `event ${e.counter} links to its predecessor`);
    t.ok(
      nodeVerify(v.publicKey, eventSignPayload(v.lockId, Buffer.from(e.hash, 'hex')), e.sig),
      `event ${e.counter} signature`,
    );
    prev = e.hash;
  }
});

t.test('the vector keys derive from their published labels (PROTOCOL.md §15)', async (t) => {
  const keys = vectors.filter((v): v is KeyVector => v.kind === 'key');
  t.equal(keys.length, 2);
  for (const v of keys) {
    const seed = createHash('sha256').update(v.label, 'utf8').digest();
    t.equal(seed.toString('hex'), v.seed, `${v.name}: seed = SHA-256(label)`);
    // RFC 8032 key pair from the seed with node:crypto alone (PKCS#8 wraps the seed as is).
    const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
    const spki = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({
      format: 'der',
      type: 'spki',
    });
    t.equal(spki.subarray(-32).toString('hex'), v.publicKey, `${v.name}: public key`);
  }
  const lockKey = keys.find((k) => k.name === 'vector-lock-key')!;
  for (const v of vectors) {
    if (
      (v.kind === 'event-chain' || (v.kind === 'signature' && v.name === 'auth-signature')) &&
      'publicKey' in v
    ) {
      t.equal(v.publicKey, lockKey.publicKey, `${v.name} is signed by the vector lock key`);
    }
  }
});

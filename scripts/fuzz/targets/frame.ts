import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { Frame } from '../../../src/lock/codec/frame.js';
import {
  decodeMessage,
  encodeMessage,
  isKnownType,
  type MessageTypeCode,
} from '../../../src/lock/codec/messages.js';
import { check, checkEqual, expectTyped } from '../lib/expect.js';
import { mutatedBytes } from '../lib/mutate-bytes.js';
import { applyTreeMutations, decodeTree, encodeTree, treeMutation, wordsOf } from '../lib/mutate-cbor.js';
import type { FuzzTarget } from '../lib/target.js';
import { protocolVectorLines } from './vectors.js';

const FRAME_ERRORS = /^E_FRAME_/;

/** Mostly undefined (keep the seed's value), one time in `every` a generated one. */
const sometimes = <T>(arb: fc.Arbitrary<T>, every: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: every - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

/** A line for a binary frame, its CRC made right so the checks behind it are reached. */
function lineOf(frame: Uint8Array, fixCrc: boolean): Buffer {
  const bytes = Buffer.from(frame);
  if (fixCrc && bytes.byteLength >= 4) {
    bytes.writeUInt32BE(crc32(bytes.subarray(0, bytes.byteLength - 4)), bytes.byteLength - 4);
  }
  return Buffer.from(`~${bytes.toString('base64')}`, 'latin1');
}

/** Header, body and CRC without the Frame constructor's own size check: a lock need not keep to it. */
function rawFrame(version: number, type: number, seq: number, body: Uint8Array): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt8(version & 0xff, 0);
  head.writeUInt8(type & 0xff, 1);
  head.writeUInt16BE(seq & 0xffff, 2);
  head.writeUInt16BE(body.byteLength & 0xffff, 4);
  const covered = Buffer.concat([head, body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(covered));
  return Buffer.concat([covered, crc]);
}

/**
 * The lock protocol's frame codec and message schemas (src/lock/codec/frame.ts, messages.ts),
 * fed what a hostile lock could send: mutated vector lines, mutated binary frames with the
 * CRC fixed up, valid frames whose CBOR body was mutated structurally (any message type,
 * version and sequence), and random lines. Asserts: only E_FRAME_* errors; a decoded
 * message survives encode → decode unchanged; a frame survives toLine → fromLine.
 */
export const frameTarget: FuzzTarget<Uint8Array> = {
  name: 'frame',
  description: 'lock frame codec + message schemas (Frame.fromLine, decodeMessage)',
  setup() {
    const vectors = protocolVectorLines();
    const lines = vectors.map((v) => v.line);
    const frames = vectors.flatMap((v) => (v.frame ? [v.frame] : []));
    // Seeds cbor-x cannot read (chunked strings, PROTOCOL.md §4) still seed the byte mutations.
    const bodies = frames.flatMap((f) => {
      try {
        return [
          {
            version: f[0]!,
            type: f[1]!,
            seq: f.readUInt16BE(2),
            tree: decodeTree(f.subarray(6, f.byteLength - 4)),
          },
        ];
      } catch {
        return [];
      }
    });
    const words = wordsOf(bodies.map((b) => b.tree));
    const bodyMutation = fc
      .tuple(
        fc.nat(bodies.length - 1),
        fc.array(treeMutation(words), { minLength: 1, maxLength: 3 }),
        sometimes(fc.nat(255), 6),
        sometimes(fc.nat(255), 20),
        fc.nat(0xffff),
      )
      .map(([i, mutations, type, version, seq]) => {
        const seed = bodies[i]!;
        const body = encodeTree(applyTreeMutations(seed.tree, mutations)) ?? Buffer.alloc(0);
        return lineOf(rawFrame(version ?? seed.version, type ?? seed.type, seq, body), false);
      });
    const arbitrary = fc.oneof(
      { weight: 3, arbitrary: mutatedBytes(lines) },
      {
        weight: 3,
        arbitrary: fc.tuple(mutatedBytes(frames), fc.boolean()).map(([f, fix]) => lineOf(f, fix)),
      },
      { weight: 5, arbitrary: bodyMutation },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.boolean(), fc.uint8Array({ maxLength: 600 }))
          .map(([marker, b]) => Buffer.concat([marker ? Buffer.from('~') : Buffer.alloc(0), b])),
      },
    );
    return {
      arbitrary,
      record: (line) => line,
      check(line) {
        const parsed = expectTyped('Frame.fromLine', FRAME_ERRORS, () => Frame.fromLine(line));
        if (!parsed.ok) return parsed.code;
        const frame = parsed.value;
        if (!frame) return 'noise line';
        const again = Frame.fromLine(frame.toLine().subarray(0, -1));
        check(again, 'a decoded frame is not a frame once written again');
        checkEqual(
          [again.version, again.type, again.seq, Buffer.from(again.body)],
          [frame.version, frame.type, frame.seq, Buffer.from(frame.body)],
          'toLine → fromLine changed the frame',
        );
        const decoded = expectTyped('decodeMessage', FRAME_ERRORS, () => decodeMessage(frame));
        if (!decoded.ok) return decoded.code;
        const message = decoded.value;
        check(isKnownType(message.type), `decodeMessage returned unknown type ${message.type}`);
        const encoded = encodeMessage(message.type as MessageTypeCode, message.seq, message.body as never);
        checkEqual(
          decodeMessage(encoded).body,
          message.body,
          'a decoded message changed through encode → decode',
        );
        return 'ok';
      },
    };
  },
};

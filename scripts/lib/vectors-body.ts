import { MAX_LINE, MessageType } from '../../src/lock/codec/constants.js';
import { Frame } from '../../src/lock/codec/frame.js';
import { encodeMessage } from '../../src/lock/codec/messages.js';
import { bodyToJson, describeFrame, type FrameVector, invalid, rawLine } from './vector-helpers.js';

/**
 * Revision 1.1 vectors for lines and bodies (PROTOCOL.md §2, §4): the exact line bound, pad
 * bits, the encodings a receiver must accept and the CBOR limits it must enforce. Bodies are
 * written as hex so every byte is visible: the point of each vector is its encoding.
 */

const b = (h: string) => Buffer.from(h.replace(/\s+/g, ''), 'hex');

/** `len` = 16 and `off` = 0, deterministic: the pair most body vectors vary. */
const LEN16 = '636c656e 10';
const OFF0 = '636f6666 00';

/** A legal encoding that is not the deterministic one: accepted, decoded to `body`. */
function accepted(
  name: string,
  description: string,
  type: number,
  body: Buffer,
  known: unknown,
): FrameVector {
  const frame = new Frame(1, type, 0x1300, body);
  return {
    name,
    description,
    kind: 'line',
    line: rawLine(1, type, 0x1300, body.byteLength, body),
    expect: 'valid',
    canonical: false,
    frame: describeFrame(frame),
    body: bodyToJson(known),
  };
}

function refused(name: string, description: string, body: Buffer): FrameVector {
  return invalid(
    name,
    description,
    rawLine(1, MessageType.Read, 0x1301, body.byteLength, body),
    'E_FRAME_BODY',
  );
}

/** Seven arrays inside the body map: level 8, the deepest allowed. */
const NESTED_7 = `${'81'.repeat(7)} 01`;

export function buildBodyVectors(): FrameVector[] {
  const read = encodeMessage(MessageType.Read, 0x1237, { off: 0, len: 1024 })
    .toLine()
    .toString('latin1')
    .trimEnd();
  const pad = read.endsWith('==') ? 2 : read.endsWith('=') ? 1 : 0;
  if (pad === 0) throw new Error('the pad-bit vector needs a padded line');
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const at = read.length - pad - 1;
  const padded = `${read.slice(0, at)}${alphabet[alphabet.indexOf(read[at]!) | 1]}${read.slice(at + 1)}`;

  return [
    {
      name: 'line-max-length',
      description: `a line of ${MAX_LINE - 1} bytes and its LF (${MAX_LINE} in all): within the bound; noise, so ignored`,
      kind: 'line',
      line: `boot log: ${'x'.repeat(MAX_LINE - 1 - 'boot log: '.length)}`,
      expect: 'noise',
    },
    invalid(
      'nonzero-pad-bits',
      'read-request-like line whose last base64 character before the = has a pad bit set: not canonical',
      padded,
      'E_FRAME_ENCODING',
    ),
    accepted(
      'body-non-shortest',
      'READ with len in a 2-byte and off in a 4-byte argument: legal, not deterministic',
      MessageType.Read,
      b('a2 636c656e 190010 636f6666 1a00000000'),
      { off: 0, len: 16 },
    ),
    accepted(
      'body-unsorted-keys',
      'READ with off before len: legal, not deterministic',
      MessageType.Read,
      b(`a2 ${OFF0} ${LEN16}`),
      { off: 0, len: 16 },
    ),
    accepted(
      'body-indefinite-length',
      'READ_R as an indefinite map, the key "data" as a chunked text string and its value as a chunked byte string',
      MessageType.ReadResponse,
      b(`bf ${OFF0} 7f 626461 627461 ff 5f 43010203 420405 ff ff`),
      { off: 0, data: b('0102030405') },
    ),
    accepted(
      'body-unknown-key',
      'READ with an unknown key "ext" nested 8 levels deep in all (the limit): ignored',
      MessageType.Read,
      b(`a3 63657874 ${NESTED_7} ${LEN16} ${OFF0}`),
      { off: 0, len: 16 },
    ),
    refused(
      'body-too-deep',
      'READ with "ext" nested 9 levels deep in all',
      b(`a3 63657874 81 ${NESTED_7} ${LEN16} ${OFF0}`),
    ),
    refused(
      'body-too-many-items',
      'READ with "ext" an array of 65 elements',
      b(`a3 63657874 9841 ${'00'.repeat(65)} ${LEN16} ${OFF0}`),
    ),
    refused(
      'body-duplicate-key',
      'READ with "off" twice, the second time with its length in a longer form',
      b(`a3 ${LEN16} ${OFF0} 7803 6f6666 01`),
    ),
    refused('body-integer-key', 'READ with an extra integer key 1', b(`a3 0100 ${LEN16} ${OFF0}`)),
    refused('body-tag', 'READ with off wrapped in tag 1', b(`a2 ${LEN16} 636f6666 c100`)),
    refused('body-float', 'READ with off as the half-precision float 0.0', b(`a2 ${LEN16} 636f6666 f90000`)),
  ];
}

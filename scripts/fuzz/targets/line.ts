import fc from 'fast-check';
import { isCtopError } from '../../../src/errors.js';
import { LineFramer } from '../../../src/lock/codec/line-framer.js';
import { check, checkEqual, describe, FuzzFinding } from '../lib/expect.js';
import type { FuzzTarget } from '../lib/target.js';
import { protocolVectorLines } from './vectors.js';

interface LineCase {
  maxLine: number;
  chunks: Uint8Array[];
}

const LF = 0x0a;

/**
 * What the framer must do with a byte stream, computed without it: every LF-terminated
 * line shorter than `maxLine` in order (empty ones dropped, as the readline parser does),
 * and E_LINE_TOO_LONG at the first line — or unterminated tail — of `maxLine` bytes or more.
 */
function model({ maxLine, chunks }: LineCase): { lines: Buffer[]; tooLong: boolean } {
  const all = Buffer.concat(chunks);
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < all.byteLength; i++) {
    if (all[i] !== LF) continue;
    const line = all.subarray(start, i);
    if (line.byteLength >= maxLine) return { lines, tooLong: true };
    if (line.byteLength > 0) lines.push(Buffer.from(line));
    start = i + 1;
  }
  return { lines, tooLong: all.byteLength - start >= maxLine };
}

/** Joins the pieces and cuts them again at the case's chunk boundaries. */
function chunked(pieces: Uint8Array[], cuts: number[]): Uint8Array[] {
  const all = Buffer.concat(pieces);
  const points = [...new Set(cuts.map((c) => (all.byteLength === 0 ? 0 : c % all.byteLength)))].sort(
    (a, b) => a - b,
  );
  const out: Uint8Array[] = [];
  let last = 0;
  for (const p of [...points, all.byteLength]) {
    if (p > last) out.push(all.subarray(last, p));
    last = p;
  }
  return out;
}

/**
 * The line framer (src/lock/codec/line-framer.ts) against a model of it: streams made of frame
 * lines, noise, CRs, long runs without a LF and empty lines, cut into chunks anywhere, with
 * the smallest, a middling and the protocol's line limit. Asserts: exactly the model's lines
 * in order, E_LINE_TOO_LONG (and no other error) exactly when the model says so, no line
 * pushed after the error, and the unfinished line held always below the limit, whatever
 * the size of the chunk being read (PROTOCOL.md §2).
 */
export const lineTarget: FuzzTarget<LineCase> = {
  name: 'line',
  description: 'line framer (LineFramer), checked against a model',
  setup() {
    const vectorLines = protocolVectorLines().map((v) => Buffer.concat([v.line, Buffer.from('\n')]));
    const piece = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...vectorLines) },
      { weight: 3, arbitrary: fc.uint8Array({ maxLength: 64 }) },
      { weight: 2, arbitrary: fc.constantFrom(Buffer.from('\n'), Buffer.from('\r\n'), Buffer.from('\n\n')) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.integer({ min: 1, max: 5000 }), fc.nat(255))
          .map(([n, byte]) => Buffer.alloc(n, byte === LF ? 0x41 : byte)),
      },
    );
    const arbitrary = fc
      .tuple(
        fc.oneof(
          { weight: 1, arbitrary: fc.constant(16) },
          { weight: 2, arbitrary: fc.constant(200) },
          { weight: 4, arbitrary: fc.constant(2048) },
        ),
        fc.array(piece, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 10 }),
      )
      .map(([maxLine, pieces, cuts]) => ({ maxLine, chunks: chunked(pieces, cuts) }));
    return {
      async: true,
      arbitrary,
      record: ({ maxLine, chunks }) =>
        Buffer.from(
          JSON.stringify({ maxLine, chunks: chunks.map((c) => Buffer.from(c).toString('base64')) }),
        ),
      async check(input) {
        const expected = model(input);
        const framer = new LineFramer({ maxLine: input.maxLine, lineTimeoutMs: 0 });
        const lines: Buffer[] = [];
        const errors: unknown[] = [];
        let linesAtError: number | undefined;
        framer.on('data', (line: Buffer) => lines.push(Buffer.from(line)));
        framer.on('error', (err) => {
          errors.push(err);
          linesAtError ??= lines.length;
        });
        // events.once would reject on 'error'; the error is what is being checked.
        const closed = new Promise((resolve) => framer.once('close', resolve));
        for (const chunk of input.chunks) {
          if (framer.destroyed) break;
          framer.write(chunk);
          check(
            framer.pending < input.maxLine,
            `the framer holds ${framer.pending} bytes after a chunk of ${chunk.byteLength} (limit ${input.maxLine})`,
          );
        }
        if (!framer.destroyed) framer.end();
        await closed;
        for (const err of errors) {
          if (!isCtopError(err, 'E_LINE_TOO_LONG'))
            throw new FuzzFinding(`framer failed with ${describe(err)}`);
        }
        check(errors.length <= 1, `${errors.length} errors for one stream`);
        check(
          expected.tooLong === (errors.length === 1),
          expected.tooLong ? 'a too-long line went through' : 'E_LINE_TOO_LONG without a too-long line',
        );
        check(linesAtError === undefined || linesAtError === lines.length, 'lines pushed after the error');
        checkEqual(lines, expected.lines, 'the framer pushed other lines than the model');
        return expected.tooLong ? 'E_LINE_TOO_LONG' : lines.length > 0 ? 'ok' : 'no line';
      },
    };
  },
};

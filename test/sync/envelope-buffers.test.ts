import fc from 'fast-check';
import t from 'tap';
import { EnvelopeBuffers } from '../../src/sync/envelope-buffers.js';

t.test('a buffer given back is handed out again, for the same size class only', async (t) => {
  const pool = new EnvelopeBuffers();
  const a = pool.take(9_300);
  t.equal(a.byteLength, 9_300, 'exactly the length asked for');
  pool.give(a);
  t.equal(pool.keptBytes, 12_288, 'kept in its 4 KiB class');
  const b = pool.take(9_000);
  t.equal(b.buffer, a.buffer, 'the same memory again');
  t.equal(b.byteLength, 9_000);
  t.equal(pool.reused, 1);
  const c = pool.take(9_000);
  t.not(c.buffer, a.buffer, 'not while it is out');
  pool.give(b);
  const d = pool.take(20_000);
  t.not(d.buffer, a.buffer, 'another class gets its own');
  t.equal(pool.reused, 1);
});

t.test('given twice, a buffer is taken in once: two publishes never share bytes', async (t) => {
  const pool = new EnvelopeBuffers();
  const a = pool.take(5_000);
  pool.give(a);
  pool.give(a);
  t.equal(pool.keptBytes, 8_192);
  const b = pool.take(5_000);
  const c = pool.take(5_000);
  t.not(b.buffer, c.buffer);
});

t.test(
  'buffers it did not lend are never taken in (a slice of the shared pool of Node above all)',
  async (t) => {
    const pool = new EnvelopeBuffers();
    pool.give(Buffer.allocUnsafe(100));
    pool.give(Buffer.allocUnsafeSlow(8_192));
    pool.give(Buffer.from(pool.take(4_000)));
    t.equal(pool.keptBytes, 0);
  },
);

t.test('what it keeps is bounded; large envelopes are not kept', async (t) => {
  const pool = new EnvelopeBuffers(3 * 4096);
  const out = Array.from({ length: 5 }, () => pool.take(4_096));
  for (const b of out) pool.give(b);
  t.equal(pool.keptBytes, 3 * 4096, 'three kept, two left to the collector');
  const large = pool.take(300_000);
  pool.give(large);
  t.equal(pool.keptBytes, 3 * 4096);
});

t.test(
  'property: buffers out at one time never overlap, whatever the order of takes and gives',
  async (t) => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 1, max: 70_000 }), fc.constant(-1)), { maxLength: 200 }),
        (ops) => {
          const pool = new EnvelopeBuffers(64 * 1024);
          const out: Buffer[] = [];
          for (const op of ops) {
            if (op === -1) {
              const b = out.shift();
              if (b) pool.give(b);
              continue;
            }
            const b = pool.take(op);
            if (b.byteLength !== op) return false;
            if (out.some((o) => o.buffer === b.buffer)) return false;
            out.push(b);
          }
          return pool.keptBytes <= 64 * 1024;
        },
      ),
    );
    t.pass('no two buffers out share memory');
  },
);

import fc from 'fast-check';
import t from 'tap';
import { SendWindow } from '../../src/sync/send-window.js';

const KiB = 1024;

t.test('the window is what receipts answered in the last span, between floor and ceiling', async (t) => {
  const w = new SendWindow({ spanMs: 8000, floorBytes: 256 * KiB, ceilingBytes: 8192 * KiB });
  t.equal(w.limit(0), 256 * KiB, 'nothing answered yet: the floor');
  w.answered(300 * KiB, 100);
  w.answered(300 * KiB, 2000);
  t.equal(w.limit(2000), 600 * KiB, 'two answers inside the span');
  t.equal(w.limit(8100 + 1000), 300 * KiB, 'the first has left the span');
  t.equal(w.limit(20_000), 256 * KiB, 'an idle link: back to the floor');
  w.answered(100_000 * KiB, 20_000);
  t.equal(w.limit(20_000), 8192 * KiB, 'a fast link: the ceiling');
});

t.test(
  'property: the limit is the sum answered within the span (the last 7/8 of it at least), clamped',
  async (t) => {
    const span = 1000;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 200_000 })), {
          maxLength: 60,
        }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 1, max: 4_000_000 }),
        (steps, floor, ceiling) => {
          const w = new SendWindow({ spanMs: span, floorBytes: floor, ceilingBytes: ceiling });
          let now = 0;
          const log: [number, number][] = [];
          for (const [dt, bytes] of steps) {
            now += dt;
            w.answered(bytes, now);
            log.push([now, bytes]);
            const limit = w.limit(now);
            // Answers are kept per eighth of the span and a slot leaves whole, when its first
            // answer does: everything of the last 7/8 of the span counts, nothing older than it.
            const sumWithin = (ms: number) =>
              log.filter(([at]) => now - at < ms).reduce((sum, [, b]) => sum + b, 0);
            const clamp = (n: number) => Math.min(ceiling, Math.max(Math.min(floor, ceiling), n));
            const lo = clamp(sumWithin(span - span / 8));
            const hi = clamp(sumWithin(span));
            if (limit < lo || limit > hi) return false;
          }
          return true;
        },
      ),
    );
    t.pass('held for every sequence');
  },
);

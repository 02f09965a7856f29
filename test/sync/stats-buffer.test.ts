import t from 'tap';
import { StatsBuffer } from '../../src/sync/store-tx.js';

t.test('counters are added per UTC day, across midnight and back, and restored whole', async (t) => {
  const buffer = new StatsBuffer();
  const midnight = Date.UTC(2026, 11, 6);
  buffer.add(midnight - 1, { messagesSent: 1, bytesSent: 100 });
  buffer.add(midnight, { messagesSent: 1, bytesSent: 50 });
  buffer.add(midnight - 2, { receiptsAccepted: 1 }); // a clock stepped back across midnight
  buffer.add(midnight + 86_400_000 - 1, { resends: 1, bytesSent: 7 });
  buffer.add(midnight + 86_400_000, { receiptsRejected: 1 });
  const taken = buffer.take();
  const byDay = Object.fromEntries(taken.map((e) => [new Date(e.at).toISOString().slice(0, 10), e.delta]));
  t.same(byDay, {
    '2026-12-05': {
      messagesSent: 1,
      receiptsAccepted: 1,
      receiptsRejected: 0,
      resends: 0,
      outageSeconds: 0,
      bytesSent: 100,
    },
    '2026-12-06': {
      messagesSent: 1,
      receiptsAccepted: 0,
      receiptsRejected: 0,
      resends: 1,
      outageSeconds: 0,
      bytesSent: 57,
    },
    '2026-12-07': {
      messagesSent: 0,
      receiptsAccepted: 0,
      receiptsRejected: 1,
      resends: 0,
      outageSeconds: 0,
      bytesSent: 0,
    },
  });
  t.ok(buffer.empty, 'taken');
  buffer.restore(taken);
  t.same(buffer.take(), taken, 'restored as they were');
});

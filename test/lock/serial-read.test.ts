import t from 'tap';
import { readLock } from '../../src/lock/reader.js';
import { startSerialLock } from '../helpers/serial-lock.js';

/** The happy path over a real pty pair, at several line rates and chunk sizes. */
const cases = [
  { baudRate: 9600, size: 2 * 1024, chunk: 256 },
  { baudRate: 115200, size: 16 * 1024, chunk: 1024 },
  { baudRate: 115200, size: 12 * 1024 + 7, chunk: 64 },
  { baudRate: 921600, size: 64 * 1024, chunk: 1024 },
  { baudRate: 921600, size: 40 * 1024 + 1, chunk: 512 },
];

for (const c of cases) {
  t.test(`reads ${c.size} B at ${c.baudRate} baud in ${c.chunk}-byte chunks`, async (t) => {
    const lock = await startSerialLock({
      baudRate: c.baudRate,
      manifestSize: c.size,
      engine: { chunk: c.chunk },
    });
    t.teardown(lock.close);
    const progress: number[] = [];
    const result = await readLock({
      open: lock.open,
      gatewayId: 'KZ-DOSTYK-GW01',
      onProgress: (p) => {
        if (p.phase === 'manifest') progress.push(p.bytes);
      },
    });
    t.equal(result.outcome, 'complete', result.error?.message ?? 'complete');
    t.equal(result.transport, 'serial');
    t.ok(result.manifest?.equals(lock.manifest), 'manifest identical to what the lock holds');
    t.equal(result.info?.id, 'SSL-KZ-000123');
    t.ok(result.auth, 'lock proved its identity');
    t.equal(result.events.length, 3);
    t.same(result.chainProblems, [], 'event chain intact');
    // A clean line: no frame is damaged. Retransmissions are not asserted away: the request
    // timeout is wall time, and a process held off the CPU longer than it (a loaded CI
    // runner) resends a window that was only late (8 of them once, under stress-ng). What
    // must hold is that each one costs at most its chunk again, below.
    t.equal(result.stats.crcErrors, 0);
    t.comment(`${result.stats.retransmits} retransmissions`);
    t.equal(progress.at(-1), c.size, 'progress reaches the full size');
    t.ok(
      progress.every((b, i) => i === 0 || b >= progress[i - 1]!),
      'progress never goes back',
    );
    const served = lock.lock.stats.manifestBytesServed;
    const bound = c.size + c.chunk * (8 + result.stats.retransmits);
    t.ok(
      served >= c.size && served < bound,
      `${served} B served: the manifest once, plus at most a window and a chunk per retransmission (< ${bound})`,
    );
  });
}

t.test('a lock without a manifest reads as complete with no manifest and its events', async (t) => {
  const lock = await startSerialLock({ manifest: new Uint8Array(0) });
  t.teardown(lock.close);
  const result = await readLock({ open: lock.open, gatewayId: 'GW' });
  t.equal(result.outcome, 'complete');
  t.equal(result.manifest, undefined);
  t.equal(result.events.length, 3);
});

t.test('boot banner noise on the line is ignored', async (t) => {
  const lock = await startSerialLock({ faults: { bootBanner: ['acme-lock 2.4.1', 'flash ok, 3 events'] } });
  t.teardown(lock.close);
  const result = await readLock({ open: lock.open, gatewayId: 'GW' });
  t.equal(result.outcome, 'complete');
  t.ok(result.manifest?.equals(lock.manifest));
});

t.test('a second read of the same lock starts clean on a reopened port', async (t) => {
  const lock = await startSerialLock({ manifestSize: 4096 });
  t.teardown(lock.close);
  const first = await readLock({ open: lock.open, gatewayId: 'GW' });
  const second = await readLock({ open: lock.open, gatewayId: 'GW' });
  t.equal(first.outcome, 'complete');
  t.equal(second.outcome, 'complete');
  t.equal(second.stats.strays + second.stats.replays, 0, 'nothing stale from the first session');
});

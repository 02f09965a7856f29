import t, { type Test } from 'tap';
import { startSimulatedTrain, type TrainLockSpec } from '../../src/sim/ble-train.js';
import { runCli } from '../helpers/cli.js';

/**
 * `ctop-agent conformance lock --ble`: the kit reaches the lock under test through a real
 * HCI controller (the simulated radio on a pty, as `train read --hci-uart` does) and checks
 * binary framing and announced GATT handles there, BIN-4 being a serial requirement.
 */

/** One lock standing by the antenna, on a pty a CLI can reach. */
async function standingLock(t: Test, spec: Partial<TrainLockSpec> = {}): Promise<string> {
  const train = await startSimulatedTrain({
    locks: [
      {
        lockId: 'SSL-KZ-BLEKIT',
        manifest: Buffer.alloc(5000, 0x42),
        peripheral: { presence: { arriveAtMs: 0 }, rssiDbm: -55 },
        ...spec,
      },
    ],
  });
  t.teardown(() => train.close());
  return (train.bindings as { bindParams: { uart: { port: string } } }).bindParams.uart.port;
}

t.test(
  'conformance lock --ble finds the lock by its advertisement and judges its advertising interval, binary framing and its announced handles',
  async (t) => {
    const port = await standingLock(t);
    const r = await runCli(
      [
        'conformance',
        'lock',
        '--ble',
        'SSL-KZ-BLEKIT',
        '--hci-uart',
        port,
        '--only',
        'advertising',
        'session',
        'binary',
        'gatt',
      ],
      { timeoutMs: 120_000 },
    );
    t.equal(r.code, 0, r.stderr);
    for (const id of ['BIN-1', 'BIN-2', 'BIN-3', 'BIN-5'])
      t.match(r.stdout, new RegExp(`PASS\\s+${id}:`), id);
    t.match(r.stdout, /SKIP\s+BIN-4:/);
    t.match(r.stdout, /PASS\s+HELLO-1:/);
    t.match(
      r.stdout,
      /PASS\s+ADV-1:.*advertising events in 3 s, the lower quartile of the gaps between them \d+ ms/,
    );
    t.match(
      r.stdout,
      /PASS\s+GATT-1:.*RX's declaration read at 7, TX's CCCD written at 11, HELLO written to 8 answered at 10/,
    );
  },
);

t.test(
  'a sealed lock advertising every 100 ms (a lock of revision 1.3) fails ADV-1 and only ADV-1',
  async (t) => {
    const port = await standingLock(t, {
      peripheral: { presence: { arriveAtMs: 0 }, rssiDbm: -55, advertisingIntervalMs: 100 },
    });
    const r = await runCli(
      [
        'conformance',
        'lock',
        '--ble',
        'SSL-KZ-BLEKIT',
        '--hci-uart',
        port,
        '--only',
        'advertising',
        'session',
      ],
      { timeoutMs: 120_000 },
    );
    t.equal(r.code, 5, 'E_CONFORMANCE_LOCK');
    t.match(r.stdout, /FAIL\s+ADV-1:.*the lower quartile of the gaps between them \d+ ms \(at most 32/);
    t.match(r.stdout, /PASS\s+HELLO-1:/);
    t.match(r.stderr, /MUST requirements not met: ADV-1\b/);
  },
);

t.test('a lock announcing a handle that is not RX fails GATT-1 and only GATT-1', async (t) => {
  const port = await standingLock(t, { announcedRxHandle: 5 });
  const r = await runCli(
    ['conformance', 'lock', '--ble', 'SSL-KZ-BLEKIT', '--hci-uart', port, '--only', 'session', 'gatt'],
    { timeoutMs: 120_000 },
  );
  t.equal(r.code, 5, 'E_CONFORMANCE_LOCK');
  t.match(r.stdout, /FAIL\s+GATT-1:.*handle 4 is not the declaration of RX at 5/);
  t.match(r.stdout, /PASS\s+HELLO-1:/, 'the other checks discover the service and pass');
  t.match(r.stderr, /MUST requirements not met: GATT-1\b/);
});

t.test('a lock of revision 1.2 (no handles announced) skips GATT-1', async (t) => {
  const port = await standingLock(t, { announcedRxHandle: false });
  const r = await runCli(
    ['conformance', 'lock', '--ble', 'SSL-KZ-BLEKIT', '--hci-uart', port, '--only', 'gatt'],
    {
      timeoutMs: 120_000,
    },
  );
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /SKIP\s+GATT-1:.*the lock announces no GATT handles/);
});

t.test('conformance lock needs exactly one of --serial and --ble', async (t) => {
  const r = await runCli(['conformance', 'lock']);
  t.equal(r.code, 2);
  t.match(r.stderr, /--serial <path> or --ble <lock id>/);
});

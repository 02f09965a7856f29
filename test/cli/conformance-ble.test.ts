import t from 'tap';
import { startSimulatedTrain } from '../../src/sim/ble-train.js';
import { runCli } from '../helpers/cli.js';

/**
 * `ctop-agent conformance lock --ble`: the kit reaches the lock under test through a real
 * HCI controller (the simulated radio on a pty, as `train read --hci-uart` does) and checks
 * binary framing there, BIN-4 being a serial requirement.
 */
t.test('conformance lock --ble finds the lock by its advertisement and judges binary framing', async (t) => {
  const train = await startSimulatedTrain({
    locks: [
      {
        lockId: 'SSL-KZ-BLEKIT',
        manifest: Buffer.alloc(5000, 0x42),
        peripheral: { presence: { arriveAtMs: 0 }, rssiDbm: -55 },
      },
    ],
  });
  t.teardown(() => train.close());
  const port = (train.bindings as { bindParams: { uart: { port: string } } }).bindParams.uart.port;
  const r = await runCli(
    ['conformance', 'lock', '--ble', 'SSL-KZ-BLEKIT', '--hci-uart', port, '--only', 'session', 'binary'],
    { timeoutMs: 120_000 },
  );
  t.equal(r.code, 0, r.stderr);
  for (const id of ['BIN-1', 'BIN-2', 'BIN-3', 'BIN-5']) t.match(r.stdout, new RegExp(`PASS\\s+${id}:`), id);
  t.match(r.stdout, /SKIP\s+BIN-4:/);
  t.match(r.stdout, /PASS\s+HELLO-1:/);
});

t.test('conformance lock needs exactly one of --serial and --ble', async (t) => {
  const r = await runCli(['conformance', 'lock']);
  t.equal(r.code, 2);
  t.match(r.stderr, /--serial <path> or --ble <lock id>/);
});

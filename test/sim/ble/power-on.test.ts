import t from 'tap';
import { SimRadio } from '../../../src/sim/ble/sim-radio.js';
import { SimWorld } from '../../../src/sim/ble/world.js';

/**
 * Issue 17 saw 2 of 16 simulator starts fail with noble's "Timeout waiting for Noble to be
 * powered on". The daemon waits 10 s (src/lock/transport/ble-radio.ts), so that is the
 * bound here: each of 50 consecutive starts — a fresh pty, controller and noble, as each
 * test and each `ble-sim` start makes — must reach poweredOn within it.
 */
const STARTS = 50;
const DAEMON_POWERED_ON_TIMEOUT_MS = 10_000;

t.test(`the simulated controller powers noble on in ${STARTS} consecutive starts`, async (t) => {
  const failures: string[] = [];
  for (let i = 0; i < STARTS; i++) {
    const radio = await SimRadio.start({ world: new SimWorld({ seed: i }) });
    try {
      const noble = await radio.noble(DAEMON_POWERED_ON_TIMEOUT_MS);
      if (noble.state !== 'poweredOn') failures.push(`start ${i}: state ${noble.state}`);
    } catch (err) {
      failures.push(`start ${i}: ${(err as Error).message}`);
    } finally {
      await radio.close();
    }
  }
  t.same(failures, [], `${STARTS - failures.length} of ${STARTS} starts powered on`);
});

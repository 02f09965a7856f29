import t from 'tap';
import { SimRadio } from '../../../src/sim/ble/sim-radio.js';
import { SimWorld } from '../../../src/sim/ble/world.js';
import { net } from '../../helpers/patience.js';

/**
 * Issue 17 saw 2 of 16 simulator starts fail with noble's "Timeout waiting for Noble to be
 * powered on". Each of 50 consecutive starts — a fresh pty, controller and noble, as each
 * test and each `ble-sim` start makes — must reach poweredOn. Power-on takes ~10 ms (137 ms
 * at most under stress-ng); the wait is the suite's safety net over 1 s, as the daemon's own
 * 10 s is, so a lost HCI reset or a crash fails here and a slow machine does not.
 */
const STARTS = 50;

t.test(`the simulated controller powers noble on in ${STARTS} consecutive starts`, async (t) => {
  const failures: string[] = [];
  for (let i = 0; i < STARTS; i++) {
    const radio = await SimRadio.start({ world: new SimWorld({ seed: i }) });
    try {
      const noble = await radio.noble(net(1000));
      if (noble.state !== 'poweredOn') failures.push(`start ${i}: state ${noble.state}`);
    } catch (err) {
      failures.push(`start ${i}: ${(err as Error).message}`);
    } finally {
      await radio.close();
    }
  }
  t.same(failures, [], `${STARTS - failures.length} of ${STARTS} starts powered on`);
});

import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { isCtopError } from '../../../src/errors.js';
import { SerialLink } from '../../../src/lock/transport/serial-link.js';
import { PtyPair } from '../../../src/sim/pty-pair.js';
import { net } from '../../helpers/patience.js';

/**
 * link.ts: pending calls reject on close. A read that ends (its deadline, a replay bound)
 * closes the link while writes may still be waiting for a lock that stopped reading; they
 * must end with the link, or they would hold their caller.
 */
t.test('a write the lock never reads does not outlive close()', async (t) => {
  const pty = await PtyPair.open();
  t.teardown(() => pty.close());
  const link = await SerialLink.open({ path: pty.gatewayPath, baudRate: 115_200 });
  // Nobody reads the lock's end: 4 MiB fills socat's and both ptys' buffers.
  const outcome = link.write(Buffer.alloc(4 * 1024 * 1024, 0x7e)).then(
    () => 'written',
    (err: unknown) => err,
  );
  // Not a timing assumption: pending or not, the write must be settled once close() returns.
  await sleep(100);
  await link.close();
  const settled = await Promise.race([outcome, sleep(net(1000)).then(() => 'still pending')]);
  t.ok(isCtopError(settled, 'E_TRANSPORT_CLOSED'), `the write ended with ${String(settled)}`);
  t.equal(isCtopError(settled) && settled.details.canceled, true, 'as canceled (link.ts)');
  const later = await link.write(Buffer.of(1)).then(
    () => 'written',
    (err: unknown) => err,
  );
  t.ok(isCtopError(later, 'E_TRANSPORT_CLOSED'), 'and a write after close rejects at once');
});

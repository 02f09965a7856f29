import { lstatSync, readlinkSync } from 'node:fs';
import t from 'tap';
import { PtyPair } from '../../src/sim/pty-pair.js';

function linkExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

t.test('a cut pair leaves no link behind that another pty could answer on', async (t) => {
  const a = await PtyPair.open();
  t.teardown(() => a.close());
  const before = readlinkSync(a.gatewayPath);
  await a.cut();
  // socat dies by SIGKILL and cannot clean up: a link left there would point at a /dev/pts
  // number the kernel gives the next pty, here b's.
  t.notOk(linkExists(a.gatewayPath), 'the gateway link is gone with the cable');
  t.notOk(linkExists(a.lockPath), 'the lock link too');
  const b = await PtyPair.open();
  t.teardown(() => b.close());
  await a.restore();
  t.ok(linkExists(a.gatewayPath), 'restore brings the link back');
  t.not(readlinkSync(a.gatewayPath), readlinkSync(b.gatewayPath), "a's link never names b's pty");
  t.comment(`a was ${before}, now ${readlinkSync(a.gatewayPath)}; b is ${readlinkSync(b.gatewayPath)}`);
});

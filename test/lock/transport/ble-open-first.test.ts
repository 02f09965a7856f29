import t, { type Test } from 'tap';
import { readLock } from '../../../src/lock/reader.js';
import { startSimulatedTrain } from '../../../src/sim/ble-train.js';
import { radioHearing } from '../../helpers/ble-train.js';
import { net } from '../../helpers/patience.js';

/**
 * Connecting to whichever of several locks is heard first, from the controller's Filter
 * Accept List (BleRadio.openFirst): the link goes to a listed lock, never to one left off
 * the list, and it is a whole link (GATT set up, a read works on it).
 */
async function setup(
  t: Test,
  controller: { filterAcceptListSize?: number; scanWhileInitiating?: boolean } = {},
) {
  const ids = ['SSL-KZ-FIRST-A', 'SSL-KZ-FIRST-B', 'SSL-KZ-FIRST-C'];
  let reachable = new Set(ids);
  const train = await startSimulatedTrain({
    locks: ids.map((lockId) => ({
      lockId,
      manifest: Buffer.from(`manifest of ${lockId}`),
      peripheral: { presence: {}, rssiDbm: () => (reachable.has(lockId) ? -55 : -140), rssiNoiseDb: 0 },
    })),
    controller,
  });
  t.teardown(() => train.close());
  const { radio, warnings, byId } = await radioHearing(t, train, ids.length);
  return {
    train,
    radio,
    warnings,
    address: (id: string) => byId.get(`SSL-KZ-FIRST-${id}`)!,
    onlyReachable: (...which: string[]) => {
      reachable = new Set(which.map((w) => `SSL-KZ-FIRST-${w}`));
    },
  };
}

t.test('the radio learns the size of the controller’s list', async (t) => {
  const { radio, warnings } = await setup(t, { filterAcceptListSize: 5 });
  t.equal(radio.acceptListSize, 5);
  t.same(warnings, [], 'no warning');
});

t.test('connects to the listed lock that is heard, not to one left off the list', async (t) => {
  const { radio, address, onlyReachable, train } = await setup(t);
  // A and C are listed; only C (and the unlisted B) can be heard.
  onlyReachable('B', 'C');
  const over: (string | undefined)[] = [];
  const { address: connected, link: settingUp } = await radio.openFirst([address('A'), address('C')], {
    connectTimeoutMs: 600_000,
    onAttemptOver: (a) => over.push(a),
  });
  const link = await settingUp;
  t.equal(connected, address('C'), 'the listed lock that was heard');
  t.equal(link.endpoint, address('C'));
  t.same(over, [address('C')], 'the attempt reported over once, with the lock connected');
  t.same(
    train.radio.emulator.controller.connections.map((c) => c.address),
    [address('C')],
    'one connection, to C',
  );
  // The link is whole: the lock is read over it.
  const read = await readLock({ gatewayId: 'KZ-ALTYNKOL-GW01', open: async () => link, attempts: 1 });
  t.equal(read.outcome, 'complete', 'the lock was read on the link');
  t.equal(Buffer.from(read.manifest!).toString(), 'manifest of SSL-KZ-FIRST-C');
});

t.test(
  'none heard: the attempt ends at its timeout with E_BLE_CONNECT, and the radio connects after',
  async (t) => {
    const { radio, address, onlyReachable, train } = await setup(t);
    onlyReachable('B');
    const over: (string | undefined)[] = [];
    await t.rejects(
      radio.openFirst([address('A'), address('C')], {
        connectTimeoutMs: 500,
        onAttemptOver: (a) => over.push(a),
      }),
      {
        code: 'E_BLE_CONNECT',
        message: /none of the 2 locks listed answered a connection request within 500 ms/,
      },
    );
    t.same(over, [undefined]);
    t.equal(train.radio.emulator.controller.connections.length, 0, 'no link left behind');
    onlyReachable('A', 'B', 'C');
    const { address: connected, link } = await radio.openFirst([address('A')], { connectTimeoutMs: 600_000 });
    t.equal(connected, address('A'), 'the list is rebuilt for each attempt');
    await (await link).close();
  },
);

t.test('an abort gives the attempt up', async (t) => {
  const { radio, address, onlyReachable } = await setup(t);
  onlyReachable();
  const abort = new AbortController();
  const attempt = radio.openFirst([address('A')], { connectTimeoutMs: 600_000, signal: abort.signal });
  setTimeout(() => abort.abort(), 50);
  await t.rejects(attempt, { code: 'E_BLE_CONNECT', message: /given up/ });
});

t.test('a controller without the list: size 0, and openFirst says so', async (t) => {
  const { radio, address, warnings } = await setup(t, { filterAcceptListSize: 0 });
  t.equal(radio.acceptListSize, 0);
  t.match(
    warnings,
    [/has no Filter Accept List: connecting one named lock at a time/],
    'one warning that says so',
  );
  await t.rejects(radio.openFirst([address('A')], { connectTimeoutMs: 1000 }), {
    code: 'E_BLE_CONNECT',
    message: /no Filter Accept List/,
  });
});

t.test(
  'a controller that cannot scan while it initiates: connects all the same, and scans after',
  async (t) => {
    const { radio, address } = await setup(t, { scanWhileInitiating: false });
    const before = radio.listenedMs();
    const { link } = await radio.openFirst([address('B')], { connectTimeoutMs: 600_000 });
    await (await link).close();
    const deadline = Date.now() + net(20_000);
    while (radio.listenedMs() - before < 200 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    t.ok(radio.listenedMs() - before >= 200, 'listening again after the attempt');
  },
);

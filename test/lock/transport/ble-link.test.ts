import { randomBytes } from 'node:crypto';
import t from 'tap';
import { BleRadio } from '../../../src/lock/transport/ble-radio.js';
import { echoApp } from '../../../src/sim/ble/apps.js';
import { startSimulatedTrain } from '../../../src/sim/ble-train.js';

/**
 * BleLink.write through noble and the simulated radio: frames larger than one ATT write go
 * out as several writes, and frames written together (a window of WRITE requests) arrive
 * whole and in order — interleaved pieces break a binary stream (PROTOCOL.md §13.4).
 */
t.test('frames written together arrive whole and in order, never interleaved', async (t) => {
  const train = await startSimulatedTrain({
    locks: [
      {
        lockId: 'SSL-KZ-ECHO',
        manifest: Buffer.alloc(1),
        peripheral: { presence: {}, rssiDbm: -55 },
        app: () => echoApp(),
      },
    ],
  });
  t.teardown(() => train.close());
  const radio = await BleRadio.open({ bindings: train.bindings, clock: train.world.clock });
  t.teardown(() => radio.close());
  await radio.startScanning();
  while (radio.sightings.size === 0) await new Promise((r) => setTimeout(r, 20));
  await radio.stopScanning();
  const link = await radio.open([...radio.sightings.keys()][0]!);
  t.ok(link.chunkSize < 1000, `writes of at most ${link.chunkSize} bytes`);
  const frames = [randomBytes(1050), randomBytes(299), randomBytes(1500), randomBytes(20)];
  const writes = frames.map((f) => link.write(f));
  const expected = Buffer.concat(frames);
  const got: Buffer[] = [];
  let have = 0;
  while (have < expected.byteLength) {
    const bytes = Buffer.from(await link.read());
    got.push(bytes);
    have += bytes.byteLength;
  }
  await Promise.all(writes);
  t.equal(Buffer.concat(got).toString('hex'), expected.toString('hex'), 'the echo is the frames in order');
  await link.close();
});

t.test(
  'frames written in one turn share ATT writes: four READs are one packet of requests, not four',
  async (t) => {
    const writes: number[] = [];
    const train = await startSimulatedTrain({
      locks: [
        {
          lockId: 'SSL-KZ-ECHO',
          manifest: Buffer.alloc(1),
          peripheral: { presence: {}, rssiDbm: -55 },
          app: () => {
            const echo = echoApp();
            const receive = echo.onRxWrite.bind(echo);
            echo.onRxWrite = (c, value) => {
              writes.push(value.byteLength);
              receive(c, value);
            };
            return echo;
          },
        },
      ],
    });
    t.teardown(() => train.close());
    const radio = await BleRadio.open({ bindings: train.bindings, clock: train.world.clock });
    t.teardown(() => radio.close());
    await radio.startScanning();
    while (radio.sightings.size === 0) await new Promise((r) => setTimeout(r, 20));
    await radio.stopScanning();
    const link = await radio.open([...radio.sightings.keys()][0]!);
    // Four READ-sized frames of one window refill, then one more written after they went out.
    const together = [0, 1, 2, 3].map(() => randomBytes(27));
    await Promise.all(together.map((f) => link.write(f)));
    const later = randomBytes(27);
    await link.write(later);
    const expected = Buffer.concat([...together, later]);
    const got: Buffer[] = [];
    let have = 0;
    while (have < expected.byteLength) {
      const bytes = Buffer.from(await link.read());
      got.push(bytes);
      have += bytes.byteLength;
    }
    t.equal(Buffer.concat(got).toString('hex'), expected.toString('hex'), 'the echo is the frames in order');
    t.same(writes, [4 * 27, 27], 'one ATT write for the four written together, one for the later frame');
    await link.close();
  },
);

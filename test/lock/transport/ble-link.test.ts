import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { BleRadio } from '../../../src/lock/transport/ble-radio.js';
import type { LockLink } from '../../../src/lock/transport/link.js';
import { echoApp } from '../../../src/sim/ble/apps.js';
import { startSimulatedTrain } from '../../../src/sim/ble-train.js';

/**
 * BleLink.write through noble and the simulated radio: frames larger than one ATT write go
 * out as several writes, and frames written together (a window of WRITE requests) arrive
 * whole and in order — interleaved pieces break a binary stream (PROTOCOL.md §13.4).
 */

/** A link to one echoing lock; `onWrite` sees the size of every ATT write it receives. */
async function echoLink(t: Test, onWrite: (bytes: number) => void = () => {}) {
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
            onWrite(value.byteLength);
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
  return radio.open([...radio.sightings.keys()][0]!);
}

/** Reads the echo until it has as many bytes as `expected`. */
async function echoed(link: LockLink, expected: Buffer): Promise<Buffer> {
  const got: Buffer[] = [];
  let have = 0;
  while (have < expected.byteLength) {
    const bytes = Buffer.from(await link.read());
    got.push(bytes);
    have += bytes.byteLength;
  }
  return Buffer.concat(got);
}

t.test('frames written together arrive whole and in order, never interleaved', async (t) => {
  const link = await echoLink(t);
  t.ok(link.chunkSize < 1000, `writes of at most ${link.chunkSize} bytes`);
  const frames = [randomBytes(1050), randomBytes(299), randomBytes(1500), randomBytes(20)];
  const writes = frames.map((f) => link.write(f));
  const expected = Buffer.concat(frames);
  const got = await echoed(link, expected);
  await Promise.all(writes);
  t.equal(got.toString('hex'), expected.toString('hex'), 'the echo is the frames in order');
  await link.close();
});

t.test(
  'frames written in one turn share ATT writes: four READs are one packet of requests, not four',
  async (t) => {
    const writes: number[] = [];
    const link = await echoLink(t, (bytes) => writes.push(bytes));
    // Four READ-sized frames of one window refill, then one more written after they went out.
    const together = [0, 1, 2, 3].map(() => randomBytes(27));
    await Promise.all(together.map((f) => link.write(f)));
    const later = randomBytes(27);
    await link.write(later);
    const expected = Buffer.concat([...together, later]);
    const got = await echoed(link, expected);
    t.equal(got.toString('hex'), expected.toString('hex'), 'the echo is the frames in order');
    t.same(writes, [4 * 27, 27], 'one ATT write for the four written together, one for the later frame');
    await link.close();
  },
);

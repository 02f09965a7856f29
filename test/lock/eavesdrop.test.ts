import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { readLock } from '../../src/lock/reader.js';
import { openManifest } from '../../src/manifest/open.js';
import { appendEvents } from '../../src/sim/lock/event-log-builder.js';
import { generateLockIdentity, LockEngine } from '../../src/sim/lock/lock-engine.js';
import { memoryLinkTo } from '../../src/sim/lock/memory-link.js';
import { SimulatedLock } from '../../src/sim/lock/simulated-lock.js';
import { FIXTURE_MANIFESTS_DIR, testKeys } from '../helpers/test-keys.js';

/**
 * THREAT-MODEL.md, BLE eavesdropping: anyone beside the train can record the lock
 * conversation (the lock protocol has no link encryption; BLE pairing is not used).
 * What the recorder gets must hold no goods, parties or declaration data in the clear:
 * only the routing fields MANIFEST.md §1 leaves clear. Real lock engine, real reader,
 * real fixture; every byte both ways is recorded, each frame line decoded as a sniffer would.
 */

const goodsFixture = JSON.parse(
  readFileSync(join(FIXTURE_MANIFESTS_DIR, 'wheat-kostanay-urumqi.json'), 'utf8'),
) as {
  consignor: { name: string; id: string };
  consignee: { name: string; id: string };
  document: { number: string };
  goods: { name: string; hs: string; value: string }[];
};

/** Every byte of every line, plus every line's base64 decoded: what a sniffer sees. */
function sniffed(captured: Buffer[]): Buffer {
  const raw = Buffer.concat(captured);
  const decoded = raw
    .toString('latin1')
    .split('\n')
    .filter((line) => line.startsWith('~'))
    .map((line) => Buffer.from(line.slice(1).replace(/\r$/, ''), 'base64'));
  return Buffer.concat([raw, ...decoded]);
}

t.test('a recorded lock conversation holds no goods, parties or declaration in the clear', async (t) => {
  const keys = testKeys(t);
  const manifest = readFileSync(join(FIXTURE_MANIFESTS_DIR, 'wheat-kostanay-urumqi.cose'));
  const identity = generateLockIdentity();
  const events = appendEvents('SSL-KZ-000123', identity.secretKey, [], [{ kind: 1, time: 1_790_000_000 }]);
  const lock = new SimulatedLock(new LockEngine({ lockId: 'SSL-KZ-000123', identity, manifest, events }));
  const air: Buffer[] = [];
  const result = await readLock({
    gatewayId: 'KZ-DOSTYK-GW01',
    open: async () => {
      const link = memoryLinkTo(lock, (bytes) => {
        air.push(Buffer.from(bytes));
        return bytes;
      });
      const write = link.write.bind(link);
      link.write = async (bytes: Uint8Array) => {
        air.push(Buffer.from(bytes));
        return write(bytes);
      };
      return link;
    },
  });
  lock.detach();
  t.equal(result.outcome, 'complete');
  t.ok(result.manifest?.equals(manifest), 'the manifest crossed the air whole');

  // The customs recipient does see the goods: the secrets below are really in the manifest.
  const opened = openManifest(manifest, keys.key('kz-customs-recipient-1'), keys.trustStore());
  const clear = JSON.stringify(opened);
  const secrets = [
    goodsFixture.consignor.name,
    goodsFixture.consignee.name,
    goodsFixture.consignor.id,
    goodsFixture.consignee.id,
    goodsFixture.document.number,
    ...goodsFixture.goods.flatMap((g) => [g.name, g.hs, g.value]),
  ];
  for (const secret of secrets) t.ok(clear.includes(secret), `the opened manifest holds ${secret}`);

  // Frames split the manifest into READ chunks, so a field could straddle two of them: the
  // sniffer also reassembles the chunks, which gives exactly the bytes the reader got.
  const heard = Buffer.concat([sniffed(air), result.manifest ?? Buffer.alloc(0)]);
  t.ok(heard.byteLength > manifest.byteLength, `${heard.byteLength} bytes recorded`);
  for (const secret of secrets) {
    t.equal(heard.indexOf(Buffer.from(secret, 'utf8')), -1, `not on the air: ${secret}`);
  }
  // The routing fields are meant to be clear (a gateway indexes without a key): the recorder
  // proves it heard the manifest at all.
  t.not(heard.indexOf(Buffer.from('SSL-KZ-000123')), -1, 'routing is clear, as MANIFEST.md §1 says');
});

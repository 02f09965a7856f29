import fc from 'fast-check';
import t from 'tap';
import {
  advertisingSurvival,
  bitErrorRate,
  exchangeAirUs,
  packetAirUs,
  packetErrorRate,
  packetsPerEvent,
} from '../../../src/sim/ble/air-time.js';
import { deliveriesPerEvent, linkGoodput } from '../../../src/sim/ble/link-params.js';
import { seededRandom } from '../../../src/sim/prng.js';

t.test('packet air time from the PHY and the payload (Core 5.3 Vol 6 Part B §2.1)', async (t) => {
  // 1M: 1 preamble + 4 access address + 2 header + 251 payload + 3 CRC = 261 octets × 8 µs.
  t.equal(packetAirUs('1m', 251), 2088);
  t.equal(packetAirUs('1m', 0), 80, 'an empty packet');
  // 2M: a 2-octet preamble, 4 µs per octet.
  t.equal(packetAirUs('2m', 251), 1048);
  t.equal(exchangeAirUs('1m', 251, 0), 2088 + 150 + 80 + 150);
});

t.test('full packets per connection event: about six at 15 ms on 1M, ten on 2M', async (t) => {
  t.equal(packetsPerEvent('1m', 15, 251), 6);
  t.equal(packetsPerEvent('2m', 15, 251), 10);
  t.equal(packetsPerEvent('1m', 7.5, 251), 2, 'the event closes T_IFS before the next anchor');
  t.equal(packetsPerEvent('1m', 30, 27), 44, 'short packets without data length extension');
  // The radio's ceiling: 6 notifications of 244 value bytes per 15 ms.
  t.equal(linkGoodput({ lossRate: 0 }, { attMtu: 247, llOctets: 251, connectionIntervalMs: 15 }), 97_600);
  t.equal(
    Math.round(
      linkGoodput({ lossRate: 0, phy: '2m' }, { attMtu: 247, llOctets: 251, connectionIntervalMs: 15 }),
    ),
    162_667,
  );
  t.equal(
    Math.round(
      linkGoodput(
        { lossRate: 0, packetsPerInterval: 4 },
        { attMtu: 247, llOctets: 251, connectionIntervalMs: 15 },
      ),
    ),
    Math.round((4 * 244) / 0.015),
    "a controller's own cap",
  );
});

t.test('bit and packet errors at the sensitivity match its definition', async (t) => {
  t.ok(Math.abs(bitErrorRate(0) - 0.001) < 1e-12, 'BER 0.1 % at the sensitivity');
  // The RF test specification checks sensitivity with 37-octet payloads at ~30.8 % PER.
  const per37 = packetErrorRate('1m', 0, 37);
  t.ok(per37 > 0.29 && per37 < 0.33, `37-octet PER at the sensitivity ${per37.toFixed(3)}`);
  t.ok(packetErrorRate('1m', 6, 251) < 1e-6, 'clean 6 dB above');
  t.ok(packetErrorRate('1m', -4, 27) > 0.999, 'deaf 4 dB below');
  t.equal(packetErrorRate('1m', Number.POSITIVE_INFINITY, 251), 0);
});

t.test('packet errors grow as the margin falls and as the packet grows', async () => {
  fc.assert(
    fc.property(
      fc.double({ min: -10, max: 20, noNaN: true }),
      fc.double({ min: 0.01, max: 5, noNaN: true }),
      fc.integer({ min: 0, max: 250 }),
      (margin, step, payload) => {
        const per = packetErrorRate('1m', margin, payload);
        return (
          per >= 0 &&
          per <= 1 &&
          packetErrorRate('1m', margin + step, payload) <= per &&
          packetErrorRate('1m', margin, payload + 1) >= per
        );
      },
    ),
  );
});

t.test('advertisements collide as pure ALOHA', async (t) => {
  t.equal(advertisingSurvival(0, 376, 105), 1);
  // 40 other locks at ~105 ms with 376 µs packets: exp(−2 · 40 · 0.376 / 105).
  t.ok(Math.abs(advertisingSurvival(40, 376, 105) - Math.exp((-80 * 0.376) / 105)) < 1e-12);
  t.ok(advertisingSurvival(100, 376, 105) < advertisingSurvival(10, 376, 105));
});

t.test('deliveriesPerEvent agrees with playing the rule by chance', async (t) => {
  const random = seededRandom(5);
  for (const [k, p, toPeripheral] of [
    [6, 0.05, false],
    [6, 0.3, true],
    [3, 0.2, false],
  ] as const) {
    let delivered = 0;
    const events = 100_000;
    for (let e = 0; e < events; e++) {
      let deaf = 0;
      for (let n = 0; n < k; n++) {
        const centralLost = random() < p;
        const peripheralLost = centralLost || random() < p;
        if (toPeripheral ? !centralLost : !peripheralLost) delivered++;
        if (peripheralLost) {
          if (++deaf >= 2) break;
        } else deaf = 0;
      }
    }
    const expected = deliveriesPerEvent(k, p, toPeripheral);
    t.ok(
      Math.abs(delivered / events / expected - 1) < 0.01,
      `k ${k} p ${p} ${toPeripheral ? 'to peripheral' : 'to central'}: ${(delivered / events).toFixed(3)} vs ${expected.toFixed(3)}`,
    );
  }
  t.equal(deliveriesPerEvent(6, 0, false), 6);
});

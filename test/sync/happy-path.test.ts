/**
 * The shared broker suite (broker-suite.ts) against mosquitto: anonymous and with password
 * login, MQTT 5 and 3.1.1. ejabberd.test.ts runs the same suite against ejabberd.
 */
import t from 'tap';
import { drainWithReceipts, wrongPassword } from './broker-suite.js';

const LOGINS = { mosquitto: 'anonymous', 'mosquitto-password': 'password login' } as const;

for (const kind of ['mosquitto', 'mosquitto-password'] as const) {
  for (const protocolVersion of [5, 4] as const) {
    const version = protocolVersion === 5 ? '5' : '3.1.1';
    t.test(
      `mosquitto, ${LOGINS[kind]}, MQTT ${version}: manifests and records reach the exchange once, each row done on its signed receipt`,
      (t) => drainWithReceipts(t, kind, protocolVersion),
    );
  }
}

t.test('mosquitto, password login: a wrong password is refused, and logged nowhere', (t) =>
  wrongPassword(t, 'mosquitto-password'),
);

import t from 'tap';
import { lastWill } from './broker-suite.js';

t.test('mosquitto: an agent SIGKILLed leaves the retained status offline, lost (its last will)', (t) =>
  lastWill(t, 'mosquitto'),
);

t.test(
  'mosquitto, TLS client certificates and the ACL: the will passes the ACL on the gateway’s own topic',
  (t) => lastWill(t, 'mosquitto-tls'),
);

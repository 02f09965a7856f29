import t from 'tap';
import { lastWill } from './broker-suite.js';

// ejabberd.test.ts runs the same against ejabberd.
t.test(
  'mosquitto, TLS client certificates and the ACL: an agent SIGKILLed leaves the retained status offline, lost (its last will, through the ACL)',
  (t) => lastWill(t, 'mosquitto-tls'),
);

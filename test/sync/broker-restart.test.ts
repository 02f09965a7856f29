import t from 'tap';
import { brokerRestartMidDrain } from './broker-suite.js';

for (const persistence of [true, false]) {
  t.test(
    `mosquitto SIGKILLed mid-drain and restarted (persistence ${persistence ? 'on' : 'off'}): everything delivered, once`,
    (t) => brokerRestartMidDrain(t, 'mosquitto', persistence),
  );
}

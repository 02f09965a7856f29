import t from 'tap';
import { agentKilledMidDrain } from './broker-suite.js';

const KILLS = Number(process.env.CTOP_SYNC_KILLS ?? 50);

t.test(
  `the agent SIGKILLed at random ${KILLS} times during a drain: 0 lost, 0 duplicated at the exchange`,
  (t) => agentKilledMidDrain(t, 'mosquitto', KILLS),
);

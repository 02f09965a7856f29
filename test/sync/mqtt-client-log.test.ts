import t from 'tap';
import { mqttClientLog } from '../../src/sync/mqtt-client-log.js';

t.test("mqtt.js's packet trace is a no-op unless DEBUG asks for it", async (t) => {
  const saved = process.env.DEBUG;
  t.teardown(() => {
    if (saved === undefined) delete process.env.DEBUG;
    else process.env.DEBUG = saved;
  });
  delete process.env.DEBUG;
  const quiet = mqttClientLog();
  t.type(quiet.log, 'function', 'a logger of our own replaces the debug module');
  t.equal(quiet.log?.('publish :: %s', 'topic'), undefined);
  process.env.DEBUG = 'mqttjs*';
  t.same(mqttClientLog(), {}, 'with DEBUG set, mqtt.js keeps its own trace');
});

/**
 * The heap mqtt-packet's table of 65,536 number Buffers holds: heapUsed after a collection,
 * before and after one QoS 1 PUBLISH is written, with the table (mqtt-packet's default) or
 * without it (what src/sync/mqtt-number-cache.ts sets). The table is process-wide, so each
 * variant runs in a process of its own.
 *
 * `node --expose-gc --import tsx scripts/bench/sync/mqtt-number-table.ts`
 */
import { spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import { dropMqttNumberCache } from '../../../src/sync/mqtt-number-cache.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

if (process.argv[2] === '--measure') {
  if (process.argv[3] === 'without') dropMqttNumberCache();
  gc();
  const before = process.memoryUsage().heapUsed;
  const sink = new PassThrough();
  sink.resume();
  mqttPacket.writeToStream(
    {
      cmd: 'publish',
      topic: 'a/b',
      payload: Buffer.from('x'),
      qos: 1,
      messageId: 7,
      dup: false,
      retain: false,
    },
    sink,
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  gc();
  console.log((process.memoryUsage().heapUsed - before) / 1e6);
} else {
  for (const variant of ['with', 'without']) {
    const run = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, '--measure', variant], {
      encoding: 'utf8',
    });
    if (run.status !== 0) throw new Error(run.stderr);
    console.log(
      `${variant} the table: heap grew ${Number(run.stdout.trim()).toFixed(2)} MB after one PUBLISH`,
    );
  }
}

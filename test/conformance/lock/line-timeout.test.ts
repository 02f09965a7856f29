import t from 'tap';
import { judge, verdicts } from './helpers.js';

/**
 * LINE-4 (MUST drop a half line within 10 s) and LINE-5 (SHOULD within 5 s): the kit sends
 * half a frame, waits, then a whole request. These runs wait on purpose (6 to 23 s).
 */

t.test('the faithful simulator (5 s line timeout) passes both', async (t) => {
  const { report } = await judge(t, {}, ['line-timeout']);
  t.match(verdicts(report), { 'LINE-4': 'pass', 'LINE-5': 'pass' });
});

t.test('--line-timeout-ms 8000: the SHOULD fails, the MUST holds, the lock conforms', async (t) => {
  const { report } = await judge(t, { faults: { lineTimeoutMs: 8000 } }, ['line-timeout']);
  t.match(verdicts(report), { 'LINE-4': 'pass', 'LINE-5': 'fail' });
  t.equal(report.conforms, true);
});

t.test('--line-timeout-ms 0 (never): LINE-4 fails', async (t) => {
  const { report } = await judge(t, { faults: { lineTimeoutMs: 0 } }, ['line-timeout']);
  t.match(verdicts(report), { 'LINE-4': 'fail', 'LINE-5': 'fail' });
  t.equal(report.conforms, false);
});

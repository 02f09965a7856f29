import { isCtopError } from '../../errors.js';
import { ProbeError } from './probe.js';
import { hello, onLink, type Run, step } from './run.js';

/**
 * Announced GATT handles (§13.5, GATT-1): a link at the handles the lock announces, with no
 * service discovery, carries a HELLO and its answer. The link's own set-up reads RX's
 * declaration before the announced handle and writes TX's CCCD three after it; a lock whose
 * table differs fails there, or leaves the HELLO unanswered.
 */
export async function gattChecks(run: Run): Promise<void> {
  if (run.transport === 'serial') {
    run.findings.skip('GATT-1', 'needs a BLE link (--ble)');
    return;
  }
  if (!run.announced) {
    run.findings.skip(
      'GATT-1',
      'the lock announces no GATT handles (a lock of revision 1.2 or earlier): gateways discover its service',
    );
    return;
  }
  const { rxHandle, open } = run.announced;
  await step(run, 'GATT-1', async () => {
    try {
      await onLink({ ...run, open }, async (link) => {
        const info = await hello(run, link);
        run.findings.pass(
          'GATT-1',
          `RX's declaration read at ${rxHandle - 1}, TX's CCCD written at ${rxHandle + 3}, HELLO written to ` +
            `${rxHandle} answered at ${rxHandle + 2} by ${info.id}: no discovery`,
        );
      });
    } catch (err) {
      if (isCtopError(err, 'E_BLE_GATT')) throw new ProbeError(err.message);
      throw err;
    }
  });
}

import { SealState } from '../../lock/codec/constants.js';
import type { Run } from './run.js';

/** How long the kit listens to the lock's advertising. */
export const ADVERTISING_LISTEN_MS = 3000;
/** Reports closer than this are one advertising event (ADV_IND and its scan response). */
const SAME_EVENT_MS = 10;
/** 20 ms + the Core's advDelay of at most 10 ms, and 2 ms for the host's reading of the reports. */
const MAX_LOWER_QUARTILE_GAP_MS = 32;
/** Fewer gaps than this say nothing about an interval of 20 ms (3 s hold ~100 of them). */
const MIN_GAPS = 8;

/**
 * The advertising interval (§13.2, ADV-1): with no link open, the lock's advertising reports
 * are collected for 3 s, reports a moment apart taken as one event, and the lower quartile of
 * the gaps between events judged — events lost on the way lengthen some gaps to two or three
 * intervals, never shorten one below the lock's interval.
 */
export async function advertisingChecks(run: Run): Promise<void> {
  const advertising = run.advertising;
  if (run.transport === 'serial' || !advertising) {
    run.findings.skip('ADV-1', 'needs a BLE link (--ble)');
    return;
  }
  if (advertising.sealState === SealState.Unsealed) {
    run.findings.skip('ADV-1', 'the lock is unsealed: ADV-1 applies to a sealed or tampered lock');
    return;
  }
  const reports = await advertising.reportsFor(ADVERTISING_LISTEN_MS);
  const events: number[] = [];
  for (const at of reports) {
    const last = events.at(-1);
    if (last === undefined || at - last >= SAME_EVENT_MS) events.push(at);
  }
  const gaps = events.slice(1).map((at, i) => at - events[i]!);
  const seconds = ADVERTISING_LISTEN_MS / 1000;
  if (gaps.length < MIN_GAPS) {
    run.findings.fail(
      'ADV-1',
      `${events.length} advertising events heard in ${seconds} s with no link open: a lock advertising every ` +
        `20 ms gives about ${Math.round(ADVERTISING_LISTEN_MS / 25)}`,
    );
    return;
  }
  const sorted = [...gaps].sort((a, b) => a - b);
  const lowerQuartile = sorted[Math.floor(sorted.length / 4)]!;
  run.findings.check(
    'ADV-1',
    lowerQuartile <= MAX_LOWER_QUARTILE_GAP_MS,
    `${events.length} advertising events in ${seconds} s, the lower quartile of the gaps between them ` +
      `${lowerQuartile.toFixed(0)} ms (at most ${MAX_LOWER_QUARTILE_GAP_MS} for an advInterval of 20 ms)`,
  );
}

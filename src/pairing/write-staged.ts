import { CtopError, isCtopError, toCtopError } from '../errors.js';
import type { CarrierSession } from '../lock/carrier-session.js';
import { WireError } from '../lock/codec/constants.js';

export interface WriteStagedOptions {
  /** Where the lock's staging area ends now (INFO `staged`): writing continues there. 0 starts afresh. */
  from: number;
  /** Called after every answered WRITE with the lock's contiguous `staged` count. */
  onProgress?: (staged: number, total: number) => void;
}

/** GAP answers tolerated per request of the window without the staging area growing. */
const GAPS_PER_SLOT = 4;

/**
 * Writes `manifest` into the lock's staging area (PROTOCOL.md §12 step 2) with a window of
 * WRITE requests in flight, from `from` on. Resolves with the lock's final `staged` count,
 * which equals the manifest size.
 *
 * - A WRITE at offset 0 empties the lock's staging area, so it travels alone: were it
 *   retransmitted behind later chunks, it would wipe them.
 * - A chunk answered GAP arrived after an earlier one the lock never got; the session
 *   retransmits that earlier one by itself (fast retransmit), and the refused chunk goes
 *   back into the queue.
 * - Answers may come for retransmissions of chunks already stored (overlaps overwrite
 *   with the same bytes): harmless.
 */
export async function writeStaged(
  session: CarrierSession,
  manifest: Uint8Array,
  options: WriteStagedOptions,
): Promise<number> {
  const size = manifest.byteLength;
  const { window, chunk } = session.transfer;
  const report = (staged: number) => options.onProgress?.(Math.min(staged, size), size);
  let staged = options.from > 0 && options.from <= size ? options.from : 0;
  if (staged === 0) {
    staged = await session.writeChunk(0, manifest.subarray(0, Math.min(chunk, size)));
    report(staged);
  }
  for (let pass = 0; staged < size; pass++) {
    if (pass > 2) {
      throw new CtopError('E_PAIRING_WRITE', `the lock stages only ${staged} of ${size} bytes`, {
        details: { staged, size },
      });
    }
    staged = Math.max(staged, await writeWindowed(session, manifest, staged, window, chunk, report));
  }
  return staged;
}

/** One windowed pass over [start, size); resolves with the highest `staged` the lock reported. */
async function writeWindowed(
  session: CarrierSession,
  manifest: Uint8Array,
  start: number,
  window: number,
  chunk: number,
  report: (staged: number) => void,
): Promise<number> {
  const size = manifest.byteLength;
  const queue: number[] = [];
  for (let off = start; off < size; off += chunk) queue.push(off);
  // One lost request makes every later one in flight GAP; only GAPs without progress mean a broken lock.
  let gapsWithoutProgress = 0;
  let highest = start;
  let inFlight = 0;
  let firstError: Error | undefined;
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      if (firstError) {
        if (inFlight === 0) reject(firstError);
        return;
      }
      while (inFlight < window && queue.length > 0) {
        const off = queue.shift()!;
        inFlight++;
        session.writeChunk(off, manifest.subarray(off, Math.min(off + chunk, size))).then(
          (staged) => {
            inFlight--;
            if (staged > highest) {
              highest = staged;
              gapsWithoutProgress = 0;
              report(staged);
            }
            pump();
          },
          (err: unknown) => {
            inFlight--;
            if (isCtopError(err, 'E_LOCK_REFUSED') && err.details.wireCode === WireError.Gap) {
              if (++gapsWithoutProgress <= GAPS_PER_SLOT * window) {
                // Back in order, so the queue stays sorted by offset.
                const at = queue.findIndex((q) => q > off);
                queue.splice(at === -1 ? queue.length : at, 0, off);
              } else {
                firstError ??= new CtopError(
                  'E_PAIRING_WRITE',
                  `the lock keeps answering GAP (staged ${String(err.details.staged)})`,
                  { cause: err, details: { staged: err.details.staged, off } },
                );
              }
            } else {
              firstError ??= toCtopError(err);
            }
            pump();
          },
        );
      }
      if (inFlight === 0 && queue.length === 0) resolve();
    };
    pump();
  });
  return highest;
}

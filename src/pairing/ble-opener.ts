import { CtopError } from '../errors.js';
import type { BleRadio, LockSighting } from '../lock/transport/ble-radio.js';
import type { LinkOpener } from '../lock/transport/link.js';

export interface FindLockOptions {
  /** How long to listen for the lock's advertisement. Default 20 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * The LinkOpener for pairing over BLE: listens until the lock advertises `lockId` (its
 * scan-response name, PROTOCOL.md §13.2), then opens a link to that address for every
 * attempt. Advertisements are unauthenticated: the pairing still checks the id in HELLO
 * and the identity key in AUTH before writing anything.
 */
export async function bleLockOpener(
  radio: BleRadio,
  lockId: string,
  options: FindLockOptions = {},
): Promise<LinkOpener> {
  const { address } = await findLock(radio, lockId, options);
  return () => radio.open(address);
}

/** Listens until the lock advertises `lockId` and returns that sighting. */
export async function findLock(
  radio: BleRadio,
  lockId: string,
  options: FindLockOptions = {},
): Promise<LockSighting> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const matches = (s: LockSighting) => s.advertisement.lockId === lockId;
  let sighting = [...radio.sightings.values()].find(matches);
  if (!sighting) {
    sighting = await new Promise<LockSighting>((resolve, reject) => {
      const done = (err?: Error, found?: LockSighting) => {
        clearTimeout(timer);
        radio.off('sighting', onSighting);
        options.signal?.removeEventListener('abort', onAbort);
        if (found) resolve(found);
        else reject(err);
      };
      const onSighting = (s: LockSighting) => {
        if (matches(s)) done(undefined, s);
      };
      const onAbort = () =>
        done(new CtopError('E_TRANSPORT_CLOSED', 'aborted', { details: { canceled: true } }));
      const timer = setTimeout(
        () =>
          done(
            new CtopError(
              'E_BLE_CONNECT',
              `lock ${lockId} was not heard advertising within ${timeoutMs / 1000} s`,
              {
                details: { lockId, timeoutMs },
              },
            ),
          ),
        timeoutMs,
      );
      radio.on('sighting', onSighting);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      radio.startScanning().catch((err: Error) => done(err));
    });
  }
  return sighting;
}

import { decodeDeterministic, encodeCanonical } from '../cbor/index.js';
import { CtopError, isCtopError } from '../errors.js';
import { ADDRESS_PATTERN } from './address.js';
import { FieldReader } from './fields.js';

/**
 * The retained `status` message of a gateway (EXCHANGE.md §7): `online` when it connects,
 * `offline` when it stops, and `offline` from the broker as its last will when the
 * connection dies. Unsigned: it is a hint for dashboards, never evidence.
 */
export interface GatewayStatus {
  state: 'online' | 'offline';
  /** The gateway's address. */
  from: string;
  /** ms: when the state was entered — for a last will, when the connection that died was opened. */
  at: number;
  /** Unacknowledged outbox rows when the message was made. */
  backlog?: number;
  /** `lost` for the last will, `stopped` for a graceful stop. */
  reason?: 'connected' | 'stopped' | 'lost';
}

export function encodeStatus(status: GatewayStatus): Buffer {
  return encodeCanonical(status);
}

export function decodeStatus(bytes: Uint8Array): GatewayStatus {
  let value: unknown;
  try {
    value = decodeDeterministic(
      bytes,
      { maxDepth: 1, maxMapSize: 16, maxTextBytes: 256, maxByteStringBytes: 0 },
      {
        malformed: 'E_SYNC_MALFORMED',
        nonCanonical: 'E_SYNC_MALFORMED',
        limit: 'E_SYNC_MALFORMED',
      },
    );
  } catch (err) {
    if (isCtopError(err)) throw err;
    throw new CtopError('E_SYNC_MALFORMED', `status: ${(err as Error).message}`, { cause: err });
  }
  const r = new FieldReader(value, 'status');
  const backlog = r.optionalUint('backlog');
  const reason = r.has('reason') ? r.oneOf('reason', ['connected', 'stopped', 'lost'] as const) : undefined;
  return {
    state: r.oneOf('state', ['online', 'offline'] as const),
    from: r.text('from', { max: 256, pattern: ADDRESS_PATTERN }),
    at: r.uint('at'),
    ...(backlog === undefined ? {} : { backlog }),
    ...(reason === undefined ? {} : { reason }),
  };
}

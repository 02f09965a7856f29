/**
 * Why the path to the exchange is broken, as a token the outage record and the report to
 * the exchange carry (traceability agreement Art. 11: the malfunction is reported).
 */
export type OutageCause =
  /** The broker's name does not resolve. */
  | 'dns'
  /** No TCP connection (refused, unreachable, reset before CONNACK). */
  | 'broker_unreachable'
  /** The TLS handshake failed (certificate, CA, protocol). */
  | 'tls'
  /** The broker answered CONNACK with a refusal (not authorised, bad credentials, …). */
  | 'broker_refused'
  /** A TCP connection was made but no CONNACK came in time (e.g. a link that swallows bytes). */
  | 'connect_timeout'
  /** An established connection stopped answering pings (half-open link). */
  | 'keepalive_timeout'
  /** An established connection closed. */
  | 'connection_lost'
  /** Connected, messages waiting, but no receipt from the exchange for too long. */
  | 'no_receipts';

export const OUTAGE_CAUSES: readonly OutageCause[] = [
  'dns',
  'broker_unreachable',
  'tls',
  'broker_refused',
  'connect_timeout',
  'keepalive_timeout',
  'connection_lost',
  'no_receipts',
];

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);
const NET_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'EADDRNOTAVAIL',
]);
/** Node's certificate verification codes (tls.TLSSocket authorizationError). */
const CERT_CODES =
  /^(CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|ERR_TLS_|ERR_SSL_|INVALID_CA|PATH_LENGTH_EXCEEDED|INVALID_PURPOSE)/;

export interface ClassifiedCause {
  cause: OutageCause;
  detail: string;
}

/**
 * Classifies what mqtt.js or the socket reported. `established` says whether a CONNACK
 * had been received on this connection: a reset after it is a lost connection, before it
 * an unreachable broker.
 */
export function classifyConnectionError(err: unknown, established: boolean): ClassifiedCause {
  if (err === undefined || err === null) {
    return { cause: established ? 'connection_lost' : 'broker_unreachable', detail: 'connection closed' };
  }
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const detail = (code && !message.includes(code) ? `${code}: ${message}` : message).slice(0, 500);
  if (code && DNS_CODES.has(code)) return { cause: 'dns', detail };
  if (code && CERT_CODES.test(code)) return { cause: 'tls', detail };
  if (/\bSSL\b|\bTLS\b|certificate|alert/i.test(message) && !established) return { cause: 'tls', detail };
  if (/keepalive timeout/i.test(message)) return { cause: 'keepalive_timeout', detail };
  if (/connack timeout/i.test(message)) return { cause: 'connect_timeout', detail };
  // mqtt.js reports a CONNACK refusal as an error with a numeric reason code.
  if (typeof e.code === 'number' && !established)
    return { cause: 'broker_refused', detail: `CONNACK ${e.code}: ${message}` };
  if (code && NET_CODES.has(code))
    return { cause: established ? 'connection_lost' : 'broker_unreachable', detail };
  return { cause: established ? 'connection_lost' : 'broker_unreachable', detail };
}

/**
 * Every error the agent raises on purpose carries one of these stable codes.
 *
 * Rules (after fastify's lib/errors.js):
 * - a code is never reused for another meaning and never renamed once released;
 * - every code is documented in docs/ERRORS.md (test/errors.test.ts checks both ways);
 * - the `hint` tells an operator what to do; logs print it next to the code;
 * - the category decides the CLI exit code (EXIT_CODES below, documented in the README).
 *
 * Add codes to the section of your module; keep sections in data-flow order.
 */

export type ErrorCategory =
  | 'usage'
  | 'config'
  | 'transport'
  | 'protocol'
  | 'integrity'
  | 'manifest'
  | 'store'
  | 'sync'
  | 'security'
  | 'internal';

export interface ErrorSpec {
  readonly category: ErrorCategory;
  /** One line: what happened, used when the thrower gives no message of its own. */
  readonly summary: string;
  /** One line: what the operator should do about it. */
  readonly hint: string;
}

export const ERRORS = {
  // --- line framing (src/lock/line-framer.ts) ---
  E_LINE_TOO_LONG: {
    category: 'protocol',
    summary: 'a line from the lock exceeded the maximum line length and was cut off',
    hint: 'the lock firmware is broken or hostile; report the lock id to its vendor',
  },
  E_LINE_SLOW: {
    category: 'protocol',
    summary: 'a line from the lock did not complete within the line timeout (slow-loris)',
    hint: 'check the cable or radio link; if it persists the lock firmware is broken or hostile',
  },

  // --- frame codec (src/lock/frame.ts) ---
  E_FRAME_ENCODING: {
    category: 'protocol',
    summary: 'a frame line is not valid base64 after the start marker',
    hint: 'line noise or a wrong baud rate; check --baud and the cable',
  },
  E_FRAME_SHORT: {
    category: 'protocol',
    summary: 'a frame is shorter than its fixed header and CRC',
    hint: 'line noise or a truncated frame; check the link',
  },
  E_FRAME_VERSION: {
    category: 'protocol',
    summary: 'a frame carries a protocol version this agent does not speak',
    hint: 'update the agent or the lock firmware so both share a protocol version',
  },
  E_FRAME_TYPE: {
    category: 'protocol',
    summary: 'a frame carries an unknown message type',
    hint: 'the lock speaks a newer or non-conforming protocol; report the lock id to its vendor',
  },
  E_FRAME_LENGTH: {
    category: 'protocol',
    summary: 'the length field of a frame does not match the bytes that follow it',
    hint: 'a truncated frame or a hostile lock; the frame was dropped',
  },
  E_FRAME_CRC: {
    category: 'protocol',
    summary: 'a frame failed its CRC-32 check',
    hint: 'line noise; the request is retried. Persistent CRC errors mean a bad cable or wrong baud rate',
  },
  E_FRAME_BODY: {
    category: 'protocol',
    summary: 'a frame body is not valid CBOR or does not match the schema of its message type',
    hint: 'the lock firmware is non-conforming; report the lock id and the logged frame type to its vendor',
  },
  E_FRAME_REPLAY: {
    category: 'protocol',
    summary: 'the lock sent a response to a request that was already answered (replayed frame)',
    hint: 'duplicates are dropped; many of them end the session. Suspect a hostile device near the train',
  },
  E_FRAME_SEQ: {
    category: 'protocol',
    summary: 'the lock sent a response whose sequence number matches no request',
    hint: 'the lock firmware is non-conforming or the link mixes two sessions',
  },

  // --- lock session (src/lock/session.ts) ---
  E_LOCK_TIMEOUT: {
    category: 'transport',
    summary: 'the lock did not answer in time after all retries',
    hint: 'move the reader closer or check the cable; the read resumes from the last verified offset',
  },
  E_LOCK_DISCONNECTED: {
    category: 'transport',
    summary: 'the link to the lock dropped',
    hint: 'the read resumes from the last verified offset once the link is back',
  },
  E_LOCK_REFUSED: {
    category: 'protocol',
    summary: 'the lock answered a request with a protocol error code',
    hint: 'see the wire error code in the log and firmware-protocol/PROTOCOL.md §8',
  },
  E_LOCK_VERSION: {
    category: 'protocol',
    summary: 'the lock and the agent share no protocol version',
    hint: 'update the agent or the lock firmware',
  },
  E_LOCK_PROTOCOL: {
    category: 'protocol',
    summary: 'the lock violated the protocol (an answer that does not fit the request)',
    hint: 'the lock firmware is broken or hostile; report the lock id to its vendor',
  },
  E_LOCK_OVERSIZE: {
    category: 'protocol',
    summary: 'the lock declares a size above the configured limit',
    hint: 'raise the limit only if the manifest is genuine; a hostile lock can claim any size',
  },
  E_LOCK_CLONED: {
    category: 'integrity',
    summary: 'the lock failed to prove its identity key (cloned or counterfeit lock)',
    hint: 'treat the container as suspect: hold it for inspection and report the tamper alert',
  },
  E_LOCK_HASH: {
    category: 'integrity',
    summary: 'the manifest read from the lock does not match the SHA-256 the lock announced',
    hint: 'the read was repeated and still failed; treat the lock as suspect and inspect the container',
  },
  E_LOCK_STATE: {
    category: 'usage',
    summary: 'a session operation was called in a state that does not allow it',
    hint: 'a programming error in the caller; report it with the log',
  },

  // --- transports (src/lock/serial-transport.ts, src/lock/ble-transport.ts) ---
  E_TRANSPORT_OPEN: {
    category: 'transport',
    summary: 'the link to the lock could not be opened',
    hint: 'check the device path, that it exists, and that the agent user may open it (group dialout)',
  },
  E_TRANSPORT_CLOSED: {
    category: 'transport',
    summary: 'the transport was closed while an operation was in flight',
    hint: 'expected during shutdown; otherwise see the preceding log line for the cause',
  },

  // --- command line (src/cli/) ---
  E_USAGE: {
    category: 'usage',
    summary: 'the command line is incomplete or contradictory',
    hint: 'run the command with --help',
  },
  E_FILE: {
    category: 'usage',
    summary: 'a file named on the command line cannot be read or written',
    hint: 'check the path and its permissions',
  },
  E_INTERNAL: {
    category: 'internal',
    summary: 'an unexpected internal error',
    hint: 'a bug: report it with the log lines around it',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** Exit codes of the CLI by error category; documented in the README. */
export const EXIT_CODES: Readonly<Record<ErrorCategory, number>> = {
  internal: 1,
  usage: 2,
  config: 3,
  transport: 4,
  protocol: 5,
  integrity: 6,
  manifest: 7,
  store: 8,
  sync: 9,
  security: 10,
};

export interface CtopErrorOptions {
  cause?: unknown;
  /** Structured fields for the log line; never secrets or manifest bodies. */
  details?: Record<string, unknown>;
}

export class CtopError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message?: string, options: CtopErrorOptions = {}) {
    super(message ?? ERRORS[code].summary, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CtopError';
    this.code = code;
    this.details = options.details ?? {};
  }

  get category(): ErrorCategory {
    return ERRORS[this.code].category;
  }

  get hint(): string {
    return ERRORS[this.code].hint;
  }

  get exitCode(): number {
    return EXIT_CODES[this.category];
  }

  /** Fields for a structured log line: `log.warn(err.toLog(), err.message)`. */
  toLog(): Record<string, unknown> {
    return { code: this.code, hint: this.hint, ...this.details };
  }
}

export function isCtopError(err: unknown, code?: ErrorCode): err is CtopError {
  return err instanceof CtopError && (code === undefined || err.code === code);
}

/** Wraps anything thrown into a CtopError so callers handle one type. */
export function toCtopError(err: unknown, fallback: ErrorCode = 'E_INTERNAL'): CtopError {
  if (err instanceof CtopError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CtopError(fallback, message, { cause: err });
}

import { type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths never written to a log line. Manifest bodies and key material must not reach
 * journald (CTOP Protocol Art. 6: the information is confidential).
 */
export const REDACTED_PATHS = [
  'secretKey',
  'privateKey',
  'password',
  'passphrase',
  'manifest',
  'body',
  'plaintext',
  '*.secretKey',
  '*.privateKey',
  '*.password',
  '*.passphrase',
  '*.manifest',
  '*.body',
  '*.plaintext',
];

export interface LogOptions {
  level?: string;
  /** Human-readable lines instead of JSON; default: when stdout is a TTY. */
  pretty?: boolean;
  /** Destination file descriptor; default 1 (stdout). 2 keeps stdout free for command output. */
  fd?: number;
}

export function createLogger(options: LogOptions = {}): Logger {
  const fd = options.fd ?? 1;
  const pretty = options.pretty ?? (fd === 1 ? process.stdout.isTTY : process.stderr.isTTY) === true;
  const base: LoggerOptions = {
    level: options.level ?? process.env.CTOP_LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  if (pretty) {
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { destination: fd, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  }
  return pino(base, pino.destination({ fd, sync: fd === 2 }));
}

/** A logger that discards everything; for tests and library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });

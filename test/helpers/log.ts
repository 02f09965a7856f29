import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../src/log.js';

/** A logger that keeps every line it writes (no redaction: a test sees what the code put in). */
export function captureLog(level = 'trace'): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: pino({ level }, sink), lines };
}

/** A logger that keeps the message of each warning and drops every other line. */
export function warningsLog(): { log: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const ignore = () => undefined;
  const log = {
    child: () => log,
    warn: (o: unknown, msg?: string) => warnings.push(typeof o === 'string' ? o : (msg ?? '')),
    info: ignore,
    debug: ignore,
    error: ignore,
    trace: ignore,
    fatal: ignore,
  } as unknown as Logger;
  return { log, warnings };
}

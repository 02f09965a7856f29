import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../src/log.js';

/** A pino logger at `level` whose every written line goes to `onLine`, synchronously. */
function loggerTo(level: string, onLine: (line: string) => void): Logger {
  const sink = new Writable({
    write(chunk, _enc, done) {
      onLine(String(chunk));
      done();
    },
  });
  return pino({ level }, sink);
}

/** A logger that keeps every line it writes (no redaction: a test sees what the code put in). */
export function captureLog(level = 'trace'): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: loggerTo(level, (line) => lines.push(line)), lines };
}

/** A logger that keeps the message of each warning and drops every other line. */
export function warningsLog(): { log: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const log = loggerTo('warn', (line) => {
    const { level, msg } = JSON.parse(line) as { level: number; msg?: string };
    if (level === 40) warnings.push(msg ?? '');
  });
  return { log, warnings };
}

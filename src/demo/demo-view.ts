/**
 * What `npm start` shows while it runs: on a terminal, a few status lines redrawn in place
 * under a scrolling list of events; anywhere else (CI logs, pipes) the events and a plain
 * progress line every few seconds.
 */

export type WagonLockState = 'unseen' | 'queued' | 'reading' | 'read' | 'verified' | 'failed' | 'skipped';

export interface DemoTrainStatus {
  trainId: string;
  expected: number;
  /** By lock index along the train (two per wagon). */
  locks: WagonLockState[];
  startedAt: number;
}

export interface DemoSerialStatus {
  bay: string;
  lockId?: string;
  text: string;
}

export interface DemoExchangeStatus {
  connected: boolean;
  outageSince?: number;
  outageCause?: string;
  backlog: number;
  receipts: number;
  rejected: number;
}

export interface DemoStatus {
  train?: DemoTrainStatus;
  serial: DemoSerialStatus[];
  exchange: DemoExchangeStatus;
  now: number;
}

const COLOR = {
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  red: '\x1b[31m',
  dim: '\x1b[2m',
  bold: '\x1b[1m',
  reset: '\x1b[0m',
};

const count = (locks: WagonLockState[], ...states: WagonLockState[]) =>
  locks.filter((s) => states.includes(s)).length;

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

export function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

export class DemoView {
  readonly #out: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #status: () => DemoStatus;
  #drawn = 0;
  #timer: NodeJS.Timeout | undefined;
  #lastPlain = 0;
  #stopped = false;
  readonly #plainEveryMs: number;

  constructor(out: NodeJS.WriteStream, status: () => DemoStatus, options: { plainEveryMs?: number } = {}) {
    this.#out = out;
    this.#tty = out.isTTY === true && process.env.TERM !== 'dumb';
    this.#status = status;
    this.#plainEveryMs = options.plainEveryMs ?? 5000;
  }

  get live(): boolean {
    return this.#tty;
  }

  start(): void {
    this.#stopped = false;
    if (this.#tty) this.#out.write('\x1b[?25l');
    this.#timer = setInterval(() => this.#tick(), this.#tty ? 250 : 500);
  }

  /** One event line, above the live block. */
  note(line: string): void {
    if (this.#tty && !this.#stopped) {
      this.#erase();
      this.#out.write(`${line}\n`);
      this.#draw();
    } else {
      this.#out.write(`${line}\n`);
    }
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    if (this.#tty) {
      this.#draw();
      this.#out.write('\x1b[?25h');
      this.#drawn = 0;
    }
  }

  #tick(): void {
    if (this.#tty) {
      this.#erase();
      this.#draw();
      return;
    }
    const status = this.#status();
    if (status.now - this.#lastPlain < this.#plainEveryMs) return;
    this.#lastPlain = status.now;
    this.#out.write(`${plainLine(status)}\n`);
  }

  #erase(): void {
    if (this.#drawn === 0) return;
    this.#out.write(`\x1b[${this.#drawn}A\x1b[0J`);
    this.#drawn = 0;
  }

  #draw(): void {
    const width = Math.max(40, (this.#out.columns ?? 100) - 1);
    const lines = liveLines(this.#status(), width);
    for (const line of lines) this.#out.write(`${line}\n`);
    this.#drawn = lines.length;
  }
}

/** One line for logs: where the train, the bays and the exchange stand. */
export function plainLine(s: DemoStatus): string {
  const parts: string[] = [];
  if (s.train) {
    const l = s.train.locks;
    parts.push(
      `train ${s.train.trainId}: ${count(l, 'read', 'verified')}/${s.train.expected} read, ${count(l, 'verified')} verified, ${count(l, 'reading')} reading, ${count(l, 'failed')} failed`,
    );
  }
  // Bays only while they read: their results are events of their own.
  for (const bay of s.serial) if (/reading|resuming/.test(bay.text)) parts.push(`${bay.bay}: ${bay.text}`);
  parts.push(exchangeText(s, false));
  return parts.join(' | ');
}

function exchangeText(s: DemoStatus, color: boolean): string {
  const c = (code: string, text: string) => (color ? `${code}${text}${COLOR.reset}` : text);
  const e = s.exchange;
  const link =
    e.outageSince !== undefined
      ? c(
          COLOR.red,
          `OUTAGE ${formatDuration(s.now - e.outageSince)}${e.outageCause ? ` (${e.outageCause})` : ''}`,
        )
      : e.connected
        ? c(COLOR.green, 'connected')
        : c(COLOR.yellow, 'connecting');
  return `exchange ${link} · backlog ${e.backlog} · ${e.receipts} receipts · ${e.rejected} rejected`;
}

const GLYPH: Record<WagonLockState, [string, string]> = {
  unseen: ['·', COLOR.dim],
  queued: ['○', ''],
  reading: ['▸', COLOR.yellow],
  read: ['■', COLOR.yellow],
  verified: ['■', COLOR.green],
  skipped: ['□', COLOR.dim],
  failed: ['✗', COLOR.red],
};

function liveLines(s: DemoStatus, width: number): string[] {
  const lines: string[] = [];
  if (s.train) {
    const l = s.train.locks;
    const done = count(l, 'read', 'verified', 'failed', 'skipped');
    const barWidth = 24;
    const filled = Math.round((done / Math.max(1, s.train.expected)) * barWidth);
    lines.push(
      `${COLOR.bold}train ${s.train.trainId}${COLOR.reset} [${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)}] ` +
        `${count(l, 'read', 'verified')}/${s.train.expected} read · ${COLOR.green}${count(l, 'verified')} verified${COLOR.reset} · ` +
        `${count(l, 'reading')} reading · ${count(l, 'failed') > 0 ? COLOR.red : ''}${count(l, 'failed')} failed${COLOR.reset} · ${formatDuration(s.now - s.train.startedAt)}`,
    );
    // One glyph per lock, wagon by wagon, wrapped to the terminal.
    const perLine = Math.max(20, width - 9);
    for (let i = 0; i < l.length; i += perLine) {
      const strip = l
        .slice(i, i + perLine)
        .map((state) => `${GLYPH[state][1]}${GLYPH[state][0]}${COLOR.reset}`)
        .join('');
      lines.push(`${i === 0 ? '  locks ' : '        '} ${strip}`);
    }
  } else {
    lines.push(`${COLOR.dim}waiting for a train…${COLOR.reset}`);
  }
  for (const bay of s.serial) lines.push(`  ${bay.bay.padEnd(6)} ${bay.text}`.slice(0, width));
  lines.push(`  ${exchangeText(s, true)}`);
  return lines;
}

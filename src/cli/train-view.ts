import type { LockProgress, TrainState, TrainSummary } from '../train/train-board.js';

const STATE_ORDER: Record<string, number> = {
  reading: 0,
  connecting: 1,
  retrying: 2,
  queued: 3,
  failed: 4,
  read: 5,
  skipped: 6,
};

/**
 * The live view of `ctop-agent train read`: on a terminal, a table redrawn in place (the
 * active locks first, then the last finished ones); otherwise one plain line per change of
 * a lock's state, for logs and pipes.
 */
export class TrainView {
  readonly #out: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #rows: number;
  #drawn = 0;
  #lastState = new Map<string, string>();

  constructor(out: NodeJS.WriteStream = process.stderr, rows = 14) {
    this.#out = out;
    this.#tty = out.isTTY === true;
    this.#rows = rows;
  }

  /** A lock changed; prints a line when not on a terminal. */
  lock(p: LockProgress): void {
    if (this.#tty || this.#lastState.get(p.address) === p.state) return;
    this.#lastState.set(p.address, p.state);
    const bytes = p.total > 0 ? ` ${p.bytes}/${p.total} B` : '';
    const error = p.error ? ` ${p.error.code}: ${p.error.message}` : '';
    this.#out.write(`${p.lockId} ${p.address} ${p.state}${bytes} pass ${p.passes} rssi ${p.rssi}${error}\n`);
  }

  /** Redraws the table (terminal only). */
  draw(train: TrainState | undefined): void {
    if (!this.#tty || !train) return;
    const locks = [...train.locks.values()].sort(
      (a, b) => (STATE_ORDER[a.state] ?? 9) - (STATE_ORDER[b.state] ?? 9) || b.updatedAt - a.updatedAt,
    );
    const count = (s: string) => locks.filter((l) => l.state === s).length;
    const lines = [
      `train ${train.trainId}: heard ${locks.length}${train.expected ? `/${train.expected}` : ''}  read ${count('read')}  skipped ${count('skipped')}  active ${count('reading') + count('connecting')}  queued ${count('queued') + count('retrying')}  failed ${count('failed')}`,
      `${'lock'.padEnd(16)} ${'state'.padEnd(10)} ${'bytes'.padStart(13)} ${'pass'.padStart(4)} ${'rssi'.padStart(5)}  error`,
      ...locks.slice(0, this.#rows).map((l) => {
        const bytes = l.total > 0 ? `${l.bytes}/${l.total}` : '';
        return `${l.lockId.padEnd(16)} ${l.state.padEnd(10)} ${bytes.padStart(13)} ${String(l.passes).padStart(4)} ${String(Math.round(l.rssi)).padStart(5)}  ${l.error?.code ?? ''}`;
      }),
    ];
    if (this.#drawn > 0) this.#out.write(`\x1b[${this.#drawn}A`);
    for (const line of lines) this.#out.write(`\x1b[2K${line.slice(0, (this.#out.columns ?? 120) - 1)}\n`);
    for (let i = lines.length; i < this.#drawn; i++) this.#out.write('\x1b[2K\n');
    this.#drawn = Math.max(lines.length, this.#drawn);
  }
}

export function formatSummary(s: TrainSummary, verifying: boolean, simulatedSeconds?: number): string {
  const lines = [
    `train ${s.trainId}: ${s.read} read${verifying ? ` (${s.verified} verified)` : ''}, ${s.skipped} skipped, ${s.failed.length} failed` +
      `${s.expected !== undefined ? `, ${s.missing} missing of ${s.expected} expected` : ''}, ${s.manifestBytes} manifest bytes in ${(s.durationMs / 1000).toFixed(1)} s` +
      `${simulatedSeconds !== undefined ? ` (${simulatedSeconds.toFixed(1)} simulated s)` : ''}`,
  ];
  for (const f of s.failed) lines.push(`  failed ${f.lockId} (${f.address}): ${f.code} ${f.message}`);
  return `${lines.join('\n')}\n`;
}

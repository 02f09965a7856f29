import cliProgress from 'cli-progress';

/**
 * Progress for long CLI operations: a live bar on a terminal, plain lines otherwise (CI
 * logs, journald, pipes), at most one line per `plainEveryMs`.
 */
export interface Progress {
  update(done: number, total: number, note?: string): void;
  stop(): void;
}

export function createProgress(label: string, options: { plainEveryMs?: number } = {}): Progress {
  const stream = process.stderr;
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% {value}/{total} B {note}`,
        hideCursor: true,
        stream,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total, note = '') {
        if (!started) {
          bar.start(Math.max(total, 1), done, { note });
          started = true;
        }
        bar.setTotal(Math.max(total, 1));
        bar.update(done, { note });
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  let last = 0;
  const every = options.plainEveryMs ?? 1000;
  return {
    update(done, total, note = '') {
      const now = Date.now();
      if (now - last < every && done < total) return;
      last = now;
      const pct = total > 0 ? Math.floor((done * 100) / total) : 0;
      stream.write(`${label}: ${done}/${total} bytes (${pct}%)${note ? ` ${note}` : ''}\n`);
    },
    stop() {},
  };
}

import type { Logger } from '../log.js';

type CleanupStep = () => Promise<unknown> | unknown;

/**
 * What the demo started, stopped in reverse order. Each step is bounded: a simulated device
 * whose pty died with the terminal's Ctrl-C (socat is in our process group) must not keep
 * the demo from ending.
 */
export class Cleanups {
  readonly #steps: CleanupStep[] = [];
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  push(step: CleanupStep): void {
    this.#steps.push(step);
  }

  async run(): Promise<void> {
    for (const step of this.#steps.reverse()) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(step),
          new Promise((resolve) => {
            timer = setTimeout(() => {
              this.#log.warn({ step: String(step).slice(0, 80) }, 'demo cleanup step did not finish in 10 s');
              resolve(undefined);
            }, 10_000);
          }),
        ]);
      } catch (err) {
        this.#log.warn({ err: (err as Error).message }, 'demo cleanup step failed');
      } finally {
        clearTimeout(timer);
      }
    }
  }
}

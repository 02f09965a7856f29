import type { ClockTimer } from '../../src/clock.js';
import { ManualClock } from './store.js';

/**
 * A ManualClock with timers: time moves only when the test says so, and timers due by then
 * fire in order. For code that takes a Clock for its deadlines (the line framer, the
 * session), so a test of a deadline states exactly when it must fire instead of racing the
 * machine.
 */
export class TimerClock extends ManualClock {
  #timers: { at: number; fn: () => void; live: boolean }[] = [];

  setTimeout(fn: () => void, ms: number): ClockTimer {
    const timer = { at: this.monotonic() + Math.max(0, ms), fn, live: true };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.live = false;
      },
    };
  }

  override advance(ms: number): void {
    const until = this.monotonic() + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.live && t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      super.advance(due.at - this.monotonic());
      due.live = false;
      due.fn();
    }
    this.#timers = this.#timers.filter((t) => t.live);
    super.advance(until - this.monotonic());
  }
}

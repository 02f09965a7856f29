import type { IClientOptions } from 'mqtt';

type KeepaliveTimer = Exclude<NonNullable<IClientOptions['timerVariant']>, string>;

/**
 * The interval mqtt.js's keepalive runs on, cheap to restart. mqtt.js restarts it on every
 * PUBACK (so a busy link never sends a PINGREQ) by clearing its `setInterval` and setting a
 * new one: a timer-list removal, an insertion and a Timeout object per acknowledged message,
 * about 2 µs of a drain's message (CPU profile of scripts/bench/sync/profile-drain.ts). Here
 * a restart only moves a deadline; one Node timer, armed for the earliest moment it can be
 * due, checks the deadline when it fires and sleeps again if it was moved. The callback runs
 * at the same moments as with `setInterval` (every `ms` after the last restart), never early.
 *
 * One per client (mqtt.js keeps one keepalive interval per client). The Node timer is unref'd:
 * the connection's socket is what keeps a process alive, not its keepalive.
 */
export function keepaliveTimer(now: () => number = () => performance.now()): KeepaliveTimer {
  let callback: (() => void) | undefined;
  let every = 0;
  let due = 0;
  let id = 0;
  let armed: NodeJS.Timeout | undefined;
  let firesAt = 0;

  const arm = (ms: number) => {
    firesAt = now() + ms;
    armed = setTimeout(fire, Math.max(1, Math.ceil(ms)));
    armed.unref();
  };
  const fire = () => {
    armed = undefined;
    if (!callback) return;
    const left = due - now();
    if (left > 0) {
      arm(left);
      return;
    }
    due = now() + every;
    arm(every);
    callback();
  };

  return {
    set: (fn: () => void, ms: number) => {
      callback = fn;
      every = ms;
      due = now() + ms;
      // Armed for later than the new deadline (a shorter interval than before): re-armed.
      if (armed && firesAt > due) {
        clearTimeout(armed);
        armed = undefined;
      }
      if (!armed) arm(ms);
      return ++id;
    },
    clear: (timerId: number) => {
      if (timerId !== id) return;
      callback = undefined;
    },
  } as KeepaliveTimer;
}

import t from 'tap';
import { type ClockJump, type Episode, offsetsAround } from '../../scripts/soak/invariants.js';

// The soak's two steps of a 2-minute run: +45 min at 25 %, back to real time at 60 %.
const jumps: ClockJump[] = [
  { at: 30_000, fromSeconds: 0, toSeconds: 2700 },
  { at: 72_000, fromSeconds: 2700, toSeconds: 0 },
];
const cut = (startedAt: number, endedAt: number): Episode => ({
  kind: 'cut:refuse',
  startedAt,
  endedAt,
  daemonUp: true,
});

t.same(offsetsAround(cut(5000, 10_000), jumps), [0], 'before any step: real time');
t.same(offsetsAround(cut(40_000, 46_000), jumps), [2700], 'between steps, far from both: the offset then');
t.same(
  offsetsAround(cut(73_000, 79_000), jumps),
  [2700, 0],
  'a second after a step: libfaketime may not have read it yet, either offset',
);
t.same(offsetsAround(cut(68_000, 74_000), jumps), [2700, 0], 'a step inside: dated by the clock at its end');
t.same(
  offsetsAround(cut(50_000, 60_000), jumps),
  [2700, 0],
  'a step while the daemon reconnects after the cut: either',
);
t.same(offsetsAround(cut(80_000, 90_000), jumps), [0], 'long after the last step: real time');
t.same(offsetsAround(cut(1000, 5000), []), [0], 'no steps (no libfaketime): real time');

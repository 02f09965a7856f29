import t from 'tap';
import { CtopError } from '../../src/errors.js';
import { DEFAULT_READ_DEADLINE_MS, ReadWatch, type Schedule } from '../../src/lock/read-watch.js';

/** Virtual time: timers fire when the test advances it, so no assertion depends on machine speed. */
class VirtualTime {
  now = 0;
  #timers: { at: number; fn: () => void; live: boolean }[] = [];
  schedule: Schedule = (fn, ms) => {
    const timer = { at: this.now + ms, fn, live: true };
    this.#timers.push(timer);
    return () => {
      timer.live = false;
    };
  };
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const next = this.#timers.filter((x) => x.live && x.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.now = next.at;
      next.live = false;
      next.fn();
    }
    this.now = until;
  }
}

function watched(options: ConstructorParameters<typeof ReadWatch>[0] = {}) {
  const time = new VirtualTime();
  const watch = new ReadWatch({ ...options, schedule: time.schedule });
  const ended: { err: CtopError; at: number }[] = [];
  watch.onEnd((err) => ended.push({ err, at: time.now }));
  return { time, watch, ended };
}

const crc = new CtopError('E_FRAME_CRC', 'CRC-32 0x1 != 0x2');

t.test('the default deadline is 15 s and a read with no valid answer ends exactly then', async (t) => {
  t.equal(DEFAULT_READ_DEADLINE_MS, 15_000);
  const { time, watch, ended } = watched();
  watch.linkOpen();
  time.advance(14_999);
  t.same(ended, []);
  time.advance(1);
  t.equal(ended.length, 1);
  t.equal(ended[0]!.at, 15_000, 'at the deadline, whatever retries or links were left');
  t.equal(ended[0]!.err.code, 'E_LOCK_TIMEOUT');
  t.same(ended[0]!.err.details, { deadlineMs: 15_000, final: true });
});

t.test('every valid answer restarts the deadline; pauses between links count', async (t) => {
  const { time, watch, ended } = watched();
  watch.linkOpen();
  for (let i = 0; i < 10; i++) {
    time.advance(14_000);
    watch.answered(); // a slow lock: one answer every 14 s is still a read
  }
  t.same(ended, []);
  watch.linkOpen(); // a new link does not restart it
  time.advance(15_000);
  t.equal(ended[0]?.at, 140_000 + 15_000);
});

t.test('malformed frames only: their code, at the deadline or at the 16th in a row', async (t) => {
  const slow = watched();
  slow.watch.linkOpen();
  for (let i = 0; i < 5; i++) {
    slow.time.advance(1000);
    slow.watch.malformed(crc);
  }
  slow.time.advance(10_000);
  t.equal(slow.ended[0]?.at, 15_000);
  t.equal(slow.ended[0]?.err.code, 'E_FRAME_CRC', 'the cause, not a timeout');
  t.equal(slow.ended[0]?.err.details.deadlineMs, 15_000);

  const fast = watched();
  fast.watch.linkOpen();
  for (let i = 0; i < 15; i++) fast.watch.malformed(crc);
  t.same(fast.ended, [], '15 in a row is not yet a run');
  fast.watch.answered();
  for (let i = 0; i < 15; i++) fast.watch.malformed(crc);
  t.same(fast.ended, [], 'a valid answer breaks the run');
  fast.watch.malformed(new CtopError('E_FRAME_LENGTH', 'length 65535'));
  t.equal(fast.ended[0]?.err.code, 'E_FRAME_LENGTH');
  t.equal(fast.ended[0]?.err.details.malformedRun, 16);
  t.equal(fast.ended[0]?.at, 0, 'without waiting for the deadline');
});

t.test('the replay bound counts over the whole read: the 33rd ends it', async (t) => {
  const { watch, ended } = watched();
  for (let i = 0; i < 32; i++) watch.unmatched(i % 4 === 0 ? 'stray' : 'replay');
  t.same(ended, []);
  watch.unmatched('replay');
  t.equal(ended[0]?.err.code, 'E_FRAME_REPLAY');
  t.match(ended[0]?.err.details, { replays: 25, strays: 8, bound: 32, final: true });
});

t.test('what ended a read stays its cause; stop() leaves no timer', async (t) => {
  const { time, watch, ended } = watched({ deadlineMs: 2000 });
  watch.linkOpen();
  for (let i = 0; i < 16; i++) watch.malformed(crc);
  time.advance(5000);
  t.equal(ended.length, 1, 'ended once');
  const other = watched();
  other.watch.linkOpen();
  other.watch.stop();
  other.time.advance(60_000);
  t.same(other.ended, []);
});

t.test('the deadline is bounded by the spec', async (t) => {
  t.throws(() => new ReadWatch({ deadlineMs: 30_001 }), TypeError);
  t.throws(() => new ReadWatch({ deadlineMs: 0 }), TypeError);
  t.doesNotThrow(() => new ReadWatch({ deadlineMs: 30_000 }));
});

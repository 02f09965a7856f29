import t from 'tap';
import { decodeOutageReport } from '../../src/exchange-wire/index.js';
import { silentLogger } from '../../src/log.js';
import type { OutageRecord } from '../../src/store/index.js';
import { OutageTracker } from '../../src/sync/outage-tracker.js';
import { runCli } from '../helpers/cli.js';
import { openTestStore } from '../helpers/store.js';

const FROM = 'CTOP://KZ/DOSTYK/gw-dostyk-1';

function tracker(t: Parameters<typeof openTestStore>[0], graceMs = 5000) {
  const { store, clock, path } = openTestStore(t);
  const started: OutageRecord[] = [];
  const ended: OutageRecord[] = [];
  let reads = 0;
  const make = () =>
    new OutageTracker({
      store,
      from: FROM,
      graceMs,
      // With fractions, as performance.now() has (and ticking a little between two reads):
      // nothing may reach the store unrounded.
      monotonic: () => clock.monotonic() + ++reads / 1024,
      log: silentLogger,
      onStart: (o) => started.push(o),
      onEnd: (o) => ended.push(o),
    });
  return { store, clock, path, started, ended, make };
}

t.test(
  'a broken path becomes an outage after the grace time, from its real start and with its first cause',
  async (t) => {
    const { store, clock, started, ended, make } = tracker(t);
    const tr = make();
    tr.start(clock.now());
    tr.connected(clock.now());
    tr.working(clock.now());
    const t0 = clock.now();
    tr.failed('connection_lost', 'broker: read ECONNRESET', t0);
    clock.advance(1000);
    tr.failed('broker_unreachable', 'broker: connect ECONNREFUSED', clock.now());
    clock.advance(3000);
    tr.tick();
    t.equal(started.length, 0, 'a 4 s blip is not an outage');
    t.equal(store.outages.current(), undefined);
    clock.advance(1000);
    tr.tick();
    t.equal(started.length, 1);
    const open = store.outages.current()!;
    t.equal(open.startedAt, t0, 'the outage starts when the path broke, not when it was noticed');
    t.equal(open.cause, 'connection_lost', 'the first cause names the outage');
    t.match(open.detail, /ECONNRESET/);
    t.equal(tr.current?.id, open.id);

    clock.advance(60_000);
    const back = clock.now();
    tr.connected(back);
    clock.advance(40);
    tr.working(clock.now());
    t.equal(ended.length, 1);
    const closed = store.outages.list()[0]!;
    t.equal(closed.endedAt, back, 'a connection outage ends when the connection that worked was made');
    t.equal(closed.reportedAt, clock.now(), 'closed and reported together');
    t.equal(store.outages.unreported().length, 0);
    const [row] = store.outbox.claimDue(clock.now() + 1, 10);
    t.equal(row!.kind, 'outage');
    const report = decodeOutageReport(row!.payload!);
    t.same(report, {
      outageId: closed.id,
      gateway: FROM,
      startedAt: t0,
      endedAt: back,
      cause: 'connection_lost',
      detail: closed.detail,
    });
    const [day] = store.exchangeStats.list();
    t.equal(day!.outageSeconds, 65, 'outage seconds counted per day');
  },
);

t.test(
  'the grace is measured on the monotonic clock: a wall-clock step neither hides nor makes an outage',
  async (t) => {
    const { store, clock, started, make } = tracker(t);
    const tr = make();
    tr.start(clock.now());
    tr.connected(clock.now());
    tr.working(clock.now());

    // A 1 s blip while the wall clock jumps an hour ahead: still a blip.
    tr.failed('connection_lost', 'broker: read ECONNRESET', clock.now());
    clock.advance(500);
    clock.step(3_600_000);
    tr.tick();
    t.equal(started.length, 0, 'a blip during a forward step is not an hour-long outage');
    clock.advance(500);
    tr.connected(clock.now());
    tr.working(clock.now());
    t.equal(store.outages.list().length, 0);

    // A 6 s cut while the wall clock jumps an hour back: still an outage.
    const cutAt = clock.now();
    tr.failed('connection_lost', 'broker: read ECONNRESET', cutAt);
    clock.advance(2000);
    clock.step(-3_600_000);
    clock.advance(4000);
    tr.tick();
    t.equal(started.length, 1, 'a cut past the grace is recorded even though the wall clock went back');
    t.equal(store.outages.current()?.startedAt, cutAt, 'from when it broke, as the wall clock said then');
  },
);

t.test(
  'an outage the wall clock was stepped in keeps its monotonic length, dated by the clock at its end',
  async (t) => {
    const { store, clock, ended, make } = tracker(t, 1000);
    const tr = make();
    tr.start(clock.now());
    tr.connected(clock.now());
    tr.working(clock.now());
    /** A cut of `beforeMs + afterMs`, the wall clock stepped by `stepMs` in between; its record. */
    const outage = (beforeMs: number, stepMs: number, afterMs: number) => {
      const cutAt = clock.now();
      tr.failed('connection_lost', 'broker: read ECONNRESET', cutAt);
      clock.advance(beforeMs);
      tr.tick();
      const opened = store.outages.current()?.startedAt;
      clock.step(stepMs);
      clock.advance(afterMs);
      const lastedMs = tr.currentLengthMs(clock.now());
      tr.connected(clock.now());
      tr.working(clock.now());
      return { cutAt, opened, lastedMs, closed: ended.at(-1)! };
    };

    // 6 s cut; the clock, 45 min ahead, is corrected back 2 s into it (the soak's case).
    clock.step(2_700_000);
    const back = outage(2000, -2_700_000, 4000);
    t.equal(back.opened, back.cutAt, 'opened as the wall clock said then');
    t.equal(back.lastedMs, 6000, 'while open, its length (the metrics gauge) is not thrown by the step');
    t.equal(back.closed.endedAt, clock.now(), 'ends when the path came back, by the corrected clock');
    t.equal(
      back.closed.endedAt! - back.closed.startedAt,
      6000,
      'its length is the 6 s it lasted, not nothing',
    );
    t.equal(back.closed.startedAt, back.cutAt - 2_700_000, 'its start moved by the step');
    const [row] = store.outbox.claimDue(clock.now() + 1, 10);
    const report = decodeOutageReport(row!.payload!);
    t.equal(report.endedAt - report.startedAt, 6000, 'the report to the exchange says the same');

    // A step forward inside a 5 s outage: 5 s, not an hour and 5 s.
    const ahead = outage(2000, 3_600_000, 3000);
    t.equal(ahead.lastedMs, 5000, 'an open outage is not an hour long after a forward step');
    t.equal(ahead.closed.endedAt! - ahead.closed.startedAt, 5000, 'a forward step is not counted either');

    // A clock slewed by a second over a 10 s outage is not a step: the record is left alone.
    const slewed = outage(5000, 1000, 5000);
    t.equal(slewed.closed.startedAt, slewed.cutAt, 'a slewed clock moves no start');
    t.equal(slewed.closed.endedAt! - slewed.cutAt, 11_000, "and its end is the clock's");
  },
);

t.test('connected without receipts is an outage too, ended by the first receipt', async (t) => {
  const { store, clock, make } = tracker(t, 0);
  const tr = make();
  tr.start(clock.now());
  tr.connected(clock.now());
  tr.working(clock.now());
  const sentAt = clock.now();
  clock.advance(30_000);
  tr.unanswered(sentAt, '12 messages without a receipt', clock.now());
  tr.tick();
  const open = store.outages.current()!;
  t.equal(open.cause, 'no_receipts');
  t.equal(open.startedAt, sentAt);
  clock.advance(5000);
  tr.working(clock.now());
  t.equal(store.outages.list()[0]!.endedAt, clock.now(), 'ends when the receipt came');
});

t.test(
  'nothing is proven while disconnected; an outage left open by a killed run is continued, not duplicated',
  async (t) => {
    const { store, clock, path, started, make } = tracker(t, 0);
    const first = make();
    first.start(clock.now());
    first.failed('dns', 'no-such-host.invalid: ENOTFOUND', clock.now());
    first.tick();
    t.equal(started.length, 1);
    first.working(clock.now());
    t.ok(store.outages.current(), 'a receipt cannot prove a path while disconnected');

    // The process dies; the next run adopts the open outage.
    clock.advance(10_000);
    const second = make();
    second.start(clock.now());
    t.equal(second.current?.id, store.outages.current()!.id);
    second.failed('broker_unreachable', 'ECONNREFUSED', clock.now());
    second.tick();
    t.equal(store.outages.list().length, 1, 'still one outage');
    second.connected(clock.now());
    second.working(clock.now());
    const [closed] = store.outages.list();
    t.equal(closed!.cause, 'dns');
    t.ok(closed!.endedAt);

    const { stdout, code } = await runCli(['outages', 'list', '--db', path]);
    t.equal(code, 0);
    t.match(stdout, /dns/);
    t.match(stdout, /1 outage;/);
    const json = await runCli(['outages', 'list', '--json', '--db', path]);
    t.equal(JSON.parse(json.stdout)[0].cause, 'dns');
    const stats = await runCli(['outages', 'stats', '--days', '3660', '--json', '--db', path]);
    t.equal(stats.code, 0);
    t.equal(JSON.parse(stats.stdout)[0].outageSeconds, 10);
  },
);

t.test(
  'an outage closed but never reported (killed in between in an older version) is reported at start',
  async (t) => {
    const { store, clock, make } = tracker(t);
    const opened = store.outages.open('tls', clock.now() - 5000, 'certificate has expired');
    store.outages.close(clock.now());
    make().start(clock.now());
    t.equal(store.outages.unreported().length, 0);
    const [row] = store.outbox.claimDue(clock.now() + 1, 10);
    t.equal(decodeOutageReport(row!.payload!).outageId, opened.id);
  },
);

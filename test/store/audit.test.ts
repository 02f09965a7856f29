import t from 'tap';
import { isCtopError } from '../../src/errors.js';
import { openTestStore } from '../helpers/store.js';

const YEAR = 365.25 * 86_400_000;

t.test('entries come back newest first, filtered by officer, action, time and page', async (t) => {
  const { store, clock } = openTestStore(t);
  const at = clock.now();
  const a = store.audit.record({ officer: 'aigerim', action: 'login', remote: '10.0.0.7' }, at);
  const b = store.audit.record({ officer: 'aigerim', action: 'view', target: '/outbox' }, at + 1000);
  const c = store.audit.record({ officer: 'bolat', action: 'view', target: '/' }, at + 2000);
  const d = store.audit.record(
    {
      officer: 'aigerim',
      action: 'decrypt',
      target: 'ab'.repeat(32),
      outcome: 'refused',
      detail: 'E_MANIFEST_NOT_RECIPIENT',
    },
    at + 3000,
  );
  t.same(a, { id: a.id, at, officer: 'aigerim', action: 'login', outcome: 'ok', remote: '10.0.0.7' });
  t.same(
    store.audit.list().map((e) => e.id),
    [d.id, c.id, b.id, a.id],
  );
  t.same(
    store.audit.list({ officer: 'aigerim' }).map((e) => e.id),
    [d.id, b.id, a.id],
  );
  t.same(
    store.audit.list({ action: 'view' }).map((e) => e.id),
    [c.id, b.id],
  );
  t.same(
    store.audit.list({ since: at + 2000 }).map((e) => e.id),
    [d.id, c.id],
  );
  t.same(
    store.audit.list({ beforeId: c.id, limit: 1 }).map((e) => e.id),
    [b.id],
  );
  t.equal(store.audit.list({ officer: 'nobody' }).length, 0);
});

t.test('bad input is refused; long fields are cut, not lost', async (t) => {
  const { store, clock } = openTestStore(t);
  for (const [entry, why] of [
    [{ officer: 'x', action: 'View' }, /not a token/],
    [{ officer: 'x', action: 'drop table' }, /not a token/],
    [{ officer: '', action: 'view' }, /without an officer/],
    [{ officer: 'x', action: 'view', outcome: 'maybe' as never }, /outcome/],
  ] as const) {
    const err = t.throws(() => store.audit.record(entry, clock.now()));
    t.ok(isCtopError(err, 'E_STORE_INPUT'));
    t.match((err as Error).message, why);
  }
  t.throws(() => store.audit.record({ officer: 'x', action: 'view' }, 1.5), /integer/);
  const long = store.audit.record(
    { officer: 'o'.repeat(100), action: 'view', target: `/${'t'.repeat(600)}`, detail: 'd'.repeat(2000) },
    clock.now(),
  );
  t.equal(long.officer.length, 64);
  t.equal(long.target?.length, 512);
  t.equal(long.detail?.length, 1000);
  t.equal(store.audit.list().length, 1);
});

t.test('the database keeps the trail append-only for the traceability period', async (t) => {
  const { store } = openTestStore(t);
  const now = Date.now();
  const recent = store.audit.record({ officer: 'aigerim', action: 'view', target: '/' }, now);
  const ancient = store.audit.record({ officer: 'aigerim', action: 'view', target: '/' }, now - 6 * YEAR);
  t.throws(
    () => store.db.prepare(`UPDATE audit SET officer = 'someone-else' WHERE audit_id = ?`).run(recent.id),
    /E_STORE_PROTECTED: the audit trail is append-only/,
  );
  t.throws(
    () => store.db.prepare(`UPDATE audit SET outcome = 'ok' WHERE audit_id = ?`).run(ancient.id),
    /append-only/,
    'not even old rows are rewritten',
  );
  t.throws(
    () => store.db.prepare('DELETE FROM audit WHERE audit_id = ?').run(recent.id),
    /E_STORE_PROTECTED: audit rows are kept for the traceability period/,
  );
  t.equal(
    store.db.prepare('DELETE FROM audit WHERE audit_id = ?').run(ancient.id).changes,
    1,
    'a row past the 5 years may go',
  );
  t.same(
    store.audit.list().map((e) => e.id),
    [recent.id],
  );
});

t.test(
  'a full database refuses an audit entry with E_STORE_FULL (the console then refuses the view)',
  async (t) => {
    const { store, clock } = openTestStore(t);
    const pages = store.db.pragma('page_count', { simple: true }) as number;
    store.db.pragma(`max_page_count = ${pages}`);
    let refused: unknown;
    for (let i = 0; i < 10_000 && refused === undefined; i++) {
      try {
        store.audit.record(
          { officer: 'aigerim', action: 'view', target: `/${'x'.repeat(400)}` },
          clock.now(),
        );
      } catch (err) {
        refused = err;
      }
    }
    t.ok(isCtopError(refused, 'E_STORE_FULL'), 'refused with E_STORE_FULL');
    t.equal(store.alarm.state, 'full', 'and the store alarm is raised');
  },
);

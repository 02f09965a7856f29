import t from 'tap';
import { openTestStore } from '../helpers/store.js';

/** PRAGMA synchronous: 1 NORMAL (commit without fsync in WAL mode), 2 FULL. */
const synchronous = (store: { db: { pragma: (s: string, o: { simple: true }) => unknown } }) =>
  store.db.pragma('synchronous', { simple: true });

t.test('a resendable transaction commits without fsync and leaves the connection at FULL', async (t) => {
  const { store, clock } = openTestStore(t);
  t.equal(synchronous(store), 2, 'FULL by default');
  const id = store.resendableTransaction(() => {
    t.equal(synchronous(store), 1, 'NORMAL for this commit');
    return store.outbox.enqueue('alert', Buffer.from('a'), {}, clock.now());
  });
  t.equal(synchronous(store), 2, 'FULL again after it');
  t.equal(store.outbox.get(id)?.state, 'queued', 'committed');

  t.throws(() =>
    store.resendableTransaction(() => {
      store.outbox.enqueue('alert', Buffer.from('b'), {}, clock.now());
      throw new Error('refused');
    }),
  );
  t.equal(synchronous(store), 2, 'FULL again after a rollback');
  t.equal(store.outbox.status(clock.now()).counts.queued, 1, 'the failed one rolled back');

  store.transaction(() => {
    store.resendableTransaction(() => {
      t.equal(synchronous(store), 2, 'inside a durable transaction the outer one decides');
    });
  });
});

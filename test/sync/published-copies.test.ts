import { createHash } from 'node:crypto';
import t from 'tap';
import { PublishedCopies } from '../../src/sync/published-copies.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest();
const copy = (id: string, n: number) => Buffer.from(`envelope of ${id}, attempt ${n}`);

t.test('every copy published is known by its hash, and nothing else is', async (t) => {
  const copies = new PublishedCopies();
  for (let n = 1; n <= 3; n++) copies.add('m1', copy('m1', n));
  for (let n = 1; n <= 3; n++) t.ok(copies.has('m1', sha(copy('m1', n))), `copy ${n}`);
  t.notOk(copies.has('m1', sha(copy('m1', 4))), 'a copy never published');
  t.notOk(copies.has('m2', sha(copy('m1', 1))), "another message's id");
  t.notOk(copies.has('m1', undefined), 'a result without envelopeSha256');
});

t.test('the last perMessage copies of a message are kept', async (t) => {
  const copies = new PublishedCopies({ perMessage: 3 });
  for (let n = 1; n <= 5; n++) copies.add('m1', copy('m1', n));
  t.notOk(copies.has('m1', sha(copy('m1', 2))), 'the second of five is gone');
  for (const n of [3, 4, 5]) t.ok(copies.has('m1', sha(copy('m1', n))), `copy ${n} of five`);
});

t.test('forget and the maxMessages bound drop whole messages', async (t) => {
  const copies = new PublishedCopies({ maxMessages: 3 });
  for (let i = 0; i < 5; i++) copies.add(`m${i}`, copy(`m${i}`, 1));
  t.equal(copies.size, 3);
  t.notOk(copies.has('m1', sha(copy('m1', 1))), 'the oldest published went first');
  t.ok(copies.has('m4', sha(copy('m4', 1))));
  copies.add('m2', copy('m2', 2));
  copies.add('m5', copy('m5', 1));
  t.ok(copies.has('m2', sha(copy('m2', 1))), 'republished: the most recent again, so kept');
  t.notOk(copies.has('m3', sha(copy('m3', 1))), 'm3 is now the oldest published, gone');
  copies.forget('m2');
  t.notOk(copies.has('m2', sha(copy('m2', 2))), 'forgotten once settled');
});

import { readFileSync } from 'node:fs';
import t from 'tap';
import { LOCK_REQUIREMENTS } from '../../../src/conformance/lock/requirements.js';

/** The kit's table is PROTOCOL.md §16's: same ids, levels and sections, in the same order. */
t.test('the requirements are those of PROTOCOL.md §16', async (t) => {
  const spec = readFileSync(new URL('../../../firmware-protocol/PROTOCOL.md', import.meta.url), 'utf8');
  const section = spec.slice(spec.indexOf('## 16.'), spec.indexOf('## 17.'));
  const rows = [...section.matchAll(/^\| `([A-Z]+-\d)` \| (MUST|SHOULD) \| [^|]+ \| ([^|]+) \|/gm)].map(
    (m) => ({
      id: m[1],
      level: m[2],
      section: m[3]!.trim(),
    }),
  );
  t.ok(rows.length >= 25, `${rows.length} requirements in the spec`);
  t.same(
    LOCK_REQUIREMENTS.map((r) => ({ id: r.id, level: r.level, section: r.section })),
    rows,
  );
  // Every id the spec's text cites exists.
  for (const [, id] of spec.matchAll(/`((?:LINE|FRAME|HELLO|AUTH|SESS|READ|EV|TIME|BIN|ADV|GATT)-\d)`/g)) {
    t.ok(
      LOCK_REQUIREMENTS.some((r) => r.id === id),
      `${id} cited in the text is a requirement`,
    );
  }
});

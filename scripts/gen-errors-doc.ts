/**
 * Writes docs/ERRORS.md from src/errors.ts, so the reference can never drift from the
 * code: `npm run docs:errors`. test/errors.test.ts fails when the file is stale.
 */
import { writeFileSync } from 'node:fs';
import { renderErrorsDoc } from '../src/errors-doc.js';

const target = new URL('../docs/ERRORS.md', import.meta.url);
writeFileSync(target, renderErrorsDoc());
console.log(`wrote ${target.pathname}`);

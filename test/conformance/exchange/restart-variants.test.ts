import t from 'tap';
import { VARIANTS, type VariantName } from '../../helpers/exchange-variants.js';
import { checkVariant } from './kit-world.js';

/** Broken exchanges that only show across a hard restart: processes the kit's commands kill and start. */
for (const name of Object.keys(VARIANTS) as VariantName[]) {
  const variant = VARIANTS[name];
  if (!('process' in variant)) continue;
  t.test(`a broken exchange (${name}) fails ${variant.breaks.join(', ')}`, (t) => checkVariant(t, name));
}

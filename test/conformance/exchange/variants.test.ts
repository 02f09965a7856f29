import t from 'tap';
import { VARIANTS, type VariantName } from '../../helpers/exchange-variants.js';
import { checkVariant } from './kit-world.js';

/** Deliberately broken reference exchanges, in this process: each fails the requirement it names. */
for (const name of Object.keys(VARIANTS) as VariantName[]) {
  const variant = VARIANTS[name];
  if ('process' in variant) continue;
  t.test(`a broken exchange (${name}) fails ${variant.breaks.join(', ')}`, (t) => checkVariant(t, name));
}

import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { parseConfig, renderConfig } from '../../../src/config/index.js';
import { check, checkEqual, expectTyped } from '../lib/expect.js';
import { applyByteMutations, byteMutation } from '../lib/mutate-bytes.js';
import type { FuzzTarget } from '../lib/target.js';
import { repoFile } from './fixtures.js';

interface ConfigCase {
  text: string;
  env: Record<string, string>;
}

const CONFIG_ERRORS = /^E_CONFIG_(SYNTAX|INVALID)$/;

/** YAML that parsers trip on: anchors, aliases, merge keys, tags, directives, deep flow nesting. */
const YAML_TOKENS = [
  '&a ',
  '*a',
  '<<: *a\n',
  '!!binary ',
  '!!timestamp ',
  '!!js/function ',
  '!custom ',
  '!!set ',
  '!!omap ',
  '? ',
  '- ',
  '{',
  '}',
  '[',
  ']',
  ': ',
  ', ',
  '\t',
  '%YAML 1.1\n',
  '%TAG ! tag:x,2000:\n',
  '---\n',
  '...\n',
  '"\\u0000"',
  "'",
  '"',
  '#',
  '|\n  ',
  '>-\n  ',
  '~',
  '.nan',
  '-.inf',
  '0x1F',
  '0o17',
  '1e400',
  '-0',
  '9007199254740993',
  '2001-12-14t21:59:43.10-05:00',
  'null',
  '\n  ',
  '\r\n',
  '\uFEFF',
];

/** Every key path of a plain value, for picking what a structural mutation touches. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...paths(v, [...prefix, i]));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  }
  return out;
}

function setAt(root: unknown, path: (string | number)[], value: unknown, remove: boolean): unknown {
  if (path.length === 0) return remove ? null : value;
  const copy: unknown = structuredClone(root);
  let node = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (remove) {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else node[last] = value;
  return copy;
}

/**
 * The daemon's configuration loader (src/config/: YAML, CTOP_* overrides, zod schema) fed
 * the documented example and minimal files mutated as text (bytes and YAML tokens:
 * anchors, aliases, tags, deep nesting), as a YAML tree (values of every type in any key,
 * unknown keys, deleted keys), and with CTOP_* variables naming real and unreal keys.
 * Asserts: only E_CONFIG_SYNTAX / E_CONFIG_INVALID; a configuration that loads renders
 * (`config check`) to YAML that loads again to the same configuration.
 */
export const configTarget: FuzzTarget<ConfigCase> = {
  name: 'config',
  description: 'daemon configuration loader (parseConfig: YAML + CTOP_* overrides + schema, renderConfig)',
  setup() {
    const example = readFileSync(repoFile('systemd/config.example.yaml'), 'utf8');
    const minimal = [
      'gateway: { id: gw-1, country: KZ, checkpoint: DOSTYK, key: keys/gw-1.key }',
      'trust: { store: trust.json }',
      'sync: { brokers: [mqtt://127.0.0.1:1883] }',
      '',
    ].join('\n');
    const texts = [example, minimal];
    const trees = texts.map((t) => parse(t) as unknown);
    const treePaths = trees.map((t) => paths(t));
    const keys = [...new Set(treePaths.flat(2).filter((k): k is string => typeof k === 'string'))];
    const envNames = [
      ...new Set(
        treePaths.flat().map(
          (p) =>
            `CTOP_${p
              .map((k) => String(k))
              .join('__')
              .replace(/[A-Z]/g, (c) => `_${c}`)
              .toUpperCase()}`,
        ),
      ),
      'CTOP_LOG_LEVEL',
      'CTOP_NOPE__X',
      'CTOP_SYNC__NOPE',
      'CTOP_SYNC__BROKERS__7',
      'CTOP_GATEWAY__ID__X',
      'CTOP___',
      'CTOP_',
    ];
    const scalar = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom(...keys),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom('mqtt://127.0.0.1:1883', 'mqtts://[::1]:8883', '127.0.0.1:9100', '/etc/x', '', 'KZ'),
      fc.nat(2000).map((n) => 'x'.repeat(n)),
    );
    const { value } = fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        { weight: 5, arbitrary: scalar },
        { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 4 }) },
        {
          weight: 1,
          arbitrary: fc.dictionary(fc.oneof(fc.constantFrom(...keys), fc.string()), tie('value'), {
            maxKeys: 4,
          }),
        },
      ),
    }));
    const tokenInsert = fc.record({
      at: fc.nat(),
      token: fc.constantFrom(...YAML_TOKENS),
      // Rarely thousands of times: 18,000 stray tags once took the loader 17 s (prettyErrors).
      times: fc.oneof(
        { weight: 40, arbitrary: fc.integer({ min: 1, max: 3 }) },
        { weight: 1, arbitrary: fc.integer({ min: 100, max: 20_000 }) },
      ),
    });
    const byText = fc
      .tuple(
        fc.nat(texts.length - 1),
        fc.array(byteMutation, { maxLength: 4 }),
        fc.array(tokenInsert, { maxLength: 3 }),
      )
      .map(([i, mutations, tokens]) => {
        let text = Buffer.from(applyByteMutations(Buffer.from(texts[i]!), mutations)).toString('utf8');
        for (const { at, token, times } of tokens) {
          const p = text.length === 0 ? 0 : at % text.length;
          text = text.slice(0, p) + token.repeat(times) + text.slice(p);
        }
        return text;
      });
    const byTree = fc
      .tuple(
        fc.nat(trees.length - 1),
        fc.array(fc.tuple(fc.nat(), value, fc.boolean()), { minLength: 1, maxLength: 3 }),
      )
      .map(([i, edits]) => {
        let tree = trees[i];
        for (const [p, v, remove] of edits) {
          const all = paths(tree);
          tree = setAt(tree, all[p % all.length]!, v, remove && all.length > 1);
        }
        return stringify(tree);
      });
    const env = fc.dictionary(
      fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...envNames) },
        { weight: 1, arbitrary: fc.string().map((s) => `CTOP_${s}`) },
      ),
      fc.oneof(
        fc.string({ maxLength: 40 }),
        scalar.map((s) => (typeof s === 'string' ? s : JSON.stringify(s))),
        fc.constantFrom(...YAML_TOKENS),
      ),
      { maxKeys: 3 },
    );
    const arbitrary = fc.record({
      text: fc.oneof({ weight: 2, arbitrary: byText }, { weight: 3, arbitrary: byTree }),
      env: fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: env }),
    });
    return {
      arbitrary,
      record: (input) => Buffer.from(JSON.stringify(input)),
      check({ text, env }) {
        const loaded = expectTyped('parseConfig', CONFIG_ERRORS, () =>
          parseConfig(text, 'fuzz.yaml', { env, baseDir: '/etc/ctop-agent' }),
        );
        if (!loaded.ok) return loaded.code;
        const rendered = expectTyped('renderConfig', /^$/, () => renderConfig(loaded.value));
        check(rendered.ok, 'renderConfig failed');
        const again = expectTyped('parseConfig of the rendered configuration', /^$/, () =>
          parseConfig(rendered.value, 'rendered.yaml', { env: {}, baseDir: '/' }),
        );
        check(again.ok, 'the rendered configuration does not load');
        checkEqual(
          again.value.config,
          loaded.value.config,
          'the rendered configuration loads to another configuration',
        );
        return 'ok';
      },
    };
  },
};

/**
 * Regenerates the manifest fixtures: `npx tsx scripts/make-manifest-fixtures.ts`.
 *
 * - fixtures/keys/*.TEST-ONLY.{key,pub}: created once when missing (random), then reused.
 *   TEST ONLY: committed to the repository, so never trusted outside tests.
 * - fixtures/keys/trust-store.TEST-ONLY.json: the trust store the tests and examples use.
 * - fixtures/manifests/consolidated-300.csv: the 300-line goods file, generated here.
 * - fixtures/manifests/*.cose and invalid/*.cose: signed + encrypted from the goods files.
 *
 * Encryption needs randomness; here it comes from SHA-256 of the fixture name and a
 * counter, so the same keys and goods files always give the same bytes, and
 * test/manifest/fixtures.test.ts checks the committed files are what this script makes.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  generateKey,
  type KeyRole,
  type PrivateKey,
  parseKeyFile,
  type RandomSource,
  TrustStore,
  writeKeyPair,
} from '../src/keys/index.js';
import {
  composeManifest,
  encryptFor,
  type Manifest,
  parseGoodsFile,
  type RecipientKey,
  signManifest,
} from '../src/manifest/index.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const KEYS_DIR = path.join(ROOT, 'fixtures/keys');
export const MANIFESTS_DIR = path.join(ROOT, 'fixtures/manifests');
export const TRUST_STORE_FILE = path.join(KEYS_DIR, 'trust-store.TEST-ONLY.json');

interface FixtureKey {
  kid: string;
  role: KeyRole;
  country: string;
  /** Trust store window; null: deliberately not in the trust store. */
  trust: { notBefore?: string; notAfter?: string; revokedAt?: string; revocationReason?: string } | null;
}

export const FIXTURE_KEYS: readonly FixtureKey[] = [
  {
    kid: 'kz-customs-signer-1',
    role: 'signer',
    country: 'KZ',
    trust: { notBefore: '2024-01-01T00:00:00Z', notAfter: '2028-12-31T23:59:59Z' },
  },
  {
    kid: 'cn-customs-signer-1',
    role: 'signer',
    country: 'CN',
    trust: { notBefore: '2024-01-01T00:00:00Z', notAfter: '2028-12-31T23:59:59Z' },
  },
  {
    kid: 'kz-customs-signer-0',
    role: 'signer',
    country: 'KZ',
    trust: {
      notBefore: '2022-01-01T00:00:00Z',
      revokedAt: '2025-01-15T00:00:00Z',
      revocationReason: 'key compromise',
    },
  },
  {
    kid: 'cn-customs-signer-2021',
    role: 'signer',
    country: 'CN',
    trust: { notBefore: '2021-01-01T00:00:00Z', notAfter: '2024-12-31T23:59:59Z' },
  },
  {
    kid: 'kz-customs-recipient-1',
    role: 'recipient',
    country: 'KZ',
    trust: { notBefore: '2024-01-01T00:00:00Z' },
  },
  {
    kid: 'cn-customs-recipient-1',
    role: 'recipient',
    country: 'CN',
    trust: { notBefore: '2024-01-01T00:00:00Z' },
  },
  { kid: 'rogue-signer-1', role: 'signer', country: 'KZ', trust: null },
];

export function keyBasename(kid: string): string {
  return `${kid}.TEST-ONLY`;
}

/** Loads (or, with `create`, makes) the fixture keys. Reads them without the 0600 check: test keys. */
export function fixtureKeys(create = false): Map<string, PrivateKey> {
  const keys = new Map<string, PrivateKey>();
  for (const k of FIXTURE_KEYS) {
    const file = path.join(KEYS_DIR, `${keyBasename(k.kid)}.key`);
    if (!existsSync(file)) {
      if (!create) throw new Error(`missing ${file}: run npx tsx scripts/make-manifest-fixtures.ts`);
      writeKeyPair(KEYS_DIR, generateKey(k.role, k.kid, { country: k.country }), {
        basename: keyBasename(k.kid),
      });
    }
    keys.set(k.kid, parseKeyFile(readFileSync(file, 'utf8'), file) as PrivateKey);
  }
  return keys;
}

export function fixtureTrustStore(keys: Map<string, PrivateKey>): TrustStore {
  const doc = {
    format: 'ctop-agent-trust/1',
    keys: FIXTURE_KEYS.filter((k) => k.trust !== null).map((k) => {
      const key = keys.get(k.kid)!;
      return {
        kid: k.kid,
        role: k.role,
        alg: key.alg,
        country: k.country,
        publicKey: Buffer.from(key.publicKey).toString('base64'),
        ...k.trust,
      };
    }),
  };
  return TrustStore.fromJSON(doc, TRUST_STORE_FILE);
}

/** Reproducible "randomness" for one fixture: SHA-256(label ‖ counter), as many bytes as asked. */
export function seededRandom(label: string): RandomSource {
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let filled = 0; filled < n; ) {
      const block = createHash('sha256').update(`${label}:${counter++}`).digest();
      out.set(block.subarray(0, Math.min(32, n - filled)), filled);
      filled += 32;
    }
    return out;
  };
}

// --- the 300-line consolidated container -------------------------------------------------

const CATALOGUE: readonly [name: string, hs: string, unit: string, kgPerUnit: number, usdPerUnit: number][] =
  [
    ['电热水壶 Чайник электрический 1,7 л', '8516710000', 'H87', 1.35, 9.8],
    ['吹风机 Фен для волос 2000 Вт', '8516310000', 'H87', 0.82, 7.4],
    ['LED灯泡 Лампы светодиодные E27 10 Вт', '8539520009', 'H87', 0.06, 0.62],
    ['儿童玩具车 Toy cars, plastic, battery-operated', '9503009909', 'H87', 0.45, 3.1],
    ['毛绒玩具 Игрушки мягкие плюшевые', '9503004100', 'H87', 0.3, 1.9],
    ['男式棉T恤 Футболки мужские хлопковые', '6109100000', 'H87', 0.2, 2.3],
    ['女式连衣裙 Платья женские из синтетических нитей', '6204430000', 'H87', 0.35, 6.5],
    ['运动鞋 Кроссовки с верхом из текстиля', '6404110000', 'PR', 0.9, 8.2],
    ['背包 Рюкзаки из полимерных материалов', '4202921100', 'H87', 0.6, 4.4],
    ['雨伞 Зонты складные', '6601910000', 'H87', 0.38, 1.7],
    ['不锈钢保温杯 Thermos flasks, stainless steel 500 ml', '9617000000', 'H87', 0.32, 2.9],
    ['陶瓷餐具套装 Сервизы столовые фарфоровые', '6911100000', 'SET', 6.2, 18.0],
    ['玻璃杯 Стаканы стеклянные', '7013370000', 'H87', 0.22, 0.45],
    ['厨房刀具 Ножи кухонные', '8211910000', 'H87', 0.18, 1.2],
    ['不粘锅 Сковороды алюминиевые с покрытием', '7615107000', 'H87', 1.1, 5.6],
    ['手机壳 Чехлы для телефонов силиконовые', '3926909709', 'H87', 0.04, 0.35],
    ['USB数据线 Кабели USB-C 1 м', '8544429007', 'H87', 0.05, 0.4],
    ['蓝牙耳机 Наушники беспроводные Bluetooth', '8518300000', 'H87', 0.12, 6.8],
    ['移动电源 Power banks 10000 mAh', '8507600000', 'H87', 0.26, 5.2],
    ['电动牙刷 Зубные щётки электрические', '8509800000', 'H87', 0.24, 4.1],
    ['办公椅 Кресла офисные вращающиеся', '9401310000', 'H87', 13.5, 32.0],
    ['塑料收纳盒 Контейнеры для хранения пластиковые', '3924900009', 'H87', 0.7, 1.6],
    ['浴巾 Полотенца махровые хлопковые', '6302600000', 'H87', 0.5, 2.2],
    ['床上用品套件 Комплекты постельного белья', '6302210000', 'SET', 1.6, 11.0],
    ['圣诞装饰品 Украшения ёлочные', '9505100000', 'H87', 0.1, 0.8],
    ['文具套装 Наборы канцелярские школьные', '9608100000', 'SET', 0.4, 1.5],
    ['自行车零件 Части велосипедов (звёздочки)', '8714930000', 'H87', 0.3, 2.0],
    ['电钻 Дрели электрические аккумуляторные', '8467210000', 'H87', 1.9, 24.0],
    ['太阳镜 Очки солнцезащитные', '9004101000', 'H87', 0.05, 1.1],
    ['假发 Wigs, synthetic', '6704110000', 'H87', 0.15, 3.6],
  ];

function csvCell(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** A consolidated container (groupage) Yiwu → Almaty: many shippers' small lots, 300 lines. */
export function consolidatedCsv(lines = 300, label = 'consolidated-300'): string {
  const rnd = seededRandom(label);
  const pick = (n: number) => Buffer.from(rnd(4)).readUInt32BE(0) % n;
  const header = [
    `# Consolidated container Yiwu → Almaty via Khorgos / Altynkol, ${lines} goods lines.`,
    '# Generated by scripts/make-manifest-fixtures.ts; edit the script, not this file.',
    '@createdAt,2025-06-03T01:20:00Z',
    '@issuingAuthority,CN 2901 金华海关 Jinhua Customs (Yiwu railway port)',
    '@lockId,SSL-CN-001944',
    '@container,TCNU 318865 9',
    '@wagon,X70-5210077',
    '@train,YW-ALA-0603',
    '@departure,YIWU-W',
    '@destination,ALMATY-1',
    '@departureCountry,CN',
    '@destinationCountry,KZ',
    '@consignor.name,义乌国际陆港集运有限公司 (Yiwu International Dry Port Consolidation Co.)',
    '@consignor.address,浙江省义乌市铁路口岸物流园区 1 号',
    '@consignor.country,CN',
    '@consignor.id,91330782MA2HXK7W1X',
    '@consignee.name,"ТОО «Жетісу Сауда Логистикс»"',
    '@consignee.address,"Қазақстан, Алматы қ., Рысқұлов даңғылы, 140"',
    '@consignee.country,KZ',
    '@consignee.id,061240500011',
    '@document.type,CIM/SMGS',
    '@document.number,YW2506-1944',
    '@document.date,2025-06-02',
    '@deliveryPlace,"СВХ «Жетісу», Алматы, ст. Алматы-1"',
    'line,name,hs,quantity,unit,grossWeightKg,value,currency,origin,declarationNumber,declarationItem,ids',
  ];
  const rows: string[] = [];
  for (let i = 1; i <= lines; i++) {
    const [name, hs, unit, kg, usd] = CATALOGUE[pick(CATALOGUE.length)]!;
    const quantity = 10 + pick(490);
    const weight = (quantity * kg * 1.08).toFixed(3).replace(/\.?0+$/, '');
    const value = (quantity * usd).toFixed(2);
    const declaration = `290120251${String(100000 + Math.ceil(i / 25)).padStart(9, '0')}`;
    const item = ((i - 1) % 25) + 1;
    const ids =
      i % 10 === 0
        ? Array.from({ length: 3 }, (_, k) => `SN-YW25-${String(i * 100 + k).padStart(6, '0')}`).join(';')
        : '';
    rows.push(
      [
        String(i),
        name,
        hs,
        String(quantity),
        unit,
        weight,
        value,
        'USD',
        'CN',
        declaration,
        String(item),
        ids,
      ]
        .map(csvCell)
        .join(','),
    );
  }
  return `${[...header, ...rows].join('\n')}\n`;
}

// --- signing -----------------------------------------------------------------------------

function compose(text: string, file: string, maxBytes?: number): Manifest {
  const parsed = parseGoodsFile(text, file.endsWith('.csv') ? 'csv' : 'json', path.basename(file));
  const limits = maxBytes === undefined ? {} : { limits: { maxBytes } };
  return composeManifest(parsed.input, { locate: parsed.locate, source: parsed.source, ...limits }).manifest;
}

function recipientsOf(keys: Map<string, PrivateKey>, kids: string[]): RecipientKey[] {
  return kids.map((kid) => ({ kid, publicKey: keys.get(kid)!.publicKey }));
}

function seal(
  manifest: Manifest,
  keys: Map<string, PrivateKey>,
  signerKid: string,
  recipients: string[],
  label: string,
  maxBytes?: number,
): Buffer {
  const payload = encryptFor(manifest, recipientsOf(keys, recipients), seededRandom(label));
  return signManifest(payload, keys.get(signerKid)!, maxBytes === undefined ? {} : { limits: { maxBytes } });
}

const BOTH = ['kz-customs-recipient-1', 'cn-customs-recipient-1'];

/** The valid fixtures: goods file → signer and recipients. */
export const VALID_FIXTURES: readonly { source: string; signer: string; recipients: string[] }[] = [
  { source: 'electronics-xian-duisburg.json', signer: 'cn-customs-signer-1', recipients: BOTH },
  { source: 'auto-parts-chongqing-almaty.csv', signer: 'cn-customs-signer-1', recipients: BOTH },
  { source: 'wheat-kostanay-urumqi.json', signer: 'kz-customs-signer-1', recipients: BOTH },
  { source: 'consolidated-300.csv', signer: 'cn-customs-signer-1', recipients: BOTH },
  { source: 'minimal.json', signer: 'kz-customs-signer-1', recipients: ['cn-customs-recipient-1'] },
];

/**
 * Every generated file, path relative to fixtures/manifests → bytes. Pure given the keys
 * and the goods files, so tests can regenerate and compare.
 */
export function buildManifestFixtures(keys: Map<string, PrivateKey>): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const sourceText = (name: string) =>
    name === 'consolidated-300.csv'
      ? consolidatedCsv()
      : readFileSync(path.join(MANIFESTS_DIR, name), 'utf8');
  out.set('consolidated-300.csv', Buffer.from(consolidatedCsv()));
  const composed = new Map<string, Manifest>();
  for (const f of VALID_FIXTURES) {
    const manifest = compose(sourceText(f.source), f.source);
    composed.set(f.source, manifest);
    out.set(
      f.source.replace(/\.(json|csv)$/, '.cose'),
      seal(manifest, keys, f.signer, f.recipients, f.source),
    );
  }
  const minimal = composed.get('minimal.json')!;
  const minimalCose = out.get('minimal.cose')!;

  // One bit flipped inside the signed payload (in the clear routing): the signature breaks.
  const tampered = Buffer.from(minimalCose);
  tampered[tampered.length - 64 - 40]! ^= 0x01;
  out.set('invalid/tampered.cose', tampered);
  out.set(
    'invalid/unknown-signer.cose',
    seal(minimal, keys, 'rogue-signer-1', ['cn-customs-recipient-1'], 'unknown-signer'),
  );
  out.set(
    'invalid/revoked-signer.cose',
    seal(minimal, keys, 'kz-customs-signer-0', ['cn-customs-recipient-1'], 'revoked-signer'),
  );
  out.set(
    'invalid/expired-signer.cose',
    seal(
      composed.get('electronics-xian-duisburg.json')!,
      keys,
      'cn-customs-signer-2021',
      BOTH,
      'expired-signer',
    ),
  );
  // Same signed content, but the outer array length written in two bytes (0x98 0x04) instead
  // of one (0x84): well-formed CBOR, not deterministic, so refused before the signature.
  if (minimalCose[0] !== 0xd2 || minimalCose[1] !== 0x84) throw new Error('unexpected COSE_Sign1 prefix');
  out.set(
    'invalid/non-canonical.cose',
    Buffer.concat([Buffer.from([0xd2, 0x98, 0x04]), minimalCose.subarray(2)]),
  );
  // 1000 lines with long names: a genuine signature, but above the 256 KiB every gateway enforces.
  const big = compose(consolidatedCsv(1000, 'oversize'), 'oversize.csv', 1024 * 1024);
  for (const line of big.body.goods) line.name = `${line.name} — ${'партия '.repeat(8).trim()}`;
  out.set('invalid/oversize.cose', seal(big, keys, 'cn-customs-signer-1', BOTH, 'oversize', 1024 * 1024));
  return out;
}

function main(): void {
  mkdirSync(KEYS_DIR, { recursive: true });
  const keys = fixtureKeys(true);
  writeFileSync(TRUST_STORE_FILE, `${JSON.stringify(fixtureTrustStore(keys).toJSON(), null, 2)}\n`);
  for (const [rel, bytes] of buildManifestFixtures(keys)) {
    const file = path.join(MANIFESTS_DIR, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, bytes);
    console.log(`${rel.padEnd(40)} ${bytes.byteLength} bytes`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) main();

import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  generateKey,
  loadPrivateKey,
  type PrivateKey,
  publicPart,
  TrustStore,
  writeKeyPair,
} from '../keys/index.js';
import type { RecipientKey } from '../manifest/index.js';
import { composeTrainManifests, type TrainLockPlan } from '../sim/train-manifests.js';

/**
 * What `npm start` needs and keeps under its data directory (default ./var/demo): the keys
 * of every party, made at first start, owner-only — the gateway, the exchange, a demo
 * customs signer and two customs recipients (nothing from fixtures/, whose keys are
 * public) — the trust stores each side holds, and a run counter so that each run meets a
 * new train (new lock ids) while the database keeps every earlier one.
 */

export const DEMO_GATEWAY = { country: 'KZ', checkpoint: 'DOSTYK', gatewayId: 'KZ-DOSTYK-DEMO' } as const;
const KIDS = {
  gateway: DEMO_GATEWAY.gatewayId,
  exchange: 'kz-demo-exchange-1',
  signer: 'kz-demo-signer-1',
  recipients: ['kz-demo-recipient-1', 'cn-demo-recipient-1'],
} as const;

export interface DemoWorld {
  dir: string;
  /** 1 for the first `npm start` in this directory. */
  run: number;
  gatewayKeyFile: string;
  exchangeKey: PrivateKey;
  signer: PrivateKey;
  recipients: RecipientKey[];
  agentTrustFile: string;
  exchangeTrust: TrustStore;
  dbPath: string;
  exchangeDbPath: string;
  ttyDir: string;
  logFile: string;
  /** True when the keys were made by this run. */
  fresh: boolean;
}

/** Where the demo keeps the private key `kid` (0600). */
export function keyFile(dir: string, kid: string): string {
  return path.join(dir, 'keys', `${kid}.key`);
}

/** The key `kid` from the keys directory, generated (0600) when missing. */
function ensureKey(
  dir: string,
  role: 'gateway' | 'exchange' | 'signer' | 'recipient',
  kid: string,
): PrivateKey {
  const file = keyFile(dir, kid);
  if (existsSync(file)) return loadPrivateKey(file);
  const key = generateKey(role, kid, { country: kid.startsWith('cn-') ? 'CN' : 'KZ' });
  writeKeyPair(path.join(dir, 'keys'), key);
  return key;
}

export function prepareDemoWorld(dataDir: string): DemoWorld {
  const dir = path.resolve(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const fresh = !existsSync(keyFile(dir, KIDS.gateway));
  const gateway = ensureKey(dir, 'gateway', KIDS.gateway);
  const exchangeKey = ensureKey(dir, 'exchange', KIDS.exchange);
  const signer = ensureKey(dir, 'signer', KIDS.signer);
  const recipients = KIDS.recipients.map((kid) => {
    const key = ensureKey(dir, 'recipient', kid);
    return { kid: key.kid, publicKey: key.publicKey };
  });

  // Each side trusts what it must: the agent the signer (manifests) and the exchange
  // (receipts); the exchange the gateway (envelopes) and the signer (manifest contents).
  const window = { notBefore: Date.now() - 86_400_000 * 365, notAfter: Date.now() + 86_400_000 * 3650 };
  const agentTrust = TrustStore.empty();
  agentTrust.add(publicPart(signer), window);
  agentTrust.add(publicPart(exchangeKey), window);
  const agentTrustFile = path.join(dir, 'agent-trust.json');
  agentTrust.save(agentTrustFile);
  const exchangeTrust = TrustStore.empty();
  exchangeTrust.add(publicPart(gateway), window);
  exchangeTrust.add(publicPart(signer), window);

  const runFile = path.join(dir, 'runs');
  const run = (existsSync(runFile) ? Number(readFileSync(runFile, 'utf8')) || 0 : 0) + 1;
  writeFileSync(runFile, `${run}\n`, { mode: 0o600 });
  const ttyDir = path.join(dir, 'tty');
  mkdirSync(ttyDir, { recursive: true, mode: 0o700 });
  return {
    dir,
    run,
    gatewayKeyFile: keyFile(dir, KIDS.gateway),
    exchangeKey,
    signer,
    recipients,
    agentTrustFile,
    exchangeTrust,
    dbPath: path.join(dir, 'ctop-agent.db'),
    exchangeDbPath: path.join(dir, 'exchange.db'),
    ttyDir,
    logFile: path.join(dir, 'agent.log'),
    fresh,
  };
}

/**
 * The goods every demo container carries (a KZ export of wheat), written as the corridor's
 * documents are — Kazakh and Russian, the Chinese consignee in Chinese — so the console
 * shows them as written; lock, container, wagon vary.
 */
const GOODS = {
  issuingAuthority: 'KZ 55201 Dostyk customs post',
  departure: 'DOSTYK',
  destination: 'ALASHANKOU',
  departureCountry: 'KZ',
  destinationCountry: 'CN',
  consignor: {
    name: '«Қостанай астық терминалы» ЖШС',
    address: 'Қазақстан Республикасы, Қостанай қ.',
    country: 'KZ',
    id: '070340002316',
  },
  consignee: {
    name: '阿拉山口粮食贸易有限公司 (Alataw Grain Trading Co., Ltd.)',
    address: '新疆维吾尔自治区阿拉山口市',
    country: 'CN',
    id: '91650100MA77L3K20L',
  },
  document: { type: 'СМГС', number: '24017', date: '2025-05-20' },
  goods: [
    {
      name: 'Қатты бидай, 3-сынып (Пшеница твёрдая 3 класса) 硬粒小麦三等',
      hs: '1001190000',
      quantity: '26',
      unit: 'TNE',
      grossWeightKg: '26080',
      value: '7150',
      currency: 'USD',
      origin: 'KZ',
    },
  ],
};

/** Lock ids of run `run`: a block of 1000 per run, so each run meets locks never seen. */
export function demoLockId(run: number, index: number, country: 'KZ' | 'CN' = 'KZ'): string {
  return `SSL-${country}-${String(100_000 + ((run - 1) % 800) * 1000 + index)}`;
}

/** Manifests for `count` locks from index `from`, signed and encrypted as a carrier's would be. */
export function demoManifests(
  world: DemoWorld,
  count: number,
  options: { from?: number; country?: 'KZ' | 'CN'; train: string; goodsLines?: number },
): TrainLockPlan[] {
  const from = options.from ?? 0;
  // A consolidated container: the goods line repeated, to give a serial read some length.
  const goods = Array.from({ length: options.goodsLines ?? 1 }, (_, i) => ({
    ...GOODS.goods[0]!,
    name: i === 0 ? GOODS.goods[0]!.name : `Қатты бидай, ${i + 1}`,
  }));
  return composeTrainManifests({
    count,
    train: options.train,
    template: { ...GOODS, goods, createdAt: new Date().toISOString() },
    signer: world.signer,
    recipients: world.recipients,
    lockId: (i) => demoLockId(world.run, from + i, options.country),
  });
}

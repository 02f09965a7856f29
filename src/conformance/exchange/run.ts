import { Buffer } from 'node:buffer';
import {
  checkIdentity,
  defaultExchangeAddress,
  type GatewayIdentity,
  gatewayAddress,
} from '../../exchange-wire/index.js';
import type { PrivateKey, TrustStore } from '../../keys/index.js';
import type { TlsFiles } from '../../sync/config.js';
import { buildReport, type ConformanceReport } from '../report.js';
import { checkDelivery } from './delivery.js';
import { Kit } from './kit.js';
import { MessageFactory } from './messages.js';
import { ProbeGateway } from './probe.js';
import { checkQueries } from './queries.js';
import { checkRejections } from './rejections.js';
import { checkRestart, type RestartCommands } from './restart.js';

export const EXCHANGE_SECTIONS = ['delivery', 'rejections', 'queries', 'restart'] as const;
export type ExchangeSection = (typeof EXCHANGE_SECTIONS)[number];

export interface ExchangeConformanceOptions {
  brokerUrl: string;
  tls?: TlsFiles;
  /** Default 5. */
  protocolVersion?: 4 | 5;
  /** Password login at the broker (EXCHANGE.md §2.5). */
  username?: string;
  password?: Buffer;
  /** The gateway key the exchange under test has registered (role gateway). */
  gatewayKey: PrivateKey;
  /** Holds the exchange key(s) its receipts and answers are signed with. */
  trust: TrustStore;
  /** Default KZ. */
  country?: string;
  /** Default CONFORMANCE. */
  checkpoint?: string;
  /** Default: the gateway key's kid up to its first dot. */
  gatewayId?: string;
  /** Default `CTOP://{country}/EXCHANGE`. */
  exchangeAddress?: string;
  /** A customs signer key the exchange trusts (test environments only): valid manifests. */
  signerKey?: PrivateKey;
  restart?: Partial<RestartCommands>;
  /** How long to wait for each receipt; default 30 s, a gateway's receipt timeout. */
  receiptTimeoutMs?: number;
  /** How long to wait for the answer to a query; default the receipt timeout. */
  answerTimeoutMs?: number;
  /** Silence after a fence that counts as "not answered"; default 2 s. */
  quietMs?: number;
  /** Default all. */
  sections?: readonly ExchangeSection[];
}

/**
 * `ctop-agent conformance exchange`: plays a gateway against an exchange under test and
 * reports, requirement by requirement, whether it behaves as firmware-protocol/EXCHANGE.md
 * v1.1 says (docs/CONFORMANCE.md).
 */
export async function runExchangeConformance(
  options: ExchangeConformanceOptions,
): Promise<ConformanceReport> {
  const startedAt = new Date().toISOString();
  const identity: GatewayIdentity = checkIdentity({
    country: options.country ?? 'KZ',
    checkpoint: options.checkpoint ?? 'CONFORMANCE',
    gatewayId: options.gatewayId ?? options.gatewayKey.kid.split('.')[0]!,
  });
  const exchangeAddress = options.exchangeAddress ?? defaultExchangeAddress(identity.country);
  const sections = new Set(options.sections ?? EXCHANGE_SECTIONS);
  const probe = await ProbeGateway.connect({
    brokerUrl: options.brokerUrl,
    ...(options.tls ? { tls: options.tls } : {}),
    protocolVersion: options.protocolVersion ?? 5,
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
    identity,
    exchangeTrust: options.trust,
  });
  const factory = new MessageFactory({
    gatewayKey: options.gatewayKey,
    identity,
    exchangeAddress,
    ...(options.signerKey ? { signerKey: options.signerKey } : {}),
  });
  const kit = new Kit(probe, factory, exchangeAddress, {
    receiptTimeoutMs: options.receiptTimeoutMs ?? 30_000,
    answerTimeoutMs: options.answerTimeoutMs ?? options.receiptTimeoutMs ?? 30_000,
    quietMs: options.quietMs ?? 2000,
  });
  try {
    if (sections.has('delivery')) await checkDelivery(kit);
    if (sections.has('rejections')) await checkRejections(kit);
    if (sections.has('delivery') || sections.has('rejections')) checkAnswers(kit);
    if (sections.has('queries')) await checkQueries(kit);
    if (sections.has('restart')) await checkRestart(kit, { timeoutMs: 120_000, ...options.restart });
  } finally {
    await probe.close();
  }
  return buildReport({
    target: 'exchange',
    startedAt,
    finishedAt: new Date().toISOString(),
    subject: {
      broker: options.brokerUrl,
      exchange: exchangeAddress,
      gateway: gatewayAddress(identity),
      gatewayKid: options.gatewayKey.kid,
      run: factory.nonce,
    },
    checks: kit.checks,
    figures: { receiptLatencyMs: latencyFigure(kit.latencies) },
  });
}

/** The requirements every answer of the run must meet together. */
function checkAnswers(kit: Kit): void {
  kit.record(
    'receipt.verifies',
    kit.probe.badReceipts,
    `${kit.probe.results.length} results, every receipt verified`,
  );
  const echo: string[] = [];
  const copies: string[] = [];
  for (const { message, observed } of kit.answered) {
    const r = observed.result;
    const e = message.envelope;
    const id = `${e.messageId.slice(9, 17)}…`;
    if (r.conversationId !== e.conversationId) echo.push(`${id}: conversationId ${r.conversationId}`);
    if (!Buffer.from(r.payloadSha256).equals(e.payloadSha256))
      echo.push(`${id}: not the declared payloadSha256`);
    if (r.envelopeSha256 === undefined) copies.push(`${id} (${r.status}): no envelopeSha256`);
    else if (!Buffer.from(r.envelopeSha256).equals(message.envelopeSha256))
      copies.push(`${id}: another copy's`);
  }
  kit.record('receipt.echo', echo, `${kit.answered.length} results echo what was declared`);
  kit.record('receipt.envelope-sha256', copies, `${kit.answered.length} results name their copy`);
}

function latencyFigure(samples: readonly number[]): Record<string, number> {
  if (samples.length === 0) return { n: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { n: sorted.length, median: at(0.5), p95: at(0.95), max: sorted.at(-1)! };
}

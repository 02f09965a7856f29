import { CtopError } from '../errors.js';
import type { MessageKind } from './message-kinds.js';

/**
 * Addresses and MQTT topics (EXCHANGE.md §2). A gateway is named three ways that always
 * agree: its topic subtree `ctop/v1/{country}/{checkpoint}/{gateway}/`, its address
 * `CTOP://{country}/{checkpoint}/{gateway}` (after the `EAEU://KZ/...` addresses of EEC
 * decision No. 124), and the common name of its client certificate = `{gateway}` (the
 * broker ACL confines that name to its own subtree).
 */

export const TOPIC_ROOT = 'ctop/v1';

/** ISO 3166-1 alpha-2. */
export const COUNTRY_PATTERN = /^[A-Z]{2}$/;
/** A checkpoint or station name: one topic level, no MQTT wildcards or separators. */
export const CHECKPOINT_PATTERN = /^[A-Z0-9][A-Z0-9_-]{0,31}$/;
/** A gateway id: one topic level, also the client certificate CN and the prefix of its key id. */
export const GATEWAY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** `CTOP://CC/…` with one to four path levels. */
export const ADDRESS_PATTERN = /^CTOP:\/\/[A-Z]{2}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,63}){1,4}$/;

/** Upstream topic level of each outbox kind. */
export const KIND_TOPICS: Readonly<Record<MessageKind, GatewayTopic>> = {
  manifest: 'manifest',
  lock_events: 'event',
  alert: 'alert',
  outage: 'outage',
  pairing: 'pairing',
};

/** The EEC-style Action of each kind's message. */
export const KIND_ACTIONS: Readonly<Record<MessageKind, string>> = {
  manifest: 'ctop/v1/manifest.submit',
  lock_events: 'ctop/v1/lock-events.submit',
  alert: 'ctop/v1/alert.submit',
  outage: 'ctop/v1/outage.report',
  pairing: 'ctop/v1/pairing.submit',
};

/** Topic levels below a gateway's subtree: upstream (gateway → exchange) and downstream. */
export type GatewayTopic =
  | 'manifest'
  | 'event'
  | 'alert'
  | 'outage'
  | 'pairing'
  | 'query'
  | 'status'
  | 'receipt'
  | 'query-result';

export const UPSTREAM_TOPICS = ['manifest', 'event', 'alert', 'outage', 'pairing', 'query'] as const;
export const DOWNSTREAM_TOPICS = ['receipt', 'query-result'] as const;

export interface GatewayIdentity {
  country: string;
  checkpoint: string;
  gatewayId: string;
}

export function checkIdentity(id: GatewayIdentity): GatewayIdentity {
  if (!COUNTRY_PATTERN.test(id.country)) {
    throw new CtopError(
      'E_SYNC_CONFIG',
      `country "${id.country}" must be an ISO 3166-1 alpha-2 code such as KZ`,
    );
  }
  if (!CHECKPOINT_PATTERN.test(id.checkpoint)) {
    throw new CtopError(
      'E_SYNC_CONFIG',
      `checkpoint "${id.checkpoint}" must match ${CHECKPOINT_PATTERN}, e.g. DOSTYK`,
    );
  }
  if (!GATEWAY_ID_PATTERN.test(id.gatewayId)) {
    throw new CtopError('E_SYNC_CONFIG', `gateway id "${id.gatewayId}" must match ${GATEWAY_ID_PATTERN}`);
  }
  return id;
}

export function gatewayAddress(id: GatewayIdentity): string {
  return `CTOP://${id.country}/${id.checkpoint}/${id.gatewayId}`;
}

export function gatewayTopic(id: GatewayIdentity, level: GatewayTopic): string {
  return `${TOPIC_ROOT}/${id.country}/${id.checkpoint}/${id.gatewayId}/${level}`;
}

/** The exchange's address when the configuration names none. */
export function defaultExchangeAddress(country: string): string {
  return `CTOP://${country}/EXCHANGE`;
}

export interface ParsedTopic extends GatewayIdentity {
  level: GatewayTopic;
}

/** Splits `ctop/v1/{country}/{checkpoint}/{gateway}/{level}`; undefined for anything else. */
export function parseGatewayTopic(topic: string): ParsedTopic | undefined {
  const parts = topic.split('/');
  if (parts.length !== 6 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) return undefined;
  const [, , country, checkpoint, gatewayId, level] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (
    !COUNTRY_PATTERN.test(country) ||
    !CHECKPOINT_PATTERN.test(checkpoint) ||
    !GATEWAY_ID_PATTERN.test(gatewayId)
  ) {
    return undefined;
  }
  const levels: readonly string[] = [...UPSTREAM_TOPICS, ...DOWNSTREAM_TOPICS, 'status'];
  if (!levels.includes(level)) return undefined;
  return { country, checkpoint, gatewayId, level: level as GatewayTopic };
}

export function kindOfTopic(level: string): MessageKind | undefined {
  for (const [kind, topic] of Object.entries(KIND_TOPICS) as [MessageKind, string][]) {
    if (topic === level) return kind;
  }
  return undefined;
}

/**
 * A gateway's key must be bound to its name: kid `{gateway}` or `{gateway}.{suffix}` (a
 * rotated key). Without this, a gateway could sign messages in another's name wherever a
 * broker has no ACL.
 */
export function kidBelongsTo(kid: string, gatewayId: string): boolean {
  return kid === gatewayId || kid.startsWith(`${gatewayId}.`);
}

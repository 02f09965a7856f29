import { ERRORS, type ErrorCategory } from '../../errors.js';
import type {
  AuditOutcome,
  OutboxKind,
  OutboxState,
  ReadTrust,
  StoredVerification,
} from '../../store/index.js';
import type { OutageCause } from '../../sync/outage-cause.js';
import { type Html, html } from '../html.js';
import type { MessageKey } from '../i18n/catalogues.js';
import type { Locale } from '../i18n/locale.js';
import type { LockState } from '../train-feed.js';

/**
 * The words for what the store records as tokens (states, kinds, causes): each token has
 * its message in every language. A token this console does not know yet (a newer agent's)
 * is shown as the token itself, marked as a code, never dropped.
 */

export const LOCK_STATE_KEYS: Record<LockState, MessageKey> = {
  seen: 'state.seen',
  reading: 'state.reading',
  read: 'state.read',
  verified: 'state.verified',
  tamper: 'state.tamper',
  failed: 'state.failed',
  missing: 'state.missing',
};

const VERIFICATION_KEYS: Record<StoredVerification, MessageKey> = {
  valid: 'verification.valid',
  unknown_signer: 'verification.unknown_signer',
  bad_signature: 'verification.bad_signature',
  expired: 'verification.expired',
  revoked: 'verification.revoked',
  malformed: 'verification.malformed',
  unverified: 'verification.unverified',
};

const ALERT_KEYS: Record<string, MessageKey> = {
  clone: 'alert.clone',
  unknown_lock: 'alert.unknown_lock',
  tamper: 'alert.tamper',
  bad_signature: 'alert.bad_signature',
  unknown_signer: 'alert.unknown_signer',
  expired: 'alert.expired',
  revoked: 'alert.revoked',
  malformed: 'alert.malformed',
  lock_protocol: 'alert.lock_protocol',
};

const TRUST_KEYS: Record<ReadTrust, MessageKey> = {
  trusted: 'trust.trusted',
  clone: 'trust.clone',
  unknown_lock: 'trust.unknown_lock',
  unauthenticated: 'trust.unauthenticated',
  no_lock: 'trust.no_lock',
};

const OUTBOX_STATE_KEYS: Record<OutboxState, MessageKey> = {
  queued: 'outbox.state.queued',
  in_flight: 'outbox.state.in_flight',
  acknowledged: 'outbox.state.acknowledged',
  rejected: 'outbox.state.rejected',
};

const OUTBOX_KIND_KEYS: Record<OutboxKind, MessageKey> = {
  manifest: 'outbox.kind.manifest',
  lock_events: 'outbox.kind.lock_events',
  alert: 'outbox.kind.alert',
  outage: 'outbox.kind.outage',
  pairing: 'outbox.kind.pairing',
};

const OUTAGE_CAUSE_KEYS: Record<OutageCause, MessageKey> = {
  dns: 'cause.dns',
  broker_unreachable: 'cause.broker_unreachable',
  tls: 'cause.tls',
  broker_refused: 'cause.broker_refused',
  connect_timeout: 'cause.connect_timeout',
  keepalive_timeout: 'cause.keepalive_timeout',
  connection_lost: 'cause.connection_lost',
  no_receipts: 'cause.no_receipts',
};

const AUDIT_ACTION_KEYS: Record<string, MessageKey> = {
  login: 'audit.action.login',
  login_failed: 'audit.action.login_failed',
  logout: 'audit.action.logout',
  view: 'audit.action.view',
  decrypt: 'audit.action.decrypt',
};

const AUDIT_OUTCOME_KEYS: Record<AuditOutcome, MessageKey> = {
  ok: 'audit.outcome.ok',
  refused: 'audit.outcome.refused',
  failed: 'audit.outcome.failed',
};

/** Reason codes of the exchange's signed receipts (EXCHANGE.md §5.2). */
const RECEIPT_REASON_KEYS: Record<string, MessageKey> = {
  address_mismatch: 'reason.address_mismatch',
  kind_mismatch: 'reason.kind_mismatch',
  unknown_key: 'reason.unknown_key',
  bad_signature: 'reason.bad_signature',
  key_expired: 'reason.key_expired',
  key_revoked: 'reason.key_revoked',
  key_mismatch: 'reason.key_mismatch',
  payload_hash_mismatch: 'reason.payload_hash_mismatch',
  message_id_mismatch: 'reason.message_id_mismatch',
  payload_malformed: 'reason.payload_malformed',
  content_type_mismatch: 'reason.content_type_mismatch',
  envelope_malformed: 'reason.envelope_malformed',
  manifest_unknown_signer: 'reason.manifest_unknown_signer',
  manifest_bad_signature: 'reason.manifest_bad_signature',
  manifest_expired: 'reason.manifest_expired',
  manifest_revoked: 'reason.manifest_revoked',
  manifest_malformed: 'reason.manifest_malformed',
};

const RECEIPT_STATUS_KEYS: Record<string, MessageKey> = {
  accepted: 'receipt.accepted',
  rejected: 'receipt.rejected',
};

const ERROR_CATEGORY_KEYS: Record<ErrorCategory, MessageKey> = {
  usage: 'error.usage',
  config: 'error.config',
  transport: 'error.transport',
  protocol: 'error.protocol',
  integrity: 'error.integrity',
  manifest: 'error.manifest',
  store: 'error.store',
  sync: 'error.sync',
  security: 'error.security',
  internal: 'error.internal',
};

/** A token shown as itself: a code, not a word of any language. */
export function code(token: string): Html {
  return html`<code translate="no">${token}</code>`;
}

function word(l: Locale, keys: Record<string, MessageKey>, token: string): Html {
  const key = Object.hasOwn(keys, token) ? keys[token] : undefined;
  return key ? l.t(key) : code(token);
}

export const verificationWord = (l: Locale, v: string): Html => word(l, VERIFICATION_KEYS, v);
export const alertWord = (l: Locale, kind: string): Html => word(l, ALERT_KEYS, kind);
export const trustWord = (l: Locale, trust: string): Html => word(l, TRUST_KEYS, trust);
export const outboxStateWord = (l: Locale, state: string): Html => word(l, OUTBOX_STATE_KEYS, state);
export const outboxKindWord = (l: Locale, kind: string): Html => word(l, OUTBOX_KIND_KEYS, kind);
export const causeWord = (l: Locale, cause: string): Html => word(l, OUTAGE_CAUSE_KEYS, cause);
export const auditActionWord = (l: Locale, action: string): Html => word(l, AUDIT_ACTION_KEYS, action);
export const auditOutcomeWord = (l: Locale, outcome: string): Html => word(l, AUDIT_OUTCOME_KEYS, outcome);
export const receiptStatusWord = (l: Locale, status: string): Html => word(l, RECEIPT_STATUS_KEYS, status);

/** An exchange reason code: what it means, with the code itself (the exchange's own word for it). */
export function receiptReason(l: Locale, reason: string): Html {
  const key = Object.hasOwn(RECEIPT_REASON_KEYS, reason) ? RECEIPT_REASON_KEYS[reason] : undefined;
  return key ? l.t('why.withCode', { what: l.t(key), code: code(reason) }) : code(reason);
}

/** An agent error code (src/errors.ts): what kind of failure it is, in words, with the code. */
export function errorCode(l: Locale, errorCodeText: string): Html {
  const spec = Object.hasOwn(ERRORS, errorCodeText)
    ? ERRORS[errorCodeText as keyof typeof ERRORS]
    : undefined;
  const category = spec?.category ?? 'internal';
  return l.t('why.withCode', { what: l.t(ERROR_CATEGORY_KEYS[category]), code: code(errorCodeText) });
}

/** Fixed phrases the train producers and lockVerdict (src/console/lock-state.ts) write. */
const PHRASES: Record<string, MessageKey> = {
  'not read before the train had passed': 'why.notReadInTime',
  'unchanged since its last read: not read again': 'why.unchanged',
  'no result': 'why.noResult',
  'read failed': 'why.readFailed',
  'not verified': 'why.notVerified',
  'not stored': 'why.notStored',
  'no manifest': 'why.noManifest',
};

type Piece =
  | { kind: 'word'; html: Html }
  | { kind: 'verification'; token: string; html: Html }
  /** Free text follows (an error message, an alert's detail), which may itself hold "; ". */
  | { kind: 'free'; token: string; html: Html };

function describePiece(l: Locale, piece: string): Piece | undefined {
  const fixed = Object.hasOwn(PHRASES, piece) ? PHRASES[piece] : undefined;
  if (fixed) return { kind: 'word', html: l.t(fixed) };
  const coded = /^(E_[A-Z0-9_]+)(?::|$)/.exec(piece);
  if (coded) return { kind: 'free', token: coded[1]!, html: errorCode(l, coded[1]!) };
  const alert = /^([a-z][a-z0-9_]*): /.exec(piece);
  if (alert && Object.hasOwn(ALERT_KEYS, alert[1]!))
    return { kind: 'free', token: alert[1]!, html: alertWord(l, alert[1]!) };
  const trustToken = /^lock (.+)$/.exec(piece)?.[1]?.replace(/ /g, '_');
  if (trustToken && Object.hasOwn(TRUST_KEYS, trustToken))
    return { kind: 'word', html: l.t('why.lock', { trust: trustWord(l, trustToken) }) };
  const verification = /^manifest (.+)$/.exec(piece)?.[1]?.replace(/ /g, '_');
  if (verification && Object.hasOwn(VERIFICATION_KEYS, verification)) {
    return {
      kind: 'verification',
      token: verification,
      html: l.t('why.manifest', { verification: verificationWord(l, verification) }),
    };
  }
  return undefined;
}

/**
 * Why a lock is not verified, in the officer's language, from the text the producers of
 * train views write: an error code and message, an alert (`kind: detail`), lockVerdict's
 * reasons — joined by "; ", which a message or a detail may hold too, so a piece that
 * follows free text belongs to it. An alert that repeats the manifest's verdict (an
 * expired signer is both) is said once; a piece this console cannot read becomes "see the
 * technical detail", the original beside it for engineers.
 */
export function describeLockProblem(l: Locale, text: string): Html {
  const said: Html[] = [];
  const verdicts = new Set<string>();
  let afterFree = false;
  for (const raw of text.split('; ')) {
    const piece = describePiece(l, raw);
    if (!piece) {
      if (!afterFree) said.push(l.t('why.technical'));
      continue;
    }
    afterFree = piece.kind === 'free';
    if (piece.kind === 'verification') verdicts.add(piece.token);
    if (piece.kind === 'free' && verdicts.has(piece.token)) continue;
    said.push(piece.html);
  }
  const unique = said.filter((p, i) => said.findIndex((q) => q.value === p.value) === i);
  return html`${unique.map((p, i) => html`${i > 0 ? '; ' : ''}${p}`)}`;
}

import type { RoutingSummary } from '../../manifest/index.js';
import type { GoodsBody, GoodsLine, Party } from '../../manifest/types.js';
import type { AlertRecord, ManifestRecord, OutboxEntry, ReadRecord } from '../../store/index.js';
import { type Html, html } from '../html.js';
import type { MessageKey } from '../i18n/catalogues.js';
import type { Locale } from '../i18n/locale.js';
import { technicalDetail } from '../respond.js';
import { asWritten } from './as-written.js';
import {
  alertWord,
  code,
  errorCode,
  outboxStateWord,
  receiptReason,
  receiptStatusWord,
  trustWord,
  verificationWord,
} from './words.js';

/** Renderers of the manifest page: the clear routing fields for every officer, the goods only after a decrypt. */

function row(l: Locale, label: MessageKey, value: Html | string | undefined): Html {
  return value === undefined || value === ''
    ? html``
    : html`<tr><th scope="row">${l.t(label)}</th><td>${value}</td></tr>`;
}

/** A value of the manifest or the store shown as it is (a number, a code, a name): never translated. */
function data(value: string | undefined): Html | undefined {
  return value === undefined || value === '' ? undefined : html`<span translate="no">${value}</span>`;
}

export function verificationBadge(l: Locale, m: ManifestRecord): Html {
  return m.verification === 'valid'
    ? html`<span class="badge ok" data-verification="valid">${verificationWord(l, 'valid')}</span>`
    : html`<span class="badge bad" data-verification="${m.verification}">${verificationWord(l, m.verification)}</span>`;
}

/** Where the manifest stands with the exchange: the outbox row's state, attempts and receipt. */
export function syncLabel(l: Locale, entry: OutboxEntry | undefined, m: ManifestRecord): Html {
  if (m.payloadPurgedAt !== undefined) return l.t('sync.purged');
  if (!entry) return html`—`;
  const receipt = entry.receipt;
  const state = l.t('sync.state', { state: outboxStateWord(l, entry.state), attempts: entry.attempts });
  const receiptText = !receipt
    ? ''
    : receipt.reasonCode
      ? l.t('sync.receiptReason', {
          status: receiptStatusWord(l, receipt.status),
          reason: receiptReason(l, receipt.reasonCode),
          at: l.time(receipt.at),
        })
      : l.t('sync.receipt', { status: receiptStatusWord(l, receipt.status), at: l.time(receipt.at) });
  const lastError =
    entry.state === 'queued' && entry.lastError
      ? technicalDetail(l.t('sync.lastError'), entry.lastError)
      : '';
  return html`${state}${receiptText ? html`; ${receiptText}` : ''}${lastError}`;
}

function route(l: Locale, m: ManifestRecord, inspected: RoutingSummary | undefined): Html | undefined {
  const r = m.routing ?? {};
  if (r.departure === undefined) return undefined;
  const path = l.t('route.full', {
    from: html`<span translate="no">${r.departure}</span>`,
    fromCountry: data(r.departureCountry ?? '?')!,
    to: html`<span translate="no">${r.destination ?? '?'}</span>`,
    toCountry: data(r.destinationCountry ?? '?')!,
  });
  const via = inspected?.transitCountries;
  return via?.length ? html`${path} ${l.t('route.via', { countries: data(l.list(via))! })}` : path;
}

/** The routing fields as stored (and, when the bytes are kept, the issuer and recipients from a fresh inspection). */
export function routingTable(
  l: Locale,
  m: ManifestRecord,
  inspected: RoutingSummary | undefined,
  sync: Html,
): Html {
  const r = m.routing ?? {};
  const lock =
    r.lockId === undefined || r.lockId === m.lockId
      ? data(m.lockId)
      : l.t('field.lockMismatch', { lock: data(m.lockId ?? '?')!, named: data(r.lockId)! });
  return html`<table class="fields" data-testid="routing">
    ${row(l, 'field.container', data(r.container))}
    ${row(l, 'field.wagon', data(r.wagon))}
    ${row(l, 'field.train', data(r.train))}
    ${row(l, 'field.lock', lock)}
    ${row(l, 'field.route', route(l, m, inspected))}
    ${row(l, 'field.created', r.createdAt === undefined ? undefined : l.time(r.createdAt))}
    ${row(l, 'field.issuedBy', inspected ? html`<span translate="no">${asWritten(inspected.issuingAuthority)}</span>` : undefined)}
    ${row(l, 'field.signer', m.signerKid ? code(m.signerKid) : undefined)}
    ${row(l, 'field.recipients', inspected?.recipients.length ? html`${inspected.recipients.map((k, i) => html`${i > 0 ? ', ' : ''}${code(k)}`)}` : undefined)}
    ${row(
      l,
      'field.verification',
      html`${verificationBadge(l, m)}${m.verificationDetail ? technicalDetail(l.t('detail.technical'), m.verificationDetail) : ''}`,
    )}
    ${row(l, 'field.received', l.time(m.receivedAt))}
    ${row(l, 'field.size', l.bytes(m.size))}
    ${row(l, 'field.exchange', sync)}
    ${row(l, 'field.manifestId', html`<code class="id" translate="no">${m.manifestId}</code>`)}
  </table>`;
}

const TRANSPORT_KEYS: Record<string, MessageKey> = {
  serial: 'transport.serial',
  ble: 'transport.ble',
  unknown: 'transport.unknown',
};

export function readsTable(l: Locale, reads: ReadRecord[]): Html {
  if (reads.length === 0) return html`<p>${l.t('reads.none')}</p>`;
  return html`<div class="scroll"><table class="list"><thead><tr><th>${l.t('col.readAt')}</th><th>${l.t('col.gateway')}</th>
    <th>${l.t('col.via')}</th><th>${l.t('col.lock')}</th><th>${l.t('col.trust')}</th><th>${l.t('col.outcome')}</th></tr></thead>
  <tbody>${reads.map(
    (x) => html`<tr class="${x.trust === 'trusted' ? '' : 'bad'}"><td>${l.time(x.startedAt)}</td>
      <td translate="no">${x.gatewayId}</td>
      <td>${TRANSPORT_KEYS[x.transport] ? l.t(TRANSPORT_KEYS[x.transport]!) : code(x.transport)} <code translate="no">${x.endpoint}</code></td>
      <td translate="no">${x.lockId ?? '?'}</td>
      <td>${trustWord(l, x.trust)}</td>
      <td>${l.t(x.outcome === 'complete' ? 'read.complete' : 'read.failed')}${x.errorCode ? html` ${errorCode(l, x.errorCode)}` : ''}${
        x.importId !== undefined ? html` ${l.t('read.imported')}` : ''
      }</td></tr>`,
  )}</tbody></table></div>`;
}

export function alertsList(l: Locale, alerts: AlertRecord[]): Html {
  if (alerts.length === 0) return html``;
  return html`<h2>${l.t('alerts.title')}</h2><ul class="alerts">${alerts.map(
    (a) =>
      html`<li class="alert k-${a.kind}"><strong>${alertWord(l, a.kind)}</strong> ${l.time(a.raisedAt)}${
        a.occurrences > 1 ? html` ${l.t('alert.times', { count: a.occurrences })}` : ''
      }${technicalDetail(l.t('detail.technical'), a.detail)}</li>`,
  )}</ul>`;
}

function party(l: Locale, title: MessageKey, p: Party): Html {
  return html`<div class="party"><h3>${l.t(title)}</h3><p translate="no">${asWritten(p.name)}<br>${asWritten(p.address)}<br>${p.country} · ${p.id}</p></div>`;
}

function goodsRow(l: Locale, g: GoodsLine): Html {
  return html`<tr><td class="num">${l.integer(g.line)}</td><td class="goods-name" translate="no">${asWritten(g.name)}</td>
    <td><code translate="no">${g.hs}</code></td>
    <td class="num">${l.decimal(g.quantity)} <abbr translate="no">${g.unit}</abbr></td>
    <td class="num">${g.supplementaryQuantity ? html`${l.decimal(g.supplementaryQuantity)} <abbr translate="no">${g.supplementaryUnit ?? ''}</abbr>` : ''}</td>
    <td class="num">${l.decimal(g.grossWeightKg)}</td>
    <td class="num">${l.decimal(g.value)} <abbr translate="no">${g.currency}</abbr></td><td translate="no">${g.origin}</td>
    <td translate="no">${g.declarationNumber ?? ''}${g.declarationItem !== undefined ? ` / ${g.declarationItem}` : ''}</td>
    <td translate="no" class="ids">${(g.ids ?? []).join(', ')}</td></tr>`;
}

/**
 * The decrypted goods body: parties, document and the goods lines as the accompanying
 * document writes them, in its languages. Nothing of it is translated (and `translate="no"`
 * keeps a browser from machine-translating it); the column headings are the officer's.
 */
export function goodsSection(l: Locale, body: GoodsBody): Html {
  return html`<section class="goods" data-testid="goods">
  <h2>${l.t('goods.title')}</h2>
  <p class="note">${l.t('goods.asWritten')}</p>
  <div class="parties">${party(l, 'goods.consignor', body.consignor)}${party(l, 'goods.consignee', body.consignee)}
    <div class="party"><h3>${l.t('goods.document')}</h3><p translate="no">${asWritten(body.document.type)} ${body.document.number}<br>${l.day(body.document.date)}</p>${
      body.deliveryPlace
        ? html`<h3>${l.t('goods.delivery')}</h3><p translate="no">${asWritten(body.deliveryPlace)}</p>`
        : ''
    }</div></div>
  <div class="scroll"><table class="list goods-table"><thead><tr>
    <th>${l.t('col.line')}</th><th>${l.t('col.goods')}</th><th>${l.t('col.hs')}</th><th>${l.t('col.quantity')}</th>
    <th>${l.t('col.supplementary')}</th><th>${l.t('col.gross')}</th><th>${l.t('col.value')}</th><th>${l.t('col.origin')}</th>
    <th>${l.t('col.declaration')}</th><th>${l.t('col.ids')}</th></tr></thead>
  <tbody>${body.goods.map((g) => goodsRow(l, g))}</tbody></table></div>
  <p class="note">${l.t('goods.count', { count: body.goods.length })}</p>
</section>`;
}

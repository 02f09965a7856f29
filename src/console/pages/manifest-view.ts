import type { RoutingSummary } from '../../manifest/index.js';
import type { GoodsBody, Party } from '../../manifest/types.js';
import type { AlertRecord, ManifestRecord, OutboxEntry, ReadRecord } from '../../store/index.js';
import { formatBytes, formatTime } from '../format.js';
import { type Html, html } from '../html.js';

/** Renderers of the manifest page: the clear routing fields for every officer, the goods only after a decrypt. */

function row(label: string, value: Html | string | undefined): Html {
  return value === undefined || value === ''
    ? html``
    : html`<tr><th scope="row">${label}</th><td>${value}</td></tr>`;
}

export function verificationBadge(m: ManifestRecord): Html {
  return m.verification === 'valid'
    ? html`<span class="badge ok" data-verification="valid">valid</span>`
    : html`<span class="badge bad" data-verification="${m.verification}">${m.verification.replace('_', ' ').toUpperCase()}</span>`;
}

export function syncLabel(row: OutboxEntry | undefined, m: ManifestRecord): string {
  if (m.payloadPurgedAt !== undefined) return 'acknowledged (bytes purged by retention)';
  if (!row) return '—';
  const receipt = row.receipt
    ? `, receipt ${row.receipt.status}${row.receipt.reasonCode ? ` (${row.receipt.reasonCode})` : ''} ${formatTime(row.receipt.at)}`
    : '';
  return `${row.state.replace('_', ' ')}, ${row.attempts} attempt${row.attempts === 1 ? '' : 's'}${receipt}${
    row.state === 'queued' && row.lastError ? `, last error: ${row.lastError}` : ''
  }`;
}

/** The routing fields as stored (and, when the bytes are kept, the issuer and recipients from a fresh inspection). */
export function routingTable(m: ManifestRecord, inspected: RoutingSummary | undefined, sync: string): Html {
  const r = m.routing ?? {};
  const route =
    r.departure === undefined
      ? undefined
      : `${r.departure} (${r.departureCountry ?? '?'}) → ${r.destination ?? '?'} (${r.destinationCountry ?? '?'})${
          inspected?.transitCountries?.length ? ` via ${inspected.transitCountries.join(', ')}` : ''
        }`;
  return html`<table class="fields" data-testid="routing">
    ${row('Container', r.container)}
    ${row('Wagon', r.wagon)}
    ${row('Train', r.train)}
    ${row('Lock', r.lockId === undefined || r.lockId === m.lockId ? m.lockId : `${m.lockId} (the manifest names ${r.lockId})`)}
    ${row('Route', route)}
    ${row('Created', r.createdAt === undefined ? undefined : formatTime(r.createdAt))}
    ${row('Issued by', inspected?.issuingAuthority)}
    ${row('Signer', m.signerKid)}
    ${row('Encrypted for', inspected?.recipients.join(', '))}
    ${row('Verification', html`${verificationBadge(m)}${m.verificationDetail ? html` ${m.verificationDetail}` : ''}`)}
    ${row('Received', formatTime(m.receivedAt))}
    ${row('Size', formatBytes(m.size))}
    ${row('Exchange', sync)}
    ${row('Manifest id', html`<code>${m.manifestId}</code>`)}
  </table>`;
}

export function readsTable(reads: ReadRecord[]): Html {
  if (reads.length === 0) return html`<p>No read recorded (imported or stored by another path).</p>`;
  return html`<table class="list"><thead><tr><th>Read at</th><th>Gateway</th><th>Via</th><th>Lock</th><th>Trust</th><th>Outcome</th></tr></thead>
  <tbody>${reads.map(
    (
      x,
    ) => html`<tr class="${x.trust === 'trusted' ? '' : 'bad'}"><td>${formatTime(x.startedAt)}</td><td>${x.gatewayId}</td>
      <td>${x.transport} ${x.endpoint}</td><td>${x.lockId ?? '?'}</td>
      <td>${x.trust === 'trusted' ? 'trusted' : x.trust.replace('_', ' ').toUpperCase()}</td>
      <td>${x.outcome}${x.errorCode ? ` ${x.errorCode}` : ''}${x.importId !== undefined ? ' (imported)' : ''}</td></tr>`,
  )}</tbody></table>`;
}

export function alertsList(alerts: AlertRecord[]): Html {
  if (alerts.length === 0) return html``;
  return html`<h2>Alerts</h2><ul class="alerts">${alerts.map(
    (a) =>
      html`<li class="alert k-${a.kind}"><strong>${a.kind.replace('_', ' ').toUpperCase()}</strong> ${formatTime(a.raisedAt)} — ${a.detail}${
        a.occurrences > 1 ? ` (×${a.occurrences})` : ''
      }</li>`,
  )}</ul>`;
}

function party(title: string, p: Party): Html {
  return html`<div class="party"><h3>${title}</h3><p>${p.name}<br>${p.address}<br>${p.country} · ${p.id}</p></div>`;
}

/** The decrypted goods body: parties, document and the goods lines as in the accompanying document. */
export function goodsSection(body: GoodsBody): Html {
  return html`<section class="goods" data-testid="goods">
  <h2>Goods</h2>
  <div class="parties">${party('Consignor', body.consignor)}${party('Consignee', body.consignee)}
    <div class="party"><h3>Document</h3><p>${body.document.type} ${body.document.number}<br>${body.document.date}</p>${
      body.deliveryPlace ? html`<p>Delivery: ${body.deliveryPlace}</p>` : ''
    }</div></div>
  <table class="list goods-table"><thead><tr>
    <th>#</th><th>Goods</th><th>HS code</th><th>Quantity</th><th>Suppl. quantity</th><th>Gross kg</th><th>Value</th>
    <th>Origin</th><th>Declaration</th><th>Identification</th></tr></thead>
  <tbody>${body.goods.map(
    (
      g,
    ) => html`<tr><td>${g.line}</td><td>${g.name}</td><td><code>${g.hs}</code></td><td>${g.quantity} ${g.unit}</td>
      <td>${g.supplementaryQuantity ? `${g.supplementaryQuantity} ${g.supplementaryUnit ?? ''}` : ''}</td>
      <td class="num">${g.grossWeightKg}</td><td class="num">${g.value} ${g.currency}</td><td>${g.origin}</td>
      <td>${g.declarationNumber ?? ''}${g.declarationItem !== undefined ? ` / ${g.declarationItem}` : ''}</td>
      <td>${(g.ids ?? []).join(', ')}</td></tr>`,
  )}</tbody></table>
  <p class="note">${body.goods.length} goods line${body.goods.length === 1 ? '' : 's'}. Decrypted for you alone; this view is recorded in the audit trail.</p>
</section>`;
}

import type { ManifestInspection } from './inspect.js';
import type { GoodsBody, GoodsLine, Party } from './types.js';

/**
 * Plain-text views for `manifest show`. Widths count East Asian wide characters as two
 * columns, so a table with Chinese goods names stays aligned in a terminal.
 */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const wide =
      (cp >= 0x1100 && cp <= 0x115f) ||
      (cp >= 0x2e80 && cp <= 0xa4cf) ||
      (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xfe30 && cp <= 0xfe4f) ||
      (cp >= 0xff00 && cp <= 0xff60) ||
      (cp >= 0xffe0 && cp <= 0xffe6) ||
      (cp >= 0x20000 && cp <= 0x3fffd);
    width += wide ? 2 : 1;
  }
  return width;
}

function fit(text: string, width: number): string {
  if (displayWidth(text) <= width) return text + ' '.repeat(width - displayWidth(text));
  let out = '';
  for (const ch of text) {
    if (displayWidth(`${out}${ch}…`) > width) break;
    out += ch;
  }
  return `${out}…${' '.repeat(width - displayWidth(`${out}…`))}`;
}

export function renderTable(header: string[], rows: string[][], maxWidths: number[] = []): string {
  const widths = header.map((h, c) =>
    Math.min(
      maxWidths[c] ?? Number.POSITIVE_INFINITY,
      Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[c] ?? ''))),
    ),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => fit(cell, widths[c]!))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function pairs(rows: [string, string | undefined][]): string {
  const shown = rows.filter((r): r is [string, string] => r[1] !== undefined);
  const width = Math.max(...shown.map(([k]) => displayWidth(k)));
  return shown.map(([k, v]) => `${fit(k, width)}  ${v}`).join('\n');
}

export function renderInspection(inspection: ManifestInspection): string {
  const { verification: v, routing: r } = inspection;
  const status = v.status === 'valid' ? 'VALID' : `${v.status.toUpperCase()} — not valid data`;
  const rows: [string, string | undefined][] = [
    ['Manifest', `${inspection.manifestId} (${inspection.size} bytes)`],
    ['Verification', `${status}${v.signerKid ? `, signer ${v.signerKid}` : ''}`],
    ['Why', v.detail],
  ];
  if (r) {
    const via = r.transitCountries?.length ? ` via ${r.transitCountries.join(', ')}` : '';
    rows.push(
      ['Lock', r.lockId],
      ['Container', r.container],
      ['Wagon', r.wagon],
      ['Train', r.train],
      ['Route', `${r.departureCountry} ${r.departure} → ${r.destinationCountry} ${r.destination}${via}`],
      ['Created', new Date(r.createdAt).toISOString()],
      ['Issued by', r.issuingAuthority],
      ['Recipients', r.recipients.join(', ')],
    );
  }
  return pairs(rows);
}

function party(p: Party): string {
  return `${p.name} — ${p.address} — ${p.country} ${p.id}`;
}

function quantity(line: GoodsLine): string {
  const extra = line.supplementaryQuantity
    ? ` (${line.supplementaryQuantity} ${line.supplementaryUnit})`
    : '';
  return `${line.quantity} ${line.unit}${extra}`;
}

export function renderBody(body: GoodsBody): string {
  const head = pairs([
    ['Consignor', party(body.consignor)],
    ['Consignee', party(body.consignee)],
    ['Document', `${body.document.type} ${body.document.number} of ${body.document.date}`],
    ['Delivery', body.deliveryPlace],
  ]);
  const rows = body.goods.map((l) => [
    String(l.line),
    l.hs,
    l.name,
    quantity(l),
    l.grossWeightKg,
    `${l.value} ${l.currency}`,
    l.origin,
    l.declarationNumber ? `${l.declarationNumber} #${l.declarationItem}` : '',
    l.ids ? String(l.ids.length) : '',
  ]);
  const table = renderTable(
    ['#', 'HS code', 'Goods', 'Quantity', 'Gross kg', 'Value', 'Origin', 'Declaration / item', 'IDs'],
    rows,
    [6, 10, 40, 24, 12, 20, 6, 28, 5],
  );
  return `${head}\n\nGoods (${body.goods.length} line${body.goods.length === 1 ? '' : 's'})\n${table}`;
}

import { CtopError } from '../errors.js';
import type { LineLocator } from './issues.js';

/**
 * CSV goods files (MANIFEST.md §8.2), for consignments kept in spreadsheets:
 *
 *   # comment
 *   @lockId,KZL-0001
 *   @consignor.name,"ТОО ""Астық"""
 *   line,name,hs,quantity,unit,grossWeightKg,value,currency,origin
 *   1,Пшеница мягкая,1001990000,64.5,TNE,64500,14190.00,USD,KZ
 *
 * `@path,value` rows set manifest fields (dotted paths); the first other row names the
 * goods columns; each following row is a goods line. RFC 4180 quoting; the delimiter is
 * `,`, `;` or tab, whichever the first row uses most. Empty rows are skipped.
 */
interface CsvRecord {
  line: number;
  cells: string[];
}

function detectDelimiter(text: string): string {
  const first = text.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#')) ?? '';
  const counts = [',', ';', '\t'].map((d) => [d, first.split(d).length] as const);
  counts.sort((a, b) => b[1] - a[1]);
  return counts[0]![0];
}

function records(text: string, delimiter: string, source: string): CsvRecord[] {
  const out: CsvRecord[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const start = line;
    if (text[i] === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      i++;
      line++;
      continue;
    }
    const cells: string[] = [];
    let cell = '';
    let quoted = false;
    let atCellStart = true;
    for (;;) {
      if (i >= text.length) {
        if (quoted)
          throw new CtopError('E_MANIFEST_INPUT', `${source}:${start}: a quoted cell is not closed`, {
            details: { line: start },
          });
        cells.push(cell);
        break;
      }
      const c = text[i]!;
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') {
          cell += '"';
          i += 2;
        } else if (c === '"') {
          quoted = false;
          i++;
        } else {
          if (c === '\n') line++;
          cell += c;
          i++;
        }
        continue;
      }
      if (c === '"' && atCellStart) {
        quoted = true;
        atCellStart = false;
        i++;
      } else if (c === delimiter) {
        cells.push(cell);
        cell = '';
        atCellStart = true;
        i++;
      } else if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
        i += c === '\r' ? 2 : 1;
        line++;
        cells.push(cell);
        break;
      } else {
        cell += c;
        atCellStart = false;
        i++;
      }
    }
    if (cells.some((c) => c.trim() !== '')) out.push({ line: start, cells });
  }
  return out;
}

function setPath(target: Record<string, unknown>, path: string, value: string): boolean {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === undefined) node[part] = {};
    else if (typeof next !== 'object' || next === null) return false;
    node = node[part] as Record<string, unknown>;
  }
  const last = parts.at(-1)!;
  if (last in node) return false;
  node[last] = value;
  return true;
}

export function parseCsvGoods(text: string, source: string): { input: unknown; locate: LineLocator } {
  const clean = text.startsWith('\ufeff') ? text.slice(1) : text;
  const rows = records(clean, detectDelimiter(clean), source);
  const input: Record<string, unknown> = Object.create(null);
  const lines = new Map<string, number>();
  let columns: string[] | undefined;
  const goods: Record<string, string>[] = [];
  const fail = (line: number, why: string): never => {
    throw new CtopError('E_MANIFEST_INPUT', `${source}:${line}: ${why}`, { details: { source, line } });
  };
  for (const row of rows) {
    const first = row.cells[0]!.trim();
    if (first.startsWith('@')) {
      if (columns) fail(row.line, `field row "${first}" after the goods header; put @ rows first`);
      const path = first.slice(1);
      if (!/^[A-Za-z]+(\.[A-Za-z]+)*$/.test(path))
        fail(row.line, `"${first}" is not a field path such as @consignor.name`);
      if (row.cells.slice(2).some((c) => c.trim() !== '')) fail(row.line, `@${path} has more than one value`);
      if (!setPath(input, path, row.cells[1] ?? ''))
        fail(row.line, `@${path} is given twice or conflicts with another field`);
      lines.set(path, row.line);
      continue;
    }
    if (!columns) {
      columns = row.cells.map((c) => c.trim());
      const seen = new Set<string>();
      for (const c of columns) {
        if (c === '' || seen.has(c))
          fail(
            row.line,
            c === '' ? 'an empty column name in the goods header' : `column "${c}" appears twice`,
          );
        seen.add(c);
      }
      lines.set('goods', row.line);
      continue;
    }
    if (row.cells.length > columns.length && row.cells.slice(columns.length).some((c) => c.trim() !== '')) {
      fail(row.line, `${row.cells.length} cells but the header names ${columns.length} columns`);
    }
    const entry: Record<string, string> = Object.create(null);
    columns.forEach((name, i) => {
      const cell = row.cells[i] ?? '';
      if (cell.trim() !== '') entry[name] = cell;
    });
    const index = goods.push(entry) - 1;
    lines.set(`goods[${index}]`, row.line);
  }
  if (columns) input.goods = goods;
  const locate: LineLocator = (path) => {
    const exact = lines.get(path);
    if (exact !== undefined) return exact;
    const line = /^goods\[(\d+)\]/.exec(path);
    if (line) return lines.get(`goods[${line[1]}]`);
    const parent = path.replace(/(\.[^.[\]]+|\[\d+\])$/, '');
    return parent !== path ? locate(parent) : undefined;
  };
  return { input, locate };
}

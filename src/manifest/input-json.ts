import { CtopError } from '../errors.js';
import type { LineLocator } from './issues.js';

/**
 * JSON goods files. JSON.parse gives no positions, so a second, tiny scan of the (already
 * valid) text records the line on which every value starts, keyed by field path
 * (`goods[3].hs`), and errors can point at the line to fix.
 */
export function parseJsonGoods(text: string, source: string): { input: unknown; locate: LineLocator } {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const line = lineAt(text, jsonErrorOffset(text));
    throw new CtopError(
      'E_MANIFEST_INPUT',
      `${source}${line === undefined ? '' : `:${line}`}: not valid JSON: ${message}`,
      {
        cause: err,
        details: { source, ...(line === undefined ? {} : { line }) },
      },
    );
  }
  const lines = jsonValueLines(text);
  return { input, locate: (path) => lines.get(path) ?? lines.get(path.replace(/(\.[^.[\]]+|\[\d+\])$/, '')) };
}

/**
 * Offset of the first syntax error in text JSON.parse refused (V8's message does not always
 * carry a position): a minimal recursive-descent check that stops where parsing fails.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const space = () => {
    while (i < text.length && ' \t\r\n\ufeff'.includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const expect = (s: string) => {
    if (text.startsWith(s, i)) i += s.length;
    else fail();
  };
  const string = () => {
    expect('"');
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? '')) fail();
      }
      i++;
    }
    expect('"');
  };
  const value = (depth: number): void => {
    space();
    if (depth > 512) fail();
    const c = text[i];
    if (c === '{') {
      i++;
      space();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        space();
        string();
        space();
        expect(':');
        value(depth + 1);
        space();
        if (text[i] !== ',') {
          expect('}');
          return;
        }
        i++;
      }
    }
    if (c === '[') {
      i++;
      space();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        space();
        if (text[i] !== ',') {
          expect(']');
          return;
        }
        i++;
      }
    }
    if (c === '"') {
      string();
      return;
    }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (m && m[0].length > 0) {
      i += m[0].length;
      return;
    }
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, i)) {
        i += literal.length;
        return;
      }
    }
    fail();
  };
  try {
    value(0);
    space();
    return i;
  } catch (offset) {
    return offset as number;
  }
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Field path → line of its value, for valid JSON text. */
export function jsonValueLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  let i = 0;
  let line = 1;
  const skipSpace = () => {
    while (i < text.length) {
      const c = text[i];
      if (c === '\n') line++;
      else if (c !== ' ' && c !== '\t' && c !== '\r' && c !== '\ufeff') break;
      i++;
    }
  };
  const readString = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string, depth: number): void => {
    skipSpace();
    if (path) lines.set(path, line);
    if (depth > 64) return;
    const c = text[i];
    if (c === '{') {
      i++;
      skipSpace();
      while (text[i] !== '}' && i < text.length) {
        const key = readString();
        skipSpace();
        i++; // ':'
        value(path ? `${path}.${key}` : key, depth + 1);
        skipSpace();
        if (text[i] === ',') i++;
        skipSpace();
      }
      i++;
    } else if (c === '[') {
      i++;
      skipSpace();
      let index = 0;
      while (text[i] !== ']' && i < text.length) {
        value(`${path}[${index++}]`, depth + 1);
        skipSpace();
        if (text[i] === ',') i++;
        skipSpace();
      }
      i++;
    } else if (c === '"') {
      readString();
    } else {
      while (i < text.length && !/[\s,\]}]/.test(text[i]!)) i++;
    }
  };
  value('', 0);
  return lines;
}

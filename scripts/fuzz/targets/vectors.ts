import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The lines of firmware-protocol/vectors/*.json: valid frames of every message type and the documented bad ones. */
export interface VectorLine {
  name: string;
  line: Buffer;
  /** The binary frame, when the vector is a decodable one. */
  frame?: Buffer;
}

export function protocolVectorLines(): VectorLine[] {
  const dir = fileURLToPath(new URL('../../../firmware-protocol/vectors/', import.meta.url));
  const out: VectorLine[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.json')) continue;
    const vector = JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as {
      name: string;
      kind: string;
      line?: string;
      frame?: { hex: string };
    };
    if (vector.kind !== 'line' || typeof vector.line !== 'string') continue;
    out.push({
      name: vector.name,
      line: Buffer.from(vector.line, 'latin1'),
      ...(vector.frame ? { frame: Buffer.from(vector.frame.hex, 'hex') } : {}),
    });
  }
  return out;
}

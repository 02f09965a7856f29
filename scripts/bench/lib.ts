import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';

/**
 * Every benchmark reports each figure as a ratio against a baseline measured in the same
 * run (DEVELOPERS rule 4), prints it, and writes JSON to var/bench/<name>.json.
 */
export interface BenchFigure {
  /** What is measured, e.g. "serial read 64 KiB @115200". */
  name: string;
  value: number;
  unit: string;
  baseline: { name: string; value: number; unit: string };
  /** value ÷ baseline.value (or the inverse where stated in `ratioMeaning`). */
  ratio: number;
  ratioMeaning: string;
  /** The goal from the issue, if any, e.g. ">= 0.70". */
  goal?: string;
  met?: boolean;
}

export function writeBenchResults(
  bench: string,
  figures: BenchFigure[],
  extra: Record<string, unknown> = {},
): string {
  const dir = new URL('../../var/bench/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${bench}.json`, dir);
  const result = {
    bench,
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    figures,
    ...extra,
  };
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  for (const f of figures) {
    const goal = f.goal ? `  goal ${f.goal} ${f.met ? 'MET' : 'NOT MET'}` : '';
    console.log(
      `${f.name}: ${f.value.toFixed(2)} ${f.unit} vs ${f.baseline.name} ${f.baseline.value.toFixed(2)} ${f.baseline.unit} → ratio ${f.ratio.toFixed(3)} (${f.ratioMeaning})${goal}`,
    );
  }
  console.log(`→ ${file.pathname}`);
  return file.pathname;
}

/**
 * Serial read benchmark (issue 3 item 10): a 64 KiB manifest read from the paced lock
 * simulator over a real pty pair at 115200 and 921600 baud.
 *
 * Figure: manifest bytes per second ÷ (baud/10), the nominal 8N1 line rate (goal ≥ 0.70 at
 * 115200; base64 line framing caps it at 0.75). Baseline measured in the same run: raw
 * bytes pushed through the same paced pty path, which shows the line itself delivers
 * its nominal rate, so the ratio is the protocol's doing.
 */
import { randomBytes } from 'node:crypto';
import { SerialPort } from 'serialport';
import { readLock } from '../../src/lock/reader.js';
import { SerialLink } from '../../src/lock/transport/serial-link.js';
import { PacedOutput } from '../../src/sim/lock/paced-output.js';
import { startSerialLock } from '../../src/sim/lock/serial-lock-setup.js';
import { PtyPair } from '../../src/sim/pty-pair.js';
import { type BenchFigure, writeBenchResults } from './lib.js';

const SIZE = 64 * 1024;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Bytes per second of raw, unframed bytes through the paced pty path. */
async function rawLineRate(baudRate: number): Promise<number> {
  const pty = await PtyPair.open();
  const lockPort = new SerialPort({ path: pty.lockPath, baudRate, autoOpen: false, lock: false });
  await new Promise<void>((resolve, reject) => lockPort.open((e) => (e ? reject(e) : resolve())));
  const link = await SerialLink.open({ path: pty.gatewayPath, baudRate });
  const paced = new PacedOutput((b) => lockPort.write(b), baudRate / 10);
  const payload = randomBytes(SIZE);
  const started = performance.now();
  paced.write(payload);
  let got = 0;
  while (got < SIZE) got += (await link.read()).byteLength;
  const seconds = (performance.now() - started) / 1000;
  await link.close();
  await new Promise<void>((resolve) => lockPort.close(() => resolve()));
  await pty.close();
  return SIZE / seconds;
}

async function protocolRate(baudRate: number): Promise<{ rate: number; seconds: number }> {
  const lock = await startSerialLock({ baudRate, manifestSize: SIZE });
  try {
    const started = performance.now();
    const result = await readLock({ open: lock.open, gatewayId: 'BENCH' });
    const seconds = (performance.now() - started) / 1000;
    if (result.outcome !== 'complete' || !result.manifest?.equals(lock.manifest)) {
      throw new Error(`read failed: ${result.error?.code} ${result.error?.message}`);
    }
    return { rate: SIZE / seconds, seconds };
  } finally {
    await lock.close();
  }
}

const figures: BenchFigure[] = [];
const raw: Record<string, unknown> = {};
for (const baud of [115200, 921600]) {
  const nominal = baud / 10;
  const line: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    line.push(await rawLineRate(baud));
    ours.push((await protocolRate(baud)).rate);
  }
  const measuredLine = median(line);
  const goodput = median(ours);
  raw[baud] = { rawLineRuns: line, readRuns: ours };
  figures.push({
    name: `serial read 64 KiB @${baud}`,
    value: goodput,
    unit: 'B/s',
    baseline: { name: 'nominal line rate baud/10', value: nominal, unit: 'B/s' },
    ratio: goodput / nominal,
    ratioMeaning: 'manifest bytes/s ÷ (baud/10)',
    ...(baud === 115200 ? { goal: '>= 0.70', met: goodput / nominal >= 0.7 } : {}),
  });
  figures.push({
    name: `serial read 64 KiB @${baud} vs measured raw line`,
    value: goodput,
    unit: 'B/s',
    baseline: { name: 'raw bytes through the same paced pty', value: measuredLine, unit: 'B/s' },
    ratio: goodput / measuredLine,
    ratioMeaning: 'manifest bytes/s ÷ raw bytes/s measured in this run',
  });
}
writeBenchResults('serial-read', figures, { size: SIZE, runs: RUNS, raw });

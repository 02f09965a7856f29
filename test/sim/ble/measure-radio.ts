/**
 * How much the simulated radio carries before it (or noble above it, in the same process)
 * becomes the bottleneck. Not a test: `npx tsx test/sim/ble/measure-radio.ts [quick]`.
 * Each figure is measured goodput in simulated time ÷ the link's theoretical goodput
 * (linkGoodput), measured in the same run: 1.00 means the radio kept up.
 */
import { randomBytes } from 'node:crypto';
import { performance as perf } from 'node:perf_hooks';
import type { Peripheral } from '@stoprocent/noble';
import { type BenchFigure, writeBenchResults } from '../../../scripts/bench/lib.js';
import { echoApp, FloodApp } from '../../../src/sim/ble/apps.js';
import { type LinkParams, linkGoodput } from '../../../src/sim/ble/link-params.js';
import { SimRadio } from '../../../src/sim/ble/sim-radio.js';
import { SimWorld } from '../../../src/sim/ble/world.js';
import { discover, type LockLinkChars, lockPeripheral, openLockLink } from './fixtures.js';

const quick = process.argv.includes('quick');

interface Setting {
  name: string;
  link: Partial<LinkParams> & Pick<LinkParams, 'connectionIntervalMs' | 'packetsPerInterval'>;
  maxLlOctets?: number;
}

const SETTINGS: Setting[] = [
  { name: '7.5 ms, 6 PDUs/event, 251 B', link: { connectionIntervalMs: 7.5, packetsPerInterval: 6 } },
  { name: '15 ms, 4 PDUs/event, 251 B', link: { connectionIntervalMs: 15, packetsPerInterval: 4 } },
  {
    name: '30 ms, 4 PDUs/event, 27 B',
    link: { connectionIntervalMs: 30, packetsPerInterval: 4 },
    maxLlOctets: 27,
  },
  {
    name: '15 ms, 4 PDUs/event, 251 B, 5% loss',
    link: { connectionIntervalMs: 15, packetsPerInterval: 4, lossRate: 0.05 },
  },
];

interface Run {
  setting: string;
  direction: 'notify' | 'write';
  connections: number;
  timeScale: number;
  /** Measured ÷ theoretical goodput, simulated time, averaged over connections. */
  efficiency: number;
  /** ATT value bytes per wall second, all connections together. */
  wallKiBps: number;
  /** Event-loop utilisation of the process running noble and the radio. */
  elu: number;
  /** Share of peripheral slots the controller left unused because the host was behind. */
  held: number;
}

async function setUp(
  setting: Setting,
  timeScale: number,
  connections: number,
  app: () => FloodApp | ReturnType<typeof echoApp>,
) {
  const world = new SimWorld({ seed: 1, timeScale, link: setting.link });
  const radio = await SimRadio.start({ world, maxConnections: Math.max(5, connections) });
  const noble = await radio.noble();
  for (let i = 0; i < connections; i++) {
    world.add(
      lockPeripheral(i, { app: app(), ...(setting.maxLlOctets ? { maxLlOctets: setting.maxLlOctets } : {}) }),
    );
  }
  const peripherals = await discover(noble, connections, 60_000);
  const links: LockLinkChars[] = [];
  for (const p of peripherals) links.push(await openLockLink(p));
  return { world, radio, noble, peripherals, links };
}

async function notifyRun(
  setting: Setting,
  timeScale: number,
  connections: number,
  simWindowMs: number,
): Promise<Run> {
  const { world, radio, peripherals, links } = await setUp(
    setting,
    timeScale,
    connections,
    () => new FloodApp(),
  );
  const bytes = new Array<number>(connections).fill(0);
  let counting = false;
  for (const [i, l] of links.entries()) {
    l.tx.on('data', (d: Buffer) => {
      if (counting) bytes[i]! += d.length;
    });
  }
  // Every queue full, steady state; at high scales long enough for backlogs to settle.
  await world.clock.sleep(Math.max(200, 100 * timeScale));
  counting = true;
  const sim0 = world.clock.monotonic();
  const wall0 = performance.now();
  const elu0 = perf.eventLoopUtilization();
  // At least 400 wall ms, so batch edges and what waits in the pty do not count.
  await world.clock.sleep(Math.max(simWindowMs, 400 * timeScale));
  counting = false;
  const simS = (world.clock.monotonic() - sim0) / 1000;
  const wallS = (performance.now() - wall0) / 1000;
  const elu = perf.eventLoopUtilization(elu0).utilization;
  const info = radio.emulator.controller.connections[0]!;
  const theory = linkGoodput(
    { lossRate: 0, ...setting.link },
    {
      attMtu: info.mtu,
      llOctets: info.llOctets,
      connectionIntervalMs: info.intervalMs,
    },
  );
  const efficiency = bytes.reduce((a, b) => a + b / simS / theory, 0) / connections;
  const total = bytes.reduce((a, b) => a + b, 0);
  const infos = radio.emulator.controller.connections;
  const held =
    infos.reduce((a, c) => a + c.stats.slotsHeld, 0) /
    Math.max(
      1,
      infos.reduce((a, c) => a + c.stats.slotsHeld + c.stats.pdusDelivered + c.stats.pdusLost, 0),
    );
  for (const p of peripherals) await p.disconnectAsync().catch(() => undefined);
  await radio.close();
  return {
    setting: setting.name,
    direction: 'notify',
    connections,
    timeScale,
    efficiency,
    wallKiBps: total / 1024 / wallS,
    elu,
    held,
  };
}

async function writeRun(setting: Setting, timeScale: number, size: number): Promise<Run> {
  const { world, radio, peripherals, links } = await setUp(setting, timeScale, 1, () => echoApp());
  const p = peripherals[0] as Peripheral;
  const rx = links[0]!.rx;
  const data = randomBytes(size);
  const value = (p.mtu ?? 23) - 3;
  const sim0 = world.clock.monotonic();
  const wall0 = performance.now();
  const elu0 = perf.eventLoopUtilization();
  for (let i = 0; i < size; i += value) await rx.writeAsync(data.subarray(i, i + value), true);
  const arrived = () => radio.emulator.controller.connections[0]!.stats.bytesToPeripheral;
  // ACL payload = ATT value + 7 bytes of L2CAP and ATT headers per write.
  const expected = size + Math.ceil(size / value) * 7;
  while (arrived() < expected) await new Promise((r) => setTimeout(r, 1));
  const simS = (world.clock.monotonic() - sim0) / 1000;
  const wallS = (performance.now() - wall0) / 1000;
  const elu = perf.eventLoopUtilization(elu0).utilization;
  const info = radio.emulator.controller.connections[0]!;
  await p.disconnectAsync();
  await radio.close();
  const efficiency = size / simS / info.goodputToPeripheral;
  return {
    setting: setting.name,
    direction: 'write',
    connections: 1,
    timeScale,
    efficiency,
    wallKiBps: size / 1024 / wallS,
    elu,
    held: 0,
  };
}

const runs: Run[] = [];
const report = (r: Run) => {
  runs.push(r);
  console.log(
    `${r.direction.padEnd(6)} ${String(r.connections).padStart(2)} conn x${String(r.timeScale).padEnd(3)} ${r.setting.padEnd(38)} efficiency ${r.efficiency.toFixed(2)}  ${r.wallKiBps.toFixed(0).padStart(5)} KiB/s wall  ELU ${r.elu.toFixed(2)}  held ${(r.held * 100).toFixed(0)}%  RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
  );
};

const scales = quick ? [1, 8] : [1, 4, 16, 64];
for (const s of SETTINGS) for (const scale of scales) report(await notifyRun(s, scale, 1, 2000));
for (const scale of quick ? [1, 8] : [1, 4, 16]) report(await writeRun(SETTINGS[1]!, scale, 128 * 1024));
for (const n of quick ? [5] : [5, 10, 20]) {
  for (const scale of quick ? [1, 4] : [1, 2, 4, 8]) report(await notifyRun(SETTINGS[1]!, scale, n, 2000));
}

const baseline = runs[0]!;
const figures: BenchFigure[] = runs.map((r) => ({
  name: `${r.direction} ${r.connections} conn x${r.timeScale} ${r.setting}: goodput ÷ theory`,
  value: r.wallKiBps,
  unit: 'KiB/s wall',
  baseline: {
    name: `${baseline.direction} 1 conn x1 ${baseline.setting}`,
    value: baseline.wallKiBps,
    unit: 'KiB/s wall',
  },
  ratio: r.efficiency,
  ratioMeaning: 'measured simulated-time goodput ÷ theoretical link goodput (1.00: the radio kept up)',
}));
writeBenchResults('ble-sim-radio', figures, { runs });
process.exit(0);

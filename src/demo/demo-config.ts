import path from 'node:path';
import { configFromObject, type LoadedConfig } from '../config/index.js';
import { DEMO_GATEWAY, type DemoWorld } from './demo-world.js';

export interface DemoConfigParts {
  /** The broker as the agent reaches it (through the link cutter). */
  brokerUrl: string;
  /** Health and metrics listen address, or null. */
  http: string | null;
  /** The simulated radio's HCI line, when a train runs. */
  radioPort?: string;
  /** The officers' console section, when the demo serves it. */
  console?: Record<string, unknown>;
}

/** The agent's configuration for `npm start`: the demo world's keys and files, short timers. */
export function demoConfig(world: DemoWorld, parts: DemoConfigParts): LoadedConfig {
  return configFromObject(
    {
      role: 'checkpoint',
      gateway: {
        id: DEMO_GATEWAY.gatewayId,
        country: DEMO_GATEWAY.country,
        checkpoint: DEMO_GATEWAY.checkpoint,
        key: world.gatewayKeyFile,
      },
      trust: { store: world.agentTrustFile },
      locks: { trustOnFirstUse: true },
      store: { path: world.dbPath, minFreeMiB: 16 },
      retention: { firstRunMinutes: 1 },
      serial: {
        ports: [path.join(world.ttyDir, 'bay*')],
        baudRate: 115_200,
        scanIntervalMs: 500,
        probeIntervalMs: 2000,
      },
      ble: parts.radioPort
        ? {
            enabled: true,
            uart: { port: parts.radioPort, baudRate: 1_000_000 },
            maxConcurrent: 5,
            connectTimeoutMs: 8000,
            gattTimeoutMs: 4000,
          }
        : { enabled: false },
      sync: {
        brokers: [parts.brokerUrl],
        exchangeAddress: 'CTOP://KZ/EXCHANGE',
        protocolVersion: 4,
        keepaliveSeconds: 5,
        connectTimeoutMs: 3000,
        reconnectDelayMs: 500,
        receiptTimeoutMs: 5000,
        outageGraceMs: 1000,
        pollIntervalMs: 500,
      },
      http: { listen: parts.http },
      ...(parts.console ? { console: parts.console } : {}),
      shutdown: { readGraceMs: 2000 },
    },
    '(npm start)',
  );
}

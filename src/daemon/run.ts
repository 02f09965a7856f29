import { type AgentConfig, type LoadedConfig, loadConfig } from '../config/index.js';
import { toCtopError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { Daemon } from './daemon.js';

/** The root logger of the daemon as the configuration asks: JSON lines for journald, readable on a terminal. */
export function daemonLogger(config: AgentConfig): Logger {
  const { level, format } = config.log;
  return createLogger({ fd: 1, level, ...(format === 'auto' ? {} : { pretty: format === 'pretty' }) });
}

export interface RunDaemonOptions {
  configFile: string;
  env?: NodeJS.ProcessEnv;
  version?: string;
}

/**
 * `ctop-agent daemon --config <file>` until a signal ends it: SIGTERM or SIGINT stop it
 * gracefully (a second SIGINT exits at once: the store is transactional, nothing is lost
 * but the checkpoint of a read in progress), SIGHUP reloads the trust store, the lock list
 * and the log level. Resolves with the exit code once the database is closed.
 */
export async function runDaemon(options: RunDaemonOptions): Promise<number> {
  const env = options.env ?? process.env;
  const load = (): LoadedConfig => loadConfig(options.configFile, { env });
  const loaded = load();
  const log = daemonLogger(loaded.config);
  const daemon = new Daemon({
    loaded,
    log,
    reloadConfig: load,
    env,
    ...(options.version ? { version: options.version } : {}),
  });
  let signals = 0;
  const onStop = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1 && signal === 'SIGINT') {
      log.warn('second interrupt: exiting without waiting');
      log.flush();
      process.exit(130);
    }
    void daemon.stop(signal);
  };
  const onHup = () => void daemon.reload();
  const onFatal = (err: unknown) => {
    const e = toCtopError(err);
    log.fatal({ ...e.toLog(), err: e.message, stack: (err as Error)?.stack }, 'unexpected error: stopping');
    process.exitCode = 1;
    void daemon.stop('unexpected error');
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHup);
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  try {
    await daemon.start();
    lastSigintListener(onStop);
    await new Promise<void>((resolve) => daemon.once('stopped', () => resolve()));
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } finally {
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGHUP', onHup);
    process.off('uncaughtException', onFatal);
    process.off('unhandledRejection', onFatal);
    await new Promise<void>((resolve) => log.flush(() => resolve()));
  }
}

/**
 * noble's HCI bindings add a SIGINT listener when the radio starts and call
 * process.exit(1) from it when theirs is the last one
 * (node_modules/@stoprocent/noble/lib/hci-socket/bindings.js onSigInt): a Ctrl-C would
 * skip the graceful stop. Adding ours again after the radio started makes it the last.
 */
export function lastSigintListener(listener: (signal: NodeJS.Signals) => void): void {
  process.off('SIGINT', listener);
  process.on('SIGINT', listener);
}

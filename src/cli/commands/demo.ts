import type { Command } from 'commander';
import { lastSigintListener } from '../../daemon/run.js';
import { runDemo } from '../../demo/run-demo.js';
import { parseInteger } from '../parse.js';

/**
 * `npm start`: the whole job on embedded defaults, nothing to configure — an embedded
 * broker and the reference exchange, a simulated train of 55 wagons / 110 locks passing a
 * simulated BLE radio, two locks on serial pseudo-terminals, an outage in the middle and
 * the backlog draining with receipts, and the officers' console to watch it in (its URL
 * and a demo officer's password printed at start). Data under ./var/demo.
 */
export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'run the whole job on embedded defaults: a simulated train, serial locks, an outage, the drain',
    )
    .option('--data <dir>', 'where keys, databases and the agent log are kept', 'var/demo')
    .option('--locks <n>', 'locks on the train (two per wagon)', parseInteger('--locks', 0, 1000), 110)
    .option('--serial <n>', 'locks on serial pseudo-terminals', parseInteger('--serial', 0, 8), 2)
    .option(
      '--outage <seconds>',
      'how long the link to the broker is cut mid-train (0: none)',
      parseInteger('--outage', 0, 3600),
      20,
    )
    .option(
      '--time-scale <n>',
      'simulated radio seconds per wall second',
      parseInteger('--time-scale', 1, 20),
      4,
    )
    .option('--speed <m/s>', 'train speed past the antenna', parseInteger('--speed', 1, 30), 5)
    .option('--http <host:port>', 'health and metrics listener', '127.0.0.1:9464')
    .option('--once', 'exit after the first train and the drain instead of running until Ctrl-C')
    .option('--no-console', "do not serve the officers' console")
    .action(async (opts) => {
      const abort = new AbortController();
      let interrupts = 0;
      const onSignal = () => {
        interrupts++;
        if (interrupts > 1) process.exit(130);
        abort.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        await runDemo({
          dataDir: opts.data,
          locks: opts.locks,
          serialLocks: opts.serial,
          outageSeconds: opts.outage,
          timeScale: opts.timeScale,
          speedMps: opts.speed,
          http: opts.http === 'off' ? null : opts.http,
          once: opts.once === true,
          console: opts.console !== false,
          out: process.stdout,
          signal: abort.signal,
          onStarted: () => lastSigintListener(onSignal),
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      // Everything is closed; a library's stray handle must not keep the demo alive.
      process.exit(0);
    });
}

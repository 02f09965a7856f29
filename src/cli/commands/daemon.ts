import type { Command } from 'commander';
import { runDaemon } from '../../daemon/run.js';
import { agentVersion } from '../../version.js';

/**
 * `ctop-agent daemon --config <file>`: the agent as a service (systemd/ctop-agent.service).
 * Configuration reference: systemd/config.example.yaml and docs/OPERATIONS.md.
 */
export function register(program: Command): void {
  program
    .command('daemon')
    .description('run the agent as a service: read locks, store, sync to the exchange (until SIGTERM)')
    .requiredOption('--config <file>', 'the YAML configuration, e.g. /etc/ctop-agent/config.yaml')
    .addHelpText(
      'after',
      "\nSignals: SIGTERM/SIGINT stop gracefully (reads in progress are checkpointed), SIGHUP reloads the\ntrust store, the provisioned lock list and log.level. Environment: CTOP_<SECTION>__<KEY>=<yaml value>\noverrides a key (e.g. CTOP_SYNC__BROKERS='[mqtts://a:8883]'). Health and metrics: http.listen.",
    )
    .action(async (opts: { config: string }) => {
      process.exitCode = await runDaemon({
        configFile: opts.config,
        version: agentVersion(),
      });
      // Native handles (serial ports, the MQTT socket) are closed; whatever a library left behind must not keep a stopped service alive.
      process.exit(process.exitCode);
    });
}

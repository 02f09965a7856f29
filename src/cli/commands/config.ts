import type { Command } from 'commander';
import { checkReferences, loadConfig, renderConfig } from '../../config/index.js';
import { loadOfficers } from '../../console/officers.js';
import { CtopError } from '../../errors.js';

/**
 * `ctop-agent config check <file>`: validates a configuration as the daemon would at start
 * (schema, CTOP_* overrides, the files it names) and prints it resolved. Exit 0 when the
 * daemon would start with it, 3 (config) when not.
 */
export function register(program: Command): void {
  const config = program.command('config').description('the daemon configuration');
  config
    .command('check')
    .description('validate a configuration and print it resolved (defaults filled in, paths absolute)')
    .argument('<file>', 'the YAML configuration')
    .option(
      '--syntax-only',
      'check the file and its values only, not the key, trust store and TLS files it names',
    )
    .option('--quiet', 'print nothing when the configuration is good')
    .action((file: string, opts: { syntaxOnly?: boolean; quiet?: boolean }) => {
      const loaded = loadConfig(file);
      const warnings: string[] = [];
      if (!opts.syntaxOnly) {
        const check = checkReferences(loaded, { officers: loadOfficers });
        warnings.push(...check.warnings);
        if (check.problems.length > 0) {
          throw new CtopError(
            'E_CONFIG_REFERENCE',
            `${check.problems.length === 1 ? 'a file' : `${check.problems.length} files`} named in ${file} cannot be used:\n${check.problems.join('\n')}`,
            { details: { problems: check.problems } },
          );
        }
      }
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      if (!opts.quiet) process.stdout.write(renderConfig(loaded));
    });
}

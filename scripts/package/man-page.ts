import type { Command, Option } from 'commander';
import { ERRORS, type ErrorCategory, EXIT_CODES } from '../../src/errors.js';

/**
 * ctop-agent(1), written from the command line's own definitions (the text `--help`
 * prints), so the manual page cannot drift from the program: every command and subcommand
 * with its arguments and options, the exit codes, the files the package installs.
 */

/** Text for roff: backslashes and hyphens escaped, no line starting with a control character. */
function esc(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');
}

function optionLine(option: Option): string[] {
  const extra: string[] = [];
  if (option.mandatory) extra.push('required');
  if (
    option.defaultValue !== undefined &&
    option.defaultValue !== false &&
    !Array.isArray(option.defaultValue)
  )
    extra.push(`default: ${String(option.defaultValue)}`);
  const description = option.description + (extra.length > 0 ? ` (${extra.join('; ')})` : '');
  return ['.TP', `.B ${esc(option.flags)}`, esc(description)];
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function synopsis(command: Command): string {
  const args = command.registeredArguments.map((a) => {
    const name = `${a.name()}${a.variadic ? '...' : ''}`;
    return a.required ? `<${name}>` : `[${name}]`;
  });
  const required = command.options.filter((o) => o.mandatory).map((o) => o.flags);
  return [commandPath(command), ...required, ...args, '[options]'].join(' ');
}

function commandSection(command: Command): string[] {
  const visible = command.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);
  if (visible.length > 0) return visible.flatMap(commandSection);
  const lines = ['.SS', esc(synopsis(command)), esc(command.description())];
  for (const a of command.registeredArguments) {
    if (a.description) lines.push('.TP', `.I ${esc(a.name())}`, esc(a.description));
  }
  for (const o of command.options) if (!o.hidden) lines.push(...optionLine(o));
  return lines;
}

/** What each exit status means (the README's table of exit codes says the same). */
const CATEGORY_MEANING: Record<ErrorCategory, string> = {
  internal: 'an internal error: a bug, report it with the log',
  usage: 'the command line is wrong (a bad or missing option, a file that cannot be read)',
  config: 'the configuration is invalid or names files that cannot be used',
  transport: 'the serial or Bluetooth link to the lock failed',
  protocol: 'the lock does not speak the protocol (broken or hostile firmware)',
  integrity: 'the lock or the data is not what it claims (clone, tamper, bad signature): hold the container',
  manifest: 'an invalid or unverifiable manifest or goods file',
  store: 'a database error (full, locked, in use, damaged)',
  sync: 'an error talking to the exchange',
  security: 'a key or database file is readable by others',
};

function exitStatus(): string[] {
  const lines = ['.SH "EXIT STATUS"', '.TP', '.B 0', 'success'];
  for (const [category, n] of Object.entries(EXIT_CODES).sort((a, b) => a[1] - b[1])) {
    lines.push('.TP', `.B ${n}`, esc(CATEGORY_MEANING[category as ErrorCategory]));
  }
  lines.push(
    '.PP',
    esc(
      `Errors print their stable code (${Object.keys(ERRORS).length} of them, E_...) and what to do; each is described in /usr/share/doc/ctop-agent/ERRORS.md.gz.`,
    ),
  );
  return lines;
}

export interface ManPageOptions {
  version: string;
  /** The date in the page footer (ISO day). */
  date: string;
}

export function renderManPage(program: Command, options: ManPageOptions): string {
  const lines = [
    `.TH CTOP\\-AGENT 1 "${options.date}" "ctop\\-agent ${esc(options.version)}" "User Commands"`,
    '.SH NAME',
    `ctop\\-agent \\- ${esc(program.description())}`,
    '.SH SYNOPSIS',
    '.B ctop\\-agent',
    '.I command',
    '[\\fIoptions\\fR]',
    '.br',
    '.B ctop\\-agent',
    '.I command',
    '.B \\-\\-help',
    '.SH DESCRIPTION',
    esc(
      'The edge agent of the KZ–CN CTOP rail corridor. It reads the safe and smart locks that close containers over serial lines and Bluetooth LE, verifies the customs manifest a lock carries, keeps it in SQLite and syncs it over MQTT 5 to the online exchange of the customs services.',
    ),
    '.PP',
    esc(
      'As a service it runs as "ctop-agent daemon --config /etc/ctop-agent/config.yaml" under the systemd unit ctop-agent.service, as the system user ctop-agent. Logs go to stderr (commands) or stdout (the daemon) as JSON lines; CTOP_LOG_LEVEL sets the level of the commands.',
    ),
    '.SH COMMANDS',
    ...program.commands.flatMap(commandSection),
    ...exitStatus(),
    '.SH FILES',
    '.TP',
    '.I /etc/ctop\\-agent/config.yaml',
    esc(
      'the configuration (a conffile); every key is documented in /usr/share/doc/ctop-agent/examples/config.example.yaml',
    ),
    '.TP',
    '.I /etc/ctop\\-agent/keys/, /etc/ctop\\-agent/tls/',
    esc('the gateway key and the broker TLS files, owned by ctop-agent, mode 0700'),
    '.TP',
    '.I /var/lib/ctop\\-agent/ctop\\-agent.db',
    esc('the database (mode 0600); back it up with "ctop-agent backup"'),
    '.TP',
    '.I /lib/systemd/system/ctop\\-agent.service',
    'the systemd unit',
    '.SH "SEE ALSO"',
    esc(
      '/usr/share/doc/ctop-agent/OPERATIONS.md.gz (installation, upgrade, backup and restore, alerting), /usr/share/doc/ctop-agent/PACKAGING.md.gz',
    ),
    '',
  ];
  return lines.join('\n');
}

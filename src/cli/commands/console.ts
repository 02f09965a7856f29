import type { Command } from 'commander';
import { hashPassword, MIN_PASSWORD_LENGTH } from '../../console/index.js';
import { CtopError } from '../../errors.js';

/**
 * Reads a line from a terminal without echoing it. Raw mode, so the password never shows
 * on screen nor lands in the shell history (a command-line argument would, and in `ps`).
 */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    process.stderr.write(prompt);
    let line = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(line);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new CtopError('E_CONSOLE_PASSWORD', 'cancelled'));
        if (ch === '\u007f' || ch === '\b') line = [...line].slice(0, -1).join('');
        else if (ch >= ' ') line += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** The first line of a pipe (`printf '%s\n' "$PW" | ctop-agent console hash-password`). */
async function readPiped(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

export function register(program: Command): void {
  const consoleCmd = program
    .command('console')
    .description("the officers' local web console (docs/CONSOLE.md)");

  consoleCmd
    .command('hash-password')
    .description(
      `hash an officer's password for the configuration (scrypt, random salt); reads it from the terminal (asked twice, not shown) or the first line of stdin; at least ${MIN_PASSWORD_LENGTH} characters`,
    )
    .action(async () => {
      let password: string;
      if (process.stdin.isTTY) {
        password = await promptHidden('Password: ');
        const again = await promptHidden('Again: ');
        if (again !== password) throw new CtopError('E_CONSOLE_PASSWORD', 'the two entries differ');
      } else {
        password = await readPiped();
      }
      if (password.length === 0) throw new CtopError('E_CONSOLE_PASSWORD', 'no password given');
      process.stdout.write(`${await hashPassword(password)}\n`);
    });
}

import { spawn } from 'node:child_process';
import t from 'tap';
import { parsePasswordHash, verifyPassword } from '../../src/console/index.js';
import { CLI } from '../helpers/cli.js';

/** `ctop-agent console hash-password` with the password on stdin, as a script would give it. */
function hashPassword(stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'console', 'hash-password'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

t.test('hash-password prints a hash that verifies the password read from stdin', async (t) => {
  const res = await hashPassword('correct horse battery staple\nsecond line ignored\n');
  t.equal(res.code, 0, res.stderr);
  const hash = res.stdout.trim();
  t.match(hash, /^\$scrypt\$ln=15,r=8,p=1\$/);
  t.equal(res.stdout.split('\n').length, 2, 'one line: the hash');
  t.notMatch(res.stdout + res.stderr, /horse/, 'the password itself is never echoed');
  const parsed = parsePasswordHash(hash);
  t.equal(await verifyPassword('correct horse battery staple', parsed), true);
  t.equal(await verifyPassword('second line ignored', parsed), false);
});

t.test(
  'hash-password refuses a short or empty password with E_CONSOLE_PASSWORD (usage, exit 2)',
  async (t) => {
    for (const input of ['short\n', '']) {
      const res = await hashPassword(input);
      t.equal(res.code, 2, JSON.stringify(input));
      t.match(res.stderr, /E_CONSOLE_PASSWORD/);
      t.equal(res.stdout, '');
    }
  },
);

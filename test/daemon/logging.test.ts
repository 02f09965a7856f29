import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import t from 'tap';

/** The daemon's logs: JSON lines for journald, readable when asked, secrets and manifest bodies never. */

const CHILD = fileURLToPath(new URL('./fixtures/log-child.ts', import.meta.url));

function run(format: 'json' | 'pretty', secretHex: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, format], {
      env: { ...process.env, SECRET_HEX: secretHex },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}

for (const format of ['json', 'pretty'] as const) {
  t.test(`${format}: secrets and manifest bodies are redacted`, async (t) => {
    const secret = randomBytes(48);
    const out = await run(format, secret.toString('hex'));
    t.match(out, /a read with its manifest/);
    t.match(out, /SSL-KZ-000001/, 'routing fields stay');
    t.match(out, /nested bodies/);
    for (const leak of [
      secret.toString('hex'),
      secret.toString('base64'),
      secret.subarray(0, 16).toString('base64'),
      JSON.stringify([...secret.subarray(0, 8)]).slice(1, -1),
      'hunter2',
    ]) {
      t.notOk(out.includes(leak), `no ${leak.slice(0, 12)}… in the output`);
    }
    t.ok((out.match(/\[redacted\]/g) ?? []).length >= 6, 'each one replaced by [redacted]');
    if (format === 'json') {
      const lines = out.trim().split('\n');
      t.equal(lines.length, 4, 'one line per entry');
      for (const line of lines) t.doesNotThrow(() => JSON.parse(line), 'every line is JSON (journald)');
      t.equal(JSON.parse(lines[0]!).component, 'test');
    } else {
      t.throws(() => JSON.parse(out.trim().split('\n')[0]!), 'pretty is for people, not JSON');
      t.match(out, /INFO/);
    }
  });
}

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { openStore } from '../../src/store/index.js';
import { CLI } from '../helpers/cli.js';
import { tempDir } from '../helpers/store.js';

/**
 * `npm start` (ctop-agent demo) end to end, small: a short train over the simulated radio,
 * two serial locks (one dropping its link mid-read), an outage mid-train, the drain with
 * receipts, the summary; then a second run in the same directory meets new locks, shows
 * its train live in the officers' console (logged in with the password it printed) and
 * stops cleanly on Ctrl-C; a third starts without the console. The 110-lock train is the
 * default of `npm start` itself.
 */

const CONSOLE_LINE =
  /officers' console: (http:\/\/127\.0\.0\.1:\d+)\/ — log in as "officer" with password (\S+)/;

/** Logs in to the demo's console over HTTP; the session cookie. */
async function consoleLogin(url: string, password: string): Promise<string> {
  const res = await fetch(`${url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url },
    body: new URLSearchParams({ user: 'officer', password, next: '/' }).toString(),
  });
  if (res.status !== 303) throw new Error(`login answered ${res.status}`);
  return res.headers.getSetCookie()[0]!.split(';')[0]!;
}

/** The live strip's events for `ms` or until `enough` of them arrived. */
async function liveEvents(url: string, cookie: string, enough: number, ms: number): Promise<string[]> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ms);
  const events: string[] = [];
  try {
    const res = await fetch(`${url}/events/trains`, { headers: { cookie }, signal: abort.signal });
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body!) {
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (block.startsWith('event: train')) events.push(block);
        end = buffer.indexOf('\n\n');
      }
      if (events.length >= enough) break;
    }
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return events;
}

function demo(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, 'demo', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function waitForOutput(
  run: ReturnType<typeof demo>,
  pattern: RegExp,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(run.output())) {
    if (Date.now() > deadline || run.child.exitCode !== null) {
      throw new Error(`no ${pattern} in:\n${run.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

t.test(
  'npm start on embedded defaults: train, serial bay, outage, drain, summary; Ctrl-C stops it',
  async (t) => {
    const data = path.join(tempDir(t, 'ctop-demo-'), 'var', 'demo');
    const common = ['--data', data, '--locks', '6', '--outage', '4', '--http', 'off'];
    const first = demo([...common, '--once']);
    t.teardown(() => first.child.kill('SIGKILL'));
    const code = await Promise.race([
      first.exited,
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 90_000).unref()),
    ]);
    const out = first.output();
    t.equal(code, 0, `exit 0:\n${out}`);
    t.match(out, /keys made now, owner-only/);
    t.match(out, /embedded MQTT broker mqtt:\/\/127\.0\.0\.1:\d+ \(aedes: MQTT 3\.1\.1\)/);
    t.match(out, /network outage: the agent's link to the broker is cut for 4 s/);
    t.match(out, /link restored after 4 s/);
    t.match(
      out,
      /\(3 wagons, 6 locks\) passed in .*: read 6 · verified 6 · stored 6 · delivered 6 \(receipts\) · failed 0 · missing 0/,
    );
    t.match(
      out,
      /outage: [45] s; backlog peaked at \d+, 0 left unacknowledged/,
      'the outage recorded, the backlog drained',
    );
    t.match(out, /serial SSL-KZ-100900: complete, manifest valid/);
    t.match(out, /serial SSL-KZ-100901: complete, manifest valid/);
    t.match(out, /link lost, resumed at/, 'the second serial lock dropped its link and the read continued');
    t.match(out, /stopped\.\n$/);
    t.notMatch(out, /\x1b\[/, 'no terminal control codes when stdout is not a terminal');
    const officer = CONSOLE_LINE.exec(out);
    t.ok(officer, "the officers' console URL and the demo officer's password are printed");
    const password = officer?.[2] ?? '';
    t.ok(password.length >= 12, 'a password the console accepts');
    t.equal(out.split(password).length, 2, 'printed once');
    const passwordFile = path.join(data, 'console-officer.txt');
    t.equal(statSync(passwordFile).mode & 0o777, 0o600, 'kept owner-only under the data folder');
    t.equal(readFileSync(passwordFile, 'utf8'), `user: officer\npassword: ${password}\n`);

    t.equal(statSync(data).mode & 0o777, 0o700, 'data directory owner-only');
    t.equal(
      statSync(path.join(data, 'keys', 'KZ-DOSTYK-DEMO.key')).mode & 0o777,
      0o600,
      'gateway key owner-only',
    );
    {
      const store = openStore({ path: path.join(data, 'ctop-agent.db'), create: false });
      const manifests = store.manifests.list({ limit: 100 });
      const outages = store.outages.list();
      const { counts } = store.outbox.status(Date.now());
      store.close();
      t.equal(manifests.length, 8, '6 train + 2 serial manifests stored');
      t.ok(
        manifests.every((m) => m.verification === 'valid'),
        'all valid',
      );
      t.ok(
        outages.length >= 1 && outages.every((o) => o.endedAt !== undefined),
        'the outage recorded and closed',
      );
      t.equal(counts.queued + counts.in_flight, 0, 'nothing left to send');
      t.equal(counts.rejected, 0);
    }

    // Run 2 in the same directory: new locks (no clone alarms), and Ctrl-C mid-run.
    const second = demo([...common]);
    t.teardown(() => second.child.kill('SIGKILL'));
    await waitForOutput(second, /agent ready/, 60_000);
    await waitForOutput(second, CONSOLE_LINE, 10_000);
    const [, url, password2] = CONSOLE_LINE.exec(second.output())!;
    t.not(password2, password, 'a new password at each start');
    const cookie = await consoleLogin(url!, password2!);
    // The train passes while we watch: its strip arrives and changes, event by event.
    const events = await liveEvents(url!, cookie, 4, 60_000);
    const demoTrain = events.filter((e) => /"trainId":"[^"]+"/.test(e));
    t.ok(demoTrain.length >= 2, `the live strip updates while the train passes (${demoTrain.length} events)`);
    t.ok(new Set(demoTrain).size >= 2, 'with changes from one event to the next');
    t.match(demoTrain.at(-1), /data-state=/, 'each carries the rendered locks');
    // A manifest of the first run, decrypted by the demo officer (customs role, demo KZ key).
    const list = await (await fetch(`${url}/manifests`, { headers: { cookie } })).text();
    const id = /href="\/manifests\/([0-9a-f]{64})"/.exec(list)?.[1];
    t.ok(id, 'manifests listed');
    const goods = await (await fetch(`${url}/manifests/${id}/goods`, { headers: { cookie } })).text();
    t.match(goods, /data-testid="goods"/, 'the goods decrypted');
    t.match(goods, /Қатты бидай/, 'as written, in Kazakh…');
    t.match(goods, /<span lang="zh-Hans">硬粒小麦/, '…and in Chinese, marked as such');
    await waitForOutput(second, /serial bay1: SSL-KZ-101900/, 30_000);
    second.child.kill('SIGINT');
    const code2 = await Promise.race([
      second.exited,
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000).unref()),
    ]);
    t.equal(code2, 0, `Ctrl-C: clean exit 0:\n${second.output()}`);
    t.match(second.output(), /run 2, data in/);
    t.match(second.output(), /stopping: reads in progress are checkpointed/);
    t.match(second.output(), /stopped\.\n$/);
    const store = openStore({ path: path.join(data, 'ctop-agent.db'), create: false });
    t.equal(
      store.db.prepare("SELECT count(*) FROM alert WHERE kind = 'clone'").pluck().get(),
      0,
      'no clone alerts: each run meets locks of its own',
    );
    store.close();

    // Run 3: `npm start -- --no-console`.
    const third = demo([
      '--data',
      data,
      '--locks',
      '0',
      '--serial',
      '0',
      '--outage',
      '0',
      '--http',
      'off',
      '--once',
      '--no-console',
    ]);
    t.teardown(() => third.child.kill('SIGKILL'));
    const code3 = await Promise.race([
      third.exited,
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000).unref()),
    ]);
    t.equal(code3, 0, `--no-console runs:\n${third.output()}`);
    t.notMatch(third.output(), /officers' console/, 'and serves no console');
  },
);

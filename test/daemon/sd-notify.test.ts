import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import t, { type Test } from 'tap';
import { SystemdNotifier } from '../../src/daemon/sd-notify.js';
import { silentLogger } from '../../src/log.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { startTestExchange, waitFor } from '../helpers/sync-world.js';
import { makeDaemonWorld, startDaemon } from './world.js';

/**
 * sd_notify against a real NOTIFY_SOCKET: a unix datagram socket bound by a small Perl
 * receiver (perl-base is essential on Debian; Node cannot bind a datagram unix socket).
 * Perl's recv() takes no ancillary data, so the pipe systemd-notify passes with BARRIER=1
 * is closed on receipt, as the service manager does, and systemd-notify returns at once.
 */

const RECEIVER = `
use Socket;
socket(my $s, PF_UNIX, SOCK_DGRAM, 0) or die "socket: $!";
unlink $ARGV[0];
bind($s, pack_sockaddr_un($ARGV[0])) or die "bind: $!";
$| = 1;
print "listening\\n";
while (defined(recv($s, my $buf, 65536, 0))) { $buf =~ s/\\n/ /g; print "$buf\\n"; }
`;

interface Receiver {
  socket: string;
  messages: string[];
  child: ChildProcess;
}

async function notifySocket(t: Test, dir: string): Promise<Receiver> {
  const socket = path.join(dir, 'notify.sock');
  const child = spawn('perl', ['-e', RECEIVER, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const messages: string[] = [];
  let buffer = '';
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf('\n');
        if (line === 'listening') resolve();
        else if (line) messages.push(line);
      }
    });
  });
  return { socket, messages, child };
}

t.test('the notifier sends each message in order through systemd-notify', async (t) => {
  const world = makeDaemonWorld(t);
  const receiver = await notifySocket(t, world.dir);
  const notifier = new SystemdNotifier({
    log: silentLogger,
    env: { NOTIFY_SOCKET: receiver.socket, WATCHDOG_USEC: '4000000', WATCHDOG_PID: String(process.pid) },
  });
  t.equal(notifier.enabled, true);
  t.equal(notifier.watchdogMs, 4000);
  await notifier.ready('up\nand running');
  await notifier.watchdog();
  await notifier.stopping();
  await waitFor(() => receiver.messages.length >= 6, 30_000, 'the messages');
  const payloads = receiver.messages.filter((m) => m !== 'BARRIER=1');
  t.same(payloads, [
    `MAINPID=${process.pid} READY=1 STATUS=up and running`,
    `MAINPID=${process.pid} WATCHDOG=1`,
    `MAINPID=${process.pid} STOPPING=1`,
  ]);
  // The barrier returned because the receiver closed its pipe, not by its timeout: a barrier
  // that times out makes systemd-notify exit 1 ("Failed to invoke barrier"), which counts as
  // failed. (This once asserted "< 4 s for three messages", a stopwatch.)
  t.equal(notifier.sent, 3);
  t.equal(notifier.failed, 0, 'no barrier timed out');

  const other = new SystemdNotifier({
    log: silentLogger,
    env: { WATCHDOG_USEC: '1000000', WATCHDOG_PID: '1' },
  });
  t.equal(other.enabled, false, 'no NOTIFY_SOCKET: nothing to notify');
  t.equal(other.watchdogMs, undefined, "another process's watchdog is not ours");
  await other.ready();
  t.equal(other.sent, 0);

  const broken = new SystemdNotifier({
    log: silentLogger,
    env: { NOTIFY_SOCKET: path.join(world.dir, 'nobody-listens.sock') },
  });
  await broken.ready();
  t.equal(broken.failed, 1, 'a send that fails is counted and logged, never thrown');
});

t.test(
  'the daemon says READY=1 once started, WATCHDOG=1 while healthy and STOPPING=1 on SIGTERM',
  async (t) => {
    const world = makeDaemonWorld(t);
    const receiver = await notifySocket(t, world.dir);
    const broker = await startMosquitto(t);
    await startTestExchange(t, world, broker.url);
    const daemon = startDaemon(t, world.writeConfig(broker.url, { serial: { ports: [] } }), {
      NOTIFY_SOCKET: receiver.socket,
      // 1.2 s: pings every 600 ms. WATCHDOG_PID unset: it is ours.
      WATCHDOG_USEC: '1200000',
    });
    await daemon.ready();
    const pid = daemon.child.pid!;
    await waitFor(
      () => receiver.messages.filter((m) => m.includes('WATCHDOG=1')).length >= 3,
      8000,
      'three watchdog pings',
    );
    const ready = receiver.messages.find((m) => m.includes('READY=1'));
    t.match(
      ready,
      new RegExp(
        `^MAINPID=${pid} READY=1 STATUS=checkpoint gw-dostyk-1; 0 reads; backlog \\d+; (connected mqtt|exchange unreachable)`,
      ),
    );
    t.ok(
      receiver.messages.indexOf(ready!) < receiver.messages.findIndex((m) => m.includes('WATCHDOG=1')),
      'READY before the first ping',
    );
    t.same(await daemon.stop('SIGTERM'), { code: 0, signal: null });
    const stopping = receiver.messages.find((m) => m.includes('STOPPING=1'));
    t.match(stopping, `MAINPID=${pid} STOPPING=1`);
    t.ok(daemon.lines.some((l) => l.msg === 'ready' && l.watchdogMs === 1200));
  },
);

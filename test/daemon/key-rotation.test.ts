import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { connectAsync } from 'mqtt';
import t from 'tap';
import { parse, stringify } from 'yaml';
import { gatewayTopic, openEnvelope } from '../../src/exchange-wire/index.js';
import { generateKey, publicPart, TrustStore, writeKeyPair } from '../../src/keys/index.js';
import { inspectManifest } from '../../src/manifest/index.js';
import { openStore } from '../../src/store/index.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { startSerialLock } from '../helpers/serial-lock.js';
import {
  assertExactlyOnce,
  fixtureManifest,
  IDENTITY,
  startTestExchange,
  waitFor,
} from '../helpers/sync-world.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { FIXTURE_TRUST_STORE } from '../helpers/test-keys.js';
import { type DaemonProcess, makeDaemonWorld, startDaemon } from './world.js';

/**
 * Key rotation and revocation on a running daemon (docs/OPERATIONS.md): a new gateway key
 * takes over on SIGHUP without losing what is queued or awaiting a receipt; a bad key file
 * is refused; a customs signer revoked after its manifests were stored flags exactly those
 * created from the revocation on, with one alert each synced to the exchange.
 */

const OLD_KID = IDENTITY.gatewayId;
const NEW_KID = `${IDENTITY.gatewayId}.2026-11`;

/** One count from the daemon's database (read-only, beside the running daemon). */
function count(dbPath: string, sql: string): number {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).pluck().get() as number;
  } finally {
    db.close();
  }
}

/** Outbox rows not acknowledged. */
const unsettled = (dbPath: string) =>
  count(dbPath, "SELECT count(*) FROM outbox WHERE state <> 'acknowledged'");

/**
 * Outages still open or not yet reported: each becomes an outbox row when it is reported, so
 * an empty outbox is not the end while one is left (the receipts dropped before the rotation
 * leave a no-receipts outage that closes, and is reported, after the rows it waited for).
 */
const outagesToReport = (dbPath: string) =>
  count(dbPath, 'SELECT count(*) FROM outage WHERE ended_at IS NULL OR reported_at IS NULL');

function pointKeyAt(configFile: string, keyFile: string): void {
  const config = parse(readFileSync(configFile, 'utf8'));
  config.gateway.key = keyFile;
  writeFileSync(configFile, stringify(config));
}

/** The n-th log line (1-based) that matches, waiting for it. */
function nth(daemon: DaemonProcess, n: number, match: (msg: string) => boolean, what: string) {
  return daemon.waitFor(
    (l) => match(l.msg) && daemon.lines.filter((x) => match(x.msg)).indexOf(l) === n - 1,
    20_000,
    what,
  );
}

t.test(
  'gateway key rotation on SIGHUP: queued and unanswered messages go out under the new key, once each',
  async (t) => {
    const world = makeDaemonWorld(t);
    const broker = await startMosquitto(t);
    const proxy = await TcpProxy.start(broker.port);
    t.teardown(() => proxy.close());
    let dropping = true;
    const exchange = await startTestExchange(t, world, broker.url, {
      faults: { dropReceipt: () => dropping },
    });

    // What goes over the wire: every envelope's messageId and the kid it is signed with.
    const wire: { messageId: string; kid: string }[] = [];
    const observer = await connectAsync(broker.url, { clientId: 'rotation-observer' });
    t.teardown(() => observer.endAsync());
    observer.on('message', (_topic, payload) => {
      try {
        const { envelope, signed } = openEnvelope(payload);
        wire.push({ messageId: envelope.messageId, kid: signed.kid });
      } catch {
        // status and receipts are not envelopes
      }
    });
    await observer.subscribeAsync(gatewayTopic(IDENTITY, '+' as never), { qos: 1 });

    const config = world.writeConfig(proxy.url);
    const daemon = startDaemon(t, config);
    await daemon.ready();
    await daemon.msg('connected');

    const first = await startSerialLock({
      lockId: 'SSL-CN-000457',
      manifest: fixtureManifest('electronics-xian-duisburg.cose'),
    });
    t.teardown(first.close);
    world.plug('first', first.pty.gatewayPath);
    await waitFor(() => exchange.db.all().some((m) => m.kind === 'manifest'), 20_000, 'the first manifest');
    const firstId = exchange.db.all().find((m) => m.kind === 'manifest')!.messageId;
    t.equal(exchange.db.get(firstId)!.gatewayKid, OLD_KID, 'received under the old key; its receipt is lost');

    // Two bad new keys: world-readable, and a key of another role. Both refused.
    const keysDir = path.join(world.dir, 'new-keys');
    const loose = writeKeyPair(keysDir, generateKey('gateway', `${IDENTITY.gatewayId}.loose`)).privateKey;
    chmodSync(loose, 0o644);
    pointKeyAt(config, loose);
    daemon.child.kill('SIGHUP');
    const refusedMode = await daemon.msg('gateway key not reloaded: the previous key stays in force');
    t.equal(refusedMode.code, 'E_KEY_PERMISSIONS', 'a key others can read is refused');
    t.equal(refusedMode.kid, OLD_KID, 'the old key stays');
    t.notOk(JSON.stringify(daemon.lines).includes('secretKey'), 'no secret in the log');
    const signerKey = writeKeyPair(keysDir, generateKey('signer', `${IDENTITY.gatewayId}.signer`)).privateKey;
    pointKeyAt(config, signerKey);
    daemon.child.kill('SIGHUP');
    const refusedRole = await nth(
      daemon,
      2,
      (m) => m === 'gateway key not reloaded: the previous key stays in force',
      'the second refusal',
    );
    t.equal(refusedRole.code, 'E_KEY_ROLE', 'a signer key is refused');
    const refusedAt = wire.length;
    await waitFor(
      () => wire.slice(refusedAt).some((w) => w.messageId === firstId),
      20_000,
      'the unanswered message sent again',
    );
    t.same(
      wire.slice(refusedAt).map((w) => w.kid),
      wire.slice(refusedAt).map(() => OLD_KID),
      'still signed with the old key after the refusals',
    );

    // The link goes down; a second read is queued meanwhile.
    proxy.refuse();
    proxy.cut();
    await daemon.msg('connection to the broker lost');
    const second = await startSerialLock({
      lockId: 'SSL-CN-000812',
      manifest: fixtureManifest('auto-parts-chongqing-almaty.cose'),
    });
    t.teardown(second.close);
    world.plug('second', second.pty.gatewayPath);
    t.equal((await daemon.lockRead('SSL-CN-000812')).verification, 'valid');
    t.ok(unsettled(world.dbPath) >= 2, 'the first message and the second wait in the outbox');

    // The rotation: the exchange trusts both kids during the overlap, the gateway switches.
    const next = generateKey('gateway', NEW_KID, { country: 'KZ' });
    const nextFile = writeKeyPair(keysDir, next).privateKey;
    world.exchangeTrust.add(publicPart(next));
    pointKeyAt(config, nextFile);
    daemon.child.kill('SIGHUP');
    t.match(await daemon.msg(/^gateway key rotated/), { from: OLD_KID, to: NEW_KID });
    t.notOk(
      daemon.lines.some((l) => /take effect at the next restart/.test(l.msg)),
      'gateway.key is not a restart key',
    );
    const rotatedAt = wire.length;

    dropping = false;
    proxy.restore();
    await waitFor(
      () => unsettled(world.dbPath) === 0 && outagesToReport(world.dbPath) === 0,
      40_000,
      'every row acknowledged, every outage reported',
      100,
    );
    const before = new Set(wire.slice(0, rotatedAt).map((w) => w.messageId));
    const after = wire.slice(rotatedAt);
    t.ok(before.has(firstId) && before.size >= 1, 'messages went out under the old key before');
    t.same(
      after.filter((w) => w.kid !== NEW_KID),
      [],
      'everything sent after the rotation is signed with the new key',
    );
    t.same(
      [...before].filter((id) => !after.some((w) => w.messageId === id)),
      [],
      'every message whose receipt was lost under the old key was sent again under its messageId',
    );
    const atExchange = exchange.db.all();
    for (const id of before) {
      t.equal(exchange.db.get(id)!.gatewayKid, OLD_KID, 'recorded once, at its first reception');
      t.ok(exchange.db.get(id)!.duplicates >= 1, 'the resend counted as a duplicate');
    }
    const fresh = atExchange.filter((m) => !before.has(m.messageId));
    t.ok(
      fresh.some((m) => m.kind === 'manifest') && fresh.some((m) => m.kind === 'outage'),
      'the second manifest and the outage report were first sent after the rotation',
    );
    t.same(
      fresh.map((m) => m.gatewayKid),
      fresh.map(() => NEW_KID),
      'the exchange saw the new kid for what was queued',
    );
    t.same(exchange.db.rejections(), [], 'nothing rejected');

    t.same(await daemon.stop('SIGTERM'), { code: 0, signal: null });
    const store = openStore({ path: world.dbPath });
    t.teardown(() => store.close());
    assertExactlyOnce(t, store, exchange);
  },
);

t.test(
  'a signer revoked after its manifests were stored: flagged from revokedAt on, at SIGHUP and at start',
  async (t) => {
    const world = makeDaemonWorld(t);
    const broker = await startMosquitto(t);
    const proxy = await TcpProxy.start(broker.port);
    t.teardown(() => proxy.close());
    const exchange = await startTestExchange(t, world, broker.url);
    const config = world.writeConfig(proxy.url);
    let daemon = startDaemon(t, config);
    await daemon.ready();
    await daemon.msg('connected');

    // cn-customs-signer-1 signed these at 2025-03-11, 2025-04-02 and 2025-06-03.
    const fixtures = [
      ['SSL-CN-000457', 'electronics-xian-duisburg.cose'],
      ['SSL-CN-000812', 'auto-parts-chongqing-almaty.cose'],
      ['SSL-CN-001944', 'consolidated-300.cose'],
    ] as const;
    const trust = TrustStore.load(FIXTURE_TRUST_STORE);
    const ids = fixtures.map(([, name]) => inspectManifest(fixtureManifest(name), trust).manifestId);
    // Read while the exchange is out of reach: they wait in the outbox through the trust store change.
    proxy.refuse();
    proxy.cut();
    await daemon.msg('connection to the broker lost');
    for (const [lockId, name] of fixtures) {
      const lock = await startSerialLock({ lockId, manifest: fixtureManifest(name) });
      t.teardown(lock.close);
      world.plug(lockId, lock.pty.gatewayPath);
      t.equal((await daemon.lockRead(lockId, 40_000)).verification, 'valid', `${lockId} valid when read`);
    }

    // The trust store rotation: a new customs signer key, the old one revoked at 2025-04-01.
    const agentTrust = TrustStore.load(world.files.agentTrust);
    agentTrust.add(publicPart(generateKey('signer', 'cn-customs-signer-2', { country: 'CN' })));
    agentTrust.revoke('cn-customs-signer-1', Date.parse('2025-04-01T00:00:00Z'), 'key compromise');
    agentTrust.save();
    daemon.child.kill('SIGHUP');
    const checked = (m: string) => m === 'stored manifests checked against revocations';
    t.equal((await nth(daemon, 2, checked, 'the revocations applied at SIGHUP')).flagged, 2);
    t.same(
      daemon.lines.filter((l) => l.alert === 'revoked').map((l) => l.manifestId),
      [ids[1], ids[2]],
      'exactly the manifests created from revokedAt on',
    );
    t.equal(daemon.lines.filter((l) => checked(l.msg))[0]!.flagged, 0, 'none at start');

    proxy.restore();
    await waitFor(() => unsettled(world.dbPath) === 0, 40_000, 'the outbox drained', 100);
    const alertsAtExchange = () => exchange.db.all().filter((m) => m.kind === 'alert');
    t.equal(alertsAtExchange().length, 2, 'both alerts acknowledged by the exchange');

    daemon.child.kill('SIGHUP');
    t.equal((await nth(daemon, 3, checked, 'the second reload')).flagged, 0, 'a second reload flags nothing');
    await new Promise((r) => setTimeout(r, 500));
    t.equal(unsettled(world.dbPath), 0, 'and queues nothing');
    t.same(await daemon.stop('SIGTERM'), { code: 0, signal: null });

    let store = openStore({ path: world.dbPath });
    t.same(
      ids.map((id) => store.manifests.get(id)!.verification),
      ['valid', 'revoked', 'revoked'],
      'created before revokedAt: still valid',
    );
    t.equal(store.alerts.forManifest(ids[1]!).filter((a) => a.kind === 'revoked').length, 1);
    store.close();

    // Revoked earlier while the daemon is stopped: applied at start.
    agentTrust.revoke('cn-customs-signer-1', Date.parse('2025-03-01T00:00:00Z'), 'key compromise');
    agentTrust.save();
    daemon = startDaemon(t, config);
    await daemon.ready();
    t.equal((await daemon.msg('stored manifests checked against revocations')).flagged, 1, 'at start');
    await waitFor(() => alertsAtExchange().length === 3, 20_000, 'the third alert at the exchange');
    // The still plugged locks are read again by the new process: those reads must not raise
    // alerts of their own. (Waiting for them also keeps SIGTERM out of a read in progress.)
    for (const [lockId] of fixtures) {
      t.equal((await daemon.lockRead(lockId, 40_000)).verification, 'revoked', `${lockId} re-read: revoked`);
    }
    await waitFor(() => unsettled(world.dbPath) === 0, 20_000, 'the outbox drained', 100);
    t.same(await daemon.stop('SIGTERM'), { code: 0, signal: null }, 'stops cleanly', {
      errors: daemon.lines.filter((l) => l.level >= 50),
    });

    store = openStore({ path: world.dbPath });
    t.teardown(() => store.close());
    t.same(
      ids.map((id) => store.manifests.get(id)!.verification),
      ['revoked', 'revoked', 'revoked'],
    );
    // The locks stay plugged and are read again: a re-read counts occurrences, never a second alert.
    const revokedAlerts = store.db
      .prepare("SELECT manifest_id FROM alert WHERE kind = 'revoked' ORDER BY manifest_id")
      .pluck()
      .all();
    t.same(revokedAlerts, [...ids].sort(), 'one alert per manifest');
    t.equal(
      store.db.prepare("SELECT count(*) FROM outbox WHERE kind = 'alert'").pluck().get(),
      3,
      'one alert message each for the exchange',
    );
    t.equal(alertsAtExchange().length, 3);
    assertExactlyOnce(t, store, exchange);
  },
);

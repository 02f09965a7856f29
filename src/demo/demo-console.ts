import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hashPassword } from '../console/index.js';
import { loadPrivateKey, type PrivateKey } from '../keys/index.js';
import { type DemoWorld, keyFile } from './demo-world.js';

/** The demo's officer: the customs role, so the goods of the demo train can be decrypted. */
export const DEMO_OFFICER = { user: 'officer', name: 'Demo customs officer' } as const;

export interface DemoConsole {
  /** The daemon configuration's `console` section. */
  config: {
    listen: string;
    officers: { user: string; name: string; roles: ['customs']; passwordHash: string }[];
    recipientKeys: string[];
    site: string;
  };
  /** What the daemon is handed beside the configuration (the demo builds its references itself). */
  references: { recipientKeys: PrivateKey[] };
  /** The owner-only file the officer's password is kept in. */
  passwordFile: string;
  /** The lines `npm start` prints once the console listens: its URL and how to log in. */
  announce(port: number | undefined): string;
}

/**
 * The officers' console of `npm start`: on 127.0.0.1 at a free port, with one demo
 * officer of the customs role whose password is made at each start, printed once, and kept
 * owner-only (0600) under the demo's data folder; it decrypts with the demo's KZ customs
 * recipient key, so the goods of the passing train can be opened. The daemon serves it
 * over its own store and feeds its live strip from the train reader.
 */
export async function prepareDemoConsole(world: DemoWorld): Promise<DemoConsole> {
  // 18 random bytes: 24 characters, well past the console's 12-character minimum.
  const password = randomBytes(18).toString('base64url');
  const passwordFile = path.join(world.dir, 'console-officer.txt');
  writeFileSync(passwordFile, `user: ${DEMO_OFFICER.user}\npassword: ${password}\n`, { mode: 0o600 });
  chmodSync(passwordFile, 0o600); // a file left by an earlier run keeps its mode otherwise
  const recipient = world.recipients.find((r) => r.kid.startsWith('kz-'));
  const recipientKeys = recipient ? [keyFile(world.dir, recipient.kid)] : [];
  return {
    config: {
      listen: '127.0.0.1:0',
      officers: [{ ...DEMO_OFFICER, roles: ['customs'], passwordHash: await hashPassword(password) }],
      recipientKeys,
      site: 'Dostyk · KZ-DOSTYK-DEMO',
    },
    references: { recipientKeys: recipientKeys.map((file) => loadPrivateKey(file)) },
    passwordFile,
    announce: (port) =>
      port === undefined
        ? "  officers' console: not listening (see the agent log)"
        : `  officers' console: http://127.0.0.1:${port}/ — log in as "${DEMO_OFFICER.user}" with password ${password}\n` +
          `    (made for this run, kept owner-only in ${passwordFile}; the trains page shows the train live)`,
  };
}

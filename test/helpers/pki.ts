/**
 * A throw-away certification authority made with the openssl command at test time: a CA,
 * a server certificate for 127.0.0.1 / localhost, and client certificates whose CN is the
 * gateway id the broker's ACL confines.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestPki {
  dir: string;
  caFile: string;
  server: { certFile: string; keyFile: string };
  /** Issues (once) a client certificate with this CN. */
  client(cn: string): { certFile: string; keyFile: string };
  /** A certificate from another CA the broker does not trust. */
  stranger(cn: string): { certFile: string; keyFile: string };
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string): void {
  openssl(
    [
      'req',
      '-x509',
      ...EC,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
}

function issue(
  dir: string,
  ca: string,
  name: string,
  cn: string,
  ext: string,
): { certFile: string; keyFile: string } {
  writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    ],
    dir,
  );
  return { certFile: path.join(dir, `${name}.crt`), keyFile: path.join(dir, `${name}.key`) };
}

export function makeTestPki(t: { teardown(fn: () => void): void }): TestPki {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ctop-pki-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  makeCa(dir, 'ca');
  const server = issue(
    dir,
    'ca',
    'server',
    'localhost',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  const clients = new Map<string, { certFile: string; keyFile: string }>();
  let stranger = false;
  return {
    dir,
    caFile: path.join(dir, 'ca.crt'),
    server,
    client(cn) {
      let c = clients.get(cn);
      if (!c) {
        c = issue(dir, 'ca', `client-${cn}`, cn, 'extendedKeyUsage=clientAuth\n');
        clients.set(cn, c);
      }
      return c;
    },
    stranger(cn) {
      if (!stranger) makeCa(dir, 'stranger-ca');
      stranger = true;
      return issue(dir, 'stranger-ca', `stranger-${cn}`, cn, 'extendedKeyUsage=clientAuth\n');
    },
  };
}

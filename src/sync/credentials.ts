import { CtopError } from '../errors.js';
import { assertOwnerOnly, readSmallFile } from '../owner-only-file.js';

/** MQTT carries the password as binary data with a 16-bit length (MQTT 5 §3.1.3.6, 3.1.1 §3.1.3.5). */
export const MAX_PASSWORD_BYTES = 65_535;

/**
 * The broker password from its file: owner-only like a private key (E_KEY_PERMISSIONS
 * otherwise), the whole content but one trailing newline (`echo secret > file` writes one).
 * It lives in memory only as the Buffer handed to the MQTT client: never in the
 * configuration, on the command line, in an environment variable or in a log line, and no
 * error message quotes it.
 */
export function loadBrokerPassword(file: string): Buffer {
  const { bytes, mode } = readSmallFile(file, MAX_PASSWORD_BYTES + 2, 'the broker password file', {
    unreadable: (message, cause) => new CtopError('E_SYNC_CONFIG', message, { cause }),
    invalid: (message) => new CtopError('E_SYNC_CONFIG', message),
  });
  try {
    assertOwnerOnly(file, mode, 'the broker password file');
    let end = bytes.length;
    if (bytes[end - 1] === 0x0a) end--;
    if (bytes[end - 1] === 0x0d && end < bytes.length) end--;
    if (end === 0) throw new CtopError('E_SYNC_CONFIG', `the broker password file ${file} is empty`);
    if (end > MAX_PASSWORD_BYTES) {
      throw new CtopError(
        'E_SYNC_CONFIG',
        `the broker password in ${file} is longer than MQTT allows (${MAX_PASSWORD_BYTES} bytes)`,
      );
    }
    return Buffer.from(bytes.subarray(0, end));
  } finally {
    // The copy handed to the client is the only one left in memory.
    bytes.fill(0);
  }
}

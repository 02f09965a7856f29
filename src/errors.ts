/**
 * Every error the agent raises on purpose carries one of these stable codes.
 *
 * Rules (after fastify's lib/errors.js):
 * - a code is never reused for another meaning and never renamed once released;
 * - every code is documented in docs/ERRORS.md (test/errors.test.ts checks both ways);
 * - the `hint` tells an operator what to do; logs print it next to the code;
 * - the category decides the CLI exit code (EXIT_CODES below, documented in the README).
 *
 * Add codes to the section of your module; keep sections in data-flow order.
 */

export type ErrorCategory =
  | 'usage'
  | 'config'
  | 'transport'
  | 'protocol'
  | 'integrity'
  | 'manifest'
  | 'store'
  | 'sync'
  | 'security'
  | 'internal';

export interface ErrorSpec {
  readonly category: ErrorCategory;
  /** One line: what happened, used when the thrower gives no message of its own. */
  readonly summary: string;
  /** One line: what the operator should do about it. */
  readonly hint: string;
}

export const ERRORS = {
  // --- line framing (src/lock/codec/line-framer.ts) ---
  E_LINE_TOO_LONG: {
    category: 'protocol',
    summary: 'a line from the lock exceeded the maximum line length and was cut off',
    hint: 'the lock firmware is broken or hostile; report the lock id to its vendor',
  },
  E_LINE_SLOW: {
    category: 'protocol',
    summary: 'a line from the lock did not complete within the line timeout (slow-loris)',
    hint: 'check the cable or radio link; if it persists the lock firmware is broken or hostile',
  },

  // --- frame codec (src/lock/codec/frame.ts) ---
  E_FRAME_ENCODING: {
    category: 'protocol',
    summary: 'a frame line is not valid base64 after the start marker',
    hint: 'line noise or a wrong baud rate; check --baud and the cable',
  },
  E_FRAME_SHORT: {
    category: 'protocol',
    summary: 'a frame is shorter than its fixed header and CRC',
    hint: 'line noise or a truncated frame; check the link',
  },
  E_FRAME_VERSION: {
    category: 'protocol',
    summary: 'a frame carries a protocol version this agent does not speak',
    hint: 'update the agent or the lock firmware so both share a protocol version',
  },
  E_FRAME_TYPE: {
    category: 'protocol',
    summary: 'a frame carries an unknown message type',
    hint: 'the lock speaks a newer or non-conforming protocol; report the lock id to its vendor',
  },
  E_FRAME_LENGTH: {
    category: 'protocol',
    summary: 'the length field of a frame does not match the bytes that follow it',
    hint: 'a truncated frame or a hostile lock; the frame was dropped',
  },
  E_FRAME_CRC: {
    category: 'protocol',
    summary: 'a frame failed its CRC-32 check',
    hint: 'line noise; the request is retried. Persistent CRC errors mean a bad cable or wrong baud rate',
  },
  E_FRAME_BODY: {
    category: 'protocol',
    summary: 'a frame body is not valid CBOR or does not match the schema of its message type',
    hint: 'the lock firmware is non-conforming; report the lock id and the logged frame type to its vendor',
  },
  E_FRAME_REPLAY: {
    category: 'protocol',
    summary: 'the lock sent a response to a request that was already answered (replayed frame)',
    hint: 'duplicates are dropped; many of them end the session. Suspect a hostile device near the train',
  },
  E_FRAME_SEQ: {
    category: 'protocol',
    summary: 'the lock sent a response whose sequence number matches no request',
    hint: 'the lock firmware is non-conforming or the link mixes two sessions',
  },

  // --- lock session (src/lock/session.ts) ---
  E_LOCK_TIMEOUT: {
    category: 'transport',
    summary: 'the lock did not answer in time after all retries',
    hint: 'move the reader closer or check the cable; the read resumes from the last verified offset',
  },
  E_LOCK_DISCONNECTED: {
    category: 'transport',
    summary: 'the link to the lock dropped',
    hint: 'the read resumes from the last verified offset once the link is back',
  },
  E_LOCK_REFUSED: {
    category: 'protocol',
    summary: 'the lock answered a request with a protocol error code',
    hint: 'see the wire error code in the log and firmware-protocol/PROTOCOL.md §8',
  },
  E_LOCK_VERSION: {
    category: 'protocol',
    summary: 'the lock and the agent share no protocol version',
    hint: 'update the agent or the lock firmware',
  },
  E_LOCK_PROTOCOL: {
    category: 'protocol',
    summary: 'the lock violated the protocol (an answer that does not fit the request)',
    hint: 'the lock firmware is broken or hostile; report the lock id to its vendor',
  },
  E_LOCK_OVERSIZE: {
    category: 'protocol',
    summary: 'the lock declares a size above the configured limit',
    hint: 'raise the limit only if the manifest is genuine; a hostile lock can claim any size',
  },
  E_LOCK_CLONED: {
    category: 'integrity',
    summary: 'the lock failed to prove its identity key (cloned or counterfeit lock)',
    hint: 'treat the container as suspect: hold it for inspection and report the tamper alert',
  },
  E_LOCK_HASH: {
    category: 'integrity',
    summary: 'the manifest read from the lock does not match the SHA-256 the lock announced',
    hint: 'the read was repeated and still failed; treat the lock as suspect and inspect the container',
  },
  E_LOCK_TAMPER: {
    category: 'integrity',
    summary: "the lock's event log is broken, altered or records an opening",
    hint: 'treat the container as suspect: hold it for inspection; the alert is stored and reported',
  },
  E_LOCK_STATE: {
    category: 'usage',
    summary: 'a session operation was called in a state that does not allow it',
    hint: 'a programming error in the caller; report it with the log',
  },

  // --- transports (src/lock/serial-transport.ts, src/lock/ble-transport.ts) ---
  E_TRANSPORT_OPEN: {
    category: 'transport',
    summary: 'the link to the lock could not be opened',
    hint: 'check the device path, that it exists, and that the agent user may open it (group dialout)',
  },
  E_BLE_ADAPTER: {
    category: 'transport',
    summary: 'the Bluetooth adapter is not available or not powered on',
    hint: 'check the adapter (hciconfig, rfkill) and that the agent has CAP_NET_RAW and CAP_NET_ADMIN',
  },
  E_BLE_CONNECT: {
    category: 'transport',
    summary: 'a BLE connection to the lock could not be made in time',
    hint: 'the lock may have left range; it is retried while it is still advertising',
  },
  E_BLE_GATT: {
    category: 'protocol',
    summary: 'the BLE device does not offer the CTOP lock service, or did not answer GATT in time',
    hint: 'a device that advertises the lock service but does not serve it is broken or hostile',
  },
  E_LOCK_NOT_PINNED: {
    category: 'integrity',
    summary: 'no identity key is provisioned for this lock id and the read was told to require one',
    hint: 'find the lock in the vendor’s provisioning list (--pin-key or --provisioned); until then hold the container as unverified',
  },
  E_LOCK_IMPERSONATION: {
    category: 'integrity',
    summary: 'a device advertises one lock id but answers as another lock',
    hint: 'treat as an impersonation attempt near the train; the real lock is read separately',
  },
  E_TRANSPORT_CLOSED: {
    category: 'transport',
    summary: 'the transport was closed while an operation was in flight',
    hint: 'expected during shutdown; otherwise see the preceding log line for the cause',
  },

  // --- pairing (src/pairing/, the carrier side of PROTOCOL.md §12) ---
  E_PAIRING_ROUTING: {
    category: 'usage',
    summary: 'the container or wagon given does not match the routing fields of the manifest',
    hint: 'check the container and wagon numbers against the goods documents; the manifest names the consignment it belongs to',
  },
  E_PAIRING_WRONG_LOCK: {
    category: 'usage',
    summary: 'the manifest names another lock than the one on the link',
    hint: 'connect the lock whose id the manifest names, or have the manifest issued for this lock',
  },
  E_PAIRING_SEALED: {
    category: 'usage',
    summary: 'the lock is sealed for another consignment and refuses to be written',
    hint: 'unseal it first (`ctop-agent pair … --unseal <reason>`, logged in the lock) once the previous consignment is released',
  },
  E_PAIRING_CARRIER_AUTH: {
    category: 'security',
    summary:
      'the lock refused the carrier key (not provisioned in it, bad signature, or too many failures this hour)',
    hint: 'use a carrier key provisioned in this lock; after 5 failures the lock refuses every key for up to an hour',
  },
  E_PAIRING_WRITE: {
    category: 'protocol',
    summary: 'the lock does not stage the bytes written to it',
    hint: 'the lock firmware is broken; report the lock id to its vendor and use another lock',
  },
  E_PAIRING_COMMIT: {
    category: 'integrity',
    summary: 'the lock refused COMMIT twice: the bytes it staged do not hash to the manifest written',
    hint: 'the link or the lock corrupts data; retry on another cable or radio, else replace the lock',
  },
  E_PAIRING_VERIFY: {
    category: 'integrity',
    summary: 'reading the lock back after sealing did not show the manifest, commit and seal just written',
    hint: 'do not dispatch the container: read the lock again (`ctop-agent read`) and inspect it',
  },

  // --- manifest (src/manifest/, src/cbor/; firmware-protocol/MANIFEST.md) ---
  E_MANIFEST_TOO_LARGE: {
    category: 'manifest',
    summary: 'a manifest or goods file is larger than the configured maximum',
    hint: 'a genuine manifest is far smaller; raise the limit only for a manifest you trust',
  },
  E_MANIFEST_LIMIT: {
    category: 'manifest',
    summary: 'a manifest exceeds a structural limit (goods lines, nesting depth, string length, recipients)',
    hint: 'split the consignment or shorten the field named in the message; see MANIFEST.md §7',
  },
  E_MANIFEST_MALFORMED: {
    category: 'manifest',
    summary: 'the manifest is not well-formed CBOR/COSE or does not have the structure of MANIFEST.md',
    hint: 'the bytes were damaged or produced by a non-conforming issuer; they are kept as evidence',
  },
  E_MANIFEST_NOT_CANONICAL: {
    category: 'manifest',
    summary: 'the manifest CBOR is not deterministic (RFC 8949 §4.2)',
    hint: 'the issuer must encode shortest-form, definite-length, sorted-key CBOR; see MANIFEST.md §2',
  },
  E_MANIFEST_SCHEMA: {
    category: 'manifest',
    summary: 'a manifest field is missing, of the wrong type, or has an invalid value',
    hint: 'correct the field named in the message (path and line); MANIFEST.md §3 lists every field',
  },
  E_MANIFEST_INPUT: {
    category: 'manifest',
    summary: 'the goods file is not valid JSON or CSV',
    hint: 'fix the syntax at the line given; MANIFEST.md §8 describes both input formats',
  },
  E_MANIFEST_EXCLUDED: {
    category: 'manifest',
    summary: 'goods for personal use or international postal items are not exchanged under the CTOP Protocol',
    hint: 'CTOP Protocol Art. 2 excludes them: declare them through the personal-use or postal procedure',
  },
  E_MANIFEST_CONTAINER: {
    category: 'manifest',
    summary: 'the container number is not a valid ISO 6346 number (format or check digit)',
    hint: 'copy the number from the container door: 4 letters, 6 digits, check digit',
  },
  E_MANIFEST_WAGON: {
    category: 'manifest',
    summary: 'the 8-digit 1520-gauge wagon number fails its check digit',
    hint: 'copy the number from the wagon side; the last digit is the check digit',
  },
  E_MANIFEST_KZ_BIN: {
    category: 'manifest',
    summary: 'the Kazakhstan BIN/IIN is not 12 digits or fails its checksum',
    hint: 'take the BIN/IIN from the registration certificate of the party',
  },
  E_MANIFEST_CN_USCC: {
    category: 'manifest',
    summary: 'the China unified social credit code is not 18 characters or fails its check character',
    hint: 'take the 18-character code from the business licence (统一社会信用代码)',
  },
  E_MANIFEST_RU_INN: {
    category: 'manifest',
    summary: 'the Russian INN is not 10 or 12 digits or fails its check digits',
    hint: 'take the INN from the registration documents of the party',
  },
  E_MANIFEST_HS_CODE: {
    category: 'manifest',
    summary: 'the commodity code is not a 10-digit EAEU CN FEA / HS code',
    hint: 'give all 10 digits of the commodity code from the declaration',
  },
  E_MANIFEST_COUNTRY: {
    category: 'manifest',
    summary: 'not an ISO 3166-1 alpha-2 country code',
    hint: 'use two capital letters such as KZ, CN, RU, DE',
  },
  E_MANIFEST_CURRENCY: {
    category: 'manifest',
    summary: 'not an active ISO 4217 currency code, or more decimals than the currency has',
    hint: 'use a current three-letter code such as KZT, CNY, USD, EUR with at most its minor-unit digits',
  },
  E_MANIFEST_UNIT: {
    category: 'manifest',
    summary: 'not a UN/ECE Recommendation 20 unit code',
    hint: 'use the common code such as KGM (kilogram), TNE (tonne), H87 (piece), LTR (litre)',
  },
  E_MANIFEST_DECLARATION: {
    category: 'manifest',
    summary: 'the declaration number is neither EAEU (office/ddmmyy/number) nor an 18-digit China number',
    hint: 'copy the registration number from the goods declaration, e.g. 55201/150325/0001234',
  },
  E_MANIFEST_DECIMAL: {
    category: 'manifest',
    summary: 'a quantity, weight or value is not a plain decimal number within its precision',
    hint: 'write digits with an optional point, e.g. 1250.5; no signs, exponents or thousands separators',
  },
  E_MANIFEST_DATE: {
    category: 'manifest',
    summary: 'a date or time is not valid',
    hint: 'dates are YYYY-MM-DD; times are ISO 8601 with a zone, e.g. 2025-03-14T08:30:00Z',
  },
  E_MANIFEST_UNKNOWN_SIGNER: {
    category: 'manifest',
    summary: 'the manifest is signed with a key that is not a trusted signer key',
    hint: 'treat the data as unverified: keep it as evidence, hold the container, check the trust store',
  },
  E_MANIFEST_BAD_SIGNATURE: {
    category: 'integrity',
    summary: 'the manifest signature does not verify: the bytes were altered after signing',
    hint: 'tamper alert: keep the bytes as evidence and inspect the container',
  },
  E_MANIFEST_EXPIRED: {
    category: 'manifest',
    summary: 'the manifest was created outside the validity window of its signer key',
    hint: 'the issuer used an expired or not yet valid key; ask the issuing customs office to re-issue',
  },
  E_MANIFEST_REVOKED: {
    category: 'manifest',
    summary: 'the manifest was signed by a key revoked before the manifest was created',
    hint: 'treat as forged: keep as evidence and report; the revocation reason is in the trust store',
  },
  E_MANIFEST_NOT_ENCRYPTED: {
    category: 'usage',
    summary: 'only a manifest whose goods body is encrypted can be signed',
    hint: 'run `ctop-agent manifest encrypt --to <kid>` on the draft first',
  },
  E_MANIFEST_NOT_RECIPIENT: {
    category: 'security',
    summary: 'the manifest is not encrypted for this key',
    hint: 'use the customs recipient key whose kid the manifest lists (`manifest show` prints them)',
  },
  E_MANIFEST_DECRYPT: {
    category: 'integrity',
    summary: 'the goods body or its wrapped content key does not decrypt',
    hint: 'the key does not match its kid or the ciphertext is damaged; keep the bytes as evidence',
  },
  E_MANIFEST_RECIPIENT: {
    category: 'config',
    summary: 'a recipient kid is not a customs recipient key in the trust store',
    hint: 'add the recipient public key with `ctop-agent keys trust add`, or check the kid',
  },

  // --- keys and trust store (src/keys/) ---
  E_KEY_PERMISSIONS: {
    category: 'security',
    summary: 'a private key or broker password file is accessible by group or others',
    hint: 'run the chmod printed in the message (chmod 600 <file>); the key or password may have been exposed',
  },
  E_KEY_FORMAT: {
    category: 'config',
    summary: 'a key file is not a valid ctop-agent key file',
    hint: 'generate keys with `ctop-agent keys gen`; the format is in MANIFEST.md §6',
  },
  E_KEY_EXISTS: {
    category: 'usage',
    summary: 'a key file with that kid already exists',
    hint: 'choose another --kid or pass --force to replace it (the old key is lost)',
  },
  E_KEY_ROLE: {
    category: 'usage',
    summary: 'the key has the wrong role or algorithm for this operation',
    hint: 'sign with a signer key, decrypt with a recipient key (see `ctop-agent keys show <file>`)',
  },
  E_TRUST_STORE: {
    category: 'config',
    summary: 'the trust store file is not valid',
    hint: 'fix the entry named in the message; the previous trust store stays in force until then',
  },

  // --- store (src/store/) ---
  E_STORE_OPEN: {
    category: 'store',
    summary: 'the database file cannot be opened or created',
    hint: 'check the --db path, that its directory exists and belongs to the agent user',
  },
  E_STORE_PERMISSIONS: {
    category: 'security',
    summary: 'the database file or its -wal/-shm file is accessible by group or others',
    hint: 'run the chmod printed in the message; the customs data may have been exposed (CTOP Art. 6)',
  },
  E_STORE_CORRUPT: {
    category: 'store',
    summary: 'the database failed its integrity check or is not a SQLite database',
    hint: 'stop the agent, keep the file as evidence, restore the last backup or run `sqlite3 <db> .recover`',
  },
  E_STORE_VERSION: {
    category: 'store',
    summary: 'the database was written by a newer agent version (schema version above this one)',
    hint: 'run the newer agent; never downgrade an agent over its database',
  },
  E_STORE_MIGRATION: {
    category: 'store',
    summary: 'a schema migration failed; the database stays at its previous version',
    hint: 'a bug or a damaged database: keep the file and report the log lines around the error',
  },
  E_STORE_FULL: {
    category: 'store',
    summary: 'the disk or the database is full: new lock reads are not stored',
    hint: 'free disk space (or raise the limit); ingest resumes by itself, stored data and sync are unaffected',
  },
  E_STORE_BUSY: {
    category: 'store',
    summary: 'the database stayed locked by another process beyond the busy timeout',
    hint: 'another agent or a long query holds the database; stop it or raise the busy timeout',
  },
  E_STORE_IO: {
    category: 'store',
    summary: 'the database reported an I/O or unexpected SQLite error',
    hint: 'check the disk (dmesg, SMART); the last transaction was rolled back',
  },
  E_STORE_INPUT: {
    category: 'internal',
    summary: 'a module handed the store a record that breaks the store interface',
    hint: 'a bug in the caller: report it with the log lines around it',
  },
  E_STORE_PROTECTED: {
    category: 'internal',
    summary: 'something tried to delete or purge data the exchange has not acknowledged',
    hint: 'refused by the database itself; a bug: report it with the log lines around it',
  },
  E_STORE_OUTBOX_STATE: {
    category: 'internal',
    summary: 'an outbox row is not in a state that allows this transition',
    hint: 'a bug in the sync or a receipt for a row that was already settled; see the row id in the log',
  },
  E_STORE_PIN_CONFLICT: {
    category: 'integrity',
    summary: 'a provisioned identity key differs from the key already pinned for that lock',
    hint: 'check the provisioning list against the lock vendor; a lock is re-keyed only by its vendor',
  },
  E_STORE_NOT_FOUND: {
    category: 'usage',
    summary: 'no stored manifest, lock or row matches',
    hint: 'list what is stored with `ctop-agent manifests list` or `ctop-agent locks list`',
  },
  E_STORE_IN_USE: {
    category: 'store',
    summary: 'the database is open in another process (the daemon or a ctop-agent command)',
    hint: 'stop the agent first (systemctl stop ctop-agent), then run the command again',
  },
  E_BACKUP_VERIFY: {
    category: 'store',
    summary: 'the copy made by a backup or restore failed its integrity check; nothing was replaced',
    hint: 'check the disk of the destination (dmesg, free space) and run the command again',
  },
  E_RESTORE_EXISTS: {
    category: 'usage',
    summary: 'a database already exists where the restore would write it',
    hint: 'add --force to replace it (it is kept beside it), or restore into another --db',
  },
  E_BUNDLE_FORMAT: {
    category: 'integrity',
    summary: 'the export bundle is not a valid ctop-agent bundle or its contents do not match their hashes',
    hint: 'the file was damaged in transfer: export it again on the sending gateway',
  },
  E_BUNDLE_SIGNATURE: {
    category: 'integrity',
    summary: 'the export bundle signature does not verify or its signer is not a trusted gateway key',
    hint: 'do not import it; check --trust/--signer names the sending gateway key, else treat as forged',
  },

  // --- sync (src/sync/: the agent's side of the exchange; firmware-protocol/EXCHANGE.md) ---
  E_SYNC_CONFIG: {
    category: 'config',
    summary:
      'the sync configuration is invalid (brokers, addresses, timeouts, TLS files or the broker password file)',
    hint: 'fix the setting named in the message; EXCHANGE.md §2 lists the addressing rules',
  },
  E_SYNC_MALFORMED: {
    category: 'sync',
    summary: 'a message on an exchange topic is not a well-formed ctop message of the expected kind',
    hint: 'it was ignored and logged; the other side speaks another EXCHANGE.md version or the message is forged',
  },
  E_SYNC_SIGNATURE: {
    category: 'security',
    summary:
      'a message is not signed by a trusted key of the expected role (unknown, bad, expired or revoked)',
    hint: 'it was ignored, never acknowledged; add the exchange key to the trust store or treat it as forged',
  },
  E_SYNC_RECEIPT_MISMATCH: {
    category: 'integrity',
    summary:
      'a validly signed receipt names a message this gateway did not send, another gateway or other content',
    hint: 'it was ignored; check that the exchange and this gateway agree on the gateway address, then tell the exchange operator',
  },
  E_SYNC_ENVELOPE: {
    category: 'internal',
    summary: 'an outbox row cannot be put into an envelope (payload purged or routing unusable)',
    hint: 'a bug or a damaged row: report it with the outbox id from the log',
  },
  E_SYNC_OFFLINE: {
    category: 'sync',
    summary: 'no working connection to a broker: the request was not sent',
    hint: 'wait for the connection to come back (`ctop-agent outages list` shows the current outage) and retry',
  },
  E_SYNC_QUERY_TIMEOUT: {
    category: 'sync',
    summary: 'the exchange did not answer a query in time',
    hint: 'the exchange may be down or slow; retry later',
  },
  E_SYNC_QUERY_REFUSED: {
    category: 'sync',
    summary: 'the exchange refused a query',
    hint: 'read the reason in the message; fix the query (document id, period) and ask again',
  },

  // --- reference exchange (src/reference-exchange/, scripts/exchange.ts) ---
  E_EXCHANGE_CONFIG: {
    category: 'config',
    summary: 'the reference exchange configuration is invalid',
    hint: 'fix the option named in the message (broker URL, database path, exchange key, trust store)',
  },
  E_EXCHANGE_DB: {
    category: 'store',
    summary: 'the exchange database cannot be opened or written',
    hint: 'check the --db path and the disk; the broker keeps undelivered messages for the exchange session',
  },

  // --- conformance kits (src/conformance/: `ctop-agent conformance lock|exchange`, one report format) ---
  E_CONFORMANCE_LOCK: {
    category: 'protocol',
    summary: 'the lock under test fails at least one MUST requirement of PROTOCOL.md §16',
    hint: 'the table names each failed requirement with its evidence; fix the firmware and run the kit again (docs/CONFORMANCE.md)',
  },
  E_CONFORMANCE_EXCHANGE: {
    category: 'protocol',
    summary: 'the exchange under test fails at least one MUST requirement of EXCHANGE.md',
    hint: 'each FAIL row of the table (or the --report JSON) names the section and what was seen; fix the exchange and run the kit again (docs/CONFORMANCE.md)',
  },

  // --- ble-sim (src/sim/ble/: the simulated radio beneath noble) ---
  E_BLESIM_PORT: {
    category: 'transport',
    summary: 'the simulated HCI controller could not open its end of the serial line',
    hint: 'check that socat made the pty pair and that the path still exists',
  },
  E_BLESIM_VALUE_SIZE: {
    category: 'internal',
    summary: 'a simulated peripheral tried to notify a value larger than ATT MTU - 3',
    hint: 'a bug in the simulated peripheral app: split values to connection.maxNotifyLength',
  },

  // --- console (src/console/: the officers' local web page; docs/CONSOLE.md) ---
  E_CONSOLE_CONFIG: {
    category: 'config',
    summary:
      'the console configuration is invalid (officer accounts, password hashes, recipient keys, options)',
    hint: 'fix the entry named in the message; make password hashes with `ctop-agent console hash-password`',
  },
  E_CONSOLE_PASSWORD: {
    category: 'usage',
    summary: 'the password given to hash is empty, too short, or the two entries differ',
    hint: 'type a passphrase of at least 12 characters, the same twice',
  },

  // --- config (src/config/: the daemon's YAML file and CTOP_* environment overrides) ---
  E_CONFIG_FILE: {
    category: 'config',
    summary: 'the configuration file cannot be read',
    hint: 'check the path given to --config and that the agent user may read it',
  },
  E_CONFIG_SYNTAX: {
    category: 'config',
    summary: 'the configuration file is not valid YAML',
    hint: 'fix the line named in the message; `ctop-agent config check <file>` checks it without starting',
  },
  E_CONFIG_INVALID: {
    category: 'config',
    summary: 'the configuration has keys with wrong, missing or unknown values',
    hint: 'each problem names the line (or CTOP_* variable), the key, the value and what was expected; see systemd/config.example.yaml',
  },
  E_CONFIG_REFERENCE: {
    category: 'config',
    summary: 'a file the configuration names (key, trust store, TLS file, lock list) cannot be used',
    hint: 'check that the file exists, is readable by the agent user, and keys are mode 0600',
  },

  // --- daemon (src/daemon/: the long-running agent, health and metrics, systemd) ---
  E_DAEMON_LISTEN: {
    category: 'config',
    summary: 'the health/metrics or console listener could not bind its address',
    hint: 'another process uses the port, or the address is not local; change http.listen or console.listen',
  },
  E_DAEMON_STATE: {
    category: 'internal',
    summary: 'a daemon operation was called in a state that does not allow it',
    hint: 'a programming error in the caller; report it with the log',
  },

  // --- command line (src/cli/) ---
  E_USAGE: {
    category: 'usage',
    summary: 'the command line is incomplete or contradictory',
    hint: 'run the command with --help',
  },
  E_FILE: {
    category: 'usage',
    summary: 'a file named on the command line cannot be read or written',
    hint: 'check the path and its permissions',
  },
  E_INTERNAL: {
    category: 'internal',
    summary: 'an unexpected internal error',
    hint: 'a bug: report it with the log lines around it',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** Exit codes of the CLI by error category; documented in the README. */
export const EXIT_CODES: Readonly<Record<ErrorCategory, number>> = {
  internal: 1,
  usage: 2,
  config: 3,
  transport: 4,
  protocol: 5,
  integrity: 6,
  manifest: 7,
  store: 8,
  sync: 9,
  security: 10,
};

export interface CtopErrorOptions {
  cause?: unknown;
  /** Structured fields for the log line; never secrets or manifest bodies. */
  details?: Record<string, unknown>;
}

export class CtopError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message?: string, options: CtopErrorOptions = {}) {
    super(
      message ?? ERRORS[code].summary,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'CtopError';
    this.code = code;
    this.details = options.details ?? {};
  }

  get category(): ErrorCategory {
    return ERRORS[this.code].category;
  }

  get hint(): string {
    return ERRORS[this.code].hint;
  }

  get exitCode(): number {
    return EXIT_CODES[this.category];
  }

  /** Fields for a structured log line: `log.warn(err.toLog(), err.message)`. */
  toLog(): Record<string, unknown> {
    return { code: this.code, hint: this.hint, ...this.details };
  }
}

export function isCtopError(err: unknown, code?: ErrorCode): err is CtopError {
  return err instanceof CtopError && (code === undefined || err.code === code);
}

/** Wraps anything thrown into a CtopError so callers handle one type. */
export function toCtopError(err: unknown, fallback: ErrorCode = 'E_INTERNAL'): CtopError {
  if (err instanceof CtopError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CtopError(fallback, message, { cause: err });
}

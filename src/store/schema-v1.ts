/**
 * Schema version 1. Times are integer milliseconds since the epoch unless a column says
 * otherwise; hashes and keys are raw bytes; JSON only for routing fields the sync reads
 * back whole. STRICT tables so a wrong type is an error, not a silent conversion.
 *
 * The triggers at the end are the last line of "nothing unacknowledged is ever deleted":
 * whatever code path (retention, a future bug, an operator with sqlite3) tries it, the
 * database itself refuses with a message starting E_STORE_PROTECTED.
 */
export const SCHEMA_V1 = `
CREATE TABLE lock (
  lock_id        TEXT PRIMARY KEY,
  -- Ed25519 identity key; NULL until pinned (provisioned, trust on first use, or imported)
  identity_key   BLOB CHECK (identity_key IS NULL OR length(identity_key) = 32),
  pinned_by      TEXT CHECK (pinned_by IN ('provisioned', 'tofu', 'imported')),
  pinned_at      INTEGER,
  first_seen_at  INTEGER,
  -- the fields below come from trusted reads only
  last_seen_at   INTEGER,
  last_read_id   INTEGER REFERENCES lock_read (read_id) ON DELETE SET NULL,
  firmware       TEXT,
  battery        INTEGER,
  seal_state     INTEGER,
  event_count    INTEGER,
  event_head     BLOB,
  manifest_id    TEXT REFERENCES manifest (manifest_id) ON DELETE SET NULL,
  CHECK ((identity_key IS NULL) = (pinned_by IS NULL))
) STRICT;

CREATE TABLE manifest (
  manifest_id         TEXT PRIMARY KEY CHECK (length(manifest_id) = 64),
  size                INTEGER NOT NULL,
  received_at         INTEGER NOT NULL,
  -- the lock it was first read from (not necessarily the one its routing names)
  lock_id             TEXT REFERENCES lock (lock_id),
  verification        TEXT NOT NULL CHECK (verification IN
                        ('valid', 'unknown_signer', 'bad_signature', 'expired', 'revoked', 'malformed', 'unverified')),
  verification_detail TEXT,
  verified_at         INTEGER,
  signer_kid          TEXT,
  routing_lock_id     TEXT,
  container           TEXT,
  wagon               TEXT,
  train               TEXT,
  departure           TEXT,
  destination         TEXT,
  departure_country   TEXT,
  destination_country TEXT,
  created_at          INTEGER,
  -- set when the exchange acknowledged it: from then on retention may purge the bytes
  synced_at           INTEGER,
  payload_purged_at   INTEGER
) STRICT;
CREATE INDEX manifest_received ON manifest (received_at);
CREATE INDEX manifest_container ON manifest (container, received_at);
CREATE INDEX manifest_wagon ON manifest (wagon, received_at);
CREATE INDEX manifest_train ON manifest (train, received_at);

-- The bytes apart from the indexed fields, so listing 100,000 manifests never touches them.
CREATE TABLE manifest_payload (
  manifest_id TEXT PRIMARY KEY REFERENCES manifest (manifest_id),
  bytes       BLOB NOT NULL
) STRICT;

CREATE TABLE lock_read (
  read_id         INTEGER PRIMARY KEY,
  read_uid        TEXT NOT NULL UNIQUE,
  gateway_id      TEXT NOT NULL,
  transport       TEXT NOT NULL CHECK (transport IN ('serial', 'ble', 'unknown')),
  endpoint        TEXT NOT NULL,
  started_at      INTEGER NOT NULL,
  finished_at     INTEGER NOT NULL,
  outcome         TEXT NOT NULL CHECK (outcome IN ('complete', 'failed')),
  error_code      TEXT,
  error_message   TEXT,
  lock_id         TEXT REFERENCES lock (lock_id),
  presented_key   BLOB,
  authenticated   INTEGER NOT NULL CHECK (authenticated IN (0, 1)),
  trust           TEXT NOT NULL CHECK (trust IN ('trusted', 'clone', 'unknown_lock', 'unauthenticated', 'no_lock')),
  firmware        TEXT,
  battery         INTEGER,
  seal_state      INTEGER,
  manifest_size   INTEGER,
  manifest_sha256 BLOB,
  event_count     INTEGER,
  event_head      BLOB,
  manifest_id     TEXT REFERENCES manifest (manifest_id) ON DELETE SET NULL,
  events_read     INTEGER NOT NULL,
  events_new      INTEGER NOT NULL,
  -- events of an untrusted read, deterministic CBOR: kept as evidence, never merged into lock_event
  evidence        BLOB,
  stats           TEXT NOT NULL,
  ingested_at     INTEGER NOT NULL,
  -- set for reads that arrived in an export bundle
  import_id       INTEGER REFERENCES bundle_import (import_id)
) STRICT;
CREATE INDEX lock_read_lock ON lock_read (lock_id, started_at);
CREATE INDEX lock_read_manifest ON lock_read (manifest_id);
CREATE INDEX lock_read_ingested ON lock_read (ingested_at);

-- Only events of trusted reads: the chain a genuine lock signed.
CREATE TABLE lock_event (
  lock_id    TEXT NOT NULL REFERENCES lock (lock_id),
  counter    INTEGER NOT NULL,
  time       INTEGER NOT NULL,
  kind       INTEGER NOT NULL,
  detail     BLOB NOT NULL,
  prev       BLOB NOT NULL,
  sig        BLOB NOT NULL,
  hash       BLOB NOT NULL,
  read_id    INTEGER REFERENCES lock_read (read_id) ON DELETE SET NULL,
  stored_at  INTEGER NOT NULL,
  PRIMARY KEY (lock_id, counter)
) STRICT, WITHOUT ROWID;
CREATE INDEX lock_event_stored ON lock_event (stored_at);

CREATE TABLE alert (
  alert_id      INTEGER PRIMARY KEY,
  -- SHA-256 hex of kind, lock, manifest and subject: one alert per incident, however often re-read
  fingerprint   TEXT NOT NULL UNIQUE,
  kind          TEXT NOT NULL,
  lock_id       TEXT REFERENCES lock (lock_id),
  manifest_id   TEXT REFERENCES manifest (manifest_id) ON DELETE SET NULL,
  subject       TEXT NOT NULL,
  detail        TEXT NOT NULL,
  evidence      BLOB,
  first_read_id INTEGER REFERENCES lock_read (read_id) ON DELETE SET NULL,
  last_read_id  INTEGER REFERENCES lock_read (read_id) ON DELETE SET NULL,
  raised_at     INTEGER NOT NULL,
  last_seen_at  INTEGER NOT NULL,
  occurrences   INTEGER NOT NULL DEFAULT 1
) STRICT;
CREATE INDEX alert_lock ON alert (lock_id);
CREATE INDEX alert_manifest ON alert (manifest_id);
CREATE INDEX alert_raised ON alert (raised_at);

CREATE TABLE outbox (
  outbox_id         INTEGER PRIMARY KEY,
  kind              TEXT NOT NULL CHECK (kind IN ('manifest', 'lock_events', 'alert', 'outage', 'pairing')),
  state             TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'in_flight', 'acknowledged', 'rejected')),
  -- manifest rows point at the manifest: its bytes are stored once, in manifest_payload
  manifest_id       TEXT REFERENCES manifest (manifest_id),
  payload           BLOB,
  payload_sha256    BLOB NOT NULL,
  payload_size      INTEGER NOT NULL,
  routing           TEXT NOT NULL DEFAULT '{}',
  message_id        TEXT UNIQUE,
  attempts          INTEGER NOT NULL DEFAULT 0,
  next_attempt_at   INTEGER NOT NULL,
  last_error        TEXT,
  created_at        INTEGER NOT NULL,
  claimed_at        INTEGER,
  receipt           BLOB,
  receipt_status    TEXT CHECK (receipt_status IN ('accepted', 'rejected')),
  receipt_reason    TEXT,
  receipt_at        INTEGER,
  payload_purged_at INTEGER,
  CHECK ((kind = 'manifest') = (manifest_id IS NOT NULL)),
  CHECK (kind = 'manifest' OR payload IS NOT NULL OR payload_purged_at IS NOT NULL)
) STRICT;
-- claimDue: due rows in order without sorting the whole queue (a backlog can be 100,000 rows)
CREATE INDEX outbox_due ON outbox (state, next_attempt_at, outbox_id);
CREATE INDEX outbox_state ON outbox (state, created_at);
CREATE INDEX outbox_manifest ON outbox (manifest_id) WHERE manifest_id IS NOT NULL;
CREATE INDEX outbox_receipt_at ON outbox (receipt_at) WHERE state = 'acknowledged';

CREATE TABLE read_checkpoint (
  lock_id         TEXT PRIMARY KEY,
  manifest_sha256 BLOB NOT NULL CHECK (length(manifest_sha256) = 32),
  size            INTEGER NOT NULL,
  prefix          BLOB NOT NULL,
  saved_at        INTEGER NOT NULL
) STRICT;

-- Exchange outages (traceability agreement Art. 11: the authorities are told afterwards).
CREATE TABLE outage (
  outage_id   INTEGER PRIMARY KEY,
  started_at  INTEGER NOT NULL,
  ended_at    INTEGER,
  cause       TEXT NOT NULL,
  detail      TEXT,
  reported_at INTEGER,
  CHECK (ended_at IS NULL OR ended_at >= started_at),
  CHECK (reported_at IS NULL OR ended_at IS NOT NULL)
) STRICT;
CREATE UNIQUE INDEX outage_one_open ON outage ((1)) WHERE ended_at IS NULL;

-- Per UTC day figures for the periodic evaluation of the exchange (CTOP Protocol Art. 5).
CREATE TABLE exchange_day (
  day                TEXT PRIMARY KEY CHECK (length(day) = 10),
  messages_sent      INTEGER NOT NULL DEFAULT 0,
  receipts_accepted  INTEGER NOT NULL DEFAULT 0,
  receipts_rejected  INTEGER NOT NULL DEFAULT 0,
  resends            INTEGER NOT NULL DEFAULT 0,
  outage_seconds     INTEGER NOT NULL DEFAULT 0,
  bytes_sent         INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE bundle_import (
  import_id     INTEGER PRIMARY KEY,
  bundle_sha256 BLOB NOT NULL UNIQUE,
  gateway_id    TEXT NOT NULL,
  signer_kid    TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  imported_at   INTEGER NOT NULL,
  counts        TEXT NOT NULL
) STRICT;

CREATE TRIGGER outbox_keep_unacknowledged BEFORE DELETE ON outbox
WHEN OLD.state <> 'acknowledged'
BEGIN SELECT RAISE(ABORT, 'E_STORE_PROTECTED: outbox row not acknowledged'); END;

CREATE TRIGGER outbox_keep_unacknowledged_payload BEFORE UPDATE OF payload ON outbox
WHEN NEW.payload IS NULL AND OLD.payload IS NOT NULL AND OLD.state <> 'acknowledged'
BEGIN SELECT RAISE(ABORT, 'E_STORE_PROTECTED: payload of an unacknowledged outbox row'); END;

CREATE TRIGGER outbox_acknowledged_is_final BEFORE UPDATE OF state ON outbox
WHEN OLD.state = 'acknowledged' AND NEW.state <> 'acknowledged'
BEGIN SELECT RAISE(ABORT, 'E_STORE_PROTECTED: an acknowledged outbox row stays acknowledged'); END;

CREATE TRIGGER manifest_payload_keep_unsynced BEFORE DELETE ON manifest_payload
WHEN (SELECT synced_at FROM manifest WHERE manifest_id = OLD.manifest_id) IS NULL
  OR EXISTS (SELECT 1 FROM outbox WHERE manifest_id = OLD.manifest_id AND state <> 'acknowledged')
BEGIN SELECT RAISE(ABORT, 'E_STORE_PROTECTED: manifest bytes not acknowledged by the exchange'); END;

CREATE TRIGGER manifest_payload_immutable BEFORE UPDATE ON manifest_payload
BEGIN SELECT RAISE(ABORT, 'E_STORE_PROTECTED: manifest bytes are stored exactly as received'); END;

CREATE TRIGGER manifest_keep_unsynced BEFORE DELETE ON manifest
WHEN OLD.synced_at IS NULL
  OR EXISTS (SELECT 1 FROM outbox WHERE manifest_id = OLD.manifest_id AND state <> 'acknowledged')
BEGIN SELECT RAISE(ABORT, 'E_STORE_PROTECTED: manifest not acknowledged by the exchange'); END;

CREATE TRIGGER outage_keep_unreported BEFORE DELETE ON outage
WHEN OLD.reported_at IS NULL
BEGIN SELECT RAISE(ABORT, 'E_STORE_PROTECTED: outage not reported'); END;
`;

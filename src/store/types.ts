/**
 * What the layers around the store hand it. The store knows nothing of BLE, serial, frames
 * or MQTT: the lock reader's result and the manifest module's inspection arrive as plain
 * data in these shapes (the adapters live with their producers).
 */

export type Transport = 'serial' | 'ble';

/** The lock as it described itself in HELLO/INFO during one read. */
export interface LockDescription {
  lockId: string;
  /** Ed25519 public identity key the lock presented (32 bytes). */
  identityKey: Uint8Array;
  firmware: string;
  battery: number;
  sealState: number;
  manifestSize: number;
  manifestSha256: Uint8Array;
  eventCount: number;
  eventHead: Uint8Array;
}

/** One entry of a lock's hash-chained event log, as read. */
export interface LockEventRecord {
  counter: number;
  /** Lock clock, Unix seconds. */
  time: number;
  kind: number;
  detail: Uint8Array;
  prev: Uint8Array;
  sig: Uint8Array;
  hash: Uint8Array;
}

export interface ChainProblemRecord {
  kind: string;
  counter: number;
  detail: string;
}

/** One attempt to read one lock, complete or not. */
export interface LockReadRecord {
  gatewayId: string;
  /** 'unknown' when the read failed before a link was opened. */
  transport: Transport | 'unknown';
  /** tty path or BLE address. */
  endpoint: string;
  /** ms since the epoch. */
  startedAt: number;
  finishedAt: number;
  outcome: 'complete' | 'failed';
  error?: { code: string; message: string };
  lock?: LockDescription;
  /** The lock proved possession of `lock.identityKey` (AUTH) in this read. */
  authenticated: boolean;
  /** Exactly the bytes read; SHA-256 already checked end to end. */
  manifest?: Uint8Array;
  events: LockEventRecord[];
  /** From verifyEventChain: continuity and signature problems of `events`. */
  chainProblems: ChainProblemRecord[];
  stats: { bytesRead: number; frames: number; retries: number; resumes: number; crcErrors: number };
}

export type VerificationStatus =
  | 'valid'
  | 'unknown_signer'
  | 'bad_signature'
  | 'expired'
  | 'revoked'
  | 'malformed';

/** What the store records when no inspection was handed over: never valid. */
export type StoredVerification = VerificationStatus | 'unverified';

export const VERIFICATION_STATUSES: readonly StoredVerification[] = [
  'valid',
  'unknown_signer',
  'bad_signature',
  'expired',
  'revoked',
  'malformed',
  'unverified',
];

/** The clear routing fields of a manifest (inside its signed structure). */
export interface ManifestRouting {
  lockId: string;
  container: string;
  wagon: string;
  train?: string;
  departure: string;
  destination: string;
  /** ms since the epoch. */
  createdAt: number;
  signerKid: string;
  departureCountry?: string;
  destinationCountry?: string;
}

/** Produced by src/manifest inspectManifest(); the store treats it as data. */
export interface ManifestInspection {
  /** SHA-256 hex of the bytes. */
  manifestId: string;
  size: number;
  verification: { status: VerificationStatus; signerKid?: string; detail?: string };
  routing?: ManifestRouting;
}

/** An alert a caller raises alongside a read (e.g. a lock event the caller interprets). */
export interface AlertInput {
  /** Lower-case token, e.g. 'tamper', 'lock_opened'. */
  kind: string;
  detail: string;
  lockId?: string;
  manifestId?: string;
  /** Distinguishes two alerts of one kind for one lock/manifest; repeats of one subject are one alert. */
  subject?: string;
  /** Bytes that back the alert (never a manifest body). */
  evidence?: Uint8Array;
}

/** A read handed to the store: the record, what is already known of its manifest, and a checkpoint. */
export interface ReadToRecord {
  read: LockReadRecord;
  /** The manifest's signature verdict (src/manifest inspectManifest). */
  inspection?: ManifestInspection;
  /** A failed read's verified manifest prefix, to continue from: saved with the read. */
  checkpoint?: ReadCheckpoint;
  /** Further alerts the caller raises alongside the read, after the verdict's own. */
  alerts?: AlertInput[];
}

/** What the store keeps of a lock that a verdict needs (a subset of LockRecord). */
export interface PinnedLock {
  lockId: string;
  /** The pinned Ed25519 identity key; absent until pinned. */
  identityKey?: Buffer;
  pinnedBy?: 'provisioned' | 'tofu' | 'imported';
  /** The newest counter seen in a trusted read. */
  eventCount?: number;
}

/**
 * What the store knows of a read's lock, handed to the verdict inside the transaction
 * that records the read (so nothing changes between the decision and the write).
 */
export interface KnownLock {
  /** The lock's row (created bare for a lock never seen); undefined for a read without a lock. */
  lock: PinnedLock | undefined;
  /** The event with this counter stored for the lock, if any. */
  storedEvent(counter: number): { hash: Uint8Array; storedAt: number } | undefined;
  /** The store's policy: pin the key of a never-seen lock that proves possession of it. */
  trustOnFirstUse: boolean;
  /** The store's clock, ms. */
  now: number;
}

/** The verdict on one read, decided in src/ingest; the store writes it as it is. */
export interface ReadVerdict {
  trust: ReadTrust;
  /** Pin the key the lock presented (trust on first use). */
  pin: boolean;
  /** Events the store does not hold yet (trusted reads only), in read order. */
  freshEvents: LockEventRecord[];
  events: { new: number; seen: number; conflicts: number };
  /** Alerts, in the order they are raised: lock trust, manifest, hash, log rewrites, chain, tamper. */
  alerts: AlertInput[];
}

/** Decides the verdict on a read from what the store knows (src/ingest's decideVerdict). */
export type DecideVerdict = (input: ReadToRecord, known: KnownLock) => ReadVerdict;

/**
 * How far the store trusts what a read says about its lock:
 * - trusted: the presented key is the pinned one and the lock proved possession of it;
 * - clone: the presented key differs from the pinned one, or the lock failed AUTH;
 * - unknown_lock: no key pinned and trust-on-first-use is off;
 * - unauthenticated: the read ended before AUTH;
 * - no_lock: the read ended before the lock described itself.
 */
export type ReadTrust = 'trusted' | 'clone' | 'unknown_lock' | 'unauthenticated' | 'no_lock';

export interface RaisedAlert {
  alertId: number;
  kind: string;
  detail: string;
  lockId?: string;
  manifestId?: string;
  /** false when the same alert (kind, lock, manifest, subject) was raised before. */
  new: boolean;
}

export interface RecordedRead {
  readId: number;
  /** Deterministic id of the read (SHA-256 of who/where/when); export bundles dedupe on it. */
  readUid: string;
  /** The very same read was recorded before: nothing was added. */
  duplicate: boolean;
  lockId?: string;
  trust: ReadTrust;
  /** The lock's key was pinned by this read (trust on first use). */
  pinned: boolean;
  manifest?: { manifestId: string; new: boolean; verification: StoredVerification };
  events: { new: number; seen: number; conflicts: number };
  alerts: RaisedAlert[];
  /** Outbox rows created by this read. */
  outboxIds: number[];
}

/** A partial manifest read to continue after a restart (shape of src/lock ReadCheckpoint). */
export interface ReadCheckpoint {
  lockId: string;
  manifestHash: Uint8Array;
  size: number;
  /** The verified prefix of the manifest. */
  prefix: Uint8Array;
}

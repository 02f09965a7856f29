import { createHash } from 'node:crypto';
import { CtopError } from '../errors.js';
import { type ReadToRecord, VERIFICATION_STATUSES } from './types.js';

function fail(what: string): never {
  throw new CtopError('E_STORE_INPUT', `ingest: ${what}`);
}

function text(value: unknown, what: string, max: number, allowEmpty = false): void {
  if (typeof value !== 'string' || (!allowEmpty && value.length === 0) || value.length > max) {
    fail(`${what} must be a string of ${allowEmpty ? 0 : 1}–${max} characters`);
  }
}

function integer(value: unknown, what: string): void {
  if (!Number.isSafeInteger(value) || (value as number) < 0) fail(`${what} must be a non-negative integer`);
}

function bytes(value: unknown, what: string, length?: number): void {
  if (!(value instanceof Uint8Array)) fail(`${what} must be bytes`);
  if (length !== undefined && value.byteLength !== length) fail(`${what} must be ${length} bytes`);
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Checks a read handed to the store against the interface before anything is written:
 * a broken record is a bug upstream (E_STORE_INPUT), never half-stored.
 */
export function checkReadInput(input: ReadToRecord): void {
  try {
    check(input);
  } catch (err) {
    if (err instanceof CtopError) throw err;
    // A shape so far off that a check itself tripped over it (a null where an object belongs).
    throw new CtopError('E_STORE_INPUT', `ingest: malformed record (${(err as Error).message})`, {
      cause: err,
    });
  }
}

function object(value: unknown, what: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${what} must be an object`);
}

function check(input: ReadToRecord): void {
  object(input, 'input');
  const { read, inspection } = input;
  object(read, 'read');
  if (!Array.isArray(read.events)) fail('events must be an array');
  if (!Array.isArray(read.chainProblems)) fail('chainProblems must be an array');
  if (input.alerts !== undefined && !Array.isArray(input.alerts)) fail('alerts must be an array');
  text(read.gatewayId, 'gatewayId', 128);
  if (!['serial', 'ble', 'unknown'].includes(read.transport))
    fail(`transport "${read.transport}" is not serial, ble or unknown`);
  text(read.endpoint, 'endpoint', 256, true);
  integer(read.startedAt, 'startedAt');
  integer(read.finishedAt, 'finishedAt');
  if (read.finishedAt < read.startedAt) fail('finishedAt is before startedAt');
  if (read.outcome !== 'complete' && read.outcome !== 'failed')
    fail(`outcome "${read.outcome}" is not complete or failed`);
  if (read.error !== undefined) {
    object(read.error, 'error');
    text(read.error.code, 'error.code', 64);
    text(read.error.message, 'error.message', 4096, true);
  }
  if (typeof read.authenticated !== 'boolean') fail('authenticated must be a boolean');
  const lock = read.lock;
  if (lock !== undefined) {
    object(lock, 'lock');
    text(lock.lockId, 'lock.lockId', 128);
    bytes(lock.identityKey, 'lock.identityKey', 32);
    text(lock.firmware, 'lock.firmware', 128, true);
    integer(lock.battery, 'lock.battery');
    integer(lock.sealState, 'lock.sealState');
    integer(lock.manifestSize, 'lock.manifestSize');
    bytes(lock.manifestSha256, 'lock.manifestSha256', 32);
    integer(lock.eventCount, 'lock.eventCount');
    bytes(lock.eventHead, 'lock.eventHead', 32);
  } else if (read.authenticated || read.manifest !== undefined || read.events.length > 0) {
    fail('a read without a lock description cannot be authenticated or carry a manifest or events');
  }
  if (read.manifest !== undefined) {
    bytes(read.manifest, 'manifest');
    if (
      lock &&
      !Buffer.from(lock.manifestSha256).equals(createHash('sha256').update(read.manifest).digest())
    ) {
      fail('manifest bytes do not match the SHA-256 the lock announced (the reader must check it)');
    }
  }
  for (const e of read.events) {
    object(e, 'event');
    integer(e.counter, 'event.counter');
    integer(e.time, 'event.time');
    integer(e.kind, 'event.kind');
    bytes(e.detail, 'event.detail');
    bytes(e.prev, 'event.prev', 32);
    bytes(e.sig, 'event.sig', 64);
    bytes(e.hash, 'event.hash', 32);
  }
  for (const p of read.chainProblems) {
    object(p, 'chainProblem');
    text(p.kind, 'chainProblem.kind', 32);
    integer(p.counter, 'chainProblem.counter');
    text(p.detail, 'chainProblem.detail', 1024, true);
  }
  const s = read.stats;
  object(s, 'stats');
  for (const key of ['bytesRead', 'frames', 'retries', 'resumes', 'crcErrors'] as const)
    integer(s[key], `stats.${key}`);
  if (inspection !== undefined) {
    object(inspection, 'inspection');
    object(inspection.verification, 'inspection.verification');
    if (read.manifest === undefined) fail('an inspection without manifest bytes');
    if (inspection.manifestId !== sha256Hex(read.manifest))
      fail('inspection.manifestId is not the SHA-256 of the manifest bytes');
    if (inspection.size !== read.manifest.byteLength) fail('inspection.size is not the manifest size');
    const status: string | undefined = inspection.verification?.status;
    if (
      status === undefined ||
      status === 'unverified' ||
      !(VERIFICATION_STATUSES as readonly string[]).includes(status)
    ) {
      fail(`verification status "${status}" is unknown`);
    }
  }
  for (const a of input.alerts ?? []) {
    object(a, 'alert');
    text(a.kind, 'alert.kind', 32);
    text(a.detail, 'alert.detail', Number.MAX_SAFE_INTEGER);
    if (a.evidence !== undefined) bytes(a.evidence, 'alert.evidence');
  }
}

/**
 * Why the clear routing fields of an inspection cannot be indexed, or undefined. The store
 * then stores the manifest without them rather than refusing the read: the bytes are
 * what matters, and they are kept whatever their fields look like.
 */
export function routingProblem(r: unknown): string | undefined {
  if (r === undefined) return undefined;
  if (typeof r !== 'object' || r === null) return 'routing is not an object';
  const o = r as Record<string, unknown>;
  for (const key of ['lockId', 'container', 'wagon', 'departure', 'destination', 'signerKid']) {
    if (typeof o[key] !== 'string' || (o[key] as string).length === 0 || (o[key] as string).length > 128) {
      return `routing.${key} is not a string of 1–128 characters`;
    }
  }
  for (const key of ['train', 'departureCountry', 'destinationCountry']) {
    if (o[key] !== undefined && (typeof o[key] !== 'string' || (o[key] as string).length > 128)) {
      return `routing.${key} is not a string of at most 128 characters`;
    }
  }
  if (!Number.isSafeInteger(o.createdAt) || (o.createdAt as number) < 0)
    return 'routing.createdAt is not a time';
  return undefined;
}

import type { AlertInput, LockDescription, LockReadRecord, PinnedLock, ReadTrust } from '../store/index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const short = (b: Uint8Array) => hex(b).slice(0, 16);

/**
 * How far a read can be trusted about its lock, and the alerts that follow:
 * - the pinned key presented and proven (AUTH) → trusted;
 * - another key than the pinned one → clone (a counterfeit, or a lock swapped on the container);
 * - AUTH failed (E_LOCK_CLONED from the reader) → clone, pinned or not;
 * - no key pinned: proven → trusted and `pinned` (trust on first use) when allowed, else unknown_lock;
 * - the read ended before AUTH → unauthenticated (no alert: a timeout is not evidence).
 * The store pins the key when `pinned` is true.
 */
export function judgeRead(
  known: PinnedLock | undefined,
  lock: LockDescription,
  read: LockReadRecord,
  pending: AlertInput[],
  trustOnFirstUse: boolean,
): { trust: ReadTrust; pinned: boolean } {
  const presented = Buffer.from(lock.identityKey);
  const authFailed = read.error?.code === 'E_LOCK_CLONED';
  const base = { kind: 'clone', lockId: lock.lockId, evidence: presented };
  if (known?.identityKey) {
    if (!known.identityKey.equals(presented)) {
      pending.push({
        ...base,
        subject: `key:${hex(presented)}`,
        detail: `lock ${lock.lockId} presented identity key ${short(presented)}…, pinned (${known.pinnedBy}) is ${short(known.identityKey)}…: clone or swapped lock`,
      });
      return { trust: 'clone', pinned: false };
    }
    if (read.authenticated) return { trust: 'trusted', pinned: false };
    if (authFailed) {
      pending.push({
        ...base,
        subject: `auth:${hex(presented)}`,
        detail: `lock ${lock.lockId} failed to prove possession of its pinned identity key: clone`,
      });
      return { trust: 'clone', pinned: false };
    }
    return { trust: 'unauthenticated', pinned: false };
  }
  if (authFailed) {
    pending.push({
      ...base,
      subject: `auth:${hex(presented)}`,
      detail: `lock ${lock.lockId} (not pinned yet) failed to prove possession of the key it presents: clone`,
    });
    return { trust: 'clone', pinned: false };
  }
  if (!read.authenticated) return { trust: 'unauthenticated', pinned: false };
  if (trustOnFirstUse) return { trust: 'trusted', pinned: true };
  pending.push({
    kind: 'unknown_lock',
    lockId: lock.lockId,
    subject: `key:${hex(presented)}`,
    detail: `lock ${lock.lockId} is not provisioned (key ${short(presented)}…) and trust on first use is off: read kept as evidence`,
    evidence: presented,
  });
  return { trust: 'unknown_lock', pinned: false };
}

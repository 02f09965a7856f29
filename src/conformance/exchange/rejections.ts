import { createHash } from 'node:crypto';
import { decodeDeterministic, encodeCanonical, Tag } from '../../cbor/index.js';
import {
  CONTENT_TYPES,
  Ed25519Signer,
  KIND_ACTIONS,
  MAX_MESSAGE_BYTES,
  openSigned,
  randomUrnUuid,
} from '../../exchange-wire/index.js';
import { generateKey } from '../../keys/index.js';
import type { Kit } from './kit.js';

/**
 * Every rejection reason a gateway can provoke from its own topic, each on purpose
 * (EXCHANGE.md §5.2, §5.3), and the messages §5.3 step 1 drops unanswered.
 */
export async function checkRejections(kit: Kit): Promise<void> {
  const f = kit.factory;
  const gatewayId = kit.probe.identity.gatewayId;
  const rejected = (reason: string) => ({ status: 'rejected' as const, reason });

  const stranger = new Ed25519Signer(generateKey('gateway', `${gatewayId}.unknown-${f.nonce.toLowerCase()}`));
  await kit.expect(
    'reject.unknown_key',
    f.seal(f.declare('pairing', f.pairing()), { signer: stranger }),
    rejected('unknown_key'),
  );

  const genuine = f.message('pairing', f.pairing());
  const altered = Buffer.from(genuine.bytes);
  altered[altered.length - 1]! ^= 0x01;
  await kit.expect(
    'reject.bad_signature',
    f.raw('pairing', altered, genuine.envelope),
    rejected('bad_signature'),
  );

  await kit.expect(
    'reject.content_type_mismatch',
    f.seal(f.declare('pairing', f.pairing()), { contentType: CONTENT_TYPES.query, level: 'pairing' }),
    rejected('content_type_mismatch'),
  );
  await kit.expect(
    'reject.envelope_malformed',
    f.seal(f.declare('pairing', f.pairing(), { attempt: 0 })),
    rejected('envelope_malformed'),
  );
  // Version 1.1's body (sentAt and attempt signed) with the per-copy header of 1.2 as well.
  const v11 = f.seal(f.declare('pairing', f.pairing()));
  await kit.expect(
    'reject.per-copy-twice',
    f.raw(
      'pairing',
      withUnprotected(
        v11.bytes,
        new Map([
          ['sentAt', v11.envelope.sentAt],
          ['attempt', 1],
        ]),
      ),
      v11.envelope,
    ),
    rejected('envelope_malformed'),
  );
  await kit.expect(
    'reject.address_mismatch',
    f.seal(f.declare('pairing', f.pairing(), { to: 'CTOP://KZ/NOT-THIS-EXCHANGE' })),
    rejected('address_mismatch'),
  );
  await kit.expect(
    'reject.kind_mismatch',
    f.seal(f.declare('alert', f.alert()), { level: 'pairing' }),
    rejected('kind_mismatch'),
  );
  await kit.expect(
    'reject.action_mismatch',
    f.seal(f.declare('pairing', f.pairing(), { action: KIND_ACTIONS.alert })),
    rejected('kind_mismatch'),
  );

  const declared = createHash('sha256').update('not the payload').digest();
  const hashMismatch = f.seal(f.declare('pairing', f.pairing(), { payloadSha256: declared }));
  const observed = await kit.expect(
    'reject.payload_hash_mismatch',
    hashMismatch,
    rejected('payload_hash_mismatch'),
  );
  const echoed = observed?.result.payloadSha256;
  kit.record(
    'reject.declared-hash',
    !observed
      ? ['no receipt']
      : echoed && Buffer.from(echoed).equals(declared)
        ? []
        : [
            `echoed ${Buffer.from(echoed ?? [])
              .toString('hex')
              .slice(0, 16)}…, declared ${declared.toString('hex').slice(0, 16)}…`,
          ],
    'the declared payloadSha256 echoed',
  );

  await kit.expect(
    'reject.message_id_mismatch',
    f.seal(f.declare('pairing', f.pairing(), { messageId: randomUrnUuid() })),
    rejected('message_id_mismatch'),
  );
  await kit.expect(
    'reject.payload_malformed',
    f.message('pairing', Buffer.from('{"pairing": "as JSON, not CBOR"}')),
    rejected('payload_malformed'),
  );
  const record = decodeDeterministic(f.pairing()) as Map<string, unknown>;
  record.delete('sealEvent');
  await kit.expect(
    'reject.payload_cddl',
    f.message('pairing', encodeCanonical(record)),
    rejected('payload_malformed'),
  );
  await kit.expect(
    'reject.outage_gateway',
    f.message('outage', f.outage('CTOP://KZ/ELSEWHERE/gw-someone-else')),
    rejected('payload_malformed'),
  );
  await kit.expect(
    'reject.manifest_unknown_signer',
    f.message('manifest', f.manifest(f.strangerSigner()), { verification: 'valid' }),
    rejected('manifest_unknown_signer'),
  );
  if (!f.hasSigner) {
    kit.skip('reject.manifest_bad_signature', 'no --signer-key: no manifest of a trusted signer to alter');
  } else {
    const manifest = f.manifest();
    manifest[manifest.length - 1]! ^= 0x01;
    await kit.expect(
      'reject.manifest_bad_signature',
      f.message('manifest', manifest, { verification: 'valid' }),
      rejected('manifest_bad_signature'),
    );
  }
  await checkDrops(kit);
}

async function checkDrops(kit: Kit): Promise<void> {
  const f = kit.factory;
  const big = f.message('pairing', Buffer.alloc(MAX_MESSAGE_BYTES + 1024, 0x41));
  try {
    kit.record(
      'drop.oversize',
      await kit.expectSilence(big),
      `${big.bytes.byteLength} bytes: not answered, the next message was`,
    );
  } catch (err) {
    kit.skip(
      'drop.oversize',
      `the broker did not take a ${big.bytes.byteLength}-byte message: ${(err as Error).message}`,
    );
  }
  const garbage = f.raw(
    'pairing',
    Buffer.from('this is not a COSE_Sign1 message'),
    f.declare('pairing', f.pairing()),
  );
  kit.record('drop.unreadable', await kit.expectSilence(garbage), 'not answered, the next message was');
  const deep = f.seal({ ...f.declare('pairing', f.pairing()), routing: { lockId: { id: f.lockId } } });
  kit.record('drop.too-deep', await kit.expectSilence(deep), 'not answered, the next message was');
  const v12 = f.sealCopy(f.declare('pairing', f.pairing()));
  const unknownHeader = f.raw(
    'pairing',
    withUnprotected(
      v12.bytes,
      new Map<string, unknown>([
        ['sentAt', v12.envelope.sentAt],
        ['attempt', 1],
        ['x', 1],
      ]),
    ),
    v12.envelope,
  );
  kit.record(
    'drop.unprotected-unknown',
    await kit.expectSilence(unknownHeader),
    'not answered, the next message was',
  );
}

/** A signed message with its unprotected header replaced (the signature does not cover it). */
function withUnprotected(bytes: Uint8Array, unprotected: Map<string, unknown>): Buffer {
  const signed = openSigned(bytes, 'message');
  return encodeCanonical(
    new Tag([signed.protectedBytes, unprotected, signed.bodyBytes, signed.signature], 18),
  );
}

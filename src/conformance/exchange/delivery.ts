import type { Kit } from './kit.js';
import type { BuiltMessage } from './messages.js';

/**
 * Well-formed messages of every kind, and resends of one (EXCHANGE.md §4.3, §5, §8): each
 * accepted, the resends answered as duplicates of one record.
 */
export async function checkDelivery(kit: Kit): Promise<void> {
  const f = kit.factory;
  if (!f.hasSigner)
    kit.skip('accept.manifest', 'no --signer-key: no manifest a trusted customs signer signed');
  else
    await kit.expect('accept.manifest', f.message('manifest', f.manifest(), { verification: 'valid' }), {
      status: 'accepted',
      duplicate: false,
      verification: 'valid',
    });
  await kit.expect(
    'accept.manifest-evidence',
    f.message('manifest', f.manifest(f.strangerSigner()), { verification: 'unknown_signer' }),
    { status: 'accepted', duplicate: false, verification: 'unknown_signer' },
  );
  await kit.expect('accept.lock_events', f.message('lock_events', f.lockEvents()), {
    status: 'accepted',
    duplicate: false,
  });
  await kit.expect('accept.alert', f.message('alert', f.alert()), { status: 'accepted', duplicate: false });
  await kit.expect('accept.outage', f.message('outage', f.outage()), {
    status: 'accepted',
    duplicate: false,
  });
  const pairing = f.message('pairing', f.pairing(), { container: f.container });
  const first = await kit.expect('accept.pairing', pairing, { status: 'accepted', duplicate: false });
  await checkResends(kit, pairing, first?.result.receivedAt);
  await checkVersion12(kit);
}

/** An envelope of version 1.2 (§3), and a resend of it: the same body and signature, new per-copy fields. */
async function checkVersion12(kit: Kit): Promise<void> {
  const f = kit.factory;
  const declared = f.declare('alert', f.alert());
  const first = await kit.expect('accept.v1.2', f.sealCopy(declared), {
    status: 'accepted',
    duplicate: false,
  });
  const again = await kit.expect(
    'resend.v1.2',
    f.sealCopy({ ...declared, sentAt: declared.sentAt + 1000, attempt: 2 }),
    { status: 'accepted', duplicate: true },
  );
  if (first && again && again.result.receivedAt !== first.result.receivedAt) {
    kit.record(
      'resend.v1.2',
      [`receivedAt ${again.result.receivedAt}, the first was ${first.result.receivedAt}`],
      '',
    );
  }
}

async function checkResends(kit: Kit, original: BuiltMessage, receivedAt: number | undefined): Promise<void> {
  if (receivedAt === undefined) {
    kit.record('resend.same-receipt', ['the first copy was not accepted'], '');
    return;
  }
  const problems: string[] = [];
  let copy = original;
  for (let i = 0; i < 2; i++) {
    copy = kit.factory.resend(copy);
    const observed = await kit.send(copy);
    problems.push(
      ...kit.problems(observed, { status: 'accepted', duplicate: true }).map((p) => `copy ${i + 2}: ${p}`),
    );
    if (observed && observed.result.receivedAt !== receivedAt)
      problems.push(`copy ${i + 2}: receivedAt ${observed.result.receivedAt}, the first was ${receivedAt}`);
  }
  kit.record(
    'resend.same-receipt',
    problems,
    `copies 2 and 3 accepted as duplicates, receivedAt ${receivedAt}`,
  );
  const { answer } = await kit.probe.ask(
    kit.signer,
    { action: 'ctop/v1/query.document', messageId: original.envelope.messageId },
    kit.exchangeAddress,
    kit.timing.answerTimeoutMs,
  );
  const records = answer?.result.records ?? [];
  kit.record(
    'resend.one-record',
    answer === undefined
      ? ['no answer to the query by document']
      : records.length === 1
        ? []
        : [`by document finds ${records.length} records for one messageId`],
    'one record for three copies',
  );
  const duplicates = records[0]?.duplicates;
  kit.record(
    'resend.counted',
    duplicates !== undefined && duplicates >= 2
      ? []
      : [`duplicates: ${duplicates ?? 'no record'}, expected ≥ 2`],
    `duplicates: ${duplicates}`,
  );
}

import { createHash } from 'node:crypto';
import { decodeDeterministic } from '../../cbor/index.js';
import { Ed25519Signer, type QueryRecord } from '../../exchange-wire/index.js';
import { generateKey } from '../../keys/index.js';
import type { Kit } from './kit.js';
import type { ObservedAnswer } from './probe.js';

/**
 * The two queries of EXCHANGE.md §6 over what this run sent: by document (messageId,
 * container, manifestId), updates for the run's period with paging, metadata only, a
 * refusal; and that no rejected message was recorded (§5.2).
 */
export async function checkQueries(kit: Kit): Promise<void> {
  const ask = (question: Record<string, unknown>, signer = kit.signer) =>
    kit.probe
      .ask(signer, question as never, kit.exchangeAddress, kit.timing.answerTimeoutMs)
      .then((q) => q.answer);
  const answers: ObservedAnswer[] = [];
  const keep = (a: ObservedAnswer | undefined) => {
    if (a) answers.push(a);
    return a;
  };
  const pairing = kit.accepted.find((a) => a.message.envelope.kind === 'pairing');
  if (!pairing) {
    for (const id of ['query.document-message', 'query.document-container'])
      kit.record(id, ['no pairing record was accepted to ask about'], '');
  } else {
    const byId = keep(
      await ask({ action: 'ctop/v1/query.document', messageId: pairing.message.envelope.messageId }),
    );
    kit.record(
      'query.document-message',
      recordProblems(byId, pairing),
      "one record, the receipt's receivedAt",
    );
    const byContainer = keep(
      await ask({ action: 'ctop/v1/query.document', container: kit.factory.container }),
    );
    const found = byContainer?.result.records.some((r) => r.messageId === pairing.message.envelope.messageId);
    kit.record(
      'query.document-container',
      !byContainer
        ? ['no answer']
        : found
          ? []
          : [`${byContainer.result.records.length} records, not the pairing record`],
      `${kit.factory.container}: found the pairing record`,
    );
  }
  const manifest = kit.accepted.find(
    (a) => a.message.envelope.kind === 'manifest' && a.observed.result.verification === 'valid',
  );
  if (!manifest) kit.skip('query.document-manifest', 'no valid manifest was sent (--signer-key)');
  else {
    const manifestId = createHash('sha256').update(manifest.message.envelope.payload).digest('hex');
    const byManifest = keep(await ask({ action: 'ctop/v1/query.document', manifestId }));
    const found = byManifest?.result.records.some((r) => r.messageId === manifest.message.envelope.messageId);
    kit.record(
      'query.document-manifest',
      !byManifest ? ['no answer'] : found ? [] : ['the manifest is not found'],
      'found',
    );
  }
  await checkUpdates(kit, ask, keep);
  kit.record(
    'query.metadata-only',
    answers.flatMap(payloadProblems),
    `${answers.length} answers without payloads`,
  );

  const stranger = new Ed25519Signer(generateKey('gateway', `${kit.probe.identity.gatewayId}.unknown`));
  const anyId = kit.factory.declare('pairing', kit.factory.pairing()).messageId;
  const refused = await ask({ action: 'ctop/v1/query.document', messageId: anyId }, stranger);
  kit.record(
    'query.refused',
    !refused
      ? ['no answer']
      : refused.result.status === 'refused' && refused.result.reason === 'unknown_key'
        ? []
        : [`status ${refused.result.status} ${refused.result.reason ?? ''}`.trim()],
    'refused unknown_key',
  );

  const recorded: string[] = [];
  for (const message of kit.rejected) {
    const a = await ask({ action: 'ctop/v1/query.document', messageId: message.envelope.messageId });
    if (!a) recorded.push(`no answer about ${message.envelope.messageId}`);
    else if (a.result.records.length > 0) recorded.push(`${message.envelope.messageId} is recorded`);
  }
  kit.record('reject.not-recorded', recorded, `none of ${kit.rejected.length} rejected messages recorded`);
}

function recordProblems(answer: ObservedAnswer | undefined, sent: Kit['accepted'][number]): string[] {
  if (!answer) return ['no answer'];
  if (answer.result.status !== 'ok') return [`refused ${answer.result.reason}`];
  const records = answer.result.records;
  if (records.length !== 1) return [`${records.length} records`];
  const r: QueryRecord = records[0]!;
  const e = sent.message.envelope;
  const out: string[] = [];
  if (r.kind !== e.kind) out.push(`kind ${r.kind}`);
  if (r.from !== e.from) out.push(`from ${r.from}`);
  if (r.conversationId !== e.conversationId) out.push('another conversationId');
  if (!Buffer.from(r.payloadSha256).equals(e.payloadSha256)) out.push('another payloadSha256');
  if (r.payloadSize !== e.payload.byteLength)
    out.push(`payloadSize ${r.payloadSize}, sent ${e.payload.byteLength}`);
  if (r.receivedAt !== sent.observed.result.receivedAt)
    out.push(`receivedAt ${r.receivedAt}, the receipt said ${sent.observed.result.receivedAt}`);
  return out;
}

async function checkUpdates(
  kit: Kit,
  ask: (q: Record<string, unknown>) => Promise<ObservedAnswer | undefined>,
  keep: (a: ObservedAnswer | undefined) => ObservedAnswer | undefined,
): Promise<void> {
  const since = kit.startedAt - 60_000;
  const until = Date.now() + 60_000;
  const ours = new Set(kit.accepted.map((a) => a.message.envelope.messageId));
  const all = keep(await ask({ action: 'ctop/v1/query.updates', since, until }));
  const problems: string[] = [];
  if (!all) problems.push('no answer');
  else {
    const records = all.result.records;
    const seen = new Set(records.map((r) => r.messageId));
    const missing = [...ours].filter((id) => !seen.has(id));
    if (missing.length > 0 && all.result.next === undefined)
      problems.push(`${missing.length} accepted messages missing`);
    if (records.some((r) => r.from !== kit.probe.address)) problems.push('records of another gateway');
    if (records.some((r, i) => i > 0 && r.seq <= records[i - 1]!.seq)) problems.push('not in seq order');
  }
  kit.record('query.updates', problems, `${ours.size} accepted messages of this run found`);

  const pages: string[] = [];
  const first = keep(await ask({ action: 'ctop/v1/query.updates', since, until, limit: 2 }));
  if (!first) pages.push('no answer');
  else if (first.result.records.length !== 2 || first.result.next === undefined)
    pages.push(`limit 2 gave ${first.result.records.length} records, next ${first.result.next ?? 'absent'}`);
  else {
    const second = keep(
      await ask({ action: 'ctop/v1/query.updates', since, until, limit: 2, after: first.result.next }),
    );
    const firstIds = new Set(first.result.records.map((r) => r.messageId));
    if (!second) pages.push('no answer to the second page');
    else if (
      second.result.records.length === 0 ||
      second.result.records.some((r) => firstIds.has(r.messageId))
    )
      pages.push('the second page does not continue the first');
  }
  kit.record('query.paging', pages, 'two pages of 2, continued by next');
}

/** A `payload` key anywhere in an answer body is a payload leaving the exchange. */
function payloadProblems(answer: ObservedAnswer): string[] {
  const walk = (v: unknown): boolean =>
    v instanceof Map
      ? [...v].some(([k, x]) => k === 'payload' || walk(x))
      : Array.isArray(v)
        ? v.some(walk)
        : false;
  return walk(decodeDeterministic(answer.bodyBytes, { maxDepth: 8 })) ? ['an answer carries a payload'] : [];
}

import type { Ed25519Signer } from '../../exchange-wire/index.js';
import type { CheckResult } from '../report.js';
import type { BuiltMessage, MessageFactory } from './messages.js';
import type { ObservedResult, ProbeGateway } from './probe.js';
import { requirement } from './requirements.js';

/**
 * What every section of the exchange kit shares: the gateway it plays, the messages it
 * builds, the results it recorded, and one way to send a copy and judge its answer.
 */

export interface KitTiming {
  /** How long to wait for a receipt: a gateway's receipt timeout (30 s). */
  receiptTimeoutMs: number;
  /** How long to wait for the answer to a query (a gateway's query timeout). */
  answerTimeoutMs: number;
  /** After a fence message was answered, how long silence must last for "not answered". */
  quietMs: number;
}

export interface Expectation {
  status: 'accepted' | 'rejected';
  reason?: string;
  duplicate?: boolean;
  verification?: string;
}

export class Kit {
  readonly checks: CheckResult[] = [];
  /** Publish → verified result, ms, for every answered copy (the latency figure). */
  readonly latencies: number[] = [];
  /** Every message accepted in this run, first copies, with their first answer. */
  readonly accepted: { message: BuiltMessage; observed: ObservedResult }[] = [];
  /** Every answered copy, for the checks that span all results (echo, envelopeSha256). */
  readonly answered: { message: BuiltMessage; observed: ObservedResult }[] = [];
  readonly rejected: BuiltMessage[] = [];
  readonly startedAt = Date.now();

  constructor(
    readonly probe: ProbeGateway,
    readonly factory: MessageFactory,
    readonly exchangeAddress: string,
    readonly timing: KitTiming,
  ) {}

  get signer(): Ed25519Signer {
    return this.factory.signer;
  }

  /** Records the outcome of requirement `id`: pass when `problems` is empty. */
  record(id: string, problems: readonly string[], evidence: string): void {
    const shown = problems.slice(0, 3).join('; ');
    const more = problems.length > 3 ? `; and ${problems.length - 3} more` : '';
    this.#push(
      id,
      problems.length === 0 ? 'pass' : 'fail',
      problems.length === 0 ? evidence : `${shown}${more}`,
    );
  }

  skip(id: string, why: string): void {
    this.#push(id, 'skip', why);
  }

  #push(id: string, outcome: CheckResult['outcome'], evidence: string): void {
    const r = requirement(id);
    this.checks.push({
      id: `exchange.${id}`,
      section: `EXCHANGE.md ${r.section}`,
      level: r.level,
      requirement: r.text,
      outcome,
      evidence,
    });
  }

  /** Publishes a copy and waits for its result (undefined when none came in time). */
  async send(message: BuiltMessage): Promise<ObservedResult | undefined> {
    const at = await this.probe.publish(message.level, message.bytes);
    const observed = await this.probe.nextResult(
      message.envelope.messageId,
      message.envelopeSha256,
      this.timing.receiptTimeoutMs,
    );
    if (observed) {
      this.latencies.push(observed.at - at);
      this.answered.push({ message, observed });
      if (observed.result.status === 'accepted' && !observed.result.duplicate)
        this.accepted.push({ message, observed });
      if (observed.result.status === 'rejected') this.rejected.push(message);
    }
    return observed;
  }

  /** What is wrong with `observed` as the answer `expect` describes; empty when right. */
  problems(observed: ObservedResult | undefined, expect: Expectation): string[] {
    if (!observed) return [`no receipt within ${this.timing.receiptTimeoutMs} ms`];
    const r = observed.result;
    const out: string[] = [];
    const said = `${r.status}${r.reason ? ` ${r.reason}` : ''}${r.detail ? ` (${r.detail})` : ''}`;
    if (r.status !== expect.status || (expect.reason !== undefined && r.reason !== expect.reason)) {
      out.push(`expected ${expect.status}${expect.reason ? ` ${expect.reason}` : ''}, got ${said}`);
    }
    if (expect.duplicate !== undefined && r.duplicate !== expect.duplicate)
      out.push(`duplicate: ${r.duplicate}, expected ${expect.duplicate}`);
    if (expect.verification !== undefined && r.verification !== expect.verification)
      out.push(`verification: ${r.verification ?? 'absent'}, expected ${expect.verification}`);
    return out;
  }

  /** Sends one copy and records requirement `id` against `expect`. */
  async expect(id: string, message: BuiltMessage, expect: Expectation): Promise<ObservedResult | undefined> {
    const observed = await this.send(message);
    this.record(id, this.problems(observed, expect), describe(observed, message));
    return observed;
  }

  /**
   * Publishes `message`, then a well-formed fence; once the fence is answered and `quietMs`
   * more passed, `message` must have had no answer. Returns the problems.
   */
  async expectSilence(message: BuiltMessage): Promise<string[]> {
    await this.probe.publish(message.level, message.bytes);
    const fence = this.factory.message('pairing', this.factory.pairing());
    const fenced = await this.send(fence);
    await new Promise((r) => setTimeout(r, this.timing.quietMs));
    const out: string[] = [];
    if (fenced?.result.status !== 'accepted')
      out.push(
        `the exchange stopped answering: the next message got ${fenced ? fenced.result.status : 'no receipt'}`,
      );
    const answers = this.probe
      .resultsFor(message.envelope.messageId)
      .filter(
        (o) =>
          o.result.envelopeSha256 === undefined ||
          Buffer.from(o.result.envelopeSha256).equals(message.envelopeSha256),
      );
    if (answers.length > 0) out.push(`answered: ${answers.map((o) => o.result.status).join(', ')}`);
    return out;
  }
}

export function describe(observed: ObservedResult | undefined, message: BuiltMessage): string {
  if (!observed) return 'no receipt';
  const r = observed.result;
  return [
    `${r.status}${r.reason ? ` ${r.reason}` : ''}`,
    r.duplicate ? 'duplicate' : undefined,
    r.verification ? `verification ${r.verification}` : undefined,
    `receivedAt ${r.receivedAt}`,
    `${message.envelope.messageId.slice(9, 17)}…`,
  ]
    .filter((x) => x !== undefined)
    .join(', ');
}

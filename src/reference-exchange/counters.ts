export interface ExchangeFaults {
  /** Fault injection for tests and demos: drop the receipt result for this message (it is still recorded). */
  dropReceipt?: (messageId: string) => boolean;
}

/** Running totals since start. */
export interface ExchangeCounters {
  /** Messages on upstream topics. */
  received: number;
  /** Accepted for the first time. */
  accepted: number;
  /** Accepted before: recorded once, answered again. */
  duplicates: number;
  rejected: number;
  /** No messageId could be read: no receipt possible. */
  unreadable: number;
  receiptsSent: number;
  receiptResultsDropped: number;
  queries: number;
}

export function zeroCounters(): ExchangeCounters {
  return {
    received: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    unreadable: 0,
    receiptsSent: 0,
    receiptResultsDropped: 0,
    queries: 0,
  };
}

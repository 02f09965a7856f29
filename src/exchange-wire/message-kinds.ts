/**
 * The kinds of message a gateway sends the exchange (EXCHANGE.md §4): the wire format
 * names them, and the store's outbox keeps one row per message of one of these kinds.
 */
export type MessageKind = 'manifest' | 'lock_events' | 'alert' | 'outage' | 'pairing';

export const MESSAGE_KINDS: readonly MessageKind[] = [
  'manifest',
  'lock_events',
  'alert',
  'outage',
  'pairing',
];

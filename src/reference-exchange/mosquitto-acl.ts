import { DOWNSTREAM_TOPICS, TOPIC_ROOT, UPSTREAM_TOPICS } from '../exchange-wire/index.js';

/**
 * A mosquitto ACL file for the topic layout of EXCHANGE.md §2, for brokers that take the
 * client certificate's CN as the user name (`use_identity_as_username true`): each gateway
 * may publish only in its own subtree and read only its own receipts and answers; the
 * exchange user reads and writes everything under the root.
 */
export function mosquittoAcl(options: { exchangeUser?: string } = {}): string {
  const gateway = `${TOPIC_ROOT}/+/+/%u`;
  const lines = [
    '# ctop/v1 topic ACL (firmware-protocol/EXCHANGE.md §2). %u is the client certificate CN = the gateway id.',
    ...UPSTREAM_TOPICS.map((level) => `pattern write ${gateway}/${level}`),
    `pattern readwrite ${gateway}/status`,
    ...DOWNSTREAM_TOPICS.map((level) => `pattern read ${gateway}/${level}`),
    '',
    `user ${options.exchangeUser ?? 'exchange'}`,
    `topic readwrite ${TOPIC_ROOT}/#`,
    '',
  ];
  return lines.join('\n');
}

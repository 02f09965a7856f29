import { Document, isScalar, visit } from 'yaml';
import { DOWNSTREAM_TOPICS, TOPIC_ROOT, UPSTREAM_TOPICS } from '../exchange-wire/index.js';

export interface EjabberdMqttOptions {
  /** The exchange's account (user name, or its certificate's CN). Default `exchange`. */
  exchangeUser?: string;
  /** How long a session outlives its connection; ejabberd's default is 5 minutes. Default 7 days, as gateways ask. */
  sessionExpirySeconds?: number;
}

/**
 * The ejabberd settings for the topic layout of EXCHANGE.md §2 (docs/OPERATIONS.md,
 * "Broker requirements"), as the ejabberd.yml sections `acl`, `access_rules` and
 * `modules: mod_mqtt`. ejabberd names an MQTT client by the user name, or by the client id
 * when none is given — and that name must be the client certificate's CN for a login by
 * certificate. `%u` in a topic filter is that name: each gateway may publish only in its own
 * subtree and read only its own receipts, answers and status; the exchange account reads
 * and writes everything under the root. The tests run ejabberd with exactly these sections.
 */
export function ejabberdMqttSettings(options: EjabberdMqttOptions = {}): Record<string, unknown> {
  const gateway = `${TOPIC_ROOT}/+/+/%u`;
  const exchange = 'ctop_exchange';
  const everything = `${TOPIC_ROOT}/#`;
  return {
    acl: { [exchange]: { user: options.exchangeUser ?? 'exchange' } },
    access_rules: { [exchange]: { allow: exchange } },
    modules: {
      mod_mqtt: {
        session_expiry: options.sessionExpirySeconds ?? 7 * 86_400,
        // Default 5000 per session: the exchange's queue holds what every gateway sent while it was away.
        max_queue: 'unlimited',
        access_publish: Object.fromEntries([
          ...[...UPSTREAM_TOPICS, 'status'].map((level) => [`${gateway}/${level}`, 'all']),
          [everything, exchange],
        ]),
        access_subscribe: Object.fromEntries([
          ...[...DOWNSTREAM_TOPICS, 'status'].map((level) => [`${gateway}/${level}`, 'all']),
          [everything, exchange],
        ]),
      },
    },
  };
}

/**
 * ejabberd.yml text. Topic filters are written as quoted keys: ejabberd reads a plain YAML
 * scalar as an atom, which its topic-filter check refuses ("Malformed topic filter").
 */
export function toEjabberdYaml(config: Record<string, unknown>): string {
  const doc = new Document(config);
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && String(pair.key.value).includes('/')) pair.key.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString({ lineWidth: 0 });
}

/** The settings of ejabberdMqttSettings as ejabberd.yml text. */
export function ejabberdMqttYaml(options: EjabberdMqttOptions = {}): string {
  return toEjabberdYaml(ejabberdMqttSettings(options));
}

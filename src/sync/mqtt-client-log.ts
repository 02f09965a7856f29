import type { IClientOptions } from 'mqtt';

/**
 * mqtt.js traces every packet through the `debug` module, whose function gathers its
 * arguments into an array on each call even when its namespace is off: an eighth of what the
 * agent allocates in a drain. A no-op logger instead, unless DEBUG is set — then mqtt.js's
 * own trace is what the operator asked for.
 */
export function mqttClientLog(): Pick<IClientOptions, 'log'> {
  return process.env.DEBUG ? {} : { log: () => {} };
}

import type { IClientOptions } from 'mqtt';

/**
 * mqtt.js traces every packet through the `debug` module, whose function gathers its
 * arguments into an array on each call even when its namespace is off: garbage for every
 * message at a drain's pace (~5 % of a drain's allocations). A no-op logger instead, unless
 * DEBUG is set — then mqtt.js's own trace is what the operator asked for.
 */
export function mqttClientLog(): Pick<IClientOptions, 'log'> {
  return process.env.DEBUG ? {} : { log: () => {} };
}

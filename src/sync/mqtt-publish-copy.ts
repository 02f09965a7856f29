import type { MqttClient, Packet } from 'mqtt';

type StoreAndSend = (packet: Packet, cb?: (err?: Error) => void, cbStorePut?: () => void) => void;

interface MqttClientInternals {
  _storeAndSend?: StoreAndSend;
  _writePacket?: (packet: Packet, cb?: (err?: Error) => void) => void;
  outgoingStore: { put(packet: Packet, cb: (err?: Error) => void): unknown };
}

/**
 * mqtt.js deep-copies every QoS 1 PUBLISH, payload included, into its outgoing store, so that
 * the same client can send it again after a reconnect. The sync never asks for that: each
 * connection is a fresh client with reconnect off, and what got no receipt is published again
 * from the sync's own in-flight record. Each copy was a manifest-sized ArrayBuffer, and the
 * churn of those is what starts V8's major collections in a drain ("external memory
 * pressure"; `node --trace-incremental-marking` on scripts/bench/sync/drain-runs.ts: 3–4 a
 * drain window with the copy, 2 without).
 *
 * This client stores the packet it sends instead of a copy. The copy only differs when a topic
 * alias was applied (mqtt.js then stores the topic name in place of the alias): those packets,
 * and every other kind, take mqtt.js's own path. Returns false, changing nothing, if this
 * mqtt.js has no such step (another version): the sync then works as before, with the copy.
 */
export function storePublishesWithoutCopy(client: MqttClient): boolean {
  const c = client as unknown as MqttClientInternals;
  const original = c._storeAndSend;
  if (typeof original !== 'function' || typeof c._writePacket !== 'function') return false;
  c._storeAndSend = function (this: MqttClientInternals, packet, cb, cbStorePut) {
    if (packet.cmd !== 'publish' || packet.properties?.topicAlias !== undefined) {
      original.call(this, packet, cb, cbStorePut);
      return;
    }
    this.outgoingStore.put(packet, (err) => {
      if (err) {
        cb?.(err);
        return;
      }
      cbStorePut?.();
      this._writePacket!(packet, cb);
    });
  };
  return true;
}

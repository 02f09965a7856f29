import mqttPacket from 'mqtt-packet';

/**
 * mqtt-packet writes a packet's 2-byte numbers (packet identifiers, topic lengths) from a
 * table of 65,536 Buffers it builds at the first packet and keeps for the life of the
 * process: 7 MB of a gateway's heap, and 65,536 objects that every major garbage collection
 * marks again. Without the table each number is a 2-byte slice of Node's buffer pool,
 * garbage a minor collection clears. Called before the first client connects (the switch
 * is process-wide and documented by mqtt-packet; a table built already stays).
 */
export function dropMqttNumberCache(): void {
  mqttPacket.writeToStream.cacheNumbers = false;
}

export {
  encodeAdStructures,
  type LockAdvertisingFields,
  lockAdvertising,
  uuid128ToLe,
} from './advertising-data.js';
export { disconnectingApp, echoApp, FloodApp, type FloodAppOptions } from './apps.js';
export { ByteStreamApp, type ByteStreamEndpoint, type ByteStreamOutput } from './byte-stream-app.js';
export type { ConnectionInfo } from './connection.js';
export { type ControllerOptions, type ControllerStats, HciController } from './controller.js';
export { HciEmulator, type HciEmulatorOptions } from './emulator.js';
export { CharProp, type GattServiceSpec, lockGattServices } from './gatt-db.js';
export { DEFAULT_LINK, type LinkParams, linkGoodput } from './link-params.js';
export { type Presence, SimPeripheral, type SimPeripheralOptions } from './peripheral.js';
export type { SimConnection, SimPeripheralApp } from './peripheral-app.js';
export { SimClock } from './sim-clock.js';
export { SimRadio, type SimRadioOptions } from './sim-radio.js';
export { type LockPassage, type TrainPassage, trainPassage } from './train.js';
export { SimWorld, type SimWorldOptions } from './world.js';

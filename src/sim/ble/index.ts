export {
  encodeAdStructures,
  type LockAdvertisingFields,
  lockAdvertising,
  uuid128ToLe,
} from './advertising-data.js';
export { PHYS, type Phy, SENSITIVITY_DBM } from './air-time.js';
export { disconnectingApp, echoApp, FloodApp, type FloodAppOptions } from './apps.js';
export {
  ByteStreamApp,
  type ByteStreamAppOptions,
  type ByteStreamEndpoint,
  type ByteStreamOutput,
} from './byte-stream-app.js';
export type { ConnectionInfo } from './connection.js';
export { type ControllerOptions, type ControllerStats, HciController } from './controller.js';
export { type EmulatorStats, HciEmulator, type HciEmulatorOptions } from './emulator.js';
export { CharProp, type GattServiceSpec, lockGattServices } from './gatt-db.js';
export type { LinkStats } from './link-layer.js';
export { DEFAULT_LINK, type GoodputQuery, type LinkParams, linkGoodput } from './link-params.js';
export { type Presence, SimPeripheral, type SimPeripheralOptions } from './peripheral.js';
export type { SimConnection, SimPeripheralApp } from './peripheral-app.js';
export { SimClock, type SimClockOptions, SimTimer } from './sim-clock.js';
export { SimRadio, type SimRadioOptions } from './sim-radio.js';
export {
  audibleRange,
  DEFAULT_PATH_LOSS_EXPONENT,
  DEFAULT_RSSI_AT_1M_DBM,
  type LockPassage,
  passageForAudibleRange,
  type TrainPassage,
  trainPassage,
} from './train.js';
export { SimWorld, type SimWorldEvents, type SimWorldOptions } from './world.js';

/**
 * The lock's GATT service (PROTOCOL.md §10): a Nordic-UART-style pair of characteristics.
 * The transport needs only these names to find the byte pipe; what flows through it is the
 * codec's business.
 */
export const BLE_SERVICE_UUID = 'f3c70001-2d5b-4e8a-9c41-7c7a0e3b5a10';
/** Gateway → lock, written without response. */
export const BLE_RX_UUID = 'f3c70002-2d5b-4e8a-9c41-7c7a0e3b5a10';
/** Lock → gateway, notified. */
export const BLE_TX_UUID = 'f3c70003-2d5b-4e8a-9c41-7c7a0e3b5a10';

/** Bluetooth SIG company id 0xFFFF: reserved for tests/unassigned, until a vendor id is assigned. */
export const BLE_COMPANY_ID = 0xffff;

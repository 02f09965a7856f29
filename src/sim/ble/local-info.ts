import { LL_MAX_OCTETS, Op, Status } from './hci-constants.js';
import { addressToHci, commandComplete } from './hci-events.js';

export interface LocalInfo {
  address: string;
  aclBufferLength: number;
  aclBufferCount: number;
  dataLengthExtension: boolean;
}

/**
 * Answers the commands that only read or set controller-wide constants (version, address,
 * buffer sizes, features). Returns the Command Complete event, or undefined when `op` is
 * not one of them.
 */
export function answerLocalInfo(op: number, info: LocalInfo): Buffer | undefined {
  switch (op) {
    case Op.SetEventFilter:
    case Op.WriteLeHostSupported:
    case Op.LeSetRandomAddress:
      return commandComplete(op, Status.Success);
    case Op.ReadLeHostSupported:
      return commandComplete(op, Status.Success, Uint8Array.of(1, 0));
    case Op.ReadLocalVersion:
      // HCI/LMP version 0x09 = Core 5.0; manufacturer 0xFFFF = "for testing".
      return commandComplete(op, Status.Success, Uint8Array.of(0x09, 0, 0, 0x09, 0xff, 0xff, 0, 0));
    case Op.ReadBdAddr:
      return commandComplete(op, Status.Success, addressToHci(info.address));
    case Op.LeReadBufferSize: {
      const r = Buffer.alloc(3);
      r.writeUInt16LE(info.aclBufferLength, 0);
      r.writeUInt8(info.aclBufferCount, 2);
      return commandComplete(op, Status.Success, r);
    }
    case Op.ReadBufferSize: {
      // ACL length u16, SCO length u8, ACL count u16, SCO count u16.
      const r = Buffer.alloc(7);
      r.writeUInt16LE(info.aclBufferLength, 0);
      r.writeUInt16LE(info.aclBufferCount, 3);
      return commandComplete(op, Status.Success, r);
    }
    case Op.LeReadLocalSupportedFeatures: {
      // Legacy advertising only (no bit 12), so noble uses the legacy scan and connect commands.
      const features = Buffer.alloc(8);
      if (info.dataLengthExtension) features[0] = 1 << 5;
      return commandComplete(op, Status.Success, features);
    }
    case Op.LeReadMaximumDataLength: {
      if (!info.dataLengthExtension) return commandComplete(op, Status.UnknownCommand);
      const time = (LL_MAX_OCTETS + 14) * 8;
      const r = Buffer.alloc(8);
      r.writeUInt16LE(LL_MAX_OCTETS, 0);
      r.writeUInt16LE(time, 2);
      r.writeUInt16LE(LL_MAX_OCTETS, 4);
      r.writeUInt16LE(time, 6);
      return commandComplete(op, Status.Success, r);
    }
    default:
      return undefined;
  }
}

import { readdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * serial.ports patterns: plain paths, or globs with `*`, `?` and `[…]` in any path segment
 * (`/dev/serial/by-id/usb-*`, `/dev/ttyUSB*`). No `**`: device directories are flat.
 */

const GLOB = /[*?[]/;

export function isGlob(pattern: string): boolean {
  return GLOB.test(pattern);
}

function segmentRegExp(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = segment
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Paths matching one pattern, existing or not (a plain path is returned as it is). */
export function expandPattern(pattern: string): string[] {
  if (!isGlob(pattern)) return [pattern];
  const absolute = path.isAbsolute(pattern);
  const segments = pattern.split('/').filter((s) => s !== '');
  let bases = [absolute ? '/' : '.'];
  for (const segment of segments) {
    const next: string[] = [];
    if (!isGlob(segment)) {
      for (const base of bases) next.push(path.join(base, segment));
    } else {
      const re = segmentRegExp(segment);
      for (const base of bases) {
        let names: string[];
        try {
          names = readdirSync(base);
        } catch {
          continue;
        }
        for (const name of names.sort())
          if (re.test(name) && !name.startsWith('.')) next.push(path.join(base, name));
      }
    }
    bases = next;
  }
  return bases;
}

export interface SerialDevice {
  /** The path as matched (a by-id link is kept for the logs: it names the adapter). */
  path: string;
  /** The character device it resolves to: one reader per device, however many links name it. */
  device: string;
}

/** Character devices the patterns name now; a dangling link (the device is gone) is absent. */
export function findSerialDevices(patterns: readonly string[]): SerialDevice[] {
  const byDevice = new Map<string, SerialDevice>();
  for (const pattern of patterns) {
    for (const candidate of expandPattern(pattern)) {
      try {
        if (!statSync(candidate).isCharacterDevice()) continue;
        const device = realpathSync(candidate);
        if (!byDevice.has(device)) byDevice.set(device, { path: candidate, device });
      } catch {
        // Vanished between readdir and stat, or a dangling link: not there.
      }
    }
  }
  return [...byDevice.values()];
}

/** Whether the path still resolves to the character device it named when it was found. */
export function namesDevice(d: SerialDevice): boolean {
  try {
    return realpathSync(d.path) === d.device;
  } catch {
    return false;
  }
}

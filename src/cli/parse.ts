import { InvalidArgumentError } from 'commander';

/** Option parsers that reject bad values with a message naming the option and the range. */
export function parseInteger(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
}

/** A decimal number in [min, max] (fractional speeds, distances, intervals). */
export function parseNumber(name: string, min: number, max: number, unit = ''): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\s*-?\d+(\.\d+)?\s*$/.test(value) || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}${unit}, got "${value}"`);
    }
    return n;
  };
}

export function parseRate(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0 || n > 1) {
      throw new InvalidArgumentError(`${name} must be a number from 0 to 1, got "${value}"`);
    }
    return n;
  };
}

export function parseHex(name: string, bytes: number): (value: string) => Buffer {
  return (value) => {
    if (!new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(value)) {
      throw new InvalidArgumentError(`${name} must be ${bytes} bytes as ${bytes * 2} hex digits`);
    }
    return Buffer.from(value, 'hex');
  };
}

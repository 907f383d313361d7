// The caller-ID vectors of shared/reference/protocols.md, copied byte for byte, and small helpers.

import { concatBytes } from '../../../drivers/common/bytes.js';

/** Hex text (spaces allowed) to bytes. Deliberately independent of drivers/callerid/frame.ts parseHex. */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, '');
  return Uint8Array.from({ length: digits.length / 2 }, (_, i) => parseInt(digits.slice(2 * i, 2 * i + 2), 16));
}

/** Channel seizure (0x55 bytes) and marks (0xFF) as a decoder chip may put them before a message. */
export const SEIZURE = concatBytes(new Uint8Array(30).fill(0x55), new Uint8Array(8).fill(0xff));

export const VECTORS = {
  /** SDMF 03/21 14:05 2125551234 */
  sdmf: '04 12 30 33 32 31 31 34 30 35 32 31 32 35 35 35 31 32 33 34 5C',
  /** MDMF date + number 2125551234 + name "ACME HARDWARE" */
  mdmf: '80 25 01 08 30 33 32 31 31 34 30 35 02 0A 32 31 32 35 35 35 31 32 33 34 07 0D 41 43 4D 45 20 48 41 52 44 57 41 52 45 20',
  /** MDMF private number and name (12/25 09:30) */
  mdmfPrivate: '80 10 01 08 31 32 32 35 30 39 33 30 04 01 50 08 01 50 23',
  /** the widely copied bad vector: checksum wrong, must be rejected */
  bad: '80 20 01 08 30 33 32 34 30 39 30 32 07 08 4A 4F 48 4E 20 44 4F 45 02 0A 38 30 30 35 35 35 31 32 31 32 7D',
} as const;

export const EXPECTED = {
  sdmf: { format: 'sdmf', number: '2125551234', name: null, numberAbsent: null, nameAbsent: null, month: 3, day: 21, hour: 14, minute: 5 },
  mdmf: { format: 'mdmf', number: '2125551234', name: 'ACME HARDWARE', numberAbsent: null, nameAbsent: null, month: 3, day: 21, hour: 14, minute: 5 },
  mdmfPrivate: { format: 'mdmf', number: null, name: null, numberAbsent: 'private', nameAbsent: 'private', month: 12, day: 25, hour: 9, minute: 30 },
} as const;

/** [type][len][payload][checksum] built here, independently of the code under test. */
export function message(type: number, payload: number[] | Uint8Array): Uint8Array {
  const bytes = [type, payload.length, ...payload];
  const sum = bytes.reduce((a, b) => a + b, 0);
  return Uint8Array.from([...bytes, (256 - (sum % 256)) % 256]);
}

export function ascii(text: string): number[] {
  return Array.from(text, (c) => c.charCodeAt(0));
}

/** MDMF parameters [param][len][data]... */
export function params(...list: Array<[number, string | number[]]>): number[] {
  return list.flatMap(([p, data]) => {
    const bytes = typeof data === 'string' ? ascii(data) : data;
    return [p, bytes.length, ...bytes];
  });
}

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const FIXTURE_DIR = fileURLToPath(new URL('../../fixtures/hid/', import.meta.url));

/** Bytes from hex text: whitespace between bytes, '#' starts a comment. */
export function hex(text: string): Uint8Array {
  const digits = text
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .join(' ')
    .trim();
  if (digits === '') return new Uint8Array(0);
  return Uint8Array.from(digits.split(/\s+/), (pair) => {
    if (!/^[0-9a-fA-F]{2}$/.test(pair)) throw new Error(`bad hex byte '${pair}'`);
    return parseInt(pair, 16);
  });
}

export function toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** A descriptor from test/fixtures/hid/<name>.hex. */
export function loadDescriptor(name: 'speakerphone' | 'headset' | 'keypad'): Uint8Array {
  return hex(readFileSync(`${FIXTURE_DIR}${name}.hex`, 'utf8'));
}

/** The reference descriptor exactly as shared/reference/protocols.md prints it. */
export const REFERENCE_FROM_PROTOCOLS_MD = `
05 0B 09 05 A1 01 85 02 05 0B 15 00 25 01 09 20 09 97 75 01 95 02 81 22 09 2F 09 21 09 70 09 50
75 01 95 04 81 06 09 06 A1 02 19 B0 29 BB 15 00 25 0C 75 04 95 01 81 40 C0 09 07 15 00 25 01 05 09
75 01 95 01 81 02 75 01 95 05 81 01 05 08 15 00 25 01 09 17 09 09 09 18 09 20 09 21 75 01 95 05 91 22
05 0B 15 00 25 01 09 9E 75 01 95 01 91 22 75 01 95 0A 91 01 C0
`;

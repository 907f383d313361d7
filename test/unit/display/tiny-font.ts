import { type BitmapFont, fontFromHex } from '../../../src/display/font.js';
export { seededRandom } from '../../support/random.js';

/** A few real Unifont glyphs (and one made-up upper-plane glyph) for tests that need no file. */
export const TINY_GLYPHS = {
  space: '0020:00000000000000000000000000000000',
  A: '0041:0000000018242442427E424242420000',
  B: '0042:000000007C4242427C424242427C0000',
  e: '0065:0000000000003C42427E4040423C0000',
  combiningAcute: '0301:0C300000000000000000000000000000',
  ellipsis: '2026:00000000000000000000000049490000',
  wang: '738B:00007FFC010001000100010001003FF8010001000100010001000100FFFE0000',
  // Not Unifont's: a 16x16 box with both diagonals, for U+1F600 (beyond the BMP).
  grinning: '1F600:FFFF8001C003A005900988118421824181818241842188119009A005C003FFFF',
  replacement: 'FFFD:0000007E665A5A7A76767E76767E0000',
} as const;

export function tinyHex(options: { replacement?: boolean; ellipsis?: boolean } = {}): string {
  return Object.entries(TINY_GLYPHS)
    .filter(([name]) => (name !== 'replacement' || options.replacement !== false) && (name !== 'ellipsis' || options.ellipsis !== false))
    .map(([, line]) => line)
    .join('\n') + '\n';
}

export function tinyFont(options: { replacement?: boolean; ellipsis?: boolean } = {}): BitmapFont {
  return fontFromHex(tinyHex(options), 'tiny test font');
}

/** The row bytes of a .hex line's bitmap. */
export function hexRows(line: string): Uint8Array {
  return Uint8Array.from(Buffer.from(line.split(':')[1], 'hex'));
}


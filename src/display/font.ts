import { readFile } from 'node:fs/promises';
import { DisplayError } from './errors.js';

/**
 * Bitmap fonts in GNU Unifont's `.hex` format.
 *
 * The .hex format (Unifont's "unifont.hex", one glyph per line):
 *
 *   CODEPOINT:BITMAP
 *
 * - CODEPOINT is the Unicode scalar value in hexadecimal: 4 digits in the BMP files ("0041"),
 *   up to 6 in the upper-plane files ("1F600").
 * - BITMAP is the glyph, 16 rows from top to bottom, each row as 2 hex digits (8 px wide glyph,
 *   32 digits in all) or 4 hex digits (16 px wide glyph, 64 digits in all); the most significant
 *   bit of a row is its leftmost pixel and a set bit is an "ink" pixel.
 * - Lines are sorted by code point in the files Unifont ships, but nothing here relies on it.
 *
 * Unifont also has 24 and 32 px wide glyphs (96 and 128 digits) for a few scripts in its
 * upper-plane files; this display stack only lays out 8 and 16 px cells and skips them (the
 * code point then renders as the replacement glyph). Blank lines and `#` comment lines, which
 * some tools emit, are skipped too; anything else that is not a glyph line is FONT_INVALID.
 *
 * Storage: the whole file is decoded at load time into one compact byte array (1 byte per
 * row of an 8 px glyph, 2 bytes per row of a 16 px glyph: about 1.7 MB for all of the BMP)
 * plus a sorted code point index (8 bytes + 1 per glyph). The row bytes use the .hex bit order
 * unchanged, so a glyph's `rows` is a view into that array: lookups copy nothing.
 */

/** Where Debian's `unifont` package installs the BMP font. */
export const DEFAULT_UNIFONT_PATH = '/usr/share/unifont/unifont.hex';

/** Every glyph of a .hex font is 16 rows tall. */
export const GLYPH_HEIGHT = 16;

export interface Glyph {
  /** Advance and cell width in pixels: 8 (Latin, ...) or 16 (CJK, Hangul, ...). */
  readonly width: 8 | 16;
  /**
   * 16 rows, top first, `width / 8` bytes per row, MSB = leftmost pixel, set bit = ink.
   * A view into the font's storage: read it, never write it.
   */
  readonly rows: Uint8Array;
}

/**
 * How a code point takes part in a line of text.
 * - `spacing`: drawn at the pen, which then advances by the glyph width;
 * - `combining`: a nonspacing/enclosing mark (Unicode Mn/Me). Zero advance; Unifont draws
 *   these glyphs where they sit over the preceding cell (its plane00-combining.txt offset is
 *   minus the glyph width for most marks), so they are overlaid on the cell before the pen;
 * - `ignored`: default-ignorable code points (ZWJ, ZWSP, variation selectors, BOM, soft hyphen):
 *   not drawn at all (Unifont's glyphs for them are the dashed "show invisible" boxes).
 */
export type GlyphKind = 'spacing' | 'combining' | 'ignored';

const IGNORABLE = /^\p{Default_Ignorable_Code_Point}$/u;
const COMBINING = /^[\p{Mn}\p{Me}]$/u;

export function glyphKind(codePoint: number): GlyphKind {
  // Fast path: ASCII, Latin-1 and the Latin/IPA blocks below U+0300 hold no marks, and the soft
  // hyphen is their only default-ignorable code point.
  if (codePoint < 0x300) return codePoint === 0xad ? 'ignored' : 'spacing';
  const ch = String.fromCodePoint(codePoint);
  if (IGNORABLE.test(ch)) return 'ignored';
  if (COMBINING.test(ch)) return 'combining';
  return 'spacing';
}

/** Drawn for code points the font lacks when it has no U+FFFD either: a hollow box. */
const BOX_GLYPH: Glyph = Object.freeze({
  width: 8,
  rows: Uint8Array.from([0x00, 0x00, 0x7e, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x7e, 0x00, 0x00]),
});

const REPLACEMENT_CHARACTER = 0xfffd;

/** One glyph of a laid-out line: where its cell starts relative to the line's start. */
export interface PlacedGlyph {
  codePoint: number;
  glyph: Glyph;
  /** Left edge of the glyph cell; for a combining mark, the cell it is overlaid on. */
  x: number;
  /** A combining mark: draw only its ink, over whatever is already there. */
  overlay: boolean;
}

/**
 * A 16 px tall bitmap font with 8 and 16 px wide glyphs. Build one with `loadUnifont()` or
 * `fontFromHex()`; the constructor takes the already decoded tables.
 */
export class BitmapFont {
  readonly height = GLYPH_HEIGHT;
  /** Drawn for code points the font does not cover: its U+FFFD, else a hollow box. */
  readonly replacement: Glyph;

  /**
   * @param codePoints sorted ascending, unique
   * @param offsets byte offset of each glyph's rows in `store`
   * @param wide 1 where the glyph is 16 px wide, 0 where it is 8 px wide
   * @param store every glyph's rows
   * @param source file name or description, for messages
   */
  constructor(
    private readonly codePoints: Uint32Array,
    private readonly offsets: Uint32Array,
    private readonly wide: Uint8Array,
    private readonly store: Uint8Array,
    readonly source = 'inline font',
  ) {
    this.replacement = this.lookup(REPLACEMENT_CHARACTER) ?? BOX_GLYPH;
  }

  /** Number of glyphs in the font. */
  get glyphCount(): number {
    return this.codePoints.length;
  }

  /** Bytes held by the decoded font (glyph rows plus index). */
  get byteSize(): number {
    return this.store.byteLength + this.codePoints.byteLength + this.offsets.byteLength + this.wide.byteLength;
  }

  has(codePoint: number): boolean {
    return this.indexOf(codePoint) >= 0;
  }

  /** The glyph for a code point, or `replacement` when the font has none. */
  glyph(codePoint: number): Glyph {
    return this.lookup(codePoint) ?? this.replacement;
  }

  /** Pixels the pen advances for this code point (0 for combining marks and ignorables). */
  advance(codePoint: number): number {
    return glyphKind(codePoint) === 'spacing' ? this.glyph(codePoint).width : 0;
  }

  /** Width of a line of text in pixels. Iterates by code point, so surrogate pairs count once. */
  textWidth(text: string): number {
    let width = 0;
    for (const ch of text) width += this.advance(ch.codePointAt(0)!);
    return width;
  }

  /** The glyphs of a line of text with their positions, pen starting at x = 0. */
  layout(text: string): PlacedGlyph[] {
    const placed: PlacedGlyph[] = [];
    let pen = 0;
    for (const ch of text) {
      const codePoint = ch.codePointAt(0)!;
      const kind = glyphKind(codePoint);
      if (kind === 'ignored') continue;
      const glyph = this.glyph(codePoint);
      if (kind === 'combining') {
        placed.push({ codePoint, glyph, x: pen - glyph.width, overlay: true });
      } else {
        placed.push({ codePoint, glyph, x: pen, overlay: false });
        pen += glyph.width;
      }
    }
    return placed;
  }

  private lookup(codePoint: number): Glyph | undefined {
    const index = this.indexOf(codePoint);
    if (index < 0) return undefined;
    const width = this.wide[index] ? 16 : 8;
    const offset = this.offsets[index];
    return { width, rows: this.store.subarray(offset, offset + (width / 8) * GLYPH_HEIGHT) };
  }

  private indexOf(codePoint: number): number {
    const cps = this.codePoints;
    let lo = 0;
    let hi = cps.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const value = cps[mid];
      if (value === codePoint) return mid;
      if (value < codePoint) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}

/**
 * Load a .hex font file (by default Debian's GNU Unifont).
 * Throws DisplayError FONT_NOT_FOUND (with the install hint), FONT_READ_FAILED or FONT_INVALID.
 */
export async function loadUnifont(path: string = DEFAULT_UNIFONT_PATH): Promise<BitmapFont> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new DisplayError(
        'FONT_NOT_FOUND',
        `display font ${path} not found: install the Debian package 'unifont' (apt-get install unifont)`,
        { cause: err },
      );
    }
    throw new DisplayError('FONT_READ_FAILED', `cannot read display font ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseHex(bytes, path);
}

/** Build a font from .hex text (or its bytes), e.g. a few inline glyphs in a test. */
export function fontFromHex(hex: string | Uint8Array, source = 'inline font'): BitmapFont {
  return parseHex(typeof hex === 'string' ? new TextEncoder().encode(hex) : hex, source);
}

/** Value of an ASCII hex digit by byte, -1 for any other byte. */
const HEX_VALUE = (() => {
  const table = new Int8Array(256).fill(-1);
  for (let i = 0; i < 10; i++) table[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    table[0x41 + i] = 10 + i;
    table[0x61 + i] = 10 + i;
  }
  return table;
})();

/**
 * Value of a pair of ASCII hex digits, indexed by `first << 8 | second`, -1 if either is not a
 * hex digit: one lookup per row byte keeps decoding the 3.6 M digits of Unifont quick.
 */
const HEX_PAIR_VALUE = (() => {
  const table = new Int16Array(65536).fill(-1);
  for (let high = 0; high < 256; high++) {
    if (HEX_VALUE[high] < 0) continue;
    for (let low = 0; low < 256; low++) {
      if (HEX_VALUE[low] >= 0) table[(high << 8) | low] = (HEX_VALUE[high] << 4) | HEX_VALUE[low];
    }
  }
  return table;
})();

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const COLON = 0x3a;
const HASH = 0x23;
/** The shortest glyph line: "0:" + 32 digits + "\n". */
const MIN_LINE_BYTES = 35;

function parseHex(bytes: Uint8Array, source: string): BitmapFont {
  const length = bytes.length;
  // Upper bounds, trimmed at the end: at most one glyph per MIN_LINE_BYTES, at most one row byte
  // per two digits.
  const maxGlyphs = Math.floor((length + 1) / MIN_LINE_BYTES) + 1;
  let codePoints = new Uint32Array(maxGlyphs);
  let offsets = new Uint32Array(maxGlyphs);
  let wide = new Uint8Array(maxGlyphs);
  const scratch = new Uint8Array(Math.floor(length / 2) + 1);
  let count = 0;
  let stored = 0;
  let sorted = true;
  let lineNumber = 0;

  for (let start = 0; start < length; ) {
    lineNumber++;
    let end = bytes.indexOf(LF, start);
    if (end < 0) end = length;
    const next = end + 1;
    // Tolerate CRLF and trailing blanks.
    while (end > start && (bytes[end - 1] === CR || bytes[end - 1] === SPACE || bytes[end - 1] === TAB)) end--;
    if (end === start || bytes[start] === HASH) {
      start = next;
      continue;
    }

    // CODEPOINT, up to the colon.
    let codePoint = 0;
    let pos = start;
    for (; pos < end && bytes[pos] !== COLON; pos++) {
      const digit = HEX_VALUE[bytes[pos]];
      if (digit < 0) throw invalid(source, lineNumber, 'code point is not hexadecimal');
      if (pos - start >= 6) throw invalid(source, lineNumber, 'code point has more than 6 digits');
      codePoint = codePoint * 16 + digit;
    }
    if (pos === start) throw invalid(source, lineNumber, 'missing code point before ":"');
    if (pos === end) throw invalid(source, lineNumber, 'missing ":" between code point and bitmap');
    if (codePoint > 0x10ffff) throw invalid(source, lineNumber, `code point ${codePoint.toString(16)} is beyond U+10FFFF`);
    pos++;

    // BITMAP: 32 digits = 8x16, 64 digits = 16x16 (96/128 = 24x16/32x16, skipped).
    const digits = end - pos;
    if (digits !== 32 && digits !== 64) {
      if (digits === 96 || digits === 128) {
        start = next;
        continue;
      }
      throw invalid(source, lineNumber, `bitmap has ${digits} hex digits, expected 32 (8x16) or 64 (16x16)`);
    }
    for (let out = stored; pos < end; pos += 2, out++) {
      const value = HEX_PAIR_VALUE[(bytes[pos] << 8) | bytes[pos + 1]];
      if (value < 0) throw invalid(source, lineNumber, 'bitmap is not hexadecimal');
      scratch[out] = value;
    }
    if (count > 0 && codePoint <= codePoints[count - 1]) sorted = false;
    codePoints[count] = codePoint;
    offsets[count] = stored;
    wide[count] = digits === 64 ? 1 : 0;
    count++;
    stored += digits / 2;
    start = next;
  }

  if (!sorted) {
    // Sort by code point; for a code point defined twice the later line wins (as when a
    // second file is appended to override glyphs).
    const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => codePoints[a] - codePoints[b] || a - b);
    const keep = order.filter((index, i) => i + 1 === order.length || codePoints[order[i + 1]] !== codePoints[index]);
    codePoints = Uint32Array.from(keep, (i) => codePoints[i]);
    offsets = Uint32Array.from(keep, (i) => offsets[i]);
    wide = Uint8Array.from(keep, (i) => wide[i]);
    count = keep.length;
  }

  return new BitmapFont(codePoints.slice(0, count), offsets.slice(0, count), wide.slice(0, count), scratch.slice(0, stored), source);
}

function invalid(source: string, lineNumber: number, why: string): DisplayError {
  return new DisplayError('FONT_INVALID', `${source} line ${lineNumber}: ${why}`);
}

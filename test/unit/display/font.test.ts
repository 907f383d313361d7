import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { DisplayError } from '../../../src/display/errors.js';
import { type BitmapFont, DEFAULT_UNIFONT_PATH, fontFromHex, glyphKind, loadUnifont } from '../../../src/display/font.js';
import { TINY_GLYPHS, hexRows, tinyFont } from './tiny-font.js';

function thrown(fn: () => unknown): DisplayError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DisplayError);
    return err as DisplayError;
  }
  throw new Error('expected a DisplayError');
}

describe('fontFromHex (.hex parsing)', () => {
  const font = tinyFont();

  it('decodes 8 px wide glyphs: 32 digits, one byte per row', () => {
    const glyph = font.glyph(0x41);
    expect(glyph.width).toBe(8);
    expect(glyph.rows).toHaveLength(16);
    expect(Array.from(glyph.rows)).toEqual(Array.from(hexRows(TINY_GLYPHS.A)));
    // Row 5 of 'A' is 0x24: pixels 2 and 5 set, MSB = leftmost.
    expect(glyph.rows[5]).toBe(0b00100100);
  });

  it('decodes 16 px wide glyphs: 64 digits, two bytes per row', () => {
    const glyph = font.glyph(0x738b);
    expect(glyph.width).toBe(16);
    expect(glyph.rows).toHaveLength(32);
    expect(Array.from(glyph.rows)).toEqual(Array.from(hexRows(TINY_GLYPHS.wang)));
    // The bottom stroke of 王: row 14 is FFFE.
    expect([glyph.rows[28], glyph.rows[29]]).toEqual([0xff, 0xfe]);
  });

  it('holds code points beyond the BMP and iterates strings by code point', () => {
    expect(font.has(0x1f600)).toBe(true);
    expect(font.glyph(0x1f600).width).toBe(16);
    expect(Array.from(font.glyph(0x1f600).rows)).toEqual(Array.from(hexRows(TINY_GLYPHS.grinning)));
    // '😀' is a surrogate pair in JS: one 16 px glyph, not two replacement glyphs.
    expect(font.textWidth('A😀')).toBe(24);
    expect(font.layout('😀A').map((g) => [g.codePoint, g.x])).toEqual([[0x1f600, 0], [0x41, 16]]);
  });

  it('draws the font\'s U+FFFD for code points it lacks, including upper-plane ones', () => {
    expect(font.has(0x4e00)).toBe(false);
    expect(font.glyph(0x4e00)).toEqual(font.glyph(0xfffd));
    expect(font.glyph(0x1f601)).toEqual(font.glyph(0xfffd));
    expect(font.replacement.width).toBe(8);
    expect(font.textWidth('\u{1F601}')).toBe(8);
    // A lone surrogate is not a character either.
    expect(font.glyph(0xd83d)).toEqual(font.replacement);
  });

  it('draws a box when the font has no U+FFFD either', () => {
    const bare = tinyFont({ replacement: false });
    expect(bare.has(0xfffd)).toBe(false);
    const box = bare.glyph(0x4e00);
    expect(box.width).toBe(8);
    expect(box.rows.some((row) => row !== 0)).toBe(true);
    expect(Array.from(box.rows)).not.toEqual(Array.from(font.glyph(0xfffd).rows));
  });

  it('gives combining marks and default-ignorable code points no advance', () => {
    expect(glyphKind(0x41)).toBe('spacing');
    expect(glyphKind(0x301)).toBe('combining');
    expect(glyphKind(0x200d)).toBe('ignored');
    expect(glyphKind(0xfe0f)).toBe('ignored');
    expect(glyphKind(0xad)).toBe('ignored');
    expect(glyphKind(0x738b)).toBe('spacing');
    expect(font.textWidth('e\u0301')).toBe(8);
    expect(font.textWidth('A\u200dB\ufe0f')).toBe(16);
    // The mark is overlaid on the cell of the character before it.
    expect(font.layout('Ae\u0301').map((g) => [g.codePoint, g.x, g.overlay])).toEqual([
      [0x41, 0, false],
      [0x65, 8, false],
      [0x301, 8, true],
    ]);
  });

  it('measures mixed text: 8 px Latin, 16 px CJK', () => {
    expect(font.textWidth('')).toBe(0);
    expect(font.textWidth('AB')).toBe(16);
    expect(font.textWidth('A王B')).toBe(32);
    expect(font.advance(0x738b)).toBe(16);
  });

  it('accepts CRLF, lower-case hex, blank and comment lines, 6-digit code points', () => {
    const parsed = fontFromHex('# test\r\n\r\n0041:0000000018242442427e424242420000\r\n01F600:' + '0'.repeat(64) + '  \r\n');
    expect(parsed.glyphCount).toBe(2);
    expect(Array.from(parsed.glyph(0x41).rows)).toEqual(Array.from(hexRows(TINY_GLYPHS.A)));
    expect(parsed.glyph(0x1f600).width).toBe(16);
  });

  it('sorts unsorted input and lets a later line override an earlier one', () => {
    const parsed = fontFromHex([TINY_GLYPHS.wang, TINY_GLYPHS.B, `0042:${'F'.repeat(32)}`, TINY_GLYPHS.A].join('\n'));
    expect(parsed.glyphCount).toBe(3);
    expect(Array.from(parsed.glyph(0x41).rows)).toEqual(Array.from(hexRows(TINY_GLYPHS.A)));
    expect(Array.from(parsed.glyph(0x42).rows)).toEqual(new Array(16).fill(0xff));
    expect(parsed.glyph(0x738b).width).toBe(16);
  });

  it('skips 24 and 32 px wide glyphs, which the display cannot lay out', () => {
    const parsed = fontFromHex(`${TINY_GLYPHS.A}\n12000:${'0'.repeat(96)}\n12001:${'0'.repeat(128)}\n`);
    expect(parsed.glyphCount).toBe(1);
    expect(parsed.has(0x12000)).toBe(false);
  });

  it.each([
    ['a non-hex code point', 'G041:0000000018242442427E424242420000', /line 2: code point is not hexadecimal/],
    ['a missing colon', '0041', /line 2: missing ":"/],
    ['a missing code point', ':0000000018242442427E424242420000', /line 2: missing code point/],
    ['a code point beyond U+10FFFF', '110000:0000000018242442427E424242420000', /beyond U\+10FFFF/],
    ['a short bitmap', '0041:0000000018242442427E4242420000', /line 2: bitmap has 30 hex digits/],
    ['a non-hex bitmap', '0041:0000000018242442427E42424242000X', /line 2: bitmap is not hexadecimal/],
  ])('rejects %s with FONT_INVALID and the line number', (_what, line, message) => {
    const error = thrown(() => fontFromHex(`${TINY_GLYPHS.B}\n${line}\n`, 'bad.hex'));
    expect(error.code).toBe('FONT_INVALID');
    expect(error.message).toMatch(/^bad\.hex line \d+/);
    expect(error.message).toMatch(message);
  });
});

describe('loadUnifont', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'deskline-font-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('throws FONT_NOT_FOUND telling to install the Debian package when the file is missing', async () => {
    const missing = join(scratch, 'nowhere', 'unifont.hex');
    const error = await loadUnifont(missing).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(DisplayError);
    expect((error as DisplayError).code).toBe('FONT_NOT_FOUND');
    expect((error as DisplayError).message).toContain(missing);
    expect((error as DisplayError).message).toContain('apt-get install unifont');
  });

  it('throws FONT_READ_FAILED for a path that exists but is not a readable file', async () => {
    await expect(loadUnifont(scratch)).rejects.toMatchObject({ code: 'FONT_READ_FAILED' });
  });

  describe(`the real ${DEFAULT_UNIFONT_PATH}`, () => {
    let font: BitmapFont;
    let loadMs: number;
    let lines: Map<string, string>;
    beforeAll(async () => {
      const started = performance.now();
      font = await loadUnifont();
      loadMs = performance.now() - started;
      const text = await readFile(DEFAULT_UNIFONT_PATH, 'latin1');
      lines = new Map(text.split('\n').filter(Boolean).map((line) => [line.slice(0, line.indexOf(':')), line]));
    });

    it('loads every glyph quickly and compactly', () => {
      expect(font.glyphCount).toBe(lines.size);
      expect(font.glyphCount).toBeGreaterThan(50_000);
      // Decoded: about 1.7 MB of rows plus the index, much less than the 3.7 MB of hex text.
      expect(font.byteSize).toBeLessThan(2.5 * 1024 * 1024);
      // Typically ~50 ms here; the bound only catches a pathological regression on a busy CI box.
      expect(loadMs).toBeLessThan(1000);
    });

    it.each([
      ['A', 0x41, 8, '0041'],
      ['王', 0x738b, 16, '738B'],
      ['한', 0xd55c, 16, 'D55C'],
      ['…', 0x2026, 8, '2026'],
    ])('has %s (code point %i) with the file\'s bits and width', (ch, codePoint, width, key) => {
      expect(ch.codePointAt(0)).toBe(codePoint);
      expect(font.has(codePoint)).toBe(true);
      const glyph = font.glyph(codePoint);
      expect(glyph.width).toBe(width);
      expect(Array.from(glyph.rows)).toEqual(Array.from(hexRows(lines.get(key)!)));
    });

    it('replaces what it lacks (the BMP file has no emoji) with its U+FFFD', () => {
      expect(font.has(0x1f600)).toBe(false);
      expect(Array.from(font.glyph(0x1f600).rows)).toEqual(Array.from(hexRows(lines.get('FFFD')!)));
      expect(font.textWidth('Wang Li 王丽 😀')).toBe(8 * 8 + 2 * 16 + 8 + 8);
    });
  });
});

import { describe, expect, it } from '@jest/globals';
import { decodeEscPos } from '../../../../../drivers/printer/virtual/decoder.js';
import { qrMatrix, renderPaperPng, renderPaperSvg } from '../../../../../drivers/printer/virtual/render.js';
import type { DecodedPaper, TextStyle } from '../../../../../drivers/printer/virtual/types.js';

const plain: TextStyle = { bold: false, underline: 0, invert: false, width: 1, height: 1, align: 'left' };

/** ISO/IEC 18004 table 7: byte-mode capacity of versions 1..5 per error correction level */
const BYTE_CAPACITY: Record<'L' | 'M' | 'Q' | 'H', number[]> = {
  L: [17, 32, 53, 78, 106],
  M: [14, 26, 42, 62, 84],
  Q: [11, 20, 32, 46, 60],
  H: [7, 14, 24, 34, 44],
};
const expectedModules = (payload: string, level: 'L' | 'M' | 'Q' | 'H'): number =>
  17 + 4 * (BYTE_CAPACITY[level].findIndex((c) => c >= Buffer.byteLength(payload)) + 1);

const pngSize = (png: Buffer): { width: number; height: number } => {
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
};

describe('renderPaperSvg', () => {
  const paper: DecodedPaper = {
    items: [
      { kind: 'text', text: 'Wang Li & Co <3>', style: { ...plain, bold: true, align: 'center' } },
      { kind: 'text', text: '测试 한국', style: plain, spans: [{ text: '测试 한국', style: plain, x: 0, cjk: true }] },
      { kind: 'text', text: 'INV', style: { ...plain, invert: true, underline: 2 } },
      { kind: 'qr', payload: 'https://maps.example.com/?q=12 Garden Rd', size: 4, errorCorrection: 'M', align: 'center' },
      { kind: 'image', width: 8, height: 2, bits: Uint8Array.of(0xf0, 0x0f), align: 'left' },
      { kind: 'feed', lines: 1, dots: 0 },
      { kind: 'drawer', pin: 2, onMs: 50, offMs: 500 },
      { kind: 'cut', partial: true },
    ],
    unknown: [],
  };

  it('draws the texts (escaped), a QR group, the image, the drawer note and a dashed cut with scissors', () => {
    const svg = renderPaperSvg(paper, { paperWidthMm: 80 });
    expect(svg).toContain('>Wang Li &amp; Co &lt;3&gt;</text>');
    expect(svg).toContain('>测试 한국</text>');
    expect(svg).toMatch(/<rect [^>]*fill="#000"\/>\s*<text [^>]*fill="#fff"[^>]*>INV<\/text>/);
    expect(svg).toContain('data-payload="https://maps.example.com/?q=12 Garden Rd"');
    expect(svg).toContain('<g class="image" data-width="8" data-height="2"><path d="M0 ');
    expect(svg).toContain('[drawer kick: pin 2, 50 ms]');
    expect(svg).toMatch(/<g class="cut" data-partial="true"><line [^>]*stroke-dasharray="2 4"\/><text [^>]*>\u2702<\/text>/);
    expect(svg).toMatch(/^<svg [^>]*width="576"/);
  });

  it('CJK text cells are double width: textLength counts 24 dots per Hanzi/Hangul and 12 per space', () => {
    const svg = renderPaperSvg(paper, { paperWidthMm: 58 });
    expect(svg).toMatch(/textLength="108"[^>]*>测试 한국</);
  });

  it.each([
    ['hi', 'H'],
    ['https://maps.example.com/?q=12 Garden Rd', 'M'],
    ['x'.repeat(60), 'L'],
    ['王力, 12 Garden Rd', 'Q'],
  ] as const)('the QR for %j at level %s has the module count of its version', (payload, level) => {
    const svg = renderPaperSvg({ items: [{ kind: 'qr', payload, size: 3, errorCorrection: level, align: 'left' }], unknown: [] }, { paperWidthMm: 58 });
    const modules = expectedModules(payload, level);
    expect(svg).toContain(`data-modules="${modules}"`);
    // the three finder patterns: dark 7-module rings at three corners, light at the fourth
    const m = qrMatrix(payload, level);
    expect(m).toHaveLength(modules);
    for (const [r, c] of [[0, 0], [0, modules - 7], [modules - 7, 0]]) {
      expect([m[r][c], m[r + 6][c + 6], m[r + 3][c + 3], m[r + 1][c + 1]]).toEqual([1, 1, 1, 0]);
    }
    // timing pattern on row 6 alternates between the finders
    expect(Array.from(m[6].subarray(8, modules - 8))).toEqual(Array.from({ length: modules - 16 }, (_, i) => (i % 2 === 0 ? 1 : 0)));
  });

  it('refuses a paper width other than 58 or 80 mm with a typed error', () => {
    expect(() => renderPaperSvg(paper, { paperWidthMm: 60 as 58 })).toThrow(expect.objectContaining({ code: 'DRIVER_INVALID_ARGUMENT' }));
  });
});

describe('renderPaperPng', () => {
  it('is 384 dots wide on 58 mm paper and 576 on 80 mm (203 dpi)', () => {
    const paper = decodeEscPos(Buffer.from('1b401b6101' + Buffer.from('Delivery').toString('hex') + '0a1d564200', 'hex'));
    const p58 = pngSize(renderPaperPng(renderPaperSvg(paper, { paperWidthMm: 58 })));
    const p80 = pngSize(renderPaperPng(renderPaperSvg(paper, { paperWidthMm: 80 })));
    expect(p58.width).toBe(384);
    expect(p80.width).toBe(576);
    expect(p58.height).toBe(p80.height);
    expect(p58.height).toBeGreaterThan(30);
  });
});

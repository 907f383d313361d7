import { describe, it, expect } from '@jest/globals';
import type { BitmapRegion } from '../../../drivers/mcu/types.js';
import { SimDisplay } from '../../../drivers/mcu/sim.js';
import { DisplayError } from '../../../src/display/errors.js';
import type { Glyph } from '../../../src/display/font.js';
import { Framebuffer } from '../../../src/display/framebuffer.js';
import { seededRandom, tinyFont } from './tiny-font.js';

const font = tinyFont();

/** The framebuffer as text, '#' = on, one string per row (readable failure diffs). */
function picture(fb: Framebuffer, x = 0, y = 0, width = fb.width, height = fb.height): string[] {
  return Array.from({ length: height }, (_, row) =>
    Array.from({ length: width }, (_, col) => (fb.getPixel(x + col, y + row) ? '#' : '.')).join(''),
  );
}

/** A glyph as the same kind of picture, optionally inverted. */
function glyphPicture(glyph: Glyph, inverse = false): string[] {
  const bytesPerRow = glyph.width / 8;
  return Array.from({ length: 16 }, (_, row) =>
    Array.from({ length: glyph.width }, (_, col) => {
      const on = (glyph.rows[row * bytesPerRow + (col >> 3)] & (0x80 >> (col & 7))) !== 0;
      return on !== inverse ? '#' : '.';
    }).join(''),
  );
}

function countOn(fb: Framebuffer): number {
  return picture(fb).join('').split('#').length - 1;
}

describe('Framebuffer pixels', () => {
  it('rejects sizes that are not positive integers', () => {
    for (const [w, h] of [[0, 10], [10, -1], [10.5, 10]]) {
      expect(() => new Framebuffer(w, h)).toThrow(DisplayError);
    }
  });

  it('uses the wire layout: rows padded to bytes, MSB = leftmost pixel', () => {
    const fb = new Framebuffer(20, 3);
    expect(fb.stride).toBe(3);
    fb.setPixel(0, 0, true);
    fb.setPixel(9, 1, true);
    fb.setPixel(19, 2, true);
    const bits = fb.snapshot();
    expect(Array.from(bits)).toEqual([0x80, 0, 0, 0, 0x40, 0, 0, 0, 0x10]);
    expect(fb.getPixel(9, 1)).toBe(true);
    expect(fb.getPixel(8, 1)).toBe(false);
    fb.setPixel(9, 1, false);
    expect(fb.getPixel(9, 1)).toBe(false);
  });

  it('ignores pixels outside and reads them as off', () => {
    const fb = new Framebuffer(20, 3);
    fb.setPixel(20, 0, true);
    fb.setPixel(-1, 0, true);
    fb.setPixel(0, 3, true);
    expect(countOn(fb)).toBe(0);
    expect(Array.from(fb.snapshot()).every((b) => b === 0)).toBe(true);
    expect(fb.getPixel(-1, 0)).toBe(false);
    expect(fb.getPixel(25, 1)).toBe(false);
  });

  it('fills rectangles across byte boundaries', () => {
    const fb = new Framebuffer(24, 2);
    fb.fillRect(3, 0, 10, 1, true);
    expect(Array.from(fb.snapshot())).toEqual([0x1f, 0xf8, 0, 0, 0, 0]);
    fb.fillRect(5, 0, 2, 1, false);
    expect(Array.from(fb.snapshot().subarray(0, 3))).toEqual([0x19, 0xf8, 0]);
  });

  it('clips rectangles at every edge', () => {
    const fb = new Framebuffer(20, 10);
    fb.fillRect(-5, -5, 10, 10, true);
    expect(countOn(fb)).toBe(25);
    expect(fb.getPixel(4, 4)).toBe(true);
    expect(fb.getPixel(5, 0)).toBe(false);
    fb.fillRect(15, 8, 100, 100, true);
    expect(countOn(fb)).toBe(25 + 5 * 2);
    expect(fb.snapshot()[9 * 3 + 2] & 0x0f).toBe(0); // padding bits stay clear
    fb.clear(true);
    expect(countOn(fb)).toBe(200);
    fb.clear();
    expect(countOn(fb)).toBe(0);
  });
});

describe('Framebuffer.drawText', () => {
  it('draws glyph cells at the pen position and returns the advance', () => {
    const fb = new Framebuffer(64, 20);
    expect(fb.drawText(font, 4, 2, 'AB')).toBe(16);
    expect(picture(fb, 4, 2, 8, 16)).toEqual(glyphPicture(font.glyph(0x41)));
    expect(picture(fb, 12, 2, 8, 16)).toEqual(glyphPicture(font.glyph(0x42)));
    expect(countOn(fb)).toBe(glyphPicture(font.glyph(0x41)).join('').split('#').length - 1 + glyphPicture(font.glyph(0x42)).join('').split('#').length - 1);
  });

  it('advances 16 px for wide glyphs and one glyph per surrogate pair', () => {
    const fb = new Framebuffer(64, 16);
    expect(fb.drawText(font, 0, 0, '王😀A')).toBe(40);
    expect(picture(fb, 0, 0, 16, 16)).toEqual(glyphPicture(font.glyph(0x738b)));
    expect(picture(fb, 16, 0, 16, 16)).toEqual(glyphPicture(font.glyph(0x1f600)));
    expect(picture(fb, 32, 0, 8, 16)).toEqual(glyphPicture(font.glyph(0x41)));
  });

  it('paints opaque cells: normal clears the cell background, inverse fills it', () => {
    const fb = new Framebuffer(32, 16);
    fb.clear(true);
    fb.drawText(font, 8, 0, 'A');
    expect(picture(fb, 8, 0, 8, 16)).toEqual(glyphPicture(font.glyph(0x41)));
    expect(fb.getPixel(7, 5)).toBe(true); // outside the cell: untouched
    expect(fb.getPixel(16, 5)).toBe(true);

    fb.clear();
    fb.drawText(font, 8, 0, 'A', { inverse: true });
    expect(picture(fb, 8, 0, 8, 16)).toEqual(glyphPicture(font.glyph(0x41), true));
    expect(fb.getPixel(7, 5)).toBe(false);
    expect(fb.getPixel(16, 5)).toBe(false);
  });

  it('clips at maxWidth, drawing a straddling glyph in part', () => {
    const unclipped = new Framebuffer(40, 16);
    unclipped.drawText(font, 0, 0, 'AB');
    // 'B' has ink in column 6 of its cell (x = 14): clipping at 12 must remove it.
    expect(unclipped.getPixel(14, 6)).toBe(true);

    const fb = new Framebuffer(40, 16);
    expect(fb.drawText(font, 0, 0, 'AB', { maxWidth: 12 })).toBe(12);
    expect(picture(fb, 0, 0, 12, 16)).toEqual(picture(unclipped, 0, 0, 12, 16));
    expect(picture(fb, 12, 0, 28, 16).join('')).not.toContain('#');

    const inverse = new Framebuffer(40, 16);
    inverse.drawText(font, 0, 0, 'AB', { inverse: true, maxWidth: 12 });
    expect(inverse.getPixel(11, 0)).toBe(true);
    expect(inverse.getPixel(12, 0)).toBe(false);
    expect(fb.drawText(font, 0, 0, 'AB', { maxWidth: 0 })).toBe(0);
  });

  it('clips at the screen edges, including text starting off the left edge', () => {
    const fb = new Framebuffer(20, 10);
    expect(fb.drawText(font, 16, -4, 'AB')).toBe(4);
    const reference = new Framebuffer(20, 10);
    reference.drawText(font, 0, -8, 'B');
    const shifted = new Framebuffer(20, 10);
    expect(shifted.drawText(font, -8, -8, 'AB')).toBe(16);
    expect(picture(shifted)).toEqual(picture(reference));
    // Nothing wrapped to the left edge or below.
    expect(picture(fb, 0, 0, 16, 10).join('')).not.toContain('#');
  });

  it('overlays combining marks on the previous cell and skips ignorables', () => {
    const fb = new Framebuffer(32, 16);
    expect(fb.drawText(font, 0, 0, 'e\u0301\u200dA')).toBe(16);
    const e = glyphPicture(font.glyph(0x65));
    const mark = glyphPicture(font.glyph(0x301));
    const combined = e.map((row, r) => Array.from(row, (px, c) => (px === '#' || mark[r][c] === '#' ? '#' : '.')).join(''));
    expect(picture(fb, 0, 0, 8, 16)).toEqual(combined);
    expect(combined).not.toEqual(e);
    expect(picture(fb, 8, 0, 8, 16)).toEqual(glyphPicture(font.glyph(0x41)));
  });
});

describe('Framebuffer dirty regions', () => {
  function applyAll(target: Framebuffer, regions: BitmapRegion[]): void {
    for (const region of regions) target.applyRegion(region);
  }

  function screenOfText(): Framebuffer {
    const fb = new Framebuffer(240, 128);
    for (let row = 0; row < 8; row++) fb.drawText(font, 0, row * 16, 'AB AB e\u0301 王 AB AB A BBB A', { inverse: row === 3 });
    return fb;
  }

  it('returns the whole screen first, then nothing until something changes', () => {
    const fb = screenOfText();
    const first = fb.takeDirtyRegions();
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ x: 0, y: 0, width: 240, height: 128 });
    expect(Array.from(first[0].bits)).toEqual(Array.from(fb.snapshot()));
    expect(fb.takeDirtyRegions()).toEqual([]);
    // Redrawing identical pixels is no change.
    fb.drawText(font, 0, 0, 'AB AB');
    expect(fb.takeDirtyRegions()).toEqual([]);
  });

  it('reports one character changed as one glyph-sized region', () => {
    const fb = screenOfText();
    const mirror = new Framebuffer(240, 128);
    applyAll(mirror, fb.takeDirtyRegions());
    fb.drawText(font, 16, 32, 'B'); // was 'A'
    const regions = fb.takeDirtyRegions();
    expect(regions).toHaveLength(1);
    const [region] = regions;
    expect(region.x).toBe(16);
    expect(region.width).toBe(8);
    expect(region.y).toBeGreaterThanOrEqual(32);
    expect(region.y + region.height).toBeLessThanOrEqual(48);
    expect(region.bits).toHaveLength(region.height);
    applyAll(mirror, regions);
    expect(mirror.snapshot()).toEqual(fb.snapshot());
  });

  it('keeps changes far apart on the same rows as separate regions', () => {
    const fb = screenOfText();
    fb.takeDirtyRegions();
    fb.setPixel(3, 5, !fb.getPixel(3, 5));
    fb.setPixel(230, 6, !fb.getPixel(230, 6));
    const regions = fb.takeDirtyRegions();
    expect(regions.map(({ x, y, width, height }) => ({ x, y, width, height }))).toEqual([
      { x: 0, y: 5, width: 8, height: 1 },
      { x: 224, y: 6, width: 8, height: 1 },
    ]);
  });

  it('clips the last byte column to the width when it is not a multiple of 8', () => {
    const fb = new Framebuffer(21, 5);
    fb.takeDirtyRegions();
    fb.setPixel(20, 4, true);
    const [region] = fb.takeDirtyRegions();
    expect(region).toMatchObject({ x: 16, y: 4, width: 5, height: 1 });
    expect(Array.from(region.bits)).toEqual([0x08]);
  });

  it('returns the whole screen again after invalidate()', () => {
    const fb = screenOfText();
    fb.takeDirtyRegions();
    fb.invalidate();
    expect(fb.takeDirtyRegions()).toMatchObject([{ x: 0, y: 0, width: 240, height: 128 }]);
  });

  it('reproduces the framebuffer exactly through random edits, in few tight regions', async () => {
    const random = seededRandom(0xdec0de);
    const int = (n: number): number => Math.floor(random() * n);
    const texts = ['A', 'AB', 'BA B', '王A', 'e\u0301e', '😀', 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB', ' '];
    const fb = new Framebuffer(240, 128);
    const mirror = new Framebuffer(240, 128);
    const sim = new SimDisplay(240, 128);
    fb.takeDirtyRegions(); // the initial full screen: all off, as the mirror and display are
    let total = 0;

    for (let step = 0; step < 300; step++) {
      const before = fb.snapshot();
      const edits = 1 + int(4);
      for (let e = 0; e < edits; e++) {
        const kind = int(10);
        if (kind < 5) {
          fb.drawText(font, int(260) - 10, int(140) - 6, texts[int(texts.length)], { inverse: random() < 0.3, maxWidth: random() < 0.3 ? int(60) : undefined });
        } else if (kind < 8) {
          fb.setPixel(int(240), int(128), random() < 0.5);
        } else if (kind < 9) {
          fb.fillRect(int(250) - 5, int(140) - 6, int(40), int(20), random() < 0.5);
        } else if (random() < 0.1) {
          fb.clear(random() < 0.5);
        }
      }
      const regions = fb.takeDirtyRegions();
      total += regions.length;
      expect(regions.length).toBeLessThanOrEqual(16);
      for (const region of regions) {
        expect(region.x % 8).toBe(0);
        expect(region.x + region.width).toBeLessThanOrEqual(240);
        expect(region.y + region.height).toBeLessThanOrEqual(128);
        // Tight vertically: the first and last rows of a region hold a change.
        for (const row of [region.y, region.y + region.height - 1]) {
          const start = row * fb.stride + region.x / 8;
          const end = start + Math.ceil(region.width / 8);
          expect(fb.snapshot().subarray(start, end)).not.toEqual(before.subarray(start, end));
        }
        mirror.applyRegion(region);
        await sim.blit(region);
      }
      expect(mirror.snapshot()).toEqual(fb.snapshot());
      expect(sim.pixels).toEqual(fb.snapshot());
    }
    // The first call is the full screen; later edits touch a few spots each.
    expect(total / 300).toBeLessThan(6);
  });

  it('rejects applying a region outside the framebuffer or short of bytes', () => {
    const fb = new Framebuffer(16, 16);
    expect(() => fb.applyRegion({ x: 8, y: 0, width: 16, height: 1, bits: new Uint8Array(2) })).toThrow(DisplayError);
    expect(() => fb.applyRegion({ x: 0, y: 0, width: 16, height: 2, bits: new Uint8Array(3) })).toThrow(/needs 4 bytes/);
  });
});

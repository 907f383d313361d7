import type { BitmapFont } from '../../src/display/font.js';
import { Framebuffer } from '../../src/display/framebuffer.js';

/**
 * Find rendered text on a display by its pixels: `text` is rendered with the font exactly as
 * `Framebuffer.drawText` renders it (opaque 16 px cells), and the display is searched for that
 * bitmap, normal (black on white) or inverse (white on black). This checks what a display
 * driver was actually sent, independent of the screen layout.
 *
 * Each display column is read once into 16-bit vertical strips, so a candidate position is
 * rejected after comparing one integer; a full 240x128 search takes about a millisecond.
 */

export interface PixelSource {
  readonly width: number;
  readonly height: number;
  getPixel(x: number, y: number): boolean;
}

export interface TextMatch {
  /** Top-left corner of the text's first glyph cell. */
  x: number;
  y: number;
  /** Found as white text on black. */
  inverse: boolean;
}

/** The first occurrence (top to bottom, then left to right) of `text`, or null. */
export function findText(pixels: PixelSource, font: BitmapFont, text: string): TextMatch | null {
  return search(pixels, font, text, 1)[0] ?? null;
}

/** Every occurrence of `text`, top to bottom, then left to right. */
export function findAllText(pixels: PixelSource, font: BitmapFont, text: string): TextMatch[] {
  return search(pixels, font, text, Infinity);
}

function search(pixels: PixelSource, font: BitmapFont, text: string, limit: number): TextMatch[] {
  const height = font.height;
  if (height > 16) throw new Error(`findText handles fonts up to 16 px tall, not ${height}`);
  const width = font.textWidth(text);
  if (width === 0) throw new Error(`findText: ${JSON.stringify(text)} draws nothing to look for`);
  const matches: TextMatch[] = [];
  if (width > pixels.width || height > pixels.height) return matches;

  // The text's bitmap, one vertical strip per column (top pixel in the strip's high bit).
  const rendered = new Framebuffer(width, height);
  rendered.drawText(font, 0, 0, text);
  const all = (1 << height) - 1;
  const pattern = new Uint16Array(width);
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) pattern[x] = (pattern[x] << 1) | (rendered.getPixel(x, y) ? 1 : 0);
  }

  // strips[y * W + x]: the display column x from row y down, `height` pixels.
  const W = pixels.width;
  const positionsY = pixels.height - height + 1;
  const strips = new Uint16Array(positionsY * W);
  for (let x = 0; x < W; x++) {
    let strip = 0;
    for (let y = 0; y < pixels.height; y++) {
      strip = ((strip << 1) | (pixels.getPixel(x, y) ? 1 : 0)) & all;
      if (y >= height - 1) strips[(y - height + 1) * W + x] = strip;
    }
  }

  for (let y = 0; y < positionsY; y++) {
    for (let x = 0; x + width <= W; x++) {
      const base = y * W + x;
      const first = strips[base];
      const flip = first === pattern[0] ? 0 : first === (pattern[0] ^ all) ? all : -1;
      if (flip < 0) continue;
      let col = 1;
      while (col < width && strips[base + col] === (pattern[col] ^ flip)) col++;
      if (col === width) {
        matches.push({ x, y, inverse: flip !== 0 });
        if (matches.length >= limit) return matches;
      }
    }
  }
  return matches;
}

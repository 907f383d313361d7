import { type BitmapRegion, regionStride } from '../../drivers/mcu/types.js';
import { DisplayError } from './errors.js';
import type { BitmapFont, Glyph } from './font.js';

/**
 * A 1 bit per pixel framebuffer in the display's wire layout (the same as `BitmapRegion`):
 * row-major, each row padded to whole bytes, MSB = leftmost pixel, set bit = pixel on (black).
 *
 * It remembers what was last handed out by `takeDirtyRegions()`, so the display owner can send
 * the MCU only what changed.
 */

export interface DrawTextOptions {
  /** White text on black: the glyph cells are filled and the ink is cleared. */
  inverse?: boolean;
  /** Clip the text to this many pixel columns from `x`. */
  maxWidth?: number;
}

/**
 * Dirty regions: merging two changed spans costs the unchanged bytes between them; a separate
 * region costs the blit's framing (position, size, frame header and checksum on the MCU link).
 * Spans are merged when the bytes in between cost no more than this.
 */
const REGION_OVERHEAD_BYTES = 16;
/** More regions than this for one update and a single bounding box is cheaper to send. */
const MAX_REGIONS = 16;

export class Framebuffer {
  /** Bytes per row. */
  readonly stride: number;
  private readonly bits: Uint8Array;
  /** What the display shows as far as we know (the state at the last `takeDirtyRegions`). */
  private flushed: Uint8Array | null = null;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
      throw new DisplayError('DISPLAY_INVALID_ARGUMENT', `framebuffer size must be positive integers, got ${width}x${height}`);
    }
    this.stride = regionStride(width);
    this.bits = new Uint8Array(this.stride * height);
  }

  /** Set every pixel off (or on). */
  clear(on = false): void {
    this.fillRect(0, 0, this.width, this.height, on);
  }

  /** Pixels outside the framebuffer read as off. */
  getPixel(x: number, y: number): boolean {
    if (!this.inside(x, y)) return false;
    return (this.bits[y * this.stride + (x >> 3)] & (0x80 >> (x & 7))) !== 0;
  }

  /** Pixels outside the framebuffer are ignored. */
  setPixel(x: number, y: number, on: boolean): void {
    if (!this.inside(x, y)) return;
    this.put(x, y, on);
  }

  /** Fill a rectangle, clipped to the framebuffer. */
  fillRect(x: number, y: number, width: number, height: number, on: boolean): void {
    const x0 = Math.max(0, Math.floor(x));
    const x1 = Math.min(this.width, Math.floor(x) + Math.floor(width));
    const y0 = Math.max(0, Math.floor(y));
    const y1 = Math.min(this.height, Math.floor(y) + Math.floor(height));
    if (x0 >= x1 || y0 >= y1) return;
    const firstByte = x0 >> 3;
    const lastByte = (x1 - 1) >> 3;
    const firstMask = 0xff >> (x0 & 7);
    const lastMask = (0xff << (7 - ((x1 - 1) & 7))) & 0xff;
    for (let row = y0; row < y1; row++) {
      const base = row * this.stride;
      for (let byte = firstByte; byte <= lastByte; byte++) {
        let mask = 0xff;
        if (byte === firstByte) mask &= firstMask;
        if (byte === lastByte) mask &= lastMask;
        this.bits[base + byte] = on ? this.bits[base + byte] | mask : this.bits[base + byte] & ~mask;
      }
    }
  }

  /**
   * Draw one line of text with its top-left corner at (x, y). Glyph cells are opaque: their
   * background pixels are cleared (set, when inverse). Pixels left of 0, right of `x + maxWidth`
   * or outside the framebuffer are clipped (a glyph straddling the limit is drawn in part).
   * Combining marks are overlaid on the preceding cell; default-ignorable code points are skipped.
   *
   * Returns the width drawn: the text's advance clipped at `maxWidth` and at the right edge, so
   * the next text can start at `x + result`.
   */
  drawText(font: BitmapFont, x: number, y: number, text: string, options: DrawTextOptions = {}): number {
    const left = Math.floor(x);
    const top = Math.floor(y);
    const inverse = options.inverse ?? false;
    const limit = options.maxWidth === undefined ? Infinity : Math.max(0, Math.floor(options.maxWidth) || 0);
    const clipLeft = Math.max(0, left);
    const clipRight = Math.min(this.width, left + limit);
    let advance = 0;
    for (const placed of font.layout(text)) {
      if (!placed.overlay) advance = placed.x + placed.glyph.width;
      const cellLeft = left + placed.x;
      if (!placed.overlay && cellLeft >= clipRight) break;
      if (cellLeft + placed.glyph.width <= clipLeft) continue;
      this.drawGlyph(placed.glyph, cellLeft, top, inverse, placed.overlay, clipLeft, clipRight);
    }
    return Math.max(0, Math.min(advance, limit, this.width - left));
  }

  /**
   * The pixels changed since the previous call, as a few rectangles (x and width on 8 px
   * boundaries, except at the right edge), and make the current state the new reference.
   * The first call (and the first after `invalidate()`) returns the whole screen, since what
   * the display shows is unknown then.
   */
  takeDirtyRegions(): BitmapRegion[] {
    const previous = this.flushed;
    if (previous === null) {
      this.flushed = Uint8Array.from(this.bits);
      return [this.region(0, 0, this.width, this.height)];
    }
    const boxes: Array<{ c0: number; c1: number; y0: number; y1: number }> = [];
    for (let y = 0; y < this.height; ) {
      if (!this.rowDiffers(previous, y, 0, this.stride)) {
        y++;
        continue;
      }
      // A band of consecutive changed rows; find which byte columns changed anywhere in it.
      const bandTop = y;
      while (y < this.height && this.rowDiffers(previous, y, 0, this.stride)) y++;
      const bandBottom = y;
      const changed = new Uint8Array(this.stride);
      for (let row = bandTop; row < bandBottom; row++) {
        const base = row * this.stride;
        for (let c = 0; c < this.stride; c++) if (this.bits[base + c] !== previous[base + c]) changed[c] = 1;
      }
      // Runs of changed columns, bridging gaps that cost less than a separate region.
      const maxGap = Math.floor(REGION_OVERHEAD_BYTES / (bandBottom - bandTop));
      for (let c = 0; c < this.stride; ) {
        if (!changed[c]) {
          c++;
          continue;
        }
        const c0 = c;
        let c1 = c + 1;
        for (let probe = c1; probe < this.stride && probe - c1 <= maxGap; probe++) {
          if (changed[probe]) c1 = probe + 1;
        }
        // Trim the run to the rows that actually changed within its columns.
        let y0 = bandTop;
        while (!this.rowDiffers(previous, y0, c0, c1)) y0++;
        let y1 = bandBottom;
        while (!this.rowDiffers(previous, y1 - 1, c0, c1)) y1--;
        boxes.push({ c0, c1, y0, y1 });
        c = c1;
      }
    }
    previous.set(this.bits);
    if (boxes.length > MAX_REGIONS) {
      const bounds = {
        c0: Math.min(...boxes.map((b) => b.c0)),
        c1: Math.max(...boxes.map((b) => b.c1)),
        y0: Math.min(...boxes.map((b) => b.y0)),
        y1: Math.max(...boxes.map((b) => b.y1)),
      };
      boxes.splice(0, boxes.length, bounds);
    }
    return boxes.map(({ c0, c1, y0, y1 }) => this.region(c0 * 8, y0, Math.min(c1 * 8, this.width) - c0 * 8, y1 - y0));
  }

  /** Forget what the display shows: the next `takeDirtyRegions()` returns the whole screen. */
  invalidate(): void {
    this.flushed = null;
  }

  /** A copy of the pixels in the wire layout (stride bytes per row). */
  snapshot(): Uint8Array {
    return Uint8Array.from(this.bits);
  }

  /** Copy a rectangle out as a region (pad bits zero). It must lie inside the framebuffer. */
  region(x: number, y: number, width: number, height: number): BitmapRegion {
    this.checkRegion(x, y, width, height);
    const stride = regionStride(width);
    const bits = new Uint8Array(stride * height);
    for (let row = 0; row < height; row++) {
      const out = row * stride;
      if ((x & 7) === 0) {
        const start = (y + row) * this.stride + (x >> 3);
        bits.set(this.bits.subarray(start, start + stride), out);
        if (width & 7) bits[out + stride - 1] &= (0xff << (8 - (width & 7))) & 0xff;
      } else {
        for (let col = 0; col < width; col++) {
          if (this.getPixel(x + col, y + row)) bits[out + (col >> 3)] |= 0x80 >> (col & 7);
        }
      }
    }
    return { x, y, width, height, bits };
  }

  /** Write a region's pixels (e.g. one from another framebuffer's `takeDirtyRegions()`). */
  applyRegion(region: BitmapRegion): void {
    const { x, y, width, height, bits } = region;
    this.checkRegion(x, y, width, height);
    const stride = regionStride(width);
    if (bits.length < stride * height) {
      throw new DisplayError('DISPLAY_INVALID_ARGUMENT', `region ${width}x${height} needs ${stride * height} bytes, got ${bits.length}`);
    }
    for (let row = 0; row < height; row++) {
      for (let col = 0; col < width; col++) {
        this.put(x + col, y + row, (bits[row * stride + (col >> 3)] & (0x80 >> (col & 7))) !== 0);
      }
    }
  }

  private drawGlyph(glyph: Glyph, left: number, top: number, inverse: boolean, overlay: boolean, clipLeft: number, clipRight: number): void {
    const rows = glyph.rows;
    const wide = glyph.width === 16;
    const colStart = Math.max(0, clipLeft - left);
    const colEnd = Math.min(glyph.width, clipRight - left);
    for (let r = 0; r < rows.length / (wide ? 2 : 1); r++) {
      const y = top + r;
      if (y < 0 || y >= this.height) continue;
      // The row as 16 bits, leftmost pixel in bit 15.
      const ink = wide ? (rows[2 * r] << 8) | rows[2 * r + 1] : rows[r] << 8;
      for (let col = colStart; col < colEnd; col++) {
        const on = ((ink >> (15 - col)) & 1) === 1;
        // An overlay (combining mark) only adds its ink; a cell paints background too.
        if (overlay && !on) continue;
        this.put(left + col, y, on !== inverse);
      }
    }
  }

  private put(x: number, y: number, on: boolean): void {
    const index = y * this.stride + (x >> 3);
    const mask = 0x80 >> (x & 7);
    this.bits[index] = on ? this.bits[index] | mask : this.bits[index] & ~mask;
  }

  private inside(x: number, y: number): boolean {
    return Number.isInteger(x) && Number.isInteger(y) && x >= 0 && y >= 0 && x < this.width && y < this.height;
  }

  /** Whether bytes [c0, c1) of row y differ from the flushed state. */
  private rowDiffers(previous: Uint8Array, y: number, c0: number, c1: number): boolean {
    const base = y * this.stride;
    for (let c = c0; c < c1; c++) if (this.bits[base + c] !== previous[base + c]) return true;
    return false;
  }

  private checkRegion(x: number, y: number, width: number, height: number): void {
    if (![x, y, width, height].every(Number.isInteger) || x < 0 || y < 0 || width <= 0 || height <= 0 || x + width > this.width || y + height > this.height) {
      throw new DisplayError('DISPLAY_INVALID_ARGUMENT', `region ${width}x${height}+${x}+${y} is outside the ${this.width}x${this.height} framebuffer`);
    }
  }
}

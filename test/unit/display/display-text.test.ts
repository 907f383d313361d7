import { describe, it, expect, beforeAll } from '@jest/globals';
import { SimDisplay } from '../../../drivers/mcu/sim.js';
import { type BitmapFont, loadUnifont } from '../../../src/display/font.js';
import { Framebuffer } from '../../../src/display/framebuffer.js';
import { type ScreenModel, renderScreen } from '../../../src/display/screen.js';
import { findAllText, findText } from '../../support/display-text.js';

let font: BitmapFont;
beforeAll(async () => {
  font = await loadUnifont();
});

/** The display owner's loop in miniature: render, send only the dirty regions to the driver. */
async function show(fb: Framebuffer, display: SimDisplay, model: ScreenModel): Promise<number> {
  renderScreen(fb, font, model);
  const regions = fb.takeDirtyRegions();
  for (const region of regions) await display.blit(region);
  return regions.length;
}

const RINGING: ScreenModel = {
  rows: [
    { text: 'Incoming call', align: 'center', inverse: true },
    { text: 'Wang Li 王丽' },
    { text: '3 orders, last 2026-11-02' },
    { text: '12 Garden Rd' },
    null,
    null,
    null,
    { text: 'Answer  Reject  SMS', align: 'right' },
  ],
};

describe('findText on what the display driver was sent', () => {
  it('finds text blitted to a SimDisplay, normal and inverse, and nothing that is not there', async () => {
    const display = new SimDisplay(240, 128);
    const fb = new Framebuffer(240, 128);
    await show(fb, display, RINGING);

    expect(findText(display, font, 'Wang Li 王丽')).toEqual({ x: 0, y: 16, inverse: false });
    expect(findText(display, font, '王丽')).toEqual({ x: 64, y: 16, inverse: false });
    expect(findText(display, font, 'Incoming call')).toEqual({ x: 68, y: 0, inverse: true });
    expect(findText(display, font, '12 Garden Rd')).toEqual({ x: 0, y: 48, inverse: false });
    expect(findText(display, font, 'SMS')).toEqual({ x: 240 - 24, y: 112, inverse: false });

    expect(findText(display, font, 'Zhang San')).toBeNull();
    expect(findText(display, font, 'Wang Lo')).toBeNull(); // one glyph differs
    expect(findText(display, font, '王')).not.toBeNull();
    expect(findText(display, font, '玉')).toBeNull(); // 王 with one more dot
    expect(findText(display, font, 'Incoming Call')).toBeNull();
  });

  it('follows partial updates sent as dirty regions only', async () => {
    const display = new SimDisplay(240, 128);
    const fb = new Framebuffer(240, 128);
    await show(fb, display, RINGING);
    const blitsBefore = display.blits.length;

    const connected: ScreenModel = { rows: [{ text: 'Connected 00:01', align: 'center', inverse: true }, ...RINGING.rows.slice(1)] };
    const sent = await show(fb, display, connected);
    expect(sent).toBeGreaterThan(0);
    expect(display.blits.length).toBe(blitsBefore + sent);
    // Only the first text row changed, so no blit reaches below it.
    for (const blit of display.blits.slice(blitsBefore)) expect(blit.y + blit.height).toBeLessThanOrEqual(16);

    expect(findText(display, font, 'Connected 00:01')).toEqual({ x: 60, y: 0, inverse: true });
    expect(findText(display, font, 'Incoming call')).toBeNull();
    expect(findText(display, font, 'Wang Li 王丽')).toEqual({ x: 0, y: 16, inverse: false });

    // The timer ticks: one digit changes, one small region goes out.
    await show(fb, display, { rows: [{ text: 'Connected 00:02', align: 'center', inverse: true }, ...RINGING.rows.slice(1)] });
    const last = display.blits.at(-1)!;
    expect(last.width).toBeLessThanOrEqual(16);
    expect(findText(display, font, 'Connected 00:02')).not.toBeNull();
    expect(findText(display, font, 'Connected 00:01')).toBeNull();
  });

  it('finds nothing on a blank display and every occurrence with findAllText', async () => {
    const display = new SimDisplay(240, 128);
    expect(findText(display, font, 'A')).toBeNull();
    const fb = new Framebuffer(240, 128);
    await show(fb, display, { rows: [{ text: 'AB AB' }, null, { text: 'AB', align: 'right', inverse: true }] });
    expect(findAllText(display, font, 'AB')).toEqual([
      { x: 0, y: 0, inverse: false },
      { x: 24, y: 0, inverse: false },
      { x: 224, y: 32, inverse: true },
    ]);
  });

  it('rejects text that draws nothing and searches a full display quickly', async () => {
    const display = new SimDisplay(240, 128);
    expect(() => findText(display, font, '')).toThrow(/draws nothing/);
    await show(new Framebuffer(240, 128), display, RINGING);
    const started = performance.now();
    for (let i = 0; i < 20; i++) expect(findText(display, font, 'not on screen')).toBeNull();
    // ~1 ms per search here; the bound only catches an accidental pixel-by-pixel compare.
    expect((performance.now() - started) / 20).toBeLessThan(50);
  });
});

import { describe, it, expect, beforeAll } from '@jest/globals';
import { DisplayError } from '../../../src/display/errors.js';
import { type BitmapFont, loadUnifont } from '../../../src/display/font.js';
import { Framebuffer } from '../../../src/display/framebuffer.js';
import { type ScreenModel, fitText, renderScreen, textOf } from '../../../src/display/screen.js';
import { findAllText, findText } from '../../support/display-text.js';
import { tinyFont } from './tiny-font.js';

let font: BitmapFont;
beforeAll(async () => {
  font = await loadUnifont();
});

function render(model: ScreenModel): Framebuffer {
  const fb = new Framebuffer(240, 128);
  renderScreen(fb, font, model);
  return fb;
}

function rowIsBlank(fb: Framebuffer, row: number, on = false): boolean {
  for (let y = row * 16; y < row * 16 + 16; y++) for (let x = 0; x < 240; x++) if (fb.getPixel(x, y) !== on) return false;
  return true;
}

describe('textOf', () => {
  it('gives the text of all 8 rows, blank rows as empty strings', () => {
    expect(textOf({ rows: [{ text: 'Wang Li' }, null, { text: '3 orders', align: 'right' }] })).toEqual([
      'Wang Li', '', '3 orders', '', '', '', '', '',
    ]);
  });
});

describe('renderScreen', () => {
  it('places rows at y = 16 * row with left, center and right alignment', () => {
    const fb = render({
      rows: [
        { text: 'Wang Li' },
        { text: 'CENTER', align: 'center' },
        { text: 'RIGHT', align: 'right' },
        null,
        { text: '王丽 한국', align: 'center' },
      ],
    });
    expect(findText(fb, font, 'Wang Li')).toEqual({ x: 0, y: 0, inverse: false });
    expect(findText(fb, font, 'CENTER')).toEqual({ x: (240 - 48) / 2, y: 16, inverse: false });
    expect(findText(fb, font, 'RIGHT')).toEqual({ x: 240 - 40, y: 32, inverse: false });
    expect(rowIsBlank(fb, 3)).toBe(true);
    expect(findText(fb, font, '王丽 한국')).toEqual({ x: (240 - 72) / 2, y: 64, inverse: false });
    for (const row of [5, 6, 7]) expect(rowIsBlank(fb, row)).toBe(true);
  });

  it('fills inverse rows across the full width with white text', () => {
    const fb = render({ rows: [null, { text: 'Incoming call', align: 'center', inverse: true }] });
    expect(findText(fb, font, 'Incoming call')).toEqual({ x: (240 - 104) / 2, y: 16, inverse: true });
    for (const [x, y] of [[0, 16], [239, 16], [0, 31], [239, 31], [60, 20]]) expect(fb.getPixel(x, y)).toBe(true);
    expect(rowIsBlank(fb, 0)).toBe(true);
    expect(rowIsBlank(fb, 2)).toBe(true);
    // An inverse row with no text is a solid bar.
    expect(rowIsBlank(render({ rows: [{ text: '', inverse: true }] }), 0, true)).toBe(true);
  });

  it('cuts text that does not fit and ends it with an ellipsis', () => {
    const long = 'Wang Li - 3 orders, last 2026-11-02, 12 Garden Rd';
    const fitted = fitText(font, long, 240);
    expect(fitted).toBe('Wang Li - 3 orders, last 2026…');
    expect(font.textWidth(fitted)).toBe(240);
    const fb = render({ rows: [{ text: long }, { text: long, align: 'right', inverse: true }] });
    expect(findText(fb, font, fitted)).toEqual({ x: 0, y: 0, inverse: false });
    expect(findText(fb, font, fitted)).not.toBeNull();
    expect(findAllText(fb, font, fitted)).toEqual([{ x: 0, y: 0, inverse: false }, { x: 0, y: 16, inverse: true }]);
    expect(findText(fb, font, 'Garden')).toBeNull();
  });

  it('cuts full-width CJK and Hangul text on whole glyphs', () => {
    const cjk = '王丽的订单已经送到花园路十二号了请查收';
    expect(font.textWidth(cjk)).toBeGreaterThan(240);
    const fitted = fitText(font, cjk, 240);
    expect(fitted).toBe(`${[...cjk].slice(0, 14).join('')}…`);
    expect(font.textWidth(fitted)).toBe(14 * 16 + 8);
    expect(fitText(font, '한국어 '.repeat(12), 100)).toBe('한국어 한국…');
    // No blank left dangling before the ellipsis.
    expect(fitText(font, '한국어 '.repeat(12), 70)).toBe('한국어…');
    const fb = render({ rows: [{ text: cjk, align: 'center' }] });
    expect(findText(fb, font, fitted)).toEqual({ x: 4, y: 0, inverse: false });
  });

  it('keeps text that fits exactly and uses "..." with a font that has no "…"', () => {
    expect(fitText(font, 'A'.repeat(30), 240)).toBe('A'.repeat(30));
    const plain = tinyFont({ ellipsis: false });
    expect(fitText(plain, 'ABABABAB', 48)).toBe('ABA...');
    expect(fitText(plain, 'ABABABAB', 16)).toBe('AB');
  });

  it('replaces whatever the framebuffer showed before', () => {
    const fb = render({ rows: [{ text: 'Ringing', inverse: true }, { text: 'Wang Li' }] });
    renderScreen(fb, font, { rows: [null, { text: 'Idle' }] });
    expect(findText(fb, font, 'Ringing')).toBeNull();
    expect(findText(fb, font, 'Wang Li')).toBeNull();
    expect(findText(fb, font, 'Idle')).toEqual({ x: 0, y: 16, inverse: false });
    expect(rowIsBlank(fb, 0)).toBe(true);
  });

  it('rejects a model with more rows than the display has', () => {
    const fb = new Framebuffer(240, 128);
    const model = { rows: Array.from({ length: 9 }, () => ({ text: 'x' })) };
    expect(() => renderScreen(fb, font, model)).toThrow(DisplayError);
    expect(() => renderScreen(fb, font, model)).toThrow(/9 rows/);
  });
});

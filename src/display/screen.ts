import { DisplayError } from './errors.js';
import { type BitmapFont, GLYPH_HEIGHT } from './font.js';
import type { Framebuffer } from './framebuffer.js';

/**
 * The phone's text screen: the 240x128 display as 8 rows of 16 px text (30 Latin or 15 CJK /
 * Hangul characters per row). Screens are described as a text model and rendered from scratch,
 * so the model is the single source of what the display shows and tests can read it directly.
 */

export const ROW_HEIGHT = GLYPH_HEIGHT;
/** Text rows of the 240x128 display. */
export const SCREEN_ROWS = 8;

export interface ScreenRow {
  text: string;
  /** Default 'left'. */
  align?: 'left' | 'center' | 'right';
  /** White text on a black bar across the full row. */
  inverse?: boolean;
}

export interface ScreenModel {
  /** Row i is drawn at y = i * 16; null (or a missing row) is a blank row. */
  rows: Array<ScreenRow | null>;
}

/**
 * Render the model into the framebuffer, replacing everything on it. Text wider than the row
 * is cut and ends in an ellipsis. Throws DISPLAY_INVALID_ARGUMENT for more rows than fit.
 */
export function renderScreen(fb: Framebuffer, font: BitmapFont, model: ScreenModel): void {
  const rowCount = Math.floor(fb.height / ROW_HEIGHT);
  if (model.rows.length > rowCount) {
    throw new DisplayError('DISPLAY_INVALID_ARGUMENT', `screen model has ${model.rows.length} rows, the ${fb.width}x${fb.height} display shows ${rowCount}`);
  }
  fb.clear();
  model.rows.forEach((row, index) => {
    if (!row) return;
    const y = index * ROW_HEIGHT;
    const inverse = row.inverse ?? false;
    if (inverse) fb.fillRect(0, y, fb.width, ROW_HEIGHT, true);
    const text = fitText(font, row.text, fb.width);
    const width = font.textWidth(text);
    const align = row.align ?? 'left';
    const x = align === 'left' ? 0 : align === 'right' ? fb.width - width : Math.floor((fb.width - width) / 2);
    fb.drawText(font, x, y, text, { inverse });
  });
}

/** The plain text of each of the screen's rows ('' for blank rows), as the model states it. */
export function textOf(model: ScreenModel): string[] {
  return Array.from({ length: Math.max(SCREEN_ROWS, model.rows.length) }, (_, i) => model.rows[i]?.text ?? '');
}

/**
 * `text` if it fits in `maxWidth` pixels, else its longest prefix that fits followed by an
 * ellipsis ('…' when the font has U+2026, else '...'), trailing blanks before it removed.
 * Combining marks stay with their base character.
 */
export function fitText(font: BitmapFont, text: string, maxWidth: number): string {
  if (font.textWidth(text) <= maxWidth) return text;
  const ellipsis = font.has(0x2026) ? '…' : '...';
  const ellipsisWidth = font.textWidth(ellipsis);
  const room = ellipsisWidth <= maxWidth ? maxWidth - ellipsisWidth : maxWidth;
  let prefix = '';
  let width = 0;
  for (const ch of text) {
    const advance = font.advance(ch.codePointAt(0)!);
    if (width + advance > room) break;
    prefix += ch;
    width += advance;
  }
  return ellipsisWidth <= maxWidth ? prefix.trimEnd() + ellipsis : prefix;
}

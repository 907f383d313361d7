// The Epson ESC/POS customer-display command set, as implemented by the Epson DM-D110/DM-D210
// and by the many 2 x 20 VFD pole displays in "Epson mode" (Logic Controls PD3000, Partner
// CD7220, ...). References: Epson "ESC/POS Command Reference for Customer Displays" (DM-D
// series); section names below are that reference's.
//
// Only the commands every Epson-mode clone implements are used. The screen is rewritten in place
// (cursor to the start of each row, then exactly `columns` characters), never cleared with CLR
// between texts, so the customer sees no flicker.

import iconv from 'iconv-lite';
import { concatBytes } from '../common/bytes.js';
import { DriverError } from '../common/errors.js';

export const ESC = 0x1b;
export const US = 0x1f;
/** CLR (0x0C), "Clear display screen": blanks every row, cursor to the upper-left (1,1). */
export const CLR = 0x0c;

/** Sizes the drivers accept: 1..40 columns (2 x 40 is the widest Epson-mode display), 1..4 rows. */
export const POLE_DISPLAY_LIMITS = { maxColumns: 40, maxRows: 4 } as const;

/** The character code table this driver encodes for: ESC t 0, PC437 (USA, standard Europe). */
export const CODE_TABLE_PC437 = 0;

/** ESC @ (1B 40), "Initialize display": clears the screen, resets modes and the code table. */
export function initialize(): Uint8Array {
  return Uint8Array.of(ESC, 0x40);
}

/** CLR (0C), "Clear display screen". */
export function clear(): Uint8Array {
  return Uint8Array.of(CLR);
}

/**
 * US MD1 (1F 01), "Specify overwrite mode": writing past the end of a row continues on the next
 * row instead of scrolling. Restated after ESC @ so a display left in scroll mode (US MD2/MD3)
 * cannot scroll when the last cell of the lower row is written.
 */
export function overwriteMode(): Uint8Array {
  return Uint8Array.of(US, 0x01);
}

/** US $ x y (1F 24 x y), "Move cursor to specified position": 1-based column x, row y. */
export function moveCursor(column: number, row: number): Uint8Array {
  if (!Number.isInteger(column) || column < 1 || column > POLE_DISPLAY_LIMITS.maxColumns) {
    throw new DriverError('DRIVER_INVALID_ARGUMENT', `cursor column must be 1..${POLE_DISPLAY_LIMITS.maxColumns}, not ${column}`);
  }
  if (!Number.isInteger(row) || row < 1 || row > POLE_DISPLAY_LIMITS.maxRows) {
    throw new DriverError('DRIVER_INVALID_ARGUMENT', `cursor row must be 1..${POLE_DISPLAY_LIMITS.maxRows}, not ${row}`);
  }
  return Uint8Array.of(US, 0x24, column, row);
}

/** ESC t n (1B 74 n), "Select character code table"; n = 0 is PC437. */
export function selectCodeTable(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 255) throw new DriverError('DRIVER_INVALID_ARGUMENT', `code table must be 0..255, not ${n}`);
  return Uint8Array.of(ESC, 0x74, n);
}

/** US C n (1F 43 n), "Turn cursor display mode on/off": n = 0 off, 1 on. */
export function cursorDisplay(on: boolean): Uint8Array {
  return Uint8Array.of(US, 0x43, on ? 1 : 0);
}

export type PoleDisplayBrightness = 1 | 2 | 3 | 4;

/** US X n (1F 58 n), "Set display screen brightness": 1 (20 %) .. 4 (100 %). */
export function brightness(level: PoleDisplayBrightness): Uint8Array {
  if (!Number.isInteger(level) || level < 1 || level > 4) throw new DriverError('DRIVER_INVALID_ARGUMENT', `brightness must be 1..4, not ${String(level)}`);
  return Uint8Array.of(US, 0x58, level);
}

export interface PoleDisplayGeometry {
  columns: number;
  rows: number;
}

/** Throws DRIVER_INVALID_ARGUMENT unless the size is one the command set can address. */
export function checkGeometry({ columns, rows }: PoleDisplayGeometry): void {
  if (!Number.isInteger(columns) || columns < 1 || columns > POLE_DISPLAY_LIMITS.maxColumns) {
    throw new DriverError('DRIVER_INVALID_ARGUMENT', `pole display columns must be 1..${POLE_DISPLAY_LIMITS.maxColumns}, not ${columns}`);
  }
  if (!Number.isInteger(rows) || rows < 1 || rows > POLE_DISPLAY_LIMITS.maxRows) {
    throw new DriverError('DRIVER_INVALID_ARGUMENT', `pole display rows must be 1..${POLE_DISPLAY_LIMITS.maxRows}, not ${rows}`);
  }
}

/**
 * Unicode code point -> PC437 byte, for the bytes a display draws as a character: 0x20..0xFF
 * without DEL (0x7F). The C0 range (0x00..0x1F) is left out on purpose: in PC437 those bytes have
 * glyphs (smileys, arrows), but on the wire they are commands (CLR, ESC, US, ...).
 */
const PC437: ReadonlyMap<number, number> = (() => {
  const map = new Map<number, number>();
  for (let byte = 0x20; byte <= 0xff; byte++) {
    if (byte === 0x7f) continue;
    const ch = iconv.decode(Buffer.of(byte), 'cp437');
    const cp = ch.codePointAt(0);
    if (cp !== undefined && !map.has(cp)) map.set(cp, byte);
  }
  return map;
})();

const QUESTION = 0x3f;

/**
 * Encodes text as PC437 with exactly one byte per character (code point after NFC, so 'e' +
 * combining acute is one 'é'): characters PC437 lacks (CJK, emoji, €) and control characters
 * (< 0x20, 0x7F, C1) become '?', so text can never inject a command.
 */
export function encodePc437(text: string): Uint8Array {
  const chars = Array.from(text.normalize('NFC'));
  const out = new Uint8Array(chars.length);
  chars.forEach((ch, i) => {
    out[i] = PC437.get(ch.codePointAt(0)!) ?? QUESTION;
  });
  return out;
}

/** One row's bytes: the text encoded, then cut or padded with spaces to `columns`. */
export function encodeRow(text: string, columns: number): Uint8Array {
  const row = new Uint8Array(columns).fill(0x20);
  // encode at most `columns` characters (plus slack for NFC merging) so a huge string costs little
  const encoded = encodePc437(text.slice(0, columns * 4));
  row.set(encoded.subarray(0, columns));
  return row;
}

/** The lines as the display will show them: `rows` strings of exactly `columns` characters. */
export function fitLines(lines: readonly string[], geometry: PoleDisplayGeometry): string[] {
  const out: string[] = [];
  for (let r = 0; r < geometry.rows; r++) out.push(iconv.decode(Buffer.from(encodeRow(lines[r] ?? '', geometry.columns)), 'cp437'));
  return out;
}

export interface PoleDisplayInitOptions {
  /** US X n; left at the display's own setting when unset. */
  brightness?: PoleDisplayBrightness;
}

/**
 * Sent once each time the display is (re)connected: ESC @ (initialize: blank screen, default
 * modes), US MD1 (overwrite mode), ESC t 0 (PC437), US C 0 (no blinking cursor), optionally US X n.
 */
export function encodeInit(options: PoleDisplayInitOptions = {}): Uint8Array {
  const parts = [initialize(), overwriteMode(), selectCodeTable(CODE_TABLE_PC437), cursorDisplay(false)];
  if (options.brightness !== undefined) parts.push(brightness(options.brightness));
  return concatBytes(...parts);
}

/**
 * The bytes that replace the whole screen with `lines`: for each row, US $ 1 row, then that row's
 * text cut or padded to `columns` (every cell rewritten, so no CLR and no flicker). Lines beyond
 * `rows` are dropped; missing lines are blank.
 */
export function encodeScreen(lines: readonly string[], geometry: PoleDisplayGeometry): Uint8Array {
  checkGeometry(geometry);
  const parts: Uint8Array[] = [];
  for (let r = 0; r < geometry.rows; r++) {
    parts.push(moveCursor(1, r + 1), encodeRow(lines[r] ?? '', geometry.columns));
  }
  return concatBytes(...parts);
}

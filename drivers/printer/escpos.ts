/**
 * The ESC/POS control commands the runtime sends itself (templates are rendered to ESC/POS by
 * receiptline elsewhere). Pure code: every function returns the bytes of one command, checked
 * against the Epson "ESC/POS Command Reference" (command names cited per function).
 */
import iconv from 'iconv-lite';
import { concatBytes } from '../common/bytes.js';
import { DriverError } from '../common/errors.js';

export const ESC = 0x1b;
export const GS = 0x1d;
export const FS = 0x1c;
export const DLE = 0x10;
export const EOT = 0x04;
export const LF = 0x0a;

/** Multi-byte text encodings a CJK printer is set up for (one per printer, from its model/config). */
export type CjkEncoding = 'gb18030' | 'euc-kr' | 'shift_jis' | 'big5';

function byte(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 255) throw new DriverError('DRIVER_INVALID_ARGUMENT', `${what} must be an integer 0..255, got ${value}`);
  return value;
}

/** ESC @ — Initialize printer: clears the print buffer and resets modes to their power-on values. */
export function initialize(): Uint8Array {
  return Uint8Array.of(ESC, 0x40);
}

/** ESC d n — Print and feed paper n lines. */
export function feedLines(lines: number): Uint8Array {
  return Uint8Array.of(ESC, 0x64, byte(lines, 'feed lines'));
}

/**
 * GS V — Select cut mode and cut paper.
 * - without `feed`: Function A, `GS V m` with m = 0 (full cut) or 1 (partial cut);
 * - with `feed`: Function B, `GS V m n` with m = 65 (full) or 66 (partial): feeds the paper to the
 *   cutting position plus n × (vertical motion unit), then cuts.
 */
export function cut(options: { partial?: boolean; feed?: number } = {}): Uint8Array {
  const partial = options.partial ?? false;
  if (options.feed === undefined) return Uint8Array.of(GS, 0x56, partial ? 1 : 0);
  return Uint8Array.of(GS, 0x56, partial ? 66 : 65, byte(options.feed, 'cut feed'));
}

/**
 * ESC p m t1 t2 — Generate pulse (cash drawer kick). All five bytes: m = 0 drives drawer kick-out
 * connector pin 2, m = 1 pin 5; the pulse is on for t1 × 2 ms and off for t2 × 2 ms (0..255 each).
 * (Libraries that send only `1B 70 00` leave the printer waiting for t1 and t2, which then swallows
 * the next two bytes of the receipt.) The Epson reference notes that if t2 < t1 the off time is t1.
 */
export function drawerKick(options: { pin?: 2 | 5; onMs?: number; offMs?: number } = {}): Uint8Array {
  const pin = options.pin ?? 2;
  if (pin !== 2 && pin !== 5) throw new DriverError('DRIVER_INVALID_ARGUMENT', `the drawer kick pin is 2 or 5, got ${String(pin)}`);
  const t1 = Math.round((options.onMs ?? 100) / 2);
  const t2 = Math.round((options.offMs ?? 200) / 2);
  return Uint8Array.of(ESC, 0x70, pin === 2 ? 0 : 1, byte(t1, 'drawer on time / 2 ms'), byte(t2, 'drawer off time / 2 ms'));
}

/**
 * DLE EOT n — Transmit real-time status. n = 1 printer status, 2 off-line cause, 3 error cause,
 * 4 continuous paper (roll paper) sensor status. The printer answers one byte (status.ts), even
 * while it is busy or off-line, as long as it is powered and the interface works.
 */
export type StatusKind = 1 | 2 | 3 | 4;
export function realtimeStatusRequest(n: StatusKind): Uint8Array {
  if (n !== 1 && n !== 2 && n !== 3 && n !== 4) throw new DriverError('DRIVER_INVALID_ARGUMENT', `DLE EOT n is 1..4, got ${String(n)}`);
  return Uint8Array.of(DLE, EOT, n);
}

/** ESC t n — Select character code table (the single-byte code page, e.g. 0 = PC437, 16 = WPC1252). */
export function selectCodeTable(n: number): Uint8Array {
  return Uint8Array.of(ESC, 0x74, byte(n, 'code table'));
}

/** ESC R n — Select an international character set (13 = Korea, 15 = China). */
export function selectInternationalCharset(n: number): Uint8Array {
  return Uint8Array.of(ESC, 0x52, byte(n, 'international character set'));
}

/**
 * FS & — Select Kanji character mode (Chinese printers: GB18030/GBK double-byte mode). On Korean
 * printers the same mode reads KS C 5601 (EUC-KR) when ESC R 13 (Korea) is selected too, so for
 * 'euc-kr' this returns `1C 26 1B 52 0D`.
 */
export function cjkModeOn(encoding: CjkEncoding = 'gb18030'): Uint8Array {
  const on = Uint8Array.of(FS, 0x26);
  return encoding === 'euc-kr' ? concatBytes(on, selectInternationalCharset(13)) : on;
}

/** FS . — Cancel Kanji character mode (back to the single-byte code table). */
export function cjkModeOff(): Uint8Array {
  return Uint8Array.of(FS, 0x2e);
}

/** Encode text for the printer: a CJK encoding, or a single-byte code page iconv-lite knows (cp437, cp1252, ...). */
export function encodeText(text: string, encoding: CjkEncoding | string): Uint8Array {
  if (!iconv.encodingExists(encoding)) throw new DriverError('DRIVER_UNSUPPORTED', `unknown text encoding '${encoding}'`);
  return new Uint8Array(iconv.encode(text, encoding));
}

/** A line of CJK text: FS & (+ ESC R 13 on Korean printers), the encoded text, LF, FS . */
export function cjkLine(text: string, encoding: CjkEncoding = 'gb18030'): Uint8Array {
  return concatBytes(cjkModeOn(encoding), encodeText(text, encoding), Uint8Array.of(LF), cjkModeOff());
}

/** Hex dump for logs and test messages: `1b 70 00 32 64`. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

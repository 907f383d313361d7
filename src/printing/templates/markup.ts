/**
 * Making caller data safe to put into a receiptline document.
 *
 * receiptline's special characters in text are \ | { } - = ~ _ " ` ^ (column, property, rule, cut, space and
 * decoration marks); in property values (the QR data) \ | { } ; . Every one of them in caller data is written as a
 * hexadecimal escape (\xNN), which receiptline turns back into the plain character in both places, so a name or a
 * note can never start a column, a property, a rule, a cut or a decoration. Control characters (line breaks, tabs,
 * ESC) are turned into spaces: a value stays on its line and never reaches the printer as a command.
 */

const SPECIAL = /[\\|{}\-=~_"`^;]/g;
// C0 and C1 controls, DEL, line/paragraph separators; bidi overrides and isolates (they reorder what is printed)
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** One line of plain text: controls become spaces, runs of white space one space, no white space at the ends. */
export function plainLine(value: string): string {
  return value.replace(CONTROL, ' ').replace(/\s+/gu, ' ').trim();
}

/** Cut to at most `max` characters (code points), ending with '...' when something was cut. */
export function truncate(value: string, max: number): string {
  const chars = Array.from(value);
  if (chars.length <= max) return value;
  return chars.slice(0, Math.max(0, max - 3)).join('').trimEnd() + '...';
}

/** Escape receiptline's special characters (text and property values alike). The value is made one plain line first. */
export function escapeMarkup(value: string): string {
  return plainLine(value).replace(SPECIAL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Print width of text in columns as a printer in Kanji/Chinese mode counts it: a multi-byte character is two
 * columns, ASCII one. With a single-byte code page every character is one column.
 */
export function printWidth(text: string, multiByte: boolean): number {
  let width = 0;
  for (const c of text) width += multiByte && c.codePointAt(0)! >= 0x80 ? 2 : 1;
  return width;
}

/**
 * The virtual phone page's point-of-sale boxes (sim board): the barcode scanner the clerk types codes into, and the
 * customer pole display as the sim display shows it. Everything sent to a browser is bounded here.
 */

/** a pole message carries at most this many rows ... */
export const MAX_POLE_ROWS = 4;
/** ... of at most this many characters each */
export const MAX_POLE_COLUMNS = 40;

export interface PoleMessage {
  type: 'pole';
  /** what the display shows, one string per row (padded to its width by the display) */
  rows: string[];
  /** false: unplugged (the screen is dark) */
  connected: boolean;
}

/** What the pole display shows, as a message for the page. */
export function poleMessage(rows: readonly string[], connected: boolean): PoleMessage {
  return { type: 'pole', rows: rows.slice(0, MAX_POLE_ROWS).map((row) => String(row).slice(0, MAX_POLE_COLUMNS)), connected };
}

/** What the page's hello says about the sim board's scanner and pole display (null: the board has none). */
export interface PosHello {
  scanner: boolean;
  poleDisplay: { columns: number; rows: number } | null;
}

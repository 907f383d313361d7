/**
 * What the virtual printer made of an ESC/POS byte stream: the paper as a list of printed items in order.
 * The decoder (decoder.ts) produces it, the renderer draws it (SVG/PNG), golden tests and `deskline print
 * --printer virtual` compare and print it as JSON.
 */

/** Character styles in effect when a text line was printed (ESC ! / ESC E / ESC - / GS ! / GS B / ESC a). */
export interface TextStyle {
  bold: boolean;
  underline: 0 | 1 | 2;
  /** white on black (GS B) */
  invert: boolean;
  /** character width and height multipliers (GS ! n: 1..8) */
  width: number;
  height: number;
  align: 'left' | 'center' | 'right';
  /** ESC M / ESC ! bit 0: font A (12x24 dots) or B (9x17); absent means A (added, optional) */
  font?: 'A' | 'B';
}

/** A run of one style inside a printed line; x is the start in dots from the left edge of the print area (before alignment). */
export interface TextSpan {
  text: string;
  style: TextStyle;
  x: number;
  /** characters from FS & (Kanji/Chinese) mode: drawn double width */
  cjk: boolean;
}

export type PaperItem =
  /** a printed line (ended by LF, or by a feed/cut/QR/image that flushes the line buffer); text decoded with the active code page */
  | {
      kind: 'text';
      text: string;
      style: TextStyle;
      /** (added, optional) the styled runs of the line, in order; `text` is their concatenation, `style` the first run's */
      spans?: TextSpan[];
      /** (added, optional) ESC 2 / ESC 3 line spacing in dots when the line was printed */
      lineSpacing?: number;
      /** (added, optional) GS L left margin and GS W print area width, in dots */
      leftMargin?: number;
      areaWidth?: number;
    }
  /** a QR code (GS ( k, function 180: store data, 181: print) */
  | {
      kind: 'qr';
      /** the stored data as UTF-8 when it is valid UTF-8, else as Latin-1 */
      payload: string;
      size: number;
      errorCorrection: 'L' | 'M' | 'Q' | 'H';
      align: TextStyle['align'];
      /** (added, optional) the stored data bytes exactly as sent, and the model (function 165) */
      data?: Uint8Array;
      model?: 1 | 2;
    }
  /** a raster image (GS v 0): width x height dots, rows of packed bits, MSB first, 1 = black */
  | {
      kind: 'image';
      width: number;
      height: number;
      bits: Uint8Array;
      align: TextStyle['align'];
      /** (added, optional) dot magnification (GS v 0 m, GS ( L bx/by, ESC * density); absent means 1 */
      scaleX?: number;
      scaleY?: number;
      /** (added, optional) which command printed it */
      source?: 'GS v 0' | 'GS ( L' | 'ESC *';
    }
  /** paper fed by n lines (ESC d n) or n dots (ESC J n) */
  | { kind: 'feed'; lines: number; dots: number }
  /** GS V: partial or full cut */
  | { kind: 'cut'; partial: boolean; /** (added, optional) GS V 65/66 n: feed n dots before cutting */ feedDots?: number }
  /** ESC p m t1 t2: the cash drawer kick on pin 2 (m = 0) or 5 (m = 1), on/off times in 2 ms units */
  | { kind: 'drawer'; pin: 2 | 5; onMs: number; offMs: number };

export interface DecodedPaper {
  items: PaperItem[];
  /** bytes the decoder did not understand (offset and a short description), never silently dropped */
  unknown: Array<{ offset: number; bytes: string; note: string }>;
  /** (added, optional) commands understood but not printed: real-time requests (DLE EOT/ENQ), ASB, status and process-ID requests, discarded buffers */
  notes?: Array<{ offset: number; note: string }>;
}

/** How to read the text bytes: the printer's code page for single bytes, and what FS & (Kanji/Chinese mode) means. */
export interface DecoderOptions {
  /** multi-byte text after FS & (1C 26): 'gb18030' (Chinese printers, default) or 'euc-kr' (Korean printers) */
  cjkEncoding?: 'gb18030' | 'euc-kr' | 'shift_jis' | 'big5';
  /** single-byte code page outside FS & mode (default 'cp437') */
  codePage?: string;
  /** 58 or 80 mm: characters per line for the renderer (32 or 48 at font A) */
  paperWidthMm?: 58 | 80;
  /** (added, optional) largest declared command length accepted (images, QR data), default 1 MiB; longer ones are reported, not trusted */
  maxCommandBytes?: number;
}

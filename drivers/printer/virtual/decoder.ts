/**
 * ESC/POS decoder: turns the byte stream a receipt printer receives back into paper (text lines with styles, QR
 * payloads, images, feeds, cuts, drawer kicks). Pure code, no I/O.
 *
 * Commented against the Epson "ESC/POS Application Programming Guide" / "ESC/POS Command Reference"; section names
 * are given as the guide groups them (Print commands, Line spacing commands, Character commands, Panel button
 * commands, Paper sensor commands, Print position commands, Bit image commands, Status commands, Barcode / 2D code
 * commands, Mechanism control commands, Miscellaneous commands, Kanji commands, Real-time commands).
 *
 * Streaming: `EscPosDecoder.push(chunk)` may split a command anywhere; an incomplete command waits for the next
 * chunk. `end()` reports whatever is still incomplete as truncated and prints the pending line.
 *
 * Nothing is skipped silently: bytes that are not understood go to `unknown` with their stream offset, and the decoder
 * resyncs at the next byte that can start a command or text (a command introducer, LF/CR/HT, or a printable byte).
 * Declared lengths (GS ( k, GS ( L, GS 8 L, GS v 0) above `maxCommandBytes` are reported and not trusted.
 */
import iconv from 'iconv-lite';
import type { DecodedPaper, DecoderOptions, PaperItem, TextSpan, TextStyle } from './types.js';

const HT = 0x09;
const LF = 0x0a;
const FF = 0x0c;
const CR = 0x0d;
const DLE = 0x10;
const CAN = 0x18;
const ESC = 0x1b;
const FS = 0x1c;
const GS = 0x1d;

type Align = TextStyle['align'];
type CjkEncoding = NonNullable<DecoderOptions['cjkEncoding']>;

/** returned by a command parser when the command's bytes are not all there yet */
const NEED_MORE = -1;

/** Character code tables of ESC t n (Character commands, "Select character code table"), as iconv-lite names. */
const CODE_PAGES: Record<number, string> = {
  0: 'cp437', 1: 'katakana', 2: 'cp850', 3: 'cp860', 4: 'cp863', 5: 'cp865', 13: 'cp857', 14: 'cp737',
  15: 'iso88597', 16: 'windows1252', 17: 'cp866', 18: 'cp852', 19: 'cp858', 21: 'tis620', 32: 'cp720',
  33: 'cp775', 34: 'cp855', 35: 'cp861', 36: 'cp862', 37: 'cp864', 38: 'cp869', 39: 'iso88592',
  40: 'iso885915', 44: 'cp1125', 45: 'windows1250', 46: 'windows1251', 47: 'windows1253', 48: 'windows1254',
  49: 'windows1255', 50: 'windows1256', 51: 'windows1257', 52: 'windows1258',
};

/**
 * Page 1 "Katakana": ASCII, half-width katakana at A1..DF (JIS X 0201), and graphic characters at 80..9F. The
 * box-drawing cells are the ones receiptline uses for ruled lines (8F ┼, 90 ┴, 91 ┬, 95 ─, 96 │, 98..9F corners).
 */
const KATAKANA_GRAPHICS: Record<number, string> = {
  0x80: '▁', 0x81: '▂', 0x82: '▃', 0x83: '▄', 0x84: '▅', 0x85: '▆', 0x86: '▇', 0x87: '█', 0x88: '▏', 0x89: '▎',
  0x8a: '▍', 0x8b: '▌', 0x8c: '▋', 0x8d: '▊', 0x8e: '▉', 0x8f: '┼', 0x90: '┴', 0x91: '┬', 0x92: '┤', 0x93: '├',
  0x94: '▔', 0x95: '─', 0x96: '│', 0x97: '▕', 0x98: '┌', 0x99: '┐', 0x9a: '└', 0x9b: '┘', 0x9c: '╭', 0x9d: '╮',
  0x9e: '╰', 0x9f: '╯',
};

/** ESC R n (Character commands, "Select an international character set"): the CJK sets, used when no cjkEncoding option is given. */
const INTERNATIONAL_CJK: Record<number, CjkEncoding> = { 8: 'shift_jis', 13: 'euc-kr', 15: 'gb18030', 16: 'big5' };

const ICONV_CJK: Record<CjkEncoding, string> = { gb18030: 'gb18030', 'euc-kr': 'euckr', shift_jis: 'shiftjis', big5: 'big5' };

const tableCache = new Map<string, string[]>();

/** the 256 characters of a single-byte code page */
function singleByteTable(page: string): string[] {
  let table = tableCache.get(page);
  if (table) return table;
  table = [];
  for (let b = 0; b < 256; b++) {
    if (page === 'katakana') {
      table.push(b < 0x80 ? String.fromCharCode(b) : b >= 0xa1 && b <= 0xdf ? String.fromCharCode(0xff61 + b - 0xa1) : (KATAKANA_GRAPHICS[b] ?? '\ufffd'));
    } else {
      table.push(iconv.decode(Buffer.from([b]), page));
    }
  }
  tableCache.set(page, table);
  return table;
}

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');

/** ESC a / ESC - / ESC E style arguments accept both n and the ASCII digit ('0' = 48). */
const low = (n: number): number => (n >= 0x30 ? n - 0x30 : n);

function decodePayload(data: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    return iconv.decode(Buffer.from(data), 'latin1');
  }
}

interface OpenSpan {
  text: string;
  style: TextStyle;
  x: number;
  cjk: boolean;
  /** dots the span covers so far */
  advance: number;
}

interface ModeState {
  fontB: boolean;
  emphasized: boolean;
  doubleStrike: boolean;
  underline: 0 | 1 | 2;
  invert: boolean;
  /** GS ! multipliers */
  width: number;
  height: number;
  /** ESC ! double width / height (bits 5 and 4) */
  escDoubleWidth: boolean;
  escDoubleHeight: boolean;
  align: Align;
  /** FS ! / FS W / FS - (Kanji commands) */
  kanjiDoubleWidth: boolean;
  kanjiDoubleHeight: boolean;
  kanjiUnderline: 0 | 1 | 2;
  codePage: string;
  cjkMode: boolean;
  cjkEncoding: CjkEncoding;
  lineSpacing: number;
  rightSpacing: number;
  kanjiLeftSpacing: number;
  kanjiRightSpacing: number;
  leftMargin: number;
  areaWidth: number;
  tabs: number[];
  qrModel: 1 | 2;
  qrSize: number;
  qrErrorCorrection: 'L' | 'M' | 'Q' | 'H';
  qrData: Uint8Array | undefined;
  graphics: { width: number; height: number; bits: Uint8Array; scaleX: number; scaleY: number } | undefined;
}

/** The ESC/POS stream decoder. `push` bytes as they arrive, read `paper()` at any time, `end()` when the stream is over. */
export class EscPosDecoder {
  readonly #options: Required<Pick<DecoderOptions, 'codePage' | 'paperWidthMm' | 'maxCommandBytes'>> & { cjkEncoding: CjkEncoding | undefined };
  readonly #items: PaperItem[] = [];
  readonly #unknown: DecodedPaper['unknown'] = [];
  readonly #notes: NonNullable<DecodedPaper['notes']> = [];
  #pending: Uint8Array = new Uint8Array(0);
  /** stream offset of #pending[0] */
  #base = 0;
  #state!: ModeState;
  #spans: OpenSpan[] = [];
  #x = 0;
  #lineAlign: Align | undefined;
  /** bytes of unknown garbage being collected, and where it started */
  #garbage: { offset: number; bytes: number[]; note: string } | undefined;
  #ended = false;

  constructor(options: DecoderOptions = {}) {
    this.#options = {
      codePage: options.codePage ?? 'cp437',
      paperWidthMm: options.paperWidthMm ?? 80,
      maxCommandBytes: options.maxCommandBytes ?? 1 << 20,
      cjkEncoding: options.cjkEncoding,
    };
    this.#reset();
  }

  /** Feed the next bytes of the stream. */
  push(chunk: Uint8Array): void {
    if (this.#ended) throw new Error('EscPosDecoder: push() after end()');
    if (chunk.length === 0) return;
    const merged = new Uint8Array(this.#pending.length + chunk.length);
    merged.set(this.#pending, 0);
    merged.set(chunk, this.#pending.length);
    this.#pending = merged;
    this.#run(false);
  }

  /** The stream is over: an incomplete command is reported as truncated, text still in the line buffer is printed. */
  end(): DecodedPaper {
    if (!this.#ended) {
      this.#run(true);
      this.#flushGarbage();
      this.#flushLine();
      this.#ended = true;
    }
    return this.paper();
  }

  /** What was printed so far (the line still being filled is not included until LF or end()). */
  paper(): DecodedPaper {
    return { items: [...this.#items], unknown: [...this.#unknown], notes: [...this.#notes] };
  }

  // ---- state -------------------------------------------------------------------------------------------------------

  /** ESC @ (Miscellaneous commands, "Initialize printer"): modes back to their power-on values. */
  #reset(): void {
    const dots = this.#options.paperWidthMm === 58 ? 384 : 576;
    this.#state = {
      fontB: false, emphasized: false, doubleStrike: false, underline: 0, invert: false, width: 1, height: 1,
      escDoubleWidth: false, escDoubleHeight: false, align: 'left',
      kanjiDoubleWidth: false, kanjiDoubleHeight: false, kanjiUnderline: 0,
      codePage: this.#options.codePage, cjkMode: false, cjkEncoding: this.#options.cjkEncoding ?? 'gb18030',
      // "Set default line spacing" (ESC 2) is 1/6 inch: 30 dots at 180 dpi, 203 dpi models keep 30 dots too
      lineSpacing: 30, rightSpacing: 0, kanjiLeftSpacing: 0, kanjiRightSpacing: 0,
      leftMargin: 0, areaWidth: dots,
      // "Horizontal tab" default positions: every 8 characters of font A
      tabs: Array.from({ length: 32 }, (_, i) => (i + 1) * 8),
      qrModel: 2, qrSize: 3, qrErrorCorrection: 'L', qrData: undefined, graphics: undefined,
    };
  }

  #style(cjk: boolean): TextStyle {
    const s = this.#state;
    const width = Math.max(s.width, s.escDoubleWidth ? 2 : 1, cjk && s.kanjiDoubleWidth ? 2 : 1);
    const height = Math.max(s.height, s.escDoubleHeight ? 2 : 1, cjk && s.kanjiDoubleHeight ? 2 : 1);
    const style: TextStyle = {
      bold: s.emphasized || s.doubleStrike,
      underline: cjk ? (s.kanjiUnderline || s.underline) : s.underline,
      invert: s.invert,
      width,
      height,
      align: this.#lineAlign ?? s.align,
    };
    if (s.fontB && !cjk) style.font = 'B';
    return style;
  }

  // ---- the line buffer -------------------------------------------------------------------------------------------

  #addChar(ch: string, cjk: boolean, dots: number): void {
    this.#lineAlign ??= this.#state.align; // ESC a is effective at the beginning of a line only
    const style = this.#style(cjk);
    const last = this.#spans[this.#spans.length - 1];
    if (last && last.cjk === cjk && sameStyle(last.style, style) && last.x + last.advance === this.#x) {
      last.text += ch;
      last.advance += dots;
    } else {
      this.#spans.push({ text: ch, style, x: this.#x, cjk, advance: dots });
    }
    this.#x += dots;
  }

  /** width in dots of one character cell at the current style (Character commands: font A 12 x 24, font B 9 x 17; Kanji 24 x 24) */
  #charDots(cjk: boolean, wide: boolean): number {
    const s = this.#state;
    const style = this.#style(cjk);
    if (wide) return (s.kanjiLeftSpacing + 24 + s.kanjiRightSpacing) * style.width;
    return ((s.fontB ? 9 : 12) + s.rightSpacing) * style.width;
  }

  /** Print the line buffer (LF, and every command that prints the buffer first). */
  #flushLine(force = false): void {
    if (this.#spans.length === 0 && !force) {
      this.#x = 0;
      this.#lineAlign = undefined;
      return;
    }
    const spans: TextSpan[] = this.#spans.map((s) => ({ text: s.text, style: s.style, x: s.x, cjk: s.cjk }));
    const style = spans[0]?.style ?? this.#style(false);
    this.#items.push({
      kind: 'text',
      text: spans.map((s) => s.text).join(''),
      style,
      spans,
      lineSpacing: this.#state.lineSpacing,
      leftMargin: this.#state.leftMargin,
      areaWidth: this.#state.areaWidth,
    });
    this.#spans = [];
    this.#x = 0;
    this.#lineAlign = undefined;
  }

  #unknownAt(offset: number, bytes: Uint8Array, note: string): void {
    this.#flushGarbage();
    this.#unknown.push({ offset, bytes: hex(bytes), note });
  }

  #note(offset: number, note: string): void {
    this.#notes.push({ offset, note });
  }

  /** collect a run of bytes that are neither commands nor text (resync: the run ends at the next plausible byte) */
  #garbageByte(offset: number, byte: number, note: string): void {
    if (this.#garbage && this.#garbage.offset + this.#garbage.bytes.length === offset) {
      this.#garbage.bytes.push(byte);
      return;
    }
    this.#flushGarbage();
    this.#garbage = { offset, bytes: [byte], note };
  }

  #flushGarbage(): void {
    const g = this.#garbage;
    if (!g) return;
    this.#garbage = undefined;
    this.#unknown.push({ offset: g.offset, bytes: hex(Uint8Array.from(g.bytes)), note: g.note });
  }

  // ---- the parse loop --------------------------------------------------------------------------------------------

  #run(final: boolean): void {
    const buf = this.#pending;
    let i = 0;
    while (i < buf.length) {
      const used = this.#step(buf, i);
      if (used === NEED_MORE) {
        if (!final) break;
        // the stream ended inside a command (or a declared length runs past the end): report the command up to the
        // next introducer, not trusting its length, and resync there
        let next = i + 1;
        while (next < buf.length && !isIntroducer(buf[next])) next++;
        const cmd = buf.subarray(i, next);
        const drawer = cmd[0] === ESC && cmd[1] === 0x70;
        const note = drawer
          ? 'ESC p incomplete: drawer kick needs all five bytes ESC p m t1 t2'
          : `truncated command: the stream ends before the command is complete (${cmd.length} byte(s))`;
        this.#unknownAt(this.#base + i, cmd.subarray(0, 64), note);
        i = next;
        continue;
      }
      i += used;
    }
    this.#pending = buf.slice(i);
    this.#base += i;
  }

  /** Decode one command or character at buf[i]; returns the bytes used, or NEED_MORE. */
  #step(buf: Uint8Array, i: number): number {
    const b = buf[i];
    const offset = this.#base + i;
    if (b !== ESC && b !== GS && b !== FS && b !== DLE) {
      if (b >= 0x20) {
        this.#flushGarbage();
        return this.#text(buf, i);
      }
      if (b !== LF && b !== CR && b !== HT && b !== FF && b !== CAN) {
        this.#garbageByte(offset, b, 'control byte outside a command');
        return 1;
      }
      this.#flushGarbage();
      switch (b) {
        case LF: // Print commands, "Print and line feed"
          this.#flushLine(true); // an empty line buffer still feeds one line
          return 1;
        case CR: // Print commands, "Print and carriage return": with auto line feed disabled (the default) CR is ignored
          return 1;
        case HT: // Print position commands, "Horizontal tab"
          this.#tab();
          return 1;
        case FF: // Print commands, "Print and return to standard mode (in page mode)" / in standard mode: print and feed (models differ)
          this.#flushLine();
          this.#note(offset, 'FF: page mode is not decoded; printed the buffer');
          return 1;
        default: // CAN, Page mode commands, "Cancel print data in page mode"
          this.#note(offset, 'CAN: page mode is not decoded');
          return 1;
      }
    }
    this.#flushGarbage();
    if (buf.length - i < 2) return NEED_MORE;
    switch (b) {
      case ESC:
        return this.#esc(buf, i, offset);
      case GS:
        return this.#gs(buf, i, offset);
      case FS:
        return this.#fs(buf, i, offset);
      default:
        return this.#dle(buf, i, offset);
    }
  }

  /** a text character in the active code page, or a multi-byte character in FS & mode */
  #text(buf: Uint8Array, i: number): number {
    const s = this.#state;
    const b = buf[i];
    if (s.cjkMode && b >= 0x80) {
      const enc = s.cjkEncoding;
      if (enc === 'shift_jis' && b >= 0xa1 && b <= 0xdf) {
        // JIS X 0201 half-width katakana: one byte, half width
        this.#addChar(String.fromCharCode(0xff61 + b - 0xa1), true, this.#charDots(false, false));
        return 1;
      }
      if (buf.length - i < 2) return NEED_MORE;
      let len = 2;
      // GB18030 four-byte sequences: lead 81..FE, second byte 30..39
      if (enc === 'gb18030' && buf[i + 1] >= 0x30 && buf[i + 1] <= 0x39) {
        if (buf.length - i < 4) return NEED_MORE;
        len = 4;
      }
      const ch = iconv.decode(Buffer.from(buf.subarray(i, i + len)), ICONV_CJK[enc]);
      this.#addChar(ch, true, this.#charDots(true, true));
      return len;
    }
    const ch = singleByteTable(s.codePage)[b];
    this.#addChar(ch, false, this.#charDots(false, false));
    return 1;
  }

  #tab(): void {
    const cell = this.#charDots(false, false) / this.#style(false).width;
    const column = Math.floor(this.#x / cell);
    const next = this.#state.tabs.find((t) => t > column);
    if (next === undefined) return; // no further tab position: HT is ignored
    const spaces = next - column;
    for (let k = 0; k < spaces; k++) this.#addChar(' ', false, this.#charDots(false, false));
  }

  /** bytes n1..nk after a prefix of `count`; NEED_MORE when absent */
  #need(buf: Uint8Array, i: number, count: number): boolean {
    return buf.length - i >= count;
  }

  /** A declared length: bounded by maxCommandBytes. Returns false (and reports) when it is not trusted. */
  #bounded(buf: Uint8Array, i: number, header: number, declared: number, offset: number, what: string): boolean {
    if (declared <= this.#options.maxCommandBytes) return true;
    this.#unknownAt(offset, buf.subarray(i, i + header), `${what}: declared length ${declared} exceeds the ${this.#options.maxCommandBytes}-byte bound, not trusted`);
    return false;
  }

  /** A three-byte command `X fn n`: applies n, or waits for more bytes. */
  #withOneArgument(buf: Uint8Array, i: number, apply: (n: number) => void): number {
    if (!this.#need(buf, i, 3)) return NEED_MORE;
    apply(buf[i + 2]);
    return 3;
  }

  // ---- ESC -------------------------------------------------------------------------------------------------------

  #esc(buf: Uint8Array, i: number, offset: number): number {
    const s = this.#state;
    const fn = buf[i + 1];
    const arg = (k: number): number => buf[i + 1 + k];
    const with1 = (apply: (n: number) => void): number => this.#withOneArgument(buf, i, apply);
    switch (fn) {
      case 0x40: // ESC @ Miscellaneous commands, "Initialize printer": clears the print buffer, modes to power-on
        if (this.#spans.length > 0) this.#note(offset, 'ESC @ discarded the unprinted line buffer');
        this.#spans = [];
        this.#x = 0;
        this.#lineAlign = undefined;
        this.#reset();
        return 2;
      case 0x21: // ESC ! n Character commands, "Select print mode(s)": bit0 font B, bit3 emphasized, bit4 double height, bit5 double width, bit7 underline
        return with1((n) => {
          s.fontB = (n & 0x01) !== 0;
          s.emphasized = (n & 0x08) !== 0;
          s.escDoubleHeight = (n & 0x10) !== 0;
          s.escDoubleWidth = (n & 0x20) !== 0;
          s.underline = n & 0x80 ? 1 : 0;
          s.width = 1;
          s.height = 1;
        });
      case 0x45: // ESC E n Character commands, "Turn emphasized mode on/off": LSB
        return with1((n) => { s.emphasized = (n & 1) === 1; });
      case 0x47: // ESC G n Character commands, "Turn double-strike mode on/off": printed like emphasized
        return with1((n) => { s.doubleStrike = (n & 1) === 1; });
      case 0x2d: // ESC - n Character commands, "Turn underline mode on/off": 0/48 off, 1/49 one dot, 2/50 two dots
        return with1((n) => { s.underline = underlineOf(n, s.underline); });
      case 0x4d: // ESC M n Character commands, "Select character font": 0/48 A, 1/49 B (others: model fonts, drawn as A)
        return with1((n) => { s.fontB = low(n) === 1; });
      case 0x20: // ESC SP n Character commands, "Set right-side character spacing" (dots)
        return with1((n) => { s.rightSpacing = n; });
      case 0x74: // ESC t n Character commands, "Select character code table"
        return with1((n) => {
          const page = CODE_PAGES[n];
          if (page) s.codePage = page;
          else this.#unknownAt(offset, buf.subarray(i, i + 3), `ESC t ${n}: code table not supported, keeping ${s.codePage}`);
        });
      case 0x52: // ESC R n Character commands, "Select an international character set" (13 Korea + FS & = EUC-KR printers)
        return with1((n) => {
          const cjk = INTERNATIONAL_CJK[n];
          if (cjk && !this.#options.cjkEncoding) s.cjkEncoding = cjk;
        });
      case 0x7b: // ESC { n Character commands, "Turn upside-down print mode on/off": not drawn
        return with1((n) => { if (n & 1) this.#note(offset, 'ESC { 1: upside-down printing is not drawn'); });
      case 0x56: // ESC V n Character commands, "Turn 90° clockwise rotation mode on/off": not drawn
        return with1((n) => { if (low(n) !== 0) this.#note(offset, 'ESC V: 90° rotation is not drawn'); });
      case 0x61: // ESC a n Print position commands, "Select justification": 0/48 left, 1/49 center, 2/50 right
        return with1((n) => {
          const a = low(n);
          if (a === 0 || a === 1 || a === 2) s.align = (['left', 'center', 'right'] as const)[a];
          else this.#unknownAt(offset, buf.subarray(i, i + 3), `ESC a ${n}: no such justification`);
        });
      case 0x24: // ESC $ nL nH Print position commands, "Set absolute print position" (dots from the left of the print area)
        if (!this.#need(buf, i, 4)) return NEED_MORE;
        this.#x = arg(1) + arg(2) * 256;
        return 4;
      case 0x5c: { // ESC \ nL nH Print position commands, "Set relative print position" (signed)
        if (!this.#need(buf, i, 4)) return NEED_MORE;
        const d = arg(1) + arg(2) * 256;
        this.#x = Math.max(0, this.#x + (d >= 0x8000 ? d - 0x10000 : d));
        return 4;
      }
      case 0x44: { // ESC D n1..nk NUL Print position commands, "Set horizontal tab positions" (k <= 32, ascending)
        const tabs: number[] = [];
        for (let k = i + 2; k < buf.length; k++) {
          if (buf[k] === 0 || tabs.length === 32 || (tabs.length > 0 && buf[k] <= tabs[tabs.length - 1])) {
            s.tabs = tabs;
            return k - i + (buf[k] === 0 ? 1 : 0);
          }
          tabs.push(buf[k]);
        }
        return NEED_MORE;
      }
      case 0x64: // ESC d n Print commands, "Print and feed n lines"
        return with1((n) => {
          this.#flushLine();
          this.#items.push({ kind: 'feed', lines: n, dots: 0 });
        });
      case 0x4a: // ESC J n Print commands, "Print and feed paper" (n dots)
        return with1((n) => {
          this.#flushLine();
          this.#items.push({ kind: 'feed', lines: 0, dots: n });
        });
      case 0x32: // ESC 2 Line spacing commands, "Select default line spacing"
        s.lineSpacing = 30;
        return 2;
      case 0x33: // ESC 3 n Line spacing commands, "Set line spacing" (dots)
        return with1((n) => { s.lineSpacing = n; });
      case 0x70: { // ESC p m t1 t2 Miscellaneous commands, "Generate pulse": m 0/48 pin 2, 1/49 pin 5; times in 2 ms units
        if (!this.#need(buf, i, 3)) return NEED_MORE;
        const m = low(arg(1));
        // the 3-byte form (escpos@2.5.2 cashdraw() sends 1B 70 00): t1/t2 missing, the next command already starts
        const cut = [2, 3].find((k) => i + 1 + k < buf.length && isIntroducer(buf[i + 1 + k]));
        if (cut !== undefined || m > 1) {
          const len = cut !== undefined ? cut + 1 : 3;
          this.#unknownAt(offset, buf.subarray(i, i + len), m > 1 ? `ESC p: no such connector pin m=${arg(1)}` : 'ESC p incomplete: drawer kick needs all five bytes ESC p m t1 t2');
          return len;
        }
        if (!this.#need(buf, i, 5)) return NEED_MORE;
        this.#flushLine();
        this.#items.push({ kind: 'drawer', pin: m === 0 ? 2 : 5, onMs: arg(2) * 2, offMs: arg(3) * 2 });
        return 5;
      }
      case 0x2a: // ESC * m nL nH d1..dk Bit image commands, "Select bit-image mode"
        return this.#escStar(buf, i, offset);
      case 0x69: // ESC i Mechanism control commands, "Partial cut (one point left uncut)" (obsolete; TM models cut fully)
      case 0x6d: // ESC m Mechanism control commands, "Partial cut (three points left uncut)" (obsolete)
        this.#flushLine();
        this.#items.push({ kind: 'cut', partial: true });
        return 2;
      case 0x63: // ESC c 3/4/5 n Paper sensor / Panel button commands: settings, nothing printed
        if (!this.#need(buf, i, 4)) return NEED_MORE;
        return 4;
      case 0x3d: // ESC = n Miscellaneous commands, "Select peripheral device"
      case 0x55: // ESC U n Print commands, "Turn unidirectional print mode on/off"
      case 0x72: // ESC r n Character commands, "Select print color"
      case 0x25: // ESC % n Character commands, "Select/cancel user-defined character set"
      case 0x3f: // ESC ? n Character commands, "Cancel user-defined characters"
        return with1(() => undefined);
      case 0x4c: // ESC L Page mode commands, "Select page mode"
      case 0x53: // ESC S Page mode commands, "Select standard mode"
      case 0x0c: // ESC FF Page mode commands, "Print data in page mode"
        this.#note(offset, `ESC ${String.fromCharCode(fn)}: page mode is not decoded`);
        return 2;
      default:
        return this.#unknownCommand(buf, i, offset, `ESC 0x${fn.toString(16).padStart(2, '0')}: unknown command`);
    }
  }

  /** ESC * m nL nH: m 0/1 8-dot single/double density, 32/33 24-dot single/double density; column format, MSB at the top */
  #escStar(buf: Uint8Array, i: number, offset: number): number {
    if (!this.#need(buf, i, 5)) return NEED_MORE;
    const m = buf[i + 2];
    const columns = buf[i + 3] + buf[i + 4] * 256;
    const rowsOfBytes = m === 0 || m === 1 ? 1 : m === 32 || m === 33 ? 3 : 0;
    if (rowsOfBytes === 0) return this.#unknownCommand(buf, i, offset, `ESC * ${m}: no such bit-image mode`);
    const len = 5 + columns * rowsOfBytes;
    if (!this.#bounded(buf, i, 5, len, offset, 'ESC *')) return 5;
    if (!this.#need(buf, i, len)) return NEED_MORE;
    const height = rowsOfBytes * 8;
    const rowBytes = Math.ceil(columns / 8);
    const bits = new Uint8Array(rowBytes * height);
    for (let c = 0; c < columns; c++) {
      for (let k = 0; k < rowsOfBytes; k++) {
        const byte = buf[i + 5 + c * rowsOfBytes + k];
        for (let bit = 0; bit < 8; bit++) {
          if (byte & (0x80 >> bit)) {
            const y = k * 8 + bit;
            bits[y * rowBytes + (c >> 3)] |= 0x80 >> (c & 7);
          }
        }
      }
    }
    // single density doubles the dot horizontally; the 8-dot modes are 1/3 of the vertical density
    this.#items.push({
      kind: 'image', width: columns, height, bits, align: this.#state.align, source: 'ESC *',
      scaleX: m === 0 || m === 32 ? 2 : 1, scaleY: rowsOfBytes === 1 ? 3 : 1,
    });
    return len;
  }

  // ---- GS --------------------------------------------------------------------------------------------------------

  #gs(buf: Uint8Array, i: number, offset: number): number {
    const s = this.#state;
    const fn = buf[i + 1];
    const arg = (k: number): number => buf[i + 1 + k];
    const with1 = (apply: (n: number) => void): number => this.#withOneArgument(buf, i, apply);
    switch (fn) {
      case 0x21: // GS ! n Character commands, "Select character size": high nibble width-1, low nibble height-1 (1..8)
        return with1((n) => {
          const w = (n >> 4) + 1;
          const h = (n & 0x0f) + 1;
          if (w > 8 || h > 8) {
            this.#unknownAt(offset, buf.subarray(i, i + 3), `GS ! 0x${n.toString(16)}: size out of range`);
            return;
          }
          s.width = w;
          s.height = h;
          s.escDoubleWidth = false;
          s.escDoubleHeight = false;
        });
      case 0x42: // GS B n Character commands, "Turn white/black reverse print mode on/off"
        return with1((n) => { s.invert = (n & 1) === 1; });
      case 0x56: // GS V Mechanism control commands, "Select cut mode and cut paper"
        return this.#cut(buf, i, offset);
      case 0x76: // GS v 0 m xL xH yL yH d1..dk Bit image commands, "Print raster bit image"
        return this.#rasterImage(buf, i, offset);
      case 0x28: // GS ( X pL pH ...: length-prefixed functions
        return this.#gsParen(buf, i, offset);
      case 0x38: // GS 8 L p1 p2 p3 p4 m fn ...: Graphics data with a 32-bit length ("Store the graphics data in the print buffer (raster format)")
        return this.#gs8(buf, i, offset);
      case 0x4c: // GS L nL nH Print position commands, "Set left margin" (dots)
        if (!this.#need(buf, i, 4)) return NEED_MORE;
        s.leftMargin = arg(1) + arg(2) * 256;
        return 4;
      case 0x57: // GS W nL nH Print position commands, "Set print area width" (dots)
        if (!this.#need(buf, i, 4)) return NEED_MORE;
        s.areaWidth = arg(1) + arg(2) * 256;
        return 4;
      case 0x50: // GS P x y Miscellaneous commands, "Set horizontal and vertical motion units"
        if (!this.#need(buf, i, 4)) return NEED_MORE;
        return 4;
      case 0x61: // GS a n Status commands, "Enable/disable Automatic Status Back (ASB)": a request, nothing printed
        return with1((n) => this.#note(offset, `GS a ${n}: automatic status back ${n === 0 ? 'disabled' : `enabled (0x${n.toString(16)})`}`));
      case 0x72: // GS r n Status commands, "Transmit status": a request, nothing printed
        return with1((n) => this.#note(offset, `GS r ${low(n)}: status request`));
      case 0x49: // GS I n Miscellaneous commands, "Transmit printer ID"
        return with1((n) => this.#note(offset, `GS I ${n}: printer ID request`));
      case 0x62: // GS b n Character commands, "Turn smoothing mode on/off"
      case 0x48: // GS H n Barcode commands, "Select print position of HRI characters"
      case 0x66: // GS f n Barcode commands, "Select font for HRI characters"
      case 0x68: // GS h n Barcode commands, "Set bar code height"
      case 0x77: // GS w n Barcode commands, "Set bar code width"
        return with1(() => undefined);
      case 0x6b: // GS k Barcode commands, "Print bar code": consumed whole, reported (barcodes are not decoded)
        return this.#barcode(buf, i, offset);
      default:
        return this.#unknownCommand(buf, i, offset, `GS 0x${fn.toString(16).padStart(2, '0')}: unknown command`);
    }
  }

  /** GS V m / GS V m n: 0/48 full, 1/49 partial; 65/66 feed n dots then full/partial; 97/98, 103/104 reserve (models) */
  #cut(buf: Uint8Array, i: number, offset: number): number {
    if (!this.#need(buf, i, 3)) return NEED_MORE;
    const m = buf[i + 2];
    if (m === 0 || m === 1 || m === 0x30 || m === 0x31) {
      this.#flushLine();
      this.#items.push({ kind: 'cut', partial: m === 1 || m === 0x31 });
      return 3;
    }
    if (m === 65 || m === 66 || m === 97 || m === 98 || m === 103 || m === 104) {
      if (!this.#need(buf, i, 4)) return NEED_MORE;
      this.#flushLine();
      this.#items.push({ kind: 'cut', partial: m % 2 === 0 ? true : false, feedDots: buf[i + 3] });
      return 4;
    }
    this.#unknownAt(offset, buf.subarray(i, i + 3), `GS V ${m}: no such cut mode`);
    return 3;
  }

  #rasterImage(buf: Uint8Array, i: number, offset: number): number {
    if (!this.#need(buf, i, 8)) return NEED_MORE;
    if (buf[i + 2] !== 0x30) return this.#unknownCommand(buf, i, offset, `GS v 0x${buf[i + 2].toString(16)}: unknown command`);
    const m = low(buf[i + 3]);
    const xBytes = buf[i + 4] + buf[i + 5] * 256;
    const height = buf[i + 6] + buf[i + 7] * 256;
    const len = 8 + xBytes * height;
    if (m > 3) {
      this.#unknownAt(offset, buf.subarray(i, i + 8), `GS v 0: no such mode m=${buf[i + 3]}`);
      return 8;
    }
    if (!this.#bounded(buf, i, 8, len, offset, 'GS v 0')) return 8;
    if (!this.#need(buf, i, len)) return NEED_MORE;
    this.#flushLine();
    // m: 0 normal, 1 double width, 2 double height, 3 quadruple
    this.#items.push({
      kind: 'image', width: xBytes * 8, height, bits: buf.slice(i + 8, i + len), align: this.#state.align, source: 'GS v 0',
      scaleX: m & 1 ? 2 : 1, scaleY: m & 2 ? 2 : 1,
    });
    return len;
  }

  /** GS ( X pL pH: k for 2D codes, L for graphics, H for the process ID response; others are consumed and reported */
  #gsParen(buf: Uint8Array, i: number, offset: number): number {
    if (!this.#need(buf, i, 5)) return NEED_MORE;
    const which = buf[i + 2];
    const p = buf[i + 3] + buf[i + 4] * 256;
    const len = 5 + p;
    const name = `GS ( ${String.fromCharCode(which)}`;
    if (!this.#bounded(buf, i, 5, p, offset, name)) return 5;
    if (!this.#need(buf, i, len)) return NEED_MORE;
    const body = buf.subarray(i + 5, i + len);
    switch (which) {
      case 0x6b: // GS ( k: 2D code
        this.#code2d(body, buf.subarray(i, i + len), offset);
        break;
      case 0x4c: // GS ( L: graphics (m = 48, fn in body[1])
        this.#graphics(body, buf.subarray(i, i + len), offset, 'GS ( L');
        break;
      case 0x48: // GS ( H pL pH fn m d1..d4, Miscellaneous commands, "Request transmission of response or status" (fn 48: process ID)
        if (body[0] === 0x30 && body.length === 6) this.#note(offset, `GS ( H: process ID response requested (${String.fromCharCode(...body.subarray(2))})`);
        else this.#note(offset, `GS ( H fn ${body[0]}: response request`);
        break;
      case 0x41: // GS ( A: test print
      case 0x43: // GS ( C: user NV memory
      case 0x44: // GS ( D: real-time command enable
      case 0x45: // GS ( E: user setup
      case 0x4b: // GS ( K: print control
      case 0x4d: // GS ( M: customize values
      case 0x4e: // GS ( N: character style (color)
        this.#note(offset, `${name}: setting, not printed`);
        break;
      default:
        this.#unknownAt(offset, buf.subarray(i, Math.min(i + len, i + 32)), `${name}: unknown function (${p} byte(s))`);
    }
    return len;
  }

  /** GS 8 L p1 p2 p3 p4 m fn ...: the same functions as GS ( L with a 32-bit length (Bit image commands) */
  #gs8(buf: Uint8Array, i: number, offset: number): number {
    if (!this.#need(buf, i, 7)) return NEED_MORE;
    if (buf[i + 2] !== 0x4c) return this.#unknownCommand(buf, i, offset, `GS 8 0x${buf[i + 2].toString(16)}: unknown command`);
    const p = buf[i + 3] + buf[i + 4] * 0x100 + buf[i + 5] * 0x10000 + buf[i + 6] * 0x1000000;
    const len = 7 + p;
    if (!this.#bounded(buf, i, 7, p, offset, 'GS 8 L')) return 7;
    if (!this.#need(buf, i, len)) return NEED_MORE;
    this.#graphics(buf.subarray(i + 7, i + len), buf.subarray(i, i + len), offset, 'GS 8 L');
    return len;
  }

  /**
   * GS ( L / GS 8 L body: m fn ... (Bit image commands, "Graphics data")
   * - fn 112 (Function 112) "Store the graphics data in the print buffer (raster format)": a bx by c xL xH yL yH d1..dk
   *   (a 48 = monochrome, bx/by 1|2 magnification, c 49 = first color)
   * - fn 50 (Function 50) "Print the graphics data in the print buffer"
   * - fn 49 (Function 49) "Set the reference dot density for graphics" (a setting)
   */
  #graphics(body: Uint8Array, whole: Uint8Array, offset: number, name: 'GS ( L' | 'GS 8 L'): void {
    const fn = body[1];
    if (fn === 112 && body.length >= 10) {
      const [, , a, bx, by, , xL, xH, yL, yH] = body;
      const width = xL + xH * 256;
      const height = yL + yH * 256;
      const size = Math.ceil(width / 8) * height;
      if (a !== 48) {
        this.#unknownAt(offset, whole.subarray(0, 17), `${name} fn 112: multi-tone graphics (a=${a}) are not decoded`);
        return;
      }
      if (body.length < 10 + size) {
        this.#unknownAt(offset, whole.subarray(0, 17), `${name} fn 112: ${width}x${height} needs ${size} data bytes, the command holds ${body.length - 10}`);
        return;
      }
      this.#state.graphics = { width, height, bits: body.slice(10, 10 + size), scaleX: bx === 2 ? 2 : 1, scaleY: by === 2 ? 2 : 1 };
      return;
    }
    if (fn === 50 || fn === 2) {
      const g = this.#state.graphics;
      if (!g) {
        this.#unknownAt(offset, whole, `${name} fn 50: print without stored graphics data`);
        return;
      }
      this.#flushLine();
      this.#items.push({ kind: 'image', width: g.width, height: g.height, bits: g.bits, align: this.#state.align, scaleX: g.scaleX, scaleY: g.scaleY, source: 'GS ( L' });
      this.#state.graphics = undefined;
      return;
    }
    if (fn === 49 || fn === 1) return;
    this.#unknownAt(offset, whole.subarray(0, 32), `${name} fn ${fn}: graphics function not decoded (NV/download graphics, column format)`);
  }

  /**
   * GS ( k pL pH cn fn ... (2D code commands). cn 49 is QR Code; its functions are numbered 165..181 in the guide:
   * - Function 165 (fn 65) "Select the model": n1 49 model 1, 50 model 2, 51 micro QR; n2 0
   * - Function 167 (fn 67) "Set the size of module": n 1..16 dots
   * - Function 169 (fn 69) "Select the error correction level": n 48 L, 49 M, 50 Q, 51 H
   * - Function 180 (fn 80) "Store the data in the symbol storage area": m 48, d1..dk
   * - Function 181 (fn 81) "Print the symbol data in the symbol storage area": m 48
   * - Function 182 (fn 82) "Transmit the size information of the symbol data": a request
   */
  #code2d(body: Uint8Array, whole: Uint8Array, offset: number): void {
    const s = this.#state;
    const [cn, fn] = body;
    if (cn !== 49) {
      this.#unknownAt(offset, whole.subarray(0, 32), `GS ( k cn ${cn}: 2D symbol other than QR Code is not decoded`);
      return;
    }
    switch (fn) {
      case 65:
        if (body[2] === 49 || body[2] === 50) s.qrModel = body[2] === 49 ? 1 : 2;
        else this.#unknownAt(offset, whole, `GS ( k QR function 165: model ${body[2]} not supported`);
        return;
      case 67:
        if (body[2] >= 1 && body[2] <= 16) s.qrSize = body[2];
        else this.#unknownAt(offset, whole, `GS ( k QR function 167: module size ${body[2]} out of range 1..16`);
        return;
      case 69: {
        const level = (['L', 'M', 'Q', 'H'] as const)[body[2] - 48];
        if (level) s.qrErrorCorrection = level;
        else this.#unknownAt(offset, whole, `GS ( k QR function 169: error correction ${body[2]} out of range 48..51`);
        return;
      }
      case 80:
        s.qrData = body.slice(3);
        return;
      case 81: {
        if (!s.qrData || s.qrData.length === 0) {
          this.#unknownAt(offset, whole, 'GS ( k QR function 181: print with no stored data');
          return;
        }
        this.#flushLine();
        this.#items.push({
          kind: 'qr', payload: decodePayload(s.qrData), data: s.qrData, size: s.qrSize, errorCorrection: s.qrErrorCorrection,
          align: s.align, model: s.qrModel,
        });
        return;
      }
      case 82:
        this.#note(offset, 'GS ( k QR function 182: symbol size request');
        return;
      default:
        this.#unknownAt(offset, whole.subarray(0, 32), `GS ( k QR fn ${fn}: function not decoded`);
    }
  }

  /** GS k m d1..dk NUL (m 0..6) or GS k m n d1..dn (m 65..79) */
  #barcode(buf: Uint8Array, i: number, offset: number): number {
    if (!this.#need(buf, i, 3)) return NEED_MORE;
    const m = buf[i + 2];
    let len: number;
    if (m <= 6) {
      const end = buf.indexOf(0, i + 3);
      if (end < 0) return buf.length - i > 255 ? this.#unknownCommand(buf, i, offset, 'GS k: barcode data without NUL') : NEED_MORE;
      len = end - i + 1;
    } else if (m >= 65 && m <= 79) {
      if (!this.#need(buf, i, 4)) return NEED_MORE;
      len = 4 + buf[i + 3];
      if (!this.#need(buf, i, len)) return NEED_MORE;
    } else {
      return this.#unknownCommand(buf, i, offset, `GS k ${m}: no such barcode system`);
    }
    this.#flushLine();
    this.#unknownAt(offset, buf.subarray(i, i + len), `GS k ${m}: barcode not decoded`);
    return len;
  }

  // ---- FS (Kanji commands) ---------------------------------------------------------------------------------------

  #fs(buf: Uint8Array, i: number, offset: number): number {
    const s = this.#state;
    const fn = buf[i + 1];
    const with1 = (apply: (n: number) => void): number => {
      if (!this.#need(buf, i, 3)) return NEED_MORE;
      apply(buf[i + 2]);
      return 3;
    };
    switch (fn) {
      case 0x26: // FS & "Select Kanji character mode" (Chinese printers: GB18030, Korean printers with ESC R 13: EUC-KR)
        s.cjkMode = true;
        return 2;
      case 0x2e: // FS . "Cancel Kanji character mode"
        s.cjkMode = false;
        return 2;
      case 0x21: // FS ! n "Select print mode(s) for Kanji characters": bit2 double width, bit3 double height, bit7 underline
        return with1((n) => {
          s.kanjiDoubleWidth = (n & 0x04) !== 0;
          s.kanjiDoubleHeight = (n & 0x08) !== 0;
          s.kanjiUnderline = n & 0x80 ? 1 : 0;
        });
      case 0x2d: // FS - n "Turn underline mode on/off for Kanji characters"
        return with1((n) => { s.kanjiUnderline = underlineOf(n, s.kanjiUnderline); });
      case 0x57: // FS W n "Turn quadruple-size mode on/off for Kanji characters"
        return with1((n) => {
          s.kanjiDoubleWidth = (n & 1) === 1;
          s.kanjiDoubleHeight = (n & 1) === 1;
        });
      case 0x43: // FS C n "Select Kanji character code system" (0/48 JIS, 1/49 Shift JIS): Japanese models
        return with1(() => undefined);
      case 0x53: // FS S n1 n2 "Set left- and right-side Kanji character spacing"
        if (!this.#need(buf, i, 4)) return NEED_MORE;
        s.kanjiLeftSpacing = buf[i + 2];
        s.kanjiRightSpacing = buf[i + 3];
        return 4;
      case 0x28: { // FS ( X pL pH ...: length-prefixed (FS ( A "Select Kanji character style(s)", FS ( C, FS ( E, ...)
        if (!this.#need(buf, i, 5)) return NEED_MORE;
        const p = buf[i + 3] + buf[i + 4] * 256;
        if (!this.#bounded(buf, i, 5, p, offset, 'FS (')) return 5;
        if (!this.#need(buf, i, 5 + p)) return NEED_MORE;
        if (buf[i + 2] !== 0x41) this.#note(offset, `FS ( ${String.fromCharCode(buf[i + 2])}: setting, not printed`);
        return 5 + p;
      }
      case 0x70: // FS p n m "Print NV bit image" (obsolete): the stored image is not known here
        if (!this.#need(buf, i, 4)) return NEED_MORE;
        this.#unknownAt(offset, buf.subarray(i, i + 4), `FS p ${buf[i + 2]}: NV bit image (not stored in the virtual printer)`);
        return 4;
      default:
        return this.#unknownCommand(buf, i, offset, `FS 0x${fn.toString(16).padStart(2, '0')}: unknown command`);
    }
  }

  // ---- DLE (Real-time commands): never printed ------------------------------------------------------------------

  #dle(buf: Uint8Array, i: number, offset: number): number {
    const fn = buf[i + 1];
    switch (fn) {
      case 0x04: { // DLE EOT n "Transmit real-time status" (n 1..4; 7 and 8 take one more byte)
        if (!this.#need(buf, i, 3)) return NEED_MORE;
        const n = buf[i + 2];
        const len = n === 7 || n === 8 ? 4 : 3;
        if (!this.#need(buf, i, len)) return NEED_MORE;
        this.#note(offset, `DLE EOT ${n}: real-time status request`);
        return len;
      }
      case 0x05: // DLE ENQ n "Send real-time request to printer"
        if (!this.#need(buf, i, 3)) return NEED_MORE;
        this.#note(offset, `DLE ENQ ${buf[i + 2]}: real-time request`);
        return 3;
      case 0x14: { // DLE DC4 fn ... "Generate pulse in real-time" (fn 1: m t, pulse t x 100 ms) and other real-time functions
        if (!this.#need(buf, i, 3)) return NEED_MORE;
        const f = buf[i + 2];
        const len = f === 8 ? 10 : f === 7 ? 4 : 5;
        if (!this.#need(buf, i, len)) return NEED_MORE;
        if (f === 1 && buf[i + 3] <= 1 && buf[i + 4] >= 1 && buf[i + 4] <= 8) {
          this.#items.push({ kind: 'drawer', pin: buf[i + 3] === 0 ? 2 : 5, onMs: buf[i + 4] * 100, offMs: buf[i + 4] * 100 });
        } else {
          this.#note(offset, `DLE DC4 ${f}: real-time command`);
        }
        return len;
      }
      default:
        return this.#unknownCommand(buf, i, offset, `DLE 0x${fn.toString(16).padStart(2, '0')}: unknown real-time command`);
    }
  }

  /**
   * An unknown command: its length is not known, so report the introducer, the function byte and the parameter-like
   * bytes after it (below 0x20, and not LF/CR/HT/ESC/FS/GS/DLE), and resync at the next plausible byte.
   */
  #unknownCommand(buf: Uint8Array, i: number, offset: number, note: string): number {
    let k = i + 2;
    while (k < buf.length && buf[k] < 0x20 && !isIntroducer(buf[k]) && buf[k] !== LF && buf[k] !== CR && buf[k] !== HT) k++;
    this.#unknownAt(offset, buf.subarray(i, k), note);
    return k - i;
  }
}

function isIntroducer(b: number): boolean {
  return b === ESC || b === GS || b === FS || b === DLE;
}

function underlineOf(n: number, current: 0 | 1 | 2): 0 | 1 | 2 {
  const v = low(n);
  return v === 0 || v === 1 || v === 2 ? v : current;
}

function sameStyle(a: TextStyle, b: TextStyle): boolean {
  return a.bold === b.bold && a.underline === b.underline && a.invert === b.invert && a.width === b.width && a.height === b.height && a.align === b.align && a.font === b.font;
}

/** Decode a whole ESC/POS byte stream (see EscPosDecoder). */
export function decodeEscPos(bytes: Uint8Array, options?: DecoderOptions): DecodedPaper {
  const decoder = new EscPosDecoder(options);
  decoder.push(bytes);
  return decoder.end();
}

// A model of an Epson-mode customer display: feed it the bytes a driver sends and it keeps the
// rows x columns screen the real display would show. Used by the simulated display and by tests.
// Commands follow the Epson "ESC/POS Command Reference for Customer Displays" (DM-D series); only
// the set in commands.ts plus the few single-byte cursor controls are modelled.
//
// Robustness: any byte sequence is accepted. An ESC or US followed by a byte that is not a known
// command is skipped as a two-byte sequence (ESC ESC: the first ESC is dropped). Parameter bytes
// are taken whatever their value, as a real display does, so after garbage at most the next two
// bytes are lost to a half-received command: a full re-initialisation (ESC @ ...) followed by a
// whole-screen rewrite always brings the screen back in sync. State is a fixed-size screen and at
// most four command bytes, so memory is bounded whatever arrives.

import iconv from 'iconv-lite';
import { CLR, ESC, US, checkGeometry, type PoleDisplayGeometry } from './commands.js';

const BS = 0x08;
const HT = 0x09;
const LF = 0x0a;
const HOM = 0x0b;
const CR = 0x0d;
const DEL = 0x7f;

/** PC437 glyphs for the printable bytes (0x20..0xFF); C0 and DEL are never drawn. */
const GLYPHS: readonly string[] = Array.from({ length: 256 }, (_, b) => (b < 0x20 || b === DEL ? '' : iconv.decode(Buffer.of(b), 'cp437')));

export interface PoleDisplayDecoderStats {
  bytes: number;
  /** ESC @ commands seen */
  initializations: number;
  /** bytes skipped as unknown or malformed commands */
  skipped: number;
}

/** What a command is waiting for: the command bytes so far (at most 3: US $ x). */
type Pending = { kind: 'esc' } | { kind: 'us' } | { kind: 'param'; cmd: number[]; need: number };

export class PoleDisplayDecoder {
  readonly columns: number;
  readonly rows: number;
  #cells: string[][];
  /** 0-based cursor */
  #x = 0;
  #y = 0;
  #pending: Pending | null = null;
  #cursorVisible = true;
  #brightness = 4;
  #codeTable = 0;
  readonly #stats: PoleDisplayDecoderStats = { bytes: 0, initializations: 0, skipped: 0 };

  constructor(geometry: PoleDisplayGeometry = { columns: 20, rows: 2 }) {
    checkGeometry(geometry);
    this.columns = geometry.columns;
    this.rows = geometry.rows;
    this.#cells = this.blank();
  }

  /** The screen, one string of `columns` characters per row. */
  screen(): string[] {
    return this.#cells.map((row) => row.join(''));
  }

  get cursor(): { column: number; row: number } {
    return { column: this.#x + 1, row: this.#y + 1 };
  }
  get cursorVisible(): boolean {
    return this.#cursorVisible;
  }
  /** US X level, 1..4 */
  get brightness(): number {
    return this.#brightness;
  }
  /** ESC t n; glyphs are always drawn from PC437 (table 0), the only table the drivers select. */
  get codeTable(): number {
    return this.#codeTable;
  }
  get stats(): Readonly<PoleDisplayDecoderStats> {
    return { ...this.#stats };
  }

  /** Feed bytes as they arrive; commands may be split across calls. */
  write(bytes: Uint8Array): void {
    for (const b of bytes) {
      this.#stats.bytes++;
      this.byte(b);
    }
  }

  private byte(b: number): void {
    const pending = this.#pending;
    if (pending) {
      if (pending.kind !== 'param') {
        // ESC ESC / US US / ESC US ...: the first one is dropped and the second starts a command
        if (b === ESC || b === US) {
          this.#stats.skipped++;
          this.#pending = { kind: b === ESC ? 'esc' : 'us' };
          return;
        }
        return pending.kind === 'esc' ? this.escape(b) : this.unit(b);
      }
      // parameter bytes are taken as they come, whatever their value (US $ 27 1 is column 27)
      pending.cmd.push(b);
      if (pending.cmd.length < pending.need) return;
      this.#pending = null;
      return this.command(pending.cmd);
    }
    switch (b) {
      case ESC:
        this.#pending = { kind: 'esc' };
        return;
      case US:
        this.#pending = { kind: 'us' };
        return;
      case CLR: // Clear display screen; cursor to the upper-left
        this.#cells = this.blank();
        this.#x = 0;
        this.#y = 0;
        return;
      case HOM: // Move cursor to home position
        this.#x = 0;
        this.#y = 0;
        return;
      case CR: // Move cursor to left-most position
        this.#x = 0;
        return;
      case LF: // Move cursor down (overwrite mode: from the lower row back to the upper one)
        this.#y = (this.#y + 1) % this.rows;
        return;
      case BS: // Move cursor left (from the left end to the right end of the row above)
        if (this.#x > 0) this.#x--;
        else {
          this.#x = this.columns - 1;
          this.#y = (this.#y + this.rows - 1) % this.rows;
        }
        return;
      case HT: // Move cursor right
        this.advance();
        return;
    }
    if (b < 0x20 || b === DEL) {
      this.#stats.skipped++;
      return;
    }
    this.#cells[this.#y][this.#x] = GLYPHS[b];
    this.advance();
  }

  /** The byte after ESC. */
  private escape(b: number): void {
    switch (b) {
      case 0x40: // ESC @, Initialize display
        this.#pending = null;
        this.initialize();
        return;
      case 0x74: // ESC t n, Select character code table
        this.#pending = { kind: 'param', cmd: [ESC, b], need: 3 };
        return;
      default:
        this.#pending = null;
        this.#stats.skipped += 2;
    }
  }

  /** The byte after US. */
  private unit(b: number): void {
    switch (b) {
      case 0x01: // US MD1, Specify overwrite mode (the only mode modelled)
        this.#pending = null;
        return;
      case 0x24: // US $ x y, Move cursor to specified position
        this.#pending = { kind: 'param', cmd: [US, b], need: 4 };
        return;
      case 0x43: // US C n, Turn cursor display mode on/off
      case 0x58: // US X n, Set display screen brightness
        this.#pending = { kind: 'param', cmd: [US, b], need: 3 };
        return;
      default:
        this.#pending = null;
        this.#stats.skipped += 2;
    }
  }

  private command(cmd: readonly number[]): void {
    const [prefix, code, p1, p2] = cmd;
    if (prefix === ESC && code === 0x74) {
      this.#codeTable = p1;
    } else if (code === 0x24) {
      // out-of-range positions are ignored, as the reference specifies
      if (p1 >= 1 && p1 <= this.columns && p2 >= 1 && p2 <= this.rows) {
        this.#x = p1 - 1;
        this.#y = p2 - 1;
      } else this.#stats.skipped += cmd.length;
    } else if (code === 0x43) {
      if (p1 === 0 || p1 === 1) this.#cursorVisible = p1 === 1;
      else this.#stats.skipped += cmd.length;
    } else if (code === 0x58) {
      if (p1 >= 1 && p1 <= 4) this.#brightness = p1;
      else this.#stats.skipped += cmd.length;
    }
  }

  private initialize(): void {
    this.#stats.initializations++;
    this.#cells = this.blank();
    this.#x = 0;
    this.#y = 0;
    this.#cursorVisible = true;
    this.#brightness = 4;
    this.#codeTable = 0;
  }

  /** Overwrite mode: past the right end, continue at the left end of the next row (lower -> upper). */
  private advance(): void {
    if (++this.#x < this.columns) return;
    this.#x = 0;
    this.#y = (this.#y + 1) % this.rows;
  }

  private blank(): string[][] {
    return Array.from({ length: this.rows }, () => new Array<string>(this.columns).fill(' '));
  }
}

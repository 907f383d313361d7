/**
 * The ESC/POS command set receiptline renders slips with: receiptline's own `escpos` set, changed where cheap
 * 58/80 mm printers (and the virtual printer's decoder) need plainer commands:
 *
 * - Layout with spaces: columns and alignment are padded with spaces from the line start, instead of print-area
 *   (GS L / GS W) and dot positions (ESC $ / ESC \), which many clones ignore. The line a printer prints is then
 *   exactly its text, so what a golden test decodes is what the clerk reads.
 * - Rules are ASCII '-' (receiptline prints box-drawing characters from code page 1, which CJK printers lack).
 *   Vertical rules (`border: line`) cannot be drawn with spaces and make rendering fail.
 * - QR codes use the printer's own QR command (GS ( k: model 2, module size, error correction, store, print):
 *   the printer draws it, and the payload stays in the byte stream. receiptline would send a raster image.
 * - Images are raster bit images (GS v 0), the form every ESC/POS printer knows.
 * - Init is ESC @ only, and the end is the cut alone (GS V 66 0: feed to the cutter, partial cut): no real-time
 *   status request (GS r), the printer driver asks for status itself (DLE EOT).
 * Text is receiptline's: ESC t 0 FS & (+ ESC R 13 for Korean) before each run, then GB18030 / EUC-KR bytes.
 */
import { commands, type BaseCommand, type Printer } from 'receiptline';

const ESC = '\x1b';
const GS = '\x1d';

function bytes(...values: number[]): string {
  return String.fromCharCode(...values);
}

/** GS ( k pL pH cn fn [params]: one QR function (cn 49 = QR Code). */
function qrFunction(fn: number, params: string): string {
  const length = params.length + 2;
  return `${GS}(k` + bytes(length & 0xff, length >> 8, 49, fn) + params;
}

const QR_LEVEL: Record<string, number> = { l: 48, m: 49, q: 50, h: 51 };

/** A fresh command set for one rendering (it keeps the cursor of the line being built). */
export function createEscposCommand(): BaseCommand {
  const base = commands.escpos;
  let cursor = 0; // columns printed on the current line
  let left = 0; // left edge of receiptline's print area, in columns
  let scale = 1; // character width multiplier in effect
  let decorated = false; // underline/bold/invert in effect (spaces must not carry them)

  // receiptline centres with half columns (margin 1.5): spaces cannot, so positions are rounded down
  const pad = (position: number, self: BaseCommand): string => {
    const target = Math.floor(position);
    const n = target - cursor;
    if (n <= 0) return '';
    cursor = target;
    return (decorated || scale !== 1 ? self.normal() : '') + ' '.repeat(n);
  };
  const unsupported = (what: string) => (): never => {
    throw new Error(`${what} (border: line) cannot be printed on this printer; use border: space or none`);
  };

  const command: BaseCommand = {
    ...base,
    open(this: BaseCommand, printer: Printer) {
      base.open.call(this, printer);
      cursor = 0;
      left = 0;
      scale = 1;
      decorated = false;
      return `${ESC}@`;
    },
    close(this: BaseCommand) {
      return this.cutting ? this.cut() : '';
    },
    area(this: BaseCommand, areaLeft: number, width: number, right: number) {
      this.left = areaLeft;
      this.width = width;
      this.right = right;
      left = areaLeft;
      return '';
    },
    align(this: BaseCommand, align: number) {
      this.alignment = align;
      return `${ESC}a` + bytes(align);
    },
    absolute(this: BaseCommand, position: number) {
      return pad(left + position, this);
    },
    relative(this: BaseCommand, position: number) {
      return pad(cursor + position, this);
    },
    hr(this: BaseCommand, width: number) {
      return pad(left, this) + this.text('-'.repeat(width), this.encoding ?? 'cp437');
    },
    vr: unsupported('vertical rules'),
    vrstart: unsupported('ruled tables'),
    vrstop: unsupported('ruled tables'),
    vrhr: unsupported('ruled tables'),
    vrlf(this: BaseCommand) {
      return this.lf();
    },
    ul() {
      decorated = true;
      return base.ul();
    },
    em() {
      decorated = true;
      return base.em();
    },
    iv() {
      decorated = true;
      return base.iv();
    },
    wh(wh: number) {
      scale = wh < 2 ? wh + 1 : wh - 1;
      return base.wh(wh);
    },
    normal() {
      decorated = false;
      scale = 1;
      return base.normal();
    },
    text(this: BaseCommand, text: string, encoding) {
      this.encoding = encoding;
      cursor += base.measureText(text, encoding) * scale;
      return base.text.call(this, text, encoding);
    },
    lf() {
      cursor = 0;
      return '\n';
    },
    cut() {
      cursor = 0;
      return `${GS}VB` + bytes(0);
    },
    image: commands.generic.image,
    split: commands.generic.split,
    qrcode(this: BaseCommand, symbol) {
      const data = Buffer.from(symbol.data, 'utf8').toString('binary');
      if (data.length === 0) return '';
      if (data.length > 7089) throw new Error(`a QR code holds at most 7089 bytes, not ${data.length}`);
      return (
        qrFunction(65, bytes(50, 0)) + // fn 165: model 2
        qrFunction(67, bytes(Math.min(16, Math.max(1, symbol.cell)))) + // fn 167: module size in dots
        qrFunction(69, bytes(QR_LEVEL[symbol.level] ?? 49)) + // fn 169: error correction level
        qrFunction(80, bytes(48) + data) + // fn 180: store the data
        qrFunction(81, bytes(48)) // fn 181: print it
      );
    },
  };
  return command;
}

/**
 * The virtual receipt printer: a ReceiptPrinter that decodes what it is sent (ESC/POS) into paper, so tests and the
 * virtual phone page can read and draw printed slips. Status comes from settable state (what DLE EOT would report on
 * a real printer); it can be unplugged and plugged back in.
 */
import { DriverError } from '../../common/errors.js';
import { TypedEmitter } from '../../common/typed-emitter.js';
import type { PrinterStatus, ReceiptPrinter, ReceiptPrinterEvents } from '../types.js';
import { EscPosDecoder } from './decoder.js';
import { renderPaperPng, renderPaperSvg } from './render.js';
import type { DecodedPaper, DecoderOptions, PaperItem } from './types.js';

export interface VirtualReceiptPrinterOptions extends Omit<DecoderOptions, 'paperWidthMm'> {
  paperWidthMm?: 58 | 80;
}

export class VirtualReceiptPrinter extends TypedEmitter<ReceiptPrinterEvents> implements ReceiptPrinter {
  readonly paperWidthMm: 58 | 80;
  /** every write, as received */
  readonly written: Buffer[] = [];
  readonly #options: DecoderOptions;
  #decoder: EscPosDecoder;
  #status: PrinterStatus = { online: true, coverOpen: false, paperNearEnd: false, paperOut: false };
  #connected = true;
  /** paper printed before an unplug (the decoder restarts after one) */
  readonly #carried: DecodedPaper = { items: [], unknown: [], notes: [] };

  constructor(options: VirtualReceiptPrinterOptions = {}) {
    super();
    this.paperWidthMm = options.paperWidthMm ?? 80;
    this.#options = { ...options, paperWidthMm: this.paperWidthMm };
    this.#decoder = new EscPosDecoder(this.#options);
  }

  /** Like SimReceiptPrinter, writes work without open(); open() fails while unplugged. */
  async open(): Promise<void> {
    if (!this.#connected) throw new DriverError('DRIVER_OPEN_FAILED', 'the virtual printer is unplugged');
  }

  async close(): Promise<void> {}

  async write(bytes: Uint8Array): Promise<void> {
    if (!this.#connected) throw new DriverError('DRIVER_IO', 'the virtual printer is unplugged');
    this.written.push(Buffer.from(bytes));
    this.#decoder.push(bytes);
  }

  async status(): Promise<PrinterStatus> {
    if (!this.#connected) throw new DriverError('DRIVER_IO', 'the virtual printer is unplugged');
    return { ...this.#status };
  }

  /** What was printed so far (a line not yet ended by LF is not on the paper yet). */
  paper(): DecodedPaper {
    const now = this.#decoder.paper();
    const carried = this.#carried;
    return {
      items: [...carried.items, ...now.items],
      unknown: [...carried.unknown, ...now.unknown],
      notes: [...(carried.notes ?? []), ...(now.notes ?? [])],
    };
  }

  /** The printed slips as text: one string per job, a job ending at each cut; lines joined by "\n". */
  jobsText(): string[] {
    const jobs: string[][] = [[]];
    for (const item of this.paper().items) {
      if (item.kind === 'cut') jobs.push([]);
      else jobs[jobs.length - 1].push(...itemLines(item));
    }
    if (jobs[jobs.length - 1].length === 0) jobs.pop();
    return jobs.map((lines) => lines.join('\n'));
  }

  svg(): string {
    return renderPaperSvg(this.paper(), { paperWidthMm: this.paperWidthMm });
  }

  png(): Buffer {
    return renderPaperPng(this.svg());
  }

  /** All bytes written so far, as one buffer. */
  output(): Buffer {
    return Buffer.concat(this.written);
  }

  /** Tear off the paper: forget what was printed (and any half-received command). */
  clearPaper(): void {
    this.written.length = 0;
    this.#carried.items.length = 0;
    this.#carried.unknown.length = 0;
    this.#carried.notes = [];
    this.#decoder = new EscPosDecoder(this.#options);
  }

  setStatus(status: Partial<PrinterStatus>): void {
    this.#status = { ...this.#status, ...status };
    this.emit('statusChanged', { ...this.#status });
  }

  /** Unplug (false) or plug back in (true). Unplugging loses a half-received command, like a real printer. */
  setConnected(connected: boolean): void {
    if (connected === this.#connected) return;
    this.#connected = connected;
    if (!connected) {
      // offsets in `unknown` restart from 0 after a replug: the stream starts anew
      const printed = this.#decoder.paper();
      this.#carried.items.push(...printed.items);
      this.#carried.unknown.push(...printed.unknown);
      this.#carried.notes = [...(this.#carried.notes ?? []), ...(printed.notes ?? []), { offset: 0, note: 'unplugged' }];
      this.#decoder = new EscPosDecoder(this.#options);
    }
    this.emit('connectionChanged', { connected });
  }
}

function itemLines(item: PaperItem): string[] {
  switch (item.kind) {
    case 'text':
      return [item.text];
    case 'qr':
      return [`[QR ${item.payload}]`];
    case 'image':
      return [`[image ${item.width}x${item.height}]`];
    case 'feed':
      return [];
    case 'drawer':
      return [`[drawer pin ${item.pin}]`];
    case 'cut':
      return [];
  }
}

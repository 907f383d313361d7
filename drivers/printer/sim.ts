import { DriverError } from '../common/errors.js';
import { TypedEmitter } from '../common/typed-emitter.js';
import type { PrinterStatus, ReceiptPrinter, ReceiptPrinterEvents } from './types.js';

/** Simulated receipt printer: keeps every byte it was sent; tests set its status and plug state. */
export class SimReceiptPrinter extends TypedEmitter<ReceiptPrinterEvents> implements ReceiptPrinter {
  readonly written: Buffer[] = [];
  #status: PrinterStatus = { online: true, coverOpen: false, paperNearEnd: false, paperOut: false };
  #connected = true;

  constructor(readonly paperWidthMm: 58 | 80 = 80) {
    super();
  }

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  async write(bytes: Uint8Array): Promise<void> {
    if (!this.#connected) throw new DriverError('DRIVER_IO', 'the printer is unplugged');
    this.written.push(Buffer.from(bytes));
  }

  async status(): Promise<PrinterStatus> {
    if (!this.#connected) throw new DriverError('DRIVER_IO', 'the printer is unplugged');
    return { ...this.#status };
  }

  /** All bytes written so far, as one buffer. */
  output(): Buffer {
    return Buffer.concat(this.written);
  }

  setStatus(status: Partial<PrinterStatus>): void {
    this.#status = { ...this.#status, ...status };
    this.emit('statusChanged', { ...this.#status });
  }

  setConnected(connected: boolean): void {
    if (connected === this.#connected) return;
    this.#connected = connected;
    this.emit('connectionChanged', { connected });
  }
}

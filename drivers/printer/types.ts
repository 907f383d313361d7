import type { TypedEmitter } from '../common/typed-emitter.js';

/** Real-time status as reported by DLE EOT (ESC/POS). */
export interface PrinterStatus {
  online: boolean;
  coverOpen: boolean;
  paperNearEnd: boolean;
  paperOut: boolean;
}

export interface ReceiptPrinterEvents {
  [event: string]: unknown;
  statusChanged: PrinterStatus;
  connectionChanged: { connected: boolean };
}

/**
 * An ESC/POS receipt printer (USB, /dev/usb/lpN or TCP 9100).
 * - `write` resolves when the bytes were handed to the device, and rejects (DRIVER_IO) when it is gone.
 * - `status` queries the printer, it never answers from a cache.
 */
export interface ReceiptPrinter extends Pick<TypedEmitter<ReceiptPrinterEvents>, 'on' | 'once'> {
  readonly paperWidthMm: 58 | 80;
  open(): Promise<void>;
  close(): Promise<void>;
  write(bytes: Uint8Array): Promise<void>;
  status(): Promise<PrinterStatus>;
}

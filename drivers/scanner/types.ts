import type { DriverError } from '../common/errors.js';
import type { TypedEmitter } from '../common/typed-emitter.js';

export interface ScannerInfo {
  /** Stable while plugged in: the hidraw path for real devices. */
  id: string;
  vendorId: number;
  productId: number;
  product: string;
  path?: string;
}

export interface BarcodeScannerEvents {
  [event: string]: unknown;
  deviceAttached: ScannerInfo;
  deviceDetached: { id: string };
  /** One complete scan: the characters the scanner typed before its terminator (Enter or Tab). */
  barcodeScanned: { deviceId: string; code: string };
  /**
   * Typed input that was not a scan and was dropped: too long, characters outside printable ASCII,
   * or an unterminated burst (no Enter/Tab within the inter-key timeout). `length` counts the keys
   * typed for it (characters and keys that type nothing), terminator excluded.
   */
  scanRejected: { deviceId: string; reason: 'too-long' | 'unterminated' | 'unprintable'; length: number };
  /** A matching device could not be used, or the device list could not be read (path null). */
  deviceError: { path: string | null; error: DriverError };
}

/** Longest code a scan may carry (GS1-128 and QR payloads from shop labels fit easily). */
export const MAX_SCAN_LENGTH = 256;

/**
 * Barcode scanners in USB HID keyboard-wedge mode (the default of nearly every handheld scanner):
 * the scanner types the code as key presses and ends it with Enter (or Tab).
 * - MUST emit `deviceAttached`/`deviceDetached` on hot-plug without a restart, for devices matched by
 *   the board file's VID/PID table.
 * - MUST emit `barcodeScanned` once per terminated code, with the characters as typed under a US
 *   layout (shift applied), never more than MAX_SCAN_LENGTH characters; anything else is
 *   `scanRejected`, never a partial code.
 * - MUST NOT let a device's input reach the phone's keypad handling: scans are only events.
 */
export interface BarcodeScannerDriver extends Pick<TypedEmitter<BarcodeScannerEvents>, 'on' | 'once'> {
  devices(): ScannerInfo[];
  open(): Promise<void>;
  close(): Promise<void>;
}

import { DriverError } from '../common/errors.js';
import { TypedEmitter } from '../common/typed-emitter.js';
import { scansOf } from './scan.js';
import type { BarcodeScannerDriver, BarcodeScannerEvents, ScannerInfo } from './types.js';

/** The scanner the sim board comes with (the virtual phone page's scanner box types into it). */
export const VIRTUAL_SCANNER: ScannerInfo = { id: 'sim-scanner', vendorId: 0, productId: 0, product: 'Virtual scanner' };

/**
 * Simulated barcode scanners: attach/detach, and scans checked by the same rules as the real driver. Like the real
 * driver, `open()` announces the scanners already plugged in.
 */
export class SimBarcodeScanner extends TypedEmitter<BarcodeScannerEvents> implements BarcodeScannerDriver {
  readonly #devices = new Map<string, ScannerInfo>();

  async open(): Promise<void> {
    for (const info of this.#devices.values()) this.emit('deviceAttached', info);
  }
  async close(): Promise<void> {}

  devices(): ScannerInfo[] {
    return [...this.#devices.values()];
  }

  attach(info: ScannerInfo): void {
    this.#devices.set(info.id, info);
    this.emit('deviceAttached', info);
  }

  detach(id: string): void {
    if (this.#devices.delete(id)) this.emit('deviceDetached', { id });
  }

  /**
   * The scanner reads `code` and types it, then Enter, checked as the hidraw driver checks typed
   * keys (`scansOf`): `barcodeScanned`, or `scanRejected` when it is longer than MAX_SCAN_LENGTH
   * or not all printable ASCII. An empty code (a bare Enter) is no scan; a CR or Tab inside the
   * code ends a scan there, as it does when typed.
   */
  scan(deviceId: string, code: string): void {
    if (!this.#devices.has(deviceId)) throw new DriverError('DRIVER_NOT_OPEN', `no scanner '${deviceId}'`);
    for (const outcome of scansOf(code)) {
      if (outcome.type === 'scanned') this.emit('barcodeScanned', { deviceId, code: outcome.code });
      else this.emit('scanRejected', { deviceId, reason: outcome.reason, length: outcome.length });
    }
  }
}

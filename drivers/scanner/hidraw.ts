/**
 * Barcode scanners in USB HID keyboard-wedge mode on Linux hidraw, through node-hid.
 *
 * Hot-plug is the same as for HID telephony devices (`HidDeviceWatcher`): the device list is polled,
 * devices matching the board file's VID/PID entries and having a keyboard input report are attached,
 * vanished ones or ones whose read fails are detached. Each device's input reports are decoded into
 * key presses (keyboard.ts) and assembled into scans (scan.ts); an inter-key timeout drops a burst
 * that never ends in Enter or Tab.
 */
import { TypedEmitter } from '../common/typed-emitter.js';
import { hex4, NodeHidBackend, type HidBackend, type HidBackendDevice, type HidMatch, type PollTimer, type PollTimerHandle } from '../hid/backend.js';
import type { HidReportDescriptor } from '../hid/descriptor.js';
import { HidDeviceWatcher, type WatchedHidDevice } from '../hid/watcher.js';
import {
  bootKeyboardLayout,
  findKeyboardLayout,
  GENERIC_DESKTOP_KEYBOARD,
  GENERIC_DESKTOP_PAGE,
  keyAction,
  KeyboardDecoder,
  type KeyboardLayout,
} from './keyboard.js';
import { ScanAssembler, type ScanOutcome } from './scan.js';
import type { BarcodeScannerDriver, BarcodeScannerEvents, ScannerInfo } from './types.js';

/** The timers the driver needs (device list poll, inter-key timeout); the runtime's Clock satisfies it. */
export interface ScannerTimer extends PollTimer {
  setTimeout(fn: () => void, ms: number): PollTimerHandle;
}

export interface HidrawBarcodeScannerOptions {
  /** The board file's VID/PID entries. */
  match: readonly HidMatch[];
  backend?: HidBackend;
  timer: ScannerTimer;
  /** Device list poll period; default 1000 ms. */
  pollIntervalMs?: number;
  /** A code in progress with no key for this long is dropped as 'unterminated'; default 300 ms. */
  interKeyTimeoutMs?: number;
}

interface Scanner {
  info: ScannerInfo;
  decoder: KeyboardDecoder;
  assembler: ScanAssembler;
  /** The inter-key timeout, running while a code is in progress. */
  timeout: PollTimerHandle | null;
}

/** hidapi's entry for a keyboard top-level collection (Generic Desktop / Keyboard). */
const isKeyboardEntry = (e: HidBackendDevice): boolean => e.usagePage === GENERIC_DESKTOP_PAGE && e.usage === GENERIC_DESKTOP_KEYBOARD;

/**
 * A path whose collections hidapi lists is a candidate only if one is a keyboard; entries without a
 * usage page (older hidapi, other backends) leave the decision to the descriptor.
 */
function listedAsCandidate(entries: readonly HidBackendDevice[]): boolean {
  const known = entries.filter((e) => e.usagePage !== undefined && e.usagePage !== 0);
  return known.length === 0 || known.some(isKeyboardEntry);
}

/**
 * The keyboard layout of a device: its descriptor's keyboard input, or the boot layout (HID 1.11
 * Appendix B.1) for a device that is a keyboard (listed so, or with a Keyboard application
 * collection) but whose descriptor shows no keyboard input and uses no report IDs. Null otherwise.
 */
export function scannerLayout(descriptor: HidReportDescriptor, entries: readonly HidBackendDevice[]): KeyboardLayout | null {
  const layout = findKeyboardLayout(descriptor);
  if (layout) return layout;
  const keyboardCollection = descriptor.collections.some(
    (c) => c.type === 'application' && c.usage?.page === GENERIC_DESKTOP_PAGE && c.usage.id === GENERIC_DESKTOP_KEYBOARD,
  );
  if (!descriptor.usesReportIds && (entries.some(isKeyboardEntry) || keyboardCollection)) return bootKeyboardLayout();
  return null;
}

/**
 * `BarcodeScannerDriver` for keyboard-wedge scanners on hidraw.
 * - Device ids are the hidraw paths; a replugged device is attached again (possibly on a new path).
 * - Matching devices without a keyboard input (e.g. a scanner's HID POS or vendor interface) are skipped.
 * - A matching device that cannot be used is reported once as `deviceError` and retried when it reappears.
 * - A code in progress when its device goes away is dropped without an event.
 */
export class HidrawBarcodeScanner extends TypedEmitter<BarcodeScannerEvents> implements BarcodeScannerDriver {
  readonly #watcher: HidDeviceWatcher<Scanner>;
  readonly #timer: ScannerTimer;
  readonly #interKeyTimeoutMs: number;

  constructor(options: HidrawBarcodeScannerOptions) {
    super();
    this.#timer = options.timer;
    this.#interKeyTimeoutMs = options.interKeyTimeoutMs ?? 300;
    this.#watcher = new HidDeviceWatcher<Scanner>({
      match: options.match,
      backend: options.backend ?? new NodeHidBackend(),
      timer: options.timer,
      pollIntervalMs: options.pollIntervalMs,
      accept: listedAsCandidate,
      probe: (descriptor, entries, path) => probeScanner(descriptor, entries, path),
      attached: (device) => this.emit('deviceAttached', device.state.info),
      report: (device, data) => this.#onReport(device, data),
      detached: (device) => this.#onDetached(device),
      error: (path, error) => this.emit('deviceError', { path, error }),
    });
  }

  open(): Promise<void> {
    return this.#watcher.open();
  }

  close(): Promise<void> {
    return this.#watcher.close();
  }

  devices(): ScannerInfo[] {
    return this.#watcher.devices().map((d) => d.state.info);
  }

  /** Poll the device list now (the timer does this every `pollIntervalMs`). Resolves when done. */
  rescan(): Promise<void> {
    return this.#watcher.rescan();
  }

  #onReport(device: WatchedHidDevice<Scanner>, data: Uint8Array): void {
    const scanner = device.state;
    const presses = scanner.decoder.decode(data);
    if (presses.length === 0) return;
    for (const press of presses) this.#report(device, scanner.assembler.push(keyAction(press)));
    // The timeout runs from the last key while a code is in progress.
    this.#timer.clear(scanner.timeout);
    scanner.timeout = scanner.assembler.inProgress ? this.#timer.setTimeout(() => this.#onTimeout(device), this.#interKeyTimeoutMs) : null;
  }

  #onTimeout(device: WatchedHidDevice<Scanner>): void {
    if (this.#watcher.get(device.path) !== device) return;
    device.state.timeout = null;
    this.#report(device, device.state.assembler.timeout());
  }

  #report(device: WatchedHidDevice<Scanner>, outcome: ScanOutcome | null): void {
    if (!outcome) return;
    const deviceId = device.path;
    if (outcome.type === 'scanned') this.emit('barcodeScanned', { deviceId, code: outcome.code });
    else this.emit('scanRejected', { deviceId, reason: outcome.reason, length: outcome.length });
  }

  #onDetached(device: WatchedHidDevice<Scanner>): void {
    this.#timer.clear(device.state.timeout);
    device.state.timeout = null;
    device.state.assembler.reset();
    device.state.decoder.reset();
    this.emit('deviceDetached', { id: device.path });
  }
}

function probeScanner(descriptor: HidReportDescriptor, entries: readonly HidBackendDevice[], path: string): Scanner | null {
  const layout = scannerLayout(descriptor, entries);
  if (!layout) return null;
  // hidapi lists one entry per top-level collection: name the device after its keyboard collection's entry.
  const entry = entries.find(isKeyboardEntry) ?? entries[0];
  const info: ScannerInfo = {
    id: path,
    path,
    vendorId: entry.vendorId,
    productId: entry.productId,
    product: entry.product || entries.find((e) => e.product)?.product || `HID ${hex4(entry.vendorId)}:${hex4(entry.productId)}`,
  };
  return { info, decoder: new KeyboardDecoder(layout), assembler: new ScanAssembler(), timeout: null };
}

/**
 * The byte-source seam of the hidraw drivers (telephony devices, barcode scanners): the device list,
 * report descriptors and open devices. The real backend is node-hid (hidapi, hidraw backend) plus
 * sysfs; tests pass a fake that feeds real descriptor and report bytes.
 */
import { open as openFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { HIDAsync } from 'node-hid';
import { DriverError } from '../common/errors.js';
import { HID_DESCRIPTOR_LIMITS } from './descriptor.js';

/** One entry of the device list. hidapi lists one entry per top-level collection, so several can share a path. */
export interface HidBackendDevice {
  path: string;
  vendorId: number;
  productId: number;
  usagePage?: number;
  usage?: number;
  product?: string;
}

/** An open device. Input reports arrive with the report ID as first byte when the device uses IDs. */
export interface HidHandle {
  on(event: 'data', listener: (data: Uint8Array) => void): void;
  on(event: 'error', listener: (error: unknown) => void): void;
  /** Write an output report: first byte the report ID, or 0 when the device uses none. */
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** The byte-source seam: the real one is node-hid plus sysfs, tests use a fake. */
export interface HidBackend {
  list(): Promise<HidBackendDevice[]>;
  /** The raw report descriptor of the device at `path`. */
  readReportDescriptor(path: string): Promise<Uint8Array>;
  open(path: string): Promise<HidHandle>;
}

export type PollTimerHandle = { readonly id: number };

/** The timers the drivers need; the runtime's Clock satisfies it, tests pass a fake clock. */
export interface PollTimer {
  setInterval(fn: () => void, ms: number): PollTimerHandle;
  clear(handle: PollTimerHandle | null | undefined): void;
}

/** A board file `hid.match` entry: every given property must equal the device's; an empty entry matches any device. */
export interface HidMatch {
  vendorId?: number;
  productId?: number;
  usagePage?: number;
}

/** Largest input report accepted from any device: the longest report plus its ID byte. */
export const MAX_INPUT_BYTES = HID_DESCRIPTOR_LIMITS.maxReportBytes + 1;

export function matchesHid(device: HidBackendDevice, match: HidMatch): boolean {
  return (
    (match.vendorId === undefined || match.vendorId === device.vendorId) &&
    (match.productId === undefined || match.productId === device.productId) &&
    (match.usagePage === undefined || match.usagePage === device.usagePage)
  );
}

export const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

/** Wrap anything thrown by a backend as a DriverError (DriverErrors pass through unchanged). */
export function asDriverError(error: unknown, code: 'DRIVER_IO' | 'DRIVER_OPEN_FAILED', message: string): DriverError {
  if (error instanceof DriverError) return error;
  return new DriverError(code, `${message}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

/** Timers on the Node event loop; unref'd so a poll never keeps a process alive. */
export const systemPollTimer: PollTimer = (() => {
  const timers = new Map<number, NodeJS.Timeout>();
  let next = 1;
  return {
    setInterval(fn: () => void, ms: number): PollTimerHandle {
      const id = next++;
      timers.set(id, setInterval(fn, ms).unref());
      return { id };
    },
    clear(handle: PollTimerHandle | null | undefined): void {
      if (!handle) return;
      clearInterval(timers.get(handle.id));
      timers.delete(handle.id);
    },
  };
})();

/** The real backend: node-hid (loaded on first use) for listing and I/O, sysfs for descriptors. */
export class NodeHidBackend implements HidBackend {
  #hid: Promise<typeof import('node-hid')> | null = null;

  constructor(private readonly sysfsHidraw = '/sys/class/hidraw') {}

  async list(): Promise<HidBackendDevice[]> {
    const hid = await this.#load();
    let devices: Awaited<ReturnType<typeof hid.devicesAsync>>;
    try {
      devices = await hid.devicesAsync();
    } catch (error) {
      // The prebuilt hidraw binding links libudev.so.1 and libusb-1.0.so.0 (Debian: libudev1, libusb-1.0-0).
      const missingLibrary = error instanceof Error && /cannot open shared object/.test(error.message);
      throw new DriverError(
        'DRIVER_OPEN_FAILED',
        `node-hid cannot list devices: ${error instanceof Error ? error.message : String(error)}${missingLibrary ? ' (install libusb-1.0-0 and libudev1)' : ''}`,
        { cause: error },
      );
    }
    return devices.flatMap((d) =>
      d.path ? [{ path: d.path, vendorId: d.vendorId, productId: d.productId, usagePage: d.usagePage, usage: d.usage, product: d.product }] : [],
    );
  }

  /** node-hid has no descriptor getter: read /sys/class/hidraw/hidrawN/device/report_descriptor, bounded. */
  async readReportDescriptor(path: string): Promise<Uint8Array> {
    const node = basename(path);
    if (!/^hidraw\d+$/.test(node)) throw new DriverError('DRIVER_INVALID_ARGUMENT', `'${path}' is not a hidraw device node`);
    const file = await openFile(`${this.sysfsHidraw}/${node}/device/report_descriptor`, 'r');
    try {
      // One byte more than the parser accepts, so an oversized descriptor is refused, not cut.
      const buffer = Buffer.alloc(HID_DESCRIPTOR_LIMITS.maxDescriptorBytes + 1);
      let length = 0;
      for (;;) {
        const { bytesRead } = await file.read(buffer, length, buffer.length - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
        if (length === buffer.length) break;
      }
      return new Uint8Array(buffer.subarray(0, length));
    } finally {
      await file.close();
    }
  }

  async open(path: string): Promise<HidHandle> {
    const hid = await this.#load();
    const device: HIDAsync = await hid.HIDAsync.open(path);
    return {
      on(event: 'data' | 'error', listener: ((data: Uint8Array) => void) | ((error: unknown) => void)): void {
        device.on(event, listener);
      },
      async write(bytes: Uint8Array): Promise<void> {
        await device.write(Buffer.from(bytes));
      },
      async close(): Promise<void> {
        await device.close();
      },
    };
  }

  #load(): Promise<typeof import('node-hid')> {
    this.#hid ??= import('node-hid');
    return this.#hid;
  }
}

/**
 * HID telephony devices on Linux hidraw, through node-hid (hidapi, hidraw backend).
 *
 * Devices come and go: the device list is polled on an injected timer, matching devices are
 * attached (descriptor read from sysfs, parsed, modelled) and vanished ones, or ones whose read
 * fails (unplugged), are detached. All device I/O goes through the `HidBackend` seam so tests feed
 * real descriptor and report bytes without hardware.
 */
import { open as openFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { HIDAsync } from 'node-hid';
import { DriverError } from '../common/errors.js';
import { TypedEmitter } from '../common/typed-emitter.js';
import { HID_DESCRIPTOR_LIMITS, parseReportDescriptor, type UsagePageRule } from './descriptor.js';
import { buildTelephonyModel, encodeLedReports, TelephonyDecoder, type TelephonyModel } from './telephony.js';
import type { HidDeviceInfo, TelephonyHidDriver, TelephonyHidEvents, TelephonyLeds } from './types.js';

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

/** The timers the driver needs; the runtime's Clock satisfies it, tests pass a fake clock. */
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

export interface HidrawTelephonyOptions {
  match: readonly HidMatch[];
  backend?: HidBackend;
  timer?: PollTimer;
  /** Device list poll period; default 1000 ms. */
  pollIntervalMs?: number;
  /** See `UsagePageRule`; default 'main' (HID 1.11 6.2.2.8). */
  usagePageRule?: UsagePageRule;
}

/** Largest input report accepted from any device: the longest report plus its ID byte. */
const MAX_INPUT_BYTES = HID_DESCRIPTOR_LIMITS.maxReportBytes + 1;

export function matchesHid(device: HidBackendDevice, match: HidMatch): boolean {
  return (
    (match.vendorId === undefined || match.vendorId === device.vendorId) &&
    (match.productId === undefined || match.productId === device.productId) &&
    (match.usagePage === undefined || match.usagePage === device.usagePage)
  );
}

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

function asDriverError(error: unknown, code: 'DRIVER_IO' | 'DRIVER_OPEN_FAILED', message: string): DriverError {
  if (error instanceof DriverError) return error;
  return new DriverError(code, `${message}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

interface Attached {
  info: HidDeviceInfo;
  handle: HidHandle;
  model: TelephonyModel;
  decoder: TelephonyDecoder;
  leds: TelephonyLeds;
  /** LED writes go out one at a time, so the last state written is the last state asked for. */
  writes: Promise<void>;
}

/**
 * `TelephonyHidDriver` for USB handsets, headsets and keypads on hidraw.
 * - Device ids are the hidraw paths; a replugged device is attached again (possibly on a new path).
 * - Devices that match but have no telephony controls (e.g. a headset's vendor interface) are skipped.
 * - A matching device that cannot be used is reported once as `deviceError` and retried when it reappears.
 */
export class HidrawTelephony extends TypedEmitter<TelephonyHidEvents> implements TelephonyHidDriver {
  readonly #options: HidrawTelephonyOptions;
  readonly #backend: HidBackend;
  readonly #timer: PollTimer;
  readonly #attached = new Map<string, Attached>();
  /** Matched paths not attached (no telephony controls, or failed): left alone until they vanish. */
  readonly #skipped = new Set<string>();
  #poll: PollTimerHandle | null = null;
  #open = false;
  #scanning: Promise<void> | null = null;
  #listFailing = false;

  constructor(options: HidrawTelephonyOptions) {
    super();
    this.#options = options;
    this.#backend = options.backend ?? new NodeHidBackend();
    this.#timer = options.timer ?? systemPollTimer;
  }

  async open(): Promise<void> {
    if (this.#open) return;
    this.#open = true;
    this.#scanning = this.#scanOnce();
    try {
      await this.#scanning;
    } catch (error) {
      this.#open = false;
      throw asDriverError(error, 'DRIVER_OPEN_FAILED', 'cannot list HID devices');
    } finally {
      this.#scanning = null;
    }
    if (!this.#open) return; // closed while the first scan ran
    this.#poll = this.#timer.setInterval(() => {
      if (!this.#scanning) void this.rescan();
    }, this.#options.pollIntervalMs ?? 1000);
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    this.#timer.clear(this.#poll);
    this.#poll = null;
    await this.#scanning?.catch(() => undefined);
    for (const path of [...this.#attached.keys()]) await this.#detach(path);
    this.#skipped.clear();
  }

  devices(): HidDeviceInfo[] {
    return [...this.#attached.values()].map((d) => d.info);
  }

  async setLeds(deviceId: string, leds: Partial<TelephonyLeds>): Promise<void> {
    const device = this.#attached.get(deviceId);
    if (!device) throw new DriverError('DRIVER_NOT_OPEN', `no HID device '${deviceId}'`);
    for (const [name, on] of Object.entries(leds) as [keyof TelephonyLeds, boolean | undefined][]) {
      if (on !== undefined) device.leds[name] = on;
    }
    const reports = encodeLedReports(device.model, device.leds);
    const write = device.writes.then(async () => {
      for (const report of reports) {
        try {
          await device.handle.write(report);
        } catch (error) {
          throw asDriverError(error, 'DRIVER_IO', `LED write to ${deviceId} failed`);
        }
      }
    });
    device.writes = write.catch(() => undefined);
    await write;
  }

  /** Poll the device list now (the timer does this every `pollIntervalMs`). Resolves when done. */
  async rescan(): Promise<void> {
    while (this.#scanning) await this.#scanning.catch(() => undefined);
    if (!this.#open) return;
    this.#scanning = this.#scanOnce()
      .then(() => {
        this.#listFailing = false;
      })
      .catch((error: unknown) => {
        // Reported once per failure streak, not on every poll.
        if (!this.#listFailing) this.emit('deviceError', { path: null, error: asDriverError(error, 'DRIVER_IO', 'cannot list HID devices') });
        this.#listFailing = true;
      })
      .finally(() => {
        this.#scanning = null;
      });
    await this.#scanning;
  }

  async #scanOnce(): Promise<void> {
    const listed = await this.#backend.list();
    const wanted = new Map<string, HidBackendDevice[]>();
    for (const entry of listed) {
      if (typeof entry.path !== 'string' || entry.path === '') continue;
      const entries = wanted.get(entry.path) ?? [];
      entries.push(entry);
      wanted.set(entry.path, entries);
    }
    // A path is wanted when any of its top-level collections matches.
    for (const [path, entries] of wanted) {
      if (!entries.some((e) => this.#options.match.some((m) => matchesHid(e, m)))) wanted.delete(path);
    }
    for (const path of [...this.#attached.keys()]) if (!wanted.has(path)) await this.#detach(path);
    for (const path of [...this.#skipped]) if (!wanted.has(path)) this.#skipped.delete(path);
    for (const [path, entries] of wanted) {
      if (!this.#open) return;
      if (!this.#attached.has(path) && !this.#skipped.has(path)) await this.#attach(path, entries);
    }
  }

  async #attach(path: string, entries: HidBackendDevice[]): Promise<void> {
    let model: TelephonyModel;
    try {
      const bytes = await this.#backend.readReportDescriptor(path);
      model = buildTelephonyModel(parseReportDescriptor(bytes, { usagePageRule: this.#options.usagePageRule }));
    } catch (error) {
      this.#skipped.add(path);
      this.emit('deviceError', { path, error: asDriverError(error, 'DRIVER_IO', `cannot read the report descriptor of ${path}`) });
      return;
    }
    if (!model.isTelephony) {
      this.#skipped.add(path);
      return;
    }
    let handle: HidHandle;
    try {
      handle = await this.#backend.open(path);
    } catch (error) {
      this.#skipped.add(path);
      this.emit('deviceError', { path, error: asDriverError(error, 'DRIVER_OPEN_FAILED', `cannot open ${path}`) });
      return;
    }
    if (!this.#open) {
      await handle.close().catch(() => undefined);
      return;
    }
    const first = entries[0];
    const info: HidDeviceInfo = {
      id: path,
      path,
      vendorId: first.vendorId,
      productId: first.productId,
      product: entries.find((e) => e.product)?.product ?? `HID ${hex4(first.vendorId)}:${hex4(first.productId)}`,
      capabilities: model.capabilities,
    };
    const device: Attached = {
      info,
      handle,
      model,
      decoder: new TelephonyDecoder(model),
      leds: { offHook: false, ring: false, mute: false, hold: false, microphone: false, ringer: false },
      writes: Promise.resolve(),
    };
    this.#attached.set(path, device);
    // A read error is what an unplug looks like on hidraw (ENODEV): detach; the next poll re-attaches
    // the device if it is still (or again) there.
    handle.on('error', () => {
      if (this.#attached.get(path) === device) void this.#detach(path);
    });
    handle.on('data', (data) => this.#onReport(device, data));
    this.emit('deviceAttached', info);
  }

  #onReport(device: Attached, data: Uint8Array): void {
    if (this.#attached.get(device.info.id) !== device || data.length > MAX_INPUT_BYTES) return;
    const deviceId = device.info.id;
    for (const event of device.decoder.decode(data)) {
      if (event.type === 'hookChanged') this.emit('hookChanged', { deviceId, offHook: event.offHook });
      else if (event.type === 'keyPressed') this.emit('keyPressed', { deviceId, key: event.key });
      else this.emit('buttonPressed', { deviceId, button: event.button });
    }
  }

  async #detach(path: string): Promise<void> {
    const device = this.#attached.get(path);
    if (!device) return;
    this.#attached.delete(path);
    await device.handle.close().catch(() => undefined);
    this.emit('deviceDetached', { id: device.info.id });
  }
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

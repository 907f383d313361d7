/**
 * HID telephony devices on Linux hidraw, through node-hid (hidapi, hidraw backend).
 *
 * Devices come and go: `HidDeviceWatcher` polls the device list on an injected timer, attaches
 * matching devices (descriptor read from sysfs, parsed, modelled here) and detaches vanished ones,
 * or ones whose read fails (unplugged). All device I/O goes through the `HidBackend` seam so tests
 * feed real descriptor and report bytes without hardware.
 */
import { DriverError } from '../common/errors.js';
import { TypedEmitter } from '../common/typed-emitter.js';
import { asDriverError, hex4, NodeHidBackend, systemPollTimer, type HidBackend, type HidBackendDevice, type HidMatch, type PollTimer } from './backend.js';
import type { HidReportDescriptor, UsagePageRule } from './descriptor.js';
import { buildTelephonyModel, encodeLedReports, TelephonyDecoder, type TelephonyModel } from './telephony.js';
import type { HidDeviceInfo, TelephonyHidDriver, TelephonyHidEvents, TelephonyLeds } from './types.js';
import { HidDeviceWatcher, type WatchedHidDevice } from './watcher.js';

export interface HidrawTelephonyOptions {
  match: readonly HidMatch[];
  backend?: HidBackend;
  timer?: PollTimer;
  /** Device list poll period; default 1000 ms. */
  pollIntervalMs?: number;
  /** See `UsagePageRule`; default 'main' (HID 1.11 6.2.2.8). */
  usagePageRule?: UsagePageRule;
}

/** Per-device state, built when the descriptor shows telephony controls. */
interface Telephone {
  info: HidDeviceInfo;
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
  readonly #watcher: HidDeviceWatcher<Telephone>;

  constructor(options: HidrawTelephonyOptions) {
    super();
    this.#watcher = new HidDeviceWatcher<Telephone>({
      match: options.match,
      backend: options.backend ?? new NodeHidBackend(),
      timer: options.timer ?? systemPollTimer,
      pollIntervalMs: options.pollIntervalMs,
      usagePageRule: options.usagePageRule,
      probe: (descriptor, entries, path) => probeTelephone(descriptor, entries, path),
      attached: (device) => this.emit('deviceAttached', device.state.info),
      report: (device, data) => this.#onReport(device, data),
      detached: (device) => this.emit('deviceDetached', { id: device.path }),
      error: (path, error) => this.emit('deviceError', { path, error }),
    });
  }

  open(): Promise<void> {
    return this.#watcher.open();
  }

  close(): Promise<void> {
    return this.#watcher.close();
  }

  devices(): HidDeviceInfo[] {
    return this.#watcher.devices().map((d) => d.state.info);
  }

  async setLeds(deviceId: string, leds: Partial<TelephonyLeds>): Promise<void> {
    const watched = this.#watcher.get(deviceId);
    if (!watched) throw new DriverError('DRIVER_NOT_OPEN', `no HID device '${deviceId}'`);
    const { state: device, handle } = watched;
    for (const [name, on] of Object.entries(leds) as [keyof TelephonyLeds, boolean | undefined][]) {
      if (on !== undefined) device.leds[name] = on;
    }
    const reports = encodeLedReports(device.model, device.leds);
    const write = device.writes.then(async () => {
      for (const report of reports) {
        try {
          await handle.write(report);
        } catch (error) {
          throw asDriverError(error, 'DRIVER_IO', `LED write to ${deviceId} failed`);
        }
      }
    });
    device.writes = write.catch(() => undefined);
    await write;
  }

  /** Poll the device list now (the timer does this every `pollIntervalMs`). Resolves when done. */
  rescan(): Promise<void> {
    return this.#watcher.rescan();
  }

  #onReport(device: WatchedHidDevice<Telephone>, data: Uint8Array): void {
    const deviceId = device.path;
    for (const event of device.state.decoder.decode(data)) {
      if (event.type === 'hookChanged') this.emit('hookChanged', { deviceId, offHook: event.offHook });
      else if (event.type === 'keyPressed') this.emit('keyPressed', { deviceId, key: event.key });
      else this.emit('buttonPressed', { deviceId, button: event.button });
    }
  }
}

/** The telephony model of a device, or null when it has no telephony controls. */
function probeTelephone(descriptor: HidReportDescriptor, entries: readonly HidBackendDevice[], path: string): Telephone | null {
  const model = buildTelephonyModel(descriptor);
  if (!model.isTelephony) return null;
  const first = entries[0];
  const info: HidDeviceInfo = {
    id: path,
    path,
    vendorId: first.vendorId,
    productId: first.productId,
    product: entries.find((e) => e.product)?.product ?? `HID ${hex4(first.vendorId)}:${hex4(first.productId)}`,
    capabilities: model.capabilities,
  };
  return {
    info,
    model,
    decoder: new TelephonyDecoder(model),
    leds: { offHook: false, ring: false, mute: false, hold: false, microphone: false, ringer: false },
    writes: Promise.resolve(),
  };
}

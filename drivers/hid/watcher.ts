/**
 * Hot-plug for the hidraw drivers (telephony devices, barcode scanners).
 *
 * The device list is polled on an injected timer. A path is wanted when any of its listed
 * top-level collections matches the board file's `match` entries (and the driver's `accept`, if
 * given). A wanted path is attached once: its report descriptor is read and parsed, the driver's
 * `probe` decides whether the device is one of its kind and builds its per-device state, and the
 * device is opened. Paths that vanish from the list, or whose read fails (what an unplug looks
 * like on hidraw: ENODEV), are detached; the next poll attaches the device again if it is still (or
 * again) there.
 *
 * A wanted device the driver cannot use is left alone until it vanishes: silently when `probe` says
 * it is not the driver's kind, reported once through `error` when its descriptor cannot be read or
 * parsed or it cannot be opened. A failing device list is reported once per failure streak.
 */
import type { DriverError } from '../common/errors.js';
import {
  asDriverError,
  matchesHid,
  MAX_INPUT_BYTES,
  type HidBackend,
  type HidBackendDevice,
  type HidHandle,
  type HidMatch,
  type PollTimer,
  type PollTimerHandle,
} from './backend.js';
import { parseReportDescriptor, type HidReportDescriptor, type UsagePageRule } from './descriptor.js';

/** An attached device: its path, its list entries, the open handle and the driver's state for it. */
export interface WatchedHidDevice<S> {
  readonly path: string;
  readonly entries: readonly HidBackendDevice[];
  readonly handle: HidHandle;
  readonly state: S;
}

export interface HidDeviceWatcherOptions<S> {
  match: readonly HidMatch[];
  backend: HidBackend;
  timer: PollTimer;
  /** Device list poll period; default 1000 ms. */
  pollIntervalMs?: number;
  /** See `UsagePageRule`; default 'main' (HID 1.11 6.2.2.8). */
  usagePageRule?: UsagePageRule;
  /** Narrows the matched paths by their listed top-level collections, before any descriptor is read. Default: all. */
  accept?: (entries: readonly HidBackendDevice[]) => boolean;
  /**
   * The driver's state for a device, from its parsed descriptor; null when the device is not the
   * driver's kind (left alone, no error). A throw is reported as `error` for the path.
   */
  probe: (descriptor: HidReportDescriptor, entries: readonly HidBackendDevice[], path: string) => S | null;
  /** The device is open and its reports will follow. */
  attached: (device: WatchedHidDevice<S>) => void;
  /** One input report, at most MAX_INPUT_BYTES long, from a device still attached. */
  report: (device: WatchedHidDevice<S>, data: Uint8Array) => void;
  /** The device is gone (unplugged, read failed, or the watcher closed); its handle is closed. */
  detached: (device: WatchedHidDevice<S>) => void;
  /** A wanted device could not be used, or the device list could not be read (path null). */
  error: (path: string | null, error: DriverError) => void;
}

export class HidDeviceWatcher<S> {
  readonly #options: HidDeviceWatcherOptions<S>;
  readonly #attached = new Map<string, WatchedHidDevice<S>>();
  /** Wanted paths not attached (not the driver's kind, or failed): left alone until they vanish. */
  readonly #skipped = new Set<string>();
  #poll: PollTimerHandle | null = null;
  #open = false;
  #scanning: Promise<void> | null = null;
  #listFailing = false;

  constructor(options: HidDeviceWatcherOptions<S>) {
    this.#options = options;
  }

  /** Attach what is there now, then keep polling. Throws DRIVER_OPEN_FAILED when the list cannot be read. */
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
    this.#poll = this.#options.timer.setInterval(() => {
      if (!this.#scanning) void this.rescan();
    }, this.#options.pollIntervalMs ?? 1000);
  }

  /** Stop polling and detach every device. */
  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    this.#options.timer.clear(this.#poll);
    this.#poll = null;
    await this.#scanning?.catch(() => undefined);
    for (const path of [...this.#attached.keys()]) await this.#detach(path);
    this.#skipped.clear();
  }

  devices(): WatchedHidDevice<S>[] {
    return [...this.#attached.values()];
  }

  get(path: string): WatchedHidDevice<S> | undefined {
    return this.#attached.get(path);
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
        if (!this.#listFailing) this.#options.error(null, asDriverError(error, 'DRIVER_IO', 'cannot list HID devices'));
        this.#listFailing = true;
      })
      .finally(() => {
        this.#scanning = null;
      });
    await this.#scanning;
  }

  async #scanOnce(): Promise<void> {
    const { match, accept } = this.#options;
    const listed = await this.#options.backend.list();
    const wanted = new Map<string, HidBackendDevice[]>();
    for (const entry of listed) {
      if (typeof entry.path !== 'string' || entry.path === '') continue;
      const entries = wanted.get(entry.path) ?? [];
      entries.push(entry);
      wanted.set(entry.path, entries);
    }
    // A path is wanted when any of its top-level collections matches.
    for (const [path, entries] of wanted) {
      if (!entries.some((e) => match.some((m) => matchesHid(e, m))) || (accept && !accept(entries))) wanted.delete(path);
    }
    for (const path of [...this.#attached.keys()]) if (!wanted.has(path)) await this.#detach(path);
    for (const path of [...this.#skipped]) if (!wanted.has(path)) this.#skipped.delete(path);
    for (const [path, entries] of wanted) {
      if (!this.#open) return;
      if (!this.#attached.has(path) && !this.#skipped.has(path)) await this.#attach(path, entries);
    }
  }

  async #attach(path: string, entries: HidBackendDevice[]): Promise<void> {
    const { backend } = this.#options;
    let state: S | null;
    try {
      const bytes = await backend.readReportDescriptor(path);
      state = this.#options.probe(parseReportDescriptor(bytes, { usagePageRule: this.#options.usagePageRule }), entries, path);
    } catch (error) {
      this.#skipped.add(path);
      this.#options.error(path, asDriverError(error, 'DRIVER_IO', `cannot read the report descriptor of ${path}`));
      return;
    }
    if (state === null) {
      this.#skipped.add(path);
      return;
    }
    let handle: HidHandle;
    try {
      handle = await backend.open(path);
    } catch (error) {
      this.#skipped.add(path);
      this.#options.error(path, asDriverError(error, 'DRIVER_OPEN_FAILED', `cannot open ${path}`));
      return;
    }
    if (!this.#open) {
      await handle.close().catch(() => undefined);
      return;
    }
    const device: WatchedHidDevice<S> = { path, entries, handle, state };
    this.#attached.set(path, device);
    // A read error is what an unplug looks like on hidraw (ENODEV): detach; the next poll re-attaches
    // the device if it is still (or again) there.
    handle.on('error', () => {
      if (this.#attached.get(path) === device) void this.#detach(path);
    });
    handle.on('data', (data) => {
      // Late bytes from a detached handle go nowhere; reports are bounded before any parsing.
      if (this.#attached.get(path) !== device || data.length > MAX_INPUT_BYTES) return;
      this.#options.report(device, data);
    });
    this.#options.attached(device);
  }

  async #detach(path: string): Promise<void> {
    const device = this.#attached.get(path);
    if (!device) return;
    this.#attached.delete(path);
    await device.handle.close().catch(() => undefined);
    this.#options.detached(device);
  }
}

/**
 * ESC/POS printers on USB through libusb (the `usb` package, 3.x: a WebUSB-style API), for printers
 * that usblp does not bind or that must not go through it. The device is found by VID/PID (the
 * board file's `match` list, first match wins), the printer interface (class 7, or the first
 * interface with a bulk OUT endpoint: many printers use a vendor class) is claimed, data goes to
 * bulk OUT and DLE EOT replies are read from bulk IN. Hot-plug: libusb's attach makes the driver
 * try at once; detach ends the connection. All device access goes through `UsbPrinterBackend`, so
 * tests feed real status bytes without hardware.
 */
import { DriverError } from '../common/errors.js';
import { ConnectionListeners, EscPosPrinter, type EscPosPrinterOptions, type PrinterConnection, type PrinterConnector } from './escpos-printer.js';

export interface UsbPrinterMatch {
  vendorId?: number;
  productId?: number;
}

export interface UsbPrinterDevice {
  /** stable while plugged in, e.g. `1-1.2` (bus and ports) */
  id: string;
  vendorId: number;
  productId: number;
  product?: string;
}

/** The byte-source seam: one claimed printer interface, its bulk OUT and bulk IN endpoints. */
export interface UsbEndpointPair {
  /** bulk OUT; rejects when the device is gone */
  write(bytes: Uint8Array): Promise<void>;
  /** bulk IN data */
  onData(listener: (bytes: Uint8Array) => void): void;
  /** the device went away (detach, I/O error); at most once */
  onClose(listener: (error?: Error) => void): void;
  close(): Promise<void>;
}

export interface UsbPrinterBackend {
  list(): Promise<UsbPrinterDevice[]>;
  open(device: UsbPrinterDevice): Promise<UsbEndpointPair>;
  /** hot-plug notifications; returns the unsubscribe function */
  watch(listener: (event: 'attach' | 'detach', device: UsbPrinterDevice) => void): () => void;
}

export interface UsbReceiptPrinterOptions extends EscPosPrinterOptions {
  match: readonly UsbPrinterMatch[];
  /** default: libusb through the `usb` package */
  backend?: UsbPrinterBackend;
}

export function matchesUsb(device: UsbPrinterDevice, match: UsbPrinterMatch): boolean {
  return (match.vendorId === undefined || match.vendorId === device.vendorId) && (match.productId === undefined || match.productId === device.productId);
}

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

export class UsbReceiptPrinter extends EscPosPrinter {
  readonly #backend: UsbPrinterBackend;
  readonly #match: readonly UsbPrinterMatch[];
  #unwatch: (() => void) | null = null;

  constructor(options: UsbReceiptPrinterOptions) {
    if (options.match.length === 0) throw new DriverError('DRIVER_INVALID_ARGUMENT', 'a USB printer needs at least one match entry');
    const backend = options.backend ?? new LibUsbBackend();
    super(usbConnector(backend, options.match), { backoff: { initialMs: 2000, maxMs: 10_000 }, ...options });
    this.#backend = backend;
    this.#match = options.match;
  }

  override async open(): Promise<void> {
    this.#unwatch ??= this.#backend.watch((event, device) => {
      if (event === 'attach' && this.#match.some((m) => matchesUsb(device, m))) this.retryNow();
    });
    await super.open();
  }

  override async close(): Promise<void> {
    this.#unwatch?.();
    this.#unwatch = null;
    await super.close();
  }
}

function usbConnector(backend: UsbPrinterBackend, match: readonly UsbPrinterMatch[]): PrinterConnector {
  const wanted = match.map((m) => `${m.vendorId === undefined ? '*' : hex4(m.vendorId)}:${m.productId === undefined ? '*' : hex4(m.productId)}`).join(',');
  return {
    description: `usb:${wanted}`,
    connect: async (): Promise<PrinterConnection> => {
      const devices = await backend.list();
      // Board-file order decides which printer wins when several are plugged in.
      const device = match.map((m) => devices.find((d) => matchesUsb(d, m))).find((d) => d !== undefined);
      if (!device) throw new DriverError('DRIVER_OPEN_FAILED', `no USB printer matching ${wanted}`);
      return backend.open(device);
    },
  };
}

// ---- the real backend: usb@3 (libusb) -------------------------------------------------------------

/** The parts of usb@3's UsbDevice (WebUSB USBDevice plus Linux extras) this backend uses. */
interface LibUsbEndpoint {
  endpointNumber: number;
  direction: 'in' | 'out';
  type: 'bulk' | 'interrupt' | 'isochronous';
  packetSize: number;
}
interface LibUsbDevice {
  vendorId: number;
  productId: number;
  bus: string;
  address: number;
  ports: number[];
  productName?: string | null;
  configuration: { interfaces: Array<{ interfaceNumber: number; alternate: { interfaceClass: number; endpoints: LibUsbEndpoint[] } }> } | null;
  open(): Promise<void>;
  close(): Promise<void>;
  selectConfiguration(value: number): Promise<void>;
  claimInterface(n: number): Promise<void>;
  releaseInterface(n: number): Promise<void>;
  detachKernelDriver(n: number): Promise<void>;
  clearHalt(direction: 'in' | 'out', endpointNumber: number): Promise<void>;
  transferIn(endpointNumber: number, length: number, timeout?: number): Promise<{ data?: DataView; status: string }>;
  transferOut(endpointNumber: number, data: Uint8Array, timeout?: number): Promise<{ bytesWritten: number; status: string }>;
}
interface LibUsb {
  getDevices(): Promise<LibUsbDevice[]>;
  addEventListener(type: 'connect' | 'disconnect', listener: (event: { device: LibUsbDevice }) => void): void;
  removeEventListener(type: 'connect' | 'disconnect', listener: (event: { device: LibUsbDevice }) => void): void;
}

const PRINTER_CLASS = 7;
const deviceId = (d: LibUsbDevice): string => `${d.bus}${d.ports.length ? `-${d.ports.join('.')}` : `:${d.address}`}`;
const describe = (d: LibUsbDevice): UsbPrinterDevice => ({ id: deviceId(d), vendorId: d.vendorId, productId: d.productId, product: d.productName ?? undefined });

/** libusb through the `usb` package (loaded on first use, so sims and tests never load the binding). */
export class LibUsbBackend implements UsbPrinterBackend {
  #usb: Promise<LibUsb> | null = null;
  readonly #open = new Map<string, (error?: Error) => void>();

  constructor(private readonly options: { bulkInTimeoutMs?: number; writeTimeoutMs?: number } = {}) {}

  async list(): Promise<UsbPrinterDevice[]> {
    const usb = await this.#load();
    try {
      return (await usb.getDevices()).map(describe);
    } catch (error) {
      throw new DriverError('DRIVER_IO', `cannot list USB devices: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  async open(wanted: UsbPrinterDevice): Promise<UsbEndpointPair> {
    const usb = await this.#load();
    const device = (await usb.getDevices()).find((d) => deviceId(d) === wanted.id);
    if (!device) throw new DriverError('DRIVER_OPEN_FAILED', `USB device ${wanted.id} is gone`);
    await device.open();
    try {
      if (!device.configuration) await device.selectConfiguration(1);
      const interfaces = device.configuration?.interfaces ?? [];
      const bulk = (i: (typeof interfaces)[number], dir: 'in' | 'out') => i.alternate.endpoints.find((e) => e.type === 'bulk' && e.direction === dir);
      const iface = interfaces.find((i) => i.alternate.interfaceClass === PRINTER_CLASS && bulk(i, 'out')) ?? interfaces.find((i) => bulk(i, 'out'));
      if (!iface) throw new DriverError('DRIVER_UNSUPPORTED', `USB device ${wanted.id} has no interface with a bulk OUT endpoint`);
      // usblp binds printer-class interfaces: take the interface over (Linux only; elsewhere a no-op failure).
      await device.detachKernelDriver(iface.interfaceNumber).catch(() => undefined);
      await device.claimInterface(iface.interfaceNumber);
      return this.#pair(device, iface.interfaceNumber, bulk(iface, 'out')!, bulk(iface, 'in') ?? null);
    } catch (error) {
      await device.close().catch(() => undefined);
      throw error instanceof DriverError ? error : new DriverError('DRIVER_OPEN_FAILED', `cannot claim USB printer ${wanted.id}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  watch(listener: (event: 'attach' | 'detach', device: UsbPrinterDevice) => void): () => void {
    const onConnect = (e: { device: LibUsbDevice }): void => listener('attach', describe(e.device));
    const onDisconnect = (e: { device: LibUsbDevice }): void => {
      this.#open.get(deviceId(e.device))?.(new Error('USB device detached'));
      listener('detach', describe(e.device));
    };
    let stopped = false;
    void this.#load().then((usb) => {
      if (stopped) return;
      usb.addEventListener('connect', onConnect);
      usb.addEventListener('disconnect', onDisconnect);
    }, () => undefined);
    return () => {
      stopped = true;
      void this.#usb?.then((usb) => {
        usb.removeEventListener('connect', onConnect);
        usb.removeEventListener('disconnect', onDisconnect);
      }, () => undefined);
    };
  }

  #pair(device: LibUsbDevice, iface: number, out: LibUsbEndpoint, inEp: LibUsbEndpoint | null): UsbEndpointPair {
    const id = deviceId(device);
    const listeners = new ConnectionListeners();
    const release = async (): Promise<void> => {
      this.#open.delete(id);
      await device.releaseInterface(iface).catch(() => undefined);
      await device.close().catch(() => undefined);
    };
    const end = (error?: Error): void => {
      if (listeners.ended) return;
      void release();
      listeners.end(error);
    };
    this.#open.set(id, end);
    const readLoop = async (ep: LibUsbEndpoint): Promise<void> => {
      while (!listeners.ended) {
        try {
          const result = await device.transferIn(ep.endpointNumber, ep.packetSize || 64, this.options.bulkInTimeoutMs ?? 1000);
          if (result.status === 'stall') await device.clearHalt('in', ep.endpointNumber);
          else if (result.data && result.data.byteLength > 0 && !listeners.ended) {
            listeners.data(new Uint8Array(result.data.buffer, result.data.byteOffset, result.data.byteLength).slice());
          }
        } catch (error) {
          // A bulk IN with nothing to read times out: that is the normal idle case.
          if (/time(d)?\s*out|TIMEOUT/i.test(error instanceof Error ? error.message : String(error))) continue;
          end(error instanceof Error ? error : new Error(String(error)));
        }
      }
    };
    if (inEp) void readLoop(inEp);
    return {
      write: async (bytes) => {
        if (listeners.ended) throw new DriverError('DRIVER_IO', `USB printer ${id} is gone`);
        try {
          const result = await device.transferOut(out.endpointNumber, bytes, this.options.writeTimeoutMs ?? 30_000);
          if (result.status === 'stall') {
            await device.clearHalt('out', out.endpointNumber).catch(() => undefined);
            throw new Error('bulk OUT stalled');
          }
        } catch (error) {
          const failure = new DriverError('DRIVER_IO', `write to USB printer ${id} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
          if (/LIBUSB_ERROR_(NO_DEVICE|IO|PIPE)|no device/i.test(String(error))) end(failure);
          throw failure;
        }
      },
      onData: listeners.onData,
      onClose: listeners.onClose,
      close: async () => {
        if (listeners.end(undefined, false)) await release();
      },
    };
  }

  #load(): Promise<LibUsb> {
    this.#usb ??= import('usb').then(
      (m) => m.usb as unknown as LibUsb,
      (error: unknown) => {
        this.#usb = null;
        throw new DriverError('DRIVER_OPEN_FAILED', `the usb package cannot be loaded: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      },
    );
    return this.#usb;
  }
}

// UsbReceiptPrinter through its byte-source seam: a fake libusb backend whose endpoint pair answers
// DLE EOT with real status bytes, on fake time.
import { describe, expect, it } from '@jest/globals';
import { cut, drawerKick, initialize } from '../../../../drivers/printer/escpos.js';
import type { PrinterStatus } from '../../../../drivers/printer/types.js';
import { UsbReceiptPrinter, type UsbEndpointPair, type UsbPrinterBackend, type UsbPrinterDevice } from '../../../../drivers/printer/usb.js';
import { FakeClock } from '../../../support/fake-clock.js';

const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

/** A printer behind bulk OUT/IN: records what it is sent, answers DLE EOT n per `replies`. */
class FakePrinterEndpoints implements UsbEndpointPair {
  readonly received: number[] = [];
  replies: Record<number, number> = { 1: 0x12, 2: 0x12, 4: 0x12 };
  /** bytes sent before every reply (ASB, noise) */
  noise: number[] = [];
  silent = false;
  closed = false;
  #data: Array<(b: Uint8Array) => void> = [];
  #close: Array<(e?: Error) => void> = [];

  async write(bytes: Uint8Array): Promise<void> {
    if (this.closed) throw new Error('LIBUSB_ERROR_NO_DEVICE');
    this.received.push(...bytes);
    for (let i = 0; i + 2 < bytes.length; i++) {
      if (bytes[i] === 0x10 && bytes[i + 1] === 0x04 && !this.silent) {
        const reply = Uint8Array.of(...this.noise, this.replies[bytes[i + 2]]);
        queueMicrotask(() => this.#data.forEach((l) => l(reply)));
      }
    }
  }
  onData(listener: (b: Uint8Array) => void): void {
    this.#data.push(listener);
  }
  onClose(listener: (e?: Error) => void): void {
    this.#close.push(listener);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  unplug(): void {
    this.closed = true;
    this.#close.forEach((l) => l(new Error('USB device detached')));
  }
}

class FakeBackend implements UsbPrinterBackend {
  devices: UsbPrinterDevice[] = [];
  opened: FakePrinterEndpoints[] = [];
  #watchers = new Set<(e: 'attach' | 'detach', d: UsbPrinterDevice) => void>();
  async list(): Promise<UsbPrinterDevice[]> {
    return [...this.devices];
  }
  async open(): Promise<UsbEndpointPair> {
    const pair = new FakePrinterEndpoints();
    this.opened.push(pair);
    return pair;
  }
  watch(listener: (e: 'attach' | 'detach', d: UsbPrinterDevice) => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }
  get watchers(): number {
    return this.#watchers.size;
  }
  plug(device: UsbPrinterDevice): void {
    this.devices.push(device);
    this.#watchers.forEach((l) => l('attach', device));
  }
  unplug(): void {
    const gone = this.devices.splice(0);
    this.opened.at(-1)?.unplug();
    gone.forEach((d) => this.#watchers.forEach((l) => l('detach', d)));
  }
}

const epson: UsbPrinterDevice = { id: '1-1.2', vendorId: 0x04b8, productId: 0x0202, product: 'TM-T20' };
const other: UsbPrinterDevice = { id: '1-1.3', vendorId: 0x0416, productId: 0x5011 };

function rig(options: { statusPollMs?: number } = {}) {
  const clock = new FakeClock();
  const backend = new FakeBackend();
  const printer = new UsbReceiptPrinter({
    paperWidthMm: 80,
    match: [{ vendorId: 0x04b8, productId: 0x0202 }, { vendorId: 0x0416 }],
    backend,
    timers: clock,
    statusPollMs: options.statusPollMs ?? 0,
    statusTimeoutMs: 300,
  });
  const events: string[] = [];
  const statuses: PrinterStatus[] = [];
  printer.on('connectionChanged', ({ connected }) => events.push(connected ? 'connected' : 'disconnected'));
  printer.on('statusChanged', (s) => statuses.push(s));
  return { clock, backend, printer, events, statuses };
}

describe('UsbReceiptPrinter (through the endpoint seam)', () => {
  it('claims the first matching printer in board-file order, writes bytes and reads DLE EOT status', async () => {
    const { backend, printer, events, statuses } = rig();
    backend.devices = [other, epson];
    await printer.open();
    expect(printer.connected).toBe(true);
    expect(events).toEqual(['connected']);
    const ep = backend.opened[0];
    await printer.write(Uint8Array.of(...initialize(), ...drawerKick(), ...cut()));
    expect(Buffer.from(ep.received).toString('hex')).toBe('1b401b700032641d5600');

    ep.received.length = 0;
    await expect(printer.status()).resolves.toEqual({ online: true, coverOpen: false, paperNearEnd: false, paperOut: false });
    expect(Buffer.from(ep.received).toString('hex')).toBe('100401100402100404');

    // cover open (n=2 0x16) with the printer off-line (n=1 0x1a), ASB noise before each reply
    ep.replies = { 1: 0x1a, 2: 0x16, 4: 0x12 };
    ep.noise = [0x14, 0x00, 0x00, 0x00];
    await expect(printer.status()).resolves.toEqual({ online: false, coverOpen: true, paperNearEnd: false, paperOut: false });
    ep.replies = { 1: 0x12, 2: 0x12, 4: 0x1e };
    await printer.status();
    ep.replies = { 1: 0x1a, 2: 0x32, 4: 0x72 };
    await printer.status();
    await printer.status(); // unchanged: no event
    expect(statuses).toEqual([
      { online: true, coverOpen: false, paperNearEnd: false, paperOut: false },
      { online: false, coverOpen: true, paperNearEnd: false, paperOut: false },
      { online: true, coverOpen: false, paperNearEnd: true, paperOut: false },
      { online: false, coverOpen: false, paperNearEnd: false, paperOut: true },
    ]);
    expect(printer.stats.parser.asb).toBe(4 * 3); // four status() calls after the noise started, three replies each
    await printer.close();
    expect(ep.closed).toBe(true);
    expect(backend.watchers).toBe(0);
  });

  it('a silent printer makes status() time out (DRIVER_TIMEOUT)', async () => {
    const { clock, backend, printer } = rig();
    backend.devices = [epson];
    await printer.open();
    backend.opened[0].silent = true;
    const status = printer.status();
    await flush();
    clock.advance(300);
    await expect(status).rejects.toMatchObject({ code: 'DRIVER_TIMEOUT' });
    await printer.close();
  });

  it('opens without a printer, connects on attach, fails writes with DRIVER_IO after detach, and comes back', async () => {
    const { clock, backend, printer, events } = rig();
    await printer.open();
    expect(printer.connected).toBe(false);
    await expect(printer.write(Uint8Array.of(0x0a))).rejects.toMatchObject({ code: 'DRIVER_IO' });
    await expect(printer.status()).rejects.toMatchObject({ code: 'DRIVER_IO' });

    backend.plug(epson); // hot-plug: no need to wait for the back-off
    await flush();
    expect(events).toEqual(['connected']);

    const pending = printer.status();
    backend.opened[0].silent = true;
    backend.unplug();
    await flush();
    expect(events).toEqual(['connected', 'disconnected']);
    await expect(pending).rejects.toMatchObject({ code: 'DRIVER_IO' });
    await expect(printer.write(Uint8Array.of(0x0a))).rejects.toMatchObject({ code: 'DRIVER_IO' });

    // back-off retries find nothing; the device comes back without an attach event (missed hot-plug)
    clock.advance(2000);
    await flush();
    expect(printer.connected).toBe(false);
    backend.devices = [epson];
    clock.advance(4000);
    await flush();
    expect(events).toEqual(['connected', 'disconnected', 'connected']);
    await printer.write(Uint8Array.of(0x0a));
    expect(backend.opened[1].received).toEqual([0x0a]);
    await printer.close();
    expect(clock.pending).toBe(0);
  });

  it('a write that fails on the endpoints drops the connection', async () => {
    const { backend, printer, events } = rig();
    backend.devices = [epson];
    await printer.open();
    backend.opened[0].closed = true;
    await expect(printer.write(Uint8Array.of(0x0a))).rejects.toMatchObject({ code: 'DRIVER_IO' });
    expect(events).toEqual(['connected', 'disconnected']);
    expect(printer.connected).toBe(false);
    await printer.close();
  });

  it('polls the status on the injected timer and emits statusChanged only on change', async () => {
    const { clock, backend, printer, statuses } = rig({ statusPollMs: 1000 });
    backend.devices = [epson];
    await printer.open();
    clock.advance(0);
    await flush();
    expect(statuses).toHaveLength(1);
    clock.advance(1000);
    await flush();
    expect(statuses).toHaveLength(1);
    backend.opened[0].replies = { 1: 0x12, 2: 0x12, 4: 0x1e };
    clock.advance(1000);
    await flush();
    expect(statuses.at(-1)).toMatchObject({ paperNearEnd: true });
    await printer.close();
    expect(clock.pending).toBe(0);
  });

  it('refuses an empty match list', () => {
    expect(() => new UsbReceiptPrinter({ paperWidthMm: 58, match: [], backend: new FakeBackend() })).toThrow(expect.objectContaining({ code: 'DRIVER_INVALID_ARGUMENT' }));
  });
});

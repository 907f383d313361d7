import { afterEach, describe, expect, it } from '@jest/globals';
import { DriverError } from '../../../drivers/common/errors.js';
import { MAX_INPUT_BYTES, type HidBackendDevice, type HidMatch } from '../../../drivers/hid/backend.js';
import { HidDescriptorError } from '../../../drivers/hid/descriptor.js';
import { HidrawBarcodeScanner } from '../../../drivers/scanner/hidraw.js';
import { MAX_SCAN_LENGTH, type BarcodeScannerEvents } from '../../../drivers/scanner/types.js';
import { FakeClock } from '../../support/fake-clock.js';
import { hex } from '../hid/fixtures.js';
import { BOOT_KEYBOARD, DATALOGIC_GD4400, FakeBackend, KEYBOARD_REPORT_ID_1, typeReports, VENDOR_INTERFACE } from './fixtures.js';

const GD4400: HidBackendDevice = { path: '/dev/hidraw2', vendorId: 0x05f9, productId: 0x4204, usagePage: 0x01, usage: 0x06, product: 'Datalogic Gryphon GD4400' };
/** A keyboard interface with report IDs: hidapi lists its keyboard and consumer collections on one path. */
const RECEIVER: HidBackendDevice[] = [
  { path: '/dev/hidraw5', vendorId: 0x1eab, productId: 0x1d06, usagePage: 0x0c, usage: 0x01, product: 'Scanner Receiver' },
  { path: '/dev/hidraw5', vendorId: 0x1eab, productId: 0x1d06, usagePage: 0x01, usage: 0x06, product: 'Scanner Receiver Keyboard' },
];
const MATCH: HidMatch[] = [{ vendorId: 0x05f9 }, { vendorId: 0x1eab, productId: 0x1d06 }];

const RELEASED = '00 00 00 00 00 00 00 00';

/** Everything the driver emitted, as short strings. */
function record(driver: HidrawBarcodeScanner): string[] {
  const seen: string[] = [];
  driver.on('deviceAttached', (d) => seen.push(`attached ${d.id}`));
  driver.on('deviceDetached', (d) => seen.push(`detached ${d.id}`));
  driver.on('barcodeScanned', (e) => seen.push(`${e.deviceId} scanned ${e.code}`));
  driver.on('scanRejected', (e) => seen.push(`${e.deviceId} rejected ${e.reason} ${e.length}`));
  driver.on('deviceError', (e) => seen.push(`error ${e.path ?? '-'} ${e.error.code}`));
  return seen;
}

function nextEvent<K extends keyof BarcodeScannerEvents & string>(driver: HidrawBarcodeScanner, event: K): Promise<BarcodeScannerEvents[K]> {
  return new Promise((resolve) => driver.once(event, resolve));
}

const drivers: HidrawBarcodeScanner[] = [];
function makeDriver(backend: FakeBackend, clock: FakeClock, options: { match?: HidMatch[] } = {}): HidrawBarcodeScanner {
  const driver = new HidrawBarcodeScanner({ match: options.match ?? MATCH, backend, timer: clock });
  drivers.push(driver);
  return driver;
}

/** A driver opened on a backend with one device plugged in, and what it emitted. */
async function opened(device: HidBackendDevice | HidBackendDevice[], descriptor: Uint8Array) {
  const backend = new FakeBackend();
  backend.plug(device, descriptor);
  const clock = new FakeClock();
  const driver = makeDriver(backend, clock);
  const seen = record(driver);
  await driver.open();
  return { backend, clock, driver, seen };
}

afterEach(async () => {
  for (const driver of drivers.splice(0)) await driver.close();
});

describe('HidrawBarcodeScanner: scans from real report bytes', () => {
  it('scans an EAN-13 typed by the HID 1.11 E.6 boot keyboard layout', async () => {
    const { backend, seen } = await opened(GD4400, BOOT_KEYBOARD);
    // "4006381333931\r": one key down, then all released, per character
    backend.lastHandle('/dev/hidraw2').reports([
      '00 00 21 00 00 00 00 00', RELEASED, // 4
      '00 00 27 00 00 00 00 00', RELEASED, // 0
      '00 00 27 00 00 00 00 00', RELEASED, // 0
      '00 00 23 00 00 00 00 00', RELEASED, // 6
      '00 00 20 00 00 00 00 00', RELEASED, // 3
      '00 00 25 00 00 00 00 00', RELEASED, // 8
      '00 00 1e 00 00 00 00 00', RELEASED, // 1
      '00 00 20 00 00 00 00 00', RELEASED, // 3
      '00 00 20 00 00 00 00 00', RELEASED, // 3
      '00 00 20 00 00 00 00 00', RELEASED, // 3
      '00 00 26 00 00 00 00 00', RELEASED, // 9
      '00 00 20 00 00 00 00 00', RELEASED, // 3
      '00 00 1e 00 00 00 00 00', RELEASED, // 1
      '00 00 28 00 00 00 00 00', RELEASED, // Enter
    ]);
    expect(seen).toEqual(['attached /dev/hidraw2', '/dev/hidraw2 scanned 4006381333931']);
  });

  it('applies Left Shift, including the shift-only reports scanners send around a shifted key ("ABC-123")', async () => {
    const { backend, seen } = await opened(GD4400, DATALOGIC_GD4400);
    backend.lastHandle('/dev/hidraw2').reports([
      '02 00 00 00 00 00 00 00', // Left Shift down
      '02 00 04 00 00 00 00 00', // + a -> A
      '02 00 00 00 00 00 00 00',
      RELEASED,
      '02 00 05 00 00 00 00 00', // B
      RELEASED,
      '02 00 06 00 00 00 00 00', // C
      RELEASED,
      '00 00 2d 00 00 00 00 00', // -
      RELEASED,
      '00 00 1e 00 00 00 00 00', // 1
      RELEASED,
      '00 00 1f 00 00 00 00 00', // 2
      RELEASED,
      '00 00 20 00 00 00 00 00', // 3
      RELEASED,
      '00 00 28 00 00 00 00 00', // Enter
      RELEASED,
    ]);
    expect(seen.slice(1)).toEqual(['/dev/hidraw2 scanned ABC-123']);
  });

  it('types repeated characters from press / release pairs ("1122") and ends a code with Tab', async () => {
    const { backend, seen } = await opened(GD4400, DATALOGIC_GD4400);
    const handle = backend.lastHandle('/dev/hidraw2');
    handle.reports(['00 00 1e 00 00 00 00 00', RELEASED, '00 00 1e 00 00 00 00 00', RELEASED, '00 00 1f 00 00 00 00 00', RELEASED]);
    handle.reports(['00 00 1f 00 00 00 00 00', RELEASED, '00 00 2b 00 00 00 00 00', RELEASED]); // 2, Tab
    // a held key repeats nothing: 5 held over three reports, then keypad Enter
    handle.reports(['00 00 22 00 00 00 00 00', '00 00 22 00 00 00 00 00', '00 00 22 00 00 00 00 00', RELEASED, '00 00 58 00 00 00 00 00', RELEASED]);
    expect(seen.slice(1)).toEqual(['/dev/hidraw2 scanned 1122', '/dev/hidraw2 scanned 5']);
  });

  it('reads the keyboard report behind report ID 1 and ignores the consumer report (ID 4)', async () => {
    const { backend, driver, seen } = await opened(RECEIVER, KEYBOARD_REPORT_ID_1);
    const handle = backend.lastHandle('/dev/hidraw5');
    handle.reports([
      '01 02 00 04 00 00 00 00 00', // Report 1: Left Shift + a -> A
      '01 00 00 00 00 00 00 00 00',
      '04 e9 00', // Report 4: Volume Increment, not a key
      '04 00 00',
      '01 00 00 27 00 00 00 00 00', // 0
      '01 00 00 00 00 00 00 00 00',
      '01 20 00 2d 00 00 00 00 00', // Right Shift + - -> _
      '01 00 00 00 00 00 00 00 00',
      '01 00 00 28 00 00 00 00 00', // Enter
      '01 00 00 00 00 00 00 00 00',
    ]);
    handle.reports(typeReports('x1\r', 1));
    expect(seen).toEqual(['attached /dev/hidraw5', '/dev/hidraw5 scanned A0_', '/dev/hidraw5 scanned x1']);
    // named after its keyboard collection's entry
    expect(driver.devices()).toEqual([{ id: '/dev/hidraw5', path: '/dev/hidraw5', vendorId: 0x1eab, productId: 0x1d06, product: 'Scanner Receiver Keyboard' }]);
  });

  it('rejects MAX_SCAN_LENGTH + 1 characters as too long, scans nothing, and the next scan works', async () => {
    const { backend, seen } = await opened(GD4400, BOOT_KEYBOARD);
    const handle = backend.lastHandle('/dev/hidraw2');
    handle.reports(typeReports(`${'9'.repeat(MAX_SCAN_LENGTH + 1)}\r`));
    handle.reports(typeReports(`${'8'.repeat(MAX_SCAN_LENGTH)}\r`));
    handle.reports(typeReports('42\r'));
    expect(seen.slice(1)).toEqual([`/dev/hidraw2 rejected too-long ${MAX_SCAN_LENGTH + 1}`, `/dev/hidraw2 scanned ${'8'.repeat(MAX_SCAN_LENGTH)}`, '/dev/hidraw2 scanned 42']);
  });

  it('rejects a code with a key that types no printable character (Ctrl+], F1), and ignores such keys before a code', async () => {
    const { backend, seen } = await opened(GD4400, BOOT_KEYBOARD);
    const handle = backend.lastHandle('/dev/hidraw2');
    // GS1 group separator typed as Ctrl+] between two element strings
    handle.reports([...typeReports('0104'), '01 00 30 00 00 00 00 00', RELEASED, ...typeReports('10AB\r')]);
    handle.reports(['00 00 3a 00 00 00 00 00', RELEASED, '00 00 39 00 00 00 00 00', RELEASED, ...typeReports('77\r')]);
    handle.reports(typeReports('\r\r'));
    expect(seen.slice(1)).toEqual(['/dev/hidraw2 rejected unprintable 9', '/dev/hidraw2 scanned 77']);
  });

  it('drops an unterminated burst after the inter-key timeout, restarting the timeout on every key', async () => {
    const { backend, clock, seen } = await opened(GD4400, BOOT_KEYBOARD);
    const handle = backend.lastHandle('/dev/hidraw2');
    const timers = clock.pending; // the device list poll
    handle.reports(typeReports('123'));
    expect(clock.pending).toBe(timers + 1);
    clock.advance(299);
    expect(seen.slice(1)).toEqual([]);
    handle.reports(typeReports('4')); // restarts the timeout
    clock.advance(299);
    expect(seen.slice(1)).toEqual([]);
    clock.advance(1);
    expect(seen.slice(1)).toEqual(['/dev/hidraw2 rejected unterminated 4']);
    expect(clock.pending).toBe(timers);
    handle.reports(typeReports('56\r'));
    clock.advance(1000);
    expect(seen.slice(1)).toEqual(['/dev/hidraw2 rejected unterminated 4', '/dev/hidraw2 scanned 56']);
    expect(clock.pending).toBe(timers);
  });

  it('honours interKeyTimeoutMs', async () => {
    const backend = new FakeBackend();
    backend.plug(GD4400, BOOT_KEYBOARD);
    const clock = new FakeClock();
    const driver = new HidrawBarcodeScanner({ match: MATCH, backend, timer: clock, interKeyTimeoutMs: 50 });
    drivers.push(driver);
    const seen = record(driver);
    await driver.open();
    backend.lastHandle('/dev/hidraw2').reports(typeReports('12'));
    clock.advance(50);
    expect(seen.slice(1)).toEqual(['/dev/hidraw2 rejected unterminated 2']);
  });

  it('survives garbage: empty, short, unknown-ID, out-of-range, padded and oversized reports', async () => {
    const { backend, seen } = await opened(RECEIVER, KEYBOARD_REPORT_ID_1);
    const handle = backend.lastHandle('/dev/hidraw5');
    handle.report(new Uint8Array(0));
    handle.report('01');
    handle.report('01 00 00 04');
    handle.report('ff 00 00 04 00 00 00 00 00');
    handle.report(Uint8Array.from({ length: 200 }, (_, i) => (i * 37 + 11) & 0xff));
    // oversized: dropped before decoding even though it starts like a key press
    const oversized = new Uint8Array(MAX_INPUT_BYTES + 1);
    oversized.set([0x01, 0x00, 0x00, 0x05]);
    handle.report(oversized);
    handle.report('01 00 00 00 00 00 00 00 00');
    expect(seen.slice(1)).toEqual([]);
    handle.reports(typeReports('OK\r', 1));
    expect(seen.slice(1)).toEqual(['/dev/hidraw5 scanned OK']);
  });

  it('keeps the scans of two scanners apart', async () => {
    const backend = new FakeBackend();
    backend.plug(GD4400, BOOT_KEYBOARD);
    backend.plug(RECEIVER, KEYBOARD_REPORT_ID_1);
    const driver = makeDriver(backend, new FakeClock());
    const seen = record(driver);
    await driver.open();
    const a = typeReports('AAA\r');
    const b = typeReports('bb\r', 1);
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i]) backend.lastHandle('/dev/hidraw2').report(a[i]);
      if (b[i]) backend.lastHandle('/dev/hidraw5').report(b[i]);
    }
    expect(seen.slice(2).sort()).toEqual(['/dev/hidraw2 scanned AAA', '/dev/hidraw5 scanned bb']);
  });

  it('uses the boot layout for a keyboard whose descriptor shows no keyboard input', async () => {
    const backend = new FakeBackend();
    // a Keyboard application collection whose 8 input bytes carry vendor usages
    backend.plug(GD4400, hex('05 01 09 06 A1 01 06 00 FF 09 01 15 00 26 FF 00 75 08 95 08 81 02 C0'));
    const driver = makeDriver(backend, new FakeClock());
    const seen = record(driver);
    await driver.open();
    backend.lastHandle('/dev/hidraw2').reports(typeReports('Boot-1\r'));
    expect(seen).toEqual(['attached /dev/hidraw2', '/dev/hidraw2 scanned Boot-1']);
  });
});

describe('HidrawBarcodeScanner: hot-plug', () => {
  it('attaches matching keyboards only: not other vendors, not a HID POS or vendor interface', async () => {
    const backend = new FakeBackend();
    backend.plug(GD4400, DATALOGIC_GD4400);
    backend.plug({ path: '/dev/hidraw0', vendorId: 0x046d, productId: 0xc31c, usagePage: 0x01, usage: 0x06, product: 'Keyboard' }, BOOT_KEYBOARD);
    // the scanner's HID POS interface, listed as Bar Code Scanner page (0x8C): never read
    backend.plug({ path: '/dev/hidraw3', vendorId: 0x05f9, productId: 0x4204, usagePage: 0x8c, usage: 0x02, product: 'HID POS' }, VENDOR_INTERFACE);
    // a vendor interface hidapi lists without a usage page: read once, no keyboard, left alone
    backend.plug({ path: '/dev/hidraw4', vendorId: 0x05f9, productId: 0x4204 }, VENDOR_INTERFACE);
    const clock = new FakeClock();
    const driver = makeDriver(backend, clock);
    const seen = record(driver);
    await driver.open();
    clock.advance(1000);
    await driver.rescan();
    expect(seen).toEqual(['attached /dev/hidraw2']);
    expect(backend.descriptorReads.sort()).toEqual(['/dev/hidraw2', '/dev/hidraw4']);
    expect([...new Set(backend.opened.map((o) => o.path))]).toEqual(['/dev/hidraw2']);
    expect(driver.devices()).toEqual([{ id: '/dev/hidraw2', path: '/dev/hidraw2', vendorId: 0x05f9, productId: 0x4204, product: 'Datalogic Gryphon GD4400' }]);
  });

  it('detaches a scanner that vanishes and attaches it again on replug, without a restart', async () => {
    const { backend, clock, driver, seen } = await opened(GD4400, DATALOGIC_GD4400);
    const first = backend.lastHandle('/dev/hidraw2');

    backend.unplug('/dev/hidraw2');
    const detached = nextEvent(driver, 'deviceDetached');
    clock.advance(1000);
    expect(await detached).toEqual({ id: '/dev/hidraw2' });
    await driver.rescan();
    expect(first.closed).toBe(true);
    expect(driver.devices()).toEqual([]);
    first.reports(typeReports('3\r')); // late bytes from the dead handle go nowhere

    backend.plug({ ...GD4400, path: '/dev/hidraw6' }, DATALOGIC_GD4400);
    const attached = nextEvent(driver, 'deviceAttached');
    clock.advance(1000);
    expect((await attached).id).toBe('/dev/hidraw6');
    backend.lastHandle('/dev/hidraw6').reports(typeReports('77\r'));
    expect(seen).toEqual(['attached /dev/hidraw2', 'detached /dev/hidraw2', 'attached /dev/hidraw6', '/dev/hidraw6 scanned 77']);
  });

  it('drops a code cut short by an unplug, with no timeout left running', async () => {
    const { backend, clock, driver, seen } = await opened(GD4400, DATALOGIC_GD4400);
    backend.lastHandle('/dev/hidraw2').reports(typeReports('12'));
    expect(clock.pending).toBe(2);
    const detached = nextEvent(driver, 'deviceDetached');
    backend.lastHandle('/dev/hidraw2').emit('error', new Error('ENODEV'));
    await detached;
    expect(clock.pending).toBe(1);
    backend.unplug('/dev/hidraw2');
    clock.advance(5000);
    await driver.rescan();
    expect(seen).toEqual(['attached /dev/hidraw2', 'detached /dev/hidraw2']);
  });

  it('reports a malformed descriptor as a typed deviceError (retried on replug: watcher.test.ts)', async () => {
    const backend = new FakeBackend();
    backend.plug(GD4400, BOOT_KEYBOARD.subarray(0, 62)); // End Collection missing
    const driver = makeDriver(backend, new FakeClock());
    const errors: unknown[] = [];
    driver.on('deviceError', (e) => errors.push(e.error));
    const seen = record(driver);
    await driver.open();
    expect(seen).toEqual(['error /dev/hidraw2 DRIVER_INVALID_ARGUMENT']);
    expect(errors[0]).toBeInstanceOf(HidDescriptorError);
  });

  it('fails open with DRIVER_OPEN_FAILED when the device list cannot be read (list failures in depth: watcher.test.ts)', async () => {
    const backend = new FakeBackend();
    backend.failList = true;
    const opening = makeDriver(backend, new FakeClock()).open();
    await expect(opening).rejects.toBeInstanceOf(DriverError);
    await expect(opening).rejects.toMatchObject({ code: 'DRIVER_OPEN_FAILED' });
  });

  it('close() stops polling and the inter-key timeout, closes devices and reports them detached', async () => {
    const { backend, clock, driver, seen } = await opened(GD4400, BOOT_KEYBOARD);
    backend.lastHandle('/dev/hidraw2').reports(typeReports('12'));
    expect(clock.pending).toBe(2);
    await driver.close();
    expect(clock.pending).toBe(0);
    expect(backend.lastHandle('/dev/hidraw2').closed).toBe(true);
    clock.advance(5000);
    expect(seen).toEqual(['attached /dev/hidraw2', 'detached /dev/hidraw2']);
  });
});

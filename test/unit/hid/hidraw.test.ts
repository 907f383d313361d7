import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { DriverError } from '../../../drivers/common/errors.js';
import { HidDescriptorError, parseReportDescriptor } from '../../../drivers/hid/descriptor.js';
import { matchesHid, NodeHidBackend, type HidBackendDevice, type HidMatch } from '../../../drivers/hid/backend.js';
import { HidrawTelephony } from '../../../drivers/hid/hidraw.js';
import type { TelephonyHidEvents } from '../../../drivers/hid/types.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeHidBackend as FakeBackend } from '../../support/hid-backend.js';
import { hex, loadDescriptor } from './fixtures.js';

const SPEAKERPHONE: HidBackendDevice = { path: '/dev/hidraw3', vendorId: 0x1234, productId: 0x5678, usagePage: 0x0b, usage: 0x05, product: 'Desk Speakerphone' };
const MATCH: HidMatch[] = [{ usagePage: 0x0b }];

/** Everything the driver emitted, as short strings. */
function record(driver: HidrawTelephony): string[] {
  const seen: string[] = [];
  driver.on('deviceAttached', (d) => seen.push(`attached ${d.id}`));
  driver.on('deviceDetached', (d) => seen.push(`detached ${d.id}`));
  driver.on('hookChanged', (e) => seen.push(`${e.deviceId} ${e.offHook ? 'off-hook' : 'on-hook'}`));
  driver.on('keyPressed', (e) => seen.push(`${e.deviceId} key ${e.key}`));
  driver.on('buttonPressed', (e) => seen.push(`${e.deviceId} button ${e.button}`));
  driver.on('deviceError', (e) => seen.push(`error ${e.path ?? '-'} ${e.error.code}`));
  return seen;
}

function nextEvent<K extends keyof TelephonyHidEvents & string>(driver: HidrawTelephony, event: K): Promise<TelephonyHidEvents[K]> {
  return new Promise((resolve) => driver.once(event, resolve));
}

const drivers: HidrawTelephony[] = [];
function makeDriver(backend: FakeBackend, clock: FakeClock, options: { match?: HidMatch[]; usagePageRule?: 'main' | 'local' } = {}): HidrawTelephony {
  const driver = new HidrawTelephony({ match: options.match ?? MATCH, backend, timer: clock, pollIntervalMs: 1000, usagePageRule: options.usagePageRule });
  drivers.push(driver);
  return driver;
}

afterEach(async () => {
  for (const driver of drivers.splice(0)) await driver.close();
});

describe('HidrawTelephony with a fake backend', () => {
  it('attaches a matching device on open with its capabilities, and skips non-matching ones', async () => {
    const backend = new FakeBackend();
    backend.plug(SPEAKERPHONE, loadDescriptor('speakerphone'));
    backend.plug({ path: '/dev/hidraw0', vendorId: 0x046d, productId: 0xc31c, usagePage: 0x01, usage: 0x06, product: 'Keyboard' }, hex('05 01 09 06 A1 01 C0'));
    const clock = new FakeClock();
    const driver = makeDriver(backend, clock);
    const seen = record(driver);
    await driver.open();
    expect(seen).toEqual(['attached /dev/hidraw3']);
    expect(driver.devices()).toEqual([
      {
        id: '/dev/hidraw3',
        path: '/dev/hidraw3',
        vendorId: 0x1234,
        productId: 0x5678,
        product: 'Desk Speakerphone',
        capabilities: { hookSwitch: true, keypad: true, buttons: ['mute', 'flash'], leds: ['offHook', 'mute', 'ring', 'hold', 'microphone', 'ringer'] },
      },
    ]);
    expect(backend.handles).toHaveLength(1);
  });

  it('turns input reports into events, ignoring oversized ones', async () => {
    const backend = new FakeBackend();
    backend.plug(SPEAKERPHONE, loadDescriptor('speakerphone'));
    const driver = makeDriver(backend, new FakeClock());
    const seen = record(driver);
    await driver.open();
    const handle = backend.lastHandle();
    handle.report('02 01 03');
    handle.report('02 41 01');
    handle.report('02 41 01 ff');
    handle.report('02 45 01');
    handle.report('02 01 03');
    handle.report('02 00 03');
    expect(seen).toEqual(['attached /dev/hidraw3', '/dev/hidraw3 off-hook', '/dev/hidraw3 key 5', '/dev/hidraw3 button mute', '/dev/hidraw3 on-hook']);
  });

  it('writes the composed LED report, keeping earlier LEDs, and refuses unknown devices', async () => {
    const backend = new FakeBackend();
    backend.plug(SPEAKERPHONE, loadDescriptor('speakerphone'));
    const driver = makeDriver(backend, new FakeClock());
    await driver.open();
    const handle = backend.lastHandle();
    await driver.setLeds('/dev/hidraw3', { offHook: true, mute: true });
    await driver.setLeds('/dev/hidraw3', { mute: false, ringer: true });
    await driver.setLeds('/dev/hidraw3', { ring: true, hold: undefined });
    await Promise.all([driver.setLeds('/dev/hidraw3', { hold: true }), driver.setLeds('/dev/hidraw3', { microphone: true })]);
    expect(handle.writes).toEqual(['02 03 00', '02 21 00', '02 25 00', '02 2d 00', '02 3d 00']);
    await expect(driver.setLeds('/dev/hidraw9', { offHook: true })).rejects.toMatchObject({ code: 'DRIVER_NOT_OPEN' });
    handle.failWrites = true;
    await expect(driver.setLeds('/dev/hidraw3', { offHook: false })).rejects.toMatchObject({ code: 'DRIVER_IO' });
    handle.failWrites = false;
    await driver.setLeds('/dev/hidraw3', {});
    expect(handle.writes.at(-1)).toBe('02 3c 00');
  });

  it('writes nothing for a device without LEDs', async () => {
    const backend = new FakeBackend();
    backend.plug(SPEAKERPHONE, hex('05 0B 09 05 A1 01 09 20 15 00 25 01 75 01 95 01 81 02 75 07 81 03 C0'));
    const driver = makeDriver(backend, new FakeClock());
    await driver.open();
    await driver.setLeds('/dev/hidraw3', { offHook: true });
    expect(backend.lastHandle().writes).toEqual([]);
  });

  it('detaches on a read error (unplug) and attaches again on replug, without a restart', async () => {
    const backend = new FakeBackend();
    backend.plug(SPEAKERPHONE, loadDescriptor('speakerphone'));
    const clock = new FakeClock();
    const driver = makeDriver(backend, clock);
    const seen = record(driver);
    await driver.open();
    const first = backend.lastHandle();
    first.report('02 01 03');

    // unplugged: the read fails, then udev removes the node
    const detached = nextEvent(driver, 'deviceDetached');
    first.emit('error', new Error('could not read from HID device'));
    expect(await detached).toEqual({ id: '/dev/hidraw3' });
    expect(first.closed).toBe(true);
    expect(driver.devices()).toEqual([]);
    backend.unplug('/dev/hidraw3');
    clock.advance(1000);
    await driver.rescan();
    first.report('02 41 01'); // late bytes from the dead handle go nowhere
    await expect(driver.setLeds('/dev/hidraw3', { offHook: true })).rejects.toMatchObject({ code: 'DRIVER_NOT_OPEN' });

    // plugged in again, on another node
    backend.plug({ ...SPEAKERPHONE, path: '/dev/hidraw4' }, loadDescriptor('speakerphone'));
    const attached = nextEvent(driver, 'deviceAttached');
    clock.advance(1000);
    expect((await attached).id).toBe('/dev/hidraw4');
    const second = backend.lastHandle();
    expect(second).not.toBe(first);
    second.report('02 01 00');
    await driver.setLeds('/dev/hidraw4', { offHook: true });
    expect(second.writes).toEqual(['02 01 00']);
    expect(seen).toEqual([
      'attached /dev/hidraw3',
      '/dev/hidraw3 off-hook',
      'detached /dev/hidraw3',
      'attached /dev/hidraw4',
      '/dev/hidraw4 off-hook',
      '/dev/hidraw4 key 0',
    ]);
  });

  it('detaches a device that vanishes from the list', async () => {
    const backend = new FakeBackend();
    backend.plug(SPEAKERPHONE, loadDescriptor('speakerphone'));
    const clock = new FakeClock();
    const driver = makeDriver(backend, clock);
    const seen = record(driver);
    await driver.open();
    backend.unplug('/dev/hidraw3');
    const detached = nextEvent(driver, 'deviceDetached');
    clock.advance(999);
    await driver.rescan();
    await detached;
    expect(seen).toEqual(['attached /dev/hidraw3', 'detached /dev/hidraw3']);
    expect(backend.lastHandle().closed).toBe(true);
  });

  it('opens a device listed once per top-level collection only once, matching any of its collections', async () => {
    const backend = new FakeBackend();
    backend.plug({ path: '/dev/hidraw7', vendorId: 0x0b0e, productId: 0x0422, usagePage: 0x0c, usage: 0x01, product: 'Headset' }, loadDescriptor('headset'));
    backend.listed.push({ path: '/dev/hidraw7', vendorId: 0x0b0e, productId: 0x0422, usagePage: 0x0b, usage: 0x05, product: 'Headset' });
    const driver = makeDriver(backend, new FakeClock());
    const seen = record(driver);
    await driver.open();
    await driver.rescan();
    expect(seen).toEqual(['attached /dev/hidraw7']);
    expect(backend.handles).toHaveLength(1);
    backend.lastHandle().report('01 01');
    backend.lastHandle().report('01 21');
    await driver.setLeds('/dev/hidraw7', { offHook: true, ringer: true, microphone: true });
    expect(seen.slice(1)).toEqual(['/dev/hidraw7 off-hook', '/dev/hidraw7 button speakerPhone']);
    expect(backend.lastHandle().writes).toEqual(['02 11']);
  });

  it('matches by vendor and product ID, and leaves matching devices without telephony controls alone', async () => {
    const backend = new FakeBackend();
    backend.plug({ path: '/dev/hidraw1', vendorId: 0x1234, productId: 0x0001, product: 'Keypad' }, loadDescriptor('keypad'));
    backend.plug({ path: '/dev/hidraw2', vendorId: 0x1234, productId: 0x0002, product: 'Vendor interface' }, hex('06 00 FF 09 01 A1 01 15 00 26 FF 00 75 08 95 40 81 02 C0'));
    backend.plug({ path: '/dev/hidraw5', vendorId: 0x9999, productId: 0x0001, product: 'Other keypad' }, loadDescriptor('keypad'));
    const clock = new FakeClock();
    const driver = makeDriver(backend, clock, { match: [{ vendorId: 0x1234 }] });
    const seen = record(driver);
    await driver.open();
    clock.advance(1000);
    await driver.rescan();
    expect(seen).toEqual(['attached /dev/hidraw1']);
    expect(backend.descriptorReads).toHaveLength(2);
    const keypad = backend.lastHandle();
    keypad.report('01 06 00');
    await driver.setLeds('/dev/hidraw1', { ring: true });
    expect(seen.slice(1)).toEqual(['/dev/hidraw1 off-hook', '/dev/hidraw1 key 5']);
    expect(keypad.writes).toEqual(['00 02']);
  });

  it('reports a malformed descriptor as a typed deviceError (retried on replug: watcher.test.ts)', async () => {
    const backend = new FakeBackend();
    backend.plug(SPEAKERPHONE, hex('05 0B 09 05 A1 01 09 20 75 01 95 01 81 02'));
    const driver = makeDriver(backend, new FakeClock());
    const errors: unknown[] = [];
    driver.on('deviceError', (e) => errors.push(e.error));
    const seen = record(driver);
    await driver.open();
    expect(seen).toEqual(['error /dev/hidraw3 DRIVER_INVALID_ARGUMENT']);
    expect(errors[0]).toMatchObject({ reason: 'unbalanced-collection' });
    expect(errors[0]).toBeInstanceOf(HidDescriptorError);
  });

  it('drives the usage-page reading it is given; the other reading leaves the device alone without failing', async () => {
    // Usage Page (Button), Usage 0x20, Usage Page (Telephony), Input: a hook switch under the Main-item rule only
    const ambiguous = hex('05 0B 09 05 A1 01 05 09 09 20 05 0B 15 00 25 01 75 01 95 01 81 02 75 07 81 03 C0');
    const outcomes: string[][] = [];
    for (const usagePageRule of ['main', 'local'] as const) {
      const backend = new FakeBackend();
      backend.plug(SPEAKERPHONE, ambiguous);
      const driver = makeDriver(backend, new FakeClock(), { usagePageRule });
      const seen = record(driver);
      await driver.open();
      for (const handle of backend.handles) handle.report('01');
      await driver.rescan();
      outcomes.push(seen);
    }
    expect(outcomes).toEqual([['attached /dev/hidraw3', '/dev/hidraw3 off-hook'], []]);
  });

  it('feeds the reference descriptor under both readings to the driver with the same events', async () => {
    const outcomes: string[][] = [];
    for (const usagePageRule of ['main', 'local'] as const) {
      const backend = new FakeBackend();
      backend.plug(SPEAKERPHONE, loadDescriptor('speakerphone'));
      const driver = makeDriver(backend, new FakeClock(), { usagePageRule });
      const seen = record(driver);
      await driver.open();
      for (const r of ['02 01 07', '02 41 05', '02 45 05', '02 00 07']) backend.lastHandle().report(r);
      outcomes.push(seen);
    }
    expect(outcomes[0]).toEqual(['attached /dev/hidraw3', '/dev/hidraw3 off-hook', '/dev/hidraw3 key 5', '/dev/hidraw3 button mute', '/dev/hidraw3 on-hook']);
    expect(outcomes[1]).toEqual(outcomes[0]);
  });

  it('fails open with DRIVER_OPEN_FAILED when the device list cannot be read (list failures in depth: watcher.test.ts)', async () => {
    const backend = new FakeBackend();
    backend.failList = true;
    const opening = makeDriver(backend, new FakeClock()).open();
    await expect(opening).rejects.toBeInstanceOf(DriverError);
    await expect(opening).rejects.toMatchObject({ code: 'DRIVER_OPEN_FAILED' });
  });

  it('close() stops polling, closes devices and reports them detached', async () => {
    const backend = new FakeBackend();
    backend.plug(SPEAKERPHONE, loadDescriptor('speakerphone'));
    const clock = new FakeClock();
    const driver = makeDriver(backend, clock);
    const seen = record(driver);
    await driver.open();
    expect(clock.pending).toBe(1);
    await driver.close();
    expect(clock.pending).toBe(0);
    expect(backend.lastHandle().closed).toBe(true);
    expect(driver.devices()).toEqual([]);
    backend.plug({ ...SPEAKERPHONE, path: '/dev/hidraw4' }, loadDescriptor('speakerphone'));
    clock.advance(5000);
    await driver.rescan();
    expect(seen).toEqual(['attached /dev/hidraw3', 'detached /dev/hidraw3']);
    expect(backend.handles).toHaveLength(1);
  });
});

describe('HidrawTelephony closed while it attaches', () => {
  it('closes a device whose attach finishes after close(), and starts no polling', async () => {
    const backend = new FakeBackend();
    backend.plug(SPEAKERPHONE, loadDescriptor('speakerphone'));
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let reading: () => void = () => undefined;
    const readStarted = new Promise<void>((resolve) => (reading = resolve));
    const read = backend.readReportDescriptor.bind(backend);
    backend.readReportDescriptor = async (path) => {
      reading();
      await gate;
      return read(path);
    };
    const clock = new FakeClock();
    const driver = makeDriver(backend, clock);
    const seen = record(driver);
    const opening = driver.open();
    await readStarted;
    const closing = driver.close();
    release();
    await opening;
    await closing;
    expect(seen).toEqual([]);
    expect(backend.handles.map((h) => h.closed)).toEqual([true]);
    expect(clock.pending).toBe(0);
    expect(driver.devices()).toEqual([]);
  });
});

describe('matchesHid', () => {
  it('requires every given property and lets an empty entry match anything', () => {
    const device: HidBackendDevice = { path: '/dev/hidraw0', vendorId: 1, productId: 2, usagePage: 0x0b };
    expect([{ vendorId: 1 }, { vendorId: 1, productId: 2 }, { usagePage: 0x0b }, {}].map((m) => matchesHid(device, m))).toEqual([true, true, true, true]);
    expect([{ vendorId: 2 }, { vendorId: 1, productId: 3 }, { usagePage: 0x0c }].map((m) => matchesHid(device, m))).toEqual([false, false, false]);
    expect(matchesHid({ ...device, usagePage: undefined }, { usagePage: 0x0b })).toBe(false);
  });
});

describe('NodeHidBackend.readReportDescriptor', () => {
  const root = mkdtempSync(join(tmpdir(), 'deskline-hidraw-'));
  afterEach(() => rmSync(join(root, 'hidraw3'), { recursive: true, force: true }));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  function sysfs(bytes: Uint8Array): void {
    mkdirSync(join(root, 'hidraw3', 'device'), { recursive: true });
    writeFileSync(join(root, 'hidraw3', 'device', 'report_descriptor'), bytes);
  }

  it('reads /sys/class/hidraw/<node>/device/report_descriptor for a device path', async () => {
    sysfs(loadDescriptor('speakerphone'));
    const bytes = await new NodeHidBackend(root).readReportDescriptor('/dev/hidraw3');
    expect(bytes).toEqual(loadDescriptor('speakerphone'));
    expect(parseReportDescriptor(bytes).reports).toHaveLength(2);
  });

  it('reads at most one byte past the limit, so an oversized descriptor is refused by the parser', async () => {
    sysfs(new Uint8Array(10000));
    const bytes = await new NodeHidBackend(root).readReportDescriptor('/dev/hidraw3');
    expect(bytes.length).toBe(4097);
    expect(() => parseReportDescriptor(bytes)).toThrow(HidDescriptorError);
  });

  it('refuses paths that are not hidraw nodes', async () => {
    await expect(new NodeHidBackend(root).readReportDescriptor('/dev/../etc/passwd')).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
    await expect(new NodeHidBackend(root).readReportDescriptor('/dev/hidraw3')).rejects.toThrow(/ENOENT/);
  });
});

// HidDeviceWatcher: the hot-plug mechanics the hidraw drivers (telephony, barcode scanner) share, tested once
// here with a plain probe; each driver's tests keep what it adds on top (its events, its per-device state).
import { afterEach, describe, expect, it } from '@jest/globals';
import { DriverError } from '../../../drivers/common/errors.js';
import { MAX_INPUT_BYTES, type HidBackendDevice } from '../../../drivers/hid/backend.js';
import { HidDescriptorError } from '../../../drivers/hid/descriptor.js';
import { HidDeviceWatcher } from '../../../drivers/hid/watcher.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeHidBackend } from '../../support/hid-backend.js';
import { hex, loadDescriptor } from './fixtures.js';

const SPEAKERPHONE: HidBackendDevice = { path: '/dev/hidraw3', vendorId: 0x1234, productId: 0x5678, usagePage: 0x0b, usage: 0x05, product: 'Desk Speakerphone' };
const DESCRIPTOR = loadDescriptor('speakerphone');

const watchers: Array<HidDeviceWatcher<unknown>> = [];
afterEach(async () => {
  for (const watcher of watchers.splice(0)) await watcher.close();
});

/** A watcher of usage page 0x0B whose probe accepts every device unless `refuse` says otherwise; `seen` records its callbacks. */
function watch(backend: FakeHidBackend, clock: FakeClock, refuse: (path: string) => boolean = () => false, onError: (error: DriverError) => void = () => {}) {
  const seen: string[] = [];
  const watcher = new HidDeviceWatcher<{ collections: number }>({
    match: [{ usagePage: 0x0b }],
    backend,
    timer: clock,
    pollIntervalMs: 1000,
    probe: (descriptor, _entries, path) => (refuse(path) ? null : { collections: descriptor.collections.length }),
    attached: (device) => seen.push(`attached ${device.path}`),
    report: (device, data) => seen.push(`${device.path} report ${data.length} bytes`),
    detached: (device) => seen.push(`detached ${device.path}`),
    error: (path, error) => {
      seen.push(`error ${path ?? '-'} ${error.code}`);
      onError(error);
    },
  });
  watchers.push(watcher as HidDeviceWatcher<unknown>);
  return { watcher, seen };
}

describe('HidDeviceWatcher', () => {
  it('fails open when the device list cannot be read, and reports a failing poll once per failure streak', async () => {
    const backend = new FakeHidBackend();
    backend.failList = true;
    const clock = new FakeClock();
    const { watcher, seen } = watch(backend, clock);
    const opening = watcher.open();
    await expect(opening).rejects.toBeInstanceOf(DriverError);
    await expect(opening).rejects.toMatchObject({ code: 'DRIVER_OPEN_FAILED' });
    expect(clock.pending).toBe(0);

    backend.failList = false;
    await watcher.open();
    backend.failList = true;
    await watcher.rescan();
    await watcher.rescan();
    backend.failList = false;
    backend.plug(SPEAKERPHONE, DESCRIPTOR);
    await watcher.rescan();
    expect(seen).toEqual(['error - DRIVER_IO', 'attached /dev/hidraw3']);
  });

  it('reports a malformed descriptor once, as the parser\'s typed error, and reads it again when the device comes back', async () => {
    const backend = new FakeHidBackend();
    backend.plug(SPEAKERPHONE, hex('05 0B 09 05 A1 01 09 20 75 01 95 01 81 02')); // End Collection missing
    const clock = new FakeClock();
    const errors: unknown[] = [];
    const { watcher, seen } = watch(backend, clock, () => false, (error) => errors.push(error));
    await watcher.open();
    clock.advance(1000);
    await watcher.rescan();
    expect(seen).toEqual(['error /dev/hidraw3 DRIVER_INVALID_ARGUMENT']);
    expect(errors[0]).toBeInstanceOf(HidDescriptorError);

    backend.unplug('/dev/hidraw3');
    await watcher.rescan();
    backend.plug(SPEAKERPHONE, DESCRIPTOR);
    await watcher.rescan();
    expect(seen).toEqual(['error /dev/hidraw3 DRIVER_INVALID_ARGUMENT', 'attached /dev/hidraw3']);
    expect(backend.descriptorReads).toEqual(['/dev/hidraw3', '/dev/hidraw3']);
  });

  it('reports a device that cannot be opened once, as DRIVER_OPEN_FAILED, and tries again when it comes back', async () => {
    const backend = new FakeHidBackend();
    backend.plug(SPEAKERPHONE, DESCRIPTOR);
    backend.failOpen = true;
    const clock = new FakeClock();
    const { watcher, seen } = watch(backend, clock);
    await watcher.open();
    await watcher.rescan();
    expect(seen).toEqual(['error /dev/hidraw3 DRIVER_OPEN_FAILED']);
    expect(watcher.devices()).toEqual([]);

    backend.failOpen = false;
    backend.unplug('/dev/hidraw3');
    await watcher.rescan();
    backend.plug(SPEAKERPHONE, DESCRIPTOR);
    await watcher.rescan();
    expect(seen).toEqual(['error /dev/hidraw3 DRIVER_OPEN_FAILED', 'attached /dev/hidraw3']);
  });

  it('leaves a device its probe refuses alone, silently, reading its descriptor once until it vanishes', async () => {
    const backend = new FakeHidBackend();
    backend.plug(SPEAKERPHONE, DESCRIPTOR);
    const clock = new FakeClock();
    let refusing = true;
    const { watcher, seen } = watch(backend, clock, () => refusing);
    await watcher.open();
    await watcher.rescan();
    expect(backend.descriptorReads).toEqual(['/dev/hidraw3']);
    expect(backend.handles).toEqual([]);

    refusing = false;
    backend.unplug('/dev/hidraw3');
    await watcher.rescan();
    backend.plug(SPEAKERPHONE, DESCRIPTOR);
    await watcher.rescan();
    expect(seen).toEqual(['attached /dev/hidraw3']);
    expect(watcher.get('/dev/hidraw3')?.state).toEqual({ collections: expect.any(Number) });
  });

  it('detaches on a read error and attaches a device still listed again on the next poll, with a new handle', async () => {
    const backend = new FakeHidBackend();
    backend.plug(SPEAKERPHONE, DESCRIPTOR);
    const clock = new FakeClock();
    const { watcher, seen } = watch(backend, clock);
    await watcher.open();
    const first = backend.lastHandle();
    first.emit('error', new Error('EIO'));
    first.report('02 01 07'); // late bytes from the dead handle go nowhere
    clock.advance(1000);
    await watcher.rescan();
    backend.lastHandle().report('02 01 07');
    expect(seen).toEqual(['attached /dev/hidraw3', 'detached /dev/hidraw3', 'attached /dev/hidraw3', '/dev/hidraw3 report 3 bytes']);
    expect(backend.handles.map((h) => h.closed)).toEqual([true, false]);
  });

  it(`drops input reports longer than MAX_INPUT_BYTES (${MAX_INPUT_BYTES}) before the driver sees them`, async () => {
    const backend = new FakeHidBackend();
    backend.plug(SPEAKERPHONE, DESCRIPTOR);
    const { watcher, seen } = watch(backend, new FakeClock());
    await watcher.open();
    backend.lastHandle().report(new Uint8Array(MAX_INPUT_BYTES + 1));
    backend.lastHandle().report(new Uint8Array(MAX_INPUT_BYTES));
    expect(seen).toEqual(['attached /dev/hidraw3', `/dev/hidraw3 report ${MAX_INPUT_BYTES} bytes`]);
  });
});

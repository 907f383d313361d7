// SerialPoleDisplay on @serialport/binding-mock (the serialport stream code is real, only the
// binding is mocked) with fake time for the poll and write timeout.

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { SerialPortMock } from 'serialport';
import { concatBytes } from '../../../drivers/common/bytes.js';
import { DriverError } from '../../../drivers/common/errors.js';
import { encodeInit, encodeScreen } from '../../../drivers/pole-display/commands.js';
import { PoleDisplayDecoder } from '../../../drivers/pole-display/decoder.js';
import { SerialPoleDisplay, matchesPort, type PortInfo, type SerialPoleDisplayOptions } from '../../../drivers/pole-display/serial.js';
import type { PoleDisplayEvents } from '../../../drivers/pole-display/types.js';
import { FakeClock } from '../../support/fake-clock.js';

// serialport's own copy of @serialport/binding-mock (importing the package again could load a second instance)
const MockBinding = SerialPortMock.binding;
type MockPortBinding = Awaited<ReturnType<typeof MockBinding.open>>;

const POLL = 500;
const FTDI = { vendorId: '0403', productId: '6001' };

/** Lets the mock binding's nextTicks and the stream's callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise((r) => setImmediate(r));
}

function screenOf(port: MockPortBinding): string[] {
  const d = new PoleDisplayDecoder({ columns: 20, rows: 2 });
  d.write(port.recording);
  return d.screen();
}

interface Rig {
  display: SerialPoleDisplay;
  clock: FakeClock;
  /** every port the driver opened, in order */
  opened: MockPortBinding[];
  events: string[];
  errors: Array<PoleDisplayEvents['deviceError']>;
  /** what list() returns */
  listed: PortInfo[];
  listFails: boolean;
  tick(): Promise<void>;
}

let rig: Rig | null = null;

function makeRig(options: Partial<SerialPoleDisplayOptions> = {}): Rig {
  const clock = new FakeClock();
  const opened: MockPortBinding[] = [];
  const binding = {
    ...MockBinding,
    async open(o: Parameters<typeof MockBinding.open>[0]) {
      const port = await MockBinding.open(o);
      opened.push(port);
      return port;
    },
  };
  const r: Rig = {
    clock,
    opened,
    events: [],
    errors: [],
    listed: [],
    listFails: false,
    display: null as unknown as SerialPoleDisplay,
    async tick() {
      clock.advance(POLL);
      await settle();
    },
  };
  r.display = new SerialPoleDisplay({
    baudRate: 9600,
    timer: clock,
    pollIntervalMs: POLL,
    binding,
    list: async () => {
      if (r.listFails) throw new Error('udevadm missing');
      return r.listed.map((p) => ({ ...p }));
    },
    ...(options.path === undefined ? { match: [{ vendorId: 0x0403, productId: 0x6001 }] } : {}),
    ...options,
  });
  r.display.on('connectionChanged', ({ connected, path }) => r.events.push(`${connected ? 'connected' : 'disconnected'} ${path}`));
  r.display.on('deviceError', (e) => {
    r.errors.push(e);
    r.events.push(`error ${e.path} ${e.error.code}`);
  });
  rig = r;
  return r;
}

function plug(path: string, ids: { vendorId?: string; productId?: string } = FTDI): PortInfo {
  MockBinding.createPort(path, { record: true, ...ids });
  const info = { path, manufacturer: 'FTDI', serialNumber: undefined, pnpId: undefined, locationId: undefined, ...ids };
  return info as PortInfo;
}

beforeEach(() => MockBinding.reset());
afterEach(async () => {
  await rig?.display.close();
  rig = null;
});

describe('SerialPoleDisplay (mock binding, fake time)', () => {
  it('finds the display by VID/PID, initialises it and shows text', async () => {
    const r = makeRig();
    r.listed = [plug('/dev/ttyACM0', { vendorId: '2341', productId: '0043' }), plug('/dev/ttyUSB0')];
    await r.display.open();
    expect(r.display.connected()).toBe(true);
    expect(r.display.path).toBe('/dev/ttyUSB0');
    expect(r.events).toEqual(['connected /dev/ttyUSB0']);
    expect(r.opened).toHaveLength(1);
    // init, then a blank screen (whatever was left on the display is overwritten)
    expect(Buffer.from(r.opened[0].recording)).toEqual(Buffer.from(concatBytes(encodeInit(), encodeScreen([], r.display))));

    await r.display.show(['TOTAL 36.00', 'THANK YOU']);
    expect(screenOf(r.opened[0])).toEqual(['TOTAL 36.00         ', 'THANK YOU           ']);
  });

  it('coalesces: texts shown while a write is in flight become one write of the newest', async () => {
    const r = makeRig();
    r.listed = [plug('/dev/ttyUSB0')];
    await r.display.open();
    const port = r.opened[0];
    const writes: Buffer[] = [];
    const write = port.write.bind(port);
    port.write = (b: Buffer) => {
      writes.push(Buffer.from(b));
      return write(b);
    };
    const shown = [1, 2, 3, 4, 5].map((n) => r.display.show([`ITEM ${n}`]));
    await Promise.all(shown);
    expect(writes.map((b) => b.toString('latin1').slice(4, 10))).toEqual(['ITEM 1', 'ITEM 5']);
    expect(screenOf(port)[0]).toBe('ITEM 5              ');
  });

  it('unplug (leaves the list): disconnected, show keeps the text; replug on another path re-shows it', async () => {
    const r = makeRig();
    r.listed = [plug('/dev/ttyUSB0')];
    await r.display.open();
    await r.display.show(['TOTAL 36.00']);

    r.listed = [];
    await r.tick();
    expect(r.display.connected()).toBe(false);
    expect(r.opened[0].isOpen).toBe(false);
    await expect(r.display.show(['TOTAL 40.00', 'CASH'])).resolves.toBeUndefined();

    await r.tick(); // still gone: nothing happens
    r.listed = [plug('/dev/ttyUSB1')];
    await r.tick();
    expect(r.display.connected()).toBe(true);
    expect(r.events).toEqual(['connected /dev/ttyUSB0', 'disconnected /dev/ttyUSB0', 'connected /dev/ttyUSB1']);
    expect(r.errors).toEqual([]);
    const fresh = r.opened[1];
    expect(Buffer.from(fresh.recording.subarray(0, encodeInit().length))).toEqual(Buffer.from(encodeInit()));
    expect(screenOf(fresh)).toEqual(['TOTAL 40.00         ', 'CASH                ']);
  });

  it('reports a failing path once until it works again, and a failing list once (path null)', async () => {
    const r = makeRig();
    // listed but not openable (e.g. permissions, or the node not created yet)
    r.listed = [{ path: '/dev/ttyUSB9', ...FTDI } as PortInfo];
    await r.display.open();
    await r.tick();
    await r.tick();
    expect(r.errors.map((e) => [e.path, e.error.code])).toEqual([['/dev/ttyUSB9', 'DRIVER_OPEN_FAILED']]);
    expect(r.errors[0].error).toBeInstanceOf(DriverError);

    plug('/dev/ttyUSB9');
    await r.tick();
    expect(r.display.connected()).toBe(true);

    r.listFails = true;
    await r.tick();
    await r.tick();
    expect(r.display.connected()).toBe(true); // a failed scan does not drop a working display
    r.listFails = false;
    await r.tick();
    r.listFails = true;
    await r.tick();
    expect(r.errors.map((e) => [e.path, e.error.code])).toEqual([
      ['/dev/ttyUSB9', 'DRIVER_OPEN_FAILED'],
      [null, 'DRIVER_IO'],
      [null, 'DRIVER_IO'],
    ]);
  });

  it('a write error drops the connection; the next poll reopens, initialises and re-shows', async () => {
    const r = makeRig();
    r.listed = [plug('/dev/ttyUSB0')];
    await r.display.open();
    r.opened[0].write = async () => {
      throw new Error('EIO');
    };
    await expect(r.display.show(['AFTER THE ERROR'])).resolves.toBeUndefined();
    await settle();
    expect(r.display.connected()).toBe(false);
    await r.tick();
    expect(r.display.connected()).toBe(true);
    expect(r.opened).toHaveLength(2);
    expect(screenOf(r.opened[1])[0]).toBe('AFTER THE ERROR     ');
    expect(r.events.filter((e) => !e.startsWith('error'))).toEqual(['connected /dev/ttyUSB0', 'disconnected /dev/ttyUSB0', 'connected /dev/ttyUSB0']);
  });

  it('a write that never completes times out (DRIVER_TIMEOUT) and counts as a dead device', async () => {
    const r = makeRig({ writeTimeoutMs: 300 });
    r.listed = [plug('/dev/ttyUSB0')];
    await r.display.open();
    r.opened[0].write = () => new Promise<void>(() => undefined);
    const shown = r.display.show(['STUCK']);
    await settle();
    r.clock.advance(300);
    await expect(shown).resolves.toBeUndefined();
    expect(r.display.connected()).toBe(false);
    expect(r.errors.map((e) => e.error.code)).toEqual(['DRIVER_TIMEOUT']);
  });

  it('by path: retries on the poll until the device exists, reports it once', async () => {
    const r = makeRig({ path: '/dev/ttyS1' });
    await r.display.open();
    await r.display.show(['HELLO']);
    await r.tick();
    expect(r.display.connected()).toBe(false);
    expect(r.events).toEqual(['error /dev/ttyS1 DRIVER_OPEN_FAILED']);
    plug('/dev/ttyS1');
    await r.tick();
    expect(r.events).toEqual(['error /dev/ttyS1 DRIVER_OPEN_FAILED', 'connected /dev/ttyS1']);
    expect(screenOf(r.opened[0])[0]).toBe('HELLO               ');
  });

  it('close stops the poll and closes the port', async () => {
    const r = makeRig();
    r.listed = [plug('/dev/ttyUSB0')];
    await r.display.open();
    await r.display.close();
    expect(r.clock.pending).toBe(0);
    expect(r.opened[0].isOpen).toBe(false);
    expect(r.display.connected()).toBe(false);
    expect(r.events).toEqual(['connected /dev/ttyUSB0', 'disconnected /dev/ttyUSB0']);
    await expect(r.display.show(['x'])).resolves.toBeUndefined();
  });

  it('validates its options', () => {
    const base = { baudRate: 9600, timer: new FakeClock() };
    expect(() => new SerialPoleDisplay(base)).toThrow(/exactly one/);
    expect(() => new SerialPoleDisplay({ ...base, path: '/dev/x', match: [{}] })).toThrow(DriverError);
    expect(() => new SerialPoleDisplay({ ...base, match: [] })).toThrow(/empty/);
    expect(() => new SerialPoleDisplay({ ...base, path: '/dev/x', columns: 41 })).toThrow(/columns/);
    expect(() => new SerialPoleDisplay({ ...base, path: '/dev/x', brightness: 0 as 1 })).toThrow(/brightness/);
    expect(() => new SerialPoleDisplay({ ...base, path: '/dev/x', baudRate: 0 })).toThrow(/baud/);
  });

  it('matches USB IDs given as hex strings in any case, and never ports without IDs', () => {
    const port = (vendorId?: string, productId?: string) => ({ path: '/dev/x', manufacturer: undefined, serialNumber: undefined, pnpId: undefined, locationId: undefined, vendorId, productId }) as PortInfo;
    expect(matchesPort(port('0403', '6001'), { vendorId: 0x0403, productId: 0x6001 })).toBe(true);
    expect(matchesPort(port('0403', '6001'), { vendorId: 0x0403 })).toBe(true);
    expect(matchesPort(port('067B', '2303'), { vendorId: 0x067b, productId: 0x2303 })).toBe(true);
    expect(matchesPort(port('0403', '6015'), { vendorId: 0x0403, productId: 0x6001 })).toBe(false);
    expect(matchesPort(port(undefined, undefined), { vendorId: 0x0403 })).toBe(false);
    expect(matchesPort(port('zz', '6001'), { vendorId: 0x0403 })).toBe(false);
    expect(matchesPort(port(undefined, undefined), {})).toBe(true);
  });
});

// SerialPoleDisplay on one end of a socat pty pair (through serialport, the real UART code path);
// the test reads the other end, decodes the Epson commands with PoleDisplayDecoder and checks what
// the display would show. Unplug = the socat pair is stopped (by PID); replug = a new pair.
// serialport cannot run on fake time, so these use real timers with short poll intervals.

import { afterAll, describe, expect, it } from '@jest/globals';
import { rename, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { SerialPort } from 'serialport';
import { fitLines } from '../../drivers/pole-display/commands.js';
import { PoleDisplayDecoder } from '../../drivers/pole-display/decoder.js';
import { SerialPoleDisplay, systemPoleDisplayTimer, type PortInfo } from '../../drivers/pole-display/serial.js';
import { SimPoleDisplay } from '../../drivers/pole-display/sim.js';
import type { PoleDisplayDriver, PoleDisplayEvents } from '../../drivers/pole-display/types.js';
import { startSocatPtyPair, type SocatPtyPair } from '../support/peers/socat.js';
import { makeTempDir, pidExists, stopAllPeers } from '../support/process.js';
import { closePort, openPort } from '../support/serial.js';
import { waitFor } from '../support/wait.js';

afterAll(stopAllPeers);

const POLL_MS = 50;
const GEOMETRY = { columns: 20, rows: 2 };

/** The far end of a pty pair, standing for the display: decodes what arrives. */
interface FarEnd {
  pair: SocatPtyPair;
  port: SerialPort;
  decoder: PoleDisplayDecoder;
  /** when the last byte arrived (ms, Date.now) */
  lastData: number;
}

async function plugDisplay(): Promise<FarEnd> {
  const pair = await startSocatPtyPair();
  const port = await openPort(pair.b, 9600);
  const end: FarEnd = { pair, port, decoder: new PoleDisplayDecoder(GEOMETRY), lastData: Date.now() };
  port.on('data', (chunk: Buffer) => {
    end.decoder.write(chunk);
    end.lastData = Date.now();
  });
  port.on('error', () => undefined); // the pty goes away when the pair is stopped
  return end;
}

/** Pulls the plug: socat stopped by PID, both pty nodes gone. */
async function unplugDisplay(end: FarEnd): Promise<void> {
  await closePort(end.port);
  await end.pair.stop();
  expect(pidExists(end.pair.pid)).toBe(false);
}

async function waitScreen(end: FarEnd, lines: string[], what: string): Promise<void> {
  const want = fitLines(lines, GEOMETRY);
  await waitFor(() => JSON.stringify(end.decoder.screen()) === JSON.stringify(want), `${what}: ${JSON.stringify(want)}`, 5000).catch((error: Error) => {
    throw new Error(`${error.message}; the screen shows ${JSON.stringify(end.decoder.screen())}`);
  });
}

function record(driver: PoleDisplayDriver): { events: string[]; errors: Array<PoleDisplayEvents['deviceError']> } {
  const events: string[] = [];
  const errors: Array<PoleDisplayEvents['deviceError']> = [];
  driver.on('connectionChanged', ({ connected, path }) => events.push(`${connected ? 'connected' : 'disconnected'} ${path}`));
  driver.on('deviceError', (e) => errors.push(e));
  return { events, errors };
}

describe('SerialPoleDisplay over a socat pty pair', () => {
  it('by path: shows text, survives unplug (show still resolves), re-shows the last text on replug', async () => {
    // a stable device name, like a udev symlink (/dev/pole-display), re-pointed at the new pty on replug
    const dir = await makeTempDir('pole');
    const link = join(dir, 'pole-display');
    let end = await plugDisplay();
    await symlink(end.pair.a, link);
    const display = new SerialPoleDisplay({ path: link, baudRate: 9600, timer: systemPoleDisplayTimer, pollIntervalMs: POLL_MS });
    const { events, errors } = record(display);
    try {
      await display.open();
      expect(display.connected()).toBe(true);
      expect(events).toEqual([`connected ${link}`]);
      await display.show(['TOTAL 36.00', 'THANK YOU']);
      await waitScreen(end, ['TOTAL 36.00', 'THANK YOU'], 'the first text');
      expect(end.decoder.stats).toMatchObject({ initializations: 1, skipped: 0 });
      expect(end.decoder.cursorVisible).toBe(false);

      await unplugDisplay(end);
      await waitFor(() => !display.connected(), 'connectionChanged false after the unplug', 5000);
      expect(events).toEqual([`connected ${link}`, `disconnected ${link}`]);
      await expect(display.show(['TOTAL 12.50', 'Café £ 王'])).resolves.toBeUndefined();
      await waitFor(() => errors.length > 0, 'a failed reopen attempt', 5000);
      await new Promise((r) => setTimeout(r, 4 * POLL_MS)); // more failed attempts: reported once
      expect(errors.map((e) => [e.path, e.error.code])).toEqual([[link, 'DRIVER_OPEN_FAILED']]);

      end = await plugDisplay();
      await symlink(end.pair.a, `${link}.new`);
      await rename(`${link}.new`, link); // atomic re-point, as udev does
      await waitFor(() => display.connected(), 'connectionChanged true after the replug', 5000);
      await waitScreen(end, ['TOTAL 12.50', 'Café £ ?'], 'the last text on the new pty');
      expect(events).toEqual([`connected ${link}`, `disconnected ${link}`, `connected ${link}`]);
    } finally {
      await display.close();
      await unplugDisplay(end);
    }
  });

  it('by VID/PID: finds the port in list(), follows it through unplug and replug on another path', async () => {
    let end = await plugDisplay();
    let listed: PortInfo[] = [];
    const ftdi = (path: string) => ({ path, manufacturer: 'FTDI', serialNumber: 'A10K', pnpId: undefined, locationId: undefined, vendorId: '0403', productId: '6001' }) as PortInfo;
    const other = { ...ftdi('/dev/ttyACM7'), vendorId: '2341', productId: '0043' } as PortInfo; // an Arduino: never opened
    listed = [other, ftdi(end.pair.a)];
    let listCalls = 0;
    const display = new SerialPoleDisplay({
      match: [{ vendorId: 0x0403, productId: 0x6001 }],
      baudRate: 9600,
      timer: systemPoleDisplayTimer,
      pollIntervalMs: POLL_MS,
      list: async () => {
        listCalls++;
        return listed;
      },
    });
    const { events, errors } = record(display);
    const firstPath = end.pair.a;
    try {
      await display.open();
      expect(events).toEqual([`connected ${firstPath}`]);
      await display.show(['TOTAL 36.00']);
      await waitScreen(end, ['TOTAL 36.00'], 'the first text');

      // unplugged: the adapter leaves the list and its pty goes away
      listed = [other];
      await unplugDisplay(end);
      await waitFor(() => !display.connected(), 'connectionChanged false after the unplug', 5000);
      await expect(display.show(['PAID', 'CHANGE 4.00'])).resolves.toBeUndefined();
      await display.show(['PAID  36.00', 'CHANGE 4.00']); // the last text is the one that counts
      const calls = listCalls;
      await waitFor(() => listCalls >= calls + 3, 'a few polls while unplugged', 5000);
      expect(display.connected()).toBe(false);

      // replugged: a new pty (another path), listed again
      end = await plugDisplay();
      expect(end.pair.a).not.toBe(firstPath);
      listed = [other, ftdi(end.pair.a)];
      await waitFor(() => display.connected(), 'connectionChanged true after the replug', 5000);
      await waitScreen(end, ['PAID  36.00', 'CHANGE 4.00'], 'the last text on the new pty');
      expect(end.decoder.stats.initializations).toBe(1);
      expect(events).toEqual([`connected ${firstPath}`, `disconnected ${firstPath}`, `connected ${end.pair.a}`]);
      // the adapter went away cleanly: nothing failed to open or write
      expect(errors.filter((e) => e.error.code === 'DRIVER_OPEN_FAILED')).toEqual([]);
    } finally {
      await display.close();
      await unplugDisplay(end);
    }
  });
});

// ---- contract: the same expectations for the simulated and the serial display ---------------

interface Harness {
  driver: PoleDisplayDriver;
  /** what the display shows once the bytes sent so far have arrived */
  screen(): Promise<string[]>;
  unplug(): Promise<void>;
  replug(): Promise<void>;
  stop(): Promise<void>;
}

const harnesses: Array<[string, () => Promise<Harness>]> = [
  [
    'SimPoleDisplay',
    async () => {
      const sim = new SimPoleDisplay(GEOMETRY);
      return {
        driver: sim,
        screen: async () => sim.screen(),
        unplug: async () => sim.setConnected(false),
        replug: async () => sim.setConnected(true),
        stop: () => sim.close(),
      };
    },
  ],
  [
    'SerialPoleDisplay on a pty',
    async () => {
      const end = await plugDisplay();
      let listed: PortInfo[] = [{ path: end.pair.a, vendorId: '0403', productId: '6001' } as PortInfo];
      const info = listed[0];
      const driver = new SerialPoleDisplay({ match: [{ vendorId: 0x0403 }], baudRate: 9600, timer: systemPoleDisplayTimer, pollIntervalMs: POLL_MS, list: async () => listed });
      return {
        driver,
        screen: async () => {
          // show() resolves once the bytes are drained into the pty; give them time to cross socat
          const since = Date.now();
          await waitFor(() => Date.now() - Math.max(since, end.lastData) > 100, 'the pty to go quiet');
          return end.decoder.screen();
        },
        unplug: async () => {
          listed = [];
          await waitFor(() => !driver.connected(), 'the driver to notice the unplug', 5000);
        },
        replug: async () => {
          listed = [info];
          await waitFor(() => driver.connected(), 'the driver to notice the replug', 5000);
        },
        stop: async () => {
          await driver.close();
          await unplugDisplay(end);
        },
      };
    },
  ],
];

describe.each(harnesses)('PoleDisplayDriver contract: %s', (_name, make) => {
  const withHarness = (fn: (h: Harness) => Promise<void>) => async () => {
    const h = await make();
    try {
      await fn(h);
    } finally {
      await h.stop();
    }
  };

  it(
    'opens connected, 2 x 20, and shows whole lines cut, padded and made printable',
    withHarness(async (h) => {
      const events: boolean[] = [];
      h.driver.on('connectionChanged', ({ connected }) => events.push(connected));
      expect([h.driver.columns, h.driver.rows]).toEqual([20, 2]);
      await h.driver.open();
      expect(h.driver.connected()).toBe(true);
      expect(events).toEqual([true]);
      expect(await h.screen()).toEqual(['                    ', '                    ']);
      await h.driver.show(['Wang Li 王丽 £12.00 and more', 'é']);
      expect(await h.screen()).toEqual(['Wang Li ?? £12.00 an', 'é                   ']);
      await h.driver.show(['ONLY ONE LINE\x1b@\x0c']);
      expect(await h.screen()).toEqual(['ONLY ONE LINE?@?    ', '                    ']); // ESC @ CLR stay text
    }),
  );

  it(
    'keeps the text while unplugged and shows the last one again on replug',
    withHarness(async (h) => {
      const events: boolean[] = [];
      h.driver.on('connectionChanged', ({ connected }) => events.push(connected));
      await h.driver.open();
      await h.driver.show(['BEFORE']);
      await h.unplug();
      expect(h.driver.connected()).toBe(false);
      await expect(h.driver.show(['WHILE UNPLUGGED'])).resolves.toBeUndefined();
      await expect(h.driver.show(['LAST', 'TEXT'])).resolves.toBeUndefined();
      await h.replug();
      expect(await h.screen()).toEqual(['LAST                ', 'TEXT                ']);
      expect(events).toEqual([true, false, true]);
    }),
  );

  it(
    'close reports the display gone; show after close still resolves',
    withHarness(async (h) => {
      const events: boolean[] = [];
      h.driver.on('connectionChanged', ({ connected }) => events.push(connected));
      await h.driver.open();
      await h.driver.close();
      expect(h.driver.connected()).toBe(false);
      expect(events).toEqual([true, false]);
      await expect(h.driver.show(['AFTER CLOSE'])).resolves.toBeUndefined();
    }),
  );
});

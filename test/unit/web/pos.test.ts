import { afterEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { SimMcu } from '../../../drivers/mcu/sim.js';
import { SimPoleDisplay } from '../../../drivers/pole-display/sim.js';
import { SimBarcodeScanner, VIRTUAL_SCANNER } from '../../../drivers/scanner/sim.js';
import type { BarcodeScannerEvents } from '../../../drivers/scanner/types.js';
import { loadBoard } from '../../../src/board/board.js';
import { validateConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { EventBus } from '../../../src/core/bus.js';
import type { BusEvents } from '../../../src/core/events.js';
import { projectRoot } from '../../../src/core/paths.js';
import { MAX_POLE_COLUMNS, MAX_POLE_ROWS, poleMessage } from '../../../src/web/pos.js';
import { WebService } from '../../../src/web/service.js';
import { captureLogger } from '../../support/log.js';
import { connect, settle } from './sim-page.js';

/** The virtual phone's scanner box and pole display box, through the web service's /sim channel. */

const services: WebService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
});

async function start(peripherals: boolean) {
  const { log } = captureLogger();
  const config = validateConfig({ web: { port: 0 } }).config as Config;
  // as the sim board's drivers come: the virtual scanner plugged in
  const scanner = new SimBarcodeScanner();
  scanner.attach(VIRTUAL_SCANNER);
  const poleDisplay = new SimPoleDisplay();
  await poleDisplay.open();
  const web = new WebService({
    log, config: () => config, bus: new EventBus<BusEvents>(log), board: await loadBoard('sim'),
    sim: { mcu: new SimMcu({ displayWidth: 240, displayHeight: 128 }), line: null, exchange: null, ...(peripherals ? { scanner, poleDisplay } : {}) },
    publicDir: join(projectRoot(), 'src', 'web', 'public'),
  });
  await web.start();
  services.push(web);
  return { web, scanner, poleDisplay, url: web.url! };
}

const blank = ' '.repeat(20);

describe('the virtual phone\'s point-of-sale boxes', () => {
  it("a scan from the page is a scan of the sim board's virtual scanner; unplugged, the page is told so", async () => {
    const { scanner, url } = await start(true);
    const scans: Array<BarcodeScannerEvents['barcodeScanned']> = [];
    scanner.on('barcodeScanned', (scan) => void scans.push(scan));
    const { ws, messages } = await connect(url);
    expect(messages[0]).toMatchObject({ type: 'hello', pos: { scanner: true, poleDisplay: { columns: 20, rows: 2 } } });
    ws.send(JSON.stringify({ type: 'scan', code: '6901234567892' }));
    ws.send(JSON.stringify({ type: 'scan', code: 'x'.repeat(257) }));
    ws.send(JSON.stringify({ type: 'scan', code: '' }));
    await settle();
    ws.close();
    expect(scans).toEqual([{ deviceId: 'sim-scanner', code: '6901234567892' }]);
    expect(messages.filter((m) => m.type === 'error').map((m) => m.message)).toEqual([
      'barcode: 1 to 256 printable ASCII characters', 'barcode: 1 to 256 printable ASCII characters',
    ]);

    scanner.detach(VIRTUAL_SCANNER.id);
    const again = await connect(url);
    again.ws.send(JSON.stringify({ type: 'scan', code: '6901234567892' }));
    await settle();
    again.ws.close();
    expect(scans).toHaveLength(1);
    expect(again.messages.filter((m) => m.type === 'error').map((m) => m.message)).toEqual([expect.stringMatching(/^scan failed: no scanner 'sim-scanner'/)]);
  });

  it('sends what the pole display shows on connect and on every change, and when it is unplugged', async () => {
    const { poleDisplay, url } = await start(true);
    await poleDisplay.show(['Welcome', 'Garden Shop']);
    const { ws, messages } = await connect(url);
    await settle();
    expect(messages.filter((m) => m.type === 'pole')).toEqual([{ type: 'pole', rows: ['Welcome             ', 'Garden Shop         '], connected: true }]);
    await poleDisplay.show(['1x Noodles     18.00', 'TOTAL          18.00']);
    await poleDisplay.show(['1x Noodles     18.00', 'TOTAL          18.00']); // the same text: no message
    poleDisplay.setConnected(false);
    await settle();
    ws.close();
    expect(messages.filter((m) => m.type === 'pole').slice(1)).toEqual([
      { type: 'pole', rows: ['1x Noodles     18.00', 'TOTAL          18.00'], connected: true },
      // unplugged: dark, and it says so
      { type: 'pole', rows: [blank, blank], connected: false },
    ]);
  });

  it('without a scanner and a pole display: no boxes, and a scan is refused with a reason', async () => {
    const { url } = await start(false);
    const { ws, messages } = await connect(url);
    ws.send(JSON.stringify({ type: 'scan', code: '123' }));
    await settle();
    ws.close();
    expect(messages[0]).toMatchObject({ type: 'hello', pos: { scanner: false, poleDisplay: null } });
    expect(messages.some((m) => m.type === 'pole')).toBe(false);
    expect(messages.filter((m) => m.type === 'error').map((m) => m.message)).toEqual(['this board has no barcode scanner (board file: scanner)']);
  });

  it('bounds the pole message: at most 4 rows of at most 40 characters', () => {
    const message = poleMessage(Array.from({ length: 9 }, () => 'y'.repeat(100)), true);
    expect(message.rows).toHaveLength(MAX_POLE_ROWS);
    expect(message.rows.every((row) => row.length === MAX_POLE_COLUMNS)).toBe(true);
    expect(poleMessage(['TOTAL 9.50', 'Thank you!'], true)).toEqual({ type: 'pole', rows: ['TOTAL 9.50', 'Thank you!'], connected: true });
  });
});

import { describe, expect, it } from '@jest/globals';
import { SimPoleDisplay } from '../../../drivers/pole-display/sim.js';
import { SimBarcodeScanner } from '../../../drivers/scanner/sim.js';
import { validateConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { EventBus } from '../../../src/core/bus.js';
import type { BusEvents } from '../../../src/core/events.js';
import { draftScreen, poleLine, PosService, THANKS_MS } from '../../../src/pos/service.js';
import { FakeClock } from '../../support/fake-clock.js';
import { captureLogger } from '../../support/log.js';

async function rig(before: (drivers: { scanner: SimBarcodeScanner }) => void = () => {}, scanner = new SimBarcodeScanner()) {
  const config = validateConfig({ device: { name: 'Desk 1' }, orders: { currency: 'CNY', shop: { name: 'Wang Noodles' } } }).config as Config;
  const { log, lines } = captureLogger('debug');
  const bus = new EventBus<BusEvents>(log);
  const clock = new FakeClock();
  const poleDisplay = new SimPoleDisplay();
  before({ scanner });
  const service = new PosService({ bus, clock, log, config: () => config, scanner, poleDisplay });
  const scans: Array<BusEvents['barcodeScanned']> = [];
  const peripherals: Array<BusEvents['peripheralChanged']> = [];
  bus.on('test', 'barcodeScanned', (e) => void scans.push(e));
  bus.on('test', 'peripheralChanged', (e) => void peripherals.push(e));
  await service.start();
  // the sim display's writes are promises: let them land
  const screen = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    return poleDisplay.screen().map((row) => row.trimEnd());
  };
  return { bus, clock, scanner, poleDisplay, service, scans, peripherals, screen, lines };
}

/** a row of the 20-column display: text left, amount right */
const row = (left: string, right: string) => left.padEnd(20 - right.length) + right;

const draft = (lines: Array<{ name: string; qty: number; amount: number }>, phase = 'entry') => ({
  draft: { customer: 'Wang Li', lines, total: lines.reduce((sum, l) => sum + l.amount, 0), currency: 'CNY', phase },
});

describe('point-of-sale peripherals', () => {
  it('puts scans on the bus and says when a scanner comes and goes; a rejected scan is only logged', async () => {
    const { scanner, scans, peripherals, lines, service } = await rig();
    scanner.attach({ id: '/dev/hidraw4', vendorId: 0x0c2e, productId: 0x0b61, product: 'Honeywell 1470g' });
    scanner.scan('/dev/hidraw4', '6901234567892');
    scanner.scan('/dev/hidraw4', 'x'.repeat(300));
    scanner.detach('/dev/hidraw4');
    expect(scans).toEqual([{ deviceId: '/dev/hidraw4', code: '6901234567892' }]);
    expect(peripherals.filter((p) => p.kind === 'scanner')).toEqual([
      { kind: 'scanner', id: '/dev/hidraw4', attached: true, product: 'Honeywell 1470g' },
      { kind: 'scanner', id: '/dev/hidraw4', attached: false, product: null },
    ]);
    expect(lines().some((l) => /scan dropped: too-long/.test(String(l.msg)))).toBe(true);
    await service.stop();
  });

  it('announces a scanner that was plugged in before it started', async () => {
    const { peripherals, service } = await rig(({ scanner }) => scanner.attach({ id: 'sim-scanner', vendorId: 0, productId: 0, product: 'Virtual scanner' }));
    expect(peripherals.filter((p) => p.kind === 'scanner')).toEqual([{ kind: 'scanner', id: 'sim-scanner', attached: true, product: 'Virtual scanner' }]);
    await service.stop();
  });

  it('keeps the pole display working when the scanners cannot be listed', async () => {
    const broken = new SimBarcodeScanner();
    broken.open = () => Promise.reject(new Error('hid list failed: no udev'));
    const { screen, lines, service } = await rig(undefined, broken);
    expect(await screen()).toEqual(['Welcome', 'Wang Noodles']);
    expect(lines().some((l) => /barcode scanners unavailable: hid list failed/.test(String(l.msg)))).toBe(true);
    await service.stop();
  });

  it("the pole display welcomes, follows the order on the phone, shows the total and thanks, then welcomes again", async () => {
    const { bus, clock, screen, service } = await rig();
    expect(await screen()).toEqual(['Welcome', 'Wang Noodles']);
    bus.emit('orderDraftChanged', draft([]));
    expect(await screen()).toEqual(['Your order', row('TOTAL', '0.00')]);
    bus.emit('orderDraftChanged', draft([{ name: 'Noodles', qty: 2, amount: 3600 }]));
    expect(await screen()).toEqual([row('2x Noodles', '36.00'), row('TOTAL', '36.00')]);
    bus.emit('orderDraftChanged', draft([{ name: 'Noodles', qty: 2, amount: 3600 }, { name: 'Soup', qty: 1, amount: 650 }], 'review'));
    expect(await screen()).toEqual([row('1x Soup', '6.50'), row('TOTAL', '42.50')]);
    bus.emit('orderDraftChanged', draft([{ name: 'Noodles', qty: 2, amount: 3600 }, { name: 'Soup', qty: 1, amount: 650 }], 'sending'));
    bus.emit('orderPlaced', {
      orderId: 'o-1', recordId: '1', at: null, number: null, contactId: null, callId: null, items: [], total: 4250, currency: 'CNY', note: null, summary: '',
    });
    expect(await screen()).toEqual([row('TOTAL', '42.50'), 'Thank you!']);
    // the clerk closes the result: the thanks stay their time
    bus.emit('orderDraftChanged', { draft: null });
    expect(await screen()).toEqual([row('TOTAL', '42.50'), 'Thank you!']);
    clock.advance(THANKS_MS);
    expect(await screen()).toEqual(['Welcome', 'Wang Noodles']);
    // an order dropped on the phone goes straight back to the welcome
    bus.emit('orderDraftChanged', draft([{ name: 'Tea', qty: 1, amount: 1 }]));
    bus.emit('orderDraftChanged', { draft: null });
    expect(await screen()).toEqual(['Welcome', 'Wang Noodles']);
    await service.stop();
  });

  it('goes back to the welcome when an order started during the thanks is dropped', async () => {
    const { bus, clock, screen, service } = await rig();
    bus.emit('orderPlaced', {
      orderId: 'o-1', recordId: '1', at: null, number: null, contactId: null, callId: null, items: [], total: 1800, currency: 'CNY', note: null, summary: '',
    });
    clock.advance(THANKS_MS / 2);
    bus.emit('orderDraftChanged', draft([{ name: 'Tea', qty: 1, amount: 300 }]));
    expect(await screen()).toEqual([row('1x Tea', '3.00'), row('TOTAL', '3.00')]);
    bus.emit('orderDraftChanged', { draft: null });
    expect(await screen()).toEqual(['Welcome', 'Wang Noodles']);
    clock.advance(THANKS_MS);
    expect(await screen()).toEqual(['Welcome', 'Wang Noodles']);
    await service.stop();
  });

  it('keeps the text while the display is unplugged and shows it again when it is back', async () => {
    const { bus, poleDisplay, screen, peripherals, service } = await rig();
    poleDisplay.setConnected(false);
    bus.emit('orderDraftChanged', draft([{ name: 'Noodles', qty: 1, amount: 1800 }]));
    poleDisplay.setConnected(true);
    expect(await screen()).toEqual([row('1x Noodles', '18.00'), row('TOTAL', '18.00')]);
    expect(peripherals.map((p) => [p.kind, p.attached])).toEqual([['pole-display', true], ['pole-display', false], ['pole-display', true]]);
    await service.stop();
  });

  it('fits a line to the display: the amount stays whole, a long name is cut', () => {
    expect(poleLine('3x Beef noodles with extra', '123.00', 20)).toBe('3x Beef noodl 123.00');
    expect(poleLine('TOTAL', '1234567890123456789012', 20)).toBe('34567890123456789012');
    expect(draftScreen({ customer: null, lines: [{ name: 'Tea', qty: 1, amount: 1 }], total: 1, currency: 'CNY', phase: 'entry' }, 20, 1)).toEqual([row('TOTAL', '0.01')]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { PhoneKey } from '../../drivers/mcu/types.js';
import { type App } from '../../src/app/app.js';
import type { BusEvents } from '../../src/core/events.js';
import { silentLogger } from '../../src/core/log.js';
import { loadUnifont, type BitmapFont } from '../../src/display/font.js';
import { findText } from '../support/display-text.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor } from '../support/wait.js';
import { startShopApp } from '../support/shop.js';

/**
 * Done-when of issue #7 item 7, end to end on the sim board: a call from a known customer rings with the screen pop,
 * is answered, the order is typed on the keypad, PRINT files it and the virtual printer prints the delivery slip
 * with the customer's name, address and map QR; the next call from that number pops with the last order.
 */
const ADDRESS = '12 Garden Rd, Springfield';
const NUMBER = '2125550177';
let app: App;
let font: BitmapFont;
const placed: Array<BusEvents['orderPlaced']> = [];

beforeAll(async () => {
  font = await loadUnifont();
  app = await startShopApp({ prefix: 'orders-e2e-', webPort: 0, log: silentLogger(), clock: new FakeClock() });
  app.bus.on('test', 'orderPlaced', (event) => void placed.push(event));
}, 30_000);

afterAll(async () => {
  await app?.stop();
});

const shows = async (text: string) => {
  await app.phone.settled();
  return findText(app.sim!.mcu.display, font, text) !== null;
};
const press = (...keys: PhoneKey[]) => {
  for (const key of keys) app.sim!.mcu.keypad.press(key);
};

describe('a phone order on the sim board', () => {
  it('call -> screen pop -> order on the keypad -> PRINT -> slip with address and map QR -> the next call shows the last order', async () => {
    const sim = app.sim!;
    const contact = await app.contacts.repository.create({ name: 'Wang Li', numbers: [NUMBER], address: ADDRESS });

    // the call rings with the customer popped
    sim.line!.injectIncoming({ number: NUMBER });
    await waitFor(() => app.phone.describe().state === 'ringing', 'ringing');
    expect(await shows('Wang Li')).toBe(true);
    expect(await shows('No calls yet')).toBe(true);
    expect(await shows('Last order')).toBe(false);

    // answered; the talking screen offers the order
    sim.mcu.keypad.setHook(true);
    await waitFor(() => app.phone.describe().state === 'talking', 'talking');
    expect(await shows('Order')).toBe(true);

    // the order on the keypad: 2 noodles, a soup typed and deleted, an unknown item refused
    press('print');
    expect(await shows('Order: Wang Li')).toBe(true);
    press('1', '2', '*', '2', '#');
    expect(await shows('2x Noodles 36.00')).toBe(true);
    press('7', '7', '#');
    expect(await shows('no item 77')).toBe(true);
    press('7', '#');
    expect(await shows('1x Soup 6.50')).toBe(true);
    press('backspace');
    expect(await shows('1x Soup 6.50')).toBe(false);
    press('ok');
    expect(await shows('1 line, total 36.00')).toBe(true);
    press('print');

    // filed, announced, and the slip printed by the virtual printer
    await waitFor(() => sim.printer.jobsText().length === 1, 'the slip printed', 10_000);
    expect(await shows('Order saved, slip printing')).toBe(true);
    const slip = sim.printer.jobsText()[0];
    expect(slip).toContain('Wang Noodle House');
    expect(slip).toContain('Wang Li');
    expect(slip).toContain(ADDRESS);
    expect(slip).toMatch(/Noodles/);
    expect(slip).toContain('36.00');
    const qr = sim.printer.paper().items.filter((item) => item.kind === 'qr');
    expect(qr.map((item) => item.kind === 'qr' && item.payload)).toEqual([`https://maps.example.com/?q=${encodeURIComponent(ADDRESS)}`]);
    expect(placed).toHaveLength(1);
    expect(placed[0]).toMatchObject({ number: NUMBER, contactId: contact.id, total: 3600, currency: 'USD', summary: '2x Noodles, 36.00', items: [{ code: '12', qty: 2 }] });
    const timeline = await app.history.repository.timeline({ contactId: contact.id, numberKeys: ['+12125550177'] });
    expect(timeline.map((r) => r.kind)).toEqual(['order', 'call']);

    // the caller hangs up; the result goes with the next key
    sim.line!.remoteHangup();
    sim.mcu.keypad.setHook(false);
    await waitFor(() => app.phone.describe().state === 'idle', 'idle');
    press('ok');
    expect(await shows('Garden Shop')).toBe(true);

    // the next call from that number pops with the last order
    sim.line!.injectIncoming({ number: NUMBER });
    await waitFor(() => app.phone.describe().state === 'ringing', 'ringing again');
    expect(await shows('Wang Li')).toBe(true);
    expect(await shows('Last order 2x Noodles, 36.00')).toBe(true);
    press('cancel');
    await waitFor(() => app.phone.describe().state === 'idle', 'idle after rejecting');
  });

  it("the phone's display says when the printer needs a hand, and stops saying it once it is fixed", async () => {
    const sim = app.sim!;
    await waitFor(() => app.phone.describe().state === 'idle', 'idle');
    sim.printer.setStatus({ paperOut: true, online: false });
    await waitFor(() => findText(sim.mcu.display, font, 'Printer paper out') !== null, 'the paper-out notice', 5000);
    sim.printer.setStatus({ paperOut: false, online: true, coverOpen: true });
    await waitFor(() => findText(sim.mcu.display, font, 'Printer cover open') !== null, 'the cover notice', 5000);
    sim.printer.setStatus({ coverOpen: false });
    await waitFor(() => findText(sim.mcu.display, font, 'Printer cover open') === null, 'the notice gone', 5000);
    expect(await shows('Printer')).toBe(false);
  });
});

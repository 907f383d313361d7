/// <reference lib="dom" />
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import { type App } from '../../src/app/app.js';
import { loadBoard } from '../../src/board/board.js';
import { validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { EventBus } from '../../src/core/bus.js';
import type { BusEvents } from '../../src/core/events.js';
import { projectRoot } from '../../src/core/paths.js';
import type { OrderRequest, StoredOrder } from '../../src/orders/types.js';
import { WebService } from '../../src/web/service.js';
import { freeTcpPort, openVirtualPhone, type LaunchedChromium } from '../support/index.js';
import { captureLogger } from '../support/log.js';
import { startShopApp } from '../support/shop.js';

/**
 * The Orders panel in Debian's Chromium on the sim board: a known customer calls (the virtual phone's incoming call),
 * the panel is prefilled with their number, the clerk orders 2 noodles with a note and presses "Place and print":
 * the delivery slip with the note and the address comes out on the paper strip, the order is in the customer's
 * timeline (linked to the call) and the next call pops it as the last order. A bad quantity is refused with the
 * server's message next to the form, which keeps what the clerk typed. The app runs in this process.
 */
const NUMBER = '2125550177';
const ADDRESS = '12 Garden Rd, Springfield';
const NOTE = 'Ring twice, no chili';

let app: App;
let url: string;
let chromium: LaunchedChromium;
let page: Page;
let contactId: string;
const placed: Array<BusEvents['orderPlaced']> = [];
const calls: string[] = [];

beforeAll(async () => {
  app = await startShopApp({ prefix: 'e2e-orders-', webPort: await freeTcpPort(), log: captureLogger('warn').log });
  app.bus.on('test', 'orderPlaced', (event) => void placed.push(event));
  app.bus.on('test', 'callStateChanged', (event) => {
    if (event.state === 'ringing' && !calls.includes(event.callId)) calls.push(event.callId);
  });
  contactId = (await app.contacts.repository.create({ name: 'Wang Li', numbers: [NUMBER], address: ADDRESS })).id;
  url = app.web.url!;
  ({ chromium, page } = await openVirtualPhone(url));
  await page.waitForSelector('#catalog-rows tr[data-code="12"]');
}, 90_000);

afterAll(async () => {
  await chromium?.close();
  await app?.stop();
});

const squash = (s: string | null | undefined) => (s ?? '').replace(/\s+/g, '');
const row = (code: string) => `#catalog-rows tr[data-code="${code}"]`;
const phoneState = (state: string) => page.waitForFunction((s) => document.querySelector('#phone-state')?.textContent === s, state, { timeout: 10_000 });

async function ring(): Promise<void> {
  await page.fill('#incoming input[name="number"]', NUMBER);
  await page.fill('#incoming input[name="name"]', '');
  await page.selectOption('#incoming select[name="line"]', 'sim');
  await page.click('#incoming button[type="submit"]');
  await phoneState('ringing');
}

async function hangUp(): Promise<void> {
  await page.click('#remote-hangup');
  if ((await page.getAttribute('#hook', 'aria-pressed')) === 'true') await page.click('#hook');
  // idle after a call that was talked, 'missed' after one that only rang
  await page.waitForFunction(() => ['idle', 'missed'].includes(document.querySelector('#phone-state')?.textContent ?? ''), undefined, { timeout: 10_000 });
}

describe('the Orders panel (sim board, Chromium)', () => {
  it('shows the catalog with prices in the currency', async () => {
    expect(await page.textContent(`${row('12')} .name`)).toBe('Noodles');
    expect(await page.textContent(`${row('12')} .code`)).toBe('12');
    expect(await page.textContent(`${row('12')} .price`)).toContain('18.00');
    expect(await page.textContent(`${row('7')} .price`)).toContain('6.50');
    expect(await page.textContent(`${row('7')} .price`)).toContain('$');
    expect(await page.textContent('#order-total')).toBe('–');
  });

  it('a call from a customer prefills the number; 2x Noodles with a note, "Place and print": the slip with the note and the address, the order in the timeline', async () => {
    await ring();
    await page.waitForFunction((n) => (document.querySelector('#order-number') as HTMLInputElement).value === n, NUMBER, { timeout: 10_000 });
    expect(await page.textContent('#order-caller')).toContain('Wang Li');
    await page.click('#hook'); // answered: the order is taken while talking
    await phoneState('talking');

    await page.click(`${row('12')} button[data-step="1"]`);
    await page.click(`${row('12')} button[data-step="1"]`);
    await page.click(`${row('7')} button[data-step="1"]`);
    await page.click(`${row('7')} button[data-step="-1"]`);
    expect(await page.inputValue(`${row('12')} input`)).toBe('2');
    expect(await page.inputValue(`${row('7')} input`)).toBe('0');
    expect(await page.textContent('#order-total')).toContain('36.00');
    await page.fill('#order-note', NOTE);
    expect(await page.textContent('#note-count')).toBe(String(NOTE.length));
    // typing in the panel does not press the phone's keys
    expect(await page.getAttribute('#display', 'data-text')).not.toContain('Ring twice');

    await page.click('#order-print');
    await page.waitForSelector('#order-confirmation:not([hidden])', { timeout: 10_000 });
    const confirmation = await page.textContent('#order-confirmation');
    expect(confirmation).toContain('2x Noodles, 36.00');
    expect(confirmation).toContain('Delivery slip printing');
    const orderId = (await page.getAttribute('#order-confirmation', 'data-order-id'))!;
    const jobs = (await page.getAttribute('#order-confirmation', 'data-jobs'))!.split(' ');
    expect(jobs).toHaveLength(1);

    // the delivery slip on the paper strip: the customer, the address, the note, the map QR
    const slip = `.slip[data-job="${jobs[0]}"]`;
    await page.waitForSelector(slip, { timeout: 15_000 });
    const text = await page.textContent(`${slip} .slip-text pre`);
    expect(text).toContain('Wang Li');
    expect(text).toContain('Noodles');
    expect(text).toContain('36.00');
    expect(squash(text)).toContain(squash(ADDRESS));
    expect(squash(text)).toContain(squash(NOTE));
    expect(await page.getAttribute(slip, 'data-qr')).toBe('1');
    expect(app.sim!.printer.jobsText().at(-1)).toContain(ADDRESS);

    // the form is ready for the next order, for the same caller
    expect(await page.inputValue(`${row('12')} input`)).toBe('0');
    expect(await page.inputValue('#order-note')).toBe('');
    expect(await page.inputValue('#order-number')).toBe(NUMBER);
    expect(await page.textContent('#order-total')).toBe('–');
    expect(await page.textContent('#order-error')).toBe('');

    // filed in the customer's timeline, linked to the call it was taken on
    expect(placed).toHaveLength(1);
    expect(placed[0]).toMatchObject({ orderId, number: NUMBER, contactId, callId: calls.at(-1), note: NOTE, total: 3600, currency: 'USD', summary: '2x Noodles, 36.00' });
    const timeline = await app.history.repository.timeline({ contactId, numberKeys: ['+12125550177'] });
    const order = timeline.find((r) => r.kind === 'order') as StoredOrder;
    expect(order).toMatchObject({ orderId, note: NOTE, items: [{ code: '12', name: 'Noodles', qty: 2, unitPrice: 1800, amount: 3600 }] });
    await hangUp();
  });

  it('a bad quantity is refused with the server\'s message next to the form, which keeps what the clerk typed', async () => {
    await page.fill(`${row('12')} input`, '1');
    await page.fill(`${row('7')} input`, '150');
    await page.fill('#order-note', 'leave at the door');
    expect(await page.getAttribute(`${row('7')} input`, 'aria-invalid')).toBe('true');
    await page.click('#order-place');
    await page.waitForFunction(() => (document.querySelector('#order-error')?.textContent ?? '') !== '', undefined, { timeout: 10_000 });
    expect(await page.textContent('#order-error')).toBe('Not placed: quantity of Soup must be a whole number from 1 to 99, not 150');
    expect(await page.getAttribute('#order-error', 'data-code')).toBe('ORDER_BAD_QTY');
    expect(await page.getAttribute(`${row('7')} input`, 'aria-invalid')).toBe('true');
    expect(await page.inputValue(`${row('7')} input`)).toBe('150');
    expect(await page.inputValue(`${row('12')} input`)).toBe('1');
    expect(await page.inputValue('#order-note')).toBe('leave at the door');
    expect(await page.inputValue('#order-number')).toBe(NUMBER);
    expect(placed).toHaveLength(1);

    // a bad number too; then, mended, it goes through
    await page.fill(`${row('7')} input`, '3');
    await page.fill('#order-number', '212-555-01x7');
    await page.click('#order-place');
    await page.waitForFunction(() => document.querySelector('#order-error')?.getAttribute('data-code') === 'ORDER_BAD_NUMBER', undefined, { timeout: 10_000 });
    expect(await page.getAttribute('#order-number', 'aria-invalid')).toBe('true');
    await page.fill('#order-number', '(212) 555-0177');
    await page.click('#order-place');
    await page.waitForFunction((n) => document.querySelector('#order-confirmation')?.textContent?.includes(n), '1x Noodles, 3x Soup, 37.50', { timeout: 10_000 });
    expect(await page.textContent('#order-error')).toBe('');
    expect(placed).toHaveLength(2);
    expect(placed[1]).toMatchObject({ number: NUMBER, note: 'leave at the door', total: 3750 });
  });

  it('the next call from the customer pops the last order', async () => {
    await ring();
    await page.waitForFunction(() => document.querySelector('#customer-card [data-field="name"]')?.textContent === 'Wang Li', undefined, { timeout: 10_000 });
    expect(await page.textContent('#customer-card [data-field="order"]')).toContain('1x Noodles, 3x Soup, 37.50');
    await hangUp();
  });
});

describe('the Orders panel on a real board (no virtual phone)', () => {
  it('is the whole page: the caller comes by polling, and an order goes to the orders service', async () => {
    const { log } = captureLogger('warn');
    const { config } = validateConfig({ web: { port: 0 }, device: { country: 'US' } });
    const bus = new EventBus<BusEvents>(log);
    const requests: OrderRequest[] = [];
    const web = new WebService({
      log, config: () => config as Config, bus, board: await loadBoard('dp-a53'), sim: null, publicDir: join(projectRoot(), 'src', 'web', 'public'),
      orders: {
        catalog: () => ({ currency: 'KRW', items: [{ code: '5', name: 'Kimbap', unitPrice: 4500 }] }),
        place: async (request) => {
          requests.push(request);
          return { orderId: 'order-0001-abcd', summary: '3x Kimbap, 13500', total: 13500, currency: 'KRW' } as StoredOrder;
        },
        print: async () => ({ jobIds: [] }),
      },
    });
    await web.start();
    const other = await chromium.browser.newPage();
    try {
      await other.goto(web.url!);
      await other.waitForSelector('body[data-virtual-phone="false"]');
      await other.waitForSelector('#catalog-rows tr[data-code="5"]');
      expect(await other.isVisible('.phone')).toBe(false);
      expect(await other.isVisible('#incoming')).toBe(false);
      expect(await other.isVisible('#orders')).toBe(true);
      expect(await other.textContent('#catalog-rows tr[data-code="5"] .price')).toContain('4,500');

      bus.emit('callStateChanged', {
        callId: 'c-77', lineId: 'analog', lineKind: 'analog', direction: 'inbound', number: '2125550123', name: 'KIM MINJI', state: 'ringing', at: 0,
      });
      await other.waitForFunction(() => (document.querySelector('#order-number') as HTMLInputElement).value === '2125550123', undefined, { timeout: 10_000 });
      expect(await other.textContent('#order-caller')).toContain('KIM MINJI');

      await other.fill('#catalog-rows tr[data-code="5"] input', '3');
      await other.click('#order-place');
      await other.waitForSelector('#order-confirmation:not([hidden])', { timeout: 10_000 });
      expect(await other.textContent('#order-confirmation')).toContain('3x Kimbap, 13500');
      expect(requests).toEqual([{ number: '2125550123', items: [{ code: '5', qty: 3 }], note: null, callId: 'c-77' }]);
    } finally {
      await other.close();
      await web.stop();
    }
  });
});

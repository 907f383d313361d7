/// <reference lib="dom" />
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import { type App } from '../../src/app/app.js';
import type { BusEvents } from '../../src/core/events.js';
import { freeTcpPort, openVirtualPhone, type LaunchedChromium } from '../support/index.js';
import { captureLogger } from '../support/log.js';
import { SHOP, startShopApp } from '../support/shop.js';

/**
 * The point of sale on the virtual phone page in Debian's Chromium (sim board, the app in this process): the customer
 * pole display box shows the welcome; a customer calls, the clerk answers and scans an item twice in the scanner box:
 * the phone's order entry and the pole display show 2x the item and the total; PRINT on the virtual keypad prints the
 * delivery slip and thanks the customer on the pole display. On the idle screen with no caller a scan opens a counter
 * order; an unknown barcode is said on the phone's display, and a code too long for a scanner is refused on the page.
 */
const NUMBER = '2125550177';
const NOODLES = SHOP.noodles.barcode;

let app: App;
let chromium: LaunchedChromium;
let page: Page;
const placed: Array<BusEvents['orderPlaced']> = [];

beforeAll(async () => {
  app = await startShopApp({ prefix: 'e2e-pos-', webPort: await freeTcpPort(), log: captureLogger('warn').log });
  app.bus.on('test', 'orderPlaced', (event) => void placed.push(event));
  await app.contacts.repository.create({ name: 'Wang Li', numbers: [NUMBER], address: '12 Garden Rd, Springfield' });
  ({ chromium, page } = await openVirtualPhone(app.web.url!));
}, 90_000);

afterAll(async () => {
  await chromium?.close();
  await app?.stop();
});

/** The rows of the pole display box, and of the phone's display (the page keeps both as text). */
const poleRows = async () => ((await page.getAttribute('#pole', 'data-text')) ?? '').split('\n');
const phoneText = async () => (await page.getAttribute('#display', 'data-text')) ?? '';
const poleShows = (pattern: RegExp) => page.waitForFunction(
  ([source, flags]) => new RegExp(source, flags).test(document.querySelector('#pole')?.getAttribute('data-text') ?? ''),
  [pattern.source, pattern.flags] as const, { timeout: 10_000 },
);
const phoneShows = (text: string) => page.waitForFunction(
  (t) => (document.querySelector('#display')?.getAttribute('data-text') ?? '').includes(t), text, { timeout: 10_000 },
);
const phoneState = (state: string) => page.waitForFunction((s) => document.querySelector('#phone-state')?.textContent === s, state, { timeout: 10_000 });

async function scan(code: string): Promise<void> {
  await page.fill('#scan-code', code);
  await page.press('#scan-code', 'Enter');
}

describe('the point of sale on the virtual phone page (sim board, Chromium)', () => {
  it('shows the scanner box and the pole display box, which welcomes the customer with the shop name', async () => {
    expect(await page.isVisible('#scanner-box')).toBe(true);
    expect(await page.isVisible('#pole-box')).toBe(true);
    await poleShows(/Welcome/);
    const rows = await poleRows();
    expect(rows).toHaveLength(2);
    expect(rows.every((row) => row.length === 20)).toBe(true);
    expect(rows.map((r) => r.trim())).toEqual(['Welcome', SHOP.name]);
    expect(await page.getAttribute('#pole', 'data-connected')).toBe('true');
    // a monospaced VFD box
    expect(await page.$eval('#pole', (el) => getComputedStyle(el).fontFamily)).toMatch(/mono/i);
  });

  it('a customer calls; the clerk scans an item twice: 2x the item and the total on the phone and on the pole display', async () => {
    await page.fill('#incoming input[name="number"]', NUMBER);
    await page.fill('#incoming input[name="name"]', '');
    await page.selectOption('#incoming select[name="line"]', 'sim');
    await page.click('#incoming button[type="submit"]');
    await phoneState('ringing');
    await page.click('#hook');
    await phoneState('talking');

    await scan(NOODLES);
    await phoneShows('1x Noodles 18.00');
    // the code stays in the box: Scan again (the button this time) reads it again
    expect(await page.inputValue('#scan-code')).toBe(NOODLES);
    await page.click('#scan');
    await phoneShows('2x Noodles 36.00');
    const phone = await phoneText();
    expect(phone).toContain('Order: Wang Li');
    expect(phone).toContain('Total 36.00');
    // typing in the scanner box does not press the phone's keys
    expect(phone).not.toContain(`Item ${NOODLES.slice(0, 3)}`);

    await poleShows(/2x Noodles +36\.00/);
    const rows = await poleRows();
    expect(rows[0]).toMatch(/^2x Noodles +36\.00$/);
    expect(rows[1]).toMatch(/^TOTAL +36\.00$/);
    expect(await page.textContent('#error')).toBe('');
  });

  it('PRINT on the keypad: the delivery slip with 2x the item on the paper strip; the pole display shows the total and thanks', async () => {
    await page.click('button[data-key="print"]');
    await page.waitForSelector('.slip', { timeout: 15_000 });
    const text = (await page.textContent('.slips > .slip:first-child .slip-text pre')) ?? '';
    expect(text).toContain('Wang Li');
    expect(text).toMatch(/Noodles\s+x2\s+36\.00/);
    expect(placed).toHaveLength(1);
    expect(placed[0]).toMatchObject({ number: NUMBER, total: 3600, currency: 'USD', summary: '2x Noodles, 36.00' });

    await poleShows(/Thank you!/);
    const rows = await poleRows();
    expect(rows[0]).toMatch(/^TOTAL +36\.00$/);
    expect(rows[1].trim()).toBe('Thank you!');
  });

  it('on the idle screen with no caller, a scan opens a counter order', async () => {
    await page.click('#remote-hangup');
    await page.click('#hook'); // the handset back on its cradle
    await phoneState('idle');
    // the clerk closes the filed order and the offer to take another for the caller
    await page.click('button[data-key="cancel"]');
    await page.waitForFunction(() => !(document.querySelector('#display')?.getAttribute('data-text') ?? '').includes('Order: Wang Li'), undefined, { timeout: 10_000 });
    await page.click('button[data-key="cancel"]');
    await page.waitForFunction(() => !(document.querySelector('#display')?.getAttribute('data-text') ?? '').includes('Order'), undefined, { timeout: 10_000 });

    await scan(NOODLES);
    await phoneShows('Order: Counter');
    expect(await phoneText()).toContain('1x Noodles 18.00');
    await poleShows(/TOTAL +18\.00/);
    expect((await poleRows())[0]).toMatch(/^1x Noodles +18\.00$/);
  });

  it('an unknown barcode is said on the phone\'s display; a code too long for a scanner gets the page\'s error', async () => {
    await scan('NOPE-0000');
    await phoneShows('unknown barcode NOPE-0000');
    // the order is unchanged
    expect(await phoneText()).toContain('1x Noodles 18.00');
    expect(await page.textContent('#error')).toBe('');

    await scan('9'.repeat(300));
    await page.waitForFunction(() => (document.querySelector('#error')?.textContent ?? '') !== '', undefined, { timeout: 10_000 });
    expect(await page.textContent('#error')).toBe('barcode: 1 to 256 printable ASCII characters');
    expect(await phoneText()).not.toContain('unknown barcode 999');
    expect(placed).toHaveLength(1);
  });
});

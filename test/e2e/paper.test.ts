/// <reference lib="dom" />
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import { createApp, type App } from '../../src/app/app.js';
import { loadBoard } from '../../src/board/board.js';
import { validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { projectRoot } from '../../src/core/paths.js';
import { freeTcpPort, openVirtualPhone, type LaunchedChromium } from '../support/index.js';
import { captureLogger } from '../support/log.js';

/**
 * The virtual phone's paper strip and printer indicator in Debian's Chromium: the app runs on the sim board in this
 * process (so the test can queue a slip through the printing service and change the sim printer's status), and the
 * page shows what the virtual printer printed and what state it is in.
 */
interface OrderInput { customer: { name: string; address: string } }
const order = (JSON.parse(readFileSync(join(projectRoot(), 'test', 'fixtures', 'slips', 'inputs.json'), 'utf8')) as { zh: { order: OrderInput } }).zh.order;

let app: App;
let url: string;
let chromium: LaunchedChromium;
let page: Page;

beforeAll(async () => {
  const port = await freeTcpPort();
  const dir = mkdtempSync(join(tmpdir(), 'e2e-paper-'));
  const { config } = validateConfig({ board: 'sim', web: { port } });
  app = createApp({ config: config as Config, board: await loadBoard('sim'), dataDir: dir, log: captureLogger().log, socketPath: join(dir, 'ctl.sock') });
  await app.start();
  url = app.web.url!;
  expect(url).toBe(`http://127.0.0.1:${port}`);
  ({ chromium, page } = await openVirtualPhone(url));
}, 90_000);

afterAll(async () => {
  await chromium?.close();
  await app?.stop();
});

const squash = (s: string | null | undefined) => (s ?? '').replace(/\s+/g, '');

describe('the virtual phone page shows the printer (sim board)', () => {
  it('a printed order slip appears on the paper strip with the customer, the address and the map QR', async () => {
    await page.waitForSelector('#printer-status[data-state="ready"]');
    expect(await page.isVisible('#paper-empty')).toBe(true);
    const { jobIds } = await app.printing.print({ template: 'order', input: order, by: 'test' });
    const slip = `.slip[data-job="${jobIds[0]}"]`;
    await page.waitForSelector(slip, { timeout: 10_000 });
    expect(await page.isVisible('#paper-empty')).toBe(false);

    const text = await page.textContent(`${slip} .slip-text pre`);
    expect(text).toContain(order.customer.name);
    expect(squash(text)).toContain(squash(order.customer.address));
    expect(await page.getAttribute(`${slip} img.slip-image`, 'alt')).toContain(order.customer.name);
    expect(await page.getAttribute(slip, 'data-qr')).toBe('1');

    // the slip's picture is the virtual printer's paper: drawn by the browser, with the name and the QR in it
    const image = await page.$eval(`${slip} img.slip-image`, async (img) => {
      const el = img as HTMLImageElement;
      await el.decode();
      const svg = decodeURIComponent(el.src.slice(el.src.indexOf(',') + 1));
      const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
      return {
        width: el.naturalWidth,
        height: el.naturalHeight,
        shown: el.getBoundingClientRect().height,
        texts: Array.from(doc.querySelectorAll('text'), (t) => t.textContent ?? '').join('\n'),
        qr: doc.querySelectorAll('g.qr path').length,
        scripts: doc.querySelectorAll('script, foreignObject').length,
      };
    });
    expect(image.width).toBe(576);
    expect(image.height).toBeGreaterThan(300);
    expect(image.shown).toBeGreaterThan(100);
    expect(image.texts).toContain(order.customer.name);
    expect(image.qr).toBe(1);
    expect(image.scripts).toBe(0);
    // the same slip as the virtual printer has it
    expect(app.sim!.printer.jobsText().at(-1)).toContain(order.customer.name);
  });

  it('the printer indicator shows paper out, and the job that waits for paper', async () => {
    app.sim!.printer.setStatus({ paperOut: true });
    await page.waitForSelector('#printer-status[data-state="paper-out"]', { timeout: 10_000 });
    expect(await page.textContent('#printer-status')).toContain('Out of paper');

    const { jobIds } = await app.printing.print({ template: 'order', input: order, by: 'test' });
    await page.waitForSelector('#printer-status[data-queued="1"]', { timeout: 10_000 });
    expect(await page.textContent('#printer-status')).toBe('Out of paper · 1 job queued');
    expect(await page.$(`.slip[data-job="${jobIds[0]}"]`)).toBeNull();

    app.sim!.printer.setStatus({ paperOut: false });
    await page.waitForSelector(`.slip[data-job="${jobIds[0]}"]`, { timeout: 10_000 });
    await page.waitForSelector('#printer-status[data-state="ready"][data-queued="0"]');
    expect(await page.textContent('#printer-status')).toBe('Ready');
    // newest first
    expect(await page.getAttribute('.slips > .slip:first-child', 'data-job')).toBe(jobIds[0]);
  });
});

/// <reference lib="dom" />
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import WebSocket from 'ws';
import { projectRoot } from '../../src/core/paths.js';
import { loadUnifont, type BitmapFont } from '../../src/display/font.js';
import { findText } from '../support/display-text.js';
import { descendants, freeTcpPort, openVirtualPhone, processAlive, waitDead, waitGone, type LaunchedChromium } from '../support/index.js';

/**
 * The README's `npm start` on a fresh data directory, driven through Debian's Chromium: the virtual
 * phone shows digits, rings, talks and hangs up. `npm start` runs in its own process group, stopped
 * by that group's id.
 */
let npmStart: ChildProcess;
let output = '';
let url: string;
let chromium: LaunchedChromium;
let page: Page;
let font: BitmapFont;

beforeAll(async () => {
  font = await loadUnifont();
  const port = await freeTcpPort();
  npmStart = spawn('npm', ['start', '--', '--port', String(port)], {
    cwd: projectRoot(),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DESKLINE_DATA: mkdtempSync(join(tmpdir(), 'e2e-data-')), DESKLINE_CONFIG: '' },
  });
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not serve the virtual phone within 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Virtual phone: (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    npmStart.stdout!.on('data', onData);
    npmStart.stderr!.on('data', onData);
    npmStart.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
  expect(url).toBe(`http://127.0.0.1:${port}`);
  ({ chromium, page } = await openVirtualPhone(url));
}, 90_000);

afterAll(async () => {
  await chromium?.close();
  if (npmStart?.pid) {
    const tree = descendants(npmStart.pid);
    expect(tree.length).toBeGreaterThan(0); // the daemon under npm
    try {
      process.kill(-npmStart.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    expect(await waitGone(npmStart.pid, 10_000)).toBe(true);
    expect(await waitDead(tree, 10_000)).toBe(true);
  }
});

const displayText = () => page.getAttribute('#display', 'data-text').then((t) => t ?? '');

async function waitForDisplay(text: string): Promise<void> {
  await page.waitForFunction((t) => (document.querySelector('#display') as HTMLCanvasElement).dataset.text?.includes(t), text, { timeout: 10_000 });
}

/** Read the canvas back as pixels and look for the text's glyph bitmaps in it. */
async function canvasShows(text: string): Promise<boolean> {
  const { width, height, dark } = await page.evaluate(() => {
    const canvas = document.querySelector('#display') as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    const dark: number[] = [];
    for (let i = 0; i < data.length; i += 4) dark.push(data[i] < 100 ? 1 : 0);
    return { width: canvas.width, height: canvas.height, dark };
  });
  return findText({ width, height, getPixel: (x, y) => dark[y * width + x] === 1 }, font, text) !== null;
}

describe('virtual phone in a browser (npm start)', () => {
  it('shows the digits clicked on the keypad on the display', async () => {
    await waitForDisplay('Deskline');
    for (const key of ['5', '5', '5', '0']) await page.click(`button[data-key="${key}"]`);
    await waitForDisplay('5550');
    expect(await canvasShows('5550')).toBe(true);
    await page.click('button[data-key="backspace"]');
    await page.waitForFunction(() => !(document.querySelector('#display') as HTMLCanvasElement).dataset.text?.includes('5550'));
    expect(await displayText()).toContain('555');
    await page.click('button[data-key="cancel"]');
    await waitForDisplay('Redial');
  });

  it('an injected call rings with the caller shown; lifting the handset shows the talk timer; hanging up returns to idle', async () => {
    await page.fill('#incoming input[name="number"]', '13800138000');
    await page.fill('#incoming input[name="name"]', 'Wang Li');
    await page.click('#incoming button[type="submit"]');
    await page.waitForSelector('#ringer[data-ringing="true"]');
    await waitForDisplay('Wang Li');
    expect(await displayText()).toContain('13800138000');
    expect(await canvasShows('Wang Li')).toBe(true);
    await page.waitForSelector('.led[data-led="line"][data-state="blink"]');
    expect(await page.textContent('#phone-state')).toBe('ringing');

    await page.click('#hook');
    await page.waitForSelector('#ringer[data-ringing="false"]');
    await waitForDisplay('00:00');
    await waitForDisplay('00:01');
    expect(await canvasShows('Connected')).toBe(true);
    expect(await page.textContent('#phone-state')).toBe('talking');
    await page.waitForSelector('.led[data-led="line"][data-state="on"]');

    await page.click('#hook');
    await page.waitForFunction(() => document.querySelector('#phone-state')?.textContent === 'idle');
    await waitForDisplay('Redial');
    expect(await displayText()).not.toContain('Connected');
    await page.waitForSelector('.led[data-led="line"][data-state="off"]');
  });

  it('the analog line rings with the caller ID sent after the first ring; the far end hanging up ends the call', async () => {
    await page.fill('#incoming input[name="number"]', '2125551234');
    await page.fill('#incoming input[name="name"]', 'ACME HARDWARE');
    await page.selectOption('#incoming select[name="line"]', 'analog');
    await page.click('#incoming button[type="submit"]');
    await page.waitForSelector('#ringer[data-ringing="true"]');
    await waitForDisplay('Incoming call');
    await waitForDisplay('ACME HARDWARE'); // after the first 2 s ring burst
    expect(await displayText()).toContain('(212) 555-1234');
    await page.click('#hook');
    await waitForDisplay('Connected');
    await page.click('#remote-hangup');
    await waitForDisplay('Call ended');
    await page.click('#hook');
    await page.waitForFunction(() => document.querySelector('#phone-state')?.textContent === 'idle');
    await page.selectOption('#incoming select[name="line"]', 'sim');
  });

  it('an unknown caller who hung up is on the missed list, is saved from the keypad and is popped by name the next time', async () => {
    const field = (name: string) => page.textContent(`#customer-card [data-field="${name}"]`);
    await page.fill('#incoming input[name="number"]', '2125550199');
    await page.fill('#incoming input[name="name"]', '');
    await page.click('#incoming button[type="submit"]');
    await page.waitForFunction(() => document.querySelector('#customer-card [data-field="number"]')?.textContent === '(212) 555-0199');
    expect(await field('name')).toBe('Unknown caller');
    await waitForDisplay('New caller');
    await page.click('#remote-hangup');
    await waitForDisplay('Missed call');

    // 'Save' on the idle screen, then the name by multi-tap: 2 = A, 6 6 = n, (next letter) 6 6 = n
    await page.click('button[data-key="soft2"]');
    await waitForDisplay('Save contact');
    for (const key of ['2', '6', '6', 'right', '6', '6']) await page.click(`button[data-key="${key}"]`);
    await waitForDisplay('Ann');
    await page.click('button[data-key="ok"]');
    await waitForDisplay('Saved Ann');
    await page.click('button[data-key="cancel"]');
    await waitForDisplay('1 missed call');
    expect(await canvasShows('1 missed call')).toBe(true);

    // the same number rings again: the display and the customer panel know them now
    await page.click('#incoming button[type="submit"]');
    await page.waitForFunction(() => document.querySelector('#customer-card [data-field="name"]')?.textContent === 'Ann');
    await waitForDisplay('Ann');
    expect(await canvasShows('Ann')).toBe(true);
    expect(await field('history')).toContain('missed');
    await page.click('#remote-hangup');
    await waitForDisplay('Missed call');

    // one key on the missed-calls list calls back, which clears their missed calls
    await page.click('button[data-key="history"]');
    await waitForDisplay('Missed calls (2)');
    await page.click('button[data-key="ok"]');
    await page.waitForFunction(() => ['calling', 'talking'].includes(document.querySelector('#phone-state')?.textContent ?? ''));
    await page.click('button[data-key="cancel"]');
    await page.waitForFunction(() => document.querySelector('#phone-state')?.textContent === 'idle');
    await waitForDisplay('Redial');
    await page.waitForFunction(() => !(document.querySelector('#display') as HTMLCanvasElement).dataset.text?.includes('missed'));
  });

  it('refuses the control channel to a foreign Origin', async () => {
    const status = await new Promise<number | 'open'>((resolve) => {
      const ws = new WebSocket(`${url.replace('http', 'ws')}/sim`, { headers: { Origin: 'http://evil.example' } });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => {
        ws.close();
        resolve('open');
      });
    });
    expect(status).toBe(403);
    const own = new WebSocket(`${url.replace('http', 'ws')}/sim`, { headers: { Origin: url } });
    const first = await new Promise<string>((resolve, reject) => {
      own.once('message', (data) => resolve(data.toString()));
      own.once('error', reject);
    });
    own.close();
    expect(JSON.parse(first)).toMatchObject({ type: 'hello', board: 'sim' });
  });

  it('refuses a page from another origin in the real browser', async () => {
    const other: Server = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end('<!doctype html><title>other</title>');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const address = other.address() as { port: number };
    const foreign = await chromium.browser.newPage();
    try {
      await foreign.goto(`http://127.0.0.1:${address.port}/`);
      const outcome = await foreign.evaluate((target) => new Promise<string>((resolve) => {
        const ws = new WebSocket(target);
        ws.onopen = () => resolve('open');
        ws.onerror = () => resolve('refused');
        ws.onclose = () => resolve('refused');
      }), `${url.replace('http', 'ws')}/sim`);
      expect(outcome).toBe('refused');
    } finally {
      await foreign.close();
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
    expect(processAlive(npmStart.pid!)).toBe(true);
  });
});

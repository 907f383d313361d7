import { afterEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import WebSocket from 'ws';
import { SimMcu } from '../../../drivers/mcu/sim.js';
import { VirtualReceiptPrinter } from '../../../drivers/printer/virtual/printer.js';
import { loadBoard } from '../../../src/board/board.js';
import { validateConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { EventBus } from '../../../src/core/bus.js';
import type { BusEvents } from '../../../src/core/events.js';
import { projectRoot } from '../../../src/core/paths.js';
import { WebService } from '../../../src/web/service.js';
import { captureLogger } from '../../support/log.js';
import { connect, settle } from './sim-page.js';

const services: WebService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
});

async function start(sim: boolean) {
  const { log } = captureLogger();
  const config = validateConfig({ web: { port: 0 } }).config as Config;
  const mcu = new SimMcu({ displayWidth: 240, displayHeight: 128 });
  const printer = new VirtualReceiptPrinter({ paperWidthMm: 58 });
  const bus = new EventBus<BusEvents>(log);
  const web = new WebService({
    log, config: () => config, bus, board: await loadBoard(sim ? 'sim' : 'dp-a53'),
    sim: sim ? { mcu, line: null, exchange: null, printer } : null, publicDir: join(projectRoot(), 'src', 'web', 'public'),
  });
  await web.start();
  services.push(web);
  return { web, mcu, printer, bus, url: web.url! };
}


function wsOutcome(url: string, origin: string): Promise<number | 'open'> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: { Origin: origin } });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
  });
}

describe('web service', () => {
  it('serves the page with security headers', async () => {
    const { url } = await start(true);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<canvas id="display"');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });

  it('does not serve the virtual phone channel on real hardware', async () => {
    const { url } = await start(false);
    expect(await wsOutcome(`${url.replace('http', 'ws')}/sim`, url)).toBe(404);
    expect(await (await fetch(`${url}/api/status`)).json()).toEqual({ board: 'dp-a53', virtualPhone: false });
  });

  it('on the sim board: keys from the page reach the sim keypad; bad messages get an error; foreign origins get 403', async () => {
    const { url, mcu } = await start(true);
    expect(await wsOutcome(`${url.replace('http', 'ws')}/sim`, 'http://evil.example')).toBe(403);
    const ws = new WebSocket(`${url.replace('http', 'ws')}/sim`, { headers: { Origin: url } });
    const messages: Array<{ type: string; message?: string }> = [];
    ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
    await new Promise((r) => ws.once('open', r));
    const keys: string[] = [];
    mcu.keypad.on('keyPressed', ({ key }) => keys.push(key));
    ws.send(JSON.stringify({ type: 'key', key: '7' }));
    ws.send(JSON.stringify({ type: 'key', key: 'selfDestruct' }));
    ws.send(JSON.stringify({ type: 'incomingCall', number: '123' }));
    await new Promise((r) => setTimeout(r, 100));
    ws.close();
    expect(keys).toEqual(['7']);
    expect(messages.filter((m) => m.type === 'error').map((m) => m.message)).toEqual(['unknown key "selfDestruct"', 'the simulated line is disabled (simLine.enabled)']);
    expect(messages[0]).toMatchObject({ type: 'hello', board: 'sim', display: { width: 240, height: 128 } });
  });

  it('on the sim board: a printed job appears as a slip (escaped SVG and text), kept for pages that connect later', async () => {
    const { url, printer, bus } = await start(true);
    const first = await connect(url);
    await printer.write(Buffer.from('old paper, printed before\n', 'latin1'));
    bus.emit('printJobChanged', { id: 'p000001', template: 'order', state: 'queued', attempts: 0, note: null, by: 'test' });
    await printer.write(Buffer.concat([Buffer.from('Wang Li <b>&</b>\n12 Garden Rd\n', 'latin1'), Buffer.from([0x1d, 0x56, 0x42, 0x00])]));
    bus.emit('printJobChanged', { id: 'p000001', template: 'order', state: 'printed', attempts: 1, note: null, by: 'test' });
    await settle();
    const slips = first.messages.filter((m) => m.type === 'slip');
    expect(slips).toHaveLength(1);
    expect(slips[0]).toMatchObject({ job: 'p000001', template: 'order', part: 1, qr: 0, text: 'old paper, printed before\nWang Li <b>&</b>\n12 Garden Rd' });
    expect(slips[0].svg).toContain('Wang Li &lt;b&gt;&amp;&lt;/b&gt;');
    const indicators = first.messages.filter((m) => m.type === 'printer');
    expect(indicators.map((m) => m.queued)).toEqual([0, 1, 0]);
    first.ws.close();

    // the next slip starts where the last one ended; a later page gets both
    await printer.write(Buffer.from('second\n', 'latin1'));
    bus.emit('printJobChanged', { id: 'p000002', template: 'order', state: 'printed', attempts: 1, note: null, by: 'test' });
    const later = await connect(url);
    await settle();
    later.ws.close();
    expect(later.messages.filter((m) => m.type === 'slip').map((m) => [m.job, m.text])).toEqual([
      ['p000001', 'old paper, printed before\nWang Li <b>&</b>\n12 Garden Rd'],
      ['p000002', 'second'],
    ]);
  });

  it('on the sim board: the printer indicator follows printerChanged', async () => {
    const { url, bus } = await start(true);
    const { ws, messages } = await connect(url);
    await settle();
    expect(messages.find((m) => m.type === 'printer')).toMatchObject({ state: 'ready', connected: true });
    bus.emit('printerChanged', { connected: true, status: { online: true, coverOpen: false, paperNearEnd: true, paperOut: true } });
    bus.emit('printerChanged', { connected: false, status: null });
    await settle();
    ws.close();
    expect(messages.filter((m) => m.type === 'printer').slice(1).map((m) => [m.state, m.label])).toEqual([['paper-out', 'Out of paper'], ['disconnected', 'Not connected']]);
  });
});

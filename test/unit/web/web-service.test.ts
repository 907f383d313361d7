import { afterEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import WebSocket from 'ws';
import { SimMcu } from '../../../drivers/mcu/sim.js';
import { loadBoard } from '../../../src/board/board.js';
import { validateConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { EventBus } from '../../../src/core/bus.js';
import type { BusEvents } from '../../../src/core/events.js';
import { projectRoot } from '../../../src/core/paths.js';
import { WebService } from '../../../src/web/service.js';
import { captureLogger } from '../../support/log.js';

const services: WebService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
});

async function start(sim: boolean) {
  const { log } = captureLogger();
  const config = validateConfig({ web: { port: 0 } }).config as Config;
  const mcu = new SimMcu({ displayWidth: 240, displayHeight: 128 });
  const web = new WebService({
    log, config: () => config, bus: new EventBus<BusEvents>(log), board: await loadBoard(sim ? 'sim' : 'dp-a53'),
    sim: sim ? { mcu, line: null, exchange: null } : null, publicDir: join(projectRoot(), 'src', 'web', 'public'),
  });
  await web.start();
  services.push(web);
  return { web, mcu, url: web.url! };
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
});

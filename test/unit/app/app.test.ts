import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createApp, type App } from '../../../src/app/app.js';
import { loadBoard } from '../../../src/board/board.js';
import { validateConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { loadUnifont, type BitmapFont } from '../../../src/display/font.js';
import type { BusEvents } from '../../../src/core/events.js';
import { findText } from '../../support/display-text.js';
import { waitFor } from '../../support/wait.js';
import { FakeClock } from '../../support/fake-clock.js';
import { captureLogger } from '../../support/log.js';

let font: BitmapFont;
beforeAll(async () => {
  font = await loadUnifont();
});

const apps: App[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.stop();
});

async function boot(overrides: Record<string, unknown> = {}) {
  const { config } = validateConfig({ board: 'sim', web: { port: 0 }, device: { name: 'Garden Shop' }, ...overrides });
  const dir = mkdtempSync(join(tmpdir(), 'app-'));
  const clock = new FakeClock();
  const { log, lines } = captureLogger();
  const app = createApp({ config: config as Config, board: await loadBoard('sim'), dataDir: dir, log, clock, socketPath: join(dir, 'ctl.sock') });
  apps.push(app);
  const report = await app.start();
  expect(report.every((r) => r.status === 'running')).toBe(true);
  const sim = app.sim!;
  const shows = async (text: string) => {
    await app.phone.settled();
    return findText(sim.mcu.display, font, text) !== null;
  };
  return { app, sim, clock, lines, shows };
}

describe('the app on the sim board', () => {
  it('shows the idle screen, then the digits pressed on the keypad, as pixels sent to the display driver', async () => {
    const { sim, shows, clock } = await boot();
    expect(await shows('Garden Shop')).toBe(true);
    const now = new Date(clock.now());
    const hhmm = `${String(now.getHours()).padStart(2, '0')}:${String(now.getMinutes()).padStart(2, '0')}`;
    expect(await shows(hhmm)).toBe(true);
    sim.mcu.keypad.press('5');
    sim.mcu.keypad.press('5');
    sim.mcu.keypad.press('0');
    sim.mcu.keypad.press('1');
    expect(await shows('5501')).toBe(true);
    expect(await shows('Predial')).toBe(true);
    sim.mcu.keypad.press('backspace');
    expect(await shows('5501')).toBe(false);
    expect(await shows('550')).toBe(true);
    // Only changed regions are sent after the first full frame.
    const last = sim.mcu.display.blits.at(-1)!;
    expect(last.width * last.height).toBeLessThan(240 * 128);
  });

  it('rings for an incoming call with the caller on the display, talks with a timer, and returns to idle', async () => {
    const { sim, clock, shows, app } = await boot();
    const states: string[] = [];
    app.bus.on('test', 'phoneStateChanged', ({ state }) => void states.push(state));
    sim.line!.injectIncoming({ number: '13800138000', name: '王力' });
    expect(await shows('王力')).toBe(true);
    expect(await shows('13800138000')).toBe(true);
    expect(sim.mcu.indicators.ringer.cadence).toEqual([2000, 4000]);
    expect(sim.mcu.indicators.leds.line).toEqual({ blink: { onMs: 250, offMs: 250 } });

    sim.mcu.keypad.setHook(true);
    await app.phone.settled();
    expect(sim.mcu.indicators.ringer.cadence).toBeNull();
    expect(sim.mcu.audioRoute.route).toEqual({ device: 'handset', line: false });
    expect(sim.mcu.indicators.leds.line).toBe('on');
    expect(await shows('00:00')).toBe(true);
    clock.advance(65_000);
    expect(await shows('01:05')).toBe(true);

    sim.mcu.keypad.setHook(false);
    expect(await shows('Garden Shop')).toBe(true);
    expect(states).toEqual(['ringing', 'talking', 'idle']);
    expect(sim.mcu.indicators.leds.line).toBe('off');
  });

  it('dials off-hook after the inter-digit timeout and the simulated far end answers', async () => {
    const { sim, clock, shows, app } = await boot({ phone: { dialTimeoutMs: 3000 }, simLine: { answerAfterMs: 1500 } });
    sim.mcu.keypad.setHook(true);
    for (const key of ['8', '0', '0'] as const) sim.mcu.keypad.press(key);
    clock.advance(2999);
    expect(app.phone.describe().state).toBe('dialing');
    clock.advance(1);
    expect(await shows('Ringing...')).toBe(true);
    clock.advance(1500);
    expect(app.phone.describe().state).toBe('talking');
    expect(await shows('Connected')).toBe(true);
    sim.line!.remoteHangup();
    expect(await shows('Call ended')).toBe(true);
  });

  it('publishes key and hook facts on the bus', async () => {
    const { sim, app } = await boot();
    const facts: string[] = [];
    app.bus.on('test', 'keyPressed', ({ key }) => void facts.push(`key ${key}`));
    app.bus.on('test', 'hookChanged', ({ offHook, source }) => void facts.push(`hook ${offHook} ${source}`));
    sim.mcu.keypad.press('7');
    sim.mcu.keypad.setHook(true);
    expect(facts).toEqual(['key 7', 'hook true handset']);
  });

  it('a missing font fails the phone service with a clear error and leaves the others running', async () => {
    const { config } = validateConfig({ board: 'sim', web: { port: 0 }, display: { font: '/nonexistent/unifont.hex' } });
    const dir = mkdtempSync(join(tmpdir(), 'app-'));
    const app = createApp({ config: config as Config, board: await loadBoard('sim'), dataDir: dir, log: captureLogger().log, clock: new FakeClock(), socketPath: join(dir, 'c.sock') });
    apps.push(app);
    const report = await app.start();
    expect(report.find((r) => r.name === 'phone')).toMatchObject({ status: 'failed', error: expect.stringMatching(/apt-get install unifont/) });
    expect(report.find((r) => r.name === 'web')?.status).toBe('running');
  });
});

describe('customers on the sim board', () => {
  it('pops a saved customer with their history on the display; a missed call is listed and called back with one key', async () => {
    const { app, sim, shows } = await boot({ device: { name: 'Garden Shop', country: 'CN' } });
    const pops: Array<BusEvents['screenPopped']> = [];
    app.bus.on('test', 'screenPopped', (pop) => void pops.push(pop));
    const wang = await app.contacts.repository.create({
      name: '王丽', company: 'Garden Cafe', numbers: ['138 0013 8000'], tags: ['vip'], notes: 'Deliver to the back door',
      due: [{ kind: 'renewal', date: '2026-12-01' }],
    });
    const first = sim.line!.injectIncoming({ number: '13800138000', name: null });
    expect(await shows('王丽')).toBe(true);
    expect(await shows('Garden Cafe')).toBe(true);
    expect(await shows('138 0013 8000')).toBe(true);
    expect(await shows('No calls yet')).toBe(true);
    expect(pops.at(-1)).toMatchObject({ callId: first.info.callId, contact: { id: wang.id, name: '王丽', tag: 'vip', note: 'Deliver to the back door' }, openItems: ['renewal due 2026-12-01'] });
    sim.line!.remoteHangup(first.info.callId);
    await app.history.settled();
    expect(await shows('1 missed call')).toBe(true);

    // rings again: one earlier interaction (the missed call) on the display
    const second = sim.line!.injectIncoming({ number: '+86 138 0013 8000', name: null });
    expect(await shows('1 contact, last')).toBe(true);
    expect(pops.at(-1)).toMatchObject({ callId: second.info.callId, interactionCount: 1, recent: [{ kind: 'call', summary: 'missed' }] });
    sim.line!.remoteHangup(second.info.callId);
    await app.history.settled();
    expect(await shows('2 missed calls')).toBe(true);

    // the missed-calls list: one key calls back, and calling back clears them
    sim.mcu.keypad.press('history');
    expect(await shows('Missed calls (2)')).toBe(true);
    sim.mcu.keypad.press('ok');
    await app.phone.settled();
    expect(app.phone.describe()).toMatchObject({ state: 'calling' });
    // the newest missed call first, its number as it can be dialled
    expect(sim.line!.calls().at(-1)!.info).toMatchObject({ direction: 'outbound', number: '+8613800138000' });
    await app.history.settled();
    await waitFor(() => app.history.repository.missedCount === 0, 'the missed calls handled');
  });

  it('an unknown caller is offered for saving after the call, and is known by name the next time', async () => {
    const { app, sim, shows } = await boot();
    const call = sim.line!.injectIncoming({ number: '2125550199', name: null });
    expect(await shows('(212) 555-0199')).toBe(true);
    expect(await shows('New caller')).toBe(true);
    sim.line!.remoteHangup(call.info.callId);
    expect(await shows('Save')).toBe(true);
    sim.mcu.keypad.press('soft2');
    expect(await shows('Save contact')).toBe(true);
    for (const key of ['2', '6', '6', 'right', '6', '6', 'ok'] as const) sim.mcu.keypad.press(key);
    expect(await shows('Saved Ann')).toBe(true);
    await waitFor(() => app.contacts.repository.findByNumber('+12125550199') !== undefined, 'the contact saved');
    expect(app.contacts.repository.findByNumber('(212) 555-0199')!.entry.name).toBe('Ann');
    sim.line!.injectIncoming({ number: '2125550199', name: null });
    expect(await shows('Ann')).toBe(true);
  });

  it('a contact that cannot be saved says so on the display and offers saving again', async () => {
    const { app, sim, shows } = await boot();
    const call = sim.line!.injectIncoming({ number: '2125550177', name: null });
    sim.line!.remoteHangup(call.info.callId);
    expect(await shows('Save')).toBe(true);
    await app.contacts.stop(); // the contacts are not available (e.g. the store failed)
    sim.mcu.keypad.press('soft2');
    for (const key of ['2', 'ok'] as const) sim.mcu.keypad.press(key);
    await waitFor(() => app.phone.model.state.name === 'idle' && (app.phone.model.state.notice ?? '').startsWith('Not saved'), 'the failure shown');
    expect(await shows('Not saved')).toBe(true);
    expect(app.phone.model.offerSave).toBe('2125550177');
  });
});

describe('the analog line on the sim board', () => {
  it('a ring with caller ID shows the caller; off-hook seizes the line; keys dial DTMF; on-hook releases', async () => {
    const { sim, shows, app } = await boot();
    sim.mcu.line.injectRing(true);
    expect(await shows('Incoming call')).toBe(true);
    sim.callerId.inject({ format: 'sdmf', number: '2125551234', name: null });
    expect(await shows('(212) 555-1234')).toBe(true);
    sim.mcu.keypad.setHook(true);
    await app.phone.settled();
    expect(sim.mcu.line.seized).toBe(true);
    sim.mcu.keypad.press('4');
    sim.mcu.keypad.press('2');
    await app.phone.settled();
    await new Promise((r) => setImmediate(r));
    sim.mcu.keypad.setHook(false);
    await app.phone.settled();
    expect(sim.mcu.line.actions).toEqual([{ action: 'seize' }, { action: 'dial', digits: '4' }, { action: 'dial', digits: '2' }, { action: 'release' }]);
    expect(await shows('Garden Shop')).toBe(true);
  });
});

describe('USB handsets on the sim board', () => {
  it('a hot-plugged HID handset answers calls with its hook switch and gets the LEDs echoed', async () => {
    const { sim, app, shows } = await boot();
    const peripherals: string[] = [];
    app.bus.on('test', 'peripheralChanged', ({ id, attached }) => void peripherals.push(`${id}:${attached}`));
    sim.hid.attach({ id: 'hidraw3', vendorId: 0x0b0e, productId: 0x0412, product: 'USB Speakerphone' });
    expect(peripherals).toEqual(['hidraw3:true']);
    sim.line!.injectIncoming({ number: '13800138000', name: null });
    await app.phone.settled();
    await new Promise((r) => setImmediate(r));
    expect(sim.hid.leds.get('hidraw3')).toMatchObject({ ring: true, offHook: false });
    sim.hid.injectHook('hidraw3', true);
    await app.phone.settled();
    await new Promise((r) => setImmediate(r));
    expect(app.phone.describe().state).toBe('talking');
    expect(sim.hid.leds.get('hidraw3')).toMatchObject({ ring: false, offHook: true });
    sim.hid.injectKey('hidraw3', '9');
    sim.hid.injectHook('hidraw3', false);
    expect(await shows('Garden Shop')).toBe(true);
    sim.hid.detach('hidraw3');
    expect(peripherals).toEqual(['hidraw3:true', 'hidraw3:false']);
  });
});

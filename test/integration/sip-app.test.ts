import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createApp, type App } from '../../src/app/app.js';
import { loadBoard } from '../../src/board/board.js';
import { validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/log.js';
import { projectRoot } from '../../src/core/paths.js';
import { loadUnifont, type BitmapFont } from '../../src/display/font.js';
import { findText } from '../support/display-text.js';
import { waitFor } from '../support/mcu.js';
import { makeTempDir, startBaresip, startKamailio, stopAllPeers, type Baresip, type Kamailio } from '../support/index.js';
import { writeToneWav } from '../support/audio.js';

/**
 * The whole phone on the sim board with two SIP accounts (alice and 1000, one socket) at a real
 * Kamailio: baresip (bob) calls it, the display shows bob, lifting the handset answers, and a BYE
 * from either side ends the call; each account gets its own calls; strangers' INVITEs get 403.
 */
let kam: Kamailio;
let bob: Baresip;
let app: App;
let font: BitmapFont;
let dataDir: string;

beforeAll(async () => {
  font = await loadUnifont();
  const dir = await makeTempDir('sip-app');
  const tone = join(dir, 'tone.wav');
  await writeToneWav(tone, { frequency: 440, seconds: 30 });
  kam = await startKamailio({ minExpires: 10 });
  bob = await startBaresip({ sourceWav: tone, recordDir: join(dir, 'bob'), accounts: [{ user: 'bob', registrar: kam.domain, password: 'bobpw' }], waitRegistered: true, lifetimeSec: 120 });
  const { config, issues } = validateConfig({
    board: 'sim', web: { port: 0 }, device: { name: 'Garden Shop' },
    sip: {
      listen: { udp: 0, tcp: 0 },
      accounts: [
        { id: 'main', uri: `sip:alice@${kam.domain}`, password: 'alicepw', expires: 60 },
        { id: 'front', uri: `sip:1000@${kam.domain}`, password: 'secret1000', expires: 60 },
      ],
    },
  });
  if (!config) throw new Error(JSON.stringify(issues));
  dataDir = mkdtempSync(join(tmpdir(), 'sip-app-'));
  app = createApp({ config: config as Config, board: await loadBoard('sim'), dataDir, log: silentLogger(), socketPath: join(dataDir, 'ctl.sock'), env: {} });
  const report = await app.start();
  expect(report.filter((r) => r.status !== 'running')).toEqual([]);
  await waitFor(() => app.sipLines.every((l) => l.account?.state === 'registered'), 'alice and 1000 registered', 10_000);
}, 60_000);

afterAll(async () => {
  await app?.stop();
  await stopAllPeers();
}, 30_000);

const shows = async (text: string) => {
  await app.phone.settled();
  return findText(app.sim!.mcu.display, font, text) !== null;
};

async function bobCalls(user = 'alice'): Promise<void> {
  const dial = await bob.command('dial', `sip:${user}@${kam.domain}`);
  expect(dial.ok).toBe(true);
  await waitFor(() => app.phone.describe().state === 'ringing', 'ringing', 8000);
}

describe('a SIP line in the running phone', () => {
  it('rings with the caller, answers on off-hook, and ends when the far end sends BYE', async () => {
    await bobCalls();
    expect(app.phone.describe().call).toMatchObject({ number: 'bob', lineKind: 'sip', direction: 'inbound' });
    expect(await shows('bob')).toBe(true);
    expect(app.sim!.mcu.indicators.ringer.cadence).not.toBeNull();
    app.sim!.mcu.keypad.setHook(true);
    await waitFor(() => app.phone.describe().state === 'talking', 'talking', 5000);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await bob.command('hangup')).ok).toBe(true);
    await waitFor(() => app.phone.describe().state === 'idle', 'idle after BYE', 5000);
    expect(await shows('Call ended')).toBe(true);
    app.sim!.mcu.keypad.setHook(false);
    const recordings = readdirSync(join(dataDir, 'recordings')).filter((f) => f.endsWith('.wav'));
    expect(recordings).toHaveLength(1);
  });

  it('the phone hanging up sends BYE and the far end ends the call too', async () => {
    await bobCalls();
    app.sim!.mcu.keypad.press('speaker');
    await waitFor(() => app.phone.describe().state === 'talking', 'talking', 5000);
    app.sim!.mcu.keypad.press('speaker');
    await waitFor(() => app.phone.describe().state === 'idle', 'idle', 5000);
    let calls = '';
    for (let i = 0; i < 50; i++) {
      calls = (await bob.command('listcalls')).data;
      if (!/alice/.test(calls)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(calls).not.toMatch(/alice/);
  });

  it('survives every RFC 4475 torture message on its UDP port and still takes calls', async () => {
    const fixtures = join(projectRoot(), 'test', 'fixtures', 'rfc4475');
    const files = readdirSync(fixtures).filter((f) => f.endsWith('.dat')).sort();
    expect(files).toHaveLength(49);
    const port = app.sipLines[0].account!.localPort;
    const socket = createSocket('udp4');
    const replies: string[] = [];
    socket.on('message', (m) => replies.push(m.toString('latin1').split('\r\n')[0]));
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    for (const file of files) {
      await new Promise<void>((resolve, reject) => socket.send(readFileSync(join(fixtures, file)), port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 1000));
    socket.close();
    // whatever came back is well-formed SIP, never a success for these requests to unknown dialogs
    for (const reply of replies) expect(reply).toMatch(/^SIP\/2\.0 [1-6]\d\d /);
    // torture INVITEs may have rung the phone: clear them, then a real call still works
    for (let i = 0; i < 5 && app.phone.describe().state !== 'idle'; i++) {
      app.sim!.mcu.keypad.press('cancel');
      await new Promise((r) => setTimeout(r, 200));
    }
    await waitFor(() => app.phone.describe().state === 'idle', 'idle after the torture', 10_000);
    await bobCalls();
    expect(app.phone.describe().call).toMatchObject({ number: 'bob' });
    app.sim!.mcu.keypad.press('cancel');
    await waitFor(() => app.phone.describe().state === 'idle', 'idle', 5000);
  });

  it('a second account on the same socket receives its own calls', async () => {
    const [main, front] = app.sipLines;
    expect(front.account!.localPort).toBe(main.account!.localPort);
    expect(front.account!.endpoint).toBe(main.account!.endpoint);
    await bobCalls('1000');
    expect(app.phone.describe().call).toMatchObject({ number: 'bob', lineId: 'front' });
    expect(main.calls()).toHaveLength(0);
    expect(front.calls()).toHaveLength(1);
    app.sim!.mcu.keypad.press('cancel');
    await waitFor(() => app.phone.describe().state === 'idle', 'idle', 5000);
    await bobCalls('alice');
    expect(app.phone.describe().call).toMatchObject({ number: 'bob', lineId: 'main' });
    expect(front.calls()).toHaveLength(0);
    app.sim!.mcu.keypad.press('cancel');
    await waitFor(() => app.phone.describe().state === 'idle', 'idle', 5000);
  });

  it('an INVITE from an address that is neither the registrar nor allowed gets 403 and does not ring', async () => {
    const port = app.sipLines[0].account!.localPort;
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.2', () => r()));
    const reply = new Promise<string>((resolve) => socket.once('message', (m) => resolve(m.toString())));
    const from = `127.0.0.2:${socket.address().port}`;
    const invite =
      `INVITE sip:alice@127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP ${from};branch=z9hG4bKscan1;rport\r\nMax-Forwards: 70\r\n` +
      `From: "100" <sip:100@${from}>;tag=scan\r\nTo: <sip:alice@127.0.0.1>\r\nCall-ID: scan-1@127.0.0.2\r\nCSeq: 1 INVITE\r\n` +
      `Contact: <sip:100@${from}>\r\nContent-Length: 0\r\n\r\n`;
    try {
      socket.send(invite, port, '127.0.0.1');
      expect(await reply).toMatch(/^SIP\/2\.0 403 /);
      await new Promise((r) => setTimeout(r, 300));
      expect(app.phone.describe().state).toBe('idle');
    } finally {
      socket.close();
    }
  });

  it('a wrong password shows on the idle screen instead of retrying in a loop', async () => {
    const { config } = validateConfig({
      board: 'sim', web: { port: 0 }, simLine: { enabled: false }, analogLine: { enabled: false },
      sip: { listen: { udp: 0, tcp: 0 }, accounts: [{ id: 'desk', uri: `sip:alice@${kam.domain}`, password: 'not-the-password' }] },
    });
    const dir = mkdtempSync(join(tmpdir(), 'sip-app-bad-'));
    const bad = createApp({ config: config as Config, board: await loadBoard('sim'), dataDir: dir, log: silentLogger(), socketPath: join(dir, 'ctl.sock'), env: {} });
    const statuses: string[] = [];
    bad.bus.on('test', 'lineStatusChanged', ({ lineId, state, problem }) => void statuses.push(`${lineId} ${state} ${problem ?? ''}`.trim()));
    try {
      await bad.start();
      await waitFor(() => bad.sipLines[0].account?.state === 'auth-failed', 'auth-failed', 10_000);
      await bad.phone.settled();
      expect(findText(bad.sim!.mcu.display, font, 'desk: wrong password')).not.toBeNull();
      expect(statuses).toContain('desk failed wrong password');
      expect(statuses.filter((s) => s.includes('connecting')).length).toBeLessThanOrEqual(2);
    } finally {
      await bad.stop();
    }
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createApp, type App } from '../../src/app/app.js';
import { loadBoard } from '../../src/board/board.js';
import { validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { LineStatus } from '../../src/calls/types.js';
import { silentLogger } from '../../src/core/log.js';
import { waitFor } from '../support/mcu.js';
import { makeTempDir, startBaresip, startKamailio, stopAllPeers, writeToneWav, type Baresip, type Kamailio } from '../support/index.js';
import { makeTestCa, type TestCa } from '../support/tls.js';

/**
 * The phone's accounts over TLS (server certificate verified against the configured CA) and over
 * WebSocket (RFC 7118) at a real Kamailio: both register, call baresip (bob, on UDP) and are
 * called by it over the flow they opened; a server whose certificate the phone cannot verify is
 * refused and says so on the line.
 */
let kam: Kamailio;
let bob: Baresip;
let ca: TestCa;
const apps: App[] = [];

beforeAll(async () => {
  ca = await makeTestCa();
  const dir = await makeTempDir('sip-tls');
  const tone = join(dir, 'tone.wav');
  await writeToneWav(tone, { frequency: 440, seconds: 30 });
  kam = await startKamailio({ websocket: true, tls: { certFile: ca.serverCertFile, keyFile: ca.serverKeyFile } });
  bob = await startBaresip({ sourceWav: tone, recordDir: join(dir, 'bob'), accounts: [{ user: 'bob', registrar: kam.domain, password: 'bobpw' }], waitRegistered: true, lifetimeSec: 120 });
}, 60_000);

afterAll(async () => {
  for (const app of apps) await app.stop();
  await stopAllPeers();
}, 30_000);

async function phone(sip: Record<string, unknown>): Promise<{ app: App; statuses: string[] }> {
  const { config, issues } = validateConfig({ board: 'sim', web: { port: 0 }, simLine: { enabled: false }, analogLine: { enabled: false }, sip: { listen: { udp: 0, tcp: 0 }, autoAnswer: false, ...sip } });
  if (!config) throw new Error(JSON.stringify(issues));
  const dataDir = mkdtempSync(join(tmpdir(), 'sip-tls-'));
  const app = createApp({ config: config as Config, board: await loadBoard('sim'), dataDir, log: silentLogger(), socketPath: join(dataDir, 'ctl.sock'), env: {} });
  apps.push(app);
  const statuses: string[] = [];
  app.bus.on('test', 'lineStatusChanged', (s: LineStatus & { lineId: string }) => void statuses.push(`${s.lineId} ${s.state} ${s.problem ?? ''}`.trim()));
  const report = await app.start();
  expect(report.filter((r) => r.status !== 'running')).toEqual([]);
  return { app, statuses };
}

async function callsBobAndHangsUp(app: App, lineIndex: number): Promise<void> {
  const call = await app.sipLines[lineIndex].placeCall('bob');
  await waitFor(() => call.state === 'active', `call to bob on line ${lineIndex} answered`, 10_000);
  await call.hangup();
  await waitFor(() => call.state === 'ended', 'call ended', 5000);
}

async function bobCallsAndPhoneRings(app: App, user: string, lineId: string): Promise<void> {
  expect((await bob.command('dial', `sip:${user}@${kam.domain}`)).ok).toBe(true);
  await waitFor(() => app.phone.describe().state === 'ringing', `ringing for ${user}`, 10_000);
  expect(app.phone.describe().call).toMatchObject({ number: 'bob', lineId });
  app.sim!.mcu.keypad.press('cancel');
  await waitFor(() => app.phone.describe().state === 'idle', 'idle', 5000);
}

describe('SIP over TLS and WebSocket', () => {
  let app: App;

  beforeAll(async () => {
    ({ app } = await phone({
      tls: { caFile: ca.caCertFile },
      accounts: [
        { id: 'secure', uri: `sip:alice@${kam.domain}`, password: 'alicepw', registrar: `sip:127.0.0.1:${kam.tlsPort}`, transport: 'tls', expires: 60 },
        { id: 'web', uri: `sip:1000@${kam.domain}`, password: 'secret1000', registrar: `sip:127.0.0.1:${kam.wsPort}`, transport: 'ws', expires: 60 },
      ],
    }));
    await waitFor(() => app.sipLines.every((l) => l.account?.state === 'registered'), 'both accounts registered', 15_000);
  }, 30_000);

  it('registers over TLS and over WebSocket, each on a connection the phone opened', () => {
    const endpoint = app.sipLines[0].account!.endpoint!;
    expect(endpoint.connectionCount).toBe(2);
  });

  it('calls out over TLS and over WebSocket', async () => {
    await callsBobAndHangsUp(app, 0);
    await callsBobAndHangsUp(app, 1);
  });

  it('is called over the TLS and WebSocket flows it keeps open', async () => {
    await bobCallsAndPhoneRings(app, 'alice', 'secure');
    await bobCallsAndPhoneRings(app, '1000', 'web');
  });
});

describe('a server certificate the phone cannot verify', () => {
  it('is refused: nothing is registered and the line says the server certificate is not trusted', async () => {
    const otherCa = await makeTestCa('Somebody Else CA');
    const { app, statuses } = await phone({
      tls: { caFile: otherCa.caCertFile },
      accounts: [{ id: 'secure', uri: `sip:alice@${kam.domain}`, password: 'alicepw', registrar: `sip:127.0.0.1:${kam.tlsPort}`, transport: 'tls', expires: 60 }],
    });
    const line = app.sipLines[0];
    await waitFor(() => line.account?.state === 'failed', 'registration failed', 10_000);
    expect(line.account!.reason?.message).toMatch(/certificate/i);
    expect(statuses.at(-1)).toBe('secure failed server certificate not trusted');
    await app.stop();
  });
});

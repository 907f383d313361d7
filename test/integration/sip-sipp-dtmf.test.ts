// RFC 2833/4733 DTMF from sipp reaches the running phone's bus (issue #4: "sipp plays RFC 2833
// DTMF: the phone reports the digits"). The whole phone (createApp, sim board) has a SIP account
// registered at a real Kamailio and answers automatically. sipp plays the telephone-event pcaps
// that ship with it (/usr/share/sip-tester/dtmf_2833_*.pcap); what each pcap holds is decoded
// here from the file, so the expected digits and durations come from the pcaps themselves.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createApp, type App } from '../../src/app/app.js';
import { loadBoard } from '../../src/board/board.js';
import { validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { BusEvents } from '../../src/core/events.js';
import { silentLogger } from '../../src/core/log.js';
import { waitFor } from '../support/mcu.js';
import {
  freePortRange,
  freeUdpPort,
  makeTempDir,
  readPcapTelephoneEvents,
  SIPP_PCAPS,
  SIPP_SCENARIOS,
  sippListening,
  sippPlayPcaps,
  sippScenarioPath,
  startKamailio,
  startSipp,
  stopAllPeers,
  writeSippScenario,
  type Kamailio,
} from '../support/index.js';

/** RFC 4733 section 3.2: events 0-9 are the digits, 10 is *, 11 is #, 12-15 are A-D. */
const RFC4733_DTMF = '0123456789*#ABCD';

interface PcapDigit {
  digit: string;
  /** the final duration the pcap's end packets carry, in ms at 8 kHz */
  durationMs: number;
  /** the pcap's length in ms */
  lengthMs: number;
}

/** The one key press a sipp DTMF pcap carries, decoded from its packets. */
async function pcapDigit(pcap: string): Promise<PcapDigit> {
  const packets = await readPcapTelephoneEvents(pcap);
  const events = new Set(packets.map((p) => `${p.ssrc}:${p.timestamp}:${p.event}`));
  if (events.size !== 1) throw new Error(`${pcap}: ${events.size} telephone events, expected one key press`);
  const ends = packets.filter((p) => p.end);
  if (ends.length === 0) throw new Error(`${pcap}: no end packet`);
  return {
    digit: RFC4733_DTMF[packets[0].event],
    durationMs: Math.max(...ends.map((p) => p.duration)) / 8,
    lengthMs: packets.at(-1)!.at * 1000,
  };
}

let kam: Kamailio;
let app: App;
let dir: string;
const dtmf: Array<BusEvents['dtmfReceived']> = [];
const calls: Array<BusEvents['callStateChanged']> = [];

beforeAll(async () => {
  dir = await makeTempDir('sip-sipp-dtmf');
  kam = await startKamailio({ minExpires: 10 });
  const { config, issues } = validateConfig({
    board: 'sim', web: { port: 0 }, device: { name: 'DTMF desk' },
    sip: { listen: { udp: 0, tcp: 0 }, autoAnswer: true, accounts: [{ id: 'main', uri: `sip:alice@${kam.domain}`, password: 'alicepw', expires: 60 }] },
  });
  if (!config) throw new Error(JSON.stringify(issues));
  const dataDir = mkdtempSync(join(tmpdir(), 'sip-sipp-dtmf-'));
  app = createApp({ config: config as Config, board: await loadBoard('sim'), dataDir, log: silentLogger(), socketPath: join(dataDir, 'ctl.sock'), env: {} });
  app.bus.on('test', 'dtmfReceived', (e) => void dtmf.push(e));
  app.bus.on('test', 'callStateChanged', (e) => void calls.push(e));
  const report = await app.start();
  expect(report.filter((r) => r.status !== 'running')).toEqual([]);
  await waitFor(() => app.sipLines[0].account?.state === 'registered', 'alice registered', 10_000);
}, 60_000);

afterAll(async () => {
  await app?.stop();
  await stopAllPeers();
}, 30_000);

/** The digits the bus reported for one call, in order. */
const digitsOf = (callId: string) => dtmf.filter((e) => e.callId === callId);

describe('RFC 2833 DTMF from sipp reaches the phone bus', () => {
  it('sipp calls the phone (auto-answered), plays G.711 audio then four DTMF pcaps: each key press is reported once, in order', async () => {
    const pcaps = [SIPP_PCAPS.dtmf(1), SIPP_PCAPS.dtmf(5), SIPP_PCAPS.dtmfStar, SIPP_PCAPS.dtmfPound];
    const expected = await Promise.all(pcaps.map(pcapDigit));
    const playback = sippPlayPcaps([
      { pcap: SIPP_PCAPS.g711a, pauseMs: 1000 },
      // each digit's pcap is ~140 ms; the gap keeps the key presses apart
      // the last one plays while sipp already waits for the phone's BYE
      ...pcaps.map((pcap, i) => ({ pcap, pauseMs: i === pcaps.length - 1 ? 0 : expected[i].lengthMs + 400 })),
    ]);
    const scenario = await writeSippScenario(SIPP_SCENARIOS.uacPcap, dir, { PLAYBACK: playback });
    const phonePort = app.sipLines[0].account!.localPort;
    expect(phonePort).toBeGreaterThan(0);
    const media = await freePortRange(4);
    const before = calls.length;
    const sipp = await startSipp([`127.0.0.1:${phonePort}`, '-sf', scenario, '-s', 'alice', '-m', '1', '-mi', '127.0.0.1', '-mp', String(media.first)], { timeoutSec: 30 });
    await waitFor(() => calls.slice(before).some((c) => c.number === 'sipp' && c.state === 'active'), 'the call from sipp answered', 10_000);
    const callId = calls.slice(before).find((c) => c.number === 'sipp')!.callId;
    await waitFor(() => digitsOf(callId).length >= expected.length, `${expected.length} digits from sipp`, 15_000);
    // the phone hangs up; sipp's scenario ends with the 200 OK to that BYE
    await waitFor(() => app.phone.describe().state === 'talking', 'talking', 5000);
    app.sim!.mcu.keypad.press('cancel');
    const result = await sipp.exited;
    expect({ code: result.code, output: result.code === 0 ? '' : result.output }).toEqual({ code: 0, output: '' });

    await waitFor(() => app.phone.describe().state === 'idle', 'idle after hanging up', 5000);
    const mine = calls.slice(before).filter((c) => c.callId === callId);
    expect(mine.map((c) => c.state)).toEqual(['ringing', 'active', 'ended']);
    expect(mine.at(-1)).toMatchObject({ direction: 'inbound', lineKind: 'sip', number: 'sipp', reason: 'local-hangup' });
    const got = digitsOf(callId);
    expect(got.map((e) => e.digit)).toEqual(expected.map((e) => e.digit));
    for (const [i, e] of got.entries()) {
      expect(e.lineId).toBe(app.sipLines[0].id);
      // loopback loses nothing: the end packets' duration (a lost last update would cost 40 ms)
      expect(e.durationMs).toBeGreaterThanOrEqual(expected[i].durationMs - 40);
      expect(e.durationMs).toBeLessThanOrEqual(expected[i].durationMs);
    }
  }, 40_000);

  it('the phone calls sipp (registered at Kamailio as 1000) through the proxy; sipp plays audio and a DTMF pcap', async () => {
    const pcap = SIPP_PCAPS.dtmf(7);
    const expected = await pcapDigit(pcap);
    // sipp registers 1000 from the port its UAS will then listen on, so Kamailio routes 1000 there
    const sippPort = await freeUdpPort();
    const reg = await startSipp([kam.domain, '-sf', sippScenarioPath(SIPP_SCENARIOS.regAuth), '-s', '1000', '-au', '1000', '-ap', 'secret1000', '-m', '1', '-p', String(sippPort)], { timeoutSec: 15 });
    expect((await reg.exited).code).toBe(0);
    const scenario = await writeSippScenario(SIPP_SCENARIOS.uasPcap, dir, { AUDIO_PCAP: SIPP_PCAPS.g711a, DTMF_PCAP: pcap });
    const media = await freePortRange(4);
    const uas = await startSipp(['-sf', scenario, '-m', '1', '-p', String(sippPort), '-mi', '127.0.0.1', '-mp', String(media.first)], {
      ready: sippListening(sippPort),
      timeoutSec: 30,
    });

    const before = calls.length;
    for (const key of ['1', '0', '0', '0', 'speaker'] as const) app.sim!.mcu.keypad.press(key);
    await waitFor(() => calls.slice(before).some((c) => c.number === '1000' && c.state === 'active'), 'the call to 1000 answered', 10_000);
    const callId = calls.slice(before).find((c) => c.number === '1000')!.callId;
    await waitFor(() => app.phone.describe().state === 'talking', 'talking', 5000);
    // uas-pcap.xml plays the DTMF pcap 1 s after the ACK
    await waitFor(() => digitsOf(callId).length > 0, 'the digit from sipp', 8000);
    app.sim!.mcu.keypad.press('speaker');
    await waitFor(() => app.phone.describe().state === 'idle', 'idle after hanging up', 5000);
    const result = await uas.exited;
    expect({ code: result.code, output: result.code === 0 ? '' : result.output }).toEqual({ code: 0, output: '' });

    const got = digitsOf(callId);
    expect(got).toEqual([{ callId, lineId: app.sipLines[0].id, digit: expected.digit, durationMs: expect.any(Number) }]);
    expect(got[0].durationMs).toBeGreaterThanOrEqual(expected.durationMs - 40);
    expect(got[0].durationMs).toBeLessThanOrEqual(expected.durationMs);
    const states = calls.slice(before).filter((c) => c.callId === callId).map((c) => c.state);
    expect(states[0]).toBe('dialing');
    expect(states.slice(-2)).toEqual(['active', 'ended']);
  }, 40_000);
});

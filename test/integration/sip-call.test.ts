// SIP calls end to end: the phone's SipLine (account alice) registers at a real Kamailio and
// talks to baresip (account bob) through it. Audio goes both ways over RTP (G.711) through the
// media engine; each side's recording is checked against the other side's source speech by
// normalized cross-correlation after alignment.

import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SystemClock } from '../../src/core/clock.js';
import type { CallEndReason, CallState } from '../../src/core/events.js';
import type { Call } from '../../src/calls/types.js';
import { MediaEngine } from '../../src/media/engine.js';
import { SipLine, type SipCall, type SipLineSettings } from '../../src/sip/line.js';
import type { RtpSessionDescriptionHandler } from '../../src/sip/sdp/handler.js';
import type { SipAccountState } from '../../src/sip/registration/index.js';
import { makeTempDir, startBaresip, startKamailio, stopAllPeers, type Baresip, type Kamailio } from '../support/index.js';
import { alignedCorrelation, makeSpeech, parseWav } from '../support/audio.js';
import { startTestSipLine } from '../support/sip-line.js';
import { waitForValue } from '../support/wait.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let kam: Kamailio;
let bob: Baresip;
let engine: MediaEngine;
let line: SipLine;
let clock: SystemClock;
let dir: string;
let bobRecordDir: string;
let bobSpeech: Int16Array;
let aliceSpeech: Int16Array;
/** the phone records every call here */
let recordDir: string;
const settings: SipLineSettings = { autoAnswer: false };

// ---- waiting helpers ---------------------------------------------------------------------------

function track(call: Call): { states: Array<{ state: CallState; reason?: CallEndReason }> } {
  const t = { states: [] as Array<{ state: CallState; reason?: CallEndReason }> };
  call.on('stateChanged', (s) => t.states.push(s));
  return t;
}

function waitState(call: Call, state: CallState, timeoutMs = 10_000): Promise<void> {
  return waitForValue(`call ${call.info.callId} ${state} (now ${call.state})`, () => call.state === state, timeoutMs).then(() => undefined);
}

function waitAccount(state: SipAccountState, timeoutMs = 10_000): Promise<void> {
  return waitForValue(`alice ${state}`, () => line.account?.state === state, timeoutMs).then(() => undefined);
}

async function listCalls(): Promise<string> {
  return (await bob.command('listcalls')).data;
}

/** baresip's newest *-dec.wav (what it received) once it is complete. */
async function newestDecWav(after: number): Promise<string> {
  {
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline) {
      const names = (await readdir(bobRecordDir)).filter((n) => n.endsWith('-dec.wav'));
      const fresh: Array<{ p: string; m: number; size: number }> = [];
      for (const n of names) {
        const p = join(bobRecordDir, n);
        const s = await stat(p);
        if (s.mtimeMs >= after) fresh.push({ p, m: s.mtimeMs, size: s.size });
      }
      fresh.sort((a, b) => b.m - a.m);
      const f = fresh[0];
      if (f && f.size > 44) {
        const header = parseWav(await readFile(f.p)).data[0].length;
        if (header > 8000) return f.p;
      }
      await sleep(100);
    }
    throw new Error(`no complete *-dec.wav in ${bobRecordDir}`);
  }
}

// ---- setup -------------------------------------------------------------------------------------

beforeAll(async () => {
  dir = await makeTempDir('sip-call');
  bobRecordDir = join(dir, 'bob-rec');
  const [bobSrc, aliceSrc] = await Promise.all([
    makeSpeech('The quick brown fox jumps over the lazy dog', dir, 'bob-speech', 1.5, 20),
    makeSpeech('Seven silver swans swim south in summer', dir, 'alice-speech'),
  ]);
  bobSpeech = bobSrc.samples;
  aliceSpeech = aliceSrc.samples;
  kam = await startKamailio({ minExpires: 10 });
  bob = await startBaresip({
    sourceWav: bobSrc.path,
    recordDir: bobRecordDir,
    accounts: [{ user: 'bob', registrar: kam.domain, password: 'bobpw', answermode: 'auto' }],
    waitRegistered: true,
    lifetimeSec: 120,
  });
  engine = new MediaEngine();
  await engine.start();
  clock = new SystemClock('always');
  recordDir = join(dir, 'phone-rec');
  line = await startTestSipLine({ domain: kam.domain, engine, clock, settings: () => settings, recordDir });
  await waitAccount('registered');
}, 45_000);

afterAll(async () => {
  await line?.stop().catch(() => undefined);
  await engine?.stop().catch(() => undefined);
  clock?.dispose();
  await stopAllPeers();
}, 20_000);

describe('SipLine through Kamailio with baresip', () => {
  it('calls bob: active, audio both ways, hangs up with BYE', async () => {
    const startedAt = Date.now() - 1000;
    const call = (await line.placeCall('bob')) as SipCall;
    const t = track(call);
    expect(call.info).toMatchObject({ direction: 'outbound', number: 'bob', lineKind: 'sip' });
    await waitState(call, 'active', 10_000);
    const sdh = call.session.sessionDescriptionHandler as RtpSessionDescriptionHandler;
    expect(sdh.mediaParams).toMatchObject({ remoteAddress: '127.0.0.1', codec: expect.stringMatching(/PCM[UA]/) });
    await engine.play(call.info.callId, aliceSpeech, false);
    expect(await listCalls()).toMatch(/alice/);

    await sleep(5000);
    await call.hangup();
    await waitState(call, 'ended', 5000);
    expect(t.states.at(-1)).toEqual({ state: 'ended', reason: 'local-hangup' });
    expect(t.states.map((s) => s.state)).not.toContain('ringing');
    await sdh.settled();
    for (let i = 0; i < 50 && /alice/.test(await listCalls()); i++) await sleep(100);

    // the phone heard bob (right channel of its stereo recording)
    const phoneRec = parseWav(await readFile(join(recordDir, `${call.info.callId}.wav`)));
    expect(phoneRec.channels).toBe(2);
    const heard = phoneRec.data[1];
    expect(heard.length).toBeGreaterThan(bobSpeech.length);
    const fromBob = alignedCorrelation(heard, bobSpeech);
    expect(fromBob.correlation).toBeGreaterThanOrEqual(0.8);
    expect(fromBob.coverage).toBeGreaterThan(0.9);

    // bob heard the phone
    const decPath = await newestDecWav(startedAt);
    const bobHeard = parseWav(await readFile(decPath)).data[0];
    const fromAlice = alignedCorrelation(bobHeard, aliceSpeech);
    expect(fromAlice.correlation).toBeGreaterThanOrEqual(0.8);
    expect(fromAlice.coverage).toBeGreaterThan(0.9);
  }, 25_000);

  it('bob calls alice: incoming call with his number, answered, ended by his BYE', async () => {
    const incoming = new Promise<SipCall>((resolve) => line.once('incomingCall', (c) => resolve(c as SipCall)));
    const dial = await bob.command('dial', `sip:alice@${kam.domain}`);
    expect(dial.ok).toBe(true);
    const call = await Promise.race([incoming, sleep(8000).then(() => Promise.reject(new Error('no incoming call')))]);
    const t = track(call);
    expect(call.info).toMatchObject({ direction: 'inbound', number: 'bob', lineKind: 'sip' });
    expect(call.state).toBe('ringing');
    await call.answer();
    await waitState(call, 'active', 5000);
    await sleep(500);
    const hangup = await bob.command('hangup');
    expect(hangup.ok).toBe(true);
    await waitState(call, 'ended', 5000);
    expect(t.states.map((s) => s.state)).toEqual(['active', 'ended']);
    expect(t.states.at(-1)).toEqual({ state: 'ended', reason: 'remote-hangup' });
  }, 20_000);
});

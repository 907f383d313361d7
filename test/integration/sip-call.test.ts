// SIP calls end to end: the phone's SipLine (account alice) registers at a real Kamailio and
// talks to baresip (account bob) through it. Audio goes both ways over RTP (G.711) through the
// media engine; each side's recording is checked against the other side's source speech by
// normalized cross-correlation after alignment.

import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SystemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/log.js';
import type { CallEndReason, CallState } from '../../src/core/events.js';
import type { Call } from '../../src/calls/types.js';
import { MediaEngine } from '../../src/media/engine.js';
import { SipLine, type SipCall, type SipLineSettings } from '../../src/sip/line.js';
import type { RtpSessionDescriptionHandler } from '../../src/sip/sdp/handler.js';
import type { SipAccountState } from '../../src/sip/registration/index.js';
import { makeTempDir, startBaresip, startKamailio, stopAllPeers, type Baresip, type Kamailio } from '../support/index.js';

const run = promisify(execFile);
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
const settings: SipLineSettings = { autoAnswer: false, recordingDir: null };

// ---- WAV and signal helpers --------------------------------------------------------------------

interface Wav {
  channels: number;
  sampleRate: number;
  /** channel -> samples */
  data: Int16Array[];
}

function parseWav(buf: Buffer): Wav {
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a WAV file');
  let off = 12;
  let channels = 1;
  let sampleRate = 8000;
  let bits = 16;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    let size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      channels = buf.readUInt16LE(body + 2);
      sampleRate = buf.readUInt32LE(body + 4);
      bits = buf.readUInt16LE(body + 14);
    } else if (id === 'data') {
      if (bits !== 16) throw new Error(`WAV with ${bits} bits per sample`);
      size = Math.min(size, buf.length - body);
      const frames = Math.floor(size / (2 * channels));
      const data = Array.from({ length: channels }, () => new Int16Array(frames));
      for (let i = 0; i < frames; i++) for (let c = 0; c < channels; c++) data[c][i] = buf.readInt16LE(body + (i * channels + c) * 2);
      return { channels, sampleRate, data };
    }
    off = body + size + (size % 2);
  }
  throw new Error('WAV without data chunk');
}

/**
 * Speech as 8 kHz S16LE mono. `path` has `leadSec` of silence before the speech (baresip starts
 * playing at its 200 OK, before the phone's stream is up) and `padSec` after it (baresip ends the
 * call when its aufile source runs out, so its source must outlast the call).
 */
async function makeSpeech(text: string, name: string, leadSec = 0, padSec = 0): Promise<{ path: string; samples: Int16Array }> {
  const raw = join(dir, `${name}-raw.wav`);
  const speech = join(dir, `${name}.wav`);
  const padded = join(dir, `${name}-padded.wav`);
  await run('espeak-ng', ['-w', raw, text]);
  await run('sox', [raw, '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', speech]);
  await run('sox', [speech, padded, 'pad', String(leadSec), String(padSec)]);
  const wav = parseWav(await readFile(speech));
  return { path: padded, samples: wav.data[0] };
}

/** Smoothed absolute envelope, decimated by `step`. */
function envelope(x: Int16Array, step: number): Float64Array {
  const out = new Float64Array(Math.floor(x.length / step));
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (let j = 0; j < step; j++) s += Math.abs(x[i * step + j]);
    out[i] = s / step;
  }
  return out;
}

function ncc(a: ArrayLike<number>, b: ArrayLike<number>, lag: number): number {
  // a[i + lag] against b[i], over the overlap
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = Math.max(0, -lag); i < b.length && i + lag < a.length; i++) {
    const x = a[i + lag];
    const y = b[i];
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/** The lag (a[i + lag] ~ b[i]) in [from, to] with the highest normalized correlation. */
function bestLag(a: ArrayLike<number>, b: ArrayLike<number>, from: number, to: number): { lag: number; correlation: number } {
  let lag = from;
  let correlation = -Infinity;
  for (let l = from; l <= to; l++) {
    const c = ncc(a, b, l);
    if (c > correlation) {
      correlation = c;
      lag = l;
    }
  }
  return { lag, correlation };
}

/**
 * How well `recording` reproduces `source`: coarse alignment on envelopes, then each 250 ms chunk
 * of the source is aligned on its own near the previous chunk's lag (jitter buffers and RFC 4733
 * events may add or drop frames mid-call), and the chunks' normalized cross-correlations are
 * averaged, weighted by the source's energy. `lag` is the first chunk's; `coverage` the fraction
 * of the source's energy found inside the recording.
 */
function alignedCorrelation(recording: Int16Array, source: Int16Array): { lag: number; correlation: number; coverage: number } {
  const step = 40;
  const coarse = bestLag(envelope(recording, step), envelope(source, step), -Math.floor(source.length / step) + 10, Math.floor(recording.length / step) - 10).lag * step;
  const chunk = 2000;
  const window = 480;
  let center = coarse;
  let firstLag: number | null = null;
  let weighted = 0;
  let total = 0;
  let found = 0;
  for (let start = 0; start + chunk <= source.length; start += chunk) {
    const piece = source.subarray(start, start + chunk);
    let energy = 0;
    for (const v of piece) energy += v * v;
    total += energy;
    if (energy < chunk * 200 * 200) continue; // near-silent: nothing to compare
    const lo = Math.max(center - window, -start);
    const hi = Math.min(center + window, recording.length - chunk - start);
    if (lo > hi) continue;
    const seg = recording.subarray(start + lo, start + hi + chunk);
    const { lag, correlation } = bestLag(seg, piece, 0, hi - lo);
    center = lo + lag;
    firstLag ??= center;
    weighted += energy * correlation;
    found += energy;
  }
  return { lag: firstLag ?? coarse, correlation: found > 0 ? weighted / found : 0, coverage: total > 0 ? found / total : 0 };
}

// ---- waiting helpers ---------------------------------------------------------------------------

function waitFor<T>(what: string, fn: () => T | undefined | null | false, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = (): void => {
      let v: T | undefined | null | false;
      try {
        v = fn();
      } catch {
        v = undefined;
      }
      if (v) {
        resolve(v);
        return;
      }
      if (Date.now() - started > timeoutMs) {
        reject(new Error(`timed out waiting for ${what}`));
        return;
      }
      setTimeout(tick, 20);
    };
    tick();
  });
}

function track(call: Call): { states: Array<{ state: CallState; reason?: CallEndReason }> } {
  const t = { states: [] as Array<{ state: CallState; reason?: CallEndReason }> };
  call.on('stateChanged', (s) => t.states.push(s));
  return t;
}

function waitState(call: Call, state: CallState, timeoutMs = 10_000): Promise<void> {
  return waitFor(`call ${call.info.callId} ${state} (now ${call.state})`, () => call.state === state, timeoutMs).then(() => undefined);
}

function waitAccount(state: SipAccountState, timeoutMs = 10_000): Promise<void> {
  return waitFor(`alice ${state}`, () => line.account?.state === state, timeoutMs).then(() => undefined);
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
    makeSpeech('The quick brown fox jumps over the lazy dog', 'bob-speech', 1.5, 20),
    makeSpeech('Seven silver swans swim south in summer', 'alice-speech'),
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
  settings.recordingDir = join(dir, 'phone-rec');
  await mkdir(settings.recordingDir, { recursive: true });
  line = new SipLine({
    account: { user: 'alice', domain: kam.domain, password: 'alicepw', transport: 'udp', localHost: '127.0.0.1', localPort: 0, expires: 60 },
    engine,
    localAddress: '127.0.0.1',
    rtpBindAddress: '127.0.0.1',
    clock,
    log: silentLogger(),
    settings: () => settings,
  });
  await line.start();
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
    const phoneRec = parseWav(await readFile(join(settings.recordingDir!, `${call.info.callId}.wav`)));
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

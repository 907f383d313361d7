// Recordings on a real SIP call: the phone's SipLine (alice) at Kamailio with baresip (bob) as the far
// end, the CallService publishing call facts and the RecordingsService deciding per call through the
// line's recordPath callback. Outbound calls to a 'vip' contact are recorded from the start; inbound
// calls are on demand and start recording mid-call in the media engine.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SimAudio } from '../../drivers/audio/sim.js';
import { CallService } from '../../src/calls/service.js';
import type { Config } from '../../src/config/schema.js';
import { ControlRegistry } from '../../src/control/protocol.js';
import { EventBus } from '../../src/core/bus.js';
import { SystemClock } from '../../src/core/clock.js';
import type { BusEvents } from '../../src/core/events.js';
import { silentLogger } from '../../src/core/log.js';
import { MediaEngine } from '../../src/media/engine.js';
import { RecordingsService } from '../../src/recordings/service.js';
import type { SipLine } from '../../src/sip/line.js';
import { MemoryStore } from '../../src/store/memory.js';
import { makeTempDir, startBaresip, startKamailio, stopAllPeers, type Baresip, type Kamailio } from '../support/index.js';
import { parseWav, writeToneWav } from '../support/audio.js';
import { startTestSipLine } from '../support/sip-line.js';
import { waitForValue } from '../support/wait.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let bob: Baresip;
let kam: Kamailio;
let engine: MediaEngine;
let line: SipLine;
let calls: CallService;
let recordings: RecordingsService;
let clock: SystemClock;
let dir: string;
const bus = new EventBus<BusEvents>(silentLogger());
const saved: Array<BusEvents['recordingSaved']> = [];
const config: Config['recording'] = {
  mode: 'on-demand',
  rules: [{ direction: 'outbound', tag: 'vip', mode: 'always' }, { direction: 'outbound', mode: 'off' }],
  notice: 'beep', announcementFile: '', quotaMb: 64, minFreeMb: 0, retentionDays: 0,
};

function peak(samples: Int16Array): number {
  let max = 0;
  for (const s of samples) max = Math.max(max, Math.abs(s));
  return max;
}

beforeAll(async () => {
  dir = await makeTempDir('recordings-sip');
  const tone = await writeToneWav(join(dir, 'bob-tone.wav'), { frequency: 1000, seconds: 30 });
  // the far end is '2000': the call service dials digits only
  kam = await startKamailio({ minExpires: 10, users: { alice: 'alicepw', '2000': 'pw2000' } });
  bob = await startBaresip({ sourceWav: tone, accounts: [{ user: '2000', registrar: kam.domain, password: 'pw2000', answermode: 'auto' }], waitRegistered: true, lifetimeSec: 120 });
  clock = new SystemClock('always');
  engine = new MediaEngine({ clock });
  await engine.start();
  recordings = new RecordingsService({
    bus, clock, log: silentLogger(), store: new MemoryStore(), config: () => config, dir: join(dir, 'recordings'),
    audio: new SimAudio(), control: new ControlRegistry(), media: engine,
    contactTags: (number) => (number === '2000' ? ['vip'] : []),
  });
  await recordings.start();
  line = await startTestSipLine({ domain: kam.domain, engine, clock, settings: () => ({ autoAnswer: false }), recordPath: (call) => recordings.recordPathFor(call) });
  calls = new CallService({ bus, clock, log: silentLogger(), lines: [line], country: () => 'US' });
  bus.on('test', 'recordingSaved', (e) => void saved.push(e));
  await calls.start();
  await waitForValue('alice registered', () => line.account?.state === 'registered', 10_000);
}, 45_000);

afterAll(async () => {
  await calls?.stop().catch(() => undefined);
  await recordings?.stop().catch(() => undefined);
  await engine?.stop().catch(() => undefined);
  clock?.dispose();
  await stopAllPeers();
}, 20_000);

describe('recordings on SIP calls', () => {
  it('records an outbound call to a vip contact from the start, with the beep, and indexes it', async () => {
    const call = await calls.placeCall('2000');
    await waitForValue('call active', () => calls.activeCalls().find((c) => c.callId === call.callId && c.state === 'active'), 10_000);
    await sleep(2000);
    await calls.hangup(call.callId);
    const event = await waitForValue('recording saved', () => saved.find((s) => s.callId === call.callId), 8000);
    expect(event.file).toBe(`${call.callId}.wav`);
    expect(event.durationMs).toBeGreaterThan(1500);
    expect(event.durationMs).toBeLessThan(4000);
    const wav = parseWav(await readFile(join(dir, 'recordings', event.file)));
    expect(wav.channels).toBe(2);
    expect(peak(wav.data[1])).toBeGreaterThan(3000); // bob's tone, as the phone heard it
    expect(peak(wav.data[0].subarray(0, 8000))).toBeGreaterThan(3000); // the beep the phone sent
    expect(recordings.repository.get(event.recordingId)).toMatchObject({ direction: 'outbound', number: '2000', state: 'saved', bytes: event.bytes });
  }, 25_000);

  it('does not record an inbound on-demand call until asked, then records from that moment', async () => {
    const before = saved.length;
    let ringing: string | null = null;
    bus.on('test', 'callStateChanged', (e) => {
      if (e.state === 'ringing') ringing = e.callId;
    });
    expect((await bob.command('dial', `sip:alice@${kam.domain}`)).ok).toBe(true);
    const callId = await waitForValue('incoming call', () => ringing, 8000);
    await calls.answer(callId);
    await waitForValue('call active', () => calls.activeCalls().find((c) => c.callId === callId && c.state === 'active'), 5000);
    await sleep(1000);
    expect(await readdir(join(dir, 'recordings'))).not.toContain(`${callId}.wav`);

    expect(await recordings.startRecording(callId)).toMatchObject({ file: `${callId}.wav`, waitingForMedia: false });
    await sleep(1500);
    expect((await bob.command('hangup')).ok).toBe(true);
    const event = await waitForValue('recording saved', () => saved.slice(before).find((s) => s.callId === callId), 8000);
    expect(event.durationMs).toBeGreaterThan(1000);
    expect(event.durationMs).toBeLessThan(2500);
  }, 25_000);
});

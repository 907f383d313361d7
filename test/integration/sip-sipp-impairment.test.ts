// Jitter buffer and loss concealment under a crafted impairment (issue #4 "SIP calls"). This
// machine has no netem, so sipp replays a pcap whose timestamps and gaps are the impairment: the
// speech as 20 ms RTP PCMU packets with 5% of them never sent, every send time moved by up to
// ±40 ms (which reorders many), a few explicit swaps, and two stragglers held back 400 ms (longer
// than the buffer's 200 ms maximum delay, so they must come too late to play). sipp calls the
// phone's SipLine (account alice at Kamailio) directly, the line auto-answers and records the
// call; the recording's far-end channel must still carry the speech, and the jitter buffer's
// final statistics (the media worker's `stats` event at stream stop) must show what it handled.

import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SystemClock } from '../../src/core/clock.js';
import { MediaEngine, type SessionStats } from '../../src/media/engine.js';
import { SipLine, type SipCall, type SipLineSettings } from '../../src/sip/line.js';
import type { RtpSessionDescriptionHandler } from '../../src/sip/sdp/handler.js';
import { alignedCorrelation, g711Bytes, makeSpeech, parseWav } from '../support/audio.js';
import { impairSchedule, packetize, rtpPcap, type ImpairedSchedule } from '../support/pcap.js';
import { freeUdpPort, makeTempDir, startKamailio, startSipp, stopAllPeers, writeSippScenario, type Kamailio } from '../support/index.js';
import { startTestSipLine } from '../support/sip-line.js';
import { waitForValue } from '../support/wait.js';

const LEAD_MS = 500;
const STRAGGLER_DELAY_MS = 400;

let dir: string;
let kam: Kamailio;
let engine: MediaEngine;
let line: SipLine;
let clock: SystemClock;
let speech: Int16Array;
let pcapPath: string;
let schedule: ImpairedSchedule;
let packets: number;
/** the phone records every call here */
let recordDir: string;
const settings: SipLineSettings = { autoAnswer: true };
/** every `stats` event of the media worker, by stream (= call) id; the last one is the final */
const statsByCall = new Map<string, SessionStats[]>();


beforeAll(async () => {
  dir = await makeTempDir('sipp-impairment');
  const src = await makeSpeech('The quick brown fox jumps over the lazy dog. Seven silver swans swim south in summer.', dir, 'speech');
  speech = src.samples;
  // the pcap carries sox's mu-law of the speech (not the runtime's encoder)
  const payloads = packetize(await g711Bytes(src.path, 'u-law'));
  packets = payloads.length;
  schedule = impairSchedule(packets, { seed: 4, lossRate: 0.05, jitterMs: 40, swaps: 3, stragglers: 2, stragglerDelayMs: STRAGGLER_DELAY_MS });
  pcapPath = join(dir, 'speech-impaired.pcap');
  await writeFile(pcapPath, rtpPcap({ payloads, payloadType: 0, schedule: schedule.sent }));

  kam = await startKamailio();
  engine = new MediaEngine();
  await engine.start();
  engine.on('stats', (m) => {
    const list = statsByCall.get(m.callId) ?? [];
    list.push(m.stats);
    statsByCall.set(m.callId, list);
  });
  clock = new SystemClock('always');
  recordDir = join(dir, 'phone-rec');
  line = await startTestSipLine({ domain: kam.domain, engine, clock, settings: () => settings, recordDir });
  await waitForValue('alice registered', () => line.account?.state === 'registered');
}, 45_000);

afterAll(async () => {
  await line?.stop().catch(() => undefined);
  await engine?.stop().catch(() => undefined);
  clock?.dispose();
  await stopAllPeers();
}, 20_000);

describe('sipp replays an impaired RTP capture into a call the phone answers', () => {
  it('the recording still carries the speech and the jitter buffer reports the loss and late packets', async () => {
    // the crafted impairment itself
    expect(schedule.dropped.length).toBe(Math.round(packets * 0.05));
    expect(schedule.stragglers).toHaveLength(2);
    expect(schedule.reordered).toBeGreaterThan(0);
    const lastSendMs = Math.max(...schedule.sent.map((p) => p.sendMs));

    const incoming = new Promise<SipCall>((resolve) => line.once('incomingCall', (c) => resolve(c as SipCall)));
    const scenario = await writeSippScenario('uac-pcap-impaired.xml', dir, { AUDIO_PCAP: pcapPath, LEAD_MS });
    const sipp = await startSipp([`127.0.0.1:${line.account!.localPort}`, '-sf', scenario, '-s', 'alice', '-m', '1', '-mp', String(await freeUdpPort()), '-trace_msg'], {
      cwd: dir,
      timeoutSec: 30,
    });
    const call = await Promise.race([incoming, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no incoming call')), 8000))]);
    expect(call.info).toMatchObject({ direction: 'inbound', number: 'sipp', lineKind: 'sip' });
    await waitForValue(`call ${call.info.callId} active`, () => call.state === 'active', 5000);
    const sdh = call.session.sessionDescriptionHandler as RtpSessionDescriptionHandler;
    // sipp starts the capture LEAD_MS after its ACK; hang up once all of it has been played out
    await new Promise((r) => setTimeout(r, LEAD_MS + lastSendMs + 1000));
    await call.hangup();
    const result = await sipp.exited;
    expect({ code: result.code, output: result.code === 0 ? '' : result.output }).toEqual({ code: 0, output: '' });
    await waitForValue(`call ${call.info.callId} ended`, () => call.state === 'ended', 5000);
    await sdh.settled();

    // the final statistics come with the stream's stop, before its reply (settled() waited for it)
    const all = await waitForValue('media stats of the call', () => statsByCall.get(call.info.callId), 5000);
    const final = all.at(-1)!;
    const jb = final.jitterBuffer;
    const sent = schedule.sent.length;
    console.log(
      `impairment: ${packets} packets, ${schedule.dropped.length} dropped, ${schedule.swapped.length} swapped, ` +
        `${schedule.stragglers.length} stragglers, ${schedule.reordered} arrive after a later one; ` +
        `phone received ${final.received.packets}; jitter buffer ${JSON.stringify(jb)}; rtcp ${JSON.stringify(final.rtcp)}`,
    );
    expect(final.received.packets).toBe(sent);
    expect(jb.received).toBe(sent);
    expect(jb.resyncs).toBe(0);
    expect(jb.duplicate).toBe(0);
    // every packet that never came was concealed as a loss (the stragglers' slots were concealed
    // too but turn from lost into late when they finally arrive)
    expect(jb.lost).toBe(schedule.dropped.length);
    expect(jb.late).toBeGreaterThanOrEqual(schedule.stragglers.length);
    expect(jb.concealed).toBeGreaterThanOrEqual(jb.lost + jb.late);
    // the buffer counts a packet as reordered when one with a higher sequence number came first
    expect(jb.reordered).toBe(schedule.reordered);
    expect(jb.jitterMs).toBeGreaterThan(5);
    expect(final.rtcp.cumulativeLost).toBe(schedule.dropped.length);

    // the phone's recording (stereo: left ours, right theirs) still carries the speech
    const rec = parseWav(await readFile(join(recordDir, `${call.info.callId}.wav`)));
    expect(rec.channels).toBe(2);
    const heard = rec.data[1];
    expect(heard.length).toBeGreaterThan(speech.length);
    const match = alignedCorrelation(heard, speech);
    console.log(`impairment: received channel vs source: correlation ${match.correlation.toFixed(3)}, coverage ${match.coverage.toFixed(3)}, lag ${match.lag} samples`);
    expect(match.correlation).toBeGreaterThanOrEqual(0.6);
    expect(match.coverage).toBeGreaterThan(0.9);
  }, 40_000);
});

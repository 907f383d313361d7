import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MediaEngine } from '../../../src/media/engine.js';
import type { MediaEvent } from '../../../src/media/messages.js';
import { parseWav } from '../../../src/media/wav-recorder.js';
import { goertzelPower, tone } from './signal.js';

type Dtmf = Extract<MediaEvent, { type: 'dtmfReceived' }>;

function until<T>(fn: () => T | undefined, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      const v = fn();
      if (v !== undefined) resolve(v);
      else if (Date.now() - started > timeoutMs) reject(new Error('timed out'));
      else setTimeout(poll, 20);
    };
    poll();
  });
}

describe('MediaEngine (worker, loopback UDP)', () => {
  const a = new MediaEngine();
  const b = new MediaEngine();
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'deskline-media-'));
    await Promise.all([a.start(), b.start()]);
  });
  afterAll(async () => {
    await Promise.all([a.stop(), b.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('sends a tone and DTMF between two engines; B hears and records the tone, gets the digits', async () => {
    const heard: Int16Array[] = [];
    const digits: Dtmf[] = [];
    b.on('audio', (e) => heard.push(e.samples));
    b.on('dtmfReceived', (e) => digits.push(e));
    const recording = join(dir, 'b.wav');
    // B first on a free port pair; A sends to it. B knows only a wrong remote port for A: symmetric
    // RTP must make B answer to where A's packets come from.
    const bs = await b.startStream({ callId: 'call-b', localAddress: '127.0.0.1', remote: { address: '127.0.0.1', port: 9 }, payloadType: 0, dtmfPayloadType: 101, tapReceived: true, rtcpIntervalMs: 200, record: { path: recording, stereo: false } });
    const as = await a.startStream({ callId: 'call-a', localAddress: '127.0.0.1', remote: { address: '127.0.0.1', port: bs.localPort }, payloadType: 0, dtmfPayloadType: 101, audio: { samples: tone(1000, 1.5, 0.3), loop: false }, rtcpIntervalMs: 200 });
    expect(bs.localPort % 2).toBe(0);
    expect(bs.localRtcpPort).toBe(bs.localPort + 1);
    expect(as.localPort).toBeGreaterThan(0);

    await until(() => (heard.length >= 60 ? true : undefined), 5000);
    await a.sendDtmf('call-a', '1#', 100);
    await until(() => (digits.length >= 2 ? true : undefined), 5000);
    const bStats = await b.getStats('call-b');
    const aStats = await a.getStats('call-a');
    const bFinal = await b.stopStream('call-b');
    await a.stopStream('call-a');

    expect(digits.map((d) => d.digit)).toEqual(['1', '#']);
    expect(digits[0].durationMs).toBe(100);
    expect(bStats.latched).toBe(true);
    expect(bStats.remote.port).toBe(as.localPort);
    // B sent back to A (latched), so A received B's silence.
    expect(aStats.received.packets).toBeGreaterThan(10);
    // RTCP both ways (port + 1): A's SR came back as LSR/DLSR in B's report, giving a round trip.
    expect(aStats.received.rtcp).toBeGreaterThan(0);
    expect(aStats.rtcp.roundTripMs).not.toBeNull();
    expect(aStats.rtcp.roundTripMs!).toBeLessThan(100);
    expect(aStats.rtcp.remoteCumulativeLost).toBe(0);
    expect(bFinal.jitterBuffer.late).toBe(0);
    expect(bFinal.rtcp.cumulativeLost).toBe(0);

    // The tone arrives decoded: frames with energy are dominated by 1 kHz.
    const loud = heard.filter((f) => goertzelPower(f, 1000) > 1e6);
    expect(loud.length).toBeGreaterThan(20);
    for (const f of loud.slice(2, 10)) expect(goertzelPower(f, 1000)).toBeGreaterThan(50 * goertzelPower(f, 1700));

    const wav = parseWav(await readFile(recording));
    expect(wav.channels).toBe(1);
    expect(wav.sampleRate).toBe(8000);
    expect(wav.seconds).toBeGreaterThan(1);
    const mid = wav.samples.subarray(4000, 4000 + 1600);
    expect(goertzelPower(mid, 1000)).toBeGreaterThan(50 * goertzelPower(mid, 1700));
  });

  it('reports bad requests as typed errors', async () => {
    await expect(a.startStream({ callId: 'x', remote: { address: 'not-an-ip', port: 5000 }, payloadType: 0 })).rejects.toMatchObject({ code: 'MEDIA_BAD_REQUEST' });
    await expect(a.startStream({ callId: 'x', localAddress: '127.0.0.1', remote: { address: '127.0.0.1', port: 5000 }, payloadType: 18 })).rejects.toMatchObject({ code: 'MEDIA_CODEC' });
    await expect(a.stopStream('nope')).rejects.toMatchObject({ code: 'MEDIA_NO_STREAM' });
  });
});

// The media engine's side of recordings, in its real worker: recording started and stopped mid-call, one
// recordingFinished per recording asked for, and a recording file that cannot be written never costs
// the call its media.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MediaEngine, type MediaEngineEvents } from '../../../src/media/engine.js';
import { parseWav } from '../../../src/media/wav-recorder.js';
import { waitFor } from '../../support/wait.js';

type Finished = MediaEngineEvents['recordingFinished'][0];

describe('MediaEngine recordings (worker)', () => {
  const engine = new MediaEngine();
  const started: string[] = [];
  const finished: Finished[] = [];
  let dir = '';
  const tone = Int16Array.from({ length: 8000 * 5 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 500 * i) / 8000)));
  const stream = (callId: string, record?: { path: string; stereo: boolean }) =>
    engine.startStream({ callId, localAddress: '127.0.0.1', remote: { address: '127.0.0.1', port: 9 }, payloadType: 0, audio: { samples: tone, loop: true }, record });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'deskline-engine-rec-'));
    await engine.start();
    engine.on('recordingStarted', (e) => started.push(e.path));
    engine.on('recordingFinished', (e) => finished.push(e));
  });
  afterAll(async () => {
    await engine.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('starts and stops recording a running stream, then again into a new file', async () => {
    await stream('mid');
    await new Promise((r) => setTimeout(r, 200));
    const first = join(dir, 'mid.wav');
    await engine.startRecording('mid', { path: first, stereo: true });
    expect(started).toContain(first);
    await expect(engine.startRecording('mid', { path: join(dir, 'again.wav'), stereo: true })).rejects.toMatchObject({ code: 'MEDIA_RECORDING_EXISTS' });
    await new Promise((r) => setTimeout(r, 1000));
    await engine.stopRecording('mid');
    await waitFor(() => finished.some((f) => f.path === first), 'first recording finished');
    const done = finished.find((f) => f.path === first)!;
    expect(done).toMatchObject({ callId: 'mid', error: null });
    expect(done.seconds).toBeGreaterThan(0.8);
    expect(done.seconds).toBeLessThan(1.5);
    const wav = parseWav(await readFile(first));
    expect(wav.channels).toBe(2);
    const left = wav.samples.filter((_, i) => i % 2 === 0);
    expect(Math.max(...left.slice(0, 4000))).toBeGreaterThan(6000); // what we sent: the tone
    await expect(engine.stopRecording('mid')).rejects.toMatchObject({ code: 'MEDIA_NOT_RECORDING' });

    const second = join(dir, 'mid-2.wav');
    await engine.startRecording('mid', { path: second, stereo: true });
    await new Promise((r) => setTimeout(r, 300));
    await engine.stopStream('mid');
    await waitFor(() => finished.some((f) => f.path === second), 'second recording finished with its stream');
    expect(finished.filter((f) => f.path === second)).toHaveLength(1);
  });

  it('a recording file that cannot be created fails the recording, not the stream', async () => {
    const missing = join(dir, 'no-such-dir', 'call.wav');
    await stream('unwritable', { path: missing, stereo: true });
    await waitFor(() => finished.some((f) => f.path === missing), 'failed recording reported');
    expect(finished.find((f) => f.path === missing)).toMatchObject({ callId: 'unwritable', seconds: 0, error: { code: 'ENOENT' } });
    await new Promise((r) => setTimeout(r, 200));
    expect((await engine.getStats('unwritable')).sent.packets).toBeGreaterThan(3);
    await expect(engine.startRecording('unwritable', { path: missing, stereo: true })).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(engine.startRecording('nobody', { path: join(dir, 'x.wav'), stereo: true })).rejects.toMatchObject({ code: 'MEDIA_NO_STREAM' });
    await engine.stopStream('unwritable');
    expect(finished.filter((f) => f.path === missing)).toHaveLength(1);
  });
});

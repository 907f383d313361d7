import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { SimAudio } from '../../../drivers/audio/sim.js';
import type { AudioDriver, AudioEndpoint } from '../../../drivers/audio/types.js';
import { parseWav, wavHeader } from '../../../drivers/audio/wav.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'deskline-simaudio-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function wavFile(name: string, samples: Int16Array, rate = 8000, channels = 1): string {
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([wavHeader(rate, channels, samples.byteLength), Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)]));
  return path;
}

describe('SimAudio', () => {
  it('reads a WAV source in whole periods, in order, looping at its end', async () => {
    const samples = Int16Array.from({ length: 400 }, (_, i) => i - 200);
    const audio: AudioDriver = new SimAudio({ sources: { line: wavFile('line.wav', samples) } });
    const capture = await audio.openCapture('line');
    const periods = [await capture.read(), await capture.read(), await capture.read()];
    const flat = periods.flatMap((p) => Array.from(p));
    expect(periods.map((p) => p.length)).toEqual([160, 160, 160]);
    expect(flat).toEqual([...Array.from(samples), ...Array.from(samples.subarray(0, 80))]);
    await capture.close();
    await expect(capture.read()).rejects.toMatchObject({ code: 'DRIVER_NOT_OPEN' });
  });

  it('captures silence without a source, and refuses a source in another format', async () => {
    const audio = new SimAudio({ sources: { handset: wavFile('wb.wav', new Int16Array(640), 16000), speaker: wavFile('st.wav', new Int16Array(640), 8000, 2) } });
    expect(Array.from(await (await audio.openCapture('headset')).read())).toEqual(new Array(160).fill(0));
    await expect(audio.openCapture('handset')).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT', message: expect.stringMatching(/need mono 8000 Hz/) });
    await expect(audio.openCapture('speaker')).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
    const wide = await audio.openCapture('handset', { sampleRate: 16000 });
    expect(wide.format).toEqual({ sampleRate: 16000, channels: 1, frameSamples: 320 });
    expect((await wide.read()).length).toBe(320);
  });

  it('writes playback to a WAV file that reads back sample for sample', async () => {
    const out = join(dir, 'out.wav');
    const audio = new SimAudio({ sinks: { handset: out } });
    const playback = await audio.openPlayback('handset', { sampleRate: 16000 });
    const frames = Array.from({ length: 5 }, (_, f) => Int16Array.from({ length: 320 }, (_, i) => (f * 320 + i) * 13 - 20000));
    await Promise.all(frames.map((frame) => playback.write(frame))); // overlapping writes keep their order
    await playback.close();
    const wav = parseWav(readFileSync(out));
    expect(wav.sampleRate).toBe(16000);
    expect(wav.channels).toBe(1);
    expect(Array.from(wav.samples)).toEqual(frames.flatMap((f) => Array.from(f)));
    await expect(playback.write(frames[0])).rejects.toMatchObject({ code: 'DRIVER_NOT_OPEN' });
  });

  it('discards playback without a sink, still counting periods and checking their length', async () => {
    const audio = new SimAudio();
    const playback = await audio.openPlayback('speaker');
    await playback.write(new Int16Array(160));
    await playback.write(new Int16Array(160));
    await expect(playback.write(new Int16Array(161))).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
    await playback.close();
    expect(audio.framesPlayed.get('speaker')).toBe(2);
  });

  it('validates formats and endpoints like the real driver, and reports injected xruns', async () => {
    const audio = new SimAudio();
    await expect(audio.openCapture('handset', { sampleRate: 11025 as 8000 })).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
    await expect(audio.openPlayback('handset', { frameSamples: 240 })).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
    await expect(audio.openPlayback('intercom' as AudioEndpoint)).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT', message: expect.stringMatching(/handset, speaker, headset, line/) });
    const seen: unknown[] = [];
    audio.on('xrunOccurred', (x) => seen.push(x));
    audio.injectXrun('line', 'capture');
    expect(seen).toEqual([{ endpoint: 'line', direction: 'capture', count: 1, atLeastMs: null }]);
  });
});

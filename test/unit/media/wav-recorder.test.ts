import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WavRecorder, parseWav } from '../../../src/media/wav-recorder.js';
import { tone } from './signal.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('WavRecorder', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'deskline-wav-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is a valid empty WAV right after open', async () => {
    const rec = await WavRecorder.open(join(dir, 'empty.wav'));
    const wav = parseWav(await readFile(rec.path));
    expect(wav).toMatchObject({ channels: 1, sampleRate: 8000, bitsPerSample: 16, seconds: 0 });
    await rec.close();
    expect((await stat(rec.path)).mode & 0o777).toBe(0o600);
  });

  it('a copy taken mid-call, without close, parses and holds all but at most the last second', async () => {
    const path = join(dir, 'mid.wav');
    const rec = await WavRecorder.open(path);
    const N = 5;
    const x = tone(440, N + 1.5, 0.2);
    for (let f = 0; f * 160 < N * 8000 + 60 * 160; f++) rec.write(x.subarray(f * 160, (f + 1) * 160), null);
    await rec.idle();
    const copy = join(dir, 'copy.wav');
    await copyFile(path, copy);
    const wav = parseWav(await readFile(copy));
    expect(wav.seconds).toBeGreaterThanOrEqual(N - 1);
    expect(wav.seconds).toBeLessThanOrEqual(N + 1.2);
    expect([...wav.samples.subarray(0, 800)]).toEqual([...x.subarray(0, 800)]);
    await rec.close();
    const closed = parseWav(await readFile(path));
    expect(closed.samples.length).toBe(N * 8000 + 60 * 160);
    expect(() => rec.write(new Int16Array(160), null)).toThrow(expect.objectContaining({ code: 'WAV_CLOSED' }));
  });

  it('survives SIGKILL: the file parses with at least N-1 seconds', () => {
    const path = join(dir, 'killed.wav');
    const child = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'test/fixtures/media/crash-writer.ts'), path, '3.5'], { cwd: ROOT, encoding: 'utf8', timeout: 20_000, env: { ...process.env, NODE_OPTIONS: '' } });
    expect(child.signal).toBe('SIGKILL');
    return readFile(path).then((buf) => {
      const wav = parseWav(buf);
      expect(wav.seconds).toBeGreaterThanOrEqual(2.5);
      expect(wav.samples[160 * 7]).toBe(7);
    });
  });

  it('mixes both directions with clipping (mono) or keeps them apart (stereo)', async () => {
    const mono = await WavRecorder.open(join(dir, 'mono.wav'));
    mono.write(new Int16Array(160).fill(30000), new Int16Array(160).fill(30000));
    mono.write(new Int16Array(160).fill(-30000), new Int16Array(160).fill(-30000));
    mono.write(new Int16Array(160).fill(1000), null);
    mono.write(null, new Int16Array(160).fill(-2000));
    await mono.close();
    const m = parseWav(await readFile(mono.path));
    expect([m.samples[0], m.samples[160], m.samples[320], m.samples[480]]).toEqual([32767, -32768, 1000, -2000]);

    const st = await WavRecorder.open(join(dir, 'stereo.wav'), { stereo: true });
    st.write(new Int16Array(160).fill(1000), new Int16Array(160).fill(-2000));
    await st.close();
    const s = parseWav(await readFile(st.path));
    expect(s.channels).toBe(2);
    expect(s.seconds).toBeCloseTo(0.02, 5);
    expect([s.samples[0], s.samples[1], s.samples[318], s.samples[319]]).toEqual([1000, -2000, 1000, -2000]);
  });

  it('rejects files that are not PCM WAV', () => {
    expect(() => parseWav(new Uint8Array(10))).toThrow(expect.objectContaining({ code: 'WAV_INVALID' }));
  });
});

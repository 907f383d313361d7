// The real ALSA driver, with a fake arecord/aplay (test/fixtures/audio/fake-alsa.mjs) behind the
// spawn seam: real processes, real pipes, real PCM bytes in odd chunk sizes; only the sound card is
// missing. Back-off and stop grace run on a fake clock.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { AlsaAudio, type AlsaAudioOptions, type SpawnFn } from '../../../drivers/audio/alsa.js';
import { wavHeader } from '../../../drivers/audio/wav.js';
import type { AudioDriverEvents, AudioEndpoint } from '../../../drivers/audio/types.js';
import { projectRoot } from '../../../src/core/paths.js';
import { FakeClock } from '../../support/fake-clock.js';
import { pidExists } from '../../support/process.js';

const FAKE = join(projectRoot(), 'test', 'fixtures', 'audio', 'fake-alsa.mjs');
const DEVICES: Partial<Record<AudioEndpoint, string>> = { handset: 'plughw:0,0', speaker: 'plughw:0,1', line: 'plughw:0,2' };

/** A distinct, non-periodic sample sequence, so order and completeness are checkable. */
function ramp(n: number): Int16Array {
  return Int16Array.from({ length: n }, (_, i) => ((i * 37 + (i >> 7)) % 65536) - 32768);
}

function wavFile(path: string, samples: Int16Array, rate = 8000): string {
  writeFileSync(path, Buffer.concat([wavHeader(rate, 1, samples.byteLength), Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)]));
  return path;
}

interface Spawned {
  command: string;
  args: string[];
  pid: number;
}

/** The spawn seam: runs the fake tool; `env(n)` gives the n-th process (0-based) its behaviour. */
function fakeSpawn(env: (n: number, command: string) => Record<string, string> = () => ({})): { spawn: SpawnFn; spawned: Spawned[] } {
  const spawned: Spawned[] = [];
  return {
    spawned,
    spawn: (command, args, options) => {
      const extra = env(spawned.length, command);
      const child = spawn(process.execPath, [FAKE, command, ...args], { ...options, env: { ...options.env, NODE_OPTIONS: '', ...extra } });
      spawned.push({ command, args: [...args], pid: child.pid as number });
      return child;
    },
  };
}

function nextEvent<K extends keyof AudioDriverEvents>(audio: AlsaAudio, event: K): Promise<AudioDriverEvents[K]> {
  return new Promise((resolve) => {
    const off = audio.on(event, (payload) => {
      off();
      resolve(payload);
    });
  });
}

function collect<K extends keyof AudioDriverEvents>(audio: AlsaAudio, event: K): AudioDriverEvents[K][] {
  const seen: AudioDriverEvents[K][] = [];
  audio.on(event, (payload) => seen.push(payload));
  return seen;
}

const period = (samples: Int16Array, i: number, size = 160) => Array.from(samples.subarray(i * size, (i + 1) * size));

let dir: string;
let clock: FakeClock;
let drivers: AlsaAudio[];

function driver(options: Partial<AlsaAudioOptions> & { spawn: SpawnFn }): AlsaAudio {
  const audio = new AlsaAudio({ board: 'dp-test', devices: DEVICES, timers: clock, ...options });
  drivers.push(audio);
  return audio;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'deskline-alsa-'));
  clock = new FakeClock();
  drivers = [];
});

afterEach(async () => {
  await Promise.all(drivers.map((d) => d.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe('AlsaAudio capture', () => {
  it('runs arecord on the board device and delivers whole 20 ms periods in order across odd chunk sizes', async () => {
    const samples = ramp(160 * 40 + 77); // 40 periods and a partial one
    const { spawn, spawned } = fakeSpawn(() => ({ FAKE_WAV: wavFile(join(dir, 'in.wav'), samples), FAKE_CHUNKS: '1,7,333,50,1001,2,319' }));
    const audio = driver({ spawn });
    const capture = await audio.openCapture('line');
    expect(capture.format).toEqual({ sampleRate: 8000, channels: 1, frameSamples: 160 });
    expect(spawned).toHaveLength(1);
    expect(spawned[0].command).toBe('arecord');
    expect(spawned[0].args).toEqual(['-D', 'plughw:0,2', '-t', 'raw', '-f', 'S16_LE', '-r', '8000', '-c', '1', '--period-time=20000', '--buffer-time=80000', '-v']);
    for (let i = 0; i < 40; i++) {
      const frame = await capture.read();
      expect(frame).toBeInstanceOf(Int16Array);
      expect(Array.from(frame)).toEqual(period(samples, i));
    }
    // The 77 trailing samples never make a short period: the next read waits, and close() ends it.
    const pending = expect(capture.read()).rejects.toMatchObject({ code: 'DRIVER_NOT_OPEN' });
    await capture.close();
    await pending;
    await expect(capture.read()).rejects.toMatchObject({ code: 'DRIVER_NOT_OPEN' });
  });

  it('captures at 16 kHz in 320-sample periods', async () => {
    const samples = ramp(320 * 5);
    const { spawn, spawned } = fakeSpawn(() => ({ FAKE_WAV: wavFile(join(dir, 'wb.wav'), samples, 16000) }));
    const audio = driver({ spawn, bufferMs: 120 });
    const capture = await audio.openCapture('handset', { sampleRate: 16000 });
    expect(capture.format.frameSamples).toBe(320);
    expect(spawned[0].args).toEqual(expect.arrayContaining(['-r', '16000', '--buffer-time=120000']));
    for (let i = 0; i < 5; i++) expect(Array.from(await capture.read())).toEqual(period(samples, i, 320));
    await capture.close();
  });

  it('reports overrun lines as xrun events, and the stream goes on', async () => {
    const samples = ramp(160 * 30);
    const { spawn } = fakeSpawn(() => ({ FAKE_WAV: wavFile(join(dir, 'in.wav'), samples), FAKE_CHUNKS: '211,97', FAKE_XRUN_EVERY: '4' }));
    const audio = driver({ spawn });
    const xruns = collect(audio, 'xrunOccurred');
    const failures = collect(audio, 'streamFailed');
    const capture = await audio.openCapture('speaker');
    for (let i = 0; i < 30; i++) expect(Array.from(await capture.read())).toEqual(period(samples, i));
    // 4800 samples = 9600 bytes in 211/97-byte chunks = 63 chunks -> an overrun after every 4th
    while (xruns.length < 15) await new Promise((r) => setTimeout(r, 5));
    expect(xruns[0]).toEqual({ endpoint: 'speaker', direction: 'capture', count: 1, atLeastMs: 12.345 });
    expect(xruns.map((x) => x.count)).toEqual(Array.from({ length: xruns.length }, (_, i) => i + 1));
    expect(failures).toEqual([]);
    await capture.close();
  });

  it('restarts arecord after an unexpected exit with exponential back-off on the clock, and resets the back-off once stable', async () => {
    const samples = ramp(160 * 20);
    const wav = wavFile(join(dir, 'in.wav'), samples);
    // 1st process: dies with a read error after 10 periods; 2nd: dies at once; 3rd: healthy.
    const { spawn, spawned } = fakeSpawn((n): Record<string, string> => ({ FAKE_WAV: wav, ...(n === 0 ? { FAKE_EXIT_AFTER: String(320 * 10) } : n === 1 ? { FAKE_EXIT_AFTER: '0' } : {}) }));
    const audio = driver({ spawn, restart: { initialMs: 100, maxMs: 5000, stableMs: 10_000 } });
    const restarted = collect(audio, 'streamRestarted');
    const capture = await audio.openCapture('handset');
    const firstFailure = nextEvent(audio, 'streamFailed');
    for (let i = 0; i < 10; i++) expect(Array.from(await capture.read())).toEqual(period(samples, i));
    expect(await firstFailure).toEqual({
      endpoint: 'handset', direction: 'capture', attempt: 1, restartInMs: 100,
      reason: expect.stringMatching(/arecord exited with code 1: .*read error: Input\/output error/),
    });
    const pending = capture.read(); // waits across the restart
    clock.advance(99);
    expect(spawned).toHaveLength(1);
    const secondFailure = nextEvent(audio, 'streamFailed');
    clock.advance(1);
    expect(spawned).toHaveLength(2);
    expect(await secondFailure).toMatchObject({ attempt: 2, restartInMs: 200 });
    clock.advance(199);
    expect(spawned).toHaveLength(2);
    const back = nextEvent(audio, 'streamRestarted');
    clock.advance(1);
    expect(spawned).toHaveLength(3);
    expect(await back).toEqual({ endpoint: 'handset', direction: 'capture', attempt: 2, droppedPeriods: 0 });
    expect(Array.from(await pending)).toEqual(period(samples, 0)); // the new process starts a new stream
    expect(Array.from(await capture.read())).toEqual(period(samples, 1));
    expect(restarted.length).toBeGreaterThanOrEqual(1);

    // Stable for 10 s: the next failure starts the back-off from the beginning again.
    clock.advance(10_000);
    const crash = nextEvent(audio, 'streamFailed');
    process.kill(spawned[2].pid, 'SIGKILL');
    expect(await crash).toMatchObject({ attempt: 1, restartInMs: 100, reason: expect.stringMatching(/killed by SIGKILL/) });

    // Closing cancels the pending restart: nothing runs afterwards.
    await capture.close();
    clock.advance(60_000);
    expect(spawned).toHaveLength(3);
    expect(clock.pending).toBe(0);
    for (const p of spawned) expect(pidExists(p.pid)).toBe(false);
  });

  it('close() stops the process by PID and waits until it is gone, escalating to SIGKILL when SIGTERM is ignored', async () => {
    const wav = wavFile(join(dir, 'in.wav'), ramp(160 * 4));
    const { spawn, spawned } = fakeSpawn((n) => ({ FAKE_WAV: wav, ...(n === 1 ? { FAKE_IGNORE_TERM: '1' } : {}) }));
    const audio = driver({ spawn, stopGraceMs: 2000 });
    const polite = await audio.openCapture('handset');
    await polite.read();
    expect(audio.pids).toEqual([spawned[0].pid]);
    expect(pidExists(spawned[0].pid)).toBe(true);
    await polite.close();
    expect(pidExists(spawned[0].pid)).toBe(false);
    expect(audio.pids).toEqual([]);

    const stubborn = await audio.openCapture('handset');
    await stubborn.read();
    let closed = false;
    const closing = stubborn.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBe(false);
    expect(pidExists(spawned[1].pid)).toBe(true); // SIGTERM ignored; grace runs on the fake clock
    clock.advance(2000);
    await closing;
    expect(pidExists(spawned[1].pid)).toBe(false);
  });
});

describe('AlsaAudio playback', () => {
  it('runs aplay on the board device; the periods reach it intact, after one period of priming silence', async () => {
    const out = join(dir, 'played.raw');
    const { spawn, spawned } = fakeSpawn(() => ({ FAKE_OUT: out, FAKE_XRUN_EVERY: '2' }));
    const audio = driver({ spawn });
    const xruns = collect(audio, 'xrunOccurred');
    const playback = await audio.openPlayback('speaker');
    expect(spawned[0]).toMatchObject({ command: 'aplay', args: ['-D', 'plughw:0,1', '-t', 'raw', '-f', 'S16_LE', '-r', '8000', '-c', '1', '--period-time=20000', '--buffer-time=80000', '-v'] });
    const samples = ramp(160 * 25);
    for (let i = 0; i < 25; i++) await playback.write(samples.subarray(i * 160, (i + 1) * 160));
    await expect(playback.write(new Int16Array(100))).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT', message: expect.stringMatching(/160 samples, got 100/) });
    await playback.close();
    expect(pidExists(spawned[0].pid)).toBe(false);
    const played = readFileSync(out);
    expect(played.length).toBe(320 * 26);
    expect(played.subarray(0, 320).every((b) => b === 0)).toBe(true);
    const expected = Buffer.alloc(320 * 25);
    samples.forEach((s, i) => expected.writeInt16LE(s, i * 2));
    expect(played.subarray(320).equals(expected)).toBe(true);
    expect(xruns.length).toBeGreaterThan(0);
    expect(xruns[0]).toMatchObject({ endpoint: 'speaker', direction: 'playback', count: 1 });
    await expect(playback.write(samples.subarray(0, 160))).rejects.toMatchObject({ code: 'DRIVER_NOT_OPEN' });
  });

  it('drops (and reports) periods written while aplay is being restarted, then plays again', async () => {
    const out = join(dir, 'played.raw');
    const { spawn, spawned } = fakeSpawn(() => ({ FAKE_OUT: out }));
    const audio = driver({ spawn });
    const playback = await audio.openPlayback('handset');
    const failed = nextEvent(audio, 'streamFailed');
    process.kill(spawned[0].pid, 'SIGKILL');
    expect(await failed).toMatchObject({ direction: 'playback', attempt: 1, restartInMs: 100, reason: expect.stringMatching(/aplay was killed by SIGKILL/) });
    const frame = new Int16Array(160).fill(1000);
    await playback.write(frame);
    await playback.write(frame);
    const back = nextEvent(audio, 'streamRestarted');
    clock.advance(100);
    expect(await back).toMatchObject({ direction: 'playback', attempt: 1, droppedPeriods: 2 });
    await playback.write(frame);
    await playback.close();
    const played = readFileSync(out);
    // 1st aplay: its priming period; 2nd: priming + the one period written after the restart.
    expect(played.length).toBe(320 * 3);
    expect(played.readInt16LE(640)).toBe(1000);
    expect(pidExists(spawned[1].pid)).toBe(false);
  });
});

describe('AlsaAudio validation and open errors', () => {
  it('names the board endpoints when asked for one the board does not wire', async () => {
    const audio = driver({ spawn: fakeSpawn().spawn });
    expect(audio.endpoints).toEqual(['handset', 'speaker', 'line']);
    await expect(audio.openCapture('headset')).rejects.toMatchObject({
      code: 'DRIVER_INVALID_ARGUMENT',
      message: "board 'dp-test' has no audio endpoint 'headset'; its endpoints are: handset, speaker, line",
    });
    await expect(audio.openPlayback('bogus' as AudioEndpoint)).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT', message: expect.stringMatching(/no audio endpoint 'bogus'/) });
    expect(() => new AlsaAudio({ devices: { earpiece: 'hw:0' } as never })).toThrow(/unknown audio endpoint 'earpiece'/);
    expect(() => new AlsaAudio({ devices: DEVICES, bufferMs: 20 })).toThrow(expect.objectContaining({ code: 'DRIVER_INVALID_ARGUMENT' }));
  });

  it('refuses formats other than mono 8/16 kHz in 20 ms periods before starting anything', async () => {
    const { spawn, spawned } = fakeSpawn();
    const audio = driver({ spawn });
    await expect(audio.openCapture('handset', { sampleRate: 44100 as 8000 })).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT', message: expect.stringMatching(/8000 or 16000/) });
    await expect(audio.openPlayback('handset', { frameSamples: 80 })).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
    expect(spawned).toEqual([]);
  });

  it('refuses a second stream on the same endpoint and direction', async () => {
    const { spawn } = fakeSpawn(() => ({ FAKE_WAV: wavFile(join(dir, 'in.wav'), ramp(160)), FAKE_OUT: join(dir, 'out.raw') }));
    const audio = driver({ spawn });
    const capture = await audio.openCapture('handset');
    await expect(audio.openCapture('handset')).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT', message: expect.stringMatching(/already open/) });
    const playback = await audio.openPlayback('handset'); // full duplex on one PCM is fine
    await Promise.all([capture.close(), playback.close()]);
    await (await audio.openCapture('handset')).close(); // and free again once closed
  });

  it('fails the open with the tool output when the device cannot be opened, leaving nothing running', async () => {
    const { spawn, spawned } = fakeSpawn((n): Record<string, string> => (n === 0 ? { FAKE_FAIL_OPEN: '1' } : { FAKE_WAV: wavFile(join(dir, 'in.wav'), ramp(160)) }));
    const audio = driver({ spawn });
    await expect(audio.openCapture('line')).rejects.toMatchObject({
      code: 'DRIVER_OPEN_FAILED',
      message: expect.stringMatching(/cannot open line capture on ALSA device 'plughw:0,2' \(board 'dp-test'\): arecord exited with code 1: .*audio open error/),
    });
    expect(pidExists(spawned[0].pid)).toBe(false);
    expect(clock.pending).toBe(0); // no restart of a stream that never opened
    await (await audio.openCapture('line')).close();
  });

  it('fails the open when the device cannot run the rate (a hw: PCM without rate conversion)', async () => {
    const { spawn } = fakeSpawn(() => ({ FAKE_OUT: join(dir, 'out.raw'), FAKE_RATE_GOT: '48000' }));
    const audio = driver({ spawn });
    await expect(audio.openPlayback('speaker')).rejects.toMatchObject({ code: 'DRIVER_OPEN_FAILED', message: expect.stringMatching(/cannot run at 8000 Hz \(it offered 48000 Hz\); use a plughw: device/) });
  });

  it('says which Debian package to install when arecord is missing', async () => {
    const audio = driver({ spawn: undefined as unknown as SpawnFn, arecord: join(dir, 'no-such-arecord') });
    await expect(audio.openCapture('handset')).rejects.toMatchObject({ code: 'DRIVER_OPEN_FAILED', message: expect.stringMatching(/no-such-arecord not found: install the Debian package alsa-utils/) });
  });
});

describe('AlsaAudio shutdown', () => {
  it('close() of the driver stops every stream, including one still opening', async () => {
    const { spawn, spawned } = fakeSpawn((_n, command): Record<string, string> => (command === 'arecord' ? { FAKE_WAV: wavFile(join(dir, 'in.wav'), ramp(320)) } : { FAKE_OUT: join(dir, 'out.raw') }));
    const audio = driver({ spawn });
    await audio.openCapture('handset');
    await audio.openPlayback('speaker');
    const opening = expect(audio.openCapture('line')).rejects.toMatchObject({ code: 'DRIVER_NOT_OPEN' });
    await audio.close();
    await opening;
    expect(audio.pids).toEqual([]);
    for (const p of spawned) expect(pidExists(p.pid)).toBe(false);
  });
});

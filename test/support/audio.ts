// Small WAV helpers for peers that play or record audio (baresip's aufile/sndfile: S16LE mono),
// speech made with espeak-ng + sox, and the normalized cross-correlation (after alignment) that
// the call tests use to tell whether a recording reproduces its source.

import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from './process.js';

const run = promisify(execFile);

/** A PCM S16LE mono WAV file's bytes. */
export function wavBytes(samples: Int16Array, sampleRate = 8000): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) data.writeInt16LE(samples[i], i * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16); // fmt chunk size
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * 2, 28); // byte rate
  h.writeUInt16LE(2, 32); // block align
  h.writeUInt16LE(16, 34); // bits per sample
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

/** Samples of a sine tone. */
export function toneSamples(o: { frequency?: number; seconds?: number; sampleRate?: number; amplitude?: number } = {}): Int16Array {
  const rate = o.sampleRate ?? 8000;
  const n = Math.round((o.seconds ?? 1) * rate);
  const amp = (o.amplitude ?? 0.3) * 32767;
  const f = o.frequency ?? 440;
  const s = new Int16Array(n);
  for (let i = 0; i < n; i++) s[i] = Math.round(amp * Math.sin((2 * Math.PI * f * i) / rate));
  return s;
}

/** Writes a tone WAV (default 1 s of 440 Hz, 8 kHz S16LE mono); returns the path. */
export async function writeToneWav(path: string, o: Parameters<typeof toneSamples>[0] = {}): Promise<string> {
  await writeFile(path, wavBytes(toneSamples(o), o.sampleRate ?? 8000));
  return path;
}

// ---- WAV parsing and signal comparison ---------------------------------------------------------

export interface Wav {
  channels: number;
  sampleRate: number;
  /** channel -> samples */
  data: Int16Array[];
}

export function parseWav(buf: Buffer): Wav {
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

/** Smoothed absolute envelope, decimated by `step`. */
export function envelope(x: Int16Array, step: number): Float64Array {
  const out = new Float64Array(Math.floor(x.length / step));
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (let j = 0; j < step; j++) s += Math.abs(x[i * step + j]);
    out[i] = s / step;
  }
  return out;
}

export function ncc(a: ArrayLike<number>, b: ArrayLike<number>, lag: number): number {
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
export function bestLag(a: ArrayLike<number>, b: ArrayLike<number>, from: number, to: number): { lag: number; correlation: number } {
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
export function alignedCorrelation(recording: Int16Array, source: Int16Array): { lag: number; correlation: number; coverage: number } {
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

// ---- speech --------------------------------------------------------------------------------------

export interface Speech {
  /** 8 kHz S16LE mono WAV of the speech, with `leadSec` of silence before and `padSec` after */
  path: string;
  /** the speech itself (without the padding) */
  samples: Int16Array;
}

/** Speech as 8 kHz S16LE mono WAV (espeak-ng, resampled by sox) in dir as <name>*.wav. */
export async function makeSpeech(text: string, dir: string, name: string, leadSec = 0, padSec = 0): Promise<Speech> {
  const espeak = requireBinary('espeak-ng', 'espeak-ng');
  const sox = requireBinary('sox', 'sox');
  const raw = join(dir, `${name}-raw.wav`);
  const speech = join(dir, `${name}.wav`);
  const padded = join(dir, `${name}-padded.wav`);
  await run(espeak, ['-w', raw, text]);
  await run(sox, [raw, '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', speech]);
  await run(sox, [speech, padded, 'pad', String(leadSec), String(padSec)]);
  const wav = parseWav(await readFile(speech));
  return { path: padded, samples: wav.data[0] };
}

/** A WAV file's audio as raw G.711 bytes (sox's encoder: independent of the runtime's). */
export async function g711Bytes(wavPath: string, law: 'u-law' | 'a-law' = 'u-law'): Promise<Buffer> {
  const sox = requireBinary('sox', 'sox');
  const { stdout } = await run(sox, [wavPath, '-t', 'raw', '-r', '8000', '-c', '1', '-e', law, '-b', '8', '-'], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

// Small WAV helpers for peers that play or record audio (baresip's aufile/sndfile: S16LE mono).

import { writeFile } from 'node:fs/promises';

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

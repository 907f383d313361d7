// Reading the recorder's WAV files without loading them whole (an hour of stereo call is ~110 MB, the
// board has 512 MB): the header is walked from the first bytes, audio is read in blocks, the hash is
// streamed. The format itself is drivers/audio/wav.ts (pure code shared with the sim audio and the recorder).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { wavLayout, type WavLayout } from '../../drivers/audio/wav.js';
import { wavHeader } from '../media/wav-recorder.js';
import { RecordingError } from './errors.js';

/** Enough of the file to find the data chunk behind a few metadata chunks (LIST, fact). */
const HEADER_PROBE_BYTES = 64 * 1024;

/** The layout of a recording from its first bytes (`buf`, at least up to the data chunk's header) and its size. */
export function wavLayoutOf(buf: Buffer, fileBytes: number, name: string): WavLayout {
  let layout: WavLayout;
  try {
    layout = wavLayout(buf, fileBytes);
  } catch (error) {
    throw new RecordingError('RECORDING_FORMAT', `${name}: ${(error as Error).message}`);
  }
  // the recorder writes mono or stereo (left ours, right theirs)
  if (layout.channels > 2) throw new RecordingError('RECORDING_FORMAT', `${name}: ${layout.channels} channels; recordings are mono or stereo`);
  return layout;
}

export async function readWavLayout(file: FileHandle, fileBytes: number, name: string): Promise<WavLayout> {
  const probe = Buffer.alloc(Math.min(fileBytes, HEADER_PROBE_BYTES));
  const { bytesRead } = await file.read(probe, 0, probe.length, 0);
  return wavLayoutOf(probe.subarray(0, bytesRead), fileBytes, name);
}

/** Hex SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

export interface MeasuredRecording {
  /** file size */
  bytes: number;
  durationMs: number;
  /** hex SHA-256 of the whole file */
  sha256: string;
  layout: WavLayout;
}

/** Size, audio length (from the header's data size) and SHA-256 (streamed) of a finished recording. */
export async function measureWav(path: string): Promise<MeasuredRecording> {
  const file = await open(path, 'r');
  let layout: WavLayout;
  let bytes: number;
  try {
    bytes = (await file.stat()).size;
    layout = await readWavLayout(file, bytes, path);
  } finally {
    await file.close();
  }
  const frames = layout.dataBytes / (layout.channels * 2);
  return { bytes, durationMs: Math.floor((frames * 1000) / layout.sampleRate), sha256: await sha256File(path), layout };
}

function clip(x: number): number {
  return x > 32767 ? 32767 : x < -32768 ? -32768 : x;
}

/** Mono samples of interleaved S16LE audio: a stereo pair is mixed as the recorder mixes (clipped sum). */
export function monoFromS16le(bytes: Uint8Array, channels: number): Int16Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames = Math.floor(bytes.byteLength / (2 * channels));
  const out = new Int16Array(frames);
  if (channels === 1) {
    for (let i = 0; i < frames; i++) out[i] = view.getInt16(i * 2, true);
  } else {
    for (let i = 0; i < frames; i++) out[i] = clip(view.getInt16(i * 4, true) + view.getInt16(i * 4 + 2, true));
  }
  return out;
}

/** Reads a WAV's audio as mono periods of a fixed size, a block at a time. */
export class WavFrameReader {
  #position = 0;
  #pending: Int16Array = new Int16Array(0);
  #pendingAt = 0;

  private constructor(private readonly file: FileHandle, readonly layout: WavLayout, private readonly blockBytes: number) {}

  /** Opens a WAV file; `blockMs` of audio is read at a time (default 1 s). */
  static async open(path: string, blockMs = 1000): Promise<WavFrameReader> {
    const file = await open(path, 'r');
    try {
      const layout = await readWavLayout(file, (await file.stat()).size, path);
      const blockAlign = layout.channels * 2;
      const blockBytes = Math.max(1, Math.round((layout.sampleRate * blockMs) / 1000)) * blockAlign;
      return new WavFrameReader(file, layout, blockBytes);
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  /** Audio length in ms. */
  get durationMs(): number {
    return Math.floor((this.layout.dataBytes / (this.layout.channels * 2) * 1000) / this.layout.sampleRate);
  }

  /** The next `frameSamples` mono samples (the last period padded with silence), or null at the end. */
  async next(frameSamples: number): Promise<Int16Array | null> {
    const frame = new Int16Array(frameSamples);
    let filled = 0;
    while (filled < frameSamples) {
      if (this.#pendingAt >= this.#pending.length) {
        if (!(await this.#readBlock())) break;
      }
      const n = Math.min(frameSamples - filled, this.#pending.length - this.#pendingAt);
      frame.set(this.#pending.subarray(this.#pendingAt, this.#pendingAt + n), filled);
      filled += n;
      this.#pendingAt += n;
    }
    return filled === 0 ? null : frame;
  }

  async close(): Promise<void> {
    await this.file.close();
  }

  async #readBlock(): Promise<boolean> {
    const left = this.layout.dataBytes - this.#position;
    if (left <= 0) return false;
    const buf = Buffer.alloc(Math.min(left, this.blockBytes));
    const { bytesRead } = await this.file.read(buf, 0, buf.length, this.layout.dataOffset + this.#position);
    if (bytesRead === 0) return false;
    this.#position += bytesRead;
    this.#pending = monoFromS16le(buf.subarray(0, bytesRead), this.layout.channels);
    this.#pendingAt = 0;
    return this.#pending.length > 0;
  }
}

/** A whole mono WAV file's bytes (PCM S16LE). */
export function wavBytes(samples: Int16Array, sampleRate = 8000): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) data.writeInt16LE(samples[i], i * 2);
  return Buffer.concat([wavHeader({ channels: 1, sampleRate, dataBytes: data.length }), data]);
}

/**
 * The recording notice beep: 400 Hz then 1400 Hz, 200 ms each with 60 ms between, at -12 dBFS, with
 * 10 ms ramps so the tones do not click.
 */
export function recordingBeep(sampleRate = 8000): Int16Array {
  const tone = (hz: number, ms: number) => {
    const n = Math.round((sampleRate * ms) / 1000);
    const ramp = Math.round(sampleRate / 100);
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      const gain = Math.min(1, i / ramp, (n - 1 - i) / ramp);
      out[i] = Math.round(8192 * gain * Math.sin((2 * Math.PI * hz * i) / sampleRate));
    }
    return out;
  };
  const parts = [tone(400, 200), new Int16Array(Math.round((sampleRate * 60) / 1000)), tone(1400, 200)];
  const beep = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    beep.set(part, at);
    at += part.length;
  }
  return beep;
}

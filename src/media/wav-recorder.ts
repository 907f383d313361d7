// Crash-safe incremental WAV (RIFF, PCM S16LE) call recorder.
//
// The file is valid from the moment it is opened: a 44-byte header with sizes 0. Audio is buffered in
// memory and, every `flushSeconds` of audio (default 1 s) and on close, appended, the RIFF and data
// chunk sizes are rewritten to cover it, and the file is fdatasync'ed. A crash (process or power)
// therefore loses at most the last `flushSeconds` of audio, and the file always parses: readers take
// the data size from the header, so bytes past it (a write torn by the crash) are ignored.
//
// Flushing is driven by the amount of audio written, not by a timer, so it is deterministic and
// needs no clock. All file I/O is asynchronous (libuv thread pool) and serialised, so the 20 ms
// media loop never blocks on the disk.
import { open, type FileHandle } from 'node:fs/promises';
import { parseWav as parsePcmWav, wavHeader as pcmWavHeader, type PcmWav } from '../../drivers/audio/wav.js';
import { MediaError } from './errors.js';

const HEADER_BYTES = 44;
/** RIFF sizes are 32-bit. */
const MAX_DATA_BYTES = 0xffffffff - 36;

export interface WavRecorderOptions {
  /** Left = local (what we send), right = remote (what we hear). Default false: mono mix of both. */
  stereo?: boolean;
  sampleRate?: number;
  /** Seconds of audio between header rewrites + fsync (default 1). */
  flushSeconds?: number;
}

/** The 44-byte canonical header for PCM S16LE. */
export function wavHeader(o: { channels: number; sampleRate: number; dataBytes: number }): Uint8Array {
  return pcmWavHeader(o.sampleRate, o.channels, o.dataBytes);
}

export interface ParsedWav {
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** Interleaved samples covered by the header's data size (truncated to what the file holds). */
  samples: Int16Array;
  /** Seconds of audio per channel. */
  seconds: number;
}

/** Parses a PCM S16LE WAV (walks chunks; tolerates a data size past the end of file). */
export function parseWav(buf: Uint8Array): ParsedWav {
  let pcm: PcmWav;
  try {
    pcm = parsePcmWav(buf);
  } catch (error) {
    throw new MediaError('WAV_INVALID', (error as Error).message);
  }
  const { channels, sampleRate, samples } = pcm;
  return { channels, sampleRate, bitsPerSample: 16, samples, seconds: samples.length / channels / sampleRate };
}

function clip(x: number): number {
  return x > 32767 ? 32767 : x < -32768 ? -32768 : x;
}

export class WavRecorder {
  readonly path: string;
  readonly channels: number;
  readonly sampleRate: number;
  #fh: FileHandle;
  #dataBytes = 0;
  #pending: Int16Array[] = [];
  #pendingSamples = 0;
  readonly #flushEvery: number;
  #chain: Promise<void> = Promise.resolve();
  #error: unknown = null;
  #closed = false;

  private constructor(path: string, fh: FileHandle, o: Required<WavRecorderOptions>) {
    this.path = path;
    this.#fh = fh;
    this.channels = o.stereo ? 2 : 1;
    this.sampleRate = o.sampleRate;
    this.#flushEvery = Math.max(1, Math.round(o.flushSeconds * o.sampleRate)) * this.channels;
  }

  /** Creates (truncates) the file and writes an empty, valid header. */
  static async open(path: string, options: WavRecorderOptions = {}): Promise<WavRecorder> {
    const o = { stereo: options.stereo ?? false, sampleRate: options.sampleRate ?? 8000, flushSeconds: options.flushSeconds ?? 1 };
    const fh = await open(path, 'w', 0o600);
    const rec = new WavRecorder(path, fh, o);
    try {
      await fh.write(wavHeader({ channels: rec.channels, sampleRate: rec.sampleRate, dataBytes: 0 }), 0, HEADER_BYTES, 0);
      await fh.datasync();
    } catch (error) {
      await fh.close().catch(() => undefined);
      throw error;
    }
    return rec;
  }

  /** Seconds of audio durably in the file (per channel). */
  get secondsWritten(): number {
    return this.#dataBytes / 2 / this.channels / this.sampleRate;
  }

  /**
   * Appends one tick of audio: `local` (sent) and `remote` (received), each a frame or null (silence).
   * Frames of different lengths are padded with silence to the longer one.
   */
  write(local: Int16Array | null, remote: Int16Array | null): void {
    if (this.#closed) throw new MediaError('WAV_CLOSED', `recording ${this.path} is closed`);
    if (this.#error) throw new MediaError('WAV_INVALID', `recording ${this.path} failed`, { cause: this.#error });
    const n = Math.max(local?.length ?? 0, remote?.length ?? 0);
    if (n === 0) return;
    const out = new Int16Array(n * this.channels);
    if (this.channels === 2) {
      for (let i = 0; i < n; i++) {
        out[2 * i] = local?.[i] ?? 0;
        out[2 * i + 1] = remote?.[i] ?? 0;
      }
    } else {
      for (let i = 0; i < n; i++) out[i] = clip((local?.[i] ?? 0) + (remote?.[i] ?? 0));
    }
    this.#pending.push(out);
    this.#pendingSamples += out.length;
    if (this.#pendingSamples >= this.#flushEvery) this.#enqueueFlush();
  }

  /** Resolves when every write so far is on disk (rejects with the first I/O error). */
  async flush(): Promise<void> {
    this.#enqueueFlush();
    await this.#chain;
    if (this.#error) throw new MediaError('WAV_INVALID', `recording ${this.path} failed`, { cause: this.#error });
  }

  /** Resolves when queued flushes are done (without forcing a partial one). */
  async idle(): Promise<void> {
    await this.#chain;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.flush();
    } finally {
      this.#closed = true;
      await this.#fh.close();
    }
  }

  #enqueueFlush(): void {
    if (this.#pendingSamples === 0) return;
    const chunks = this.#pending;
    this.#pending = [];
    this.#pendingSamples = 0;
    this.#chain = this.#chain.then(async () => {
      if (this.#error) return;
      try {
        const total = chunks.reduce((a, c) => a + c.length, 0);
        const bytes = new Uint8Array(total * 2);
        const v = new DataView(bytes.buffer);
        let o = 0;
        for (const c of chunks) for (let i = 0; i < c.length; i++, o += 2) v.setInt16(o, c[i], true);
        if (this.#dataBytes + bytes.length > MAX_DATA_BYTES) throw new MediaError('WAV_TOO_LARGE', `recording ${this.path} exceeds 4 GiB`);
        // Data first, then the header that covers it: a crash between the two leaves a valid file.
        await this.#fh.write(bytes, 0, bytes.length, HEADER_BYTES + this.#dataBytes);
        this.#dataBytes += bytes.length;
        await this.#fh.write(wavHeader({ channels: this.channels, sampleRate: this.sampleRate, dataBytes: this.#dataBytes }), 0, HEADER_BYTES, 0);
        await this.#fh.datasync();
      } catch (error) {
        this.#error = error;
      }
    });
  }
}

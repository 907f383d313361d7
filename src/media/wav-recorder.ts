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
  const h = new Uint8Array(HEADER_BYTES);
  const v = new DataView(h.buffer);
  const ascii = (s: string, at: number) => {
    for (let i = 0; i < s.length; i++) h[at + i] = s.charCodeAt(i);
  };
  ascii('RIFF', 0);
  v.setUint32(4, 36 + o.dataBytes, true);
  ascii('WAVE', 8);
  ascii('fmt ', 12);
  v.setUint32(16, 16, true); // fmt chunk size
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, o.channels, true);
  v.setUint32(24, o.sampleRate, true);
  v.setUint32(28, o.sampleRate * o.channels * 2, true); // byte rate
  v.setUint16(32, o.channels * 2, true); // block align
  v.setUint16(34, 16, true); // bits per sample
  ascii('data', 36);
  v.setUint32(40, o.dataBytes, true);
  return h;
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
  const bad = (m: string) => new MediaError('WAV_INVALID', m);
  const text = (at: number) => String.fromCharCode(...buf.subarray(at, at + 4));
  if (buf.length < 12 || text(0) !== 'RIFF' || text(8) !== 'WAVE') throw bad('not a RIFF/WAVE file');
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let o = 12;
  let fmt: { channels: number; sampleRate: number; bits: number } | null = null;
  while (o + 8 <= buf.length) {
    const id = text(o);
    const size = v.getUint32(o + 4, true);
    const body = o + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > buf.length) throw bad('short fmt chunk');
      if (v.getUint16(body, true) !== 1) throw bad('not PCM');
      fmt = { channels: v.getUint16(body + 2, true), sampleRate: v.getUint32(body + 4, true), bits: v.getUint16(body + 14, true) };
    } else if (id === 'data') {
      if (!fmt) throw bad('data before fmt');
      if (fmt.bits !== 16 || fmt.channels < 1) throw bad('not 16-bit PCM');
      const end = Math.min(buf.length, body + size);
      const n = Math.floor((end - body) / 2);
      const samples = new Int16Array(n);
      for (let i = 0; i < n; i++) samples[i] = v.getInt16(body + i * 2, true);
      return { channels: fmt.channels, sampleRate: fmt.sampleRate, bitsPerSample: fmt.bits, samples, seconds: n / fmt.channels / fmt.sampleRate };
    }
    o = body + size + (size & 1);
  }
  throw bad('no data chunk');
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

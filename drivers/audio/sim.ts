import { open, readFile, type FileHandle } from 'node:fs/promises';
import { DriverError } from '../common/errors.js';
import type { AudioCapture, AudioDriver, AudioEndpoint, AudioFormat, AudioPlayback } from './types.js';
import { parseWav, wavHeader } from './wav.js';

export interface SimAudioOptions {
  /** Per endpoint: a 16-bit PCM WAV file to capture from (looped), or silence when absent. */
  sources?: Partial<Record<AudioEndpoint, string>>;
  /** Per endpoint: a WAV file to write playback into, or discard when absent. */
  sinks?: Partial<Record<AudioEndpoint, string>>;
}

const DEFAULT_FORMAT: AudioFormat = { sampleRate: 8000, channels: 1, frameSamples: 160 };

function formatOf(requested?: Partial<AudioFormat>): AudioFormat {
  const sampleRate = requested?.sampleRate ?? DEFAULT_FORMAT.sampleRate;
  return { sampleRate, channels: 1, frameSamples: requested?.frameSamples ?? (sampleRate / 1000) * 20 };
}

/** Simulated ALSA: WAV sources for capture (no pacing: the media engine paces), WAV or null sinks. */
export class SimAudio implements AudioDriver {
  /** Periods written per endpoint, counted even when discarded. */
  readonly framesPlayed = new Map<AudioEndpoint, number>();

  constructor(private readonly options: SimAudioOptions = {}) {}

  async openCapture(endpoint: AudioEndpoint, requested?: Partial<AudioFormat>): Promise<AudioCapture> {
    const format = formatOf(requested);
    const path = this.options.sources?.[endpoint];
    let samples: Int16Array = new Int16Array(format.frameSamples);
    if (path) {
      const wav = parseWav(await readFile(path));
      if (wav.sampleRate !== format.sampleRate || wav.channels !== 1) {
        throw new DriverError('DRIVER_INVALID_ARGUMENT', `${path}: need mono ${format.sampleRate} Hz, file is ${wav.channels} ch ${wav.sampleRate} Hz`);
      }
      if (wav.samples.length > 0) samples = wav.samples;
    }
    let position = 0;
    return {
      format,
      async read() {
        const frame = new Int16Array(format.frameSamples);
        for (let i = 0; i < frame.length; i++) {
          frame[i] = samples[position];
          position = (position + 1) % samples.length;
        }
        return frame;
      },
      async close() {},
    };
  }

  async openPlayback(endpoint: AudioEndpoint, requested?: Partial<AudioFormat>): Promise<AudioPlayback> {
    const format = formatOf(requested);
    const path = this.options.sinks?.[endpoint];
    let file: FileHandle | null = null;
    let dataBytes = 0;
    if (path) {
      file = await open(path, 'w');
      await file.write(wavHeader(format.sampleRate, 1, 0), 0, 44, 0);
    }
    return {
      format,
      write: async (frame) => {
        if (frame.length !== format.frameSamples) {
          throw new DriverError('DRIVER_INVALID_ARGUMENT', `a period is ${format.frameSamples} samples, got ${frame.length}`);
        }
        this.framesPlayed.set(endpoint, (this.framesPlayed.get(endpoint) ?? 0) + 1);
        if (file) {
          const bytes = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
          await file.write(bytes, 0, bytes.length, 44 + dataBytes);
          dataBytes += bytes.length;
        }
      },
      async close() {
        if (!file) return;
        await file.write(wavHeader(format.sampleRate, 1, dataBytes), 0, 44, 0);
        await file.close();
        file = null;
      },
    };
  }
}

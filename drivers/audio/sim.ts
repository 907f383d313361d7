import { open, readFile, type FileHandle } from 'node:fs/promises';
import { DriverError } from '../common/errors.js';
import { TypedEmitter } from '../common/typed-emitter.js';
import { checkFrame, resolveFormat, s16leFromSamples } from './format.js';
import { AUDIO_ENDPOINTS, type AudioCapture, type AudioDirection, type AudioDriver, type AudioDriverEvents, type AudioEndpoint, type AudioFormat, type AudioPlayback } from './types.js';
import { parseWav, wavHeader } from './wav.js';

export interface SimAudioOptions {
  /** Per endpoint: a 16-bit PCM WAV file to capture from (looped), or silence when absent. */
  sources?: Partial<Record<AudioEndpoint, string>>;
  /** Per endpoint: a WAV file to write playback into, or discard when absent. */
  sinks?: Partial<Record<AudioEndpoint, string>>;
}

function knownEndpoint(endpoint: AudioEndpoint): void {
  if (!AUDIO_ENDPOINTS.includes(endpoint)) throw new DriverError('DRIVER_INVALID_ARGUMENT', `unknown audio endpoint '${String(endpoint)}'; the sim board has ${AUDIO_ENDPOINTS.join(', ')}`);
}

/**
 * Simulated ALSA: WAV sources for capture (no pacing: the media engine paces), WAV or null sinks.
 * Formats are validated exactly as the real driver does (mono, 8000/16000 Hz, 20 ms periods).
 */
export class SimAudio extends TypedEmitter<AudioDriverEvents> implements AudioDriver {
  /** Periods written per endpoint, counted even when discarded. */
  readonly framesPlayed = new Map<AudioEndpoint, number>();
  #xruns = 0;

  constructor(private readonly options: SimAudioOptions = {}) {
    super();
  }

  /** Report an xrun as the real driver would (for tests of the service that owns audio). */
  injectXrun(endpoint: AudioEndpoint, direction: AudioDirection): void {
    this.emit('xrunOccurred', { endpoint, direction, count: ++this.#xruns, atLeastMs: null });
  }

  async openCapture(endpoint: AudioEndpoint, requested?: Partial<AudioFormat>): Promise<AudioCapture> {
    const format = resolveFormat(requested);
    knownEndpoint(endpoint);
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
    let closed = false;
    return {
      format,
      async read() {
        if (closed) throw new DriverError('DRIVER_NOT_OPEN', `${endpoint} capture is closed`);
        const frame = new Int16Array(format.frameSamples);
        for (let i = 0; i < frame.length; i++) {
          frame[i] = samples[position];
          position = (position + 1) % samples.length;
        }
        return frame;
      },
      async close() {
        closed = true;
      },
    };
  }

  async openPlayback(endpoint: AudioEndpoint, requested?: Partial<AudioFormat>): Promise<AudioPlayback> {
    const format = resolveFormat(requested);
    knownEndpoint(endpoint);
    const path = this.options.sinks?.[endpoint];
    let file: FileHandle | null = null;
    let dataBytes = 0;
    let closed = false;
    if (path) {
      file = await open(path, 'w');
      await file.write(wavHeader(format.sampleRate, 1, 0), 0, 44, 0);
    }
    return {
      format,
      write: async (frame) => {
        checkFrame(frame, format);
        if (closed) throw new DriverError('DRIVER_NOT_OPEN', `${endpoint} playback is closed`);
        this.framesPlayed.set(endpoint, (this.framesPlayed.get(endpoint) ?? 0) + 1);
        if (file) {
          // Reserve the bytes' place before awaiting, so overlapping writes keep their order.
          const bytes = s16leFromSamples(frame);
          const at = 44 + dataBytes;
          dataBytes += bytes.length;
          await file.write(bytes, 0, bytes.length, at);
        }
      },
      async close() {
        closed = true;
        if (!file) return;
        await file.write(wavHeader(format.sampleRate, 1, dataBytes), 0, 44, 0);
        await file.close();
        file = null;
      },
    };
  }
}

import { DriverError } from '../common/errors.js';
import type { AudioFormat } from './types.js';

/** Every stream runs in 20 ms periods (the media heartbeat). */
export const PERIOD_MS = 20;

/** Validate a requested format and fill in the defaults: mono S16LE, 8 kHz, 20 ms periods. */
export function resolveFormat(requested: Partial<AudioFormat> = {}): AudioFormat {
  const sampleRate = requested.sampleRate ?? 8000;
  if (sampleRate !== 8000 && sampleRate !== 16000) {
    throw new DriverError('DRIVER_INVALID_ARGUMENT', `sample rate must be 8000 or 16000 Hz, got ${String(sampleRate)}`);
  }
  const channels = requested.channels ?? 1;
  if (channels !== 1) throw new DriverError('DRIVER_INVALID_ARGUMENT', `audio is mono, got ${String(channels)} channels`);
  const period = (sampleRate / 1000) * PERIOD_MS;
  const frameSamples = requested.frameSamples ?? period;
  if (frameSamples !== period) {
    throw new DriverError('DRIVER_INVALID_ARGUMENT', `a period is ${PERIOD_MS} ms = ${period} samples at ${sampleRate} Hz, got ${String(frameSamples)}`);
  }
  return { sampleRate, channels: 1, frameSamples };
}

/** Bytes of one S16LE mono period. */
export function periodBytes(format: AudioFormat): number {
  return format.frameSamples * 2;
}

/** S16LE bytes -> samples (a copy, independent of the host's byte order and the buffer's alignment). */
export function samplesFromS16le(bytes: Uint8Array): Int16Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const samples = new Int16Array(bytes.byteLength >> 1);
  for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(i * 2, true);
  return samples;
}

/** Samples -> S16LE bytes (a copy). */
export function s16leFromSamples(samples: Int16Array): Buffer {
  const bytes = Buffer.allocUnsafe(samples.length * 2);
  for (let i = 0; i < samples.length; i++) bytes.writeInt16LE(samples[i], i * 2);
  return bytes;
}

/** Reject a playback frame that is not exactly one period. */
export function checkFrame(frame: Int16Array, format: AudioFormat): void {
  if (!(frame instanceof Int16Array) || frame.length !== format.frameSamples) {
    const got = frame instanceof Int16Array ? `${frame.length} samples` : typeof frame;
    throw new DriverError('DRIVER_INVALID_ARGUMENT', `a period is ${format.frameSamples} samples, got ${got}`);
  }
}

import { DriverError } from '../common/errors.js';

/** Minimal RIFF/WAVE support for 16-bit PCM (the only format the sim audio reads and writes). */

export interface PcmWav {
  sampleRate: number;
  channels: number;
  samples: Int16Array;
}

/** Where a PCM S16LE WAV's audio is (from the file's first bytes: the header may be all that was read). */
export interface WavLayout {
  channels: number;
  sampleRate: number;
  /** offset of the first sample */
  dataOffset: number;
  /** audio bytes: the header's data size, cut to what the file holds and to whole sample frames */
  dataBytes: number;
}

/**
 * Walks the RIFF chunks (metadata chunks such as LIST or fact are skipped) to the 16-bit PCM data chunk.
 * `bytes` must reach at least the data chunk's header; `fileBytes` is the whole file's size (a recorder that
 * crashed may leave a data size past the end: the layout is cut to the bytes there are).
 */
export function wavLayout(bytes: Uint8Array, fileBytes = bytes.length): WavLayout {
  const bad = (why: string) => new DriverError('DRIVER_INVALID_ARGUMENT', why);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (bytes.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw bad('not a RIFF/WAVE file');
  let offset = 12;
  let format: { sampleRate: number; channels: number; bits: number; code: number } | null = null;
  while (offset + 8 <= bytes.length) {
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > bytes.length) throw bad('short fmt chunk');
      format = { code: view.getUint16(body, true), channels: view.getUint16(body + 2, true), sampleRate: view.getUint32(body + 4, true), bits: view.getUint16(body + 14, true) };
    } else if (id === 'data') {
      if (!format) throw bad('WAVE data chunk before its fmt chunk');
      if (format.code !== 1 || format.bits !== 16) throw bad(`only 16-bit PCM WAV is supported (format ${format.code}, ${format.bits} bits)`);
      if (format.channels < 1 || format.sampleRate < 1) throw bad(`${format.channels} channels at ${format.sampleRate} Hz`);
      const frame = format.channels * 2;
      const available = Math.min(size, Math.max(0, fileBytes - body));
      return { channels: format.channels, sampleRate: format.sampleRate, dataOffset: body, dataBytes: available - (available % frame) };
    }
    offset = body + size + (size & 1);
  }
  throw bad('WAVE file has no data chunk');
}

/** Samples (interleaved) of a whole 16-bit PCM WAV file. */
export function parseWav(bytes: Uint8Array): PcmWav {
  const layout = wavLayout(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset + layout.dataOffset, layout.dataBytes);
  const samples = new Int16Array(layout.dataBytes / 2);
  for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(i * 2, true);
  return { sampleRate: layout.sampleRate, channels: layout.channels, samples };
}

/** A 44-byte canonical header for `dataBytes` of 16-bit PCM. */
export function wavHeader(sampleRate: number, channels: number, dataBytes: number): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  return header;
}

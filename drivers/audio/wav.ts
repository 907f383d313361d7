import { DriverError } from '../common/errors.js';

/** Minimal RIFF/WAVE support for 16-bit PCM (the only format the sim audio reads and writes). */

export interface PcmWav {
  sampleRate: number;
  channels: number;
  samples: Int16Array;
}

export function parseWav(bytes: Uint8Array): PcmWav {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (bytes.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new DriverError('DRIVER_INVALID_ARGUMENT', 'not a RIFF/WAVE file');
  let offset = 12;
  let format: { sampleRate: number; channels: number; bits: number; code: number } | null = null;
  while (offset + 8 <= bytes.length) {
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ' && size >= 16) {
      format = { code: view.getUint16(body, true), channels: view.getUint16(body + 2, true), sampleRate: view.getUint32(body + 4, true), bits: view.getUint16(body + 14, true) };
    } else if (id === 'data') {
      if (!format) throw new DriverError('DRIVER_INVALID_ARGUMENT', 'WAVE data chunk before its fmt chunk');
      if (format.code !== 1 || format.bits !== 16) throw new DriverError('DRIVER_INVALID_ARGUMENT', `only 16-bit PCM WAV is supported (format ${format.code}, ${format.bits} bits)`);
      const length = Math.min(size, bytes.length - body) & ~1;
      const samples = new Int16Array(length / 2);
      for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(body + i * 2, true);
      return { sampleRate: format.sampleRate, channels: format.channels, samples };
    }
    offset = body + size + (size & 1);
  }
  throw new DriverError('DRIVER_INVALID_ARGUMENT', 'WAVE file has no data chunk');
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

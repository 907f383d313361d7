import { describe, expect, it } from '@jest/globals';
import { checkFrame, resolveFormat, s16leFromSamples, samplesFromS16le } from '../../../drivers/audio/format.js';
import { PeriodFramer } from '../../../drivers/audio/period-framer.js';
import { seededRandom } from '../../support/random.js';

/** Feed `chunks` through a framer and collect what comes out. */
async function frame(periodBytes: number, chunks: Buffer[]): Promise<Buffer[]> {
  const framer = new PeriodFramer(periodBytes);
  const out: Buffer[] = [];
  framer.on('data', (period: Buffer) => out.push(period));
  const ended = new Promise((resolve) => framer.on('end', resolve));
  for (const chunk of chunks) framer.write(chunk);
  framer.end();
  await ended;
  return out;
}

const bytes = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff));

describe('PeriodFramer', () => {
  it('cuts odd chunk sizes into whole periods, in order, keeping partial periods across chunks', async () => {
    const stream = bytes(320 * 12 + 5);
    const sizes = [1, 7, 333, 50, 1001, 2, 319, 1, 320, 641];
    const chunks: Buffer[] = [];
    for (let at = 0, i = 0; at < stream.length; i++) {
      const size = Math.min(sizes[i % sizes.length], stream.length - at);
      chunks.push(stream.subarray(at, at + size));
      at += size;
    }
    const periods = await frame(320, chunks);
    expect(periods).toHaveLength(12); // the 5 trailing bytes never make a short period
    periods.forEach((p, i) => expect(p.equals(stream.subarray(i * 320, (i + 1) * 320))).toBe(true));
  });

  it('holds a partial period until its rest arrives, and copies what it emits', async () => {
    const framer = new PeriodFramer(4);
    const out: Buffer[] = [];
    framer.on('data', (p: Buffer) => out.push(p));
    const source = Buffer.from([1, 2, 3, 4, 5, 6]);
    framer.write(source);
    await new Promise((r) => setImmediate(r));
    expect(out).toEqual([Buffer.from([1, 2, 3, 4])]);
    expect(framer.partialBytes).toBe(2);
    source.fill(0); // the producer reuses its buffer
    framer.write(Buffer.from([7]));
    framer.write(Buffer.from([8, 9]));
    await new Promise((r) => setImmediate(r));
    expect(out).toEqual([Buffer.from([1, 2, 3, 4]), Buffer.from([5, 6, 7, 8])]);
    expect(framer.partialBytes).toBe(1);
  });

  it('survives 200 random chunkings of the same stream', async () => {
    const random = seededRandom(4);
    const stream = bytes(640 * 9 + 17);
    for (let round = 0; round < 200; round++) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < stream.length; ) {
        const size = 1 + Math.floor(random() * 900);
        chunks.push(stream.subarray(at, at + size));
        at += size;
      }
      const periods = await frame(640, chunks);
      expect(Buffer.concat(periods).equals(stream.subarray(0, 640 * 9))).toBe(true);
      expect(periods.every((p) => p.length === 640)).toBe(true);
    }
  });
});

describe('audio formats', () => {
  it('defaults to 8 kHz mono 20 ms periods, allows 16 kHz, refuses anything else', () => {
    expect(resolveFormat()).toEqual({ sampleRate: 8000, channels: 1, frameSamples: 160 });
    expect(resolveFormat({ sampleRate: 16000 })).toEqual({ sampleRate: 16000, channels: 1, frameSamples: 320 });
    expect(() => resolveFormat({ sampleRate: 44100 as 8000 })).toThrow(expect.objectContaining({ code: 'DRIVER_INVALID_ARGUMENT', message: expect.stringMatching(/8000 or 16000/) }));
    expect(() => resolveFormat({ frameSamples: 80 })).toThrow(expect.objectContaining({ code: 'DRIVER_INVALID_ARGUMENT', message: expect.stringMatching(/20 ms = 160 samples/) }));
    expect(() => resolveFormat({ channels: 2 as 1 })).toThrow(expect.objectContaining({ code: 'DRIVER_INVALID_ARGUMENT' }));
    expect(() => checkFrame(new Int16Array(159), resolveFormat())).toThrow(expect.objectContaining({ code: 'DRIVER_INVALID_ARGUMENT' }));
  });

  it('converts S16LE both ways, whatever the buffer alignment', () => {
    const samples = Int16Array.from([0, 1, -1, 32767, -32768, 1234]);
    const le = s16leFromSamples(samples);
    expect([...le.subarray(0, 6)]).toEqual([0, 0, 1, 0, 0xff, 0xff]);
    const odd = Buffer.concat([Buffer.from([9]), le]).subarray(1); // byteOffset 1
    expect(Array.from(samplesFromS16le(odd))).toEqual(Array.from(samples));
  });
});

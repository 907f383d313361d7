import { describe, expect, it } from '@jest/globals';
import { concatBytes } from '../../../drivers/common/bytes.js';
import { crc16, encodeFrame, encodeFrameBody, cobsEncode, MAX_ENCODED_BODY, toHex, type McuFrame } from '../../../drivers/mcu/frame.js';
import { FrameDecoder, McuFrameParser } from '../../../drivers/mcu/parser.js';
import { seededRandom } from '../../support/mcu.js';

function frame(seq: number, payload: number[] | Uint8Array = [seq, 0, 0xff]): McuFrame {
  return { type: 0x21, seq, flags: 0, payload: Uint8Array.from(payload) };
}
const show = (frames: McuFrame[]) => frames.map((f) => `${f.type}/${f.seq}/${f.flags}/${toHex(f.payload)}`);

function decodeAll(chunks: Uint8Array[]): { frames: McuFrame[]; decoder: FrameDecoder } {
  const decoder = new FrameDecoder();
  const frames: McuFrame[] = [];
  for (const chunk of chunks) decoder.push(chunk, (f) => frames.push(f));
  return { frames, decoder };
}

describe('FrameDecoder', () => {
  it('decodes several frames from one chunk, in order', () => {
    const input = [frame(1), frame(2, []), frame(3, new Uint8Array(300).fill(7))];
    const { frames, decoder } = decodeAll([concatBytes(...input.map(encodeFrame))]);
    expect(show(frames)).toEqual(show(input));
    expect(decoder.stats.frames).toBe(3);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('decodes a pair of frames split at every position', () => {
    const input = [frame(10, [1, 0, 2, 0, 0, 3]), frame(11, new Uint8Array(260).fill(0))];
    const bytes = concatBytes(...input.map(encodeFrame));
    for (let cut = 0; cut <= bytes.length; cut++) {
      const { frames } = decodeAll([bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(show(frames)).toEqual(show(input));
    }
  });

  it('decodes a frame fed one byte at a time', () => {
    const f = frame(5, new Uint8Array(512).map((_, i) => i & 0xff));
    const bytes = encodeFrame(f);
    const { frames } = decodeAll(Array.from(bytes, (b) => Uint8Array.of(b)));
    expect(show(frames)).toEqual(show([f]));
  });

  it('resyncs after garbage: the frame after the next delimiter decodes', () => {
    const garbage = Uint8Array.from([0x13, 0x37, 0xff, 0x01, 0x02, 0x99]);
    // garbage without a delimiter of its own: the frame's leading 00 ends it
    const { frames, decoder } = decodeAll([concatBytes(garbage, encodeFrame(frame(1)), garbage, garbage, encodeFrame(frame(2)), garbage)]);
    expect(show(frames)).toEqual(show([frame(1), frame(2)]));
    expect(decoder.stats.droppedBytes).toBe(3 * garbage.length);
    // the trailing garbage is held as an unfinished frame, bounded
    expect(decoder.bufferedBytes).toBe(garbage.length);
  });

  it('drops a frame with a bad CRC and counts it, keeping its neighbours', () => {
    const bad = encodeFrame(frame(2));
    bad[2] ^= 0x01; // the type byte: still valid COBS, wrong CRC
    const { frames, decoder } = decodeAll([concatBytes(encodeFrame(frame(1)), bad, encodeFrame(frame(3)))]);
    expect(show(frames)).toEqual(show([frame(1), frame(3)]));
    expect(decoder.stats.crcErrors).toBe(1);
    expect(decoder.stats.frames).toBe(2);
  });

  it('counts invalid COBS and too-short bodies separately', () => {
    const shortBody = Uint8Array.from([0, ...cobsEncode(Uint8Array.of(0x21, 1, 0)), 0]);
    const badCobs = Uint8Array.from([0, 0x09, 0x01, 0x02, 0]);
    const { frames, decoder } = decodeAll([concatBytes(shortBody, badCobs, encodeFrame(frame(4)))]);
    expect(show(frames)).toEqual(show([frame(4)]));
    expect(decoder.stats).toMatchObject({ shortFrames: 1, cobsErrors: 1, crcErrors: 0, frames: 1 });
  });

  it('a frame whose CRC is right but the body was forged with a wrong length still needs a valid CRC', () => {
    const body = encodeFrameBody(frame(9));
    const forged = Uint8Array.from(body);
    forged[3] ^= 0xff; // payload changed, CRC not updated
    expect(crc16(forged.subarray(0, forged.length - 2))).not.toBe((forged[forged.length - 2] << 8) | forged[forged.length - 1]);
    const { frames, decoder } = decodeAll([Uint8Array.from([0, ...cobsEncode(forged), 0])]);
    expect(frames).toEqual([]);
    expect(decoder.stats.crcErrors).toBe(1);
  });

  it('bounds its buffer: an endless run without delimiter is discarded, the next frame decodes', () => {
    const decoder = new FrameDecoder();
    const frames: McuFrame[] = [];
    const noise = new Uint8Array(4096).fill(0x55);
    for (let i = 0; i < 10; i++) decoder.push(noise, (f) => frames.push(f));
    expect(decoder.maxBufferedBytes).toBeLessThanOrEqual(MAX_ENCODED_BODY);
    expect(decoder.stats.oversized).toBe(1);
    decoder.push(encodeFrame(frame(6)), (f) => frames.push(f));
    expect(show(frames)).toEqual(show([frame(6)]));
    expect(decoder.stats.droppedBytes).toBe(10 * noise.length);
  });

  it('accepts a frame of exactly the maximum encoded size', () => {
    const f = frame(7, new Uint8Array(512).fill(0x42));
    const { frames, decoder } = decodeAll([encodeFrame(f)]);
    expect(show(frames)).toEqual(show([f]));
    expect(decoder.maxBufferedBytes).toBe(MAX_ENCODED_BODY);
  });
});

describe('McuFrameParser (Transform)', () => {
  it('turns random-sized chunks of frames and garbage into the frames, in order', async () => {
    const rnd = seededRandom(42);
    const input: McuFrame[] = [];
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) {
      const f = frame(i & 0xff, Uint8Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256)));
      input.push(f);
      parts.push(encodeFrame(f));
      if (rnd() < 0.3) parts.push(Uint8Array.from({ length: 1 + Math.floor(rnd() * 20) }, () => 1 + Math.floor(rnd() * 255)));
    }
    const bytes = concatBytes(...parts);
    const parser = new McuFrameParser();
    const out: McuFrame[] = [];
    parser.on('data', (f: McuFrame) => out.push(f));
    const ended = new Promise<void>((resolve) => parser.on('end', () => resolve()));
    for (let i = 0; i < bytes.length; ) {
      const n = 1 + Math.floor(rnd() * 100);
      parser.write(Buffer.from(bytes.subarray(i, i + n)));
      i += n;
    }
    parser.end();
    await ended;
    expect(show(out)).toEqual(show(input));
    expect(parser.stats.frames).toBe(200);
    expect(parser.stats.crcErrors + parser.stats.cobsErrors + parser.stats.shortFrames).toBeGreaterThan(0);
  });

  it('never errors: a stream of zeros and 0xff ends cleanly with no frames', async () => {
    const parser = new McuFrameParser();
    const out: McuFrame[] = [];
    parser.on('data', (f: McuFrame) => out.push(f));
    const errors: Error[] = [];
    parser.on('error', (e) => errors.push(e));
    const ended = new Promise<void>((resolve) => parser.on('end', () => resolve()));
    parser.write(Buffer.alloc(1000, 0));
    parser.write(Buffer.alloc(1000, 0xff));
    parser.end();
    await ended;
    expect(out).toEqual([]);
    expect(errors).toEqual([]);
    expect(parser.stats.oversized).toBe(1);
    expect(parser.bufferedBytes).toBe(0);
  });
});

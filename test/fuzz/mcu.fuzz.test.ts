// Fuzzing the MCU frame parser: megabytes of seeded random bytes, truncated and corrupted frames,
// interleaved with valid frames, fed in random chunk sizes. Every valid frame must come out, in
// order and byte for byte; nothing may throw; the parser's buffer must stay within its bound.

import { describe, expect, it } from '@jest/globals';
import { encodeFrame, MAX_ENCODED_BODY, MAX_PAYLOAD, toHex, type McuFrame } from '../../drivers/mcu/frame.js';
import { McuFrameParser } from '../../drivers/mcu/parser.js';
import { mcuRig, seededRandom } from '../support/mcu.js';

/** Valid frames carry this marker and their index, so they can be told from lucky garbage. */
const MARK = [0x46, 0x5a, 0x5a, 0x21];

interface Corpus {
  chunks: Uint8Array[];
  valid: McuFrame[];
  randomBytes: number;
}

function buildCorpus(seed: number, frames: number, randomBytesWanted: number): Corpus {
  const rnd = seededRandom(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const randomBytes = (n: number, zeros = true) => Uint8Array.from({ length: n }, () => (zeros ? int(256) : 1 + int(255)));
  const parts: Uint8Array[] = [];
  const valid: McuFrame[] = [];
  let random = 0;
  const perGap = Math.ceil(randomBytesWanted / frames);
  for (let i = 0; i < frames; i++) {
    // Between valid frames: some of plain noise, zero-free runs (long ones overflow the buffer),
    // truncated frames and frames with flipped bits.
    const kind = int(10);
    let gap: Uint8Array;
    if (kind < 5) gap = randomBytes(int(2 * perGap));
    else if (kind < 7) gap = randomBytes(int(3 * perGap), false);
    else if (kind < 8) {
      const f = encodeFrame({ type: int(256), seq: int(256), flags: 0, payload: randomBytes(int(MAX_PAYLOAD)) });
      gap = f.subarray(0, 1 + int(f.length - 2)); // a frame cut off before its end
    } else if (kind < 9) {
      const f = Uint8Array.from(encodeFrame({ type: int(256), seq: int(256), flags: 0, payload: randomBytes(int(64)) }));
      f[1 + int(f.length - 2)] ^= 1 << int(8); // one flipped bit (a 0x00 may appear: still no valid frame)
      gap = f;
    } else gap = randomBytes(int(perGap / 4));
    parts.push(gap);
    random += gap.length;

    const payload = new Uint8Array(int(MAX_PAYLOAD - 8) + 8);
    payload.set(randomBytes(payload.length));
    payload.set([...MARK, i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, 0], 0);
    const frame: McuFrame = { type: int(256), seq: i & 0xff, flags: int(2), payload };
    valid.push(frame);
    parts.push(encodeFrame(frame));
  }
  parts.push(randomBytes(perGap));
  random += perGap;
  // cut the whole stream into chunks of random size, independent of frame boundaries
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < total; ) {
    const n = rnd() < 0.1 ? 1 + int(4) : 1 + int(4096);
    chunks.push(all.subarray(i, i + n));
    i += n;
  }
  return { chunks, valid, randomBytes: random };
}

const key = (f: McuFrame) => `${f.type}/${f.seq}/${f.flags}/${toHex(f.payload)}`;
const isMarked = (f: McuFrame) => MARK.every((b, i) => f.payload[i] === b);

describe('MCU frame parser fuzz', () => {
  it.each([[0x5eed1], [0x5eed2], [0x5eed3]])('seed %i: >1 MB of noise around 1500 frames, random chunks', async (seed) => {
    const t0 = Date.now();
    const corpus = buildCorpus(seed, 1500, 1_500_000);
    expect(corpus.randomBytes).toBeGreaterThanOrEqual(1024 * 1024);
    expect(corpus.valid.length).toBeGreaterThanOrEqual(1000);

    const parser = new McuFrameParser();
    const out: McuFrame[] = [];
    const errors: unknown[] = [];
    let maxQueued = 0;
    parser.on('data', (f: McuFrame) => out.push(f));
    parser.on('error', (e) => errors.push(e));
    const ended = new Promise<void>((resolve) => parser.on('end', () => resolve()));
    for (const chunk of corpus.chunks) {
      parser.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      if (parser.bufferedBytes > MAX_ENCODED_BODY) throw new Error(`parser holds ${parser.bufferedBytes} bytes`);
      maxQueued = Math.max(maxQueued, parser.readableLength);
    }
    parser.end();
    await ended;

    expect(errors).toEqual([]);
    const marked = out.filter(isMarked);
    expect(marked.length).toBe(corpus.valid.length);
    // compare as one string: quicker than 1500 deep-equals and shows the first difference
    expect(marked.map(key).join('\n')).toBe(corpus.valid.map(key).join('\n'));
    // garbage that happens to pass COBS and CRC-16 is rare (about 2^-16 per candidate run)
    expect(out.length - marked.length).toBeLessThanOrEqual(3);
    expect(parser.maxBufferedBytes).toBeLessThanOrEqual(MAX_ENCODED_BODY);
    expect(maxQueued).toBeLessThanOrEqual(64);
    const s = parser.stats;
    expect(s.crcErrors + s.cobsErrors + s.shortFrames).toBeGreaterThan(100);
    expect(s.oversized).toBeGreaterThan(10);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('SerialMcu survives 256 KB of noise on its port and keeps working', async () => {
    const rig = await mcuRig();
    try {
      await rig.mcu.open();
      const rnd = seededRandom(99);
      const keys: string[] = [];
      rig.mcu.keypad.on('keyPressed', ({ key: k }) => keys.push(k));
      for (let i = 0; i < 64; i++) {
        const noise = Uint8Array.from({ length: 4096 }, () => Math.floor(rnd() * 256));
        rig.host.emit('data', Buffer.from(noise));
      }
      await rig.fw.pressKey('8');
      await rig.mcu.indicators.setLed('line', 'on');
      expect(keys).toEqual(['8']);
      expect(rig.fw.leds.line).toBe('on');
      expect(rig.mcu.stats.parser.droppedBytes).toBeGreaterThan(200_000);
    } finally {
      await rig.stop();
    }
  });
});

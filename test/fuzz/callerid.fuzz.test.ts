// Fuzz: >= 1 MB of seeded random bytes interleaved with >= 1,000 generated valid frames, fed through the
// streaming decoders in random chunk sizes.
//
// Exactness: a random byte run can itself contain a valid-looking message, or a false start whose
// claimed length would reach into the real frame that follows. So every garbage run is followed either
// by 258 channel-seizure bytes (0x55 is no message type, and 258 bytes are more than any message: every
// false start begun in the garbage is settled before the real frame starts), or is drawn from bytes that
// are no message type at all. The scanner is then in a clean state at every real frame, and the
// expected events are: what a fresh scanner finds in that garbage run on its own, then the frame's
// decode, which the generator knows independently of the decoder.

import { isDeepStrictEqual } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from '@jest/globals';
import { concatBytes } from '../../drivers/common/bytes.js';
import { FSK_BUFFER_BYTES, FskCallerIdStream, FskMessageScanner, TextCallerIdStream } from '../../drivers/callerid/stream.js';
import type { CallerId, CallerIdDecoderEvent } from '../../drivers/callerid/types.js';
import { seededRandom as rng } from '../support/random.js';
import { ascii, message } from '../unit/callerid/vectors.js';


type Rand = ReturnType<typeof rng>;
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T,>(r: Rand, list: readonly T[]): T => list[Math.floor(r() * list.length)];
const digits = (r: Rand, n: number) => Array.from({ length: n }, () => String(int(r, 0, 9))).join('');
const two = (n: number) => String(n).padStart(2, '0');

/** A name of printable ASCII without leading/trailing spaces (decoders trim names). */
function name(r: Rand, n: number): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,&-\'';
  let s = '';
  for (let i = 0; i < n; i++) s += pick(r, [...chars]);
  s = s.trim();
  return s || 'X';
}

interface Frame {
  bytes: Uint8Array;
  expected: { type: 'callerId' | 'messageWaiting'; callerId: CallerId };
}

/** A random valid SDMF/MDMF frame and the decode it must give, built without the code under test. */
function randomFrame(r: Rand): Frame {
  const date = { month: int(r, 1, 12), day: int(r, 1, 31), hour: int(r, 0, 23), minute: int(r, 0, 59) };
  const dateText = `${two(date.month)}${two(date.day)}${two(date.hour)}${two(date.minute)}`;
  const base = (format: 'sdmf' | 'mdmf'): CallerId => ({ format, number: null, name: null, numberAbsent: null, nameAbsent: null });
  const kind = r();
  if (kind < 0.25) {
    const cid = { ...base('sdmf'), ...date };
    const mode = r();
    let rest: string;
    if (mode < 0.7) {
      rest = cid.number = digits(r, int(r, 1, 15));
    } else if (mode < 0.85) {
      rest = 'P';
      cid.numberAbsent = 'private';
    } else {
      rest = 'O';
      cid.numberAbsent = 'unavailable';
    }
    return { bytes: message(0x04, ascii(dateText + rest)), expected: { type: 'callerId', callerId: cid } };
  }
  if (kind < 0.3) {
    const on = r() < 0.5;
    const b = on ? 0x42 : 0x6f;
    return { bytes: message(0x06, [b, b, b]), expected: { type: 'messageWaiting', callerId: { ...base('sdmf'), messageWaiting: on } } };
  }
  if (kind < 0.4) {
    const on = r() < 0.5;
    const cid: CallerId = { ...base('mdmf') };
    const params: Array<[number, number[]]> = [];
    if (r() < 0.5) {
      params.push([0x01, ascii(dateText)]);
      Object.assign(cid, date);
    }
    params.push([0x0b, [on ? 0xff : 0x00]]);
    cid.messageWaiting = on;
    if (r() < 0.5) params.reverse();
    return { bytes: message(0x82, params.flatMap(([p, d]) => [p, d.length, ...d])), expected: { type: 'messageWaiting', callerId: cid } };
  }
  // MDMF call setup: a random selection of parameters in random order, each at most once
  const cid: CallerId = { ...base('mdmf') };
  const params: Array<[number, number[]]> = [];
  if (r() < 0.8) {
    params.push([0x01, ascii(dateText)]);
    Object.assign(cid, date);
  }
  const numberMode = r();
  if (numberMode < 0.6) {
    cid.number = digits(r, int(r, 1, 20));
    params.push([0x02, ascii(cid.number)]);
  } else if (numberMode < 0.75) {
    const reason = pick(r, ['P', 'O'] as const);
    cid.numberAbsent = reason === 'P' ? 'private' : 'unavailable';
    params.push([0x04, ascii(reason)]);
  } else if (numberMode < 0.85) {
    cid.dialableNumber = cid.number = digits(r, int(r, 1, 20));
    params.push([0x03, ascii(cid.dialableNumber)]);
  }
  const nameMode = r();
  if (nameMode < 0.6) {
    cid.name = name(r, int(r, 1, 40));
    params.push([0x07, ascii(cid.name)]);
  } else if (nameMode < 0.8) {
    const reason = pick(r, ['P', 'O'] as const);
    cid.nameAbsent = reason === 'P' ? 'private' : 'unavailable';
    params.push([0x08, ascii(reason)]);
  }
  if (r() < 0.2) {
    params.push([0x06, ascii('L')]);
    cid.longDistance = true;
  }
  if (r() < 0.15) {
    const on = r() < 0.5;
    params.push([0x0b, [on ? 0xff : 0x00]]);
    cid.messageWaiting = on;
  }
  if (r() < 0.15) {
    cid.callType = int(r, 0, 255);
    params.push([0x11, [cid.callType]]);
  }
  if (r() < 0.15) {
    cid.redirectingNumber = digits(r, int(r, 1, 20));
    params.push([0x1a, ascii(cid.redirectingNumber)]);
  }
  if (r() < 0.15) {
    const info = Array.from({ length: int(r, 0, 20) }, () => int(r, 0, 255));
    cid.operatorInfo = info.map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join('');
    params.push([0xe0, info]);
  }
  if (r() < 0.25) params.push([pick(r, [0x05, 0x09, 0x13, 0x99, 0xf0]), Array.from({ length: int(r, 0, 30) }, () => int(r, 0, 255))]); // unknown: skipped
  if (params.length === 0) {
    cid.number = digits(r, 7);
    params.push([0x02, ascii(cid.number)]);
  }
  for (let i = params.length - 1; i > 0; i--) {
    const j = int(r, 0, i);
    [params[i], params[j]] = [params[j], params[i]];
  }
  return { bytes: message(0x80, params.flatMap(([p, d]) => [p, d.length, ...d])), expected: { type: 'callerId', callerId: cid } };
}

const TYPES = new Set([0x04, 0x06, 0x80, 0x82]);

function garbage(r: Rand, n: number, avoidTypes: boolean): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let b = int(r, 0, 255);
    while (avoidTypes && TYPES.has(b)) b = int(r, 0, 255);
    out[i] = b;
  }
  return out;
}

/** Decoded (non-rejected) events as comparable values. */
function decoded(events: CallerIdDecoderEvent[]): Array<{ type: string; callerId: CallerId }> {
  return events.flatMap((e) => (e.type === 'rejected' ? [] : [{ type: e.type, callerId: e.callerId }]));
}

function gcFunction(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

describe('caller-ID FSK stream decoder under fuzz', () => {
  it('finds every one of >= 1,000 valid frames in >= 1 MB of random bytes, in random chunks, with bounded memory', async () => {
    const r = rng(0xc0ffee);
    const FRAMES = 1200;
    const parts: Uint8Array[] = [];
    const expected: Array<{ type: string; callerId: CallerId }> = [];
    const framesInOrder: Array<{ type: string; callerId: CallerId }> = [];
    let garbageBytes = 0;
    let pendingAtRunEnd = 0;
    let regenerated = 0;
    for (let i = 0; i < FRAMES; i++) {
      const frame = randomFrame(r);
      const mode = r();
      const PAD = new Uint8Array(258).fill(0x55);
      let segment: Uint8Array;
      if (mode < 0.5) {
        // A: fully random bytes, 258 seizure bytes, the frame
        const junk = garbage(r, int(r, 0, 1800), false);
        garbageBytes += junk.length;
        const probe = new FskMessageScanner();
        probe.push(junk);
        if (probe.buffered > 0) pendingAtRunEnd++; // a false start still open where the padding begins
        segment = concatBytes(junk, PAD, frame.bytes);
      } else if (mode < 0.75) {
        // B: bytes that are no message type, a few seizure bytes, the frame: nothing else can be found
        const junk = garbage(r, int(r, 0, 1800), true);
        garbageBytes += junk.length;
        segment = concatBytes(junk, new Uint8Array(int(r, 0, 40)).fill(0x55), frame.bytes);
      } else {
        // C: fully random bytes right before the frame (false starts overlap it), then 258 seizure bytes.
        // Redrawn while a false start overlapping the frame would itself pass the checksum (it could then
        // legitimately swallow the frame); this check is independent of the decoder.
        let junk: Uint8Array;
        for (;;) {
          junk = garbage(r, int(r, 0, 1800), false);
          const all = concatBytes(junk, frame.bytes, PAD);
          let swallower = false;
          for (let p = Math.max(0, junk.length - 258); p < junk.length && !swallower; p++) {
            if (!TYPES.has(all[p]) || p + 1 >= all.length) continue;
            const total = all[p + 1] + 3;
            if (p + total <= junk.length) continue; // ends before the frame
            let sum = 0;
            for (let k = p; k < p + total; k++) sum += all[k];
            swallower = sum % 256 === 0;
          }
          if (!swallower) break;
          regenerated++;
        }
        garbageBytes += junk.length;
        segment = concatBytes(junk, frame.bytes, PAD);
      }
      if (mode < 0.5 || mode >= 0.75) {
        // a fresh scanner's findings in the segment on its own are what the stream must report for it
        // (the padding leaves no false start open at either end of the segment)
        const oracle = new FskMessageScanner();
        expected.push(...decoded(oracle.push(segment)));
        expect(oracle.buffered).toBe(0);
      } else {
        expected.push(frame.expected);
      }
      parts.push(segment);
      framesInOrder.push(frame.expected);
    }
    const stream = concatBytes(...parts);
    expect(garbageBytes).toBeGreaterThanOrEqual(1 << 20);
    expect(framesInOrder.length).toBeGreaterThanOrEqual(1000);

    const gc = gcFunction();
    for (const seed of [1, 2]) {
      gc();
      const heapBefore = process.memoryUsage().heapUsed;
      const cr = rng(seed);
      const decoder = new FskCallerIdStream();
      const got: Array<{ type: string; callerId: CallerId }> = [];
      let rejections = 0;
      let maxBuffered = 0;
      const errors: unknown[] = [];
      decoder.on('error', (e) => errors.push(e));
      decoder.on('data', (e: CallerIdDecoderEvent) => {
        if (e.type === 'rejected') rejections++;
        else got.push({ type: e.type, callerId: e.callerId });
      });
      let offset = 0;
      while (offset < stream.length) {
        // mostly small chunks (a UART delivers a few bytes at a time), sometimes large ones
        const size = cr() < 0.9 ? int(cr, 1, 64) : int(cr, 65, 8192);
        decoder.write(stream.subarray(offset, offset + size));
        offset += size;
        maxBuffered = Math.max(maxBuffered, decoder.scanner.buffered);
      }
      await new Promise<void>((resolve) => decoder.end(resolve));
      await new Promise((resolve) => setImmediate(resolve));

      expect(errors).toEqual([]);
      expect(got.length).toBe(expected.length);
      expect(got).toEqual(expected);
      // independent of the oracle: the generated frames appear in order
      let next = 0;
      for (const event of got) if (next < framesInOrder.length && isDeepStrictEqual(event, framesInOrder[next])) next++;
      expect(next).toBe(framesInOrder.length);
      expect(rejections).toBeGreaterThan(0);
      expect(maxBuffered).toBeLessThan(258);
      expect(decoder.scanner.highWater).toBeLessThanOrEqual(FSK_BUFFER_BYTES);
      gc();
      const growth = process.memoryUsage().heapUsed - heapBefore;
      // what the test itself keeps (the decoded events) is well under this; the decoder keeps nothing
      expect(growth).toBeLessThan(16 * 1024 * 1024);
    }
    // (fixed seed) many random runs ended inside a false start that reached into what followed: the
    // padding (A) and the redraw (C) are what make the expectations exact
    expect(pendingAtRunEnd).toBeGreaterThan(50);
    expect(regenerated).toBeLessThan(FRAMES / 10);
  });
});

describe('caller-ID text-line stream under fuzz', () => {
  it('finds every caller-ID box line among 256 KB of random line noise, in random chunks', async () => {
    const r = rng(0xbeef);
    const parts: Uint8Array[] = [];
    const expected: Array<{ number: string; name: string; hour: number }> = [];
    let noise = 0;
    for (let i = 0; i < 1000; i++) {
      // noise without '=' and '/' cannot form a modem field or a box record; it ends with a line end
      const junk = garbage(r, int(r, 0, 500), false).map((b) => (b === 0x3d || b === 0x2f ? 0x20 : b));
      noise += junk.length;
      const number = digits(r, 10);
      const who = name(r, 15).replace(/^\S*$/, 'ACME');
      const hour12 = int(r, 1, 12);
      const pm = r() < 0.5;
      const line = `${two(int(r, 1, 4))} I S 0000 G A1 ${two(int(r, 1, 12))}/${two(int(r, 1, 28))} ${two(hour12)}:${two(int(r, 0, 59))} ${pm ? 'PM' : 'AM'} ${number.slice(0, 3)}-${number.slice(3, 6)}-${number.slice(6)}   ${who}\r\n`;
      expected.push({ number, name: who, hour: (hour12 % 12) + (pm ? 12 : 0) });
      parts.push(junk, Uint8Array.of(0x0d, 0x0a), Uint8Array.from(ascii(line)));
    }
    expect(noise).toBeGreaterThanOrEqual(200_000);
    const bytes = concatBytes(...parts);
    const decoder = new TextCallerIdStream();
    const got: Array<{ number: string | null; name: string | null; hour?: number }> = [];
    decoder.on('data', (e: CallerIdDecoderEvent) => {
      if (e.type === 'callerId') got.push({ number: e.callerId.number, name: e.callerId.name, hour: e.callerId.hour });
    });
    for (let offset = 0; offset < bytes.length; ) {
      const size = int(r, 1, 300);
      decoder.write(bytes.subarray(offset, offset + size));
      offset += size;
      expect(decoder.splitter.buffered).toBeLessThanOrEqual(257);
    }
    await new Promise<void>((resolve) => decoder.end(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(got).toEqual(expected);
  });
});

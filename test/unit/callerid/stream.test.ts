import { PassThrough } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { concatBytes } from '../../../drivers/common/bytes.js';
import { FSK_BUFFER_BYTES, FskCallerIdStream, FskMessageScanner, TextCallerIdStream, TextLineSplitter } from '../../../drivers/callerid/stream.js';
import type { CallerIdDecoderEvent } from '../../../drivers/callerid/types.js';
import { EXPECTED, SEIZURE, VECTORS, ascii, hex, message, params } from './vectors.js';

/** Feeds the chunks into a fresh scanner, ends the burst, returns every event. */
function scan(chunks: Uint8Array[], endOfBurst = true): CallerIdDecoderEvent[] {
  const scanner = new FskMessageScanner();
  const events = chunks.flatMap((c) => scanner.push(c));
  if (endOfBurst) events.push(...scanner.endOfBurst());
  return events;
}

/** A compact, comparable view of events. */
function summary(events: CallerIdDecoderEvent[]): Array<string | object> {
  return events.map((e) => (e.type === 'rejected' ? `rejected:${e.code}` : e.type === 'callerId' ? e.callerId : { messageWaiting: e.messageWaiting }));
}

function callerIds(events: CallerIdDecoderEvent[]) {
  return events.flatMap((e) => (e.type === 'callerId' ? [e.callerId] : []));
}

function splitAt(bytes: Uint8Array, ...cuts: number[]): Uint8Array[] {
  const points = [0, ...cuts, bytes.length];
  return points.slice(1).map((end, i) => bytes.subarray(points[i], end));
}

const sdmf = hex(VECTORS.sdmf);
const mdmf = hex(VECTORS.mdmf);
const mdmfPrivate = hex(VECTORS.mdmfPrivate);
const bad = hex(VECTORS.bad);

describe('FSK stream decoder', () => {
  it('decodes each vector after seizure and marks, split at every possible position', () => {
    for (const [bytes, expected] of [[sdmf, EXPECTED.sdmf], [mdmf, EXPECTED.mdmf], [mdmfPrivate, EXPECTED.mdmfPrivate]] as const) {
      const burst = concatBytes(SEIZURE, bytes);
      for (let cut = 0; cut <= burst.length; cut++) {
        expect(summary(scan(splitAt(burst, cut), false))).toEqual([expected]);
      }
    }
  });

  it('decodes the MDMF vector split into three chunks at every pair of positions, and byte by byte', () => {
    for (let i = 0; i <= mdmf.length; i++) {
      for (let j = i; j <= mdmf.length; j++) expect(callerIds(scan(splitAt(mdmf, i, j), false))).toEqual([EXPECTED.mdmf]);
    }
    expect(summary(scan(Array.from(mdmf, (b) => Uint8Array.of(b)), false))).toEqual([EXPECTED.mdmf]);
  });

  it('decodes several messages in one chunk, in order, and rejects the bad vector between them', () => {
    const all = concatBytes(SEIZURE, sdmf, mdmf, bad, SEIZURE, mdmfPrivate, hex('06 03 42 42 42 31'));
    expect(summary(scan([all]))).toEqual([EXPECTED.sdmf, EXPECTED.mdmf, 'rejected:CALLERID_BAD_CHECKSUM', EXPECTED.mdmfPrivate, { messageWaiting: true }]);
    // and the same split at every position
    for (let cut = 0; cut <= all.length; cut++) {
      expect(summary(scan(splitAt(all, cut)))).toEqual([EXPECTED.sdmf, EXPECTED.mdmf, 'rejected:CALLERID_BAD_CHECKSUM', EXPECTED.mdmfPrivate, { messageWaiting: true }]);
    }
  });

  it('never reports a caller ID for the bad vector, however it is chunked', () => {
    for (let cut = 0; cut <= bad.length; cut++) {
      const events = scan(splitAt(concatBytes(SEIZURE, bad), cut));
      expect(callerIds(events)).toEqual([]);
      expect(events.filter((e) => e.type === 'rejected').map((e) => e.type === 'rejected' && e.code)).toContain('CALLERID_BAD_CHECKSUM');
    }
  });

  it('skips garbage before a message, including bytes that look like message starts', () => {
    const garbage = Uint8Array.of(0x00, 0x13, 0x80, 0x01, 0x04, 0x05, 0x06, 0x01, 0x82, 0x00, 0x7f, 0xfe);
    const events = scan([concatBytes(garbage, SEIZURE, mdmf)]);
    expect(callerIds(events)).toEqual([EXPECTED.mdmf]);
    expect(events.filter((e) => e.type === 'rejected').length).toBeGreaterThanOrEqual(4); // each false start reported
    expect(events.at(-1)?.type).toBe('callerId');
  });

  it('a false start whose length swallows the real message: found at the end of the burst', () => {
    // 80 30 claims 48 payload bytes; the SDMF vector's bytes still frame as parameters for a while
    const chunk = concatBytes(Uint8Array.of(0x80, 0x30), sdmf);
    const scanner = new FskMessageScanner();
    expect(scanner.push(chunk)).toEqual([]); // waiting for the 51 bytes the false start claims
    const tail = scanner.endOfBurst();
    expect(summary(tail)).toEqual(['rejected:CALLERID_TRUNCATED', EXPECTED.sdmf]);
    // or as soon as the false start's bytes are complete
    expect(summary(scan([chunk, sdmf]))).toEqual(expect.arrayContaining([EXPECTED.sdmf]));
    expect(callerIds(scan([chunk, sdmf]))).toEqual([EXPECTED.sdmf, EXPECTED.sdmf]);
  });

  it('a false start that frames well but fails its checksum inside the real message: rescanning finds it', () => {
    // 80 05 | 99 03 [04 12 30] claims 8 bytes and ends 4 bytes into the SDMF message; its checksum fails
    const events = scan([concatBytes(Uint8Array.of(0x80, 0x05, 0x99, 0x03), sdmf)], false);
    expect(summary(events)).toEqual(['rejected:CALLERID_BAD_CHECKSUM', EXPECTED.sdmf]);
    expect(events[0].bytes).toEqual(Uint8Array.of(0x80, 0x05, 0x99, 0x03, 0x04, 0x12, 0x30, 0x33));
  });

  it('resyncs after a bad checksum: the next message decodes', () => {
    const corrupted = Uint8Array.from(sdmf);
    corrupted[5] ^= 0x01;
    expect(summary(scan([concatBytes(corrupted, SEIZURE, mdmf)]))).toEqual(['rejected:CALLERID_BAD_CHECKSUM', EXPECTED.mdmf]);
  });

  it('a truncated message is rejected at the end of the burst, never decoded', () => {
    for (let n = 1; n < mdmf.length; n++) {
      const events = scan([concatBytes(SEIZURE, mdmf.subarray(0, n))]);
      expect(callerIds(events)).toEqual([]);
      expect(events.map((e) => e.type === 'rejected' && e.code)).toContain('CALLERID_TRUNCATED');
    }
  });

  it('a truncated message followed by a whole one: the whole one decodes', () => {
    const events = scan([concatBytes(mdmf.subarray(0, 6), SEIZURE.subarray(0, 4), mdmf)]);
    expect(callerIds(events)).toEqual([EXPECTED.mdmf]);
    expect(events[0].type).toBe('rejected');
  });

  it('message-waiting messages come as messageWaiting events', () => {
    const events = scan([message(0x06, [0x6f, 0x6f, 0x6f]), message(0x82, params([0x0b, [0xff]]))]);
    expect(events.map((e) => e.type === 'messageWaiting' && [e.messageWaiting, e.callerId.format])).toEqual([[false, 'sdmf'], [true, 'mdmf']]);
  });

  it('reports the bytes of what it decoded and rejected', () => {
    const events = scan([concatBytes(SEIZURE, bad, sdmf)]);
    expect(events[0]).toMatchObject({ type: 'rejected', code: 'CALLERID_BAD_CHECKSUM', bytes: bad });
    expect(events[1]).toMatchObject({ type: 'callerId', bytes: sdmf });
  });

  it('keeps its buffer bounded, whatever the chunk size', () => {
    const scanner = new FskMessageScanner();
    const big = new Uint8Array(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919 + (i >> 3)) & 0xff;
    const events = scanner.push(big);
    expect(scanner.highWater).toBeLessThanOrEqual(FSK_BUFFER_BYTES);
    expect(scanner.buffered).toBeLessThan(258);
    expect(events.every((e) => e.type === 'rejected' || e.type === 'callerId' || e.type === 'messageWaiting')).toBe(true);
    // 258 seizure bytes end whatever false start was pending; the message after them decodes
    expect(callerIds(scanner.push(concatBytes(new Uint8Array(258).fill(0x55), sdmf))).at(-1)).toEqual(EXPECTED.sdmf);
    expect(scanner.buffered).toBe(0);
  });

  it('as a Transform: bytes in, events out, the end of the stream ends the burst', async () => {
    const stream = new FskCallerIdStream();
    const events: CallerIdDecoderEvent[] = [];
    stream.on('data', (e: CallerIdDecoderEvent) => events.push(e));
    const done = new Promise((resolve) => stream.on('end', resolve));
    const source = new PassThrough();
    source.pipe(stream);
    const burst = concatBytes(SEIZURE, mdmf, sdmf.subarray(0, 10));
    source.write('noise as a string is read as latin1 bytes');
    for (const part of splitAt(burst, 3, 40, 41)) source.write(part);
    source.end();
    await done;
    expect(summary(events)[0]).toEqual(EXPECTED.mdmf);
    expect(summary(events)).toContain('rejected:CALLERID_TRUNCATED');
    expect(callerIds(events)).toHaveLength(1);
  });
});

describe('text-line stream', () => {
  const modem = 'RING\r\n\r\nDATE = 1015\r\nTIME = 2038\r\nNMBR = 8475550001\r\nNAME = U.S.ROBOTICS\r\n\r\nRING\r\n';
  const expected = { format: 'text', number: '8475550001', name: 'U.S.ROBOTICS', numberAbsent: null, nameAbsent: null, month: 10, day: 15, hour: 20, minute: 38 };

  async function run(chunks: Uint8Array[], idle = false): Promise<CallerIdDecoderEvent[]> {
    const stream = new TextCallerIdStream();
    const events: CallerIdDecoderEvent[] = [];
    stream.on('data', (e: CallerIdDecoderEvent) => events.push(e));
    for (const c of chunks) stream.write(c);
    if (idle) stream.endOfBurst();
    await new Promise<void>((resolve) => stream.end(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    return events;
  }

  it('decodes the modem-style example split at every position', async () => {
    const bytes = Uint8Array.from(ascii(modem));
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(summary(await run(splitAt(bytes, cut)))).toEqual([expected]);
    }
  });

  it('LF-only and CR-only line ends work too; a message without a closing line ends at idle', async () => {
    expect(summary(await run([Uint8Array.from(ascii(modem.replace(/\r\n/g, '\n')))]))).toEqual([expected]);
    expect(summary(await run([Uint8Array.from(ascii(modem.replace(/\r\n/g, '\r')))]))).toEqual([expected]);
    const open = 'DATE = 1015\r\nTIME = 2038\r\nNMBR = 8475550001\r\nNAME = U.S.ROBOTICS\r\n';
    const stream = new TextCallerIdStream();
    const events: CallerIdDecoderEvent[] = [];
    stream.on('data', (e: CallerIdDecoderEvent) => events.push(e));
    stream.write(Uint8Array.from(ascii(open)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual([]);
    stream.endOfBurst();
    await new Promise((resolve) => setImmediate(resolve));
    expect(summary(events)).toEqual([expected]);
  });

  it('an over-long line is rejected once and the next line still decodes', async () => {
    const junk = 'X'.repeat(5000);
    const events = await run([Uint8Array.from(ascii(`${junk}\r\n01 I S 0000 G A1 10/15 08:38 PM 847-555-0001   ACME\r\n`))]);
    expect(summary(events)).toEqual(['rejected:CALLERID_TOO_LONG', { ...expected, name: 'ACME' }]);
  });

  it('the line splitter bounds its buffer', () => {
    const splitter = new TextLineSplitter();
    expect(splitter.push(new Uint8Array(100_000).fill(0x41))).toEqual([]);
    expect(splitter.buffered).toBeLessThanOrEqual(257);
    const [line] = splitter.push(Uint8Array.of(0x0a));
    expect(line.length).toBe(257);
  });
});

import { describe, expect, it } from '@jest/globals';
import { DriverError } from '../../../../drivers/common/errors.js';
import {
  combineStatus, decodeErrorCause, decodeOfflineCause, decodePaperSensor, decodePrinterStatus, isStatusReply, queryStatus, StatusByteDecoder,
  StatusReplyParser, StatusWaitress,
} from '../../../../drivers/printer/status.js';
import { FakeClock } from '../../../support/fake-clock.js';

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('DLE EOT replies', () => {
  it('(b & 0x93) == 0x12 marks a valid reply', () => {
    for (const b of [0x12, 0x16, 0x32, 0x1e, 0x72]) expect(isStatusReply(b)).toBe(true);
    for (const b of [0x00, 0x10, 0x13, 0x92, 0x37, 0x5f, 0xff, 0x02]) expect(isStatusReply(b)).toBe(false);
  });

  it('decodes the reference vectors', () => {
    expect(decodeOfflineCause(0x12)).toEqual({ coverOpen: false, feedingByButton: false, paperEndStop: false, error: false });
    expect(decodeOfflineCause(0x16).coverOpen).toBe(true);
    expect(decodeOfflineCause(0x32).paperEndStop).toBe(true);
    expect(decodePaperSensor(0x12)).toEqual({ nearEnd: false, paperOut: false });
    expect(decodePaperSensor(0x1e)).toEqual({ nearEnd: true, paperOut: false });
    expect(decodePaperSensor(0x72)).toEqual({ nearEnd: false, paperOut: true });
    expect(decodePrinterStatus(0x12).offline).toBe(false);
    expect(decodePrinterStatus(0x1a).offline).toBe(true);
    expect(decodeErrorCause(0x1a).autocutter).toBe(true);
    expect(() => decodePaperSensor(0x13)).toThrow(DriverError);
  });

  it('combines DLE EOT 1, 2 and 4 into the printer status', () => {
    expect(combineStatus({ printer: 0x12, offlineCause: 0x12, paper: 0x12 })).toEqual({ online: true, coverOpen: false, paperNearEnd: false, paperOut: false });
    expect(combineStatus({ printer: 0x1a, offlineCause: 0x16, paper: 0x12 })).toEqual({ online: false, coverOpen: true, paperNearEnd: false, paperOut: false });
    expect(combineStatus({ printer: 0x12, offlineCause: 0x12, paper: 0x1e })).toMatchObject({ paperNearEnd: true, paperOut: false });
    expect(combineStatus({ printer: 0x1a, offlineCause: 0x32, paper: 0x7e })).toMatchObject({ online: false, paperNearEnd: false, paperOut: true });
  });
});

describe('StatusByteDecoder', () => {
  const decode = (bytes: number[], decoder = new StatusByteDecoder()): number[] => {
    const out: number[] = [];
    decoder.push(Uint8Array.from(bytes), (b) => out.push(b));
    return out;
  };

  it('passes replies and drops garbage, resyncing on the next byte', () => {
    const d = new StatusByteDecoder();
    expect(decode([0xff, 0x12, 0x00, 0x81, 0x16, 0x13], d)).toEqual([0x12, 0x16]);
    expect(d.stats).toMatchObject({ replies: 2, droppedBytes: 4 });
  });

  it('skips Automatic Status Back blocks (4 bytes) without taking them for replies', () => {
    const d = new StatusByteDecoder();
    // ASB: first byte 0x14 (cover open), then 0x00 0x0c 0x00 (roll paper near end bits)
    expect(decode([0x14, 0x00, 0x0c, 0x00, 0x72], d)).toEqual([0x72]);
    expect(d.stats.asb).toBe(1);
    // an ASB cut short: the interrupting reply byte still counts
    expect(decode([0x10, 0x00, 0x1e], d)).toEqual([0x1e]);
  });

  it('skips process ID responses and printer information blocks up to their NUL', () => {
    const d = new StatusByteDecoder();
    // GS ( H process ID response: 37 22 "1234" 00; GS I information B: 5F "TM-T20" 00 — "T" (0x54) etc. would be dropped bytes otherwise
    const block = [0x37, 0x22, 0x31, 0x32, 0x33, 0x34, 0x00, 0x5f, ...Buffer.from('TM-T20II'), 0x00];
    expect(decode([...block, 0x12], d)).toEqual([0x12]);
    expect(d.stats).toMatchObject({ blocks: 2, droppedBytes: 0 });
    // split across chunks
    const out: number[] = [];
    d.push(Uint8Array.of(0x37, 0x22, 0x12), (b) => out.push(b));
    d.push(Uint8Array.of(0x16, 0x00, 0x32), (b) => out.push(b));
    expect(out).toEqual([0x32]);
  });

  it('works as a Transform', async () => {
    const parser = new StatusReplyParser();
    const got: number[] = [];
    parser.on('data', (b: number) => got.push(b));
    parser.write(Uint8Array.of(0x00, 0x12, 0x14, 0, 0, 0, 0x72));
    await flush();
    expect(got).toEqual([0x12, 0x72]);
  });
});

describe('StatusWaitress', () => {
  it('answers requests in order, one on the wire at a time', async () => {
    const clock = new FakeClock();
    const w = new StatusWaitress({ timers: clock });
    const sent: string[] = [];
    const transmit = async (bytes: Uint8Array): Promise<void> => void sent.push(Buffer.from(bytes).toString('hex'));
    const status = queryStatus(w, transmit);
    await flush();
    expect(sent).toEqual(['100401']);
    expect(w.handle(0x12)).toBe(true);
    await flush();
    expect(sent).toEqual(['100401', '100402']);
    w.handle(0x16);
    await flush();
    expect(sent).toEqual(['100401', '100402', '100404']);
    w.handle(0x1e);
    await expect(status).resolves.toEqual({ online: true, coverOpen: true, paperNearEnd: true, paperOut: false });
    expect(w.stats).toMatchObject({ matched: 3, timeouts: 0 });
    expect(w.handle(0x12)).toBe(false);
    expect(w.stats.unmatched).toBe(1);
  });

  it('times out, then drops late replies during the quiet period before the next request', async () => {
    const clock = new FakeClock();
    const w = new StatusWaitress({ timers: clock, timeoutMs: 500, quietMs: 200 });
    const sent: number[] = [];
    const transmit = async (bytes: Uint8Array): Promise<void> => void sent.push(bytes[2]);
    const first = w.request(1, transmit);
    const second = w.request(4, transmit);
    await flush();
    clock.advance(499);
    expect(w.pending).toBe(2);
    clock.advance(1);
    await expect(first).rejects.toMatchObject({ code: 'DRIVER_TIMEOUT' });
    w.handle(0x1a); // the late answer to DLE EOT 1: must not answer DLE EOT 4
    expect(sent).toEqual([1]);
    clock.advance(200);
    await flush();
    expect(sent).toEqual([1, 4]);
    w.handle(0x72);
    await expect(second).resolves.toBe(0x72);
    expect(w.stats).toMatchObject({ timeouts: 1, unmatched: 1, matched: 1 });
  });

  it('rejectAll fails the active and queued requests; a failing transmit fails only its request', async () => {
    const clock = new FakeClock();
    const w = new StatusWaitress({ timers: clock });
    let fail = true;
    const transmit = async (): Promise<void> => {
      if (fail) throw new DriverError('DRIVER_IO', 'gone');
    };
    const a = w.request(1, transmit);
    await expect(a).rejects.toMatchObject({ code: 'DRIVER_IO' });
    fail = false;
    const b = w.request(2, transmit);
    const c = w.request(4, transmit);
    await flush();
    w.rejectAll(new DriverError('DRIVER_IO', 'unplugged'));
    await expect(b).rejects.toThrow('unplugged');
    await expect(c).rejects.toThrow('unplugged');
    expect(w.pending).toBe(0);
    expect(clock.pending).toBe(0);
  });
});

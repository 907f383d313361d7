import { describe, expect, it } from '@jest/globals';
import { DtmfReceiver, decodeTelephoneEvent, dtmfPackets, encodeTelephoneEvent, eventForDigit } from '../../../src/media/rfc4733.js';

const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('RFC 4733 telephone-event', () => {
  it('encodes the packets of one digit: marker start, 50 ms updates, three E packets', () => {
    const ps = dtmfPackets('5', { durationMs: 100, volume: 10 });
    expect(ps.map((p) => p.atMs)).toEqual([0, 50, 100, 120, 140]);
    expect(ps.map((p) => p.marker)).toEqual([true, false, false, false, false]);
    // event 5, volume 10, duration 0 / 400 / 800 (timestamp units at 8 kHz); E bit = 0x80.
    expect(ps.map((p) => hexOf(p.payload))).toEqual(['050a0000', '050a0190', '058a0320', '058a0320', '058a0320']);
    expect(eventForDigit('*')).toBe(10);
    expect(eventForDigit('#')).toBe(11);
    expect(eventForDigit('d')).toBe(15);
    expect(() => eventForDigit('x')).toThrow(expect.objectContaining({ code: 'DTMF_INVALID' }));
    expect(() => dtmfPackets('1', { durationMs: 10 })).toThrow(expect.objectContaining({ code: 'DTMF_INVALID' }));
    expect(() => dtmfPackets('1', { durationMs: 9000 })).toThrow(expect.objectContaining({ code: 'DTMF_INVALID' }));
  });

  it('round-trips the payload and rejects short ones', () => {
    const e = { event: 11, end: true, volume: 63, duration: 0xffff };
    expect(decodeTelephoneEvent(encodeTelephoneEvent(e))).toEqual(e);
    expect(() => decodeTelephoneEvent(new Uint8Array(3))).toThrow(expect.objectContaining({ code: 'DTMF_INVALID' }));
  });

  const feed = (rx: DtmfReceiver, digit: string, ts: number, keep: (i: number) => boolean, t0 = 0, ssrc = 7) => {
    const out = [];
    const ps = dtmfPackets(digit, { durationMs: 160 });
    for (let i = 0; i < ps.length; i++) if (keep(i)) out.push(...rx.push({ ssrc, timestamp: ts, payload: ps[i].payload }, t0 + ps[i].atMs));
    return { out, count: ps.length };
  };

  it('reports each event exactly once, ignoring the repeated end packets', () => {
    const rx = new DtmfReceiver();
    const { out } = feed(rx, '7', 1000, () => true);
    expect(out).toEqual([{ digit: '7', durationMs: 160, timestamp: 1000, endLost: false }]);
    // A retransmission of the whole event (same timestamp) is not a new digit.
    expect(feed(rx, '7', 1000, () => true, 500).out).toEqual([]);
    // The same digit again, new timestamp: a new event.
    expect(feed(rx, '7', 5000, () => true, 1000).out.map((d) => d.digit)).toEqual(['7']);
  });

  it('handles a lost start packet', () => {
    const rx = new DtmfReceiver();
    expect(feed(rx, '3', 2000, (i) => i > 0).out).toEqual([{ digit: '3', durationMs: 160, timestamp: 2000, endLost: false }]);
  });

  it('closes an event whose end packets were lost: by the next event, or by timeout', () => {
    const rx = new DtmfReceiver({ timeoutMs: 250 });
    const ps = dtmfPackets('1', { durationMs: 160 });
    const updates = ps.filter((p) => (p.payload[1] & 0x80) === 0);
    const first = feed(rx, '1', 100, (i) => i < updates.length);
    expect(first.out).toEqual([]);
    const second = feed(rx, '2', 3000, () => true, 400);
    // '1' ends with the last duration seen: the update sent at 150 ms carried 1200 units (150 ms).
    expect(second.out).toEqual([
      { digit: '1', durationMs: 150, timestamp: 100, endLost: true },
      { digit: '2', durationMs: 160, timestamp: 3000, endLost: false },
    ]);
    feed(rx, '9', 6000, (i) => i < updates.length, 1000);
    expect(rx.poll(1000 + 150 + 200)).toEqual([]);
    expect(rx.poll(1000 + 150 + 250)).toEqual([{ digit: '9', durationMs: 150, timestamp: 6000, endLost: true }]);
    expect(rx.poll(5000)).toEqual([]);
  });

  it('ignores non-DTMF events (16 = flash)', () => {
    const rx = new DtmfReceiver();
    expect(rx.push({ ssrc: 1, timestamp: 1, payload: encodeTelephoneEvent({ event: 16, end: true, volume: 0, duration: 800 }) }, 0)).toEqual([]);
    expect(rx.poll(10_000)).toEqual([]);
  });
});

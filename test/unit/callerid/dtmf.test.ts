import { describe, expect, it } from '@jest/globals';
import { DTMF_MAX_DIGITS, DtmfCallerIdCollector, decodeDtmfCallerId, looksLikeDtmfCallerId } from '../../../drivers/callerid/dtmf.js';
import type { CallerId } from '../../../drivers/callerid/types.js';

const num = (number: string): CallerId => ({ format: 'dtmf', number, name: null, numberAbsent: null, nameAbsent: null });
const absent = (numberAbsent: 'private' | 'unavailable'): CallerId => ({ format: 'dtmf', number: null, name: null, numberAbsent, nameAbsent: null });

describe('decodeDtmfCallerId', () => {
  it('A or D + digits + C or #', () => {
    expect(decodeDtmfCallerId('A2125551234C')).toEqual({ ok: true, callerId: num('2125551234') });
    expect(decodeDtmfCallerId('A2125551234#')).toEqual({ ok: true, callerId: num('2125551234') });
    expect(decodeDtmfCallerId('D0212345678C')).toEqual({ ok: true, callerId: num('0212345678') });
    expect(decodeDtmfCallerId('D0212345678#')).toEqual({ ok: true, callerId: num('0212345678') });
    expect(decodeDtmfCallerId(' a5551234c ')).toEqual({ ok: true, callerId: num('5551234') });
  });

  it('D1# private, D2# and D3# unavailable; B00 unknown, B10 private (end digit optional)', () => {
    expect(decodeDtmfCallerId('D1#')).toEqual({ ok: true, callerId: absent('private') });
    expect(decodeDtmfCallerId('D2#')).toEqual({ ok: true, callerId: absent('unavailable') });
    expect(decodeDtmfCallerId('D3#')).toEqual({ ok: true, callerId: absent('unavailable') });
    expect(decodeDtmfCallerId('B00')).toEqual({ ok: true, callerId: absent('unavailable') });
    expect(decodeDtmfCallerId('B10')).toEqual({ ok: true, callerId: absent('private') });
    expect(decodeDtmfCallerId('B10C')).toEqual({ ok: true, callerId: absent('private') });
    // a one-digit number with C is just a number; D4# is not a special code
    expect(decodeDtmfCallerId('D1C')).toEqual({ ok: true, callerId: num('1') });
    expect(decodeDtmfCallerId('D4#')).toEqual({ ok: true, callerId: num('4') });
  });

  it('rejects what is not DTMF caller ID, with a code', () => {
    for (const bad of ['', 'AC', 'A123', '123C', 'C123A', 'A12*3C', `A${'1'.repeat(DTMF_MAX_DIGITS + 1)}C`, 'B1', 'B100']) {
      const result = decodeDtmfCallerId(bad);
      expect({ bad, ok: result.ok }).toEqual({ bad, ok: false });
      expect(!result.ok && result.error.code).toBe('CALLERID_BAD_INPUT');
    }
    const unknownInfo = decodeDtmfCallerId('B20');
    expect(!unknownInfo.ok && unknownInfo.error).toMatchObject({ code: 'CALLERID_MALFORMED', message: expect.stringMatching(/B20/) });
  });

  it('tells DTMF strings from hex and text', () => {
    expect(looksLikeDtmfCallerId('A5551234C')).toBe(true);
    expect(looksLikeDtmfCallerId('D1#')).toBe(true);
    expect(looksLikeDtmfCallerId('B10')).toBe(true);
    expect(looksLikeDtmfCallerId('04 12 30')).toBe(false);
    expect(looksLikeDtmfCallerId('NMBR = 5551234')).toBe(false);
  });
});

describe('DtmfCallerIdCollector', () => {
  function feed(collector: DtmfCallerIdCollector, digits: string, start = 0, stepMs = 100): Array<CallerId | null> {
    return Array.from(digits, (d, i) => collector.push(d, start + i * stepMs));
  }

  it('yields the caller ID on the end digit, not before', () => {
    const c = new DtmfCallerIdCollector();
    const results = feed(c, 'A2125551234C');
    expect(results.slice(0, -1).every((r) => r === null)).toBe(true);
    expect(results.at(-1)).toEqual(num('2125551234'));
    expect(c.pending).toBe('');
  });

  it('special codes: D1#, D2#, B00, B10 (an end digit after B.. is ignored)', () => {
    const c = new DtmfCallerIdCollector();
    expect(feed(c, 'D1#').at(-1)).toEqual(absent('private'));
    expect(feed(c, 'D2#', 10_000).at(-1)).toEqual(absent('unavailable'));
    expect(feed(c, 'B00', 20_000).at(-1)).toEqual(absent('unavailable'));
    expect(feed(c, 'B10C', 30_000)).toEqual([null, null, absent('private'), null]);
  });

  it('ignores digits outside a sequence; a new start digit starts over', () => {
    const c = new DtmfCallerIdCollector();
    expect(feed(c, '5#9A12A5551234#').at(-1)).toEqual(num('5551234'));
    expect(feed(c, 'C#123', 5000).every((r) => r === null)).toBe(true);
  });

  it('a gap longer than the inter-digit timeout drops the pending digits', () => {
    const c = new DtmfCallerIdCollector({ interDigitTimeoutMs: 500 });
    expect(c.push('A', 0)).toBeNull();
    expect(c.push('1', 100)).toBeNull();
    expect(c.deadline).toBe(600);
    expect(c.push('2', 700)).toBeNull(); // 600 ms gap: the sequence is gone, '2' is outside any
    expect(c.pending).toBe('');
    expect(c.push('C', 800)).toBeNull();
    // exactly at the timeout still counts
    feed(c, 'A123', 1000, 500);
    expect(c.push('C', 2500)).toEqual(num('123'));
  });

  it('expire() is for the caller\'s timer', () => {
    const c = new DtmfCallerIdCollector({ interDigitTimeoutMs: 300 });
    feed(c, 'A55', 0, 100);
    expect(c.expire(450)).toBe(false);
    expect(c.pending).toBe('A55');
    expect(c.expire(501)).toBe(true);
    expect(c.pending).toBe('');
    expect(c.deadline).toBeNull();
    expect(c.expire(10_000)).toBe(false);
  });

  it('drops over-long sequences, * and unknown information codes', () => {
    const c = new DtmfCallerIdCollector();
    expect(feed(c, `A${'9'.repeat(DTMF_MAX_DIGITS + 1)}C`).every((r) => r === null)).toBe(true);
    expect(feed(c, 'A12*34C', 10_000).every((r) => r === null)).toBe(true);
    expect(feed(c, 'B20C', 20_000).every((r) => r === null)).toBe(true);
    expect(feed(c, 'B1C', 30_000).every((r) => r === null)).toBe(true);
    expect(c.push('x', 40_000)).toBeNull();
    expect(feed(c, `A${'9'.repeat(DTMF_MAX_DIGITS)}C`, 50_000).at(-1)).toEqual(num('9'.repeat(DTMF_MAX_DIGITS)));
  });

  it('reset() forgets the pending sequence', () => {
    const c = new DtmfCallerIdCollector();
    feed(c, 'A123');
    c.reset();
    expect(c.push('C', 500)).toBeNull();
  });
});

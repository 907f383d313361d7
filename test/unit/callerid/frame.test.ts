import { describe, expect, it } from '@jest/globals';
import { concatBytes } from '../../../drivers/common/bytes.js';
import {
  MAX_MESSAGE_BYTES, checksum, checksumValid, decodeBurst, decodeMessage, encodeMdmf, encodeMessage, encodeSdmf, encodeSdmfMessageWaiting,
  framingError, parseHex, type DecodeResult,
} from '../../../drivers/callerid/frame.js';
import { CallerIdError } from '../../../drivers/callerid/errors.js';
import { EXPECTED, SEIZURE, VECTORS, ascii, hex, message, params } from './vectors.js';

function ok(result: DecodeResult) {
  if (!result.ok) throw new Error(`expected a decode, got ${result.error.code}: ${result.error.message}`);
  return result.message;
}

function err(result: DecodeResult) {
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.message.callerId)}`);
  expect(result.error).toBeInstanceOf(CallerIdError);
  return result.error;
}

const DATE = '03211405';
const mdmf = (...list: Array<[number, string | number[]]>) => decodeMessage(message(0x80, params([0x01, DATE], ...list)));

describe('caller-ID frames: the protocols.md vectors', () => {
  it('SDMF 03/21 14:05 2125551234', () => {
    const m = ok(decodeMessage(hex(VECTORS.sdmf)));
    expect(m).toMatchObject({ kind: 'call', type: 0x04 });
    expect(m.callerId).toEqual(EXPECTED.sdmf);
  });

  it('MDMF date + number + name "ACME HARDWARE"', () => {
    expect(ok(decodeMessage(hex(VECTORS.mdmf))).callerId).toEqual(EXPECTED.mdmf);
  });

  it('MDMF private number and name surface as numberAbsent/nameAbsent', () => {
    expect(ok(decodeMessage(hex(VECTORS.mdmfPrivate))).callerId).toEqual(EXPECTED.mdmfPrivate);
  });

  it('the widely copied bad vector is rejected for its checksum, never decoded', () => {
    const bytes = hex(VECTORS.bad);
    const error = err(decodeMessage(bytes));
    expect(error.code).toBe('CALLERID_BAD_CHECKSUM');
    expect(error.message).toMatch(/sums to 0xF9/);
    expect(checksumValid(bytes)).toBe(false);
    expect(err(decodeBurst(concatBytes(SEIZURE, bytes))).code).toBe('CALLERID_BAD_CHECKSUM');
  });

  it('the checksum byte of each good vector is (0x100 - sum) & 0xFF of the bytes before it', () => {
    for (const v of [VECTORS.sdmf, VECTORS.mdmf, VECTORS.mdmfPrivate]) {
      const bytes = hex(v);
      expect(checksum(bytes.subarray(0, bytes.length - 1))).toBe(bytes[bytes.length - 1]);
      expect(checksumValid(bytes)).toBe(true);
    }
  });
});

describe('caller-ID frames: checksum rule', () => {
  it('accepts a message whose bytes before the checksum already sum to 0 mod 256 (checksum 0x00)', () => {
    // date + a 1-character name chosen so that type..payload sums to 0 mod 256: the checksum byte is
    // 0x00 (the case Asterisk's `256 - (cksum & 0xff)` comparison gets wrong)
    const base = [0x80, 0x00, ...params([0x01, DATE])];
    const nameLen = 1;
    const partial = [...base, 0x07, nameLen];
    partial[1] = partial.length - 2 + nameLen;
    const sum = partial.reduce((a, b) => a + b, 0);
    const nameByte = (0x300 - sum) % 256;
    const bytes = Uint8Array.from([...partial, nameByte, 0x00]);
    expect(bytes.reduce((a, b) => a + b, 0) % 256).toBe(0);
    expect(nameByte).toBeGreaterThanOrEqual(0x20);
    expect(ok(decodeMessage(bytes)).callerId.name).toBe(String.fromCharCode(nameByte));
    // a checksum of 0x00 where 0x01 is due is wrong, and so is every other value
    const shifted = Uint8Array.from(bytes);
    shifted[shifted.length - 2] = nameByte + 1;
    expect(err(decodeMessage(shifted)).code).toBe('CALLERID_BAD_CHECKSUM');
  });

  it('rejects every single-bit error in the checksum byte', () => {
    const good = hex(VECTORS.sdmf);
    for (let bit = 0; bit < 8; bit++) {
      const bad = Uint8Array.from(good);
      bad[bad.length - 1] ^= 1 << bit;
      expect(err(decodeMessage(bad)).code).toBe('CALLERID_BAD_CHECKSUM');
    }
  });

  it('rejects a corrupted payload byte even when the framing still holds', () => {
    const bad = hex(VECTORS.mdmf);
    bad[20] = 0x39; // a digit of the number changes
    expect(err(decodeMessage(bad)).code).toBe('CALLERID_BAD_CHECKSUM');
  });
});

describe('caller-ID frames: SDMF', () => {
  it('number "O" and "P" after the date are absence reasons', () => {
    expect(ok(decodeMessage(message(0x04, ascii(`${DATE}O`)))).callerId).toEqual({ ...EXPECTED.sdmf, number: null, numberAbsent: 'unavailable' });
    expect(ok(decodeMessage(message(0x04, ascii(`${DATE}P`)))).callerId).toEqual({ ...EXPECTED.sdmf, number: null, numberAbsent: 'private' });
  });

  it('a single-byte O or P payload carries no date', () => {
    expect(ok(decodeMessage(message(0x04, ascii('P')))).callerId).toEqual({ format: 'sdmf', number: null, name: null, numberAbsent: 'private', nameAbsent: null });
    expect(ok(decodeMessage(message(0x04, ascii('O')))).callerId.numberAbsent).toBe('unavailable');
  });

  it('a date-only payload has no number; an impossible date is left out, the number kept', () => {
    expect(ok(decodeMessage(message(0x04, ascii(DATE)))).callerId).toEqual({ ...EXPECTED.sdmf, number: null });
    const cid = ok(decodeMessage(message(0x04, ascii('13322561' + '5551234')))).callerId;
    expect(cid).toEqual({ format: 'sdmf', number: '5551234', name: null, numberAbsent: null, nameAbsent: null });
  });

  it('framing: payload length 1 or >= 8, digits for the date, printable ASCII after it', () => {
    expect(err(decodeMessage(message(0x04, ascii('0321')))).code).toBe('CALLERID_MALFORMED');
    expect(err(decodeMessage(message(0x04, ascii('X')))).code).toBe('CALLERID_MALFORMED');
    expect(err(decodeMessage(message(0x04, ascii('0321 405555')))).message).toMatch(/not an ASCII digit/);
    expect(err(decodeMessage(message(0x04, [...ascii(DATE), 0x35, 0x07]))).message).toMatch(/not printable/);
    expect(err(decodeMessage(message(0x04, []))).code).toBe('CALLERID_MALFORMED');
  });

  it('message waiting 0x06: BBB on, ooo off, anything else malformed', () => {
    const on = ok(decodeMessage(hex('06 03 42 42 42 31')));
    expect(on).toMatchObject({ kind: 'messageWaiting', type: 0x06 });
    expect(on.callerId).toEqual({ format: 'sdmf', number: null, name: null, numberAbsent: null, nameAbsent: null, messageWaiting: true });
    expect(ok(decodeMessage(message(0x06, [0x6f, 0x6f, 0x6f]))).callerId.messageWaiting).toBe(false);
    expect(err(decodeMessage(message(0x06, [0x42, 0x6f, 0x42]))).code).toBe('CALLERID_MALFORMED');
    expect(err(decodeMessage(message(0x06, [0x42, 0x42]))).code).toBe('CALLERID_MALFORMED');
  });
});

describe('caller-ID frames: MDMF parameters', () => {
  it('0x01 date-time, 0x02 number, 0x07 name', () => {
    expect(ok(mdmf([0x02, '5551234'], [0x07, 'WANG LI'])).callerId).toEqual({ ...EXPECTED.mdmf, number: '5551234', name: 'WANG LI' });
  });

  it('0x03 dialable number: kept, and the number when 0x02 is missing', () => {
    expect(ok(mdmf([0x02, '5551234'], [0x03, '12125551234'])).callerId).toMatchObject({ number: '5551234', dialableNumber: '12125551234' });
    expect(ok(mdmf([0x03, '12125551234'])).callerId).toMatchObject({ number: '12125551234', dialableNumber: '12125551234' });
  });

  it('0x04 and 0x08 absence reasons: O unavailable, P private, other values skipped', () => {
    expect(ok(mdmf([0x04, 'O'], [0x08, 'O'])).callerId).toMatchObject({ number: null, numberAbsent: 'unavailable', name: null, nameAbsent: 'unavailable' });
    expect(ok(mdmf([0x04, 'P'], [0x07, 'ACME'])).callerId).toMatchObject({ numberAbsent: 'private', name: 'ACME', nameAbsent: null });
    const odd = ok(mdmf([0x04, 'X'], [0x02, '5551234']));
    expect(odd.callerId).toMatchObject({ number: '5551234', numberAbsent: null });
    expect(odd.skippedParams).toEqual([0x04]);
  });

  it('0x06 qualifier L = long distance', () => {
    expect(ok(mdmf([0x02, '5551234'], [0x06, 'L'])).callerId.longDistance).toBe(true);
    expect(ok(mdmf([0x02, '5551234'], [0x06, 'Q'])).callerId.longDistance).toBeUndefined();
  });

  it('0x0B message waiting inside a call-setup message', () => {
    expect(ok(mdmf([0x02, '5551234'], [0x0b, [0xff]])).callerId).toMatchObject({ number: '5551234', messageWaiting: true });
    expect(ok(mdmf([0x02, '5551234'], [0x0b, [0x00]])).callerId.messageWaiting).toBe(false);
  });

  it('ETSI 0x11 call type, 0x1A redirecting number, 0xE0 operator info', () => {
    const m = ok(mdmf([0x02, '01012345678'], [0x11, [0x01]], [0x1a, '01087654321'], [0xe0, [0xde, 0xad, 0x01]]));
    expect(m.callerId).toMatchObject({ number: '01012345678', callType: 1, redirectingNumber: '01087654321', operatorInfo: 'DEAD01' });
    expect(m.skippedParams).toEqual([]);
  });

  it('unknown parameters (0x05, 0x13, 0x99) are skipped safely, known ones around them decoded', () => {
    const m = ok(mdmf([0x05, [1, 2, 3]], [0x02, '5551234'], [0x99, []], [0x13, [0x02]], [0x07, 'ACME']));
    expect(m.callerId).toEqual({ ...EXPECTED.mdmf, number: '5551234', name: 'ACME' });
    expect(m.skippedParams).toEqual([0x05, 0x99, 0x13]);
  });

  it('a repeated parameter: the first one counts', () => {
    const m = ok(mdmf([0x02, '111'], [0x02, '222']));
    expect(m.callerId.number).toBe('111');
    expect(m.skippedParams).toEqual([0x02]);
  });

  it('a bad date parameter is skipped; names are trimmed and control characters dropped', () => {
    const m = decodeMessage(message(0x80, params([0x01, '99999999'], [0x07, [0x20, 0x41, 0x07, 0x42, 0x20]])));
    expect(ok(m).callerId).toEqual({ format: 'mdmf', number: null, name: 'AB', numberAbsent: null, nameAbsent: null });
    expect(ok(m).skippedParams).toEqual([0x01]);
  });

  it('0x82 message waiting needs its 0x0B parameter', () => {
    const on = ok(decodeMessage(message(0x82, params([0x01, DATE], [0x0b, [0xff]]))));
    expect(on).toMatchObject({ kind: 'messageWaiting', type: 0x82 });
    expect(on.callerId).toEqual({ format: 'mdmf', number: null, name: null, numberAbsent: null, nameAbsent: null, month: 3, day: 21, hour: 14, minute: 5, messageWaiting: true });
    expect(ok(decodeMessage(message(0x82, params([0x0b, [0x00]])))).callerId.messageWaiting).toBe(false);
    expect(err(decodeMessage(message(0x82, params([0x01, DATE])))).message).toMatch(/0x0B/);
  });

  it('framing: parameters must tile the payload exactly', () => {
    expect(err(decodeMessage(message(0x80, [0x02, 0x05, 0x31, 0x32]))).message).toMatch(/overruns/);
    expect(err(decodeMessage(message(0x80, [...params([0x02, '12']), 0x07]))).message).toMatch(/no length byte/);
    expect(err(decodeMessage(message(0x80, [0x02]))).code).toBe('CALLERID_MALFORMED');
    expect(err(decodeMessage(message(0x80, []))).code).toBe('CALLERID_MALFORMED');
  });
});

describe('caller-ID frames: lengths and bursts', () => {
  it('truncated and over-long inputs', () => {
    const full = hex(VECTORS.mdmf);
    for (let n = 0; n < full.length; n++) expect(err(decodeMessage(full.subarray(0, n))).code).toBe('CALLERID_TRUNCATED');
    expect(err(decodeMessage(concatBytes(full, Uint8Array.of(0x55)))).code).toBe('CALLERID_UNEXPECTED_DATA');
  });

  it('a maximal 258-byte message decodes', () => {
    const name = 'N'.repeat(253);
    const bytes = message(0x80, params([0x07, name]));
    expect(bytes.length).toBe(MAX_MESSAGE_BYTES);
    expect(ok(decodeMessage(bytes)).callerId.name).toBe(name);
  });

  it('decodeBurst skips seizure and marks; other leading bytes and unknown types are errors', () => {
    expect(ok(decodeBurst(concatBytes(SEIZURE, hex(VECTORS.sdmf)))).callerId).toEqual(EXPECTED.sdmf);
    expect(err(decodeBurst(concatBytes(Uint8Array.of(0x12), hex(VECTORS.sdmf)))).code).toBe('CALLERID_UNEXPECTED_DATA');
    expect(err(decodeBurst(SEIZURE)).code).toBe('CALLERID_TRUNCATED');
    expect(err(decodeBurst(new Uint8Array())).code).toBe('CALLERID_TRUNCATED');
  });

  it('framingError judges prefixes the way it judges whole messages', () => {
    const good = hex(VECTORS.mdmf);
    for (let n = 0; n <= good.length; n++) expect(framingError(good.subarray(0, n))).toBeNull();
    const bad = message(0x80, [0x02, 0x05, 0x31, 0x32]);
    expect(framingError(bad.subarray(0, 3))).toBeNull(); // the param's length byte has not arrived
    expect(framingError(bad.subarray(0, 4))?.code).toBe('CALLERID_MALFORMED');
    expect(framingError(Uint8Array.of(0x04, 0x12, 0x41))?.code).toBe('CALLERID_MALFORMED'); // 'A' in the date
    expect(framingError(Uint8Array.of(0x12))?.code).toBe('CALLERID_UNEXPECTED_DATA');
  });
});

describe('caller-ID frames: encoding', () => {
  it('the encoders produce the protocols.md vectors', () => {
    expect(encodeSdmf({ month: 3, day: 21, hour: 14, minute: 5, number: '2125551234' })).toEqual(hex(VECTORS.sdmf));
    expect(encodeMdmf([[0x01, DATE], [0x02, '2125551234'], [0x07, 'ACME HARDWARE']])).toEqual(hex(VECTORS.mdmf));
    expect(encodeMdmf([[0x01, '12250930'], [0x04, 'P'], [0x08, 'P']])).toEqual(hex(VECTORS.mdmfPrivate));
    expect(encodeSdmfMessageWaiting(true)).toEqual(hex('06 03 42 42 42 31'));
    expect(ok(decodeMessage(encodeSdmf({ month: 1, day: 2, hour: 3, minute: 4, absent: 'private' }))).callerId).toMatchObject({ numberAbsent: 'private', month: 1 });
    expect(ok(decodeMessage(encodeSdmfMessageWaiting(false))).callerId.messageWaiting).toBe(false);
  });

  it('refuses payloads over 255 bytes', () => {
    expect(() => encodeMessage(0x80, new Uint8Array(256))).toThrow(expect.objectContaining({ code: 'CALLERID_MALFORMED' }));
    expect(() => encodeMdmf([[0x07, 'x'.repeat(256)]])).toThrow(/at most 255/);
  });
});

describe('parseHex', () => {
  it('accepts spaces, commas, colons and 0x prefixes', () => {
    expect(parseHex('04 12 5c')).toEqual(Uint8Array.of(0x04, 0x12, 0x5c));
    expect(parseHex('0x04,0x12:5C')).toEqual(Uint8Array.of(0x04, 0x12, 0x5c));
    expect(parseHex('04125C')).toEqual(Uint8Array.of(0x04, 0x12, 0x5c));
  });

  it('rejects odd digit counts, non-hex characters, empty and over-long input with a code', () => {
    expect(() => parseHex('04 1')).toThrow(expect.objectContaining({ code: 'CALLERID_BAD_INPUT', message: expect.stringMatching(/odd number/) }));
    expect(() => parseHex('04 1g')).toThrow(/'g' is not a hex digit/);
    expect(() => parseHex('  ')).toThrow(/no hex bytes/);
    expect(() => parseHex('00'.repeat(5), 4)).toThrow(/more than 4 bytes/);
  });
});

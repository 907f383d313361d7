import { describe, expect, it } from '@jest/globals';
import { decodeCallerIdInput } from '../../../src/cli/callerid.js';
import { EXPECTED, VECTORS } from './vectors.js';

describe('deskline callerid decode: input handling', () => {
  it('hex: the vectors, with seizure bytes, lower case and 0x prefixes', () => {
    expect(decodeCallerIdInput(VECTORS.sdmf)).toEqual({ valid: true, ...EXPECTED.sdmf });
    expect(decodeCallerIdInput(`55 55 55 55 ${VECTORS.mdmf.toLowerCase()}`)).toEqual({ valid: true, ...EXPECTED.mdmf });
    expect(decodeCallerIdInput(VECTORS.mdmfPrivate.split(' ').map((b) => `0x${b}`).join(','))).toEqual({ valid: true, ...EXPECTED.mdmfPrivate });
    expect(decodeCallerIdInput('06 03 42 42 42 31')).toEqual({ valid: true, format: 'sdmf', number: null, name: null, numberAbsent: null, nameAbsent: null, messageWaiting: true });
  });

  it('hex: the bad vector, truncation, trailing bytes and bad hex are invalid with a reason', () => {
    expect(decodeCallerIdInput(VECTORS.bad)).toEqual({ valid: false, error: expect.stringMatching(/bad checksum/), code: 'CALLERID_BAD_CHECKSUM' });
    expect(decodeCallerIdInput(VECTORS.sdmf.slice(0, 20))).toMatchObject({ valid: false, code: 'CALLERID_TRUNCATED' });
    expect(decodeCallerIdInput(`${VECTORS.sdmf} 00`)).toMatchObject({ valid: false, error: expect.stringMatching(/1 bytes after the end/) });
    expect(decodeCallerIdInput('04 12 3')).toMatchObject({ valid: false, code: 'CALLERID_BAD_INPUT', error: expect.stringMatching(/odd number/) });
  });

  it('DTMF strings', () => {
    expect(decodeCallerIdInput('A2125551234C')).toEqual({ valid: true, format: 'dtmf', number: '2125551234', name: null, numberAbsent: null, nameAbsent: null });
    expect(decodeCallerIdInput('D1#')).toMatchObject({ valid: true, numberAbsent: 'private' });
    expect(decodeCallerIdInput('B00')).toMatchObject({ valid: true, numberAbsent: 'unavailable' });
    expect(decodeCallerIdInput('B20')).toMatchObject({ valid: false, code: 'CALLERID_MALFORMED' });
  });

  it('text lines with real or literal \\n between them', () => {
    const want = { valid: true, format: 'text', number: '8475550001', name: 'U.S.ROBOTICS', numberAbsent: null, nameAbsent: null, month: 10, day: 15, hour: 20, minute: 38 };
    expect(decodeCallerIdInput('DATE = 1015\nTIME = 2038\nNMBR = 8475550001\nNAME = U.S.ROBOTICS')).toEqual(want);
    expect(decodeCallerIdInput('RING\\r\\nDATE = 1015\\r\\nTIME = 2038\\r\\nNMBR = 8475550001\\r\\nNAME = U.S.ROBOTICS\\r\\nRING')).toEqual(want);
    expect(decodeCallerIdInput('01 I S 0000 B A1 09/26 11:28 AM 800-555-1212 ACME')).toMatchObject({ valid: false, code: 'CALLERID_UNIT_BAD_CHECKSUM' });
    expect(decodeCallerIdInput('MESG = 0B01FF')).toMatchObject({ valid: true, format: 'text', number: null, messageWaiting: true });
  });

  it('--format forces a reading; nonsense and empty input are invalid', () => {
    expect(decodeCallerIdInput('A12C', 'hex')).toMatchObject({ valid: false, code: 'CALLERID_UNEXPECTED_DATA' });
    expect(decodeCallerIdInput('A12C', 'text')).toMatchObject({ valid: false, code: 'CALLERID_BAD_INPUT' });
    expect(decodeCallerIdInput('hello world')).toMatchObject({ valid: false, code: 'CALLERID_BAD_INPUT', error: expect.stringMatching(/no caller ID found/) });
    expect(decodeCallerIdInput('   ')).toMatchObject({ valid: false, error: 'empty input' });
    expect(decodeCallerIdInput('1'.repeat(20_000))).toMatchObject({ valid: false, error: expect.stringMatching(/at most/) });
  });
});

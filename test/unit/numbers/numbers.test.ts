import { describe, expect, it } from '@jest/globals';
import { formatNumberForDisplay, normalizeNumber } from '../../../src/numbers/numbers.js';

describe('normalizeNumber', () => {
  it('US line: 10 digits, 1 + 10 digits, and an international call via 011', () => {
    expect(normalizeNumber('2125551234', 'US')).toEqual({
      original: '2125551234', e164: '+12125551234', country: 'US', national: '(212) 555-1234', international: '+1 212 555 1234',
    });
    expect(normalizeNumber('12125551234', 'US')).toMatchObject({ original: '12125551234', e164: '+12125551234' });
    expect(normalizeNumber('0118613912345678', 'US')).toMatchObject({ e164: '+8613912345678', country: 'CN' });
  });

  it('CN line: mobile, Beijing and Shenzhen landlines with trunk 0, IDD 00', () => {
    expect(normalizeNumber('13912345678', 'CN')).toMatchObject({ e164: '+8613912345678', country: 'CN', national: '139 1234 5678' });
    expect(normalizeNumber('01012345678', 'CN')).toMatchObject({ e164: '+861012345678', national: '010 1234 5678' });
    expect(normalizeNumber('075512345678', 'CN')).toMatchObject({ e164: '+8675512345678', national: '0755 1234 5678' });
    expect(normalizeNumber('008613912345678', 'CN')).toMatchObject({ e164: '+8613912345678' });
  });

  it('KR line: Seoul landline and mobile', () => {
    expect(normalizeNumber('0212345678', 'KR')).toMatchObject({ e164: '+82212345678', country: 'KR', national: '02-1234-5678' });
    expect(normalizeNumber('01012345678', 'KR')).toMatchObject({ e164: '+821012345678', national: '010-1234-5678' });
  });

  it('the same digits mean different numbers in different countries', () => {
    expect(normalizeNumber('01012345678', 'CN').e164).toBe('+861012345678');
    expect(normalizeNumber('01012345678', 'KR').e164).toBe('+821012345678');
  });

  it('numbers that cannot be normalised are kept as they are, e164 null', () => {
    for (const [raw, country] of [['5551234', 'US'], ['62345678', 'CN'], ['123', 'KR'], ['', 'US'], ['P', 'US'], ['ACME', 'US'], ['2125551234', 'XX'], ['1'.repeat(60), 'US']]) {
      expect(normalizeNumber(raw, country)).toEqual({ original: raw, e164: null, country: null, national: null, international: null });
    }
  });

  it('a number already in E.164 is taken as it is whatever the line country', () => {
    expect(normalizeNumber('+821012345678', 'US')).toMatchObject({ e164: '+821012345678', country: 'KR' });
  });
});

describe('formatNumberForDisplay', () => {
  it('national format for the line country, international for others, as sent when unparseable', () => {
    expect(formatNumberForDisplay('2125551234', 'US')).toBe('(212) 555-1234');
    expect(formatNumberForDisplay('13912345678', 'CN')).toBe('139 1234 5678');
    expect(formatNumberForDisplay('01012345678', 'KR')).toBe('010-1234-5678');
    expect(formatNumberForDisplay('+821012345678', 'US')).toBe('+82 10 1234 5678');
    expect(formatNumberForDisplay(' 5551234 ', 'US')).toBe('5551234');
  });

  it('numbers sharing the calling code (Canada on a US line) show nationally; takes a normalised number too', () => {
    expect(formatNumberForDisplay('4165550123', 'US')).toBe('(416) 555-0123');
    expect(formatNumberForDisplay(normalizeNumber('0212345678', 'KR'), 'KR')).toBe('02-1234-5678');
  });
});

import { digitsOnly, normalizeNumber } from '../numbers/numbers.js';
import type { ContactNumber } from './types.js';

/** Characters a phone number may be written with (a keypad's * and # included). */
export const NUMBER_TEXT = /^[+\d\s().\-/*#]+$/;

/** The key a number is found by: its E.164 form, or its digits when it could not be normalised (as numberKey). */
export function numberLookupKey(number: Pick<ContactNumber, 'e164' | 'entered'>): string {
  return number.e164 ?? digitsOnly(number.entered);
}

/** The keys a number is found by: the key of a caller's number as the line sends it, then its digits alone. */
export function lookupKeysOfRaw(raw: string, country: string): string[] {
  const digits = digitsOnly(raw);
  if (!digits) return [];
  const { e164 } = normalizeNumber(raw, country);
  return e164 ? [e164, digits] : [digits];
}

export function normalizeContactNumber(entered: string, label: string | null, country: string): ContactNumber {
  return { e164: normalizeNumber(entered, country).e164, entered, label };
}

/**
 * Digit strings a number is searched by, typed on the keypad: its E.164 digits (8613800138000), its national
 * significant number (13800138000, 1012345678) and its national form's digits (01012345678, 0212345678).
 */
export function numberSearchKeys(number: Pick<ContactNumber, 'e164' | 'entered'>): string[] {
  if (!number.e164) {
    const digits = digitsOnly(number.entered);
    return digits ? [digits] : [];
  }
  const international = digitsOnly(number.e164);
  const parsed = normalizeNumber(number.e164, 'ZZ');
  const keys = [international];
  // '+86 10 1234 5678': the calling code is the first group of the international format
  const callingCode = parsed.international?.match(/^\+(\d+)/)?.[1];
  if (callingCode) keys.push(international.slice(callingCode.length));
  if (parsed.national) keys.push(digitsOnly(parsed.national));
  return [...new Set(keys.filter((key) => key.length > 0))];
}

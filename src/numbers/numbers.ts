import { getCountryCallingCode, isSupportedCountry, parsePhoneNumberFromString, type CountryCode, type PhoneNumber } from 'libphonenumber-js/max';

/**
 * Phone numbers as the line gives them, normalised for lookups and shown for people.
 * The country is the phone line's (config `device.country`): a caller-ID number comes in that
 * country's national form (2125551234, 01012345678, 0212345678), sometimes with an international prefix.
 * Full metadata ('max') so a number is only normalised when it is a real number of its country: a local
 * number without its area code (62345678 in China) stays un-normalised rather than turned into a wrong
 * E.164 number.
 */
export interface CallerNumber {
  /** exactly what the line sent (kept for display and for calling back on the same line) */
  original: string;
  /** E.164 (+12125551234), or null when the number cannot be normalised */
  e164: string | null;
  /** country of the number (ISO 3166-1 alpha-2), or null when unknown */
  country: string | null;
  /** national format in that country ((212) 555-1234, 010 1234 5678, 02-1234-5678), or null */
  national: string | null;
  /** international format (+1 212 555 1234), or null */
  international: string | null;
}

/** Longest text looked at: caller-ID numbers are at most 20 digits; anything longer is not a phone number. */
const MAX_NUMBER_TEXT = 40;

function supported(country: string): CountryCode | undefined {
  return isSupportedCountry(country) ? country : undefined;
}

function parse(raw: string, country: string): PhoneNumber | undefined {
  const text = raw.trim();
  if (!text || text.length > MAX_NUMBER_TEXT || !/[0-9]/.test(text)) return undefined;
  const defaultCountry = supported(country);
  try {
    const parsed = parsePhoneNumberFromString(text, defaultCountry ? { defaultCountry } : undefined);
    return parsed?.isValid() ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Normalises a caller's number with the line's country; an unparseable number is kept as it is (e164 null). */
export function normalizeNumber(raw: string, country: string): CallerNumber {
  const parsed = parse(raw, country);
  if (!parsed) return { original: raw, e164: null, country: null, national: null, international: null };
  return {
    original: raw,
    e164: parsed.number,
    country: parsed.country ?? null,
    national: parsed.formatNational(),
    international: parsed.formatInternational(),
  };
}

/**
 * How a number is shown on the display and in lists: national format for numbers of the line's
 * country (and others sharing its calling code), international format for the rest, the digits as sent
 * when it cannot be parsed.
 */
export function formatNumberForDisplay(number: string | CallerNumber, country: string): string {
  const n = typeof number === 'string' ? normalizeNumber(number, country) : number;
  if (!n.e164) return n.original.trim();
  // same country calling code (e.g. a Canadian number on a US line): dialled nationally, shown nationally
  const line = supported(country);
  const domestic = line !== undefined && n.e164.startsWith(`+${getCountryCallingCode(line)}`);
  return domestic ? (n.national ?? n.original) : (n.international ?? n.original);
}

export function digitsOnly(text: string): string {
  return text.replace(/\D+/g, '');
}

/**
 * The key a number is filed under for lookups (contacts, timelines): E.164 when the number can be
 * normalised with the line's country, else its digits alone; null when it has none.
 */
export function numberKey(raw: string, country: string): string | null {
  const e164 = normalizeNumber(raw, country).e164;
  if (e164) return e164;
  const digits = digitsOnly(raw);
  return digits.length > 0 ? digits : null;
}

/** A number as it can be dialled again: digits, * and # (and a leading +), formatting dropped ('+86 138-0013' -> '+861380013'). */
export function dialString(raw: string): string {
  return raw.replace(/[^0-9*#+]/g, '').replace(/(?!^)\+/g, '');
}

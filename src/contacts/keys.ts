import { createRequire } from 'node:module';
import { getChoseong } from 'es-hangul';
import { pinyin } from 'pinyin-pro';
import { digitsOnly } from '../numbers/numbers.js';
import { numberSearchKeys } from './numbers.js';
import type { Contact, ContactEntry, ContactNumber } from './types.js';

/**
 * The keys a contact is found by, computed when it is written and kept in the contact-keys collection (see
 * search.ts for the index over them).
 *
 * Keys are normalised text (lowercase, NFKD without diacritics: 'josé' -> 'jose'; Hangul decomposes into
 * jamo, so a syllable still being composed ('기') is a prefix of the finished name ('김')), each name and
 * company token, for Chinese the pinyin without tones and its initials (王丽: 'wang li', 'wangli', 'wl'), for
 * Korean the initial consonants (김민준: 'ㄱㅁㅈ'), and the digits of every number.
 */

/** Longest query looked at. */
export const MAX_QUERY_LENGTH = 100;
/** Tokens of a name or company that get keys of their own. */
const MAX_TOKENS = 8;
const MAX_KEYS = 48;

const HAN = /\p{Script=Han}/u;
const HANGUL_SYLLABLE = /[\uAC00-\uD7A3]/;
/** Letters NFKD does not decompose, spelled the way people type them without the key. */
const FOLDED_LETTERS: Record<string, string> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', ł: 'l', đ: 'd', ð: 'd', þ: 'th', ı: 'i' };
/** A query made only of these is a number typed on the keypad (or pasted). */
const NUMBER_QUERY = /^[\d\s+().\-/]+$/;

/** Lowercase, compatibility-decomposed, diacritics removed, punctuation to single spaces ("O'Brien & Co." -> "obrien co"). */
export function normalizeText(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/[ßæœøłđðþı]/g, (letter) => FOLDED_LETTERS[letter] ?? letter)
    .replace(/['’.]+/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** A query as the keys are written: digits alone for a number, normalised text otherwise. */
export function normalizeQuery(query: string): string {
  const text = query.slice(0, MAX_QUERY_LENGTH);
  return NUMBER_QUERY.test(text) && /\d/.test(text) ? digitsOnly(text) : normalizeText(text);
}

interface Segment {
  text: string;
  han: boolean;
}

/** A token's Chinese characters as pinyin syllables (tones dropped), other characters kept in runs. */
function pinyinSegments(token: string, surname: boolean): Segment[] {
  const segments: Segment[] = [];
  const syllables = pinyin(token, { type: 'all', toneType: 'none', mode: surname ? 'surname' : 'normal', surname: surname ? 'head' : 'off' });
  for (const syllable of syllables) {
    if (syllable.isZh && syllable.pinyin) segments.push({ text: syllable.pinyin, han: true });
    else {
      const last = segments[segments.length - 1];
      if (last && !last.han) last.text += syllable.origin;
      else segments.push({ text: syllable.origin, han: false });
    }
  }
  return segments;
}

/** Pinyin keys of segments: joined ('wangli', and 'lvbu' for 吕布 as Chinese keyboards type ü) and initials ('wl'). */
function pinyinKeys(segments: readonly Segment[]): string[] {
  const joined = segments.map((s) => s.text).join('');
  const keys = [normalizeText(joined)];
  if (joined.includes('ü')) keys.push(normalizeText(joined.replace(/ü/g, 'v')));
  const initials = segments.map((s) => (s.han ? s.text[0] : s.text)).join('');
  if (initials.length > 1) keys.push(normalizeText(initials));
  return keys;
}

function choseongKey(text: string): string | null {
  const choseong = normalizeText(getChoseong(text.normalize('NFC'))).replace(/ /g, '');
  return choseong.length > 1 ? choseong : null;
}

/**
 * Keys of a name or company. `sortKey` is how it sorts: the normalised text with Chinese in spaced pinyin
 * ('wang li'), so Chinese and Latin names interleave alphabetically. `personName` reads a leading Chinese
 * character as a surname (单 -> shan, not dan).
 */
export function textKeys(text: string, personName: boolean): { sortKey: string; keys: string[] } {
  const normalized = normalizeText(text);
  if (!normalized) return { sortKey: '', keys: [] };
  const tokens = normalized.split(' ').slice(0, MAX_TOKENS);
  const keys = [normalized];
  if (tokens.length > 1) keys.push(...tokens);
  const romanized: string[] = [];
  const allSegments: Segment[] = [];
  let hasHan = false;
  let hasHangul = false;
  tokens.forEach((token, i) => {
    if (HAN.test(token)) {
      hasHan = true;
      const segments = pinyinSegments(token, personName && i === 0);
      allSegments.push(...segments);
      romanized.push(normalizeText(segments.map((s) => s.text).join(' ')));
      keys.push(...pinyinKeys(segments));
    } else {
      allSegments.push({ text: token, han: false });
      romanized.push(token);
    }
    if (HANGUL_SYLLABLE.test(token.normalize('NFC'))) {
      hasHangul = true;
      const key = choseongKey(token);
      if (key) keys.push(key);
    }
  });
  const sortKey = hasHan ? romanized.join(' ') : normalized;
  if (hasHan) keys.push(sortKey, ...(tokens.length > 1 ? pinyinKeys(allSegments) : []));
  if (hasHangul && tokens.length > 1) {
    const key = choseongKey(tokens.join(''));
    if (key) keys.push(key);
  }
  return { sortKey, keys };
}

/** All search keys of a contact, the sort key first (see ContactKeys.keys). */
export function searchKeysOf(contact: Pick<Contact, 'name' | 'company'> & { numbers: ReadonlyArray<Pick<ContactNumber, 'e164' | 'entered'> & { label?: string | null }> }): string[] {
  const name = textKeys(contact.name, true);
  const keys = new Set<string>([name.sortKey, ...name.keys]);
  for (const number of contact.numbers) for (const key of numberSearchKeys(number)) keys.add(key);
  if (contact.company) for (const key of textKeys(contact.company, false).keys) keys.add(key);
  return [...keys].slice(0, MAX_KEYS);
}

/** The search keys of a contact from its entry (the same as searchKeysOf the contact: numbers by their lookup keys). */
export function entrySearchKeys(entry: Pick<ContactEntry, 'name' | 'company' | 'numbers'>): string[] {
  // a lookup key is the E.164 form when it starts with '+', else the digits the number was entered with
  const numbers = entry.numbers.map((key) => (key.startsWith('+') ? { e164: key, entered: key } : { e164: null, entered: key }));
  return searchKeysOf({ name: entry.name, company: entry.company ?? null, numbers });
}

/**
 * Bump when what searchKeysOf returns changes. The versions of the libraries the keys come from (pinyin,
 * Hangul, phone number metadata) and of Unicode (NFKD, \p{...}) are part of the fingerprint as well, so an
 * upgrade of any of them has the keys computed again.
 */
const KEYS_VERSION = 1;
const KEY_LIBRARIES = ['pinyin-pro', 'es-hangul', 'libphonenumber-js'];

let fingerprintSeed: number | undefined;

/** What the keys are computed with, as text ('1 pinyin-pro@3.29.4 ... unicode@15.1'). */
export function keysAlgorithm(): string {
  const require = createRequire(import.meta.url);
  const versions = KEY_LIBRARIES.map((name) => {
    try {
      return `${name}@${(require(`${name}/package.json`) as { version?: string }).version ?? '?'}`;
    } catch {
      return `${name}@?`;
    }
  });
  return [KEYS_VERSION, ...versions, `unicode@${process.versions.unicode ?? '?'}`].join(' ');
}

/**
 * A short fingerprint of what a contact's keys are computed from (name, company, number lookup keys, and the
 * algorithm): stored with the keys, so keys computed from another version of the contact are recognised.
 * 12 hex digits (48 bits of a cyrb53-style hash); cheap, as building the index computes it for every contact.
 */
export function keysFingerprint(entry: Pick<ContactEntry, 'name' | 'company' | 'numbers'>): string {
  if (fingerprintSeed === undefined) {
    h1 = 0xdeadbeef;
    h2 = 0x41c6ce57;
    mix(keysAlgorithm());
    fingerprintSeed = h1 ^ h2;
  }
  h1 = 0xdeadbeef ^ fingerprintSeed;
  h2 = 0x41c6ce57 ^ fingerprintSeed;
  mix(entry.name);
  if (entry.company === undefined) mixCode(1);
  else mix(entry.company);
  for (const number of entry.numbers) mix(number);
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  let hex = '';
  for (let shift = 0; shift < 24; shift += 4) hex += HEX[(h1 >>> shift) & 15] + HEX[(h2 >>> shift) & 15];
  return hex;
}

const HEX = '0123456789abcdef';
/** the two lanes of the hash being computed (module state: no allocation per fingerprint) */
let h1 = 0;
let h2 = 0;

function mixCode(code: number): void {
  h1 = Math.imul(h1 ^ code, 2654435761);
  h2 = Math.imul(h2 ^ code, 1597334677);
}

/** Feeds a text, then a separator (so ('ab', 'c') and ('a', 'bc') differ). */
function mix(text: string): void {
  for (let i = 0; i < text.length; i++) mixCode(text.charCodeAt(i));
  mixCode(0x10000);
}

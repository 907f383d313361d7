import { describe, expect, it } from '@jest/globals';
import { keysAlgorithm, keysFingerprint } from '../../../src/contacts/keys.js';
import { contactEntryOf, contactView } from '../../../src/contacts/model.js';
import { numberSearchKeys } from '../../../src/contacts/numbers.js';
import { entrySearchKeys, normalizeQuery, normalizeText, searchKeysOf, textKeys } from '../../../src/contacts/search.js';
import type { Contact, ContactEntry } from '../../../src/contacts/types.js';
import { generateContact } from '../../support/contacts.js';
import { seededRandom } from '../../support/random.js';

function contact(fields: Partial<Contact>): Contact {
  return {
    id: 'c1', name: 'Someone', company: null, numbers: [], email: null, address: null, tags: [], notes: null, fields: {}, due: [],
    createdAt: 1000, updatedAt: { name: 1000 }, ...fields,
  };
}

describe('normalised text', () => {
  it('lowercases, drops diacritics and punctuation, and folds letters NFKD keeps', () => {
    expect(normalizeText('José Álvarez')).toBe('jose alvarez');
    expect(normalizeText("O'Brien & Co.")).toBe('obrien co');
    expect(normalizeText('Łukasz Øster-Straße')).toBe('lukasz oster strasse');
    expect(normalizeText('ＡＢＣ　１２３')).toBe('abc 123');
    expect(normalizeText('  \t ')).toBe('');
  });

  it('reads a query of digits and number punctuation as a number', () => {
    expect(normalizeQuery('+1 (212) 555-12')).toBe('121255512');
    expect(normalizeQuery('010-1234')).toBe('0101234');
    expect(normalizeQuery('Zoë 2')).toBe('zoe 2');
  });
});

describe('keys of names', () => {
  it('gives Chinese names their pinyin without tones and its initials, sorting by the pinyin', () => {
    const { sortKey, keys } = textKeys('王丽', true);
    expect(sortKey).toBe('wang li');
    expect(keys).toEqual(expect.arrayContaining(['王丽', 'wangli', 'wl', 'wang li']));
  });

  it('reads a leading polyphonic character of a person as a surname (单 -> shan), not in a company name', () => {
    expect(textKeys('单田芳', true).keys).toEqual(expect.arrayContaining(['shantianfang', 'stf']));
    expect(textKeys('单田芳', true).sortKey).toBe('shan tian fang');
    expect(textKeys('曾小贤', true).keys).toContain('zengxiaoxian');
    expect(textKeys('单田芳', false).keys).toContain('dantianfang');
  });

  it('spells ü both as u and as v, the way Chinese keyboards type it', () => {
    expect(textKeys('吕布', true).keys).toEqual(expect.arrayContaining(['lubu', 'lvbu', 'lb']));
  });

  it('keys a name with Chinese and Latin words word by word and as a whole', () => {
    const { sortKey, keys } = textKeys('Anna 王', true);
    expect(sortKey).toBe('anna wang');
    expect(keys).toEqual(expect.arrayContaining(['anna', '王', 'wang', 'anna wang']));
  });

  it('gives Korean names their initial consonants, decomposed like queries', () => {
    const { sortKey, keys } = textKeys('김민준', true);
    expect(sortKey).toBe(normalizeText('김민준'));
    expect(keys).toContain(normalizeQuery('ㄱㅁㅈ'));
    // a syllable still being composed by the input method is a prefix of the finished name
    expect(sortKey.startsWith(normalizeQuery('김미'))).toBe(true);
    expect(sortKey.startsWith(normalizeQuery('기'))).toBe(true);
    expect(textKeys('김 민준', true).keys).toEqual(expect.arrayContaining([normalizeQuery('ㄱㅁㅈ'), normalizeQuery('ㅁㅈ')]));
  });

  it('keys each word of Latin names', () => {
    expect(textKeys('José Álvarez', true)).toEqual({ sortKey: 'jose alvarez', keys: ['jose alvarez', 'jose', 'alvarez'] });
  });
});

describe('keys of numbers', () => {
  it('are the E.164 digits, the national significant number and the national form', () => {
    expect(numberSearchKeys({ e164: '+12125551234', entered: '(212) 555-1234' })).toEqual(['12125551234', '2125551234']);
    expect(numberSearchKeys({ e164: '+861012345678', entered: '010 1234 5678' })).toEqual(['861012345678', '1012345678', '01012345678']);
    expect(numberSearchKeys({ e164: '+821012345678', entered: '010-1234-5678' })).toEqual(['821012345678', '1012345678', '01012345678']);
  });

  it('are the digits of a number that could not be normalised', () => {
    expect(numberSearchKeys({ e164: null, entered: '6234-5678' })).toEqual(['62345678']);
  });
});

describe('the entry', () => {
  it('puts the sort key first, then name, number and company keys', () => {
    const keys = searchKeysOf({ name: '王丽', company: '重庆火锅店', numbers: [{ e164: '+8613800138000', entered: '13800138000', label: null }] });
    expect(keys[0]).toBe('wang li');
    expect(keys).toEqual(expect.arrayContaining(['wangli', 'wl', '8613800138000', '13800138000', 'chongqinghuoguodian', 'cqhgd']));
  });

  it('holds what a list and a screen pop show, small', () => {
    const notes = `${'Always pays cash, asks for the back door. '.repeat(3)}`;
    const entry = contactEntryOf(contact({
      name: 'Wang Li',
      company: 'Garden Rd Noodles',
      tags: ['vip', 'wholesale'],
      notes,
      numbers: [
        { e164: '+12125551234', entered: '212 555 1234', label: 'mobile' },
        { e164: null, entered: '555-1234', label: null },
      ],
      due: [
        { kind: 'renewal', date: '2027-01-10', note: null },
        { kind: 'payment', date: '2026-11-30', note: 'invoice 17' },
      ],
      updatedAt: { name: 1000, notes: 5000, tags: 3000 },
    }));
    expect(entry).toEqual({
      name: 'Wang Li',
      company: 'Garden Rd Noodles',
      tags: ['vip', 'wholesale'],
      note: expect.any(String),
      numbers: ['+12125551234', '5551234'],
      due: { kind: 'payment', date: '2026-11-30' },
      updated: 5000,
    });
    expect(entry.note!.length).toBeLessThanOrEqual(60);
    expect(entry.note!.endsWith('…')).toBe(true);
    expect(notes.startsWith(entry.note!.slice(0, -1))).toBe(true);
    // search keys are not in it: the contact-keys collection has them
    expect(entry).not.toHaveProperty('keys');
  });

  it('leaves out what is empty, and its view fills it in', () => {
    const entry = contactEntryOf(contact({ name: 'Anna', numbers: [{ e164: '+12125551234', entered: '212 555 1234', label: null }], notes: '  \n ' }));
    expect(entry).toEqual({ name: 'Anna', numbers: ['+12125551234'], updated: 1000 });
    expect(JSON.stringify(entry)).toBe('{"name":"Anna","numbers":["+12125551234"],"updated":1000}');
    expect(contactView(entry)).toEqual({ name: 'Anna', company: null, tags: [], note: null, numbers: ['+12125551234'], due: null, updated: 1000 });
    const full = contactEntryOf(contact({ name: 'Anna', company: 'Noodles', tags: ['vip'], notes: 'cash', due: [{ kind: 'renewal', date: '2027-01-01', note: null }] }));
    expect(contactView(full)).toEqual({ name: 'Anna', company: 'Noodles', tags: ['vip'], note: 'cash', numbers: [], due: { kind: 'renewal', date: '2027-01-01' }, updated: 1000 });
    // a reader changing its view does not change the entry
    contactView(full).tags.push('x');
    expect(full.tags).toEqual(['vip']);
  });
});

describe('keys from the entry', () => {
  it('are the keys of the contact', () => {
    const random = seededRandom(3);
    const samples = [
      ...Array.from({ length: 300 }, (_, i) => generateContact(random, i)),
      contact({ name: '王丽', company: '重庆火锅店', numbers: [
        { e164: '+8613800138000', entered: '138 0013 8000', label: null },
        { e164: null, entered: '6234-5678', label: 'shop' },
        { e164: '+8613800138000', entered: '13800138000', label: 'again' },
        { e164: null, entered: '*#', label: null },
        { e164: '+861012345678', entered: '010 1234 5678', label: null },
      ] }),
      contact({ name: '김민준 Kim', company: 'Ōsaka Trading' }),
    ];
    for (const sample of samples) expect({ name: sample.name, keys: entrySearchKeys(contactEntryOf(sample)) }).toEqual({ name: sample.name, keys: searchKeysOf(sample) });
  });

  it('are fingerprinted by what they are computed from, and the algorithm', () => {
    const base = contactEntryOf(contact({ name: 'Wang Li', company: 'Noodles', numbers: [{ e164: '+12125551234', entered: '212 555 1234', label: null }] }));
    const of = keysFingerprint(base);
    expect(of).toMatch(/^[0-9a-f]{12}$/);
    expect(keysFingerprint({ ...base })).toBe(of);
    // what the keys do not depend on
    const otherFields: ContactEntry = { ...base, note: 'cash', tags: ['vip'], due: { kind: 'payment', date: '2027-01-01' }, updated: 99 };
    expect(keysFingerprint(otherFields)).toBe(of);
    // what they do
    const others = [
      { ...base, name: 'Wang Lu' },
      { ...base, company: undefined },
      { ...base, company: 'Noodle' },
      { ...base, numbers: [] },
      { ...base, numbers: ['+12125551235'] },
      { ...base, numbers: ['+12125551234', '5551234'] },
      // where one text ends matters
      { ...base, name: 'Wang LiN', company: 'oodles' },
    ];
    const fingerprints = others.map(keysFingerprint);
    expect(new Set([of, ...fingerprints]).size).toBe(others.length + 1);
    expect(keysAlgorithm()).toMatch(/^\d+ pinyin-pro@\d+\.\d+\.\d+ es-hangul@\d+\.\d+\.\d+ libphonenumber-js@\d+\.\d+\.\d+ unicode@\d+/);
  });
});

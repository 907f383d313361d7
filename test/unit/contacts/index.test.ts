import { describe, expect, it } from '@jest/globals';
import { contactEntryOf } from '../../../src/contacts/model.js';
import { SearchIndex } from '../../../src/contacts/search.js';
import type { Contact, ContactEntry } from '../../../src/contacts/types.js';
import { seededRandom } from '../../support/random.js';
import { expectedSearch, generateEntries, randomQuery } from '../../support/contacts.js';

function entry(name: string, numbers: Array<[string | null, string]> = [], company: string | null = null): ContactEntry {
  const contact: Contact = {
    id: 'x', name, company, numbers: numbers.map(([e164, entered]) => ({ e164, entered, label: null })),
    email: null, address: null, tags: [], notes: null, fields: {}, due: [], createdAt: 0, updatedAt: {},
  };
  return contactEntryOf(contact);
}

function names(index: SearchIndex, query: string, limit?: number): string[] {
  return index.search(query, limit).map((hit) => hit.entry.name);
}

const book: Array<[string, ContactEntry]> = [
  ['a', entry('Anna Schmidt', [['+12125550101', '(212) 555-0101']])],
  ['b', entry('王丽', [['+8613800138000', '13800138000']], '重庆火锅店')],
  ['c', entry('José Álvarez', [['+12125550199', '212-555-0199']])],
  ['d', entry('John Smith', [['+13125550100', '312 555 0100']], 'Smith Trading')],
  ['e', entry('김민준', [['+821012345678', '010-1234-5678']])],
  ['f', entry('Wang Lei', [[null, '62345678']])],
  ['g', entry('单田芳')],
  ['h', entry('Zoë Johnson')],
];

describe('SearchIndex', () => {
  it('finds contacts by a prefix of their name, words, pinyin, initials and company, in name order', () => {
    const index = SearchIndex.build(book);
    expect(names(index, 'wang')).toEqual(['Wang Lei', '王丽']);
    expect(names(index, 'wl')).toEqual(['王丽']);
    expect(names(index, '王')).toEqual(['王丽']);
    expect(names(index, 'cqhg')).toEqual(['王丽']);
    expect(names(index, 'jose')).toEqual(['José Álvarez']);
    expect(names(index, 'JOSÉ')).toEqual(['José Álvarez']);
    expect(names(index, 'smi')).toEqual(['John Smith']);
    expect(names(index, 'trad')).toEqual(['John Smith']);
    expect(names(index, 'shan')).toEqual(['单田芳']);
    expect(names(index, 'dan')).toEqual([]);
    expect(names(index, 'ㄱㅁㅈ')).toEqual(['김민준']);
    expect(names(index, '김미')).toEqual(['김민준']);
    expect(names(index, 'nobody')).toEqual([]);
    expect(names(index, '  ')).toEqual([]);
  });

  it('answers 1-character queries, each contact once', () => {
    const index = SearchIndex.build(book);
    // 王丽 has 'wang li', 'wangli' and 'wl'; Wang Lei has 'wang lei' and 'wang'
    expect(names(index, 'w')).toEqual(['Wang Lei', '王丽']);
    expect(names(index, 'j')).toEqual(['John Smith', 'José Álvarez', 'Zoë Johnson']);
    expect(names(index, 'ㄱ')).toEqual(['김민준']);
  });

  it('matches digits typed on the keypad against national and international numbers', () => {
    const index = SearchIndex.build(book);
    expect(names(index, '212555')).toEqual(['Anna Schmidt', 'José Álvarez']);
    expect(names(index, '1212555')).toEqual(['Anna Schmidt', 'José Álvarez']);
    expect(names(index, '(212) 555-01')).toEqual(['Anna Schmidt', 'José Álvarez']);
    expect(names(index, '138001')).toEqual(['王丽']);
    expect(names(index, '010-1234')).toEqual(['김민준']);
    expect(names(index, '6234')).toEqual(['Wang Lei']);
    expect(names(index, '2')).toEqual(['Anna Schmidt', 'José Álvarez']);
  });

  it('matches each word of a query against any key', () => {
    const index = SearchIndex.build(book);
    expect(names(index, 'smith jo')).toEqual(['John Smith']);
    expect(names(index, 'john s')).toEqual(['John Smith']);
    expect(names(index, 'wang l')).toEqual(['Wang Lei', '王丽']);
    expect(names(index, 'jo tr')).toEqual(['John Smith']);
  });

  it('limits the results, keeping the first in name order', () => {
    const many: Array<[string, ContactEntry]> = Array.from({ length: 30 }, (_, i) => [`m${i}`, entry(`Maria ${String.fromCharCode(97 + (i % 26))}${i}`)]);
    const index = SearchIndex.build(many);
    const all = names(index, 'maria', 100);
    expect(all).toHaveLength(30);
    expect(all).toEqual([...all].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)));
    expect(names(index, 'maria')).toEqual(all.slice(0, 20));
    expect(names(index, 'maria', 3)).toEqual(all.slice(0, 3));
    expect(names(index, 'm', 5)).toEqual(all.slice(0, 5));
  });

  it('orders namesakes by id', () => {
    const index = SearchIndex.build([['z', entry('Li Wei')], ['a', entry('Li Wei')], ['m', entry('李伟')]]);
    expect(index.search('li wei').map((hit) => hit.id)).toEqual(['a', 'm', 'z']);
  });

  it('follows contacts added, changed and removed', () => {
    const index = SearchIndex.build(book);
    index.set('i', entry('Wanda Maximoff'));
    expect(names(index, 'wan')).toEqual(['Wanda Maximoff', 'Wang Lei', '王丽']);
    index.set('f', entry('Lei Wang'));
    expect(names(index, 'wan')).toEqual(['Lei Wang', 'Wanda Maximoff', '王丽']);
    expect(names(index, '6234')).toEqual([]);
    expect(index.remove('b')).toBe(true);
    expect(index.remove('b')).toBe(false);
    expect(names(index, 'wan')).toEqual(['Lei Wang', 'Wanda Maximoff']);
    expect(names(index, 'w')).toEqual(['Lei Wang', 'Wanda Maximoff']);
    expect(index.size).toBe(book.length);
    // a change that keeps the keys (a new note) is just the new entry
    const withNote = { ...entry('Lei Wang'), note: 'back door' };
    index.set('f', withNote);
    expect(index.search('lei')[0].entry.note).toBe('back door');
  });

  it('gives the same results as looking at every contact, through sorting, merging and removals', () => {
    const random = seededRandom(42);
    const pool = generateEntries(random, 24_000);
    const live = new Map(pool.slice(0, 20_000));
    const index = SearchIndex.build([...live]);
    const ids = [...live.keys()];
    const mismatches: string[] = [];
    const check = (query: string, limit: number) => {
      const got = index.search(query, limit).map((hit) => hit.id);
      const expected = expectedSearch(live, query, limit);
      if (JSON.stringify(got) !== JSON.stringify(expected)) mismatches.push(`${JSON.stringify(query)} limit ${limit}`);
    };
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 150; i++) check(randomQuery(random, pool), random() < 0.2 ? 1 + Math.floor(random() * 60) : 20);
      for (let i = 0; i < 1500; i++) {
        const id = ids[Math.floor(random() * ids.length)];
        if (random() < 0.3) {
          index.remove(id);
          live.delete(id);
        } else {
          const [, other] = pool[Math.floor(random() * pool.length)];
          index.set(id, other);
          live.set(id, other);
        }
      }
      if (round === 2) expect(index.warmUp()).toBe(true);
    }
    expect(mismatches).toEqual([]);
  }, 60_000);
});

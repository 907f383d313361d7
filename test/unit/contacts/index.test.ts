import { describe, expect, it } from '@jest/globals';
import { SearchIndex, searchKeysOf, type KeyedContact } from '../../../src/contacts/search.js';
import { seededRandom } from '../../support/random.js';
import { expectedSearch, generateKeyed, randomQuery } from '../../support/contacts.js';

/** The name of each set of keys made by keys(), to show results by name. */
const nameOf = new Map<readonly string[], string>();

function keys(name: string, numbers: Array<[string | null, string]> = [], company: string | null = null): readonly string[] {
  const result = searchKeysOf({ name, company, numbers: numbers.map(([e164, entered]) => ({ e164, entered })) });
  nameOf.set(result, name);
  return result;
}

/** The names of the results (the index answers ids). */
function names(index: SearchIndex, query: string, limit?: number): string[] {
  return index.search(query, limit).map((id) => nameOf.get(indexed.get(index)!.get(id)!)!);
}

/** what each index holds, id -> keys, as the tests gave it */
const indexed = new Map<SearchIndex, Map<string, readonly string[]>>();

function build(contacts: readonly KeyedContact[]): SearchIndex {
  const index = SearchIndex.build(contacts);
  indexed.set(index, new Map(contacts));
  return index;
}

function set(index: SearchIndex, id: string, contactKeys: readonly string[]): void {
  index.set(id, contactKeys);
  indexed.get(index)!.set(id, contactKeys);
}

const book: KeyedContact[] = [
  ['a', keys('Anna Schmidt', [['+12125550101', '(212) 555-0101']])],
  ['b', keys('王丽', [['+8613800138000', '13800138000']], '重庆火锅店')],
  ['c', keys('José Álvarez', [['+12125550199', '212-555-0199']])],
  ['d', keys('John Smith', [['+13125550100', '312 555 0100']], 'Smith Trading')],
  ['e', keys('김민준', [['+821012345678', '010-1234-5678']])],
  ['f', keys('Wang Lei', [[null, '62345678']])],
  ['g', keys('单田芳')],
  ['h', keys('Zoë Johnson')],
];

describe('SearchIndex', () => {
  it('finds contacts by a prefix of their name, words, pinyin, initials and company, in name order', () => {
    const index = build(book);
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
    const index = build(book);
    // 王丽 has 'wang li', 'wangli' and 'wl'; Wang Lei has 'wang lei' and 'wang'
    expect(names(index, 'w')).toEqual(['Wang Lei', '王丽']);
    expect(names(index, 'j')).toEqual(['John Smith', 'José Álvarez', 'Zoë Johnson']);
    expect(names(index, 'ㄱ')).toEqual(['김민준']);
  });

  it('matches digits typed on the keypad against national and international numbers', () => {
    const index = build(book);
    expect(names(index, '212555')).toEqual(['Anna Schmidt', 'José Álvarez']);
    expect(names(index, '1212555')).toEqual(['Anna Schmidt', 'José Álvarez']);
    expect(names(index, '(212) 555-01')).toEqual(['Anna Schmidt', 'José Álvarez']);
    expect(names(index, '138001')).toEqual(['王丽']);
    expect(names(index, '010-1234')).toEqual(['김민준']);
    expect(names(index, '6234')).toEqual(['Wang Lei']);
    expect(names(index, '2')).toEqual(['Anna Schmidt', 'José Álvarez']);
  });

  it('matches each word of a query against any key', () => {
    const index = build(book);
    expect(names(index, 'smith jo')).toEqual(['John Smith']);
    expect(names(index, 'john s')).toEqual(['John Smith']);
    expect(names(index, 'wang l')).toEqual(['Wang Lei', '王丽']);
    expect(names(index, 'jo tr')).toEqual(['John Smith']);
  });

  it('limits the results, keeping the first in name order', () => {
    const many: KeyedContact[] = Array.from({ length: 30 }, (_, i) => [`m${i}`, keys(`Maria ${String.fromCharCode(97 + (i % 26))}${i}`)]);
    const index = build(many);
    const all = names(index, 'maria', 100);
    expect(all).toHaveLength(30);
    expect(all).toEqual([...all].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)));
    expect(names(index, 'maria')).toEqual(all.slice(0, 20));
    expect(names(index, 'maria', 3)).toEqual(all.slice(0, 3));
    expect(names(index, 'm', 5)).toEqual(all.slice(0, 5));
  });

  it('orders namesakes by id', () => {
    const index = build([['z', keys('Li Wei')], ['a', keys('Li Wei')], ['m', keys('李伟')]]);
    expect(index.search('li wei')).toEqual(['a', 'm', 'z']);
  });

  it('follows contacts added, changed and removed', () => {
    const index = build(book);
    set(index, 'i', keys('Wanda Maximoff'));
    expect(names(index, 'wan')).toEqual(['Wanda Maximoff', 'Wang Lei', '王丽']);
    set(index, 'f', keys('Lei Wang'));
    expect(names(index, 'wan')).toEqual(['Lei Wang', 'Wanda Maximoff', '王丽']);
    expect(names(index, '6234')).toEqual([]);
    expect(index.remove('b')).toBe(true);
    expect(index.remove('b')).toBe(false);
    expect(names(index, 'wan')).toEqual(['Lei Wang', 'Wanda Maximoff']);
    expect(names(index, 'w')).toEqual(['Lei Wang', 'Wanda Maximoff']);
    expect(index.size).toBe(book.length);
    // the same keys again (a contact whose note changed) change nothing
    index.set('f', [...indexed.get(index)!.get('f')!]);
    expect(names(index, 'lei')).toEqual(['Lei Wang']);
    expect(names(index, 'w')).toEqual(['Lei Wang', 'Wanda Maximoff']);
    expect(index.size).toBe(book.length);
  });

  it('gives the same results as looking at every contact, through sorting, merging and removals', () => {
    const random = seededRandom(42);
    const pool = generateKeyed(random, 24_000);
    const live = new Map(pool.slice(0, 20_000));
    const index = build([...live]);
    const ids = [...live.keys()];
    const mismatches: string[] = [];
    const check = (query: string, limit: number) => {
      const got = index.search(query, limit);
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

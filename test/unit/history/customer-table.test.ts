import { describe, expect, it } from '@jest/globals';
import { CustomerTable, encodeRow, type CustomerRow } from '../../../src/history/customer-table.js';
import { seededRandom } from '../../support/random.js';

const row = (key: string, ...ids: number[]): CustomerRow => [key, ids, ids.map((id) => `${id}|call|${id * 1000}|answered|answered 00:${id}`).join('\r'), null];

describe('CustomerTable', () => {
  it('finds rows by key and merges changes in, keeping the lines sorted', () => {
    const table = CustomerTable.EMPTY.merge(new Map([['n:+2', row('n:+2', 2)], ['c:a', row('c:a', 1, 3)], ['n:+1', row('n:+1', 4)]]));
    expect(table.text).toBe([row('c:a', 1, 3), row('n:+1', 4), row('n:+2', 2)].map(encodeRow).join(''));
    expect(table.find('c:a')).toEqual(row('c:a', 1, 3));
    expect(table.find('n:+0')).toBeUndefined();
    expect(table.find('n:+3')).toBeUndefined();
    const found = table.find('n:+1')!;
    found[1].push(99); // a copy
    expect(table.find('n:+1')).toEqual(row('n:+1', 4));

    const next = table.merge(new Map<string, CustomerRow | null>([['n:+1', null], ['c:a', row('c:a', 1, 3, 5)], ['a:first', row('a:first', 6)], ['z:last', row('z:last', 7)]]));
    expect(next.text).toBe([row('a:first', 6), row('c:a', 1, 3, 5), row('n:+2', 2), row('z:last', 7)].map(encodeRow).join(''));
    expect(next.size).toBe(4);
    expect(table.size).toBe(3); // the old table is left as it was
    expect(new CustomerTable(next.text).find('z:last')).toEqual(row('z:last', 7));
  });

  it('agrees with a map through random changes', () => {
    const random = seededRandom(7);
    const model = new Map<string, CustomerRow>();
    let table = CustomerTable.EMPTY;
    for (let round = 0; round < 30; round++) {
      const changes = new Map<string, CustomerRow | null>();
      for (let i = 0; i < 40; i++) {
        const key = `n:+${Math.floor(random() * 200)}`;
        if (random() < 0.25) {
          changes.set(key, null);
          model.delete(key);
        } else {
          const value = row(key, 1 + Math.floor(random() * 1000));
          changes.set(key, value);
          model.set(key, value);
        }
      }
      table = table.merge(changes);
      expect(table.size).toBe(model.size);
      for (let k = 0; k < 200; k++) expect(table.find(`n:+${k}`)).toEqual(model.get(`n:+${k}`));
    }
  });
});

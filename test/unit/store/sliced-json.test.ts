import { describe, expect, it } from '@jest/globals';
import { stringifyInSlices } from '../../../src/store/sliced-json.js';

describe('stringifyInSlices', () => {
  it('writes what JSON.stringify writes', async () => {
    const values: unknown[] = [
      { format: 1, list: [[1, 'a', null], [2, 'b', { x: [1, 2] }]], skip: undefined, nested: { deep: { deeper: [1, { a: 'é"\n' }] } } },
      [1, 'two', null, [3, [4, [5]]], { six: 6 }],
      'text',
      42,
      null,
      { date: new Date(0), empty: [], none: {} },
      { big: Array.from({ length: 300 }, (_, i) => (i % 3 ? { i, list: Array.from({ length: 100 }, (_, j) => j) } : [i, undefined, null])) },
    ];
    for (const value of values) {
      for (const depth of [0, 1, 3, 10]) expect(await stringifyInSlices(value, depth)).toBe(JSON.stringify(value));
    }
  });

  it('gives the event loop a turn while it works through a large value', async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => [i, `row ${i}`, { at: i * 1000, summary: 'answered 01:35' }]);
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const text = await stringifyInSlices({ rows }, 3, 0.05);
    clearInterval(ticker);
    expect(text).toBe(JSON.stringify({ rows }));
    expect(turns).toBeGreaterThan(1);
  });
});

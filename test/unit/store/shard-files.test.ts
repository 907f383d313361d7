import { describe, expect, it } from '@jest/globals';
import { fnv1a32, insertionOrder, isEntriesDocument, shardNames } from '../../../src/store/shard-files.js';

describe('shard files', () => {
  it('hashes ids with 32-bit FNV-1a over UTF-8', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    // 'ü' is the bytes c3 bc
    const overBytes = [0xc3, 0xbc].reduce((hash, byte) => Math.imul(hash ^ byte, 0x01000193) >>> 0, 0x811c9dc5);
    expect(fnv1a32('ü')).toBe(overBytes);
  });

  it('names and recognises the files of each placement', () => {
    const hash = shardNames({ kind: 'hash', shards: 16 });
    expect([hash.shardFile(3), hash.entriesFile(3)]).toEqual(['000003.json', '000003.entries.json']);
    expect(['000003.json', '000003.json.bak', '000003.entries.json', '.000003.json.tmp', '000003.json.corrupt-1', 'collection.json'].map(hash.indexOf)).toEqual([
      3,
      3,
      3,
      undefined,
      undefined,
      undefined,
    ]);
    const append = shardNames({ kind: 'sequence', segmentSize: 10, resident: 1 });
    expect(append.shardFile(1234567)).toBe('seg-1234567.json');
    expect(append.indexOf('seg-000012.entries.json')).toBe(12);
    expect(append.indexOf('000012.json')).toBeUndefined();
  });

  it('orders entries of several shards by insertion number, also beyond the packed range', () => {
    const order = (columns: number[][]) => {
      const { slots, positions } = insertionOrder(columns);
      return Array.from(slots, (slot, k) => columns[slot][positions[k]]);
    };
    expect(order([[1, 4, 9], [2, 3], [], [5, 10]])).toEqual([1, 2, 3, 4, 5, 9, 10]);
    expect(order([[2 ** 40, 3], [7]])).toEqual([3, 7, 2 ** 40]);
  });

  it('accepts only well-formed entries files', () => {
    const good = { format: 1, rev: 1, entriesVersion: 0, shard: { ino: 1, size: 2, mtimeMs: 3 }, ids: ['a'], seqs: [1], entries: [{}] };
    expect(isEntriesDocument(good)).toBe(true);
    expect(isEntriesDocument({ ...good, seqs: [-1] })).toBe(false);
    expect(isEntriesDocument({ ...good, ids: ['a', 'b'] })).toBe(false);
    expect(isEntriesDocument({ ...good, shard: undefined })).toBe(false);
    expect(isEntriesDocument({ ...good, format: 2 })).toBe(false);
  });
});

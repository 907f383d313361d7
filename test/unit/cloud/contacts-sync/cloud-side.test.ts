import { describe, expect, it } from '@jest/globals';
import { CloudContactBook, changesFromCsv, contactChange, csvContactId, deleteChange } from '../../../../src/cloud/contacts-sync/cloud-side.js';
import { CONTACTS_SYNC_LIMITS, decodeResyncPage, jsonBytes } from '../../../../src/cloud/contacts-sync/protocol.js';

const cloud = (at: number) => ({ at, origin: 'cloud' });

describe('CloudContactBook', () => {
  it('merges by the same per-field rule as the device and makes change sets only of what took effect', () => {
    const book = new CloudContactBook();
    const [first] = book.commit([contactChange('c1', { name: 'Li', notes: 'a' }, cloud(10))]);
    expect(first).toMatchObject({ prevRev: 0, rev: 1 });
    // an older notes, a newer name: only the name goes out
    const [second] = book.commit([contactChange('c1', { name: 'Lee', notes: 'old' }, { at: 11, origin: 'device:d1' }), contactChange('c1', { notes: 'older' }, cloud(9))]);
    expect(second.changes).toEqual([{ id: 'c1', fields: { name: { value: 'Lee', at: 11, origin: 'device:d1' }, notes: { value: 'old', at: 11, origin: 'device:d1' } } }]);
    expect(book.commit([contactChange('c1', { notes: 'older' }, cloud(9))])).toEqual([]);
    // a delete older than a field leaves the contact; a newer one removes it and keeps it removed
    expect(book.commit([deleteChange('c1', cloud(10))])).toEqual([]);
    expect(book.commit([deleteChange('c1', cloud(12))])).toHaveLength(1);
    expect(book.commit([contactChange('c1', { notes: 'late' }, cloud(11))])).toEqual([]);
    expect(book.size).toBe(0);
    expect(book.changeSetsAfter(1)?.map((set) => set.rev)).toEqual([2, 3]);
    expect(book.changeSetsAfter(book.rev)).toEqual([]);
  });

  it('cuts the set into pages of at most 1000 contacts that each stay under the size limit', () => {
    const big = 'x'.repeat(3900);
    const book = new CloudContactBook({ rev: 5, contacts: Array.from({ length: 2500 }, (_, i) => ({ id: `c${i}`, fields: { name: { value: `N${i}`, at: 1, origin: 'cloud' }, ...(i < 600 ? { notes: { value: big, at: 1, origin: 'cloud' } } : {}) } })) });
    const pages = book.pages('r1');
    expect(pages.every((page) => page.contacts.length <= CONTACTS_SYNC_LIMITS.maxContactsPerPage)).toBe(true);
    expect(pages.every((page) => jsonBytes(page) < CONTACTS_SYNC_LIMITS.maxPayloadBytes)).toBe(true);
    expect(pages.length).toBeGreaterThan(3);
    expect(pages.reduce((n, page) => n + page.contacts.length, 0)).toBe(2500);
    for (const page of pages) expect(decodeResyncPage(JSON.stringify(page))).toMatchObject({ resyncId: 'r1', rev: 5, pages: pages.length });
    expect(new CloudContactBook().pages('r2')).toEqual([{ resyncId: 'r2', page: 0, pages: 1, rev: 0, contacts: [] }]);
  });
});

describe('changesFromCsv', () => {
  it('turns rows into stamped changes with ids from their first number, and lists rows it cannot use', async () => {
    const csv = 'name,phone,tags\nWang Li,+1 212 555 1234,vip\n,+1 212 555 9999,\nWang Li (new),+12125551234,\n';
    const { changes, errors } = await changesFromCsv(csv, { at: 7, origin: 'admin:ops' });
    expect(errors).toEqual([expect.objectContaining({ row: 3, column: 'name' })]);
    // the last row shares the first row's number: one contact, the later row's values
    expect(changes).toEqual([{ id: csvContactId({ name: 'x', numbers: ['+12125551234'] }, 'ZZ'), fields: {
      name: { value: 'Wang Li (new)', at: 7, origin: 'admin:ops' },
      numbers: { value: [{ number: '+12125551234', label: null }], at: 7, origin: 'admin:ops' },
    } }]);
  });
});

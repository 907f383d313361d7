// The Store/Collection contract (src/store/types.ts) as one abstract suite, run against every
// implementation (memory.test.ts, file-store.test.ts), in the spirit of MQTT.js's abstract store tests.

import { describe, expect, it } from '@jest/globals';
import type { Collection, CollectionChange, CollectionSpec, Placement, Store } from '../../../src/store/types.js';

export interface Contact {
  id: string;
  name: string;
  number: string;
  tags?: string[];
}

export interface ContactEntry {
  name: string;
  number: string;
}

export function contactSpec(name: string, placement: Placement): CollectionSpec<Contact, ContactEntry> {
  return { name, placement, entryOf: (doc) => ({ name: doc.name, number: doc.number }) };
}

export function contact(id: string, name = `Name ${id}`, number = `+49 30 ${id}`): Contact {
  return { id, name, number };
}

export interface StoreUnderTest {
  store: Store;
  /** Closes the store and opens a new one on the same data (only stores that persist). */
  reopen?(): Promise<Store>;
}

export const PLACEMENTS: Array<[string, Placement]> = [
  ['hash placement', { kind: 'hash', shards: 4 }],
  // every segment resident: the contract as hash placement has it (residency: file-store.test.ts)
  ['sequence placement', { kind: 'sequence', segmentSize: 3, resident: 100 }],
];

const ids = (collection: Collection<Contact, ContactEntry>) => [...collection.entries()].map(([id]) => id);

export function describeStoreContract(implementation: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe.each(PLACEMENTS)(`${implementation} contract, %s`, (_label, placement) => {
    const open = async () => {
      const subject = await makeStore();
      return { subject, contacts: await subject.store.collection(contactSpec('contacts', placement)) };
    };

    it('puts and gets copies of documents', async () => {
      const { subject, contacts } = await open();
      const doc = { ...contact('1'), tags: ['vip'] };
      await contacts.put(doc);
      doc.tags.push('changed after put');
      const got = await contacts.get('1');
      expect(got).toEqual({ ...contact('1'), tags: ['vip'] });
      (got as Contact).tags?.push('changed by reader');
      expect(await contacts.get('1')).toEqual({ ...contact('1'), tags: ['vip'] });
      expect(await contacts.get('999')).toBeUndefined();
      await subject.store.close();
    });

    it('applies a write to memory at once, before its promise resolves', async () => {
      const { subject, contacts } = await open();
      const written = contacts.put(contact('1', 'Ada'));
      expect(contacts.has('1')).toBe(true);
      expect(contacts.entry('1')).toEqual({ name: 'Ada', number: '+49 30 1' });
      expect(contacts.size).toBe(1);
      const read = contacts.get('1');
      const removed = contacts.delete('1');
      expect(contacts.has('1')).toBe(false);
      await Promise.all([written, removed]);
      expect(await read).toEqual(contact('1', 'Ada'));
      expect(await contacts.get('1')).toBeUndefined();
      await subject.store.close();
    });

    it('updates with a function of the current document', async () => {
      const { subject, contacts } = await open();
      await contacts.put(contact('1', 'Ada'));
      const updated = await contacts.update('1', (doc) => ({ ...doc, name: 'Ada Lovelace' }));
      expect(updated).toEqual(contact('1', 'Ada Lovelace'));
      expect(contacts.entry('1')?.name).toBe('Ada Lovelace');
      expect(await contacts.get('1')).toEqual(contact('1', 'Ada Lovelace'));
      expect(await contacts.update('999', (doc) => doc)).toBeUndefined();
      expect(contacts.has('999')).toBe(false);
      await subject.store.close();
    });

    it('concurrent updates of one document lose nothing', async () => {
      const { subject, contacts } = await open();
      await contacts.put({ ...contact('1'), tags: [] });
      await Promise.all(Array.from({ length: 10 }, (_, i) => contacts.update('1', (doc) => ({ ...doc, tags: [...(doc.tags ?? []), `t${i}`] }))));
      expect((await contacts.get('1'))?.tags).toHaveLength(10);
      await subject.store.close();
    });

    it('rejects an update that changes the id and leaves the document alone', async () => {
      const { subject, contacts } = await open();
      await contacts.put(contact('1', 'Ada'));
      await expect(contacts.update('1', (doc) => ({ ...doc, id: '2', name: 'Bob' }))).rejects.toMatchObject({ code: 'STORE_ID_CHANGED' });
      expect(contacts.entry('1')?.name).toBe('Ada');
      expect(contacts.has('2')).toBe(false);
      await subject.store.close();
    });

    it('deletes, saying whether there was something to delete', async () => {
      const { subject, contacts } = await open();
      await contacts.putMany([contact('1'), contact('2')]);
      expect(await contacts.delete('1')).toBe(true);
      expect(await contacts.delete('1')).toBe(false);
      expect(contacts.size).toBe(1);
      expect(ids(contacts)).toEqual(['2']);
      expect(await contacts.get('1')).toBeUndefined();
      await subject.store.close();
    });

    it('iterates entries in insertion order (sequence placement: number order): a replaced document keeps its place, a re-added one goes last', async () => {
      const { subject, contacts } = await open();
      // sequence collections are appended in number order, and iterate in it after a reopen
      const order = placement.kind === 'hash' ? ['k', 'c', 'x', 'a', 'q', 'b', 'm', 'z'] : ['1', '2', '3', '4', '5', '6', '7', '8'];
      const [, c, x, a] = order;
      for (const id of order) await contacts.put(contact(id));
      await contacts.putMany([contact('91'), contact('92')]);
      expect(ids(contacts)).toEqual([...order, '91', '92']);
      await contacts.put(contact(x, 'Renamed'));
      await contacts.update(a, (doc) => ({ ...doc, name: 'Updated' }));
      expect(ids(contacts)).toEqual([...order, '91', '92']);
      await contacts.delete(c);
      await contacts.put(contact(c));
      const expected = placement.kind === 'hash' ? [...order.filter((id) => id !== c), '91', '92', c] : [...order, '91', '92'];
      expect(ids(contacts)).toEqual(expected);
      expect([...contacts.entries()].find(([id]) => id === x)?.[1]).toEqual({ name: 'Renamed', number: `+49 30 ${x}` });
      if (subject.reopen) {
        const reopened = await (await subject.reopen()).collection(contactSpec('contacts', placement));
        expect(ids(reopened)).toEqual(expected);
        expect(reopened.entry(a)?.name).toBe('Updated');
      }
      await subject.store.close();
    });

    it('tells listeners of every change synchronously, with the previous entry', async () => {
      const { subject, contacts } = await open();
      const changes: Array<CollectionChange<ContactEntry>> = [];
      const unsubscribe = contacts.onChange((change) => changes.push(change));
      const first = contacts.put(contact('1', 'Ada'));
      expect(changes).toEqual([{ type: 'put', id: '1', entry: { name: 'Ada', number: '+49 30 1' }, previous: undefined }]);
      await first;
      await contacts.put(contact('1', 'Bea'));
      await contacts.update('1', (doc) => ({ ...doc, name: 'Cy' }));
      await contacts.delete('1');
      await contacts.delete('1');
      await contacts.update('1', (doc) => doc);
      expect(changes.slice(1)).toEqual([
        { type: 'put', id: '1', entry: { name: 'Bea', number: '+49 30 1' }, previous: { name: 'Ada', number: '+49 30 1' } },
        { type: 'put', id: '1', entry: { name: 'Cy', number: '+49 30 1' }, previous: { name: 'Bea', number: '+49 30 1' } },
        { type: 'delete', id: '1', previous: { name: 'Cy', number: '+49 30 1' } },
      ]);
      unsubscribe();
      await contacts.put(contact('2'));
      expect(changes).toHaveLength(4);
      await subject.store.close();
    });

    it('getMany returns the documents that exist, in the order asked', async () => {
      const { subject, contacts } = await open();
      await contacts.putMany(['1', '2', '3', '4', '5', '6', '7'].map((id) => contact(id)));
      const got = await contacts.getMany(['7', '999', '1', '4', '1']);
      expect(got.map((doc) => doc.id)).toEqual(['7', '1', '4', '1']);
      expect(got[0]).toEqual(contact('7'));
      expect(await contacts.getMany([])).toEqual([]);
      await subject.store.close();
    });

    it('counts its documents', async () => {
      const { subject, contacts } = await open();
      expect(contacts.size).toBe(0);
      await contacts.putMany(Array.from({ length: 20 }, (_, i) => contact(String(i + 1))));
      await contacts.put(contact('3', 'again'));
      expect(contacts.size).toBe(20);
      await contacts.delete('4');
      expect(contacts.size).toBe(19);
      expect(contacts.name).toBe('contacts');
      await subject.store.close();
    });

    it('returns the open collection for the same name, and keeps collections apart', async () => {
      const { subject, contacts } = await open();
      expect(await subject.store.collection(contactSpec('contacts', placement))).toBe(contacts);
      const other = await subject.store.collection(contactSpec('others', placement));
      await contacts.put(contact('1'));
      expect(other.has('1')).toBe(false);
      await subject.store.close();
    });

    it('keeps what was written across a reopen', async () => {
      const { subject, contacts } = await open();
      if (!subject.reopen) return;
      await contacts.putMany(Array.from({ length: 25 }, (_, i) => contact(String(i + 1))));
      await contacts.delete('7');
      await contacts.update('8', (doc) => ({ ...doc, name: 'Eight' }));
      const reopened = await (await subject.reopen()).collection(contactSpec('contacts', placement));
      expect(reopened.size).toBe(24);
      expect(reopened.has('7')).toBe(false);
      expect(await reopened.get('8')).toEqual(contact('8', 'Eight'));
      expect(await reopened.getMany(['1', '25'])).toEqual([contact('1'), contact('25')]);
    });
  });
}

import { describe, expect, it } from '@jest/globals';
import { ContactsRepository } from '../../../src/contacts/repository.js';
import type { StampedChange } from '../../../src/contacts/stamps.js';
import { CONTACTS_COLLECTION } from '../../../src/contacts/repository.js';
import { fileStoresForTests } from '../../support/file-store.js';
import { FakeClock } from '../../support/fake-clock.js';

const stores = fileStoresForTests();

async function open(clock = new FakeClock()) {
  const dir = await stores.tempDir();
  const store = stores.open(dir);
  const repository = await ContactsRepository.open({ store, clock, country: () => 'US', origin: 'device:d1' });
  const edits: StampedChange[] = [];
  repository.onLocalEdit((edit) => edits.push(edit));
  return { dir, store, clock, repository, edits };
}

describe('contacts repository: sync stamps and cloud changes', () => {
  it('stamps local edits with (clock time, device origin) and reports exactly the changed fields', async () => {
    const { repository, clock, edits } = await open();
    const created = await repository.create({ name: 'Wang Li', numbers: ['2125551234'] });
    expect(created.updatedBy).toMatchObject({ name: 'device:d1', notes: 'device:d1' });
    expect(edits).toHaveLength(1);
    expect(edits[0].fields?.name).toEqual({ value: 'Wang Li', stamp: { at: clock.now(), origin: 'device:d1' } });
    clock.advance(1000);
    await repository.update(created.id, { notes: 'spicy' });
    expect(edits[1]).toEqual({ id: created.id, fields: { notes: { value: 'spicy', stamp: { at: clock.now(), origin: 'device:d1' } } } });
    clock.advance(1000);
    await repository.delete(created.id);
    expect(edits[2]).toEqual({ id: created.id, deleted: { at: clock.now(), origin: 'device:d1' } });
  });

  it('stamps an edit just after the value it replaces while the wall clock is not trusted', async () => {
    const clock = new FakeClock({ wall: Date.UTC(1970, 0, 2), trusted: false });
    const { repository } = await open(clock);
    const cloudTime = Date.UTC(2026, 5, 1);
    const written = await repository.applyRemote([{ id: 'k1', fields: { name: { value: 'Kim', stamp: { at: cloudTime, origin: 'cloud' } }, notes: { value: 'a', stamp: { at: cloudTime, origin: 'cloud' } } } }]);
    await written.durable;
    const edited = await repository.update('k1', { notes: 'b' });
    // not 1970 (it would lose to the value it replaced), not the clock at all: one ms after the cloud's stamp
    expect(edited.updatedAt.notes).toBe(cloudTime + 1);
    expect(edited.updatedBy?.notes).toBe('device:d1');
    // a new contact: just after the newest time the device has seen
    const created = await repository.create({ name: 'New' });
    expect(created.updatedAt.name).toBe(cloudTime + 2);
    expect(created.createdAt).toBe(cloudTime + 2);
    // a clock that runs behind the cloud even when trusted still stamps after the value replaced
    clock.trustWallTime();
    expect(repository.stampFor({ at: cloudTime, origin: 'cloud' }).at).toBe(cloudTime + 1);
  });

  it('applies cloud changes field by field, keeps newer local fields and reports them, without reporting a local edit', async () => {
    const { repository, clock, edits } = await open();
    const local = await repository.create({ name: 'Wang Li', notes: 'device note', numbers: ['2125551234'] });
    edits.length = 0;
    const result = await repository.applyRemote([
      { id: local.id, fields: { name: { value: 'Wang Lee', stamp: { at: clock.now() + 10, origin: 'cloud' } }, notes: { value: 'cloud note', stamp: { at: clock.now() - 10, origin: 'cloud' } } } },
      { id: 'cloud-1', fields: { name: { value: 'Park', stamp: { at: 5, origin: 'cloud' } }, numbers: { value: [{ entered: '3125550100', e164: '+13125550100', label: null }], stamp: { at: 5, origin: 'cloud' } } } },
      { id: 'nobody', fields: { notes: { value: 'x', stamp: { at: 5, origin: 'cloud' } } } },
      { id: 'gone', deleted: { at: 7, origin: 'cloud' } },
    ]);
    await result.durable;
    expect(result).toMatchObject({ written: 2, unknown: ['nobody'], tombstones: [{ id: 'gone', stamp: { at: 7, origin: 'cloud' } }] });
    expect(result.localNewer).toEqual([{ id: local.id, fields: { notes: { value: 'device note', stamp: { at: local.updatedAt.notes, origin: 'device:d1' } } } }]);
    expect(await repository.get(local.id)).toMatchObject({ name: 'Wang Lee', notes: 'device note' });
    expect(repository.findByNumber('3125550100')?.id).toBe('cloud-1');
    expect(edits).toEqual([]);
    // a delete newer than every field removes it and is reported as a tombstone to keep
    const deleted = await repository.applyRemote([{ id: 'cloud-1', deleted: { at: 6, origin: 'cloud' } }]);
    await deleted.durable;
    expect(deleted.deleted).toEqual([{ id: 'cloud-1', stamp: { at: 6, origin: 'cloud' } }]);
    expect(repository.findByNumber('3125550100')).toBeUndefined();
    // deleteAbsent removes what is neither present nor kept
    await repository.create({ name: 'Kept' });
    const kept = repository.ids().find((id) => id !== local.id)!;
    expect(await repository.deleteAbsent(new Set([local.id]), new Set([kept]))).toEqual([]);
    expect(await repository.deleteAbsent(new Set([local.id]), new Set())).toEqual([kept]);
    expect(repository.ids()).toEqual([local.id]);
  });

  it('reads contacts stored before sync (no updatedBy) and merges them as unstamped by origin', async () => {
    const { store, dir } = await open();
    const collection = await store.collection(CONTACTS_COLLECTION);
    await collection.put({ id: 'old', name: 'Old', company: null, numbers: [], email: null, address: null, tags: [], notes: 'kept', fields: {}, due: [], createdAt: 100, updatedAt: { name: 100, notes: 100 } });
    await store.close();
    const reopened = await ContactsRepository.open({ store: stores.open(dir), clock: new FakeClock(), country: () => 'US' });
    expect(reopened.entry('old')?.name).toBe('Old');
    const result = await reopened.applyRemote([{ id: 'old', fields: { name: { value: 'Same time', stamp: { at: 100, origin: 'cloud' } }, notes: { value: 'older', stamp: { at: 99, origin: 'cloud' } } } }]);
    await result.durable;
    expect(await reopened.get('old')).toMatchObject({ name: 'Same time', notes: 'kept', updatedBy: { name: 'cloud' } });
  });
});

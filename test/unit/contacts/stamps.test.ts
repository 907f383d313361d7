import { describe, expect, it } from '@jest/globals';
import { compareStamps, fieldStamp, mergeChange, type StampedChange } from '../../../src/contacts/stamps.js';
import type { Contact } from '../../../src/contacts/types.js';

const T = 1_800_000_000_000;

function contact(overrides: Partial<Contact> = {}): Contact {
  return {
    id: 'c1', name: 'Wang Li', company: null, numbers: [], email: null, address: null, tags: [], notes: 'old note', fields: {}, due: [],
    createdAt: T,
    updatedAt: { name: T, company: T, numbers: T, email: T, address: T, tags: T, notes: T, fields: T, due: T },
    updatedBy: { name: 'cloud', notes: 'device:d1' },
    ...overrides,
  };
}

const edit = (fields: StampedChange['fields']): StampedChange => ({ id: 'c1', fields: fields! });

describe('field stamps: last writer wins by (updatedAt, origin)', () => {
  it('orders by time, then by origin, and is the same stamp only when both are equal', () => {
    expect(compareStamps({ at: 2, origin: 'a' }, { at: 1, origin: 'z' })).toBeGreaterThan(0);
    expect(compareStamps({ at: 1, origin: 'cloud' }, { at: 1, origin: 'device:d1' })).toBeLessThan(0);
    expect(compareStamps({ at: 1, origin: 'device:d1' }, { at: 1, origin: 'device:d1' })).toBe(0);
  });

  it('takes an incoming field only when its stamp is newer, field by field', () => {
    const outcome = mergeChange(contact(), edit({
      name: { value: 'Wang Lee', stamp: { at: T + 1, origin: 'cloud' } },
      notes: { value: 'cloud note', stamp: { at: T - 1, origin: 'cloud' } },
    }));
    expect(outcome).toMatchObject({ kind: 'put', changed: ['name'], localNewer: ['notes'] });
    if (outcome.kind !== 'put') throw new Error('expected put');
    expect(outcome.contact).toMatchObject({ name: 'Wang Lee', notes: 'old note', updatedAt: { name: T + 1, notes: T }, updatedBy: { name: 'cloud', notes: 'device:d1' } });
  });

  it('breaks a tie in time by origin, the same way on both sides', () => {
    const local = contact();
    // local notes: (T, 'device:d1'); 'cloud' sorts before 'device:d1' so the device's value stays
    expect(mergeChange(local, edit({ notes: { value: 'x', stamp: { at: T, origin: 'cloud' } } }))).toEqual({ kind: 'none', localNewer: ['notes'] });
    // 'device:d2' sorts after 'device:d1': it wins
    expect(mergeChange(local, edit({ notes: { value: 'y', stamp: { at: T, origin: 'device:d2' } } }))).toMatchObject({ kind: 'put', changed: ['notes'] });
    // the very same stamp: nothing to do either way
    expect(mergeChange(local, edit({ notes: { value: 'z', stamp: { at: T, origin: 'device:d1' } } }))).toEqual({ kind: 'none', localNewer: [] });
  });

  it('reads a field without a stamp (contacts from before sync) as older than any stamped version', () => {
    const old = contact({ updatedAt: { name: T }, updatedBy: undefined });
    expect(fieldStamp(old, 'notes')).toEqual({ at: 0, origin: '' });
    expect(fieldStamp(old, 'name')).toEqual({ at: T, origin: '' });
    const outcome = mergeChange(old, edit({ notes: { value: 'n', stamp: { at: 1, origin: 'cloud' } }, name: { value: 'Li', stamp: { at: T, origin: 'cloud' } } }));
    // notes: anything beats no stamp; name: same time, and any origin beats ''
    expect(outcome).toMatchObject({ kind: 'put', changed: ['notes', 'name'] });
  });

  it('deletes only when no field is newer than the delete; an exact tie goes to the delete', () => {
    expect(mergeChange(contact(), { id: 'c1', deleted: { at: T + 5, origin: 'cloud' } })).toEqual({ kind: 'delete', stamp: { at: T + 5, origin: 'cloud' } });
    expect(mergeChange(contact(), { id: 'c1', deleted: { at: T, origin: 'device:d1' } })).toMatchObject({ kind: 'delete' });
    // notes were edited on the device after the cloud's delete: the contact stays, and all of it goes up again
    const edited = contact({ updatedAt: { ...contact().updatedAt, notes: T + 10 } });
    expect(mergeChange(edited, { id: 'c1', deleted: { at: T + 5, origin: 'cloud' } })).toEqual({
      kind: 'none',
      localNewer: ['name', 'company', 'numbers', 'email', 'address', 'tags', 'notes', 'fields', 'due'],
    });
  });

  it('keeps a deleted contact deleted against older edits, and lets newer ones bring it back', () => {
    const tombstone = { at: T + 5, origin: 'device:d1' };
    const older = { id: 'c9', fields: { name: { value: 'Old', stamp: { at: T + 4, origin: 'cloud' } } } };
    expect(mergeChange(undefined, older, tombstone)).toEqual({ kind: 'none', localNewer: [] });
    const newer = { id: 'c9', fields: { name: { value: 'Back', stamp: { at: T + 6, origin: 'cloud' } }, notes: { value: 'n', stamp: { at: T + 1, origin: 'cloud' } } } };
    const outcome = mergeChange(undefined, newer, tombstone);
    expect(outcome).toMatchObject({ kind: 'put', changed: ['name'], contact: { id: 'c9', name: 'Back', notes: null, createdAt: T + 6 } });
    // a delete of a contact the device does not have is remembered, the newer of the two
    expect(mergeChange(undefined, { id: 'c9', deleted: { at: T + 1, origin: 'cloud' } }, tombstone)).toEqual({ kind: 'none', localNewer: [], tombstone });
  });

  it('cannot create a contact from a change without a name', () => {
    expect(mergeChange(undefined, { id: 'c7', fields: { notes: { value: 'n', stamp: { at: T, origin: 'cloud' } } } })).toEqual({ kind: 'unknown' });
  });
});

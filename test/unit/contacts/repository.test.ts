import { describe, expect, it } from '@jest/globals';
import { CONTACTS_COLLECTION, ContactsRepository } from '../../../src/contacts/repository.js';
import type { ContactIssue } from '../../../src/contacts/types.js';
import { fileStoresForTests } from '../../support/file-store.js';
import { FakeClock } from '../../support/fake-clock.js';

// the real store: what the repository writes must come back from disk
const stores = fileStoresForTests();
let lastDir = '';

async function open(country = 'US') {
  lastDir = await stores.tempDir();
  const store = stores.open(lastDir);
  const clock = new FakeClock();
  let lineCountry = country;
  const repository = await ContactsRepository.open({ store, clock, country: () => lineCountry });
  return { store, clock, repository, setCountry: (next: string) => (lineCountry = next) };
}

async function issuesOf(promise: Promise<unknown>): Promise<ContactIssue[]> {
  try {
    await promise;
  } catch (error) {
    expect(error).toMatchObject({ code: 'CONTACT_INVALID' });
    return (error as { details: ContactIssue[] }).details;
  }
  throw new Error('expected CONTACT_INVALID');
}

describe('ContactsRepository', () => {
  it('stores numbers as entered and in E.164, and finds the contact by any format of its number (US)', async () => {
    const { repository } = await open('US');
    const wang = await repository.create({ name: 'Wang Li', numbers: [{ number: '(212) 555-1234', label: 'mobile' }, '312.555.0100'] });
    expect(wang.numbers).toEqual([
      { e164: '+12125551234', entered: '(212) 555-1234', label: 'mobile' },
      { e164: '+13125550100', entered: '312.555.0100', label: null },
    ]);
    for (const raw of ['2125551234', '(212) 555-1234', '212.555.1234', '+1 212 555 1234', '1-212-555-1234', '+12125551234', '3125550100']) {
      expect(repository.findByNumber(raw)).toMatchObject({ id: wang.id, entry: { name: 'Wang Li' } });
    }
    expect(repository.findByNumber('2125559999')).toBeUndefined();
    expect(repository.findByNumber('')).toBeUndefined();
    expect(repository.findByNumber('anonymous')).toBeUndefined();
  });

  it('finds Chinese mobiles and landlines in national and international form (CN), and local numbers by their digits', async () => {
    const { repository } = await open('CN');
    const mobile = await repository.create({ name: '王丽', numbers: ['138 0013 8000'] });
    const landline = await repository.create({ name: '重庆火锅店', numbers: ['010-1234-5678'] });
    const local = await repository.create({ name: '楼下小卖部', numbers: ['6234 5678'] });
    expect(mobile.numbers[0].e164).toBe('+8613800138000');
    expect(local.numbers[0].e164).toBeNull();
    for (const raw of ['13800138000', '+86 138 0013 8000', '008613800138000', '138-0013-8000']) expect(repository.findByNumber(raw)?.id).toBe(mobile.id);
    for (const raw of ['01012345678', '+861012345678', '(010) 1234 5678']) expect(repository.findByNumber(raw)?.id).toBe(landline.id);
    expect(repository.findByNumber('62345678')?.id).toBe(local.id);
  });

  it('answers findByNumber synchronously', async () => {
    const { repository } = await open();
    await repository.create({ name: 'A', numbers: ['2125551234'] });
    const hit = repository.findByNumber('2125551234');
    expect(hit).not.toBeInstanceOf(Promise);
    expect(hit?.entry.name).toBe('A');
  });

  it('gives a shared number to the most recently updated contact', async () => {
    const { repository, clock } = await open();
    const first = await repository.create({ name: 'Front desk', numbers: ['2125551234'] });
    clock.advance(1000);
    const second = await repository.create({ name: 'Night shift', numbers: ['+1 212 555 1234'] });
    expect(repository.findByNumber('2125551234')?.id).toBe(second.id);
    clock.advance(1000);
    await repository.update(first.id, { notes: 'ask for Li' });
    expect(repository.findByNumber('2125551234')?.id).toBe(first.id);
    await repository.delete(first.id);
    expect(repository.findByNumber('2125551234')?.id).toBe(second.id);
    await repository.update(second.id, { numbers: ['3125550100'] });
    expect(repository.findByNumber('2125551234')).toBeUndefined();
    expect(repository.findByNumber('3125550100')?.id).toBe(second.id);
  });

  it('stamps only the fields that changed', async () => {
    const { repository, clock } = await open();
    const created = await repository.create({ name: 'Wang Li', company: 'Noodles', tags: ['vip'], fields: { Floor: '3' } });
    expect(created.createdAt).toBe(clock.now());
    expect(new Set(Object.values(created.updatedAt))).toEqual(new Set([created.createdAt]));
    clock.advance(60_000);
    const updated = await repository.update(created.id, { notes: 'likes it spicy', company: 'Noodles', tags: ['vip'], fields: { Floor: '3' } });
    expect(updated.notes).toBe('likes it spicy');
    expect(updated.updatedAt.notes).toBe(created.createdAt + 60_000);
    for (const field of ['name', 'company', 'tags', 'fields', 'numbers', 'email', 'address', 'due']) expect(updated.updatedAt[field]).toBe(created.createdAt);
    clock.advance(1000);
    const cleared = await repository.update(created.id, { company: null, notes: '' });
    expect(cleared).toMatchObject({ company: null, notes: null });
    expect(cleared.updatedAt.company).toBe(created.createdAt + 61_000);
    // a contact read back and saved as it is changes nothing, and writes nothing
    const changes: string[] = [];
    repository.onChange((id, change) => changes.push(`${change} ${id}`));
    const again = await repository.update(created.id, (await repository.get(created.id))!);
    expect(again.updatedAt).toEqual(cleared.updatedAt);
    expect(changes).toEqual([]);
  });

  it('rejects bad input with every problem and its path', async () => {
    const { repository } = await open();
    const issues = await issuesOf(repository.create({
      name: '  ',
      numbers: ['abc', { number: '2125551234', label: 'x'.repeat(41) }],
      email: 'not-an-address',
      tags: ['a;b'],
      fields: { Email: 'x', Floor: '3' },
      due: [{ kind: 'renewal', date: '12/01/2026' }, { kind: 'payment', date: '2026-02-30' }],
    }));
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(Object.keys(byPath).sort()).toEqual(['numbers.1.label']);
    expect(byPath['numbers.1.label']).toMatch(/too long: 41 characters, at most 40/);

    const semantic = await issuesOf(repository.create({
      name: '  ',
      numbers: ['abc', '1'],
      email: 'not-an-address',
      tags: ['a;b'],
      fields: { Email: 'x', Floor: '3' },
      due: [{ kind: 'renewal', date: '12/01/2026' }, { kind: 'payment', date: '2026-02-30' }],
    }));
    const messages = Object.fromEntries(semantic.map((i) => [i.path, i.message]));
    expect(Object.keys(messages).sort()).toEqual(['due.0.date', 'due.1.date', 'email', 'fields.Email', 'name', 'numbers.0', 'numbers.1', 'tags.0']);
    expect(messages.name).toMatch(/every contact needs a name/);
    expect(messages['numbers.0']).toMatch(/'abc' is not a phone number/);
    expect(messages['due.0.date']).toMatch(/YYYY-MM-DD/);
    expect(messages['due.1.date']).toMatch(/not a real date/);
    expect(messages['fields.Email']).toMatch(/standard field/);

    const sizes = await issuesOf(repository.create({
      name: 'x'.repeat(121),
      numbers: Array.from({ length: 11 }, (_, i) => `212555${String(i).padStart(4, '0')}`),
      notes: 'n'.repeat(4001),
      nickname: 'Li',
      due: [{ kind: 'birthday', date: '2026-01-01' }],
    } as never));
    const sizeMessages = Object.fromEntries(sizes.map((i) => [i.path, i.message]));
    expect(sizeMessages).toMatchObject({
      name: expect.stringMatching(/too long: 121 characters, at most 120/),
      numbers: expect.stringMatching(/11 entries, at most 10/),
      notes: expect.stringMatching(/at most 4000/),
      nickname: expect.stringMatching(/unknown field/),
      'due.0.kind': expect.stringMatching(/"renewal" or "appointment" or "payment"/),
    });
    await expect(repository.create('Wang' as never)).rejects.toMatchObject({ code: 'CONTACT_INVALID', message: expect.stringMatching(/expected a contact object/) });
    expect(repository.count).toBe(0);
  });

  it('updates and deletes, and says when the contact is not there', async () => {
    const { repository } = await open();
    await expect(repository.update('nope', { name: 'X' })).rejects.toMatchObject({ code: 'CONTACT_NOT_FOUND' });
    await expect(issuesOf(repository.update('nope', { name: '' }))).resolves.toEqual([{ path: 'name', message: expect.stringMatching(/empty/) }]);
    const contact = await repository.create({ name: 'Anna', numbers: ['2125551234'] });
    expect(repository.count).toBe(1);
    expect(repository.search('ann').map((hit) => hit.id)).toEqual([contact.id]);
    expect(await repository.delete(contact.id)).toBe(true);
    expect(await repository.delete(contact.id)).toBe(false);
    expect(repository.count).toBe(0);
    expect(repository.search('ann')).toEqual([]);
    expect(repository.findByNumber('2125551234')).toBeUndefined();
    expect(await repository.get(contact.id)).toBeUndefined();
  });

  it('reports changes, and follows changes written to the collection by others', async () => {
    const { repository, store, clock } = await open();
    const changes: string[] = [];
    repository.onChange((id, change) => changes.push(`${change} ${id}`));
    const contact = await repository.create({ name: 'Anna' });
    await repository.update(contact.id, { name: 'Anna B' });
    await repository.delete(contact.id);
    expect(changes).toEqual([`created ${contact.id}`, `updated ${contact.id}`, `deleted ${contact.id}`]);

    const collection = await store.collection(CONTACTS_COLLECTION);
    await collection.put({
      id: 'from-cloud', name: 'Cloud Contact', company: null, numbers: [{ e164: '+13125550100', entered: '312 555 0100', label: null }],
      email: null, address: null, tags: [], notes: null, fields: {}, due: [], createdAt: clock.now(), updatedAt: {},
    });
    expect(repository.findByNumber('3125550100')?.id).toBe('from-cloud');
    expect(repository.search('cloud').map((hit) => hit.id)).toEqual(['from-cloud']);
  });

  it('opens over contacts already in the store and lists them all', async () => {
    const { store, clock, repository } = await open();
    for (let i = 0; i < 450; i++) await repository.create({ name: `Customer ${i}`, numbers: [`212555${String(i).padStart(4, '0')}`] });
    repository.close();
    const reopened = await ContactsRepository.open({ store, clock, country: () => 'US' });
    expect(reopened.count).toBe(450);
    expect(reopened.findByNumber('2125550449')?.entry.name).toBe('Customer 449');
    expect(reopened.search('customer 44', 100)).toHaveLength(11);
    const all = [];
    for await (const contact of reopened.all(100)) all.push(contact);
    expect(all).toHaveLength(450);
    expect(new Set(all.map((c) => c.id)).size).toBe(450);
  });
});

describe('ContactsRepository on disk', () => {
  it('finds, searches and reads contacts again after the store is reopened', async () => {
    const { repository, store } = await open('CN');
    const created = await repository.create({ name: '王丽', company: 'Garden Cafe', numbers: ['138 0013 8000'], notes: 'back door' });
    await store.close();
    const again = await ContactsRepository.open({ store: stores.open(lastDir), clock: new FakeClock(), country: () => 'CN' });
    expect(again.findByNumber('+86 138 0013 8000')?.id).toBe(created.id);
    expect(again.search('wl').map((hit) => hit.id)).toEqual([created.id]);
    expect(await again.get(created.id)).toEqual(created);
  });
});

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { keysFingerprint } from '../../../src/contacts/keys.js';
import { contactEntryOf } from '../../../src/contacts/model.js';
import { CONTACT_KEYS_COLLECTION, CONTACTS_COLLECTION, ContactsRepository } from '../../../src/contacts/repository.js';
import { entrySearchKeys, searchKeysOf } from '../../../src/contacts/search.js';
import type { Contact, ContactIssue, ContactKeys } from '../../../src/contacts/types.js';
import { MemoryStore } from '../../../src/store/memory.js';
import type { Store } from '../../../src/store/types.js';
import { generateContact } from '../../support/contacts.js';
import { fileStoresForTests } from '../../support/file-store.js';
import { FakeClock } from '../../support/fake-clock.js';
import { seededRandom } from '../../support/random.js';

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
    expect((await repository.search('ann')).map((hit) => hit.id)).toEqual([contact.id]);
    expect(await repository.delete(contact.id)).toBe(true);
    expect(await repository.delete(contact.id)).toBe(false);
    expect(repository.count).toBe(0);
    expect(await repository.search('ann')).toEqual([]);
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
    expect((await repository.search('cloud')).map((hit) => hit.id)).toEqual(['from-cloud']);
  });

  it('opens over contacts already in the store and lists them all', async () => {
    const { store, clock, repository } = await open();
    for (let i = 0; i < 450; i++) await repository.create({ name: `Customer ${i}`, numbers: [`212555${String(i).padStart(4, '0')}`] });
    repository.close();
    const reopened = await ContactsRepository.open({ store, clock, country: () => 'US' });
    expect(reopened.count).toBe(450);
    expect(reopened.findByNumber('2125550449')?.entry.name).toBe('Customer 449');
    expect(await reopened.search('customer 44', 100)).toHaveLength(11);
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
    expect((await again.search('wl')).map((hit) => hit.id)).toEqual([created.id]);
    expect(await again.get(created.id)).toEqual(created);
  });
});

/** The keys documents in the contact-keys shard files as they are on disk now (read directly, not through a store). */
function keysOnDisk(dir: string): Map<string, ContactKeys> {
  const folder = join(dir, CONTACT_KEYS_COLLECTION.name);
  const docs = new Map<string, ContactKeys>();
  if (!existsSync(folder)) return docs;
  for (const file of readdirSync(folder).filter((name) => /^\d+\.json$/.test(name))) {
    for (const doc of (JSON.parse(readFileSync(join(folder, file), 'utf8')) as { docs: ContactKeys[] }).docs) docs.set(doc.id, doc);
  }
  return docs;
}

/** A store that says which collections were opened through it. */
function watched(store: Store): { store: Store; opened: string[] } {
  const opened: string[] = [];
  const proxy = new Proxy(store, {
    get(target, property) {
      if (property === 'collection') {
        return (spec: { name: string }) => {
          opened.push(spec.name);
          return target.collection(spec as never);
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: proxy, opened };
}

/**
 * A store whose writes to the keys collection take `ms` longer to be durable than the store says, recording
 * (as 'put <id>' or 'delete <id>') those that are.
 */
function slowKeys(store: Store, ms: number): { store: Store; durable: string[] } {
  const durable: string[] = [];
  const later = async (written: Promise<unknown>, what: string[]) => {
    const result = await written;
    await new Promise((resolve) => setTimeout(resolve, ms));
    durable.push(...what);
    return result;
  };
  const slow = (collection: object) =>
    new Proxy(collection, {
      get(target, property) {
        const value = Reflect.get(target, property, target) as unknown;
        if (typeof value !== 'function') return value;
        const method = (value as (...args: unknown[]) => unknown).bind(target);
        if (property === 'put') return (doc: ContactKeys) => later(method(doc) as Promise<unknown>, [`put ${doc.id}`]);
        if (property === 'putMany') return (docs: ContactKeys[]) => later(method(docs) as Promise<unknown>, docs.map((doc) => `put ${doc.id}`));
        if (property === 'delete') return (id: string) => later(method(id) as Promise<unknown>, [`delete ${id}`]);
        return method;
      },
    });
  const proxy = new Proxy(store, {
    get(target, property) {
      if (property === 'collection') {
        return async (spec: { name: string }) => {
          const collection = (await target.collection(spec as never)) as object;
          return spec.name === CONTACT_KEYS_COLLECTION.name ? slow(collection) : collection;
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: proxy, durable };
}

function storedContact(id: string, name: string, e164: string): Contact {
  return {
    id, name, company: null, numbers: [{ e164, entered: e164, label: null }],
    email: null, address: null, tags: [], notes: null, fields: {}, due: [], createdAt: 1000, updatedAt: { name: 1000 },
  };
}

describe('ContactsRepository search keys', () => {
  it('writes each contact with its search keys, both on disk when the promise resolves', async () => {
    const { repository } = await open('CN');
    const wang = await repository.create({ name: '王丽', company: 'Garden Cafe', numbers: ['138 0013 8000'] });
    const entry = contactEntryOf(wang);
    expect(keysOnDisk(lastDir).get(wang.id)).toEqual({ id: wang.id, of: keysFingerprint(entry), keys: searchKeysOf(wang) });
    expect(keysOnDisk(lastDir).get(wang.id)!.keys).toEqual(expect.arrayContaining(['wang li', 'wl', '13800138000', 'garden']));

    await repository.update(wang.id, { name: '李伟' });
    expect(keysOnDisk(lastDir).get(wang.id)!.keys).toEqual(expect.arrayContaining(['li wei', 'lw']));
    expect(keysOnDisk(lastDir).get(wang.id)!.keys).not.toContain('wl');

    const [outcome] = await repository.importMany([{ name: 'Zhang San', numbers: ['139 0000 0000'] }]);
    const imported = (outcome as { id: string }).id;
    expect(keysOnDisk(lastDir).get(imported)!.keys).toEqual(expect.arrayContaining(['zhang san', '13900000000']));
    // merged into an existing contact: its keys follow
    await repository.importMany([{ numbers: ['139 0000 0000'], company: 'Noodle Bar' }]);
    expect(keysOnDisk(lastDir).get(imported)!.keys).toEqual(expect.arrayContaining(['noodle', 'bar']));

    await repository.delete(wang.id);
    expect(keysOnDisk(lastDir).has(wang.id)).toBe(false);
    expect((await repository.search('noodle')).map((hit) => hit.id)).toEqual([imported]);
  });

  it('resolves a write only when the keys are durable too', async () => {
    const { store, durable } = slowKeys(new MemoryStore(), 30);
    const repository = await ContactsRepository.open({ store, clock: new FakeClock(), country: () => 'US' });
    const anna = await repository.create({ name: 'Anna', numbers: ['212 555 1234'] });
    expect(durable).toEqual([`put ${anna.id}`]);
    await repository.update(anna.id, { name: 'Anna Lee' });
    expect(durable).toEqual([`put ${anna.id}`, `put ${anna.id}`]);
    // a change the keys do not depend on writes no keys
    await repository.update(anna.id, { notes: 'cash only' });
    expect(durable).toHaveLength(2);
    const outcomes = await repository.importMany([{ name: 'Ben', numbers: ['212 555 0001'] }, { numbers: ['212 555 1234'], company: 'Noodles' }]);
    const ben = (outcomes[0] as { id: string }).id;
    expect(durable.slice(2).sort()).toEqual([`put ${anna.id}`, `put ${ben}`].sort());
    await repository.delete(anna.id);
    expect(durable.at(-1)).toBe(`delete ${anna.id}`);
  });

  it('opens only the contacts; the keys collection is opened by the first search', async () => {
    const first = await open('US');
    const anna = await first.repository.create({ name: 'Anna Schmidt', company: 'Noodles', numbers: ['212 555 1234'], tags: ['vip'] });
    await first.store.close();

    const { store, opened } = watched(stores.open(lastDir));
    const repository = await ContactsRepository.open({ store, clock: new FakeClock(), country: () => 'US' });
    expect(opened).toEqual([CONTACTS_COLLECTION.name]);
    expect(repository.findByNumber('2125551234')).toEqual({
      id: anna.id,
      entry: { name: 'Anna Schmidt', company: 'Noodles', tags: ['vip'], note: null, numbers: ['+12125551234'], due: null, updated: anna.createdAt },
    });
    expect(repository.searchReady).toBe(false);
    const hits = await repository.search('nood');
    expect(opened).toEqual([CONTACTS_COLLECTION.name, CONTACT_KEYS_COLLECTION.name]);
    expect(repository.searchReady).toBe(true);
    expect(hits).toEqual([{ id: anna.id, entry: repository.entry(anna.id) }]);
    // the entry in memory (and on disk beside its shard) leaves out what is empty
    const collection = await store.collection(CONTACTS_COLLECTION);
    expect(collection.entry(anna.id)).toEqual({ name: 'Anna Schmidt', company: 'Noodles', tags: ['vip'], numbers: ['+12125551234'], updated: anna.createdAt });
  });

  it('computes keys again that are missing or stale, and deletes keys of contacts that are gone', async () => {
    const first = await open('US');
    const kept = await first.repository.create({ name: 'Kept Right', numbers: ['212 555 0001'] });
    const renamed = await first.repository.create({ name: 'Old Name', numbers: ['212 555 0002'] });
    await first.store.close();

    // what a crash between the two writes, another writer or an older library leaves
    const raw = stores.open(lastDir);
    const contacts = await raw.collection(CONTACTS_COLLECTION);
    const keys = await raw.collection(CONTACT_KEYS_COLLECTION);
    await contacts.put(storedContact('no-keys', 'Missing Keys', '+13125550100'));
    await contacts.update(renamed.id, (doc) => ({ ...doc, name: 'Brand New' }));
    await keys.put({ id: 'outdated', of: 'computed-by-an-older-pinyin', keys: ['wrong'] });
    await contacts.put(storedContact('outdated', '王丽', '+8613800138000'));
    await keys.put({ id: 'ghost', of: 'x', keys: ['ghost'] });
    await raw.close();
    expect([...keysOnDisk(lastDir).keys()].sort()).toEqual(['ghost', kept.id, 'outdated', renamed.id].sort());

    const store = stores.open(lastDir);
    const repository = await ContactsRepository.open({ store, clock: new FakeClock(), country: () => 'US' });
    const ids = async (query: string) => (await repository.search(query)).map((hit) => hit.id);
    expect(await ids('missing')).toEqual(['no-keys']);
    expect(await ids('3125550')).toEqual(['no-keys']);
    expect(await ids('brand')).toEqual([renamed.id]);
    expect(await ids('old')).toEqual([]);
    expect(await ids('wl')).toEqual(['outdated']);
    expect(await ids('wrong')).toEqual([]);
    expect(await ids('ghost')).toEqual([]);
    expect(await ids('kept')).toEqual([kept.id]);
    await store.close();

    const onDisk = keysOnDisk(lastDir);
    expect([...onDisk.keys()].sort()).toEqual([kept.id, 'no-keys', 'outdated', renamed.id].sort());
    for (const id of ['no-keys', 'outdated', renamed.id]) {
      const entry = (await (await stores.open(lastDir).collection(CONTACTS_COLLECTION)).entry(id))!;
      expect(onDisk.get(id)).toEqual({ id, of: keysFingerprint(entry), keys: entrySearchKeys(entry) });
    }
  });

  it('builds the index in slices, taking in contacts changed meanwhile', async () => {
    const store = new MemoryStore();
    const random = seededRandom(11);
    // stored without keys: building computes them all, which takes many slices
    const generated = Array.from({ length: 10_000 }, (_, i) => generateContact(random, i));
    await (await store.collection(CONTACTS_COLLECTION)).putMany(generated);
    const repository = await ContactsRepository.open({ store, clock: new FakeClock(), country: () => 'US' });

    const searching = repository.search('zed', 100);
    const zed = await repository.create({ name: 'Zed Zebra', numbers: ['212 555 9999'] });
    await repository.update(generated[0].id, { name: 'Zed Renamed' });
    await repository.delete(generated[3].id);
    const generatedZeds = generated.filter((c) => c.name.toLowerCase().startsWith('zed'));
    // all that happened while the index was being built
    expect(repository.searchReady).toBe(false);
    const hits = (await searching).map((hit) => hit.id);
    expect(hits.sort()).toEqual([zed.id, generated[0].id, ...generatedZeds.map((c) => c.id)].sort());
    expect((await repository.search(generated[0].name)).map((hit) => hit.id)).not.toContain(generated[0].id);
    expect((await repository.search(generated[3].numbers[0].entered)).map((hit) => hit.id)).not.toContain(generated[3].id);
    const keys = await store.collection(CONTACT_KEYS_COLLECTION);
    expect(keys.size).toBe(10_000);
    expect(keys.has(generated[3].id)).toBe(false);
  });
});

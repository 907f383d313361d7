import { describe, expect, it } from '@jest/globals';
import { CONTACTS_COLLECTION, ContactsRepository } from '../../../src/contacts/repository.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { FakeClock } from '../../support/fake-clock.js';
import { seededRandom } from '../../support/random.js';
import { expectedSearch, generateContact, keyedContact, randomQuery } from '../../support/contacts.js';

// Correctness at the size the product is built for; how fast it is, is for the benchmarks.
describe('contacts at 100,000', () => {
  it('opens over 100,000 stored contacts and answers lookups and 1,000 searches right', async () => {
    const store = new MemoryStore();
    const collection = await store.collection(CONTACTS_COLLECTION);
    const random = seededRandom(7);
    const contacts = Array.from({ length: 100_000 }, (_, i) => generateContact(random, i));
    await collection.putMany(contacts);

    const repository = await ContactsRepository.open({ store, clock: new FakeClock(), country: () => 'US' });
    expect(repository.count).toBe(100_000);
    const keyed = contacts.map(keyedContact);

    for (const i of [0, 1, 2, 31_337, 99_999]) {
      const contact = contacts[i];
      expect(repository.findByNumber(contact.numbers[0].e164!)?.id).toBe(contact.id);
    }
    expect(repository.findByNumber('+12015550000')).toBeUndefined();

    const queries = Array.from({ length: 1000 }, () => randomQuery(random, keyed));
    const results: string[][] = [];
    for (const query of queries) results.push((await repository.search(query)).map((hit) => hit.id));
    expect(results.every((ids) => ids.length > 0 && ids.length <= 20 && new Set(ids).size === ids.length)).toBe(true);
    // a sample checked the slow way (every contact looked at)
    for (let i = 0; i < 1000; i += 50) expect({ query: queries[i], ids: results[i] }).toEqual({ query: queries[i], ids: expectedSearch(keyed, queries[i]) });

    // names of each script, and digits
    const chinese = contacts[1];
    const korean = contacts[2];
    expect((await repository.search(chinese.name, 100)).map((hit) => hit.id)).toContain(chinese.id);
    expect((await repository.search(korean.name, 100)).map((hit) => hit.id)).toContain(korean.id);
    expect((await repository.search(contacts[0].numbers[0].entered)).map((hit) => hit.id)).toContain(contacts[0].id);
    expect(await repository.search('8210', 5)).toHaveLength(5);
  }, 120_000);
});

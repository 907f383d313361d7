// What the file store repairs when it opens (or first reads a shard), and what it reports.

import { copyFileSync, readdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { CollectionChange, CollectionSpec, RecoveryReport } from '../../../src/store/types.js';
import { captureLogger } from '../../support/log.js';
import type { FileStore } from '../../../src/store/file-store.js';
import { fileStoresForTests } from '../../support/file-store.js';
import { makeTempDir } from '../../support/process.js';
import { garbleKeepingStamp } from './damage.js';
import { contact, contactSpec, type Contact, type ContactEntry } from './store-contract.js';

const stores = fileStoresForTests();
const fileStore = (dir: string, onRecovery?: (report: RecoveryReport) => void) => stores.open(dir, { onRecovery });

/** One shard, so every document is in 000000.json. */
const SPEC = contactSpec('contacts', { kind: 'hash', shards: 1 });
const shardPath = (dir: string) => join(dir, 'contacts', '000000.json');
const entriesPath = (dir: string) => join(dir, 'contacts', '000000.entries.json');
/**
 * The entries files are read for shards the snapshot does not cover (written after it, as when the process was
 * killed): tests of the entries files remove the snapshot, as such a crash leaves the shard beyond it.
 */
const dropSnapshot = (dir: string, collection = 'contacts') => rmSync(join(dir, collection, 'snapshot.json'), { force: true });
const actions = (store: FileStore) => store.recoveries().map((r) => r.action);
const namesIn = (dir: string) => readdirSync(join(dir, 'contacts'));

/** Writes ada, bob (first batch) and then cy (second batch): the .bak holds ada and bob. */
async function twoBatches(dir: string): Promise<void> {
  const store = fileStore(dir);
  const contacts = await store.collection(SPEC);
  await contacts.putMany([contact('ada'), contact('bob')]);
  await contacts.put(contact('cy'));
  await store.close();
}

describe('FileStore recovery', () => {
  it('restores a truncated shard from its backup and says so', async () => {
    const dir = await makeTempDir('store');
    await twoBatches(dir);
    truncateSync(shardPath(dir), 25);
    const reports: RecoveryReport[] = [];
    const { log, lines } = captureLogger();
    const store = stores.open(dir, { log, onRecovery: (r) => reports.push(r) });
    const contacts = await store.collection(SPEC);
    expect([...contacts.entries()].map(([id]) => id)).toEqual(['ada', 'bob']); // cy came after the last good copy
    expect(await contacts.get('ada')).toEqual(contact('ada'));
    expect(store.recoveries()).toEqual([
      { collection: 'contacts', file: shardPath(dir), problem: expect.stringMatching(/JSON/), action: 'restored-backup' },
      { collection: 'contacts', file: entriesPath(dir), problem: expect.stringMatching(/stale/), action: 'rebuilt-entries' },
    ]);
    expect(reports).toEqual(store.recoveries());
    expect(lines().filter((line) => line.level === 40 && line.ns === 'store')).toHaveLength(2);
    expect(namesIn(dir).filter((name) => name.startsWith('000000.json.corrupt-'))).toHaveLength(1);

    await store.close();
    const again = fileStore(dir);
    expect((await again.collection(SPEC)).size).toBe(2);
    expect(again.recoveries()).toEqual([]);
  });

  it('starts a shard empty when it and its backup are garbage, keeping both aside', async () => {
    const dir = await makeTempDir('store');
    await twoBatches(dir);
    writeFileSync(shardPath(dir), 'garbage');
    writeFileSync(`${shardPath(dir)}.bak`, '{"format":1,');
    const store = fileStore(dir);
    const contacts = await store.collection(SPEC);
    expect(contacts.size).toBe(0);
    expect(store.recoveries()).toEqual([
      expect.objectContaining({ file: shardPath(dir), problem: expect.stringMatching(/; backup: /), action: 'started-empty' }),
      expect.objectContaining({ action: 'rebuilt-entries' }),
    ]);
    const aside = namesIn(dir).filter((name) => name.includes('.corrupt-'));
    expect(aside.map((name) => readFileSync(join(dir, 'contacts', name), 'utf8')).sort()).toEqual(['garbage', '{"format":1,']);
    await contacts.put(contact('new'));
    await store.close();
    const again = fileStore(dir);
    expect([...(await again.collection(SPEC)).entries()].map(([id]) => id)).toEqual(['new']);
    expect(again.recoveries()).toEqual([]);
  });

  it.each([
    ['missing', (dir: string) => unlinkSync(entriesPath(dir)), 'entries file missing'],
    ['garbage', (dir: string) => writeFileSync(entriesPath(dir), '{"format":1,"rev'), /JSON/],
    ['of another shape', (dir: string) => writeFileSync(entriesPath(dir), '{"format":1,"rev":2}'), 'not an entries document'],
  ])('rebuilds an entries file that is %s from its shard, losing nothing', async (_label, damage, problem) => {
    const dir = await makeTempDir('store');
    await twoBatches(dir);
    dropSnapshot(dir);
    damage(dir);
    const store = fileStore(dir);
    const contacts = await store.collection(SPEC);
    expect([...contacts.entries()]).toEqual([
      ['ada', { name: 'Name ada', number: '+49 30 ada' }],
      ['bob', { name: 'Name bob', number: '+49 30 bob' }],
      ['cy', { name: 'Name cy', number: '+49 30 cy' }],
    ]);
    expect(store.recoveries()).toEqual([{ collection: 'contacts', file: entriesPath(dir), problem: expect.stringMatching(problem), action: 'rebuilt-entries' }]);
    await store.close();
    const again = fileStore(dir);
    await again.collection(SPEC);
    expect(again.recoveries()).toEqual([]);
  });

  it('rebuilds stale entries: a crash between the shard rename and the entries rename', async () => {
    const dir = await makeTempDir('store');
    const first = fileStore(dir);
    const contacts = await first.collection(SPEC);
    await contacts.putMany([contact('ada'), contact('bob')]);
    copyFileSync(entriesPath(dir), join(dir, 'old-entries'));
    await contacts.put(contact('cy'));
    await contacts.put(contact('ada', 'Ada changed'));
    await first.close();
    copyFileSync(join(dir, 'old-entries'), entriesPath(dir)); // the state a crash between the two renames leaves
    dropSnapshot(dir);
    const store = fileStore(dir);
    const reopened = await store.collection(SPEC);
    expect([...reopened.entries()].map(([id, entry]) => `${id}:${entry.name}`)).toEqual(['ada:Ada changed', 'bob:Name bob', 'cy:Name cy']);
    expect(actions(store)).toEqual(['rebuilt-entries']);
  });

  it('keeps insertion order across hash shards when entries are rebuilt', async () => {
    const dir = await makeTempDir('store');
    const spec = contactSpec('contacts', { kind: 'hash', shards: 4 });
    const contacts = await fileStore(dir).collection(spec);
    const order = Array.from({ length: 30 }, (_, i) => `id${(i * 7) % 30}`);
    for (const id of order) await contacts.put(contact(id));
    for (const name of namesIn(dir).filter((n) => n.endsWith('.entries.json'))) unlinkSync(join(dir, 'contacts', name));
    const store = fileStore(dir);
    const reopened = await store.collection(spec);
    expect([...reopened.entries()].map(([id]) => id)).toEqual(order);
    expect(actions(store)).toEqual(['rebuilt-entries', 'rebuilt-entries', 'rebuilt-entries', 'rebuilt-entries']);
  });

  it('reports an entries file whose shard is gone as lost, and keeps it aside', async () => {
    const dir = await makeTempDir('store');
    await twoBatches(dir);
    unlinkSync(shardPath(dir));
    unlinkSync(`${shardPath(dir)}.bak`);
    const store = fileStore(dir);
    const contacts = await store.collection(SPEC);
    expect(contacts.size).toBe(0);
    expect(store.recoveries()).toEqual([
      { collection: 'contacts', file: shardPath(dir), problem: 'shard file missing; its entries file listed 3 documents', action: 'started-empty' },
    ]);
    expect(namesIn(dir).filter((name) => name.startsWith('000000.entries.json.corrupt-'))).toHaveLength(1);
  });

  it('rebuilds the entries of a shard that has none (a crash before the first entries rename)', async () => {
    const dir = await makeTempDir('store');
    const history = contactSpec('history', { kind: 'sequence', segmentSize: 2, resident: 4 });
    const first = fileStore(dir);
    await (await first.collection(history)).putMany(['1', '2', '3', '4', '5'].map((id) => contact(id)));
    await first.close();
    unlinkSync(join(dir, 'history', 'seg-000002.entries.json'));
    dropSnapshot(dir, 'history');
    // segment 3, the newest, has no entries file while it fills up: read without a report
    expect(readdirSync(join(dir, 'history')).filter((n) => n.startsWith('seg-000003'))).toEqual(['seg-000003.json']);
    const store = fileStore(dir);
    const reopened = await store.collection(history);
    expect([...reopened.entries()].map(([id]) => id)).toEqual(['1', '2', '3', '4', '5']);
    expect(store.recoveries()).toEqual([expect.objectContaining({ file: join(dir, 'history', 'seg-000002.entries.json'), action: 'rebuilt-entries' })]);
    await reopened.put(contact('6')); // fills segment 3: when it is written, it gets its entries file
    await store.close();
    expect(readdirSync(join(dir, 'history')).filter((n) => n.startsWith('seg-000003')).sort()).toEqual(['seg-000003.entries.json', 'seg-000003.json', 'seg-000003.json.bak']);
  });

  it('finds a damaged shard on first read, restores it and tells listeners what changed', async () => {
    const dir = await makeTempDir('store');
    await twoBatches(dir);
    garbleKeepingStamp(shardPath(dir)); // the entries file still looks current

    const store = fileStore(dir);
    const contacts = await store.collection(SPEC);
    expect(contacts.size).toBe(3); // the entries file knew nothing of the damage
    const changes: Array<CollectionChange<ContactEntry>> = [];
    contacts.onChange((change) => changes.push(change));
    expect(await contacts.get('cy')).toBeUndefined();
    expect(await contacts.get('ada')).toEqual(contact('ada'));
    expect(contacts.has('cy')).toBe(false);
    expect(changes).toEqual([
      { type: 'put', id: 'ada', entry: expect.any(Object), previous: expect.any(Object) },
      { type: 'put', id: 'bob', entry: expect.any(Object), previous: expect.any(Object) },
      { type: 'delete', id: 'cy', previous: { name: 'Name cy', number: '+49 30 cy' } },
    ]);
    expect(actions(store)).toEqual(['restored-backup']);
    await store.close();
    const again = fileStore(dir);
    expect([...(await again.collection(SPEC)).entries()].map(([id]) => id)).toEqual(['ada', 'bob']);
    expect(again.recoveries()).toEqual([]);
  });

  it('skips and reports a document that fails validation, and keeps it in the file', async () => {
    const dir = await makeTempDir('store');
    await twoBatches(dir);
    const strict: CollectionSpec<Contact, ContactEntry> = { ...SPEC, isValid: (doc): doc is Contact => (doc as Contact).id !== 'bob' };
    unlinkSync(entriesPath(dir)); // so the open reads the shard
    dropSnapshot(dir);
    const store = fileStore(dir);
    const contacts = await store.collection(strict);
    expect([...contacts.entries()].map(([id]) => id)).toEqual(['ada', 'cy']);
    expect(await contacts.get('bob')).toBeUndefined();
    expect(store.recoveries()).toEqual([
      { collection: 'contacts', file: shardPath(dir), problem: "document 'bob' failed validation", action: 'skipped-document' },
      expect.objectContaining({ action: 'rebuilt-entries' }),
    ]);
    await contacts.put(contact('dan'));
    const onDisk = JSON.parse(readFileSync(shardPath(dir), 'utf8')).docs.map((doc: Contact) => doc.id);
    expect(onDisk).toEqual(['ada', 'cy', 'dan', 'bob']); // left out, not thrown away
    await contacts.put(contact('bob', 'Valid Bob')); // a new document with that id replaces the invalid one
    expect(JSON.parse(readFileSync(shardPath(dir), 'utf8')).docs.filter((doc: Contact) => doc.id === 'bob')).toEqual([contact('bob', 'Valid Bob')]);
  });

  it('drops a document that stopped validating from the entries on first read', async () => {
    const dir = await makeTempDir('store');
    await twoBatches(dir);
    const store = fileStore(dir);
    const contacts = await store.collection({ ...SPEC, isValid: (doc): doc is Contact => (doc as Contact).id !== 'bob' });
    expect(contacts.has('bob')).toBe(true); // the entries file is current; the shard was not read
    expect(await contacts.get('ada')).toEqual(contact('ada'));
    expect(contacts.has('bob')).toBe(false);
    expect(actions(store)).toEqual(['skipped-document']);
  });
});

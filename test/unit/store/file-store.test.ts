import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { fnv1a32 } from '../../../src/store/shard-files.js';
import { fileStoresForTests } from '../../support/file-store.js';
import { makeTempDir } from '../../support/process.js';
import { garbleKeepingStamp } from './damage.js';
import type { DigestSpec, Placement } from '../../../src/store/types.js';
import { contact, contactSpec, describeStoreContract, type Contact, type ContactEntry } from './store-contract.js';

const { open: fileStore } = fileStoresForTests();

describeStoreContract('FileStore', async () => {
  const dir = await makeTempDir('store');
  let current = fileStore(dir, { cacheShards: 2 });
  return {
    store: current,
    reopen: async () => {
      await current.close();
      current = fileStore(dir, { cacheShards: 2 });
      return current;
    },
  };
});

const SEQUENCE_50 = { kind: 'sequence', segmentSize: 50, resident: 10 } as const;

/** A digest for the tests: how many documents, and each one's name (JSON as it is). */
interface NamesDigest {
  count: number;
  names: Record<string, string>;
}
const NAMES_DIGEST: DigestSpec<ContactEntry, NamesDigest> = {
  version: 1,
  create: () => ({ count: 0, names: {} }),
  apply(state, id, entry, previous) {
    if (previous === undefined) state.count++;
    state.names[id] = entry.name;
  },
  remove(state, id) {
    state.count--;
    delete state.names[id];
  },
  save: (state) => structuredClone(state),
  load: (json) => json as NamesDigest,
};
const withDigest = (placement: Placement) => ({ ...contactSpec('history', placement), digest: NAMES_DIGEST });
const namesOf = (ids: number[], name = (id: number) => `Name ${id}`) => Object.fromEntries(ids.map((id) => [String(id), name(id)]));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const hashShardFile = (id: string, shards: number) => `${String(fnv1a32(id) % shards).padStart(6, '0')}.json`;
const docsIn = (path: string) => (readJson(path) as { docs: Contact[] }).docs;

describe('FileStore', () => {
  it('resolves a write only once the file on disk holds it', async () => {
    const dir = await makeTempDir('store');
    const contacts = await fileStore(dir).collection(contactSpec('contacts', { kind: 'hash', shards: 8 }));
    const shardPath = join(dir, 'contacts', hashShardFile('ada', 8));
    const written = contacts.put(contact('ada', 'Ada'));
    expect(existsSync(shardPath)).toBe(false);
    await written;
    expect(docsIn(shardPath)).toEqual([contact('ada', 'Ada')]);
    const entries = readJson(shardPath.replace('.json', '.entries.json'));
    expect(entries).toMatchObject({ format: 1, ids: ['ada'], entries: [{ name: 'Ada', number: '+49 30 ada' }] });
    expect(entries.shard).toMatchObject({ ino: statSync(shardPath).ino, size: statSync(shardPath).size });

    await contacts.update('ada', (doc) => ({ ...doc, name: 'Ada L.' }));
    expect(docsIn(shardPath)[0].name).toBe('Ada L.');
    expect(docsIn(`${shardPath}.bak`)[0].name).toBe('Ada'); // the previous good copy
    await contacts.delete('ada');
    expect(docsIn(shardPath)).toEqual([]);
  });

  it('coalesces the writes of one tick into one write per shard', async () => {
    const dir = await makeTempDir('store');
    const store = fileStore(dir);
    const contacts = await store.collection(contactSpec('contacts', { kind: 'hash', shards: 16 }));
    const before = store.stats();
    const docs = Array.from({ length: 200 }, (_, i) => contact(`c${i}`));
    await Promise.all(docs.map((doc) => contacts.put(doc)));
    const after = store.stats();
    const shardFiles = new Set(docs.map((doc) => hashShardFile(doc.id, 16)));
    expect(shardFiles.size).toBe(16);
    expect(after.flushes - before.flushes).toBe(1);
    expect(after.filesWritten - before.filesWritten).toBe(2 * shardFiles.size); // each shard and its entries file, once
    const onDisk = [...shardFiles].flatMap((file) => docsIn(join(dir, 'contacts', file)));
    expect(onDisk).toHaveLength(200);
    expect(after.bytesWritten - before.bytesWritten).toBeGreaterThan(JSON.stringify(docs).length);
  });

  it('puts writes made while a batch is being written into the next batch', async () => {
    const dir = await makeTempDir('store');
    const store = fileStore(dir);
    const contacts = await store.collection(contactSpec('contacts', { kind: 'hash', shards: 4 }));
    const first = contacts.put(contact('1'));
    await new Promise((resolve) => setImmediate(resolve)); // the first batch has started
    const later = [contacts.put(contact('2')), contacts.put(contact('3')), contacts.delete('1')];
    await Promise.all([first, ...later]);
    expect(store.stats().flushes).toBe(2);
    const reopened = await fileStore(dir).collection(contactSpec('contacts', { kind: 'hash', shards: 4 }));
    expect([...reopened.entries()].map(([id]) => id).sort()).toEqual(['2', '3']);
  });

  it('makes an append durable with one journal line, and writes the segments every so many bytes and at close', async () => {
    const dir = await makeTempDir('store');
    const folder = join(dir, 'history');
    const journal = join(folder, 'journal.log');
    const store = fileStore(dir, { journalLimit: 10_000 });
    const history = await store.collection(contactSpec('history', SEQUENCE_50));
    const before = store.stats();
    const written = history.put(contact('1', 'x'.repeat(100)));
    expect(existsSync(journal)).toBe(false);
    await written;
    const lineBytes = statSync(journal).size;
    expect(store.stats().bytesWritten - before.bytesWritten).toBe(lineBytes); // one line, no segment file
    expect(lineBytes).toBeLessThan(300);
    expect(readdirSync(folder).filter((name) => name.startsWith('seg-'))).toEqual([]);

    // 100 more, one tick each: the journal passes 10 kB and the segments are written, the journal emptied
    for (let i = 2; i <= 101; i++) await history.put(contact(String(i), 'x'.repeat(100)));
    expect(docsIn(join(folder, 'seg-000001.json'))).toHaveLength(50);
    expect(statSync(journal).size).toBeLessThan(10_000);
    const segmentsWritten = readdirSync(folder).filter((name) => /^seg-\d+\.json$/.test(name)).length;
    expect(segmentsWritten).toBeGreaterThanOrEqual(2);

    await history.update('1', (doc) => ({ ...doc, name: 'changed' }));
    await store.close();
    // at close every change is in the segments and the journal is empty
    expect(statSync(journal).size).toBe(0);
    expect(docsIn(join(folder, 'seg-000001.json'))[0]).toEqual(contact('1', 'changed'));
    expect(docsIn(join(folder, 'seg-000003.json')).map((doc) => doc.id)).toEqual(['101']);
    const reopened = await fileStore(dir).collection(contactSpec('history', SEQUENCE_50));
    expect([...reopened.entries()].map(([id]) => id)).toEqual(range(1, 101).map(String));
  });

  it('replays the journal after a kill: acknowledged changes come back, a torn last line is dropped quietly', async () => {
    const dir = await makeTempDir('store');
    const journal = join(dir, 'history', 'journal.log');
    const first = await fileStore(dir).collection(contactSpec('history', SEQUENCE_50));
    await first.putMany([contact('1'), contact('2')]);
    await first.update('1', (doc) => ({ ...doc, name: 'One' }));
    await first.delete('2');
    await first.put(contact('3'));
    // killed here: the segments were never written; then a batch torn by the kill
    expect(existsSync(join(dir, 'history', 'seg-000001.json'))).toBe(false);
    appendFileSync(journal, '0badc0de [["4",{"id":"4","na');
    const store = fileStore(dir);
    const reopened = await store.collection(contactSpec('history', SEQUENCE_50));
    expect([...reopened.entries()]).toEqual([
      ['1', { name: 'One', number: '+49 30 1' }],
      ['3', { name: 'Name 3', number: '+49 30 3' }],
    ]);
    expect(store.recoveries()).toEqual([]);
    await reopened.put(contact('4')); // after the torn line was cut off, not behind it
    const again = fileStore(dir);
    expect([...(await again.collection(contactSpec('history', SEQUENCE_50))).entries()].map(([id]) => id)).toEqual(['1', '3', '4']);
    expect(again.recoveries()).toEqual([]);
  });

  it('keeps id order after a kill between the renames of two segments the journal held changes of', async () => {
    const dir = await makeTempDir('store');
    const folder = join(dir, 'history');
    const placement = { kind: 'sequence', segmentSize: 10, resident: 3 } as const;
    const store = fileStore(dir);
    const first = await store.collection(contactSpec('history', placement));
    for (let i = 1; i <= 25; i++) await first.put(contact(String(i)));
    const journalBefore = readFileSync(join(folder, 'journal.log'));
    await store.close(); // writes segments 1 to 3, then empties the journal
    // killed after segment 3's rename, before segment 2's: segment 2 was never written, the journal not emptied
    for (const name of ['seg-000002.json', 'seg-000002.entries.json']) rmSync(join(folder, name), { force: true });
    writeFileSync(join(folder, 'journal.log'), journalBefore);
    const reopened = await fileStore(dir).collection(contactSpec('history', placement));
    expect([...reopened.entries()].map(([id]) => id)).toEqual(range(1, 25).map(String));
    await reopened.put(contact('26'));
    expect([...reopened.entries()].map(([id]) => id).slice(-3)).toEqual(['24', '25', '26']);
  });

  it('reports a damaged line inside the journal and keeps what came before it', async () => {
    const dir = await makeTempDir('store');
    const journal = join(dir, 'history', 'journal.log');
    const first = await fileStore(dir).collection(contactSpec('history', SEQUENCE_50));
    await first.put(contact('1'));
    await first.put(contact('2'));
    await first.put(contact('3'));
    const lines = readFileSync(journal, 'utf8').split('\n');
    lines[1] = lines[1].replace('Name 2', 'Name X'); // bit rot: the checksum no longer matches
    writeFileSync(journal, lines.join('\n'));
    const store = fileStore(dir);
    const reopened = await store.collection(contactSpec('history', SEQUENCE_50));
    expect([...reopened.entries()].map(([id]) => id)).toEqual(['1']);
    expect(store.recoveries()).toEqual([expect.objectContaining({ file: journal, action: 'truncated-journal', problem: expect.stringMatching(/line 2 is damaged/) })]);
  });

  it('keeps the entries of the newest segments only, and finds, changes and deletes older documents on disk', async () => {
    const dir = await makeTempDir('store');
    const placement = { kind: 'sequence', segmentSize: 2, resident: 2 } as const;
    const store = fileStore(dir, { cacheShards: 1 });
    const history = await store.collection(contactSpec('history', placement));
    await history.putMany(range(1, 9).map((id) => contact(String(id))));
    // segments 4 (7, 8) and 5 (9) are resident
    expect([...history.entries()].map(([id]) => id)).toEqual(['7', '8', '9']);
    expect(history.size).toBe(3);
    expect(history.has('1')).toBe(false);
    expect(history.entry('1')).toBeUndefined();
    expect(await history.get('1')).toEqual(contact('1'));
    expect(await history.getMany(['9', '2', '42', '5'])).toEqual([contact('9'), contact('2'), contact('5')]);

    const changes: unknown[] = [];
    history.onChange((change) => changes.push(change));
    expect(await history.update('3', (doc) => ({ ...doc, name: 'Three' }))).toEqual(contact('3', 'Three'));
    await history.put(contact('4', 'Four'));
    expect(await history.delete('5')).toBe(true);
    expect(await history.delete('5')).toBe(false);
    expect(await history.delete('42')).toBe(false);
    expect(changes).toEqual([
      { type: 'put', id: '3', entry: { name: 'Three', number: '+49 30 3' }, previous: { name: 'Name 3', number: '+49 30 3' } },
      { type: 'put', id: '4', entry: { name: 'Four', number: '+49 30 4' }, previous: { name: 'Name 4', number: '+49 30 4' } },
      { type: 'delete', id: '5', previous: { name: 'Name 5', number: '+49 30 5' } },
    ]);
    expect(history.has('3')).toBe(false); // still outside memory

    // appending moves the window: segment 4 leaves memory
    await history.putMany([contact('10'), contact('11')]);
    expect([...history.entries()].map(([id]) => id)).toEqual(['9', '10', '11']);
    await expect(history.put(contact('abc'))).rejects.toMatchObject({ code: 'STORE_BAD_ID' });
    await expect(history.put(contact('0'))).rejects.toMatchObject({ code: 'STORE_BAD_ID' });
    await store.close();

    const reopened = await fileStore(dir).collection(contactSpec('history', placement));
    expect([...reopened.entries()].map(([id]) => id)).toEqual(['9', '10', '11']);
    expect(await reopened.getMany(['3', '4', '5', '8'])).toEqual([contact('3', 'Three'), contact('4', 'Four'), contact('8')]);
  });

  it('keeps a digest over every document across reopens, from the snapshot and the segments written after it', async () => {
    const dir = await makeTempDir('store');
    const placement = { kind: 'sequence', segmentSize: 2, resident: 2 } as const;
    const store = fileStore(dir);
    const history = await store.collection(withDigest(placement));
    await history.putMany(range(1, 50).map((id) => contact(String(id))));
    await history.update('3', (doc) => ({ ...doc, name: 'Three' }));
    await history.delete('4');
    const expected = { count: 49, names: { ...namesOf(range(1, 50)), 3: 'Three' } };
    delete (expected.names as Record<string, string>)['4'];
    expect(history.digest).toEqual(expected);
    await store.close();
    const snapshot = readJson(join(dir, 'history', 'snapshot.json'));
    expect(snapshot).toMatchObject({ digestVersion: 1, through: 25, lastNumber: 50, digest: expected });

    // Killed without closing: appends after the checkpoint, and a change to a segment it covers.
    const crashed = fileStore(dir);
    const again = await crashed.collection(withDigest(placement));
    expect(crashed.recoveries()).toEqual([]);
    expect(again.digest).toEqual(expected);
    await again.putMany([contact('51'), contact('52', 'Fifty-two')]);
    await again.update('1', (doc) => ({ ...doc, name: 'One' }));
    const afterCrash = { count: 51, names: { ...expected.names, 1: 'One', 51: 'Name 51', 52: 'Fifty-two' } };
    expect(again.digest).toEqual(afterCrash);
    expect(readJson(join(dir, 'history', 'snapshot.json')).through).toBe(25); // not written again yet

    const reopened = fileStore(dir);
    expect((await reopened.collection(withDigest(placement))).digest).toEqual(afterCrash);
    expect(reopened.recoveries()).toEqual([]);
    await reopened.close();
  });

  it('rebuilds a digest whose snapshot is damaged, missing or outdated from every segment, and says so', async () => {
    const dir = await makeTempDir('store');
    const placement = { kind: 'sequence', segmentSize: 2, resident: 1 } as const;
    const store = fileStore(dir);
    await (await store.collection(withDigest(placement))).putMany(range(1, 9).map((id) => contact(String(id))));
    await store.close();
    const path = join(dir, 'history', 'snapshot.json');
    const expected = { count: 9, names: namesOf(range(1, 9)) };

    writeFileSync(path, '{"format":1,"vers');
    const damaged = fileStore(dir);
    expect((await damaged.collection(withDigest(placement))).digest).toEqual(expected);
    expect(damaged.recoveries()).toEqual([expect.objectContaining({ collection: 'history', action: 'rebuilt-digest', file: path })]);
    await damaged.close();
    expect(readJson(path).through).toBe(5); // written again

    rmSync(path);
    const missing = fileStore(dir);
    expect((await missing.collection(withDigest(placement))).digest).toEqual(expected);
    expect(missing.recoveries()).toEqual([expect.objectContaining({ action: 'rebuilt-digest', problem: 'snapshot missing' })]);
    await missing.close();

    const upper: DigestSpec<ContactEntry, NamesDigest> = { ...NAMES_DIGEST, version: 2, apply: (state, id, entry, previous) => NAMES_DIGEST.apply(state, id, { ...entry, name: entry.name.toUpperCase() }, previous) };
    const newer = fileStore(dir);
    expect((await newer.collection({ ...withDigest(placement), digest: upper })).digest).toEqual({ count: 9, names: namesOf(range(1, 9), (id) => `NAME ${id}`) });
    expect(newer.recoveries()).toEqual([expect.objectContaining({ action: 'rebuilt-digest', problem: 'snapshot of digest version 1, now 2' })]);
    await newer.close();
  });

  it('opens from its snapshot, reading only the shards written after it', async () => {
    const dir = await makeTempDir('store');
    const spec = contactSpec('contacts', { kind: 'hash', shards: 8 });
    const folder = join(dir, 'contacts');
    const first = fileStore(dir);
    await (await first.collection(spec)).putMany(range(1, 40).map((id) => contact(String(id))));
    await first.close();
    expect(readJson(join(folder, 'snapshot.json')).shards).toHaveLength(8);

    // Killed after changing one document: its shard no longer has the snapshot's stamp.
    const crashed = await fileStore(dir).collection(spec);
    await crashed.update('7', (doc) => ({ ...doc, name: 'Seven' }));
    const changedShard = hashShardFile('7', 8).replace('.json', '.entries.json');
    // Entries files the open must not need: every one but the changed shard's.
    for (const name of readdirSync(folder).filter((n) => n.endsWith('.entries.json') && n !== changedShard)) rmSync(join(folder, name));
    const store = fileStore(dir);
    const reopened = await store.collection(spec);
    expect(reopened.size).toBe(40);
    expect(reopened.entry('7')?.name).toBe('Seven');
    expect(reopened.entry('8')?.name).toBe('Name 8');
    expect(store.recoveries()).toEqual([]);
    await store.close();

    // A damaged snapshot: every entries file is read (rebuilt where missing), nothing is lost, a new snapshot is written.
    writeFileSync(join(folder, 'snapshot.json'), '{"format":1,"entr');
    const again = fileStore(dir);
    const fallback = await again.collection(spec);
    expect([...fallback.entries()].map(([id]) => Number(id)).sort((a, b) => a - b)).toEqual(range(1, 40));
    expect(fallback.entry('7')?.name).toBe('Seven');
    expect(again.recoveries().every((r) => r.action === 'rebuilt-entries')).toBe(true);
    await again.close();
    expect(readJson(join(folder, 'snapshot.json')).shards).toHaveLength(8);
  });

  it('drops shards from memory beyond its cache and reads them again from disk', async () => {
    const dir = await makeTempDir('store');
    const spec = contactSpec('contacts', { kind: 'hash', shards: 16 });
    const first = await fileStore(dir).collection(spec);
    await first.putMany(Array.from({ length: 160 }, (_, i) => contact(`c${i}`)));
    const store = fileStore(dir, { cacheShards: 2 });
    const contacts = await store.collection(spec);
    const shardPath = join(dir, 'contacts', hashShardFile('c0', 16));
    expect((await contacts.get('c0'))?.name).toBe('Name c0');

    // Change c0 behind the store's back (same ids, so the store has no reason to doubt the file).
    const edit = (name: string) => {
      const shard = readJson(shardPath);
      shard.docs = shard.docs.map((doc: Contact) => (doc.id === 'c0' ? { ...doc, name } : doc));
      writeFileSync(shardPath, JSON.stringify(shard));
    };
    edit('edited while cached');
    expect((await contacts.get('c0'))?.name).toBe('Name c0'); // served from the cache
    const otherShards = Array.from({ length: 160 }, (_, i) => `c${i}`).filter((id) => hashShardFile(id, 16) !== hashShardFile('c0', 16));
    expect((await contacts.getMany(otherShards)).length).toBe(otherShards.length); // loads 15 shards through a cache of 2
    edit('edited after eviction');
    expect((await contacts.get('c0'))?.name).toBe('edited after eviction');

    // a write to a shard that is not in memory reads it first and keeps its other documents
    const neighbours = [...contacts.entries()].map(([id]) => id).filter((id) => hashShardFile(id, 16) === hashShardFile('c1', 16));
    await contacts.getMany(otherShards.slice(0, 40));
    await contacts.put(contact('c1', 'new name'));
    expect(docsIn(join(dir, 'contacts', hashShardFile('c1', 16))).map((doc) => doc.id).sort()).toEqual(neighbours.sort());
    expect(store.recoveries()).toEqual([]);
  });

  it('sees a pending write to a shard that is still being read', async () => {
    const dir = await makeTempDir('store');
    const spec = contactSpec('contacts', { kind: 'hash', shards: 1 });
    await (await fileStore(dir).collection(spec)).putMany([contact('a'), contact('b')]);
    const contacts = await fileStore(dir).collection(spec);
    const written = contacts.put(contact('a', 'changed')); // shard 0 is not loaded yet
    expect((await contacts.get('a'))?.name).toBe('changed');
    expect(await contacts.update('b', (doc) => ({ ...doc, name: 'B' }))).toEqual(contact('b', 'B'));
    await written;
    expect(docsIn(join(dir, 'contacts', '000000.json'))).toEqual([contact('a', 'changed'), contact('b', 'B')]);
  });

  it('opens by reading the entries files only', async () => {
    const dir = await makeTempDir('store');
    const spec = contactSpec('contacts', { kind: 'hash', shards: 4 });
    await (await fileStore(dir).collection(spec)).putMany(Array.from({ length: 40 }, (_, i) => contact(`c${i}`)));
    // Overwrite every shard in place with garbage of the same size and mtime: invisible to the stamp check.
    for (const name of readdirSync(join(dir, 'contacts')).filter((n) => /^\d+\.json$/.test(n))) garbleKeepingStamp(join(dir, 'contacts', name));
    const store = fileStore(dir);
    const contacts = await store.collection(spec);
    expect(contacts.size).toBe(40);
    expect(contacts.entry('c7')).toEqual({ name: 'Name c7', number: '+49 30 c7' });
    expect(store.recoveries()).toEqual([]);
    // Only a read of the documents finds the damage; the previous copy is all there is (the shard was written once).
    expect(await contacts.get('c7')).toBeUndefined();
    expect(store.recoveries().map((r) => r.action)).toContain('started-empty');
  });

  it('removes unfinished temp files on open', async () => {
    const dir = await makeTempDir('store');
    const spec = contactSpec('contacts', { kind: 'hash', shards: 2 });
    await (await fileStore(dir).collection(spec)).put(contact('1'));
    writeFileSync(join(dir, 'contacts', '.000000.json.tmp'), '{"format":1,"re');
    writeFileSync(join(dir, 'contacts', '.000001.entries.json.tmp'), '');
    const store = fileStore(dir);
    expect((await store.collection(spec)).size).toBe(1);
    // (the snapshot the open starts writing may be on its way: not a leftover)
    expect(readdirSync(join(dir, 'contacts')).filter((name) => name.endsWith('.tmp') && name !== '.snapshot.json.tmp')).toEqual([]);
    expect(store.recoveries()).toEqual([]);
  });

  it('rejects a failed write, keeps memory, and writes it with the next batch once the cause is gone', async () => {
    const dir = await makeTempDir('store');
    const spec = contactSpec('contacts', { kind: 'hash', shards: 2 });
    const store = fileStore(dir);
    const contacts = await store.collection(spec);
    await contacts.put(contact('1'));
    // The collection folder disappears and a plain file takes its place: every write fails with ENOTDIR.
    const folder = join(dir, 'contacts');
    renameSync(folder, `${folder}.away`);
    writeFileSync(folder, 'not a folder');
    const failed = contacts.putMany([contact('2'), contact('3')]);
    await expect(failed).rejects.toMatchObject({ code: 'STORE_WRITE_FAILED', name: 'DesklineError' });
    expect(contacts.has('2')).toBe(true);
    expect((await contacts.get('2'))?.name).toBe('Name 2');

    rmSync(folder);
    renameSync(`${folder}.away`, folder);
    await contacts.put(contact('4'));
    await store.close();
    const reopened = await fileStore(dir).collection(spec);
    expect([...reopened.entries()].map(([id]) => id).sort()).toEqual(['1', '2', '3', '4']);
  });

  it('waits for pending writes on close, then refuses work', async () => {
    const dir = await makeTempDir('store');
    const store = fileStore(dir);
    const contacts = await store.collection(contactSpec('contacts', { kind: 'sequence', segmentSize: 10, resident: 4 }));
    const pending = contacts.putMany(Array.from({ length: 15 }, (_, i) => contact(`${i + 1}`)));
    await store.close();
    await pending;
    expect(docsIn(join(dir, 'contacts', 'seg-000002.json'))).toHaveLength(5);
    await expect(contacts.put(contact('16'))).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    await expect(contacts.get('1')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    await expect(store.collection(contactSpec('other', { kind: 'hash', shards: 1 }))).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    expect(contacts.has('1')).toBe(true);
  });

  it('validates ids, documents, names and placements', async () => {
    const dir = await makeTempDir('store');
    const store = fileStore(dir);
    const contacts = await store.collection(contactSpec('contacts', { kind: 'hash', shards: 2 }));
    await expect(contacts.put(contact(''))).rejects.toMatchObject({ code: 'STORE_BAD_ID' });
    await expect(contacts.put(contact('x'.repeat(201)))).rejects.toMatchObject({ code: 'STORE_BAD_ID' });
    await expect(contacts.put({ id: 7 } as unknown as Contact)).rejects.toMatchObject({ code: 'STORE_BAD_ID' });
    await expect(contacts.put(null as unknown as Contact)).rejects.toMatchObject({ code: 'STORE_BAD_DOCUMENT' });
    await expect(contacts.putMany([contact('ok'), contact('')])).rejects.toMatchObject({ code: 'STORE_BAD_ID' });
    expect(contacts.has('ok')).toBe(false); // putMany is all or nothing
    await expect(contacts.delete('')).rejects.toMatchObject({ code: 'STORE_BAD_ID' });
    await contacts.put(contact('x'.repeat(200)));
    expect(await contacts.get('')).toBeUndefined();
    await expect(store.collection(contactSpec('Bad Name', { kind: 'hash', shards: 2 }))).rejects.toMatchObject({ code: 'STORE_BAD_NAME' });
    await expect(store.collection(contactSpec('../up', { kind: 'hash', shards: 2 }))).rejects.toMatchObject({ code: 'STORE_BAD_NAME' });
    await expect(store.collection(contactSpec('zero', { kind: 'hash', shards: 0 }))).rejects.toMatchObject({ code: 'STORE_BAD_SPEC' });
    await expect(store.collection(contactSpec('contacts', { kind: 'hash', shards: 3 }))).rejects.toMatchObject({ code: 'STORE_PLACEMENT_CHANGED' });
  });

  it('refuses to open a collection with another shard count or segment size, and takes another resident count', async () => {
    const dir = await makeTempDir('store');
    await fileStore(dir).collection(contactSpec('contacts', { kind: 'hash', shards: 4 }));
    await expect(fileStore(dir).collection(contactSpec('contacts', { kind: 'hash', shards: 8 }))).rejects.toMatchObject({ code: 'STORE_PLACEMENT_CHANGED' });
    await expect(fileStore(dir).collection(contactSpec('contacts', { kind: 'sequence', segmentSize: 4, resident: 1 }))).rejects.toMatchObject({ code: 'STORE_PLACEMENT_CHANGED' });

    const history = await fileStore(dir).collection(contactSpec('history', { kind: 'sequence', segmentSize: 2, resident: 1 }));
    await history.putMany([contact('1'), contact('2'), contact('3')]);
    await expect(fileStore(dir).collection(contactSpec('history', { kind: 'sequence', segmentSize: 4, resident: 1 }))).rejects.toMatchObject({ code: 'STORE_PLACEMENT_CHANGED' });
    const more = await fileStore(dir).collection(contactSpec('history', { kind: 'sequence', segmentSize: 2, resident: 5 }));
    expect([...more.entries()].map(([id]) => id)).toEqual(['1', '2', '3']);
    expect(readJson(join(dir, 'history', 'collection.json')).placement).toEqual({ kind: 'sequence', segmentSize: 2, resident: 5 });
  });

  it('rebuilds the entries when entryOf changes version', async () => {
    const dir = await makeTempDir('store');
    const v0 = contactSpec('contacts', { kind: 'hash', shards: 2 });
    await (await fileStore(dir).collection(v0)).putMany([contact('1', 'Ada'), contact('2', 'Bob')]);
    const store = fileStore(dir);
    const v1 = await store.collection({ ...v0, entriesVersion: 1, entryOf: (doc: Contact) => ({ name: doc.name.toUpperCase(), number: doc.number }) });
    expect(v1.entry('1')?.name).toBe('ADA');
    expect(store.recoveries().every((r) => r.action === 'rebuilt-entries')).toBe(true);
    const again = fileStore(dir);
    await again.collection({ ...v0, entriesVersion: 1 });
    expect(again.recoveries()).toEqual([]);
  });

  it('creates missing parent folders', async () => {
    const dir = join(await makeTempDir('store'), 'data', 'store');
    mkdirSync(join(dir, '..', '..'), { recursive: true });
    await (await fileStore(dir).collection(contactSpec('contacts', { kind: 'hash', shards: 1 }))).put(contact('1'));
    expect(existsSync(join(dir, 'contacts', '000000.json'))).toBe(true);
  });
});

import { describe, expect, it } from '@jest/globals';
import { CloudContactBook, contactChange, deleteChange } from '../../../../src/cloud/contacts-sync/cloud-side.js';
import { ContactsSync } from '../../../../src/cloud/contacts-sync/device-sync.js';
import { contactsTopics, decodeEditBatch, decodeResyncRequest, type ContactsChangeSet, type WireChange } from '../../../../src/cloud/contacts-sync/protocol.js';
import type { CloudLink, CloudLinkEvents, CloudMessage, MessageHandler, PublishAck, PublishOptions } from '../../../../src/cloud/types.js';
import { ContactsRepository } from '../../../../src/contacts/repository.js';
import type { Store } from '../../../../src/store/types.js';
import { fileStoresForTests } from '../../../support/file-store.js';
import { FakeClock } from '../../../support/fake-clock.js';
import { captureLogger } from '../../../support/log.js';

/** A CloudLink in memory: records what the device publishes, delivers what the test sends, answers PUBACKs as told. */
class MemoryLink implements CloudLink {
  readonly deviceId = 'd1';
  connected = true;
  readonly protocolVersion = 5 as const;
  readonly published: Array<{ topic: string; payload: string; options?: PublishOptions }> = [];
  pubackCode = 0;
  readonly #handlers = new Map<string, Set<MessageHandler>>();
  readonly #connected = new Set<(payload: CloudLinkEvents['connected']) => void>();

  publish(topic: string, payload: string | Buffer, options?: PublishOptions): Promise<PublishAck> {
    this.published.push({ topic, payload: payload.toString(), options });
    return Promise.resolve({ reasonCode: topic.endsWith('/edits') ? this.pubackCode : 0 });
  }
  subscribe(filter: string, handler: MessageHandler): Promise<() => Promise<void>> {
    const set = this.#handlers.get(filter) ?? new Set();
    set.add(handler);
    this.#handlers.set(filter, set);
    return Promise.resolve(async () => void set.delete(handler));
  }
  on<K extends keyof CloudLinkEvents>(event: K, listener: (payload: CloudLinkEvents[K]) => void): () => void {
    if (event !== 'connected') return () => undefined;
    const l = listener as (payload: CloudLinkEvents['connected']) => void;
    this.#connected.add(l);
    return () => this.#connected.delete(l);
  }
  deliver(topic: string, payload: unknown): void {
    const message: CloudMessage = { topic, payload: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), retain: false };
    for (const handler of this.#handlers.get(topic) ?? []) handler(message);
  }
  reconnect(): void {
    for (const l of this.#connected) l({ sessionPresent: true, protocolVersion: 5 });
  }
  sent(kind: 'edits' | 'resync' | 'state'): string[] {
    return this.published.filter((p) => p.topic === contactsTopics(this.deviceId)[kind]).map((p) => p.payload);
  }
}

const stores = fileStoresForTests();
const T = Date.UTC(2026, 10, 24, 9, 0);

async function device(dir?: string) {
  const where = dir ?? (await stores.tempDir());
  const store: Store = stores.open(where);
  const clock = new FakeClock({ wall: T });
  const { log, lines } = captureLogger();
  const contacts = await ContactsRepository.open({ store, clock, country: () => 'US', origin: 'device:d1' });
  const link = new MemoryLink();
  const sync = new ContactsSync({ link, contacts, store, clock, log, country: () => 'US', retryMs: 5000, resyncTimeoutMs: 20_000 });
  await sync.start();
  await sync.settled();
  return { dir: where, store, clock, contacts, link, sync, lines };
}

const topics = contactsTopics('d1');
const cloud = (at: number) => ({ at, origin: 'cloud' });
const person = (id: string, name: string, at: number, extra: Record<string, unknown> = {}): WireChange => contactChange(id, { name, ...extra }, cloud(at));

/** Answers the newest resync request of the device from the book. */
async function answerResync(d: Awaited<ReturnType<typeof device>>, book: CloudContactBook, pageSize: number): Promise<number> {
  const requests = d.link.sent('resync');
  const request = decodeResyncRequest(requests[requests.length - 1]);
  const pages = book.pages(request.resyncId, pageSize);
  for (const page of pages) d.link.deliver(topics.pages, page);
  await d.sync.settled();
  return pages.length;
}

describe('ContactsSync (device side)', () => {
  it('applies change sets in revision order, ignores redeliveries, and keeps its revision across a restart', async () => {
    const first = await device();
    // a device that never synced asks for the whole set first
    expect(decodeResyncRequest(first.link.sent('resync')[0])).toMatchObject({ rev: 0, reason: 'first sync' });
    const book = new CloudContactBook();
    await answerResync(first, book, 10);
    expect(first.sync.rev).toBe(0);
    expect(first.sync.resyncing).toBe(false);

    const [set1] = book.commit([person('c1', 'Wang Li', T, { numbers: ['(212) 555-1234'] })]);
    first.link.deliver(topics.changes, set1);
    const [set2] = book.commit([contactChange('c1', { notes: 'spicy' }, cloud(T + 1))]);
    first.link.deliver(topics.changes, set2);
    first.link.deliver(topics.changes, set1); // a redelivery
    await first.sync.settled();
    expect(first.sync.rev).toBe(2);
    expect(first.contacts.findByNumber('2125551234')?.id).toBe('c1');
    expect(await first.contacts.get('c1')).toMatchObject({ name: 'Wang Li', notes: 'spicy', updatedBy: { notes: 'cloud' } });
    expect(first.link.sent('resync')).toHaveLength(1);
    // the retained state says where the device is
    const states = first.link.published.filter((p) => p.topic === topics.state);
    expect(states[states.length - 1].options).toMatchObject({ retain: true, qos: 1 });
    expect(JSON.parse(states[states.length - 1].payload)).toMatchObject({ rev: 2, resyncing: false, pendingEdits: 0 });

    await first.sync.stop();
    await first.store.close();
    const again = await device(first.dir);
    expect(again.sync.rev).toBe(2);
    expect(again.link.sent('resync')).toEqual([]);
  });

  it('refuses a bad change of a set, counts it and goes on with the rest', async () => {
    const d = await device();
    await answerResync(d, new CloudContactBook(), 10);
    d.link.deliver(topics.changes, { rev: 1, prevRev: 0, changes: [person('ok', 'Fine', T), person('bad', 'Bad', T, { email: 'not an address' })] });
    d.link.deliver(topics.changes, '{"rev": "x"}');
    await d.sync.settled();
    expect(d.sync.rev).toBe(1);
    expect(d.contacts.ids()).toEqual(['ok']);
    const states = d.link.sent('state');
    expect(JSON.parse(states[states.length - 1])).toMatchObject({ refused: 1, errors: [{ id: 'bad', path: 'fields.email' }] });
    expect(d.lines().some((line) => /change set refused/.test(String(line.msg)))).toBe(true);
  });

  it('on a revision gap asks for a full resync, applies the pages, and ends with the cloud set plus newer local data', async () => {
    const d = await device();
    const book = new CloudContactBook();
    book.commit([person('a', 'Alpha', T), person('b', 'Bravo', T), person('gone', 'Gone', T)]);
    await answerResync(d, book, 2);
    expect(d.sync.rev).toBe(1);
    expect(d.contacts.ids().sort()).toEqual(['a', 'b', 'gone']);

    // the device edits a's notes (newer than anything the cloud will say about them) and creates a contact
    d.clock.advance(60_000);
    await d.contacts.update('a', { notes: 'local note' });
    const local = await d.contacts.create({ name: 'Local only' });
    // meanwhile the cloud moves on: set 2 is lost, set 3 arrives
    book.commit([contactChange('a', { notes: 'older cloud note', company: 'ACME' }, cloud(T + 1000)), deleteChange('gone', cloud(T + 1000))]);
    const [set3] = book.commit(Array.from({ length: 25 }, (_, i) => person(`n${i}`, `New ${i}`, T + 2000)));
    d.link.deliver(topics.changes, set3);
    await d.sync.settled();
    expect(d.sync.resyncing).toBe(true);
    expect(decodeResyncRequest(d.link.sent('resync').at(-1)!)).toMatchObject({ rev: 1, reason: expect.stringMatching(/revision gap: at 1, received change set 2 -> 3/) });
    // a set arriving while the resync runs is held and applied after it
    const [set4] = book.commit([contactChange('b', { company: 'Bravo Ltd' }, cloud(T + 3000))]);
    const pages = book.pages('unused').length;
    const requests = d.link.sent('resync');
    const resyncId = decodeResyncRequest(requests.at(-1)!).resyncId;
    const answer = book.pages(resyncId, 4);
    // set 4 is not in these pages: the book moved on after them, as it may in the cloud
    d.link.deliver(topics.changes, set4);
    expect(pages).toBe(1);
    // pages from an older resync are ignored
    d.link.deliver(topics.pages, { ...answer[0], resyncId: 'stale' });
    for (const page of answer.reverse()) d.link.deliver(topics.pages, page);
    await d.sync.settled();
    expect(answer.length).toBe(7);
    expect(d.sync.resyncing).toBe(false);
    expect(d.sync.rev).toBe(4);
    const ids = d.contacts.ids().sort();
    expect(ids).toEqual(['a', 'b', local.id, ...Array.from({ length: 25 }, (_, i) => `n${i}`)].sort());
    expect(await d.contacts.get('a')).toMatchObject({ notes: 'local note', company: 'ACME' });
    expect(await d.contacts.get('b')).toMatchObject({ company: 'Bravo Ltd' });
    // the newer local note and the local contact went up
    const sent = d.link.sent('edits').flatMap((payload) => decodeEditBatch(payload).edits);
    expect(sent.some((edit) => edit.id === 'a' && 'fields' in edit && edit.fields.notes?.value === 'local note')).toBe(true);
    expect(sent.some((edit) => edit.id === local.id)).toBe(true);
  });

  it('asks again when a resync stalls', async () => {
    const d = await device();
    expect(d.link.sent('resync')).toHaveLength(1);
    d.clock.advance(19_999);
    expect(d.link.sent('resync')).toHaveLength(1);
    d.clock.advance(1);
    expect(d.link.sent('resync')).toHaveLength(2);
    expect(decodeResyncRequest(d.link.sent('resync')[1]).reason).toMatch(/asked again/);
  });

  it('keeps edits queued on disk until the broker delivered them, and sends them again after a restart', async () => {
    const d = await device();
    await answerResync(d, new CloudContactBook(), 10);
    d.link.pubackCode = 0x10; // no subscriber: the cloud did not get it
    const created = await d.contacts.create({ name: 'Queued' });
    await d.contacts.update(created.id, { notes: 'then edited' });
    await d.sync.flushEdits();
    expect(d.sync.pendingEdits).toBe(1);
    const tries = d.link.sent('edits').length;
    expect(tries).toBeGreaterThan(0);
    d.clock.advance(5000);
    await d.sync.flushEdits();
    expect(d.link.sent('edits').length).toBeGreaterThan(tries);
    expect(d.sync.pendingEdits).toBe(1);
    await d.sync.stop();
    await d.store.close();

    // the new start reads the queue and sends it at once (this broker answers success)
    const again = await device(d.dir);
    await again.sync.flushEdits();
    expect(again.sync.pendingEdits).toBe(0);
    const [batch] = again.link.sent('edits').map(decodeEditBatch);
    // one coalesced change with both edits' fields
    expect(batch.edits).toEqual([expect.objectContaining({ id: created.id, fields: expect.objectContaining({ name: expect.objectContaining({ value: 'Queued', origin: 'device:d1' }), notes: expect.objectContaining({ value: 'then edited' }) }) })]);
  });

  it('sends a local delete up and does not let an older cloud change bring the contact back', async () => {
    const d = await device();
    const book = new CloudContactBook();
    book.commit([person('x', 'Xavier', T - 10_000)]);
    await answerResync(d, book, 10);
    await d.contacts.delete('x');
    await d.sync.flushEdits();
    const edits = d.link.sent('edits').flatMap((p) => decodeEditBatch(p).edits);
    expect(edits).toEqual([{ id: 'x', deleted: { at: T, origin: 'device:d1' } }]);
    const [late] = book.commit([contactChange('x', { notes: 'late' }, cloud(T - 5000))]) as ContactsChangeSet[];
    d.link.deliver(topics.changes, late);
    await d.sync.settled();
    expect(d.sync.rev).toBe(late.rev);
    expect(d.contacts.ids()).toEqual([]);
  });
});

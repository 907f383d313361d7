import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { EventOutbox, MAX_EVENT_BYTES, OUTBOX_COLLECTION, type CloudEvent } from '../../../src/cloud/outbox.js';
import { deviceTopics } from '../../../src/cloud/topics.js';
import type { Store } from '../../../src/store/types.js';
import { FakeClock } from '../../support/fake-clock.js';
import { fileStoresForTests } from '../../support/file-store.js';
import { captureLogger } from '../../support/log.js';
import { MemoryLink } from '../../support/memory-link.js';
import { waitFor } from '../../support/wait.js';

const stores = fileStoresForTests();
const topics = deviceTopics('d1');
const EVENTS = `${topics.base}/events/+`;
const NOW = Date.UTC(2026, 10, 24, 9, 30);

/** An outbox over a real FileStore in `dir` (a fresh temp dir by default). */
async function outbox(o: { dir?: string; window?: number; clock?: FakeClock } = {}) {
  const dir = o.dir ?? (await stores.tempDir());
  const store = stores.open(dir);
  const { log } = captureLogger();
  const box = new EventOutbox({ store, clock: o.clock ?? new FakeClock({ wall: NOW }), log, ...(o.window ? { window: o.window } : {}) });
  await box.open();
  return { dir, store, box };
}

/** The events the broker received, in order. */
const sentEvents = (link: MemoryLink) => link.jsonSentTo<CloudEvent>(EVENTS);

/** The outbox records on disk/in memory: id, stream, seq, acked. */
async function records(store: Store) {
  const collection = await store.collection(OUTBOX_COLLECTION);
  return [...collection.entries()].map(([id, entry]) => ({ id, ...entry }));
}

describe('EventOutbox: appending', () => {
  it('numbers events per stream 1, 2, 3 with unique ids and the trusted wall time', async () => {
    const { box } = await outbox();
    const a1 = await box.append('calls', 'call.ended', { n: 1 });
    const b1 = await box.append('sms', 'sms.sent', { n: 2 });
    const a2 = await box.append('calls', 'call.ended', { n: 3 });
    const a3 = await box.append('calls', 'call.missed', { n: 4 });
    expect([a1, a2, a3].map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(b1.seq).toBe(1);
    expect(new Set([a1, b1, a2, a3].map((e) => e.id)).size).toBe(4);
    for (const e of [a1, b1, a2, a3]) expect(e.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(a1).toEqual({ id: a1.id, stream: 'calls', seq: 1, at: NOW, type: 'call.ended', data: { n: 1 } });
    expect(box.pending).toBe(4);
  });

  it('gives appends made in the same tick consecutive seqs in call order', async () => {
    const { box } = await outbox();
    const events = await Promise.all([1, 2, 3, 4].map((n) => box.append('orders', 'order.created', { n })));
    expect(events.map((e) => [e.seq, e.data.n])).toEqual([[1, 1], [2, 2], [3, 3], [4, 4]]);
  });

  it('stamps at: null while wall time is not trusted', async () => {
    const { box } = await outbox({ clock: new FakeClock({ wall: NOW, trusted: false }) });
    expect((await box.append('calls', 'call.ended', {})).at).toBeNull();
  });

  it('refuses an event whose data is over MAX_EVENT_BYTES, accepting one exactly at the limit', async () => {
    const { box } = await outbox();
    const exactly = { s: 'x'.repeat(MAX_EVENT_BYTES - '{"s":""}'.length) };
    expect(Buffer.byteLength(JSON.stringify(exactly))).toBe(MAX_EVENT_BYTES);
    await expect(box.append('calls', 'big', { s: `${exactly.s}x` })).rejects.toMatchObject({ code: 'CLOUD_EVENT_TOO_LARGE', message: expect.stringContaining(`${MAX_EVENT_BYTES + 1} bytes`) });
    expect(box.pending).toBe(0);
    expect((await box.append('calls', 'big', exactly)).seq).toBe(1); // the refused one used no seq
  });

  it('refuses a stream name that is not a topic level', async () => {
    const { box } = await outbox();
    for (const bad of ['Calls', 'calls/x', '#', '+', '', 'a b']) {
      await expect(box.append(bad, 'x', {})).rejects.toMatchObject({ code: 'CLOUD_BAD_TOPIC_LEVEL' });
    }
    expect(box.pending).toBe(0);
  });

  it('refuses appends before open', async () => {
    const box = new EventOutbox({ store: stores.open(await stores.tempDir()), clock: new FakeClock(), log: captureLogger().log });
    await expect(box.append('calls', 'x', {})).rejects.toMatchObject({ code: 'CLOUD_OUTBOX_CLOSED' });
  });
});

describe('EventOutbox: sending', () => {
  it('sends the events in order on each stream topic, QoS 1, and deletes them once acknowledged', async () => {
    const { box, store } = await outbox();
    const link = new MemoryLink({ deviceId: 'd1' });
    const appended = [
      await box.append('calls', 'call.ended', { n: 1 }),
      await box.append('sms', 'sms.sent', { n: 2 }),
      await box.append('calls', 'call.ended', { n: 3 }),
    ];
    expect(link.sent).toEqual([]); // not attached: nothing goes out
    box.attach(link);
    await waitFor(() => box.pending === 0, 'every event acknowledged');
    expect(sentEvents(link)).toEqual(appended);
    expect(link.sentTo(EVENTS).map((m) => [m.topic, m.qos, m.retain])).toEqual([
      [topics.event('calls'), 1, false], [topics.event('sms'), 1, false], [topics.event('calls'), 1, false],
    ]);
    // the newest of each stream stays as its acknowledged marker; the rest is deleted
    const collection = await store.collection(OUTBOX_COLLECTION);
    await waitFor(() => collection.size === 2, 'the acknowledged events deleted');
    const left = await records(store);
    expect(left.map((r) => [r.stream, r.seq, r.acked]).sort()).toEqual([['calls', 2, true], ['sms', 1, true]]);
  });

  it('never has more than `window` events unacknowledged, and sends the rest as PUBACKs come', async () => {
    const { box } = await outbox({ window: 2 });
    const link = new MemoryLink({ deviceId: 'd1', autoAck: false });
    box.attach(link);
    for (let n = 1; n <= 5; n++) await box.append('calls', 'call.ended', { n });
    await waitFor(() => link.sent.length === 2, 'the first window');
    await link.settle();
    expect(link.sent).toHaveLength(2);
    expect(link.unacked).toBe(2);

    let acked = 0;
    while (acked < 5) {
      acked += link.ack(1);
      const expected = Math.min(5, acked + 2);
      await waitFor(() => link.sent.length === expected, `${expected} sent after ${acked} PUBACKs`);
      await link.settle();
      expect(link.sent.length - acked).toBeLessThanOrEqual(2);
      expect(link.sent).toHaveLength(expected);
    }
    await waitFor(() => box.pending === 0, 'every event acknowledged');
    expect(sentEvents(link).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('holds events while the link is down and sends them in order once it is up', async () => {
    const { box } = await outbox();
    const link = new MemoryLink({ deviceId: 'd1', connected: false });
    box.attach(link);
    for (let n = 1; n <= 3; n++) await box.append('calls', 'call.ended', { n });
    await link.settle();
    expect(link.sent).toEqual([]);
    expect(box.pending).toBe(3);
    link.setConnected(true);
    await waitFor(() => box.pending === 0, 'every event acknowledged');
    expect(sentEvents(link).map((e) => e.data.n)).toEqual([1, 2, 3]);
    expect(link.sent.every((m) => !m.dup)).toBe(true);
  });

  it('keeps an event sent just before an outage until its PUBACK comes after the reconnect', async () => {
    const { box } = await outbox();
    const link = new MemoryLink({ deviceId: 'd1', autoAck: false });
    box.attach(link);
    const first = await box.append('calls', 'call.ended', { n: 1 });
    await waitFor(() => link.sent.length === 1, 'the first event sent');
    link.setConnected(false);
    const second = await box.append('calls', 'call.ended', { n: 2 });
    await link.settle();
    expect(box.pending).toBe(2);
    link.setConnected(true); // the first is sent again (dup), then the second
    await waitFor(() => link.sent.length === 3, 'the resend and the second event');
    link.ack();
    await waitFor(() => box.pending === 0, 'both acknowledged');
    expect(sentEvents(link).map((e) => e.id)).toEqual([first.id, first.id, second.id]);
    expect(link.sent.map((m) => m.dup)).toEqual([false, true, false]);
  });

  it('keeps a refused event on disk (not acknowledged)', async () => {
    const { box } = await outbox();
    const link = new MemoryLink({ deviceId: 'd1' });
    link.pubackFor = () => 0x97; // quota exceeded
    box.attach(link);
    await box.append('calls', 'call.ended', {});
    await waitFor(() => link.sent.length === 1, 'the event sent');
    await link.settle();
    expect(box.pending).toBe(1);
  });
});

describe('EventOutbox: across restarts', () => {
  it('keeps the seq counters after every event was acknowledged and the store reopened', async () => {
    const first = await outbox();
    const link = new MemoryLink({ deviceId: 'd1' });
    first.box.attach(link);
    for (let n = 1; n <= 3; n++) await first.box.append('calls', 'call.ended', { n });
    await first.box.append('sms', 'sms.sent', {});
    await waitFor(() => first.box.pending === 0, 'every event acknowledged');
    const collection = await first.store.collection(OUTBOX_COLLECTION);
    await waitFor(() => collection.size === 2, 'only the two stream markers left');
    expect((await records(first.store)).map((r) => [r.stream, r.seq, r.acked]).sort()).toEqual([['calls', 3, true], ['sms', 1, true]]);
    first.box.detach();
    await first.store.close();

    const second = await outbox({ dir: first.dir });
    expect(second.box.pending).toBe(0);
    const next = await second.box.append('calls', 'call.ended', { n: 4 });
    const sms = await second.box.append('sms', 'sms.sent', {});
    const fresh = await second.box.append('orders', 'order.created', {});
    expect([next.seq, sms.seq, fresh.seq]).toEqual([4, 2, 1]);
    expect(second.box.pending).toBe(3);
    const link2 = new MemoryLink({ deviceId: 'd1' });
    second.box.attach(link2);
    await waitFor(() => second.box.pending === 0, 'the new events acknowledged');
    expect(sentEvents(link2).map((e) => [e.stream, e.seq])).toEqual([['calls', 4], ['sms', 2], ['orders', 1]]);
  });

  it('keeps the seq counters when the snapshot holding the digest is lost (folded back from the acked markers)', async () => {
    const first = await outbox();
    const link = new MemoryLink({ deviceId: 'd1' });
    first.box.attach(link);
    for (let n = 1; n <= 3; n++) await first.box.append('calls', 'call.ended', { n });
    await first.box.append('sms', 'sms.sent', {});
    await waitFor(() => first.box.pending === 0, 'every event acknowledged');
    const collection = await first.store.collection(OUTBOX_COLLECTION);
    await waitFor(() => collection.size === 2, 'only the two stream markers left');
    first.box.detach();
    await first.store.close();
    await rm(join(first.dir, OUTBOX_COLLECTION.name, 'snapshot.json'));

    const second = await outbox({ dir: first.dir });
    expect(second.box.pending).toBe(0);
    expect((await second.box.append('calls', 'call.ended', {})).seq).toBe(4);
    expect((await second.box.append('sms', 'sms.sent', {})).seq).toBe(2);
    expect(second.box.pending).toBe(2);
  });

  it('sends the events still pending when the store was closed once attached after reopening', async () => {
    const first = await outbox();
    const appended = [];
    for (let n = 1; n <= 3; n++) appended.push(await first.box.append('calls', 'call.ended', { n }));
    await first.store.close();

    const second = await outbox({ dir: first.dir });
    expect(second.box.pending).toBe(3);
    const link = new MemoryLink({ deviceId: 'd1' });
    second.box.attach(link);
    await waitFor(() => second.box.pending === 0, 'the pending events acknowledged');
    expect(sentEvents(link)).toEqual(appended);
    expect((await second.box.append('calls', 'call.ended', {})).seq).toBe(4);
  });
});

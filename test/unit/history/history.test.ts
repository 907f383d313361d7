import { afterEach, describe, expect, it } from '@jest/globals';
import { ControlRegistry } from '../../../src/control/protocol.js';
import { EventBus } from '../../../src/core/bus.js';
import type { BusEvents, CallInfo, CallState, CallEndReason, ScreenPop } from '../../../src/core/events.js';
import { HISTORY_DIGEST, customerKeys, customerRow } from '../../../src/history/digest.js';
import { HistoryRepository } from '../../../src/history/repository.js';
import { HistoryService, callResult } from '../../../src/history/service.js';
import type { CallRecord, TimelineEntry } from '../../../src/history/types.js';
import { ScreenPopService, type PoppedContact } from '../../../src/screen-pop/service.js';
import { MemoryStore } from '../../../src/store/memory.js';
import type { Store } from '../../../src/store/types.js';
import { fileStoresForTests } from '../../support/file-store.js';
import { FakeClock } from '../../support/fake-clock.js';
import { captureLogger } from '../../support/log.js';

const fileStores = fileStoresForTests();
const stores: Array<[string, () => Promise<Store>]> = [
  ['memory', async () => new MemoryStore()],
  ['file', async () => fileStores.open(await fileStores.tempDir())],
];

const WANG: PoppedContact = {
  id: 'c-wang', name: 'Wang Li', company: 'Garden Cafe', tag: 'vip', note: 'Allergic to peanuts',
  numberKeys: ['+8613800138000', '+862152345678'], openItems: ['renewal due 2026-12-01'],
};

function rig(store: Store) {
  const { log } = captureLogger('warn');
  const bus = new EventBus<BusEvents>(log);
  const clock = new FakeClock();
  const control = new ControlRegistry();
  const contactFor = (number: string) => {
    const digits = number.replace(/\D/g, '');
    return digits.endsWith('13800138000') || digits.endsWith('2152345678') ? WANG : null;
  };
  const history = new HistoryService({ bus, clock, log, store, control, country: () => 'CN', contactFor });
  const screenPop = new ScreenPopService({ bus, log, country: () => 'CN', contactFor, history: () => history.repository });
  const events: { pops: ScreenPop[]; missed: Array<BusEvents['missedCallsChanged']> } = { pops: [], missed: [] };
  bus.on('test', 'screenPopped', (pop) => void events.pops.push(pop));
  bus.on('test', 'missedCallsChanged', (m) => void events.missed.push(m));
  let n = 0;
  /** A whole call on the bus as the call service publishes it. */
  const call = async (number: string, direction: 'inbound' | 'outbound', steps: Array<CallState | [CallState, CallEndReason]>) => {
    const info: CallInfo = { callId: `call-${++n}`, lineId: 'sip-main', lineKind: 'sip', direction, number, name: null };
    for (const step of steps) {
      const [state, reason] = Array.isArray(step) ? step : [step, undefined];
      if (state === 'ended') clock.advance(30_000);
      bus.emit('callStateChanged', { ...info, state, ...(reason ? { reason } : {}), at: clock.now() });
    }
    await history.settled(info.callId);
    return info;
  };
  return { bus, clock, control, history, screenPop, events, call, log };
}

describe.each(stores)('history and screen pop (%s store)', (_kind, makeStore) => {
  let store: Store;
  afterEach(async () => store?.close());

  it('files every call with its result and duration, one timeline per customer across their numbers', async () => {
    store = await makeStore();
    const { history, call, control } = rig(store);
    await history.start();
    await call('13800138000', 'inbound', ['ringing', 'active', ['ended', 'remote-hangup']]);
    await call('021 5234 5678', 'outbound', ['dialing', 'alerting', ['ended', 'busy']]);
    await call('13900000001', 'inbound', ['ringing', ['ended', 'rejected']]);
    const timeline = await history.repository.timeline({ contactId: WANG.id, numberKeys: WANG.numberKeys });
    expect(timeline.map((r) => (r as CallRecord).result)).toEqual(['busy', 'answered']);
    const answered = timeline[1] as CallRecord;
    expect(answered).toMatchObject({ kind: 'call', direction: 'inbound', numberKey: '+8613800138000', contactId: 'c-wang', lineId: 'sip-main', handled: false });
    expect(answered.durationMs).toBe(30_000);
    expect(answered.at).toBe(Date.UTC(2026, 10, 24, 9, 30, 0));
    expect((await history.repository.recent(10)).map((e) => e.summary)).toEqual(['rejected', 'busy', 'answered 00:30']);
    // the CLI's view of the same
    const byNumber = await control.get('history.timeline')!({ number: '+86 138 0013 8000' }) as CallRecord[];
    expect(byNumber).toHaveLength(1);
    await expect(Promise.resolve().then(() => control.get('history.timeline')!({ number: 'abc' }))).rejects.toMatchObject({ code: 'HISTORY_BAD_QUERY' });
    await history.stop();
  });

  it('keeps a missed-calls list that calling back (or being reached) clears', async () => {
    store = await makeStore();
    const { history, call, events } = rig(store);
    await history.start();
    await call('13900000001', 'inbound', ['ringing', ['ended', 'cancelled']]);
    await call('13900000002', 'inbound', ['ringing', ['ended', 'no-answer']]);
    await call('13900000001', 'inbound', ['ringing', ['ended', 'cancelled']]);
    expect(history.repository.missedCalls().map((m) => m.number)).toEqual(['+8613900000001', '+8613900000002', '+8613900000001']);
    expect(events.missed.at(-1)).toMatchObject({ count: 3, calls: [{ number: '+8613900000001', displayNumber: '139 0000 0001', name: null }, {}, {}] });
    // calling 139 0000 0001 back handles both of their missed calls
    await call('+8613900000001', 'outbound', ['dialing', 'active', ['ended', 'local-hangup']]);
    await waitUntil(() => history.repository.missedCount === 1);
    expect(events.missed.at(-1)?.count).toBe(1);
    // the other caller gets through: handled too
    await call('13900000002', 'inbound', ['ringing', 'active', ['ended', 'remote-hangup']]);
    await waitUntil(() => history.repository.missedCount === 0);
    await history.stop();
  });

  it('annotates a finished call with a disposition and note, and attaches its recording', async () => {
    store = await makeStore();
    const { history, call, control } = rig(store);
    await history.start();
    const info = await call('13800138000', 'inbound', ['ringing', 'active', ['ended', 'local-hangup']]);
    await control.get('history.annotate')!({ callId: info.callId, disposition: 'ordered', note: 'two boxes' });
    await history.attachRecording(info.callId, 'rec-1');
    const [record] = await history.repository.timeline({ contactId: WANG.id });
    expect(record).toMatchObject({ disposition: 'ordered', note: 'two boxes', recordingId: 'rec-1' });
    await expect(history.annotateCall('nope', { note: 'x' })).rejects.toMatchObject({ code: 'HISTORY_NOT_FOUND' });
    await expect(history.annotateCall(info.callId, { note: 'x'.repeat(2001) })).rejects.toMatchObject({ code: 'HISTORY_BAD_QUERY' });
    await history.stop();
  });

  it('pops the customer on an incoming call: name, company, history, last order, open items, note', async () => {
    store = await makeStore();
    const { history, screenPop, call, events, clock } = rig(store);
    await history.start();
    screenPop.start();
    await call('13800138000', 'inbound', ['ringing', 'active', ['ended', 'remote-hangup']]);
    clock.advance(86_400_000);
    const { written } = history.repository.append({
      kind: 'order', at: clock.now(), number: '13800138000', numberKey: '+8613800138000', contactId: 'c-wang', orderId: 'o-1', summary: '2x rice, 1x soup 128.00',
    });
    await written;
    const ringing = await call('+86 21 5234 5678', 'inbound', ['ringing']);
    const pop = events.pops.find((p) => p.callId === ringing.callId)!;
    expect(pop).toMatchObject({
      displayNumber: '021 5234 5678',
      contact: { id: 'c-wang', name: 'Wang Li', company: 'Garden Cafe', tag: 'vip', note: 'Allergic to peanuts' },
      interactionCount: 2,
      lastOrder: { kind: 'order', summary: '2x rice, 1x soup 128.00' },
      openItems: ['renewal due 2026-12-01'],
    });
    expect(pop.recent.map((r) => r.summary)).toEqual(['2x rice, 1x soup 128.00', 'answered 00:30']);
    // an unknown caller: the formatted number, no contact, no history
    const stranger = await call('13912345678', 'inbound', ['ringing']);
    expect(events.pops.find((p) => p.callId === stranger.callId)).toMatchObject({ contact: null, displayNumber: '139 1234 5678', interactionCount: 0, recent: [] });
    screenPop.stop();
    await history.stop();
  });

  it('comes back with the same timelines and missed calls after a restart', async () => {
    store = await makeStore();
    const first = rig(store);
    await first.history.start();
    await first.call('13900000001', 'inbound', ['ringing', ['ended', 'cancelled']]);
    await first.call('13800138000', 'inbound', ['ringing', 'active', ['ended', 'remote-hangup']]);
    await first.history.stop();
    const reopened = await HistoryRepository.open(store);
    expect(reopened.missedCalls().map((m) => m.number)).toEqual(['+8613900000001']);
    expect(reopened.summary({ contactId: WANG.id }).count).toBe(1);
  });
});

describe('history digest', () => {
  it('saves a copy: what it folds in after a save leaves the saved JSON alone', () => {
    const state = HISTORY_DIGEST.create();
    const entry = (seq: number): TimelineEntry => ({ kind: 'call', seq, at: seq * 1000, numberKey: '+8613800000001', contactId: null, summary: 'missed', result: 'missed', handled: false });
    HISTORY_DIGEST.apply(state, '1', entry(1), undefined);
    const saved = HISTORY_DIGEST.save(state);
    const before = JSON.stringify(saved);
    HISTORY_DIGEST.apply(state, '2', entry(2), undefined);
    HISTORY_DIGEST.apply(state, '1', { ...entry(1), handled: true }, entry(1));
    expect(JSON.stringify(saved)).toBe(before);
    expect(HISTORY_DIGEST.load(JSON.parse(before))).toMatchObject({ last: 1, missed: new Map([[1, ['+8613800000001', null, 1000]]]) });
    expect(HISTORY_DIGEST.load({ nonsense: true })).toBeUndefined();
  });

  it('keeps customers whose contact id has tabs, line breaks or % apart and findable after a save', () => {
    const state = HISTORY_DIGEST.create();
    const odd = 'odd\tid\n%0a';
    HISTORY_DIGEST.apply(state, '1', { kind: 'order', seq: 1, at: 1, numberKey: null, contactId: odd, summary: 'rice\tand\nsoup' }, undefined);
    HISTORY_DIGEST.apply(state, '2', { kind: 'order', seq: 2, at: 2, numberKey: null, contactId: 'odd', summary: 'tea' }, undefined);
    const loaded = HISTORY_DIGEST.load(JSON.parse(JSON.stringify(HISTORY_DIGEST.save(state))))!;
    const [key] = customerKeys(odd);
    expect(customerRow(loaded, key)).toEqual([key, [1], '1|order|1||rice and soup', '1|order|1||rice and soup']);
    expect(customerRow(loaded, customerKeys('odd')[0])?.[1]).toEqual([2]);
  });
});

describe('history beyond the segments in memory', () => {
  it('keeps every customer timeline, the missed calls and old records across a restart', async () => {
    const dir = await fileStores.tempDir();
    const store = fileStores.open(dir);
    const history = await HistoryRepository.open(store);
    const customers = ['+8613800000001', '+8613800000002', '+8613800000003'];
    const written: Array<Promise<void>> = [];
    // 700 records: 11 segments of 64, the oldest 3 outside memory; customer i % 3, every 7th missed, every 50th an order
    for (let i = 1; i <= 700; i++) {
      const numberKey = customers[i % 3];
      const base = { at: i * 1000, number: numberKey, numberKey, contactId: i % 3 === 0 ? 'c-zero' : null };
      if (i % 50 === 0) written.push(history.append({ ...base, kind: 'order', orderId: `o${i}`, summary: `order ${i}` }).written);
      else {
        const result = i % 7 === 0 ? 'missed' : 'answered';
        written.push(history.append({
          ...base, kind: 'call', callId: `call-${i}`, lineId: 'sip-main', lineKind: 'sip', direction: 'inbound', answeredAfterMs: null,
          durationMs: 1000, result, endedAt: null, disposition: null, note: null, recordingId: null, handled: false,
        }).written);
      }
    }
    await Promise.all(written);
    expect(history.entry('1')).toBeUndefined(); // segment 1 is on disk only
    await history.markHandled(['7', '693']);
    await history.update<CallRecord>('8', (r) => ({ ...r, disposition: 'ordered' }));
    await store.close();

    const reopenedStore = fileStores.open(dir);
    const reopened = await HistoryRepository.open(reopenedStore);
    expect(reopenedStore.recoveries()).toEqual([]);
    expect(reopened.size).toBe(700);
    const ofCustomer = (k: number) => Array.from({ length: 700 }, (_, i) => i + 1).filter((i) => i % 3 === k);
    const zero = reopened.summary({ contactId: 'c-zero', numberKeys: [customers[0]] });
    expect(zero.count).toBe(ofCustomer(0).length);
    expect(zero.recent.map((e) => e.id)).toEqual(['699', '696', '693', '690', '687']);
    expect(zero.lastOrder).toMatchObject({ id: '600', summary: 'order 600' });
    const one = reopened.summary({ numberKeys: [customers[1]] });
    expect(one.count).toBe(ofCustomer(1).length);
    expect(one.lastOrder).toMatchObject({ id: '700' });
    const missed = Array.from({ length: 700 }, (_, i) => i + 1).filter((i) => i % 7 === 0 && i % 50 !== 0 && i !== 7 && i !== 693);
    expect(reopened.missedCalls(Infinity).map((m) => m.id)).toEqual(missed.reverse().map(String));
    expect(reopened.missedFrom(customers[2])).toContain('14');
    const old = await reopened.timeline({ numberKeys: [customers[2]] }, 1000);
    expect(old).toHaveLength(ofCustomer(2).length);
    expect(old.at(-1)).toMatchObject({ id: '2', seq: 2, numberKey: customers[2] });
    expect(await reopened.get('8')).toMatchObject({ disposition: 'ordered' });
    expect((await reopened.recent(3)).map((e) => e.id)).toEqual(['700', '699', '698']);
    expect((await reopened.recent(700)).at(-1)).toMatchObject({ id: '1', summary: 'answered 00:01' });
  });
});

describe('call results', () => {
  it.each([
    ['inbound', true, 'remote-hangup', 'answered'],
    ['inbound', false, 'cancelled', 'missed'],
    ['inbound', false, 'busy', 'missed'],
    ['inbound', false, 'rejected', 'rejected'],
    ['outbound', false, 'busy', 'busy'],
    ['outbound', false, 'no-answer', 'no-answer'],
    ['outbound', false, 'local-hangup', 'no-answer'],
    ['outbound', false, 'failed', 'failed'],
  ] as const)('%s answered=%s ended by %s -> %s', (direction, answered, reason, result) => {
    expect(callResult(direction, answered, reason)).toBe(result);
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}

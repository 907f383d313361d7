import { randomUUID } from 'node:crypto';
import { formatDuration } from '../core/duration.js';
import { DesklineError } from '../core/errors.js';
import type { Collection, CollectionSpec, Store } from '../store/types.js';
import type { CallRecord, MissedCall, TimelineEntry, TimelineKind, TimelineRecord } from './types.js';

const KINDS: readonly TimelineKind[] = ['call', 'sms', 'order', 'call-list'];
/** Longest summary kept in memory per record. */
const SUMMARY_CHARS = 40;
/** Calls whose record is found by call id without reading the history (annotations come shortly after a call). */
const RECENT_CALL_IDS = 200;

function summaryOf(record: TimelineRecord): string {
  switch (record.kind) {
    case 'call':
      if (record.result === null) return 'in progress';
      return record.result === 'answered' && record.durationMs !== null ? `answered ${formatDuration(record.durationMs)}` : record.result;
    case 'sms': return `SMS ${record.status}`;
    case 'order': return record.summary;
    case 'call-list': return record.outcome;
  }
}

export function timelineEntryOf(record: TimelineRecord): TimelineEntry {
  const entry: TimelineEntry = {
    kind: record.kind, seq: record.seq, at: record.at, numberKey: record.numberKey,
    contactId: record.contactId, summary: summaryOf(record).slice(0, SUMMARY_CHARS),
  };
  if (record.kind === 'call') {
    entry.result = record.result;
    entry.handled = record.handled;
  }
  return entry;
}

function isTimelineRecord(doc: unknown): doc is TimelineRecord {
  const r = doc as Partial<TimelineRecord> | null;
  return typeof r === 'object' && r !== null && typeof r.id === 'string' && typeof r.seq === 'number'
    && KINDS.includes(r.kind as TimelineKind) && (r.at === null || typeof r.at === 'number');
}

/**
 * The history: every interaction with customers (calls, SMS, orders, call-list outcomes) in the order
 * they happened. Appends go to the newest segment of the store (an append never rewrites old history);
 * segments hold 64 records so an append writes kilobytes.
 */
export const HISTORY_COLLECTION: CollectionSpec<TimelineRecord, TimelineEntry> = {
  name: 'history',
  placement: { kind: 'append', segmentSize: 64 },
  entryOf: timelineEntryOf,
  entriesVersion: 1,
  isValid: isTimelineRecord,
};

export type NewRecord = TimelineRecord extends infer R ? (R extends TimelineRecord ? Omit<R, 'id' | 'seq'> : never) : never;

export interface TimelineSelector {
  contactId?: string | null;
  numberKeys?: readonly string[];
}

/**
 * One timeline per customer, from the compact entries in memory: record ids by contact and by number
 * key, so a customer's timeline and the missed-calls list never scan the history.
 */
export class HistoryRepository {
  readonly #byContact = new Map<string, string[]>();
  readonly #byNumber = new Map<string, string[]>();
  /** All ids in append order (newest last). */
  readonly #order: string[] = [];
  /** Missed calls not yet handled, oldest first. */
  readonly #missed = new Set<string>();
  readonly #byCallId = new Map<string, string>();
  #nextSeq = 1;

  private constructor(private readonly collection: Collection<TimelineRecord, TimelineEntry>) {
    for (const [id, entry] of collection.entries()) this.index(id, entry, undefined);
    collection.onChange((change) => {
      if (change.type === 'put') this.index(change.id, change.entry, change.previous);
      else this.unindex(change.id, change.previous);
    });
  }

  static async open(store: Store): Promise<HistoryRepository> {
    return new HistoryRepository(await store.collection(HISTORY_COLLECTION));
  }

  get size(): number {
    return this.collection.size;
  }

  /** Adds a record at the end of the history (visible at once); `written` resolves once it is on disk. */
  append<R extends NewRecord>(record: R): { record: R & { id: string; seq: number }; written: Promise<void> } {
    const full = { ...record, id: randomUUID(), seq: this.#nextSeq } as R & { id: string; seq: number };
    const written = this.collection.put(full as TimelineRecord);
    if (full.kind === 'call') {
      this.#byCallId.set(full.callId, full.id);
      if (this.#byCallId.size > RECENT_CALL_IDS) this.#byCallId.delete(this.#byCallId.keys().next().value as string);
    }
    return { record: full, written };
  }

  /** The history record of a call, by the call's id: recent calls from memory, else the newest records on disk. */
  async recordIdOfCall(callId: string): Promise<string | undefined> {
    const known = this.#byCallId.get(callId);
    if (known) return known;
    const recent = await this.collection.getMany(this.recent(RECENT_CALL_IDS).filter((e) => e.kind === 'call').map((e) => e.id));
    return recent.find((r) => r.kind === 'call' && r.callId === callId)?.id;
  }

  async update<R extends TimelineRecord>(id: string, fn: (record: R) => R): Promise<R> {
    const updated = await this.collection.update(id, (record) => {
      const next = fn(record as R);
      if (next.seq !== record.seq || next.kind !== record.kind) throw new DesklineError('HISTORY_IMMUTABLE', `a record's order and kind cannot change (${id})`);
      return next;
    });
    if (!updated) throw new DesklineError('HISTORY_NOT_FOUND', `no history record '${id}'`);
    return updated as R;
  }

  get(id: string): Promise<TimelineRecord | undefined> {
    return this.collection.get(id);
  }

  entry(id: string): TimelineEntry | undefined {
    return this.collection.entry(id);
  }

  /** A customer's timeline (by contact and by any of their numbers), newest first, from memory. */
  timelineEntries(selector: TimelineSelector, limit = Infinity): Array<TimelineEntry & { id: string }> {
    const lists: string[][] = [];
    if (selector.contactId) lists.push(this.#byContact.get(selector.contactId) ?? []);
    for (const key of selector.numberKeys ?? []) lists.push(this.#byNumber.get(key) ?? []);
    const out: Array<TimelineEntry & { id: string }> = [];
    const seen = new Set<string>();
    // Each list is in append order: merge them from their ends, newest first.
    const cursors = lists.map((list) => list.length - 1);
    while (out.length < limit) {
      let best = -1;
      let bestSeq = -Infinity;
      for (let i = 0; i < lists.length; i++) {
        const cursor = cursors[i];
        if (cursor < 0) continue;
        const seq = this.collection.entry(lists[i][cursor])?.seq ?? -Infinity;
        if (seq > bestSeq) {
          bestSeq = seq;
          best = i;
        }
      }
      if (best < 0) break;
      const id = lists[best][cursors[best]--];
      if (seen.has(id)) continue;
      seen.add(id);
      const entry = this.collection.entry(id);
      if (entry) out.push({ id, ...entry });
    }
    return out;
  }

  /** Number of records in a customer's timeline. */
  timelineCount(selector: TimelineSelector): number {
    const lists: string[][] = [];
    if (selector.contactId) lists.push(this.#byContact.get(selector.contactId) ?? []);
    for (const key of selector.numberKeys ?? []) lists.push(this.#byNumber.get(key) ?? []);
    if (lists.length === 1) return lists[0].length;
    return new Set(lists.flat()).size;
  }

  /** Whole records of a customer's timeline, newest first (reads older segments from disk). */
  async timeline(selector: TimelineSelector, limit = 50): Promise<TimelineRecord[]> {
    return this.collection.getMany(this.timelineEntries(selector, limit).map((e) => e.id));
  }

  /** The newest records of all customers, newest first. */
  recent(limit = 50): Array<TimelineEntry & { id: string }> {
    const out: Array<TimelineEntry & { id: string }> = [];
    for (let i = this.#order.length - 1; i >= 0 && out.length < limit; i--) {
      const entry = this.collection.entry(this.#order[i]);
      if (entry) out.push({ id: this.#order[i], ...entry });
    }
    return out;
  }

  /** Missed calls nobody called back yet, newest first. */
  missedCalls(limit = 50): MissedCall[] {
    const ids = [...this.#missed].reverse().slice(0, limit);
    return ids.flatMap((id) => {
      const entry = this.collection.entry(id);
      return entry?.numberKey ? [{ id, number: entry.numberKey, contactId: entry.contactId, at: entry.at }] : [];
    });
  }

  get missedCount(): number {
    return this.#missed.size;
  }

  /** Marks missed calls handled (called back or dismissed); resolves when on disk. */
  async markHandled(ids: readonly string[]): Promise<void> {
    await Promise.all(ids.filter((id) => this.#missed.has(id)).map((id) => this.update<CallRecord>(id, (r) => ({ ...r, handled: true }))));
  }

  /** Missed, unhandled calls from a number key. */
  missedFrom(numberKey: string): string[] {
    return (this.#byNumber.get(numberKey) ?? []).filter((id) => this.#missed.has(id));
  }

  private index(id: string, entry: TimelineEntry, previous: TimelineEntry | undefined): void {
    if (!previous) {
      this.#order.push(id);
      this.#nextSeq = Math.max(this.#nextSeq, entry.seq + 1);
    }
    if (previous?.contactId !== entry.contactId) {
      if (previous?.contactId) remove(this.#byContact, previous.contactId, id);
      if (entry.contactId) insert(this.#byContact, entry.contactId, id, entry.seq, this.collection);
    }
    if (previous?.numberKey !== entry.numberKey) {
      if (previous?.numberKey) remove(this.#byNumber, previous.numberKey, id);
      if (entry.numberKey) insert(this.#byNumber, entry.numberKey, id, entry.seq, this.collection);
    }
    if (entry.kind === 'call' && entry.result === 'missed' && !entry.handled) this.#missed.add(id);
    else this.#missed.delete(id);
  }

  private unindex(id: string, previous: TimelineEntry): void {
    const at = this.#order.lastIndexOf(id);
    if (at >= 0) this.#order.splice(at, 1);
    if (previous.contactId) remove(this.#byContact, previous.contactId, id);
    if (previous.numberKey) remove(this.#byNumber, previous.numberKey, id);
    this.#missed.delete(id);
  }
}

/** Keeps each id list in seq order (appends are the common case: push). */
function insert(map: Map<string, string[]>, key: string, id: string, seq: number, collection: Collection<TimelineRecord, TimelineEntry>): void {
  const list = map.get(key);
  if (!list) {
    map.set(key, [id]);
    return;
  }
  let at = list.length;
  while (at > 0 && (collection.entry(list[at - 1])?.seq ?? 0) > seq) at--;
  list.splice(at, 0, id);
}

function remove(map: Map<string, string[]>, key: string, id: string): void {
  const list = map.get(key);
  if (!list) return;
  const at = list.lastIndexOf(id);
  if (at >= 0) list.splice(at, 1);
  if (list.length === 0) map.delete(key);
}

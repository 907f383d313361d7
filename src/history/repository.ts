import { formatDuration } from '../core/duration.js';
import { DesklineError } from '../core/errors.js';
import type { Collection, CollectionSpec, Store } from '../store/types.js';
import { HISTORY_DIGEST, RECENT_KEPT, briefsOf, customerKeys, customerRow, decodeBrief, type Brief as DigestBrief, type CustomerRow, type HistoryDigest } from './digest.js';
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
 * The history: every interaction with customers (calls, SMS, orders, call-list outcomes) in the order they
 * happened, record n having id String(n). Appends go to the newest segment (an append never rewrites old
 * history; 64 records a segment, so it writes kilobytes); the entries of the newest 8 segments stay in memory,
 * older records are read from disk when asked for, and the digest (digest.ts) indexes them all.
 */
export const HISTORY_COLLECTION: CollectionSpec<TimelineRecord, TimelineEntry, HistoryDigest> = {
  name: 'history',
  placement: { kind: 'sequence', segmentSize: 64, resident: 8 },
  entryOf: timelineEntryOf,
  entriesVersion: 1,
  isValid: isTimelineRecord,
  digest: HISTORY_DIGEST,
};

export type NewRecord = TimelineRecord extends infer R ? (R extends TimelineRecord ? Omit<R, 'id' | 'seq'> : never) : never;

export interface TimelineSelector {
  contactId?: string | null;
  numberKeys?: readonly string[];
}

/** One record of a customer summary. */
export type Brief = Omit<DigestBrief, 'id'> & { id: string };

/** What the screen pop shows of a customer's timeline. */
export interface CustomerSummary {
  /** records in the timeline */
  count: number;
  /** the newest records, newest first (a few: see RECENT_KEPT) */
  recent: Brief[];
  lastOrder: Brief | null;
}

const withStringId = (brief: DigestBrief): Brief => ({ ...brief, id: String(brief.id) });

/**
 * One timeline per customer, from the digest in memory (the store keeps it over the whole history), so the
 * screen pop and the missed-calls list never read old segments.
 */
export class HistoryRepository {
  readonly #byCallId = new Map<string, string>();

  private constructor(private readonly collection: Collection<TimelineRecord, TimelineEntry, HistoryDigest>) {}

  static async open(store: Store): Promise<HistoryRepository> {
    return new HistoryRepository(await store.collection(HISTORY_COLLECTION));
  }

  /**
   * Records in the history: the highest record number (records are numbered without gaps; a batch lost to a
   * crash before it was acknowledged can leave one, so this may count it).
   */
  get size(): number {
    return this.collection.digest.last;
  }

  /** Adds a record at the end of the history (visible at once); `written` resolves once it is on disk. */
  append<R extends NewRecord>(record: R): { record: R & { id: string; seq: number }; written: Promise<void> } {
    const seq = this.collection.digest.last + 1;
    const full = { ...record, id: String(seq), seq } as R & { id: string; seq: number };
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
    const recent = await this.collection.getMany(this.#newestIds(RECENT_CALL_IDS));
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

  /** The entry of a recent record (the newest segments); undefined for older ones. */
  entry(id: string): TimelineEntry | undefined {
    return this.collection.entry(id);
  }

  /** A customer's timeline (by contact and by any of their numbers) as the screen pop shows it, from memory. */
  summary(selector: TimelineSelector): CustomerSummary {
    const customers = this.#customers(selector);
    const recent = customers.flatMap(briefsOf).sort((a, b) => b.id - a.id);
    let lastOrder: DigestBrief | null = null;
    for (const [, , , line] of customers) {
      const order = line ? decodeBrief(line) : null;
      if (order && (!lastOrder || order.id > lastOrder.id)) lastOrder = order;
    }
    return {
      count: customers.reduce((sum, [, ids]) => sum + ids.length, 0),
      recent: recent.slice(0, RECENT_KEPT).map(withStringId),
      lastOrder: lastOrder ? withStringId(lastOrder) : null,
    };
  }

  /** Whole records of a customer's timeline, newest first (older ones read from disk). */
  async timeline(selector: TimelineSelector, limit = 50): Promise<TimelineRecord[]> {
    const ids = this.#customers(selector).flatMap(([, customerIds]) => customerIds.slice(-limit));
    ids.sort((a, b) => b - a);
    return this.collection.getMany(ids.slice(0, limit).map(String));
  }

  /** The newest records of all customers, newest first (older than the segments in memory: read from disk). */
  async recent(limit = 50): Promise<Array<TimelineEntry & { id: string }>> {
    const ids = this.#newestIds(limit);
    const inMemory = ids.every((id) => this.collection.has(id));
    const entries = inMemory ? ids.map((id) => [id, this.collection.entry(id) as TimelineEntry] as const) : (await this.collection.getMany(ids)).map((r) => [r.id, timelineEntryOf(r)] as const);
    return entries.map(([id, entry]) => ({ id, ...entry }));
  }

  /** Missed calls nobody called back yet, newest first. */
  missedCalls(limit = 50): MissedCall[] {
    const ids = [...this.collection.digest.missed.keys()].sort((a, b) => b - a).slice(0, limit);
    return ids.flatMap((id) => {
      const [number, contactId, at] = this.collection.digest.missed.get(id)!;
      return number ? [{ id: String(id), number, contactId, at }] : [];
    });
  }

  get missedCount(): number {
    return this.collection.digest.missed.size;
  }

  /** Marks missed calls handled (called back or dismissed); resolves when on disk. */
  async markHandled(ids: readonly string[]): Promise<void> {
    const missed = this.collection.digest.missed;
    await Promise.all(ids.filter((id) => missed.has(Number(id))).map((id) => this.update<CallRecord>(id, (r) => ({ ...r, handled: true }))));
  }

  /** Missed, unhandled calls from a number key. */
  missedFrom(numberKey: string): string[] {
    const ids: string[] = [];
    for (const [id, [number]] of this.collection.digest.missed) if (number === numberKey) ids.push(String(id));
    return ids;
  }

  #customers(selector: TimelineSelector): CustomerRow[] {
    const rows: CustomerRow[] = [];
    for (const key of customerKeys(selector.contactId, selector.numberKeys)) {
      const row = customerRow(this.collection.digest, key);
      if (row) rows.push(row);
    }
    return rows;
  }

  /** Ids of the newest `limit` records, newest first. */
  #newestIds(limit: number): string[] {
    const ids: string[] = [];
    for (let id = this.size; id >= 1 && ids.length < limit; id--) ids.push(String(id));
    return ids;
  }
}

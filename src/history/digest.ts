import type { DigestSpec } from '../store/types.js';
import { CustomerTable, type CustomerRow } from './customer-table.js';
import type { TimelineEntry } from './types.js';

export type { CustomerRow } from './customer-table.js';

/**
 * The history's index over every record, kept by the store (a collection digest): what the screen pop and the
 * missed-calls list need without reading old segments, and which records make up each customer's timeline.
 *
 * A record belongs to one customer: its contact when it was filed under one, else its number (calls from a
 * number before it was saved as a contact). A contact's timeline is the union of its own and its numbers'
 * customers, which never share a record, so counts add up.
 */

/** Briefs kept per customer, newest first: the screen pop shows 3 earlier ones, plus a call still going on. */
export const RECENT_KEPT = 5;

/** One record as the screen pop lists it. */
export interface Brief {
  id: number;
  kind: TimelineEntry['kind'];
  at: number | null;
  /** calls: the result, null while the call goes on */
  result: TimelineEntry['result'] | null;
  summary: string;
}

/** A brief as one string: 'id|kind|at|result|summary' (the summary last, without tabs or line breaks). */
function encodeBrief(id: number, entry: TimelineEntry): string {
  return `${id}|${entry.kind}|${entry.at ?? ''}|${entry.result ?? ''}|${entry.summary.replace(/[\t\r\n]+/g, ' ')}`;
}

export function decodeBrief(line: string): Brief {
  const [id, kind, at, result] = line.split('|', 4);
  const summary = line.slice(id.length + kind.length + at.length + result.length + 4);
  return { id: Number(id), kind: kind as Brief['kind'], at: at ? Number(at) : null, result: (result || null) as Brief['result'], summary };
}

/** The briefs of a customer row, newest first. */
export function briefsOf(row: CustomerRow): Brief[] {
  return row[2] ? row[2].split(BRIEFS).map(decodeBrief) : [];
}

const idOfLine = (line: string) => Number(line.slice(0, line.indexOf('|')));
/** between the briefs of a customer row */
const BRIEFS = '\r';

/** An unhandled missed call: [numberKey, contactId, at] */
export type MissedRow = [numberKey: string | null, contactId: string | null, at: number | null];

export interface HistoryDigest {
  /** the customers as last saved or loaded */
  table: CustomerTable;
  /** customers changed since (null: none left) */
  changed: Map<string, CustomerRow | null>;
  /** missed calls not handled yet, by record number */
  missed: Map<number, MissedRow>;
  /** highest record number folded in */
  last: number;
}

/** 'c:<contact id>' or 'n:<number key>', without the table's separators (tab, line breaks) or '%' (escaped as %XX). */
function keyOf(kind: 'c' | 'n', id: string): string {
  return `${kind}:${id.replace(/[\t\r\n%]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}`;
}

/** The customer a record belongs to (its contact, else its number), null when it has neither. */
export function customerKeyOf(entry: Pick<TimelineEntry, 'contactId' | 'numberKey'>): string | null {
  if (entry.contactId) return keyOf('c', entry.contactId);
  return entry.numberKey ? keyOf('n', entry.numberKey) : null;
}

/** The customers making up the timeline of a contact and/or of numbers. */
export function customerKeys(contactId: string | null | undefined, numberKeys: readonly string[] = []): string[] {
  const keys = numberKeys.map((key) => keyOf('n', key));
  if (contactId) keys.unshift(keyOf('c', contactId));
  return keys;
}

/** A customer's row: the changed one, or a copy decoded from the table (either free to change before it goes back into `changed`). */
export function customerRow(state: HistoryDigest, key: string): CustomerRow | undefined {
  return state.changed.has(key) ? (state.changed.get(key) ?? undefined) : state.table.find(key);
}

function isUnhandledMissed(entry: TimelineEntry): boolean {
  return entry.kind === 'call' && entry.result === 'missed' && !entry.handled;
}

/** Index of `value` in an ascending array, or where it would go (negative: -(insertion point) - 1). */
function search(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid] < value) low = mid + 1;
    else if (sorted[mid] > value) high = mid - 1;
    else return mid;
  }
  return -low - 1;
}

function add(state: HistoryDigest, key: string, id: number, entry: TimelineEntry): void {
  const customer: CustomerRow = customerRow(state, key) ?? [key, [], '', null];
  state.changed.set(key, customer);
  const ids = customer[1];
  const at = search(ids, id);
  if (at < 0) ids.splice(-at - 1, 0, id);
  const brief = encodeBrief(id, entry);
  const lines = customer[2] ? customer[2].split(BRIEFS) : [];
  const known = lines.findIndex((line) => idOfLine(line) === id);
  if (known >= 0) lines[known] = brief;
  else if (lines.length < RECENT_KEPT || id > idOfLine(lines[lines.length - 1])) {
    let place = 0;
    while (place < lines.length && idOfLine(lines[place]) > id) place++;
    lines.splice(place, 0, brief);
    if (lines.length > RECENT_KEPT) lines.pop();
  }
  customer[2] = lines.join(BRIEFS);
  if (entry.kind === 'order' && (!customer[3] || idOfLine(customer[3]) <= id)) customer[3] = brief;
}

function drop(state: HistoryDigest, key: string, id: number): void {
  const customer = customerRow(state, key);
  if (!customer) return;
  state.changed.set(key, customer);
  const ids = customer[1];
  const at = search(ids, id);
  if (at >= 0) ids.splice(at, 1);
  // an older record does not move up into the briefs: the screen pop shows one fewer until the next one
  customer[2] = customer[2] ? customer[2].split(BRIEFS).filter((line) => idOfLine(line) !== id).join(BRIEFS) : '';
  if (customer[3] && idOfLine(customer[3]) === id) customer[3] = null;
  if (ids.length === 0) state.changed.set(key, null);
}

/** JSON of the snapshot. */
interface SavedDigest {
  last: number;
  /** the customer table's text */
  customers: string;
  /** [id, ...MissedRow] */
  missed: Array<[number, ...MissedRow]>;
}

function isSavedDigest(json: unknown): json is SavedDigest {
  const v = json as Partial<SavedDigest> | null;
  return typeof v === 'object' && v !== null && Number.isSafeInteger(v.last) && typeof v.customers === 'string' && Array.isArray(v.missed);
}

export const HISTORY_DIGEST: DigestSpec<TimelineEntry, HistoryDigest> = {
  version: 1,
  create: () => ({ table: CustomerTable.EMPTY, changed: new Map(), missed: new Map(), last: 0 }),
  apply(state, id, entry, previous) {
    const number = Number(id);
    if (number > state.last) state.last = number;
    const key = customerKeyOf(entry);
    if (previous && previous !== 'replayed') {
      const before = customerKeyOf(previous);
      if (before && before !== key) drop(state, before, number);
    }
    if (key) add(state, key, number, entry);
    if (isUnhandledMissed(entry)) state.missed.set(number, [entry.numberKey, entry.contactId, entry.at]);
    else state.missed.delete(number);
  },
  remove(state, id, previous) {
    const key = customerKeyOf(previous);
    if (key) drop(state, key, Number(id));
    state.missed.delete(Number(id));
  },
  save(state): SavedDigest {
    // the changed customers go into a new table (a string: nothing later changes it)
    state.table = state.table.merge(state.changed);
    state.changed = new Map();
    return { last: state.last, customers: state.table.text, missed: [...state.missed].map(([id, row]) => [id, ...row]) };
  },
  load(json) {
    if (!isSavedDigest(json)) return undefined;
    return { table: new CustomerTable(json.customers), changed: new Map(), missed: new Map(json.missed.map(([id, ...row]) => [id, row])), last: json.last };
  },
};

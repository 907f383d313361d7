/**
 * The cloud's half of contact sync (protocol.ts), over an mqtt.js client: what a cloud service, the admin CLI
 * (`deskline admin contacts push`) and the tests use.
 *
 * - CloudContactBook: the cloud's contacts of one device and its revision chain, in memory: merges changes (the
 *   admin's, a device's edits) by the same per-field rule as the device, turns them into change sets, cuts the
 *   whole set into resync pages.
 * - ContactsCloud: serves devices from their books: answers resync requests with pages, takes device edits
 *   into the book (and sends the change set they make, so every device of the book converges), re-sends change
 *   sets a device missed (it tells its revision in its retained state on every connect).
 * - changesFromCsv / pushContactChanges: a one-shot push (the CLI) that continues the device's chain from the
 *   revision in its retained state; the device resyncs from a ContactsCloud when its chain breaks.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { MqttClient } from 'mqtt';
import { DesklineError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { readContactsCsv, type CsvRowError } from '../../contacts/csv.js';
import { parseContactInput } from '../../contacts/model.js';
import { numberLookupKey } from '../../contacts/numbers.js';
import { compareStamps, type FieldStamp } from '../../contacts/stamps.js';
import { CONTACT_FIELD_NAMES, type ContactFieldName } from '../../contacts/types.js';
import {
  CONTACTS_SYNC_LIMITS,
  contactsTopics,
  decodeContactsState,
  decodeEditBatch,
  decodeResyncRequest,
  jsonBytes,
  parseContactsTopic,
  toStampedChange,
  type ContactsChangeSet,
  type ContactsEditBatch,
  type ContactsResyncPage,
  type ContactsState,
  type WireChange,
  type WireContact,
  type WireField,
  type WireFields,
} from './protocol.js';

/** Change sets a book keeps to re-send to a device that missed them. */
const KEPT_CHANGE_SETS = 50;

const stampOf = (field: { at: number; origin: string }): FieldStamp => ({ at: field.at, origin: field.origin });

/** The cloud's contacts of one device (or of devices sharing one set and one chain): contacts, tombstones, revision. */
export class CloudContactBook {
  readonly #contacts = new Map<string, WireFields>();
  readonly #tombstones = new Map<string, FieldStamp>();
  readonly #recent: ContactsChangeSet[] = [];
  #rev: number;

  constructor(init: { rev?: number; contacts?: Iterable<WireContact> } = {}) {
    this.#rev = init.rev ?? 0;
    for (const contact of init.contacts ?? []) this.#contacts.set(contact.id, { ...contact.fields });
  }

  get rev(): number {
    return this.#rev;
  }

  get size(): number {
    return this.#contacts.size;
  }

  /** A contact's fields with their stamps (undefined when the book has none). */
  contact(id: string): WireFields | undefined {
    return this.#contacts.get(id);
  }

  ids(): IterableIterator<string> {
    return this.#contacts.keys();
  }

  /**
   * Merge changes by per-field last writer wins (stamps.ts) and, when anything changed, make them the next
   * revision's change set (also kept to re-send). Returns the change sets made (changes are cut into sets of at
   * most maxChangesPerSet and pageBudgetBytes), none when nothing changed.
   */
  commit(changes: Iterable<WireChange>): ContactsChangeSet[] {
    const effective: WireChange[] = [];
    for (const change of changes) {
      const applied = this.merge(change);
      if (applied) effective.push(applied);
    }
    const sets: ContactsChangeSet[] = [];
    for (const chunk of chunkBySize(effective, CONTACTS_SYNC_LIMITS.maxChangesPerSet)) {
      const set: ContactsChangeSet = { prevRev: this.#rev, rev: this.#rev + 1, changes: chunk };
      this.#rev = set.rev;
      this.#recent.push(set);
      if (this.#recent.length > KEPT_CHANGE_SETS) this.#recent.shift();
      sets.push(set);
    }
    return sets;
  }

  /** The kept change sets after revision `rev`, when they reach back that far (else undefined: resync instead). */
  changeSetsAfter(rev: number): ContactsChangeSet[] | undefined {
    if (rev >= this.#rev) return [];
    const from = this.#recent.findIndex((set) => set.prevRev === rev);
    return from < 0 ? undefined : this.#recent.slice(from);
  }

  /** The whole set at the current revision, in pages of at most maxContactsPerPage contacts and pageBudgetBytes. */
  pages(resyncId: string, maxContactsPerPage: number = CONTACTS_SYNC_LIMITS.maxContactsPerPage): ContactsResyncPage[] {
    const contacts: WireContact[] = [...this.#contacts].map(([id, fields]) => ({ id, fields }));
    const chunks = [...chunkBySize(contacts, Math.min(maxContactsPerPage, CONTACTS_SYNC_LIMITS.maxContactsPerPage))];
    if (chunks.length === 0) chunks.push([]);
    if (chunks.length > CONTACTS_SYNC_LIMITS.maxPages) {
      throw new DesklineError('CONTACTS_TOO_MANY', `${contacts.length} contacts need ${chunks.length} pages, more than the protocol's ${CONTACTS_SYNC_LIMITS.maxPages}`);
    }
    return chunks.map((chunk, page) => ({ resyncId, page, pages: chunks.length, rev: this.#rev, contacts: chunk }));
  }

  /** One change merged into the book; what of it took effect (undefined: nothing). */
  private merge(change: WireChange): WireChange | undefined {
    const current = this.#contacts.get(change.id);
    if ('deleted' in change) {
      const stamp = stampOf(change.deleted);
      const tombstone = this.#tombstones.get(change.id);
      if (!tombstone || compareStamps(stamp, tombstone) > 0) this.#tombstones.set(change.id, stamp);
      if (!current) return undefined;
      const newest = Object.values(current).reduce<FieldStamp | undefined>((a, f) => (!a || compareStamps(stampOf(f), a) > 0 ? stampOf(f) : a), undefined);
      if (newest && compareStamps(newest, stamp) > 0) return undefined;
      this.#contacts.delete(change.id);
      return change;
    }
    const tombstone = current ? undefined : this.#tombstones.get(change.id);
    const taken: WireFields = {};
    const next: WireFields = { ...current };
    for (const [name, field] of Object.entries(change.fields) as Array<[ContactFieldName, WireField]>) {
      if (tombstone && compareStamps(stampOf(field), tombstone) <= 0) continue;
      const mine = next[name];
      if (mine && compareStamps(stampOf(field), stampOf(mine)) <= 0) continue;
      next[name] = field;
      taken[name] = field;
    }
    if (Object.keys(taken).length === 0) return undefined;
    if (!current && !next.name) return undefined; // a contact needs a name to exist
    this.#contacts.set(change.id, next);
    return { id: change.id, fields: taken };
  }
}

/** Items cut into runs of at most `count` and about pageBudgetBytes of JSON each. */
function* chunkBySize<T>(items: readonly T[], count: number): Generator<T[]> {
  let chunk: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = jsonBytes(item) + 1;
    if (chunk.length > 0 && (chunk.length >= count || bytes + size > CONTACTS_SYNC_LIMITS.pageBudgetBytes)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(item);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

// ---- building changes ----------------------------------------------------------------------------------------

/** A contact's fields (as ContactInput takes them) as a change stamped (at, origin) for every field given. */
export function contactChange(id: string, fields: Partial<Record<ContactFieldName, unknown>>, stamp: FieldStamp): WireChange {
  const wire: WireFields = {};
  for (const name of CONTACT_FIELD_NAMES) if (fields[name] !== undefined) wire[name] = { value: fields[name], at: stamp.at, origin: stamp.origin };
  return { id, fields: wire };
}

export function deleteChange(id: string, stamp: FieldStamp): WireChange {
  return { id, deleted: { at: stamp.at, origin: stamp.origin } };
}

/**
 * The id a CSV row's contact gets: derived from its first number (else its name), so pushing the same file
 * again updates the same contacts instead of adding new ones.
 */
export function csvContactId(input: { name?: string | null; numbers?: unknown }, country: string): string {
  const parsed = parseContactInput({ name: input.name ?? undefined, numbers: input.numbers ?? undefined }, 'patch', country);
  const first = parsed.fields?.numbers?.[0];
  const key = first ? `n:${numberLookupKey(first)}` : `name:${(input.name ?? '').trim().toLowerCase()}`;
  return `csv-${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;
}

export interface CsvChanges {
  changes: WireChange[];
  /** rows not usable (the CSV's problems and rows the contact rules refuse), with their line */
  errors: CsvRowError[];
}

/**
 * A contacts CSV file (the columns `deskline contacts import` reads) as changes stamped (at, origin): one per
 * row, with the fields the row gives, its id from csvContactId. Rows are checked by the contact rules with
 * `country` (default 'ZZ': numbers without a country code are kept as digits; the device normalises again).
 */
export async function changesFromCsv(source: string | Readable, options: { at: number; origin?: string; country?: string }): Promise<CsvChanges> {
  const country = options.country ?? 'ZZ';
  const stamp = { at: options.at, origin: options.origin ?? 'cloud' };
  const { rows, errors } = await readContactsCsv(source);
  const changes = new Map<string, WireChange>();
  for (const row of rows) {
    const input = row.input as Record<string, unknown>;
    if (!input.name) {
      errors.push({ row: row.line, column: 'name', message: 'a contact pushed from the cloud needs a name' });
      continue;
    }
    const change = contactChange(csvContactId(row.input, country), input, stamp);
    const checked = toStampedChange(change, country);
    if (!checked.change) {
      for (const issue of checked.issues) errors.push({ row: row.line, column: issue.path.replace(/^fields\./, '') || null, message: issue.message });
      continue;
    }
    // a later row with the same first number wins
    changes.set(change.id, change);
  }
  errors.sort((a, b) => a.row - b.row);
  return { changes: [...changes.values()], errors };
}

// ---- one-shot push (the admin CLI) ---------------------------------------------------------------------------

/** The device's retained contacts state, or null when it has published none within `timeoutMs`. */
export async function readDeviceContactsState(client: MqttClient, deviceId: string, timeoutMs = 3000): Promise<ContactsState | null> {
  const topic = contactsTopics(deviceId).state;
  return new Promise<ContactsState | null>((resolve, reject) => {
    const done = (state: ContactsState | null) => {
      clearTimeout(timer);
      client.removeListener('message', onMessage);
      client.unsubscribeAsync(topic).catch(() => undefined);
      resolve(state);
    };
    const onMessage = (received: string, payload: Buffer) => {
      if (received !== topic) return;
      try {
        done(decodeContactsState(payload));
      } catch {
        done(null);
      }
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    client.on('message', onMessage);
    client.subscribeAsync(topic, { qos: 1 }).catch((error: unknown) => {
      clearTimeout(timer);
      client.removeListener('message', onMessage);
      reject(new DesklineError('CLOUD_SUBSCRIBE_FAILED', `cannot read ${topic}: ${errorMessage(error)}`, { cause: error }));
    });
  });
}

export interface PushResult {
  deviceId: string;
  /** the revision the device reported (0 when it reported none) */
  fromRev: number;
  toRev: number;
  changeSets: number;
}

/**
 * Send changes to devices without a book (the admin CLI): for each device, read its retained state for its
 * revision and publish the changes as the change sets that follow it (QoS 1; resolves once the broker took them).
 * A device that is offline gets them from its persistent session. If its revision moves meanwhile (another
 * push), it sees a gap and asks for a resync, which needs a ContactsCloud serving its book.
 */
export async function pushContactChanges(client: MqttClient, deviceIds: readonly string[], changes: readonly WireChange[], options: { stateTimeoutMs?: number } = {}): Promise<PushResult[]> {
  const results: PushResult[] = [];
  for (const deviceId of deviceIds) {
    const state = await readDeviceContactsState(client, deviceId, options.stateTimeoutMs);
    const fromRev = state?.rev ?? 0;
    let rev = fromRev;
    let sets = 0;
    for (const chunk of chunkBySize(changes, CONTACTS_SYNC_LIMITS.maxChangesPerSet)) {
      await publishChangeSet(client, deviceId, { prevRev: rev, rev: rev + 1, changes: chunk });
      rev++;
      sets++;
    }
    results.push({ deviceId, fromRev, toRev: rev, changeSets: sets });
  }
  return results;
}

export async function publishChangeSet(client: MqttClient, deviceId: string, set: ContactsChangeSet): Promise<void> {
  await client.publishAsync(contactsTopics(deviceId).changes, JSON.stringify(set), { qos: 1 });
}

// ---- the serving cloud ---------------------------------------------------------------------------------------

export interface ContactsCloudOptions {
  client: MqttClient;
  /** the book of a device (undefined: not served, its messages are ignored) */
  bookOf: (deviceId: string) => CloudContactBook | undefined;
  log?: Logger;
  /** told of every edit batch a device sent, after it was merged into the book */
  onEdits?: (deviceId: string, batch: ContactsEditBatch) => void;
  /** contacts per resync page (default and maximum CONTACTS_SYNC_LIMITS.maxContactsPerPage) */
  pageSize?: number;
}

/** Serves contact sync for the devices whose books `bookOf` gives (subscribes to `dl/v1/+/contacts/#`). */
export class ContactsCloud {
  readonly #filters = ['dl/v1/+/contacts/edits', 'dl/v1/+/contacts/resync', 'dl/v1/+/contacts/state'];
  readonly #onMessage = (topic: string, payload: Buffer) => void this.handle(topic, payload);
  /** per device, the messages being handled, one at a time */
  readonly #work = new Map<string, Promise<void>>();
  readonly #seenEdits = new Set<string>();

  constructor(private readonly options: ContactsCloudOptions) {}

  async start(): Promise<void> {
    this.options.client.on('message', this.#onMessage);
    await this.options.client.subscribeAsync(this.#filters, { qos: 1 });
  }

  async close(): Promise<void> {
    this.options.client.removeListener('message', this.#onMessage);
    await this.options.client.unsubscribeAsync(this.#filters).catch(() => undefined);
    await Promise.all(this.#work.values());
  }

  /** Merge changes into a device's book and send the change sets they make. Returns them. */
  async publish(deviceId: string, changes: Iterable<WireChange>): Promise<ContactsChangeSet[]> {
    const book = this.book(deviceId);
    const sets = book.commit(changes);
    for (const set of sets) await publishChangeSet(this.options.client, deviceId, set);
    return sets;
  }

  /** Send a device the whole set in pages answering its resync request `resyncId` (the device ignores pages of another). Returns the page count. */
  async sendPages(deviceId: string, resyncId: string): Promise<number> {
    const pages = this.book(deviceId).pages(resyncId, this.options.pageSize);
    const topic = contactsTopics(deviceId).pages;
    // one after the other, each acknowledged: the broker's queue for the device stays short
    for (const page of pages) await this.options.client.publishAsync(topic, JSON.stringify(page), { qos: 1 });
    return pages.length;
  }

  private book(deviceId: string): CloudContactBook {
    const book = this.options.bookOf(deviceId);
    if (!book) throw new DesklineError('CONTACTS_NO_BOOK', `no contacts book for device '${deviceId}'`);
    return book;
  }

  private handle(topic: string, payload: Buffer): Promise<void> {
    const parsed = parseContactsTopic(topic);
    if (!parsed || !['edits', 'resync', 'state'].includes(parsed.kind) || !this.options.bookOf(parsed.deviceId)) return Promise.resolve();
    const { deviceId, kind } = parsed;
    const previous = this.#work.get(deviceId) ?? Promise.resolve();
    const next = previous.then(async () => {
      try {
        if (kind === 'resync') await this.onResync(deviceId, payload);
        else if (kind === 'edits') await this.onEdits(deviceId, payload);
        else await this.onState(deviceId, payload);
      } catch (error) {
        this.options.log?.warn({ err: error, deviceId, topic }, `contacts cloud: ${errorMessage(error)}`);
      }
    });
    this.#work.set(deviceId, next);
    void next.then(() => {
      if (this.#work.get(deviceId) === next) this.#work.delete(deviceId);
    });
    return next;
  }

  private async onResync(deviceId: string, payload: Buffer): Promise<void> {
    const request = decodeResyncRequest(payload);
    const pages = await this.sendPages(deviceId, request.resyncId);
    this.options.log?.info({ deviceId, resyncId: request.resyncId, pages, reason: request.reason }, `contacts cloud: ${deviceId} resynced in ${pages} pages`);
  }

  private async onEdits(deviceId: string, payload: Buffer): Promise<void> {
    const batch = decodeEditBatch(payload);
    const key = `${deviceId}/${batch.id}`;
    if (this.#seenEdits.has(key)) return; // a redelivery
    this.#seenEdits.add(key);
    if (this.#seenEdits.size > 10_000) this.#seenEdits.delete(this.#seenEdits.values().next().value as string);
    // the same contact rules as the device: a bad edit is dropped, the others taken
    const good = batch.edits.filter((edit) => toStampedChange(edit, 'ZZ').change !== null);
    await this.publish(deviceId, good);
    this.options.onEdits?.(deviceId, batch);
  }

  /** A device that reports an older revision missed change sets (its session was lost): send them again. */
  private async onState(deviceId: string, payload: Buffer): Promise<void> {
    const state = decodeContactsState(payload);
    const book = this.book(deviceId);
    if (state.resyncing || state.rev >= book.rev) return;
    const missed = book.changeSetsAfter(state.rev);
    // not kept that far back: the newest set shows the device its gap, and it asks for a resync
    const toSend = missed ?? book.changeSetsAfter(book.rev - 1) ?? [];
    for (const set of toSend) await publishChangeSet(this.options.client, deviceId, set);
  }
}

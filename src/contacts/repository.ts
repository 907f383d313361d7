import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { DesklineError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Collection, CollectionChange, CollectionSpec, Store } from '../store/types.js';
import { keysFingerprint } from './keys.js';
import {
  ContactValidationError,
  applyChanges,
  contactEntryOf,
  contactKeysEntryOf,
  contactKeysOf,
  contactView,
  isContactKeys,
  isStoredContact,
  mergeRow,
  newContact,
  parseContactInput,
} from './model.js';
import { lookupKeysOfRaw, numberLookupKey } from './numbers.js';
import { DEFAULT_SEARCH_LIMIT, SearchIndex } from './search.js';
import { NO_STAMP, mergeChange, stampedFieldsOf, type FieldStamp, type StampedChange } from './stamps.js';
import type {
  Contact,
  ContactChangeKind,
  ContactEntry,
  ContactFieldName,
  ContactFields,
  ContactHit,
  ContactInput,
  ContactIssue,
  ContactKeys,
  ContactKeysEntry,
  ContactNumber,
  ContactPatch,
  ContactView,
  DuplicatePolicy,
} from './types.js';

export const CONTACTS_COLLECTION: Readonly<CollectionSpec<Contact, ContactEntry>> = Object.freeze({
  name: 'contacts',
  // ~200 contacts per shard at 100,000: an edit rewrites tens of kilobytes
  placement: Object.freeze({ kind: 'hash', shards: 512 } as const),
  entryOf: contactEntryOf,
  // 1: sparse entries, search keys moved to CONTACT_KEYS_COLLECTION
  entriesVersion: 1,
  isValid: isStoredContact,
});

/**
 * The contacts' search keys, one document per contact under its id, written with it. A collection of its own
 * so that opening the contacts (caller lookup, at start-up) does not read them: search opens it when first used.
 */
export const CONTACT_KEYS_COLLECTION: Readonly<CollectionSpec<ContactKeys, ContactKeysEntry>> = Object.freeze({
  name: 'contact-keys',
  placement: Object.freeze({ kind: 'hash', shards: 512 } as const),
  entryOf: contactKeysEntryOf,
  isValid: isContactKeys,
});

export const MAX_SEARCH_LIMIT = 100;
/** Inputs of importMany handled between two turns of the event loop. */
const IMPORT_SLICE = 200;
/** Building the search index checks and repairs keys for about this long between two turns of the event loop. */
const BUILD_SLICE_MS = 10;

export interface ContactsRepositoryOptions {
  store: Store;
  /** the line's country (config device.country), to normalise numbers to E.164 */
  country: () => string;
  clock: Clock;
  /** where a change listener that throws, or a keys document that could not be written, is reported */
  log?: Logger;
  /** who this device is in field stamps: 'device:<deviceId>' (default 'device') */
  origin?: string;
}

/** What applying a batch of changes from the cloud did (see applyRemote). */
export interface RemoteApplyResult {
  /** contacts created or changed */
  written: number;
  /** contacts deleted, with the delete's stamp (keep it as a tombstone) */
  deleted: Array<{ id: string; stamp: FieldStamp }>;
  /** deletes of contacts the device does not have (or a newer delete than its tombstone): keep as tombstones */
  tombstones: Array<{ id: string; stamp: FieldStamp }>;
  /** local fields newer than the incoming ones (the cloud lacks them: send them up), as changes */
  localNewer: StampedChange[];
  /** changes to contacts the device does not have that bring no name to create them with */
  unknown: string[];
  /** resolves when every write of the batch is on disk (the batch is in memory, and seen by lookups, already) */
  durable: Promise<void>;
}

/** What became of one input of `importMany`. */
export type ImportOutcome =
  | { result: 'created' | 'updated' | 'unchanged' | 'skipped'; id: string }
  | { result: 'invalid'; issues: ContactIssue[] };

type KeysCollection = Collection<ContactKeys, ContactKeysEntry>;

/**
 * The contacts: whole contacts in the store, and in memory for each its entry, a number -> contact map for
 * caller lookup and (once search is used) the search index over their keys. Both follow every change of the
 * collection, whoever writes it.
 *
 * Search keys are kept in the contact-keys collection, written in the same tick as the contact. It is opened
 * on the first search, warm-up or write, not at open: caller lookup is what a start-up needs first. Building
 * the index checks every contact's keys against its entry (keysFingerprint): keys that are missing or were
 * computed from something else (a crash between the two writes, a contact written while the keys collection
 * was not open, a new library version) are computed again and written; keys of contacts that are gone are
 * deleted.
 */
export class ContactsRepository {
  /** number key (E.164, or digits) -> id, or ids when several contacts share the number */
  readonly #byNumber = new Map<string, string | string[]>();
  readonly #listeners = new Set<(id: string, change: ContactChangeKind) => void>();
  readonly #unsubscribe: () => void;
  #keys: KeysCollection | null = null;
  #keysOpening: Promise<KeysCollection> | null = null;
  #searchIndex: SearchIndex | null = null;
  #indexBuilding: Promise<SearchIndex> | null = null;
  /** while the index is being built: contacts changed since it started */
  #changedDuringBuild: Set<string> | null = null;
  #closed = false;
  /** the newest field time of any contact (what a stamp made while the wall clock is not trusted starts from) */
  #newestFieldTime = 0;
  readonly #localEditListeners = new Set<(edit: StampedChange) => void>();

  private constructor(
    private readonly collection: Collection<Contact, ContactEntry>,
    private readonly options: ContactsRepositoryOptions,
  ) {
    this.#unsubscribe = collection.onChange((change) => this.follow(change));
    for (const [id, entry] of collection.entries()) this.indexNumbers(id, entry);
  }

  /** Opens the contacts collection and builds the lookup map from the entries (no document, no search key is read). */
  static async open(options: ContactsRepositoryOptions): Promise<ContactsRepository> {
    const collection = await options.store.collection(CONTACTS_COLLECTION);
    return new ContactsRepository(collection, options);
  }

  /** Stop following the collection (the repository is not used after this; an index being built is given up). */
  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    this.#listeners.clear();
  }

  get count(): number {
    return this.collection.size;
  }

  /**
   * Told of every change made on this device (create, update, delete, import: not applyRemote), synchronously, in
   * the tick the change is applied, with the stamps it was given: what contact sync sends up.
   */
  onLocalEdit(listener: (edit: StampedChange) => void): () => void {
    this.#localEditListeners.add(listener);
    return () => this.#localEditListeners.delete(listener);
  }

  /** Told of every contact created, updated or deleted (after the lookup map and index follow it). */
  onChange(listener: (id: string, change: ContactChangeKind) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The contact a number belongs to (a caller's number as the line sends it, in any format the country reads).
   * When several contacts have the number, the most recently updated one.
   */
  findByNumber(raw: string): ContactHit | undefined {
    for (const key of lookupKeysOfRaw(raw, this.options.country())) {
      const hit = this.findByKey(key);
      if (hit) return hit;
    }
    return undefined;
  }

  entry(id: string): ContactView | undefined {
    const entry = this.collection.entry(id);
    return entry ? contactView(entry) : undefined;
  }

  get(id: string): Promise<Contact | undefined> {
    return this.collection.get(id);
  }

  /** The contacts of these ids that exist, in the order asked. */
  getMany(ids: readonly string[]): Promise<Contact[]> {
    return this.collection.getMany(ids);
  }

  /** Who this device is in field stamps ('device:<deviceId>'). */
  get origin(): string {
    return this.options.origin ?? 'device';
  }

  /**
   * Contacts having a key that starts with the query (name, company, pinyin, initials, number digits), in name
   * order. The first call opens the keys collection and builds the index (see warmUp).
   */
  async search(query: string, limit = DEFAULT_SEARCH_LIMIT): Promise<ContactHit[]> {
    const index = await this.index();
    const ids = index.search(query, Math.max(1, Math.min(MAX_SEARCH_LIMIT, Math.floor(limit))));
    return ids.flatMap((id) => {
      const entry = this.collection.entry(id);
      return entry ? [{ id, entry: contactView(entry) }] : [];
    });
  }

  /**
   * Build the search index if it is not built yet (in slices of about BUILD_SLICE_MS), then sort search buckets
   * not sorted yet, about `budget` keys' worth; true when all are.
   */
  async warmUp(budget?: number): Promise<boolean> {
    return (await this.index()).warmUp(budget);
  }

  /** Whether the search index is built (searches then need no more than the index). */
  get searchReady(): boolean {
    return this.#searchIndex !== null;
  }

  async create(input: ContactInput): Promise<Contact> {
    const { fields, issues } = parseContactInput(input, 'create', this.options.country());
    if (!fields) throw new ContactValidationError(issues);
    const keys = await this.openKeys();
    const contact = this.newLocalContact(randomUUID(), fields);
    const keysWritten = this.putKeys(keys, contact);
    const written = this.collection.put(contact);
    this.emitLocalEdit({ id: contact.id, fields: stampedFieldsOf(contact) });
    await Promise.all([written, keysWritten]);
    return contact;
  }

  /** Change the fields present in `patch` (null or '' clears one); throws CONTACT_NOT_FOUND. A patch that changes nothing writes nothing. */
  async update(id: string, patch: ContactPatch): Promise<Contact> {
    const { fields, issues } = parseContactInput(patch, 'patch', this.options.country());
    if (!fields) throw new ContactValidationError(issues);
    const keys = await this.openKeys();
    const current = await this.collection.get(id);
    if (current && applyChanges(current, fields, this.stamper()).changed.length === 0) return current;
    let updated: Contact | undefined;
    let keysWritten: Promise<void> | undefined;
    await this.collection.update(id, (doc) => {
      const applied = applyChanges(doc, fields, this.stamper());
      updated = applied.contact;
      keysWritten = this.putKeys(keys, updated);
      // in the tick the store applies it (the listener's own write then goes with it)
      if (applied.changed.length > 0) queueMicrotask(() => this.emitLocalEdit({ id, fields: stampedFieldsOf(applied.contact, applied.changed) }));
      return updated;
    });
    if (!updated) throw new DesklineError('CONTACT_NOT_FOUND', `no contact '${id}'`);
    await keysWritten;
    return updated;
  }

  async delete(id: string): Promise<boolean> {
    const keys = await this.openKeys();
    const entry = this.collection.entry(id);
    // the keys first: deleting the contact has follow() delete them too, and a delete of what is gone does not wait
    const keysDeleted = keys.delete(id);
    const deleting = this.collection.delete(id);
    // the delete is stamped after the newest change of the contact the device knows of
    if (entry) this.emitLocalEdit({ id, deleted: this.stampFor({ at: entry.updated, origin: '' }) });
    const [deleted] = await Promise.all([deleting, keysDeleted]);
    return deleted;
  }

  /** Every contact, read from the store in batches (for export). */
  async *all(batchSize = 200): AsyncGenerator<Contact> {
    const ids = [...this.collection.entries()].map(([id]) => id);
    for (let i = 0; i < ids.length; i += batchSize) yield* await this.collection.getMany(ids.slice(i, i + batchSize));
  }

  /**
   * Create or merge many contacts in one write. An input whose number belongs to an existing contact (or to
   * an earlier input) merges into it (what the input says wins, what it leaves out stays), is skipped, or
   * creates another contact, as `onDuplicate` says. An input that creates a contact needs a name.
   */
  async importMany(inputs: readonly ContactInput[] | readonly ContactPatch[], onDuplicate: DuplicatePolicy = 'merge'): Promise<ImportOutcome[]> {
    const keys = await this.openKeys();
    const country = this.options.country();
    const stamper = this.stamper();
    /** the contacts as this batch leaves them (existing ones as read, with the rows merged so far) */
    const pending = new Map<string, Contact>();
    const pendingByNumber = new Map<string, string>();
    const created = new Set<string>();
    /** per existing contact, the rows merged into it: replayed on the contact as it is when written */
    const merges = new Map<string, Array<Partial<ContactFields>>>();
    const outcomes: ImportOutcome[] = [];
    const remember = (contact: Contact) => {
      pending.set(contact.id, contact);
      for (const number of contact.numbers) pendingByNumber.set(numberLookupKey(number), contact.id);
    };
    for (const [i, input] of inputs.entries()) {
      // normalising a few hundred numbers and names takes milliseconds: let the event loop breathe
      if (i > 0 && i % IMPORT_SLICE === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const { fields, issues } = parseContactInput(input, 'patch', country);
      if (!fields) {
        outcomes.push({ result: 'invalid', issues });
        continue;
      }
      const match = onDuplicate === 'create' ? undefined : this.matchNumbers(fields.numbers ?? [], pendingByNumber);
      const current = match === undefined ? undefined : (pending.get(match) ?? (await this.collection.get(match)));
      if (current) {
        if (onDuplicate === 'skip') {
          outcomes.push({ result: 'skipped', id: current.id });
          continue;
        }
        const merged = mergeRow(current, fields);
        if (merged.issues.length > 0) {
          outcomes.push({ result: 'invalid', issues: merged.issues });
          continue;
        }
        const { contact, changed } = applyChanges(current, merged.changes, stamper);
        outcomes.push({ result: changed.length > 0 ? 'updated' : 'unchanged', id: contact.id });
        if (changed.length === 0) continue;
        remember(contact);
        if (!created.has(contact.id)) merges.set(contact.id, [...(merges.get(contact.id) ?? []), fields]);
        continue;
      }
      if (!fields.name) {
        outcomes.push({ result: 'invalid', issues: [{ path: 'name', message: "is empty: a new contact needs a name (only a row matching an existing contact's number may leave it out)" }] });
        continue;
      }
      const contact = this.newLocalContact(randomUUID(), { name: fields.name, company: null, numbers: [], email: null, address: null, tags: [], notes: null, fields: {}, due: [], ...fields });
      remember(contact);
      created.add(contact.id);
      outcomes.push({ result: 'created', id: contact.id });
    }
    // all in one turn, so the store writes them together; a merge applies to the contact as it is by then
    // (changed by someone else while this batch was read, it keeps that change)
    const newContacts = [...created].map((id) => pending.get(id)!);
    const keysWritten: Array<Promise<void> | undefined> = newContacts.length > 0 ? [this.putManyKeys(keys, newContacts)] : [];
    const writes: Array<Promise<unknown>> = [this.collection.putMany(newContacts)];
    for (const contact of newContacts) this.emitLocalEdit({ id: contact.id, fields: stampedFieldsOf(contact) });
    for (const [id, rows] of merges) {
      writes.push(this.collection.update(id, (contact) => {
        const changedFields = new Set<ContactFieldName>();
        const merged = rows.reduce<Contact>((doc, row) => {
          const merge = mergeRow(doc, row);
          if (merge.issues.length > 0) return doc;
          const applied = applyChanges(doc, merge.changes, stamper);
          for (const field of applied.changed) changedFields.add(field);
          return applied.contact;
        }, contact);
        keysWritten.push(this.putKeys(keys, merged));
        if (changedFields.size > 0) queueMicrotask(() => this.emitLocalEdit({ id, fields: stampedFieldsOf(merged, [...changedFields]) }));
        return merged;
      }));
    }
    await Promise.all(writes);
    await Promise.all(keysWritten);
    return outcomes;
  }

  /**
   * Merge changes from the cloud (validated and normalised: the sync protocol parses them with parseContactInput) into the contacts by
   * per-field last writer wins (stamps.ts). `tombstoneOf` gives this device's record of a contact's delete. The
   * batch is applied to memory in one tick (lookups see it at once); `durable` says when it is on disk, so a caller
   * applying many batches need not wait for each (the store then writes them together). Not reported to
   * onLocalEdit listeners.
   */
  async applyRemote(changes: readonly StampedChange[], tombstoneOf: (id: string) => FieldStamp | undefined = () => undefined): Promise<RemoteApplyResult> {
    const keys = await this.openKeys();
    const ids = [...new Set(changes.map((change) => change.id).filter((id) => this.collection.has(id)))];
    // read the current versions; a contact changed meanwhile (a local edit) is read again, so none is lost
    let current = new Map<string, Contact>();
    for (let attempt = 0; ; attempt++) {
      const changedMeanwhile = new Set<string>();
      const off = this.collection.onChange((change) => changedMeanwhile.add(change.id));
      try {
        const docs = await this.collection.getMany(ids);
        current = new Map(docs.map((doc) => [doc.id, doc]));
      } finally {
        off();
      }
      this.checkOpen();
      if (!ids.some((id) => changedMeanwhile.has(id))) break;
      if (attempt > 20) throw new DesklineError('CONTACTS_BUSY', 'contacts kept changing while a cloud change was applied; try again');
    }
    // from here on synchronous: the merge and the writes see the same contacts
    for (const id of ids) if (!this.collection.has(id)) current.delete(id);
    const result: RemoteApplyResult = { written: 0, deleted: [], tombstones: [], localNewer: [], unknown: [], durable: Promise.resolve() };
    const toPut = new Map<string, Contact>();
    const toDelete = new Map<string, FieldStamp>();
    const newer = new Map<string, Set<ContactFieldName>>();
    for (const change of changes) {
      const local = toDelete.has(change.id) ? undefined : (toPut.get(change.id) ?? current.get(change.id));
      const tombstone = toDelete.get(change.id) ?? tombstoneOf(change.id);
      const outcome = mergeChange(local, change, tombstone);
      switch (outcome.kind) {
        case 'put':
          toPut.set(change.id, outcome.contact);
          toDelete.delete(change.id);
          break;
        case 'delete':
          toDelete.set(change.id, outcome.stamp);
          toPut.delete(change.id);
          break;
        case 'none':
          if (outcome.tombstone) result.tombstones.push({ id: change.id, stamp: outcome.tombstone });
          break;
        case 'unknown':
          result.unknown.push(change.id);
          break;
      }
      if (outcome.kind === 'put' || outcome.kind === 'none') {
        if (outcome.localNewer.length === 0) continue;
        const fields = newer.get(change.id) ?? new Set<ContactFieldName>();
        for (const field of outcome.localNewer) fields.add(field);
        newer.set(change.id, fields);
      }
    }
    const writes: Array<Promise<unknown>> = [];
    const contacts = [...toPut.values()];
    if (contacts.length > 0) {
      writes.push(this.putChangedKeys(keys, contacts), this.collection.putMany(contacts));
      result.written = contacts.length;
    }
    for (const [id, stamp] of toDelete) {
      if (!this.collection.has(id)) continue;
      writes.push(keys.delete(id), this.collection.delete(id));
      result.deleted.push({ id, stamp });
    }
    for (const [id, fields] of newer) {
      const contact = toPut.get(id) ?? current.get(id);
      if (contact && !toDelete.has(id)) result.localNewer.push({ id, fields: stampedFieldsOf(contact, [...fields]) });
    }
    result.durable = Promise.all(writes).then(() => undefined);
    // not awaited here: the caller decides; a failure must not go unobserved until then
    result.durable.catch(() => undefined);
    return result;
  }

  /** Ids of every contact (in the store's order). */
  ids(): string[] {
    return [...this.collection.entries()].map(([id]) => id);
  }

  /**
   * Delete every contact whose id is not in `present` or `keep` (the end of a full resync from the cloud), without
   * telling onLocalEdit listeners. Resolves, once on disk, with the ids deleted.
   */
  async deleteAbsent(present: ReadonlySet<string>, keep: ReadonlySet<string>): Promise<string[]> {
    const keys = await this.openKeys();
    const gone = this.ids().filter((id) => !present.has(id) && !keep.has(id));
    await Promise.all(gone.flatMap((id) => [keys.delete(id), this.collection.delete(id)]));
    return gone;
  }

  /**
   * The stamp of a field changed on this device, given its current stamp. While the wall clock is trusted: now,
   * or just after the current stamp when that is ahead of now (another clock ran fast), so an edit always beats
   * the version it replaced. While it is not (no battery-backed clock, no NTP yet: it may say 1970 or 2090):
   * just after the current stamp, and for a new contact just after the newest field time the device has seen.
   * Such an edit wins over the version the user saw, and loses to any concurrent change stamped by a real clock
   * later than that version: the device neither pins a value in the far future nor loses an edit to the value
   * it replaced.
   */
  stampFor(previous: FieldStamp): FieldStamp {
    const { origin } = this;
    const { clock } = this.options;
    const after = previous === NO_STAMP || previous.at === 0 ? (clock.wallTimeTrusted ? 0 : this.#newestFieldTime + 1) : previous.at + 1;
    return { at: clock.wallTimeTrusted ? Math.max(clock.now(), after) : after, origin };
  }

  private stamper(): (previous: FieldStamp) => FieldStamp {
    return (previous) => this.stampFor(previous);
  }

  /** A contact created on this device: stamped by stampFor; created now (or, without a trusted clock, at its stamp). */
  private newLocalContact(id: string, fields: ContactFields): Contact {
    const stamp = this.stampFor(NO_STAMP);
    return newContact(id, fields, this.options.clock.wallTimeTrusted ? this.options.clock.now() : stamp.at, () => stamp);
  }

  private emitLocalEdit(edit: StampedChange): void {
    for (const listener of this.#localEditListeners) {
      try {
        listener(edit);
      } catch (error) {
        this.options.log?.error({ err: error, id: edit.id }, `contact local edit listener failed: ${errorMessage(error)}`);
      }
    }
  }

  /** Keys of contacts about to be written, those not already stored as computed from the same entry. */
  private putChangedKeys(keys: KeysCollection, contacts: readonly Contact[]): Promise<void> {
    const docs: ContactKeys[] = [];
    for (const contact of contacts) {
      const entry = contactEntryOf(contact);
      if (keys.entry(contact.id)?.of !== keysFingerprint(entry)) docs.push(contactKeysOf(contact.id, entry));
    }
    return docs.length > 0 ? keys.putMany(docs) : Promise.resolve();
  }

  private matchNumbers(numbers: readonly ContactNumber[], pendingByNumber: ReadonlyMap<string, string>): string | undefined {
    for (const number of numbers) {
      const key = numberLookupKey(number);
      const id = pendingByNumber.get(key) ?? this.findByKey(key)?.id;
      if (id !== undefined) return id;
    }
    return undefined;
  }

  private findByKey(key: string): ContactHit | undefined {
    const ids = this.#byNumber.get(key);
    if (ids === undefined) return undefined;
    if (typeof ids === 'string') {
      const entry = this.collection.entry(ids);
      return entry ? { id: ids, entry: contactView(entry) } : undefined;
    }
    let best: { id: string; entry: ContactEntry } | undefined;
    for (const id of ids) {
      const entry = this.collection.entry(id);
      if (entry && (!best || entry.updated >= best.entry.updated)) best = { id, entry };
    }
    return best && { id: best.id, entry: contactView(best.entry) };
  }

  private follow(change: CollectionChange<ContactEntry>): void {
    if (change.previous) this.unindexNumbers(change.id, change.previous);
    if (change.type === 'put') this.indexNumbers(change.id, change.entry);
    this.#changedDuringBuild?.add(change.id);
    // a write of this repository has written the keys already; another writer's (or a store repair's) not
    if (this.#keys) {
      try {
        if (change.type === 'put') this.#searchIndex?.set(change.id, this.currentKeys(this.#keys, change.id, change.entry));
        else {
          this.#searchIndex?.remove(change.id);
          this.logKeysFailure(this.#keys.delete(change.id), change.id);
        }
      } catch (error) {
        this.options.log?.error({ err: error, id: change.id }, `contact search keys not updated: ${errorMessage(error)}`);
      }
    }
    const kind: ContactChangeKind = change.type === 'delete' ? 'deleted' : change.previous ? 'updated' : 'created';
    for (const listener of this.#listeners) {
      // a listener's failure must not fail the write that is already applied
      try {
        listener(change.id, kind);
      } catch (error) {
        this.options.log?.error({ err: error, id: change.id, change: kind }, `contact change listener failed: ${errorMessage(error)}`);
      }
    }
  }

  /** The keys collection, opened on first use (by search, warm-up or a write). */
  private openKeys(): Promise<KeysCollection> {
    this.#keysOpening ??= this.options.store.collection(CONTACT_KEYS_COLLECTION).then(
      (keys) => (this.#keys = keys),
      (error: unknown) => {
        // the next use tries again
        this.#keysOpening = null;
        throw error;
      },
    );
    return this.#keysOpening;
  }

  /** Writes the keys of a contact about to be written, unless the stored ones were computed from the same; resolves when they are on disk. */
  private putKeys(keys: KeysCollection, contact: Contact): Promise<void> | undefined {
    const entry = contactEntryOf(contact);
    if (keys.entry(contact.id)?.of === keysFingerprint(entry)) return undefined;
    return keys.put(contactKeysOf(contact.id, entry));
  }

  private putManyKeys(keys: KeysCollection, contacts: readonly Contact[]): Promise<void> {
    return keys.putMany(contacts.map((contact) => contactKeysOf(contact.id, contactEntryOf(contact))));
  }

  /** A contact's keys as stored when they match its entry; else computed from the entry and written. */
  private currentKeys(keys: KeysCollection, id: string, entry: ContactEntry): readonly string[] {
    const stored = keys.entry(id);
    const of = keysFingerprint(entry);
    if (stored?.of === of) return stored.keys;
    const doc = contactKeysOf(id, entry);
    this.logKeysFailure(keys.put(doc), id);
    return doc.keys;
  }

  /** A keys write nobody waits for: a failure is logged (the keys are repaired when the index is next built). */
  private logKeysFailure(written: Promise<unknown>, id: string | null): void {
    written.catch((error: unknown) => {
      this.options.log?.warn({ err: error, id }, `contact search keys not written: ${errorMessage(error)}`);
    });
  }

  private index(): Promise<SearchIndex> {
    if (this.#searchIndex) return Promise.resolve(this.#searchIndex);
    this.#indexBuilding ??= this.buildIndex().catch((error: unknown) => {
      this.#indexBuilding = null;
      throw error;
    });
    return this.#indexBuilding;
  }

  /**
   * Opens the keys collection, checks every contact's keys against its entry in slices (computing those missing
   * or stale), then, synchronously, takes in the contacts changed meanwhile (follow() kept their keys up to
   * date), writes the keys computed, deletes keys of contacts that are gone and builds the index.
   */
  private async buildIndex(): Promise<SearchIndex> {
    const keys = await this.openKeys();
    this.checkOpen();
    const changed = new Set<string>();
    this.#changedDuringBuild = changed;
    try {
      const contacts = [...this.collection.entries()];
      const found: Array<readonly string[]> = new Array(contacts.length);
      const repaired: ContactKeys[] = [];
      /** contacts having a keys document (right or not): fewer documents than that means some are orphans */
      let withKeys = 0;
      let sliceStart = performance.now();
      for (let i = 0; i < contacts.length; i++) {
        // the clock read costs more than a contact: look at it every 256th
        if ((i & 255) === 255 && performance.now() - sliceStart > BUILD_SLICE_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          this.checkOpen();
          sliceStart = performance.now();
        }
        const [id, entry] = contacts[i];
        const stored = keys.entry(id);
        if (stored) withKeys++;
        if (stored?.of === keysFingerprint(entry)) found[i] = stored.keys;
        else {
          const doc = contactKeysOf(id, entry);
          repaired.push(doc);
          found[i] = doc.keys;
        }
      }
      // from here on synchronous: the index is complete when follow() starts feeding it
      const list: Array<[string, readonly string[]]> = [];
      for (let i = 0; i < contacts.length; i++) if (!changed.has(contacts[i][0])) list.push([contacts[i][0], found[i]]);
      for (const id of changed) {
        const entry = this.collection.entry(id);
        if (entry) list.push([id, this.currentKeys(keys, id, entry)]);
      }
      const toWrite = changed.size > 0 ? repaired.filter((doc) => !changed.has(doc.id)) : repaired;
      if (toWrite.length > 0) {
        this.options.log?.info({ contacts: toWrite.length }, `contacts: search keys of ${toWrite.length} contacts computed again`);
        this.logKeysFailure(keys.putMany(toWrite), null);
      }
      // every keys document not counted in withKeys belongs to no contact (unless contacts changed meanwhile: look)
      if (keys.size > withKeys || changed.size > 0) {
        const orphans: string[] = [];
        for (const [id] of keys.entries()) if (!this.collection.has(id)) orphans.push(id);
        for (const id of orphans) this.logKeysFailure(keys.delete(id), id);
      }
      const index = SearchIndex.build(list);
      this.#searchIndex = index;
      return index;
    } finally {
      this.#changedDuringBuild = null;
    }
  }

  private checkOpen(): void {
    if (this.#closed) throw new DesklineError('CONTACTS_CLOSED', 'the contacts repository is closed');
  }

  private indexNumbers(id: string, entry: ContactEntry): void {
    if (entry.updated > this.#newestFieldTime) this.#newestFieldTime = entry.updated;
    for (const key of entry.numbers) {
      const current = this.#byNumber.get(key);
      if (current === undefined) this.#byNumber.set(key, id);
      else if (typeof current === 'string') {
        if (current !== id) this.#byNumber.set(key, [current, id]);
      } else if (!current.includes(id)) current.push(id);
    }
  }

  private unindexNumbers(id: string, entry: ContactEntry): void {
    for (const key of entry.numbers) {
      const current = this.#byNumber.get(key);
      if (current === id) this.#byNumber.delete(key);
      else if (Array.isArray(current)) {
        const rest = current.filter((other) => other !== id);
        this.#byNumber.set(key, rest.length === 1 ? rest[0] : rest);
      }
    }
  }
}

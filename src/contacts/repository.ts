import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { DesklineError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Collection, CollectionChange, CollectionSpec, Store } from '../store/types.js';
import { ContactValidationError, applyChanges, contactEntryOf, isStoredContact, mergeRow, newContact, parseContactInput } from './model.js';
import { lookupKeysOfRaw, numberLookupKey } from './numbers.js';
import { DEFAULT_SEARCH_LIMIT, SearchIndex } from './search.js';
import type {
  Contact,
  ContactChangeKind,
  ContactEntry,
  ContactFields,
  ContactHit,
  ContactInput,
  ContactIssue,
  ContactNumber,
  ContactPatch,
  DuplicatePolicy,
} from './types.js';

export const CONTACTS_COLLECTION: Readonly<CollectionSpec<Contact, ContactEntry>> = Object.freeze({
  name: 'contacts',
  // ~200 contacts per shard at 100,000: an edit rewrites tens of kilobytes
  placement: Object.freeze({ kind: 'hash', shards: 512 } as const),
  entryOf: contactEntryOf,
  isValid: isStoredContact,
});

export const MAX_SEARCH_LIMIT = 100;
/** Inputs of importMany handled between two turns of the event loop. */
const IMPORT_SLICE = 200;

export interface ContactsRepositoryOptions {
  store: Store;
  /** the line's country (config device.country), to normalise numbers to E.164 */
  country: () => string;
  clock: Clock;
  /** where a change listener that throws is reported */
  log?: Logger;
}

/** What became of one input of `importMany`. */
export type ImportOutcome =
  | { result: 'created' | 'updated' | 'unchanged' | 'skipped'; id: string }
  | { result: 'invalid'; issues: ContactIssue[] };

/**
 * The contacts: whole contacts in the store, and in memory for each its entry, a number -> contact map for
 * caller lookup and the search index. Both follow every change of the collection, whoever writes it.
 */
export class ContactsRepository {
  /** number key (E.164, or digits) -> id, or ids when several contacts share the number */
  readonly #byNumber = new Map<string, string | string[]>();
  readonly #listeners = new Set<(id: string, change: ContactChangeKind) => void>();
  readonly #unsubscribe: () => void;
  /** Built on the first search or warm-up, not at open: caller lookup (the number map) is what a start-up needs first. */
  #searchIndex: SearchIndex | null = null;

  private constructor(
    private readonly collection: Collection<Contact, ContactEntry>,
    private readonly options: ContactsRepositoryOptions,
  ) {
    this.#unsubscribe = collection.onChange((change) => this.follow(change));
    for (const [id, entry] of collection.entries()) this.indexNumbers(id, entry);
  }

  /** Opens the collection and builds the lookup map from the entries (no document is read); search builds its index when first used. */
  static async open(options: ContactsRepositoryOptions): Promise<ContactsRepository> {
    const collection = await options.store.collection(CONTACTS_COLLECTION);
    return new ContactsRepository(collection, options);
  }

  /** Stop following the collection (the repository is not used after this). */
  close(): void {
    this.#unsubscribe();
    this.#listeners.clear();
  }

  get count(): number {
    return this.collection.size;
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

  entry(id: string): ContactEntry | undefined {
    return this.collection.entry(id);
  }

  get(id: string): Promise<Contact | undefined> {
    return this.collection.get(id);
  }

  /** Contacts having a key that starts with the query (name, company, pinyin, initials, number digits), in name order. */
  search(query: string, limit = DEFAULT_SEARCH_LIMIT): ContactHit[] {
    return this.index().search(query, Math.max(1, Math.min(MAX_SEARCH_LIMIT, Math.floor(limit))));
  }

  /** Sort search buckets not sorted yet, about `budget` keys' worth; true when all are. */
  warmUp(budget?: number): boolean {
    return this.index().warmUp(budget);
  }

  async create(input: ContactInput): Promise<Contact> {
    const { fields, issues } = parseContactInput(input, 'create', this.options.country());
    if (!fields) throw new ContactValidationError(issues);
    const contact = newContact(randomUUID(), fields, this.options.clock.now());
    await this.collection.put(contact);
    return contact;
  }

  /** Change the fields present in `patch` (null or '' clears one); throws CONTACT_NOT_FOUND. A patch that changes nothing writes nothing. */
  async update(id: string, patch: ContactPatch): Promise<Contact> {
    const { fields, issues } = parseContactInput(patch, 'patch', this.options.country());
    if (!fields) throw new ContactValidationError(issues);
    const current = await this.collection.get(id);
    if (current && applyChanges(current, fields, this.options.clock.now()).changed.length === 0) return current;
    let updated: Contact | undefined;
    await this.collection.update(id, (doc) => {
      updated = applyChanges(doc, fields, this.options.clock.now()).contact;
      return updated;
    });
    if (!updated) throw new DesklineError('CONTACT_NOT_FOUND', `no contact '${id}'`);
    return updated;
  }

  delete(id: string): Promise<boolean> {
    return this.collection.delete(id);
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
    const country = this.options.country();
    const now = this.options.clock.now();
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
        const { contact, changed } = applyChanges(current, merged.changes, now);
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
      const contact = newContact(randomUUID(), { name: fields.name, company: null, numbers: [], email: null, address: null, tags: [], notes: null, fields: {}, due: [], ...fields }, now);
      remember(contact);
      created.add(contact.id);
      outcomes.push({ result: 'created', id: contact.id });
    }
    // all in one turn, so the store writes them together; a merge applies to the contact as it is by then
    // (changed by someone else while this batch was read, it keeps that change)
    const writes: Array<Promise<unknown>> = [this.collection.putMany([...created].map((id) => pending.get(id)!))];
    for (const [id, rows] of merges) {
      writes.push(this.collection.update(id, (contact) => rows.reduce<Contact>((doc, row) => {
        const merged = mergeRow(doc, row);
        return merged.issues.length > 0 ? doc : applyChanges(doc, merged.changes, now).contact;
      }, contact)));
    }
    await Promise.all(writes);
    return outcomes;
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
      return entry ? { id: ids, entry } : undefined;
    }
    let best: ContactHit | undefined;
    for (const id of ids) {
      const entry = this.collection.entry(id);
      if (entry && (!best || entry.updated >= best.entry.updated)) best = { id, entry };
    }
    return best;
  }

  private follow(change: CollectionChange<ContactEntry>): void {
    if (change.previous) this.unindexNumbers(change.id, change.previous);
    if (change.type === 'put') {
      this.indexNumbers(change.id, change.entry);
      this.#searchIndex?.set(change.id, change.entry);
    } else {
      this.#searchIndex?.remove(change.id);
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

  private index(): SearchIndex {
    this.#searchIndex ??= SearchIndex.build(this.collection.entries());
    return this.#searchIndex;
  }

  private indexNumbers(id: string, entry: ContactEntry): void {
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

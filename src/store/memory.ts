import { DesklineError } from '../core/errors.js';
import { checkDocument, sequenceNumber } from './shard-files.js';
import type { Collection, CollectionChange, CollectionSpec, RecoveryReport, Store, StoreStats } from './types.js';

/**
 * A collection that lives only in memory: for tools and tests that need no durability. Same contract, nothing on
 * disk (every entry stays in memory, whatever the placement).
 */
export class MemoryCollection<T extends { id: string }, E, S = undefined> implements Collection<T, E, S> {
  readonly #docs = new Map<string, T>();
  readonly #entries = new Map<string, E>();
  /** sequence placement: the highest number put, and whether an entry was added below it (sorted before iterating) */
  #lastNumber = 0;
  #outOfOrder = false;
  readonly #listeners = new Set<(change: CollectionChange<E>) => void>();
  readonly digest: S;

  constructor(private readonly spec: CollectionSpec<T, E, S>) {
    this.digest = spec.digest?.create() as S;
  }

  get name(): string {
    return this.spec.name;
  }

  get size(): number {
    return this.#docs.size;
  }

  has(id: string): boolean {
    return this.#docs.has(id);
  }

  entry(id: string): E | undefined {
    return this.#entries.get(id);
  }

  entries(): IterableIterator<[string, E]> {
    if (this.#outOfOrder) {
      const sorted = [...this.#entries].sort(([a], [b]) => Number(a) - Number(b));
      this.#entries.clear();
      for (const [id, entry] of sorted) this.#entries.set(id, entry);
      this.#outOfOrder = false;
    }
    return this.#entries.entries();
  }

  async get(id: string): Promise<T | undefined> {
    const doc = this.#docs.get(id);
    return doc === undefined ? undefined : structuredClone(doc);
  }

  async getMany(ids: readonly string[]): Promise<T[]> {
    return ids.flatMap((id) => {
      const doc = this.#docs.get(id);
      return doc === undefined ? [] : [structuredClone(doc)];
    });
  }

  async put(doc: T): Promise<void> {
    this.apply(this.check(doc));
  }

  async putMany(docs: readonly T[]): Promise<void> {
    for (const doc of docs.map((d) => this.check(d))) this.apply(doc);
  }

  async update(id: string, fn: (doc: T) => T): Promise<T | undefined> {
    const current = this.#docs.get(id);
    if (current === undefined) return undefined;
    const next = fn(structuredClone(current));
    if (next.id !== id) throw new DesklineError('STORE_ID_CHANGED', `update of '${id}' in ${this.name} changed its id to '${next.id}'`);
    this.apply(next);
    return structuredClone(next);
  }

  async delete(id: string): Promise<boolean> {
    const previous = this.#entries.get(id);
    if (previous === undefined) return false;
    this.#docs.delete(id);
    this.#entries.delete(id);
    this.emit({ type: 'delete', id, previous });
    return true;
  }

  onChange(listener: (change: CollectionChange<E>) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  private check(doc: T): T {
    checkDocument(doc, this.name);
    if (this.spec.placement.kind === 'sequence') sequenceNumber(doc.id, this.name);
    return doc;
  }

  private apply(doc: T): void {
    const copy = structuredClone(doc);
    const entry = this.spec.entryOf(copy);
    const previous = this.#entries.get(doc.id);
    if (previous === undefined && this.spec.placement.kind === 'sequence') {
      const number = Number(doc.id);
      if (number < this.#lastNumber) this.#outOfOrder = true;
      else this.#lastNumber = number;
    }
    this.#docs.set(doc.id, copy);
    this.#entries.set(doc.id, entry);
    this.emit({ type: 'put', id: doc.id, entry, previous });
  }

  private emit(change: CollectionChange<E>): void {
    const digest = this.spec.digest;
    if (digest) {
      if (change.type === 'put') digest.apply(this.digest, change.id, change.entry, change.previous);
      else digest.remove(this.digest, change.id, change.previous);
    }
    for (const listener of this.#listeners) listener(change);
  }
}

export class MemoryStore implements Store {
  readonly #collections = new Map<string, MemoryCollection<never, unknown, unknown>>();

  async collection<T extends { id: string }, E, S = undefined>(spec: CollectionSpec<T, E, S>): Promise<Collection<T, E, S>> {
    let collection = this.#collections.get(spec.name) as unknown as MemoryCollection<T, E, S> | undefined;
    if (!collection) {
      collection = new MemoryCollection(spec);
      this.#collections.set(spec.name, collection as unknown as MemoryCollection<never, unknown, unknown>);
    }
    return collection;
  }

  recoveries(): readonly RecoveryReport[] {
    return [];
  }

  stats(): StoreStats {
    return { bytesWritten: 0, filesWritten: 0, flushes: 0 };
  }

  async close(): Promise<void> {}
}

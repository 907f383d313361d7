/**
 * The local store's contract. Repositories (contacts, history, recordings) are written against
 * `Collection`; only src/store knows the documents live in lowdb files.
 *
 * Layout on disk (the file store): <data>/store/<collection>/ holds shard files, each a lowdb JSON
 * document written atomically (temp file, fsync, rename, directory fsync) with the previous good copy
 * kept as a backup, and beside each shard the compact entries of its documents. A snapshot file gathers
 * the entries (and the digest) of the whole collection with the stamp of every shard file, so a cold start
 * reads one file plus the shards written after it, and not the documents.
 */

/** Where a document's shard is. */
export type Placement =
  /** by a hash of the id over a fixed number of shards (contacts, recordings): any document may change */
  | { kind: 'hash'; shards: number }
  /**
   * by number (history): ids are the decimal numbers '1', '2', ..., document n lives in segment ceil(n / segmentSize),
   * so an append rewrites only the newest segment and any document is found without an index. Only the newest
   * `resident` segments keep their entries in memory; older ones are read from disk when asked for.
   */
  | { kind: 'sequence'; segmentSize: number; resident: number };

/**
 * A summary the store keeps over every document of a sequence collection (the history's per-customer index),
 * folded from the entries as they change and saved in the collection's snapshot now and then, so an open
 * reads the snapshot and the few segments written after it instead of every segment.
 */
export interface DigestSpec<E, S> {
  /** Bump when what `apply` folds changes: a snapshot of another version is folded again from every segment. */
  version: number;
  create(): S;
  /**
   * Folds in one document's entry. `previous` is its entry before this change, undefined for a new document,
   * or 'replayed' when the document was already folded into the snapshot this state came from and may have
   * changed since (apply what may have changed, don't count it again). MUST NOT throw.
   */
  apply(state: S, id: string, entry: E, previous: E | undefined | 'replayed'): void;
  /** Takes a deleted document out. */
  remove(state: S, id: string, previous: E): void;
  /**
   * JSON of the state for the snapshot, and back (undefined when the JSON is not a state this version wrote).
   * `save` MUST return a value that later changes to the state leave alone (it is written out a slice at a time
   * while the phone goes on): copy what `apply` and `remove` change in place.
   */
  save(state: S): unknown;
  load(json: unknown): S | undefined;
}

export interface CollectionSpec<T extends { id: string }, E, S = undefined> {
  /** Folder name under the store directory: [a-z0-9-]+. */
  name: string;
  placement: Placement;
  /**
   * The compact projection kept in memory for every document (and persisted beside its shard):
   * what lookups, lists and search need without reading the document. MUST be JSON-serialisable
   * and MUST be a pure function of the document.
   */
  entryOf(doc: T): E;
  /**
   * Bump when `entryOf` changes what it returns: entries persisted by another version are then rebuilt
   * from the documents when the collection opens (default 0).
   */
  entriesVersion?: number;
  /** Checks a document read from disk; a document that fails is skipped and reported, never loaded. */
  isValid?(doc: unknown): doc is T;
  /** sequence placement only: a summary over all documents, kept by the store (see DigestSpec) */
  digest?: DigestSpec<E, S>;
}

/** One thing the store repaired when it opened, so the runtime can report it (log, bus, cloud). */
export interface RecoveryReport {
  collection: string;
  /** path of the damaged file */
  file: string;
  /** what was wrong, in words ('unexpected end of JSON input', 'not a shard document') */
  problem: string;
  /**
   * restored-backup: the shard came back from its last good copy (changes after that copy are lost);
   * started-empty: neither the shard nor its backup was readable, the shard starts empty;
   * rebuilt-entries: the entries file was missing, stale or damaged and was rebuilt from the shard (nothing lost);
   * rebuilt-digest: the snapshot holding the digest was missing, damaged or of another version; the digest was folded again from every segment (nothing lost);
   * skipped-document: a document failed `isValid` and was left out;
   * truncated-journal: a line in the middle of a sequence collection's journal was damaged; the changes from it on are lost.
   */
  action: 'restored-backup' | 'started-empty' | 'rebuilt-entries' | 'rebuilt-digest' | 'skipped-document' | 'truncated-journal';
}

export type CollectionChange<E> =
  | { type: 'put'; id: string; entry: E; previous: E | undefined }
  | { type: 'delete'; id: string; previous: E };

/**
 * A durable set of documents keyed by `id`.
 * - Entries of all documents (sequence placement: of the documents in the newest `resident` segments) MUST be in
 *   memory after open; whole documents are read on demand. `has`, `entry`, `entries` and `size` see the
 *   entries in memory; `get`, `getMany`, `update` and `delete` find any document.
 * - Sequence placement: a document's id MUST be a decimal number from 1 (STORE_BAD_ID otherwise).
 * - A write (put/update/delete) is applied to memory at once (visible to `entry`/`get` immediately) and its
 *   promise MUST resolve only after it is durable on disk (in its shard file, or for the newest segments of a
 *   sequence collection in the collection's journal); writes made in the same tick are coalesced into one write
 *   per shard (one journal line).
 * - A failed write rejects every promise of its batch; the memory state stays (it is retried with the next write).
 * - `entries()` MUST iterate in insertion order (a replaced document keeps its place, a re-added one goes last);
 *   sequence placement: in number order, whatever order the documents were put in.
 */
export interface Collection<T extends { id: string }, E, S = undefined> {
  readonly name: string;
  /** documents whose entries are in memory */
  readonly size: number;
  /** The spec's digest over every document, up to date with every change applied to memory (undefined without one). */
  readonly digest: S;
  has(id: string): boolean;
  entry(id: string): E | undefined;
  entries(): IterableIterator<[string, E]>;
  get(id: string): Promise<T | undefined>;
  /** The documents that exist, in the order of `ids`. */
  getMany(ids: readonly string[]): Promise<T[]>;
  put(doc: T): Promise<void>;
  putMany(docs: readonly T[]): Promise<void>;
  /** Replace a document with fn(current); resolves to the new document, or undefined when there is none. */
  update(id: string, fn: (doc: T) => T): Promise<T | undefined>;
  delete(id: string): Promise<boolean>;
  /** Called synchronously for every change as it is applied to memory; returns an unsubscribe function. Entries MUST be treated as read-only. */
  onChange(listener: (change: CollectionChange<E>) => void): () => void;
}

export interface StoreStats {
  /** bytes handed to the file system (documents, entries and backups' renames count 0) */
  bytesWritten: number;
  filesWritten: number;
  /** coalesced batches written */
  flushes: number;
}

export interface Store {
  /** Opens (loading entries, recovering damaged files) or returns the already open collection of that name. */
  collection<T extends { id: string }, E, S = undefined>(spec: CollectionSpec<T, E, S>): Promise<Collection<T, E, S>>;
  /** What was repaired while opening collections so far. */
  recoveries(): readonly RecoveryReport[];
  stats(): StoreStats;
  /** Waits for pending writes, then closes. */
  close(): Promise<void>;
}

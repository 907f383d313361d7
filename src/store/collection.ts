/**
 * One collection of the file store: a folder of shard files (see shard-files.ts for the layout).
 *
 * Memory holds the entries of every document (sequence placement: of the resident segments; `#records`, in
 * insertion order) and an LRU cache of whole shards. A write changes memory at once and joins the batch of the
 * current tick; a batch writes each dirty shard once (shard file, then its entries file), fsyncs the directory
 * once, and only then resolves the promises of its writes. Changes to the resident segments of a sequence
 * collection go into one journal line instead (journal.ts), and their segments are written every so often.
 * One batch per collection is in flight at a time; writes made meanwhile form the next.
 *
 * Crash safety rests on these facts:
 *  - every file replacement is atomic and its content fsynced before it is renamed into place (durable-file.ts),
 *    so after any crash each shard file is either its previous or its new complete content;
 *  - a promise resolves only after the directory fsync that follows the renames of its batch, or the fdatasync
 *    of its journal line; the journal is emptied only after the segments it covers are durable, and a segment
 *    the journal holds changes of is only ever changed through the journal (replaying it never undoes a newer write);
 *  - derived files (entries, snapshot) are only trusted while the shard file they were computed from (inode,
 *    size, mtime) is the one on disk; a crash between two renames is detected and the entries rebuilt.
 */
import { statSync } from 'node:fs';
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DesklineError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { DurableFile, moveAside, readJson, syncDirectory, type FileRecovery, type FileStamp, type WrittenFile } from './durable-file.js';
import { Journal } from './journal.js';
import { stringifyInSlices } from './sliced-json.js';
import {
  JOURNAL_FILE,
  SNAPSHOT_FILE,
  META_FILE,
  STORE_FORMAT,
  checkDocument,
  checkId,
  entryColumnsText,
  insertionOrder,
  isCollectionMeta,
  isEntriesDocument,
  isShardDocument,
  isSequenceId,
  isTempFile,
  samePlacement,
  sequenceNumber,
  shardIndexOf,
  shardNames,
  stampMatches,
  statStamp,
  type CollectionMeta,
  type EntriesDocument,
  type EntryColumns,
  type ShardDocument,
  type ShardNames,
} from './shard-files.js';
import type { Collection, CollectionChange, CollectionSpec, DigestSpec, RecoveryReport } from './types.js';

/** Counters shared by all collections of one store (StoreStats). */
export interface StoreCounters {
  bytesWritten: number;
  filesWritten: number;
  flushes: number;
}

export interface FileCollectionOptions<T extends { id: string }, E, S = undefined> {
  /** the collection's own folder */
  dir: string;
  spec: CollectionSpec<T, E, S>;
  /** shards kept in memory beyond the pinned ones */
  cacheShards: number;
  /** shard files written (or read on open) at the same time */
  ioConcurrency: number;
  /** journal bytes after which the segments it holds changes of are written and it is emptied: what an open replays at most */
  journalLimit: number;
  counters: StoreCounters;
  report(recovery: RecoveryReport): void;
  log?: Logger;
}

interface DocRecord<E> {
  entry: E;
  /** insertion number: orders entries across hash shards after a reopen */
  seq: number;
  shard: number;
}

/** A shard's documents as one load of it saw them (see #peek). */
interface Resident<T> {
  generation: number;
  docs: Map<string, T>;
}

class Shard<T> {
  /** the documents, while the shard is in memory */
  docs: Map<string, T> | undefined;
  /** bumped on every load: tells a stale copy of `docs` from the current one */
  generation = 0;
  loading: Promise<Map<string, T>> | undefined;
  /** changes made while the documents were not in memory (null = deleted), replayed in order on load */
  pendingOps: Array<[string, T | null]> = [];
  pendingLatest = new Map<string, T | null>();
  /** raw documents that failed validation: left out, but written back so nothing is thrown away */
  skipped: unknown[] = [];
  skipsReported = false;
  /** documents memory places in this shard (including pending changes) */
  count = 0;
  rev = 0;
  dirty = false;
  writing = false;

  constructor(
    readonly index: number,
    readonly file: DurableFile<ShardDocument>,
    readonly entriesFile: DurableFile<EntriesDocument>,
  ) {}

  /** Applies a change to the documents, or queues it until they are loaded. */
  apply(id: string, doc: T | null): void {
    if (!this.docs) {
      this.pendingOps.push([id, doc]);
      this.pendingLatest.set(id, doc);
      return;
    }
    applyOp(this, this.docs, id, doc);
  }
}

function applyOp<T>(shard: Shard<T>, docs: Map<string, T>, id: string, doc: T | null): void {
  // Map semantics, as in the records map: a replaced document keeps its place, a deleted and re-added one goes last.
  if (doc) docs.set(id, doc);
  else docs.delete(id);
  if (shard.skipped.length) shard.skipped = shard.skipped.filter((raw) => (raw as { id?: unknown } | null)?.id !== id);
}

export class FileCollection<T extends { id: string }, E, S = undefined> implements Collection<T, E, S> {
  readonly #dir: string;
  readonly #spec: CollectionSpec<T, E, S>;
  readonly #options: FileCollectionOptions<T, E, S>;
  readonly #names: ShardNames;
  readonly #log: Logger | undefined;
  readonly #records = new Map<string, DocRecord<E>>();
  readonly #shards = new Map<number, Shard<T>>();
  /** loaded shards, least recently used first */
  readonly #cache = new Map<number, Shard<T>>();
  readonly #listeners = new Set<(change: CollectionChange<E>) => void>();
  #lastSeq = 0;
  /** sequence placement: the highest segment on disk or written (0: none); entries are in memory from #lastSegment - resident + 1 */
  #lastSegment = 0;
  /** sequence placement: the highest document number in memory */
  #lastNumber = 0;
  /** sequence placement: a record was added below the newest one; `entries()` puts them back in order first */
  #outOfOrder = false;
  readonly #digest: { spec: DigestSpec<E, S>; state: S } | undefined;
  /** sequence placement: the write-ahead journal of changes to the resident segments (journal.ts) */
  readonly #journal: Journal | undefined;
  /** this batch's changes for the journal */
  #journalOps = new Map<string, T | null>();
  /** segments whose latest changes are in the journal, not yet in their files: kept in memory until written */
  #unmaterialized = new Set<Shard<T>>();
  /** write those segments (and empty the journal) with the next batch: after an open replayed the journal, or a journal write failed */
  #materializeDue = false;
  /** replaying the journal at open: changes go to memory (and their segments), not into the journal again */
  #replaying = false;
  readonly #snapshot: SnapshotState = { through: -1, lastNumber: 0, stamps: new Map(), touched: new Set(), wanted: false, saving: undefined };

  readonly #dirty = new Set<Shard<T>>();
  #waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  #timer: NodeJS.Immediate | undefined;
  #inFlight: Promise<void> | undefined;
  #closed = false;

  private constructor(options: FileCollectionOptions<T, E, S>) {
    this.#options = options;
    this.#dir = options.dir;
    this.#spec = options.spec;
    this.#names = shardNames(options.spec.placement);
    this.#log = options.log;
    if (options.spec.placement.kind === 'sequence') this.#journal = new Journal(join(this.#dir, JOURNAL_FILE));
    const digest = options.spec.digest;
    if (digest) {
      if (options.spec.placement.kind !== 'sequence') throw new DesklineError('STORE_BAD_SPEC', `collection ${options.spec.name}: a digest needs sequence placement`);
      this.#digest = { spec: digest, state: digest.create() };
    }
  }

  /** Opens the collection folder: reads the entries files (sequence placement: of the resident segments) and repairs what it must. */
  static async open<T extends { id: string }, E, S = undefined>(options: FileCollectionOptions<T, E, S>): Promise<FileCollection<T, E, S>> {
    const collection = new FileCollection(options);
    await collection.#open();
    return collection;
  }

  get name(): string {
    return this.#spec.name;
  }

  get digest(): S {
    return this.#digest?.state as S;
  }

  get size(): number {
    return this.#records.size;
  }

  has(id: string): boolean {
    return this.#records.has(id);
  }

  entry(id: string): E | undefined {
    return this.#records.get(id)?.entry;
  }

  *entries(): IterableIterator<[string, E]> {
    if (this.#outOfOrder) this.#sortRecords();
    for (const [id, record] of this.#records) yield [id, record.entry];
  }

  async get(id: string): Promise<T | undefined> {
    this.#checkOpen();
    const found = await this.#current(id);
    return found === undefined ? undefined : structuredClone(found);
  }

  async getMany(ids: readonly string[]): Promise<T[]> {
    this.#checkOpen();
    const toLoad = new Set<Shard<T>>();
    for (const id of ids) {
      const found = this.#peek(id);
      if (found instanceof Shard) toLoad.add(found);
    }
    const resident = await this.#loadAll(toLoad);
    const docs: T[] = [];
    for (const id of ids) {
      const found = this.#peek(id, resident);
      // a shard that changed hands while the others loaded: look it up on its own
      const doc = found instanceof Shard ? await this.get(id) : found === undefined ? undefined : structuredClone(found);
      if (doc !== undefined) docs.push(doc);
    }
    return docs;
  }

  put(doc: T): Promise<void> {
    return this.putMany([doc]);
  }

  async putMany(docs: readonly T[]): Promise<void> {
    this.#checkOpen();
    if (docs.length === 0) return;
    // all or nothing: every document is checked and projected before the first one is applied
    const prepared = docs.map((doc) => this.#prepare(doc));
    // Documents outside memory (older segments): their segments are read first, so the change carries the
    // entry it replaces. Everything else is applied at once, in this tick.
    let resident: Map<Shard<T>, Resident<T>> | undefined;
    let previous: Array<T | undefined> = [];
    for (;;) {
      const toLoad = new Set<Shard<T>>();
      previous = prepared.map(({ doc }) => {
        if (!this.#outsideShard(doc.id)) return undefined;
        const found = this.#peek(doc.id, resident);
        if (found instanceof Shard) toLoad.add(found);
        return found instanceof Shard ? undefined : found;
      });
      if (toLoad.size === 0) break;
      resident = await this.#loadAll(toLoad);
      this.#checkOpen();
    }
    prepared.forEach((item, i) => this.#applyPut(item, previous[i]));
    await this.#nextBatch();
  }

  async update(id: string, fn: (doc: T) => T): Promise<T | undefined> {
    this.#checkOpen();
    checkId(id, this.name);
    let resident: Map<Shard<T>, Resident<T>> | undefined;
    for (;;) {
      const found = this.#peek(id, resident);
      if (found instanceof Shard) {
        resident = new Map([[found, await this.#resident(found)]]);
        this.#checkOpen();
        continue;
      }
      if (found === undefined) return undefined;
      // From reading the current document to applying the new one nothing awaits, so no other write can
      // slip in between and be lost.
      const next = fn(structuredClone(found));
      if (next?.id !== id) throw new DesklineError('STORE_ID_CHANGED', `update of '${id}' in ${this.name} changed its id to '${next?.id}'`);
      const prepared = this.#prepare(next);
      this.#applyPut(prepared, found);
      await this.#nextBatch();
      return structuredClone(prepared.doc);
    }
  }

  async delete(id: string): Promise<boolean> {
    this.#checkOpen();
    checkId(id, this.name);
    if (!(await this.#applyDelete(id))) return false;
    await this.#nextBatch();
    return true;
  }

  /** Applies a delete to memory (reading the document's segment first when it is outside memory); false when there is no such document. */
  async #applyDelete(id: string): Promise<boolean> {
    const record = this.#records.get(id);
    let previous: E;
    let shard: Shard<T>;
    if (record) {
      shard = this.#shardAt(record.shard);
      this.#records.delete(id);
      shard.count--;
      previous = record.entry;
    } else {
      if (!this.#outsideShard(id)) return false;
      const found = await this.#current(id);
      if (found === undefined) return false;
      shard = this.#shardAt(shardIndexOf(this.#spec.placement, id, this.name));
      previous = this.#spec.entryOf(found);
    }
    shard.apply(id, null);
    this.#changed(shard, id, null);
    this.#emit({ type: 'delete', id, previous });
    return true;
  }

  onChange(listener: (change: CollectionChange<E>) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Writes what is pending (one last attempt for shards a failed batch left dirty) and the digest, then refuses further use. */
  async close(): Promise<void> {
    this.#closed = true;
    try {
      for (;;) {
        if (this.#timer) {
          clearImmediate(this.#timer);
          this.#timer = undefined;
        }
        if (this.#inFlight) {
          await this.#inFlight;
          continue;
        }
        if (this.#waiters.length === 0 && this.#dirty.size === 0 && this.#unmaterialized.size === 0) {
          await this.#snapshot.saving;
          this.#snapshotWhenDue(true);
          await this.#snapshot.saving;
          return;
        }
        const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
        this.#startBatch();
        await done;
      }
    } finally {
      await this.#journal?.close();
    }
  }

  // ---- reads -------------------------------------------------------------------------------------

  /**
   * The current document, read synchronously: from the pending changes, the loaded shard, or `resident`
   * (a load of the shard that is still current even if the cache has dropped it since). Returns the shard
   * when it must be loaded first.
   */
  #peek(id: string, resident?: Map<Shard<T>, Resident<T>>): T | undefined | Shard<T> {
    const record = typeof id === 'string' ? this.#records.get(id) : undefined;
    const shard = record ? this.#shardAt(record.shard) : this.#outsideShard(id);
    if (!shard) return undefined;
    const pending = shard.pendingLatest.get(id);
    if (pending !== undefined) return pending ?? undefined;
    if (shard.docs) {
      this.#touch(shard);
      return shard.docs.get(id);
    }
    // Dropped from the cache after this load: it was clean then, and later changes are in pendingLatest.
    const loaded = resident?.get(shard);
    if (loaded && loaded.generation === shard.generation) return loaded.docs.get(id);
    return shard;
  }

  async #resident(shard: Shard<T>): Promise<Resident<T>> {
    const docs = await this.#load(shard);
    return { generation: shard.generation, docs };
  }

  /** The current document (not a copy), reading its shard when needed. */
  async #current(id: string): Promise<T | undefined> {
    let resident: Map<Shard<T>, Resident<T>> | undefined;
    for (;;) {
      const found = this.#peek(id, resident);
      if (!(found instanceof Shard)) return found;
      resident = await this.#loadAll([found]);
    }
  }

  async #loadAll(shards: Iterable<Shard<T>>): Promise<Map<Shard<T>, Resident<T>>> {
    const resident = new Map<Shard<T>, Resident<T>>();
    await forEachLimit([...shards], this.#options.ioConcurrency, async (shard) => void resident.set(shard, await this.#resident(shard)));
    return resident;
  }

  /** Sequence placement: whether a segment's entries are in memory (always for hash shards). */
  #isResident(index: number): boolean {
    const placement = this.#spec.placement;
    return placement.kind === 'hash' || index > this.#lastSegment - placement.resident;
  }

  /** The segment of a document whose entry is not in memory (an older segment of a sequence collection), else undefined. */
  #outsideShard(id: string): Shard<T> | undefined {
    const placement = this.#spec.placement;
    if (placement.kind !== 'sequence' || typeof id !== 'string' || !isSequenceId(id)) return undefined;
    const index = Math.ceil(Number(id) / placement.segmentSize);
    return index <= this.#lastSegment && !this.#isResident(index) ? this.#shardAt(index) : undefined;
  }

  /**
   * A new record goes last (a Map iterates in insertion order). In a sequence collection one can come below the
   * newest: an older id put again after its delete, or, after a crash between two segment renames, changes the
   * journal replays into the segment that was not renamed.
   */
  #addRecord(id: string, entry: E, shard: Shard<T>): void {
    const seq = this.#seqOf(id);
    this.#records.set(id, { entry, seq, shard: shard.index });
    shard.count++;
    if (this.#spec.placement.kind !== 'sequence') return;
    if (seq < this.#lastNumber) this.#outOfOrder = true;
    else this.#lastNumber = seq;
  }

  /** Sequence placement: the records in id order again. */
  #sortRecords(): void {
    const sorted = [...this.#records].sort(([, a], [, b]) => a.seq - b.seq);
    this.#records.clear();
    for (const [id, record] of sorted) this.#records.set(id, record);
    this.#outOfOrder = false;
  }

  /** The insertion number of a new record: sequence ids are their own. */
  #seqOf(id: string): number {
    return this.#spec.placement.kind === 'sequence' ? Number(id) : ++this.#lastSeq;
  }

  #load(shard: Shard<T>): Promise<Map<string, T>> {
    if (shard.docs) {
      this.#touch(shard);
      return Promise.resolve(shard.docs);
    }
    shard.loading ??= this.#loadFromDisk(shard).finally(() => {
      shard.loading = undefined;
    });
    return shard.loading;
  }

  async #loadFromDisk(shard: Shard<T>): Promise<Map<string, T>> {
    const { docs, skipped, recovered } = await this.#readShard(shard);
    shard.skipped = skipped;
    for (const [id, doc] of shard.pendingOps) applyOp(shard, docs, id, doc);
    shard.pendingOps = [];
    shard.pendingLatest.clear();
    shard.docs = docs;
    shard.generation++;
    this.#reconcile(shard, docs, recovered);
    this.#cache.set(shard.index, shard);
    this.#evict();
    return docs;
  }

  /** Reads a shard file (restoring it from its backup if need be) and sorts out documents that fail validation. */
  async #readShard(shard: Shard<T>): Promise<{ docs: Map<string, T>; seqs: Map<string, number>; skipped: unknown[]; recovered: boolean }> {
    const { data, recovery } = await shard.file.readWithRecovery();
    if (recovery) this.#report(recovery);
    const docs = new Map<string, T>();
    const seqs = new Map<string, number>();
    const skipped: unknown[] = [];
    const problems: string[] = [];
    const raws = data?.docs ?? [];
    for (let i = 0; i < raws.length; i++) {
      const raw = raws[i];
      const id = (raw as { id?: unknown } | null)?.id;
      const problem =
        typeof id !== 'string' || id.length === 0
          ? 'a document without an id'
          : docs.has(id)
            ? `a second document with id '${id}'`
            : this.#spec.isValid && !this.#spec.isValid(raw)
              ? `document '${id}' failed validation`
              : undefined;
      if (problem === undefined) {
        docs.set(id as string, raw as T);
        const seq = data?.seqs?.[i];
        if (typeof seq === 'number' && seq > 0) seqs.set(id as string, seq);
      } else {
        skipped.push(raw);
        problems.push(problem);
      }
    }
    if (problems.length && !shard.skipsReported) {
      shard.skipsReported = true;
      for (const problem of problems) this.#report({ file: shard.file.path, problem, action: 'skipped-document' });
    }
    if (data) shard.rev = Math.max(shard.rev, data.rev);
    return { docs, seqs, skipped, recovered: recovery !== undefined };
  }

  /**
   * After a lazy load: the documents should be exactly those memory places in this shard. They differ only
   * when the shard changed under its entries (restored from its backup, bit rot caught by the parse, a
   * document that no longer validates); then memory follows the disk and listeners hear of it.
   */
  #reconcile(shard: Shard<T>, docs: Map<string, T>, recovered: boolean): void {
    // memory keeps nothing of a segment outside the resident ones
    if (!this.#isResident(shard.index)) return;
    if (!recovered && docs.size === shard.count) {
      let consistent = true;
      for (const id of docs.keys()) {
        if (this.#records.get(id)?.shard !== shard.index) {
          consistent = false;
          break;
        }
      }
      if (consistent) return;
    }
    let changed = 0;
    for (const [id, doc] of docs) {
      const record = this.#records.get(id);
      if (record && record.shard !== shard.index) {
        docs.delete(id); // memory has a newer copy in another segment
        changed++;
        continue;
      }
      const entry = this.#spec.entryOf(doc);
      const previous = record?.entry;
      if (!record) {
        this.#addRecord(id, entry, shard);
      } else if (recovered) {
        record.entry = entry;
      } else continue;
      changed++;
      this.#emit({ type: 'put', id, entry, previous });
    }
    if (docs.size !== shard.count) {
      for (const [id, record] of this.#records) {
        if (record.shard !== shard.index || docs.has(id)) continue;
        this.#records.delete(id);
        shard.count--;
        changed++;
        this.#emit({ type: 'delete', id, previous: record.entry });
      }
    }
    if (changed === 0) return;
    this.#log?.warn({ collection: this.name, file: shard.file.path, changed }, 'store: shard content differed from its entries; memory follows the file');
    this.#markDirty(shard);
    this.#schedule();
  }

  // ---- writes ------------------------------------------------------------------------------------

  #prepare(doc: T): { doc: T; entry: E } {
    checkDocument(doc, this.name);
    if (this.#spec.placement.kind === 'sequence') sequenceNumber(doc.id, this.name);
    const copy = structuredClone(doc);
    return { doc: copy, entry: this.#spec.entryOf(copy) };
  }

  /** Applies a put to memory. `outsidePrevious`: the current document when it is outside memory (read by the caller). */
  #applyPut({ doc, entry }: { doc: T; entry: E }, outsidePrevious?: T): void {
    const id = doc.id;
    const record = this.#records.get(id);
    let previous = record?.entry;
    let shard: Shard<T>;
    if (record) {
      record.entry = entry;
      shard = this.#shardAt(record.shard);
    } else {
      const index = shardIndexOf(this.#spec.placement, id, this.name);
      if (this.#spec.placement.kind === 'sequence') {
        if (index > this.#lastSegment) this.#advance(index);
        this.#lastNumber = Math.max(this.#lastNumber, Number(id));
      }
      shard = this.#shardAt(index);
      if (this.#isResident(index)) this.#addRecord(id, entry, shard);
      else if (outsidePrevious !== undefined) previous = this.#spec.entryOf(outsidePrevious);
    }
    shard.apply(id, doc);
    this.#changed(shard, id, doc);
    this.#emit({ type: 'put', id, entry, previous });
  }

  /**
   * A change applied to memory goes into the journal (resident segments of a sequence collection, and any segment
   * the journal already holds changes of: a direct write of it would be undone by replaying older lines) or into
   * its shard's next write.
   */
  #changed(shard: Shard<T>, id: string, doc: T | null): void {
    if (this.#journal && !this.#materializeDue && (this.#isResident(shard.index) || this.#unmaterialized.has(shard))) {
      this.#unmaterialized.add(shard);
      if (!this.#replaying) this.#journalOps.set(id, doc);
    } else this.#markDirty(shard);
  }

  /**
   * Sequence placement: a document in a segment past the last one. The new segment is known to be empty (nothing
   * to read); segments that fall out of the resident ones leave memory.
   */
  #advance(index: number): void {
    const placement = this.#spec.placement;
    if (placement.kind !== 'sequence') return;
    for (let i = this.#lastSegment + 1; i <= index; i++) {
      const segment = this.#shardAt(i);
      segment.docs ??= new Map();
      this.#cache.set(i, segment);
    }
    this.#lastSegment = index;
    for (const [id, record] of this.#records) {
      if (this.#isResident(record.shard)) continue;
      this.#records.delete(id);
      this.#shardAt(record.shard).count--;
    }
    this.#evict();
  }

  #markDirty(shard: Shard<T>): void {
    shard.dirty = true;
    this.#dirty.add(shard);
  }

  #nextBatch(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#schedule();
    });
  }

  /** Everything changed in this tick goes into one batch (setImmediate runs after the tick's I/O callbacks). */
  #schedule(): void {
    if (this.#timer || this.#inFlight) return;
    this.#timer = setImmediate(() => {
      this.#timer = undefined;
      this.#startBatch();
    });
  }

  #startBatch(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    this.#inFlight = this.#writeBatch()
      .then(
        () => waiters.forEach((w) => w.resolve()),
        (error: unknown) => waiters.forEach((w) => w.reject(error)),
      )
      .finally(() => {
        this.#inFlight = undefined;
        this.#evict();
        if (this.#waiters.length) this.#schedule();
        else this.#snapshotWhenDue(false);
      });
  }

  /**
   * One batch: the journal line of this tick's changes to resident segments (sequence placement), and the shard
   * files of every other change, then one directory fsync. Every `journalLimit` bytes of journal (and at close,
   * and after an open replayed it) the segments it holds changes of are written too, and the journal emptied.
   */
  async #writeBatch(): Promise<void> {
    const journal = this.#journal;
    const ops = this.#journalOps;
    this.#journalOps = new Map();
    const materialize = this.#unmaterialized.size > 0 && (this.#closed || this.#materializeDue || (journal?.bytes ?? 0) >= this.#options.journalLimit);
    const materializing = materialize ? this.#unmaterialized : new Set<Shard<T>>();
    if (materialize) this.#unmaterialized = new Set();
    const shards = [...new Set([...this.#dirty, ...materializing])];
    if (shards.length === 0 && ops.size === 0) return;
    this.#dirty.clear();
    for (const shard of shards) {
      shard.dirty = false;
      shard.writing = true;
    }
    const failures: Array<{ shard: Shard<T> | undefined; error: unknown }> = [];
    try {
      // the segments being written hold these changes: no journal line needed
      if (journal && ops.size > 0 && !materialize) {
        try {
          const bytes = await journal.append([...ops]);
          this.#options.counters.bytesWritten += bytes;
          this.#options.counters.filesWritten++;
        } catch (error) {
          failures.push({ shard: undefined, error });
        }
      }
      await forEachLimit(shards, this.#options.ioConcurrency, async (shard) => {
        try {
          await this.#writeShard(shard);
        } catch (error) {
          failures.push({ shard, error });
        }
      });
      // One directory fsync makes every rename of the batch durable; only after it may the batch resolve.
      if (failures.length === 0 && shards.length > 0) {
        try {
          await syncDirectory(this.#dir);
          if (materialize) await journal?.clear();
        } catch (error) {
          for (const shard of shards) failures.push({ shard, error });
        }
      }
    } finally {
      for (const shard of shards) shard.writing = false;
    }
    if (failures.length === 0) {
      if (materialize) this.#materializeDue = false;
      this.#options.counters.flushes++;
      return;
    }
    // The memory state stays; the shards are written again with the next batch (a failed journal line too: its
    // changes are in the segments in memory, written directly from now on until the journal is emptied).
    for (const shard of materializing) this.#unmaterialized.add(shard);
    for (const { shard } of failures) if (shard && !materializing.has(shard)) this.#markDirty(shard);
    if (failures.some(({ shard }) => shard === undefined || materializing.has(shard))) this.#materializeDue = true;
    const first = failures[0];
    const files = [...new Set(failures.map(({ shard }) => shard?.file.path ?? journal?.path ?? this.#dir))];
    this.#log?.error({ collection: this.name, files, err: first.error }, 'store: write failed');
    throw new DesklineError('STORE_WRITE_FAILED', `${this.name}: could not write ${files.join(', ')}: ${errorMessage(first.error)}`, {
      cause: first.error,
      details: { collection: this.name, files },
    });
  }

  /** Writes one shard file, then its entries file, both from the same synchronous snapshot of memory. */
  async #writeShard(shard: Shard<T>): Promise<void> {
    const docs = await this.#load(shard);
    const rev = ++shard.rev;
    const columns: EntryColumns<E> = { ids: [], seqs: [], entries: [] };
    for (const [id, doc] of docs) {
      const record = this.#records.get(id);
      columns.ids.push(id);
      columns.seqs.push(record?.seq ?? this.#seqOf(id));
      columns.entries.push(record ? record.entry : this.#spec.entryOf(doc));
    }
    const docList = shard.skipped.length ? [...docs.values(), ...shard.skipped] : [...docs.values()];
    // seqs[i] is the insertion number of docs[i] (0 for kept invalid documents), so rebuilt entries keep the order
    const seqs = shard.skipped.length ? [...columns.seqs, ...shard.skipped.map(() => 0)] : columns.seqs;
    const shardText = `{"format":${STORE_FORMAT},"rev":${rev},"seqs":${JSON.stringify(seqs)},"docs":${JSON.stringify(docList)}}`;
    const columnsText = entryColumnsText(columns);
    // Crash after this rename and before the next: the entries file still names the old shard file and is
    // rebuilt on open. Crash before it: the old shard and entries stay, the batch was never acknowledged.
    const written = await shard.file.writeText(shardText);
    this.#stamped(shard.index, written);
    if (this.#isGrowing(shard.index, docs.size)) return;
    await shard.entriesFile.writeText(this.#entriesText(rev, written, columnsText));
  }

  /**
   * The newest segment while it fills up: it gets no entries file (an append writes one file, not two); an open
   * reads its few documents instead. The write that fills it writes its entries file.
   */
  #isGrowing(index: number, size: number): boolean {
    const placement = this.#spec.placement;
    return placement.kind === 'sequence' && index === this.#lastSegment && size < placement.segmentSize;
  }

  #entriesText(rev: number, shard: FileStamp, columnsText: string): string {
    const stamp: FileStamp = { ino: shard.ino, size: shard.size, mtimeMs: shard.mtimeMs };
    return `{"format":${STORE_FORMAT},"rev":${rev},"entriesVersion":${this.#spec.entriesVersion ?? 0},"shard":${JSON.stringify(stamp)},${columnsText}}`;
  }

  // ---- cache -------------------------------------------------------------------------------------

  #touch(shard: Shard<T>): void {
    this.#cache.delete(shard.index);
    this.#cache.set(shard.index, shard);
  }

  #pinned(shard: Shard<T>): boolean {
    const newest = this.#spec.placement.kind === 'sequence' && shard.index === this.#lastSegment;
    return shard.dirty || shard.writing || shard.loading !== undefined || shard.pendingOps.length > 0 || newest || this.#unmaterialized.has(shard);
  }

  #evict(): void {
    while (this.#cache.size > this.#options.cacheShards) {
      let victim: Shard<T> | undefined;
      for (const shard of this.#cache.values()) {
        if (!this.#pinned(shard)) {
          victim = shard;
          break;
        }
      }
      if (!victim) return;
      victim.docs = undefined;
      victim.skipped = [];
      this.#cache.delete(victim.index);
    }
  }

  // ---- open --------------------------------------------------------------------------------------

  async #open(): Promise<void> {
    await this.#checkMeta();
    const names = await readdir(this.#dir);
    // Unfinished writes of a crashed process: never acknowledged, and the files they would have replaced are intact.
    await Promise.all(names.filter(isTempFile).map((name) => unlink(join(this.#dir, name)).catch(ignoreMissing)));
    const present = new Set(names);
    const indices = new Set<number>();
    for (const name of names) {
      const index = this.#names.indexOf(name);
      if (index === undefined) continue;
      const placement = this.#spec.placement;
      if (placement.kind === 'hash' ? index >= placement.shards : index < 1) {
        this.#log?.warn({ collection: this.name, file: name }, 'store: file outside the placement ignored');
        continue;
      }
      indices.add(index);
    }
    const sorted = [...indices].sort((a, b) => a - b);
    if (this.#spec.placement.kind === 'sequence') this.#lastSegment = sorted.at(-1) ?? 0;
    const snapshot = await this.#readSnapshot(sorted.length > 0);
    // shards whose file is still the one the snapshot was taken from (one stat each, synchronously: a third of
    // the time of as many async stats, 10 ms for 1,500)
    const unchanged = new Set<number>();
    if (snapshot) {
      for (const index of sorted) {
        const recorded = this.#snapshot.stamps.get(index);
        const now = recorded && statSync(join(this.#dir, this.#names.shardFile(index)), { throwIfNoEntry: false });
        if (recorded && now && stampMatches(recorded, now)) unchanged.add(index);
      }
    }
    const opened: OpenedShard<T, E>[] = [];
    const toRead: number[] = [];
    for (const index of sorted.filter((i) => this.#isResident(i))) {
      const saved = unchanged.has(index) ? snapshot?.shards.get(index) : undefined;
      if (!saved) {
        toRead.push(index);
        continue;
      }
      const shard = this.#shardAt(index);
      shard.rev = saved.rev;
      opened.push({ shard, columns: saved.columns });
    }
    await forEachLimit(toRead, OPEN_CONCURRENCY, async (index) => void opened.push(await this.#openShard(index, present)));
    opened.sort((a, b) => a.shard.index - b.shard.index);

    for (const { columns } of opened) for (const seq of columns.seqs) if (seq > this.#lastSeq) this.#lastSeq = seq;
    // Documents of rebuilt shards that had no insertion number are numbered after all others.
    for (const { columns } of opened) columns.seqs.forEach((seq, i) => Number.isNaN(seq) && (columns.seqs[i] = ++this.#lastSeq));
    this.#buildRecords(opened);
    if (this.#spec.placement.kind === 'sequence') for (const id of this.#records.keys()) this.#lastNumber = Math.max(this.#lastNumber, Number(id));
    await this.#writeRebuilt(opened);
    await this.#openDigest(sorted.filter((index) => !unchanged.has(index)), snapshot?.digest, opened, present);
    await this.#replayJournal();
    this.#snapshotWhenDue(this.#snapshot.wanted);
  }

  /**
   * Sequence placement: the changes in the journal (acknowledged, not yet in their segment files) are applied to
   * memory as they were made; the next batch writes their segments and empties the journal.
   */
  async #replayJournal(): Promise<void> {
    const journal = this.#journal;
    if (!journal) return;
    const read = await journal.read<T>();
    // a torn last line is a batch that was never acknowledged: nothing lost, nothing to report
    if (read.problem && !read.problem.lastLine) {
      this.#report({
        file: journal.path,
        problem: `line ${read.problem.atLine} is damaged: it and the ${read.problem.bytes} bytes after it were dropped`,
        action: 'truncated-journal',
      });
    }
    if (read.batches.length === 0) return;
    this.#replaying = true;
    try {
      for (const ops of read.batches) {
        for (const [id, doc] of ops) {
          try {
            if (doc !== null && ((doc as { id?: unknown }).id !== id || (this.#spec.isValid && !this.#spec.isValid(doc)))) throw new Error('not a valid document');
            if (doc === null) await this.#applyDelete(id);
            else this.#applyPut(this.#prepare(doc), this.#outsideShard(id) ? await this.#current(id) : undefined);
          } catch (error) {
            this.#report({ file: journal.path, problem: `change of '${id}' in the journal left out: ${errorMessage(error)}`, action: 'skipped-document' });
          }
        }
      }
    } finally {
      this.#replaying = false;
    }
    this.#materializeDue = true;
    this.#schedule();
  }

  /** Writes the entries files that were rebuilt from their shards while opening. */
  async #writeRebuilt(opened: readonly OpenedShard<T, E>[]): Promise<void> {
    const rebuilt = opened.filter((o) => o.rebuild !== undefined);
    await forEachLimit(rebuilt, this.#options.ioConcurrency, async ({ shard, columns, rebuild }) => {
      const stamp = await statStamp(shard.file.path);
      if (stamp) {
        await shard.entriesFile.writeText(this.#entriesText(shard.rev, stamp, entryColumnsText(columns)));
        this.#stamped(shard.index, stamp);
      }
      this.#report({ file: shard.entriesFile.path, problem: rebuild as string, action: 'rebuilt-entries' });
    });
    if (rebuilt.length) await syncDirectory(this.#dir);
  }

  /** The entries of one shard: from its entries file when that still matches the shard file, else rebuilt from the shard. */
  async #openShard(index: number, present: Set<string>): Promise<OpenedShard<T, E>> {
    const shard = this.#shardAt(index);
    const none: EntryColumns<E> = { ids: [], seqs: [], entries: [] };
    const [stamp, entries] = await Promise.all([statStamp(shard.file.path), readJson(shard.entriesFile.path, ENTRIES_CHECK)]);
    const version = this.#spec.entriesVersion ?? 0;
    if (stamp && entries.kind === 'ok' && entries.data.entriesVersion === version && stampMatches(entries.data.shard, stamp)) {
      shard.rev = entries.data.rev;
      this.#stamped(index, stamp);
      return { shard, columns: { ids: entries.data.ids, seqs: entries.data.seqs, entries: entries.data.entries as E[] } };
    }
    const backupPresent = present.has(`${this.#names.shardFile(index)}.bak`);
    if (!stamp && !backupPresent) {
      if (entries.kind === 'missing') return { shard, columns: none };
      // The shard is gone (the store never removes one): what its entries file listed is lost.
      const listed = entries.kind === 'ok' ? `its entries file listed ${entries.data.ids.length} documents` : 'its entries file is damaged too';
      this.#report({ file: shard.file.path, problem: `shard file missing; ${listed}`, action: 'started-empty' });
      await moveAside(shard.entriesFile.path);
      return { shard, columns: none };
    }
    // the newest segment has none while it fills up (see #isGrowing): read it, nothing to report or write back
    const growing = this.#spec.placement.kind === 'sequence' && index === this.#lastSegment;
    const why =
      entries.kind === 'missing'
        ? 'entries file missing'
        : entries.kind === 'damaged'
          ? entries.problem
          : entries.data.entriesVersion !== version
            ? `entries computed by entryOf version ${entries.data.entriesVersion}, now ${version}`
            : 'stale: the shard file changed after its entries were written';
    const { docs, seqs, skipped } = await this.#readShard(shard);
    if (!(await statStamp(shard.file.path))) {
      // Neither the shard nor its backup was readable (reported): start it as an empty file again.
      shard.rev++;
      await shard.file.writeText(`{"format":${STORE_FORMAT},"rev":${shard.rev},"docs":[]}`);
    }
    shard.docs = docs;
    shard.skipped = skipped;
    shard.generation++;
    this.#cache.set(index, shard);
    this.#evict();
    // insertion numbers come from the shard file; documents without one are numbered after all others
    const columns: EntryColumns<E> = { ids: [...docs.keys()], seqs: [], entries: [] };
    const sequence = this.#spec.placement.kind === 'sequence';
    for (const [id, doc] of docs) {
      columns.seqs.push(sequence ? Number(id) : (seqs.get(id) ?? Number.NaN));
      columns.entries.push(this.#spec.entryOf(doc));
    }
    if (growing) {
      const now = await statStamp(shard.file.path);
      if (now) this.#stamped(index, now);
      return { shard, columns };
    }
    return { shard, columns, rebuild: why };
  }

  /** Fills the records in insertion order (merged by insertion number; a sequence collection's is the id's number). */
  #buildRecords(opened: OpenedShard<T, E>[]): void {
    const records = this.#records;
    let duplicates = false;
    // the hot loop of a cold open: one Map.set per document
    const add = (id: string, entry: E, seq: number, shard: Shard<T>) => {
      const size = records.size;
      const record = { entry, seq, shard: shard.index };
      records.set(id, record);
      if (records.size > size) {
        shard.count++;
        return;
      }
      // Only after damage: the same id in two shards. The later one wins (moved to its place in the order);
      // the other copy is dropped from its shard when that shard is next loaded (#reconcile).
      duplicates = true;
      records.delete(id);
      records.set(id, record);
    };
    const { slots, positions } = insertionOrder(opened.map((o) => o.columns.seqs));
    for (let k = 0; k < slots.length; k++) {
      const { shard, columns } = opened[slots[k]];
      const i = positions[k];
      add(columns.ids[i], columns.entries[i], columns.seqs[i], shard);
    }
    if (!duplicates) return;
    for (const { shard } of opened) shard.count = 0;
    for (const record of records.values()) this.#shardAt(record.shard).count++;
  }

  /** collection.json: the placement the files were written with. Another hash shard count would misplace every id. */
  async #checkMeta(): Promise<void> {
    const file = new DurableFile<CollectionMeta>(join(this.#dir, META_FILE), {
      is: isCollectionMeta,
      shape: 'a collection description',
      onRecovery: (recovery) => this.#report(recovery),
      onWrite: (written) => this.#count(written),
    });
    const meta = await file.read();
    const placement = this.#spec.placement;
    if (meta) {
      const was = meta.placement;
      // shards and segment sizes place every document: another one would lose them all (resident segments may change)
      const moved = was.kind !== placement.kind || (was.kind === 'hash' ? was.shards !== (placement as typeof was).shards : was.segmentSize !== (placement as typeof was).segmentSize);
      if (moved) {
        throw new DesklineError(
          'STORE_PLACEMENT_CHANGED',
          `collection ${this.name} was written with placement ${JSON.stringify(was)}, not ${JSON.stringify(placement)}`,
        );
      }
      if (samePlacement(was, placement)) return;
    }
    await file.write({ format: STORE_FORMAT, name: this.name, placement });
  }

  // ---- helpers -----------------------------------------------------------------------------------

  #shardAt(index: number): Shard<T> {
    let shard = this.#shards.get(index);
    if (!shard) {
      const counting = { syncDirectory: false, onWrite: (written: WrittenFile) => this.#count(written) };
      shard = new Shard<T>(
        index,
        new DurableFile<ShardDocument>(join(this.#dir, this.#names.shardFile(index)), { is: isShardDocument, shape: 'a shard document', ...counting }),
        // entries can be rebuilt from the shard (a stale, torn or lost one is detected at open): no backup, no fsync
        new DurableFile<EntriesDocument>(join(this.#dir, this.#names.entriesFile(index)), {
          ...ENTRIES_CHECK,
          keepBackup: false,
          syncData: false,
          ...counting,
        }),
      );
      this.#shards.set(index, shard);
    }
    return shard;
  }

  #count(written: WrittenFile): void {
    this.#options.counters.bytesWritten += written.bytes;
    this.#options.counters.filesWritten++;
  }

  #report(recovery: FileRecovery | Omit<RecoveryReport, 'collection'>): void {
    this.#options.report({ collection: this.name, ...recovery });
  }

  #emit(change: CollectionChange<E>): void {
    const digest = this.#digest;
    if (digest) {
      if (change.type === 'put') digest.spec.apply(digest.state, change.id, change.entry, change.previous);
      else digest.spec.remove(digest.state, change.id, change.previous);
    }
    for (const listener of this.#listeners) listener(change);
  }

  // ---- snapshot and digest -----------------------------------------------------------------------

  /** Remembers the stamp of a shard file as written or found on disk (what the snapshot records). */
  #stamped(index: number, stamp: FileStamp): void {
    this.#snapshot.stamps.set(index, { ino: stamp.ino, size: stamp.size, mtimeMs: stamp.mtimeMs });
    if (index <= this.#snapshot.through) this.#snapshot.touched.add(index);
    else if (this.#snapshot.through < 0) this.#snapshot.wanted = true; // a new collection: its first snapshot
  }

  #snapshotFile(): DurableFile<SnapshotDocument> {
    // derived from the shards, like entries files: no backup, no fsync (a torn one is detected and ignored)
    return new DurableFile<SnapshotDocument>(join(this.#dir, SNAPSHOT_FILE), {
      ...SNAPSHOT_CHECK,
      keepBackup: false,
      syncData: false,
      onWrite: (written) => this.#count(written),
    });
  }

  /**
   * snapshot.json, when it was written by this entries (and digest) version; its stamps go to #snapshot. When it is
   * missing or unusable and there are shards, a new one is wanted, and a digest must be folded from every segment
   * (reported).
   */
  async #readSnapshot(haveShards: boolean): Promise<{ shards: Map<number, { rev: number; columns: EntryColumns<E> }>; digest: unknown } | undefined> {
    const file = this.#snapshotFile();
    const read = await readJson(file.path, SNAPSHOT_CHECK);
    const entriesVersion = this.#spec.entriesVersion ?? 0;
    const digestVersion = this.#digest?.spec.version ?? null;
    let problem: string | undefined;
    if (read.kind === 'missing') problem = 'snapshot missing';
    else if (read.kind === 'damaged') problem = read.problem;
    else if (read.data.entriesVersion !== entriesVersion) problem = `snapshot of entries version ${read.data.entriesVersion}, now ${entriesVersion}`;
    else if (read.data.digestVersion !== digestVersion) problem = `snapshot of digest version ${read.data.digestVersion}, now ${digestVersion}`;
    if (problem !== undefined || read.kind !== 'ok') {
      if (!haveShards) return undefined;
      this.#snapshot.wanted = true;
      this.#log?.info({ collection: this.name, problem }, 'store: no usable snapshot, reading every entries file');
      if (this.#digest) this.#report({ file: file.path, problem: problem ?? 'snapshot unusable', action: 'rebuilt-digest' });
      return undefined;
    }
    const data = read.data;
    this.#snapshot.through = data.through;
    this.#snapshot.lastNumber = data.lastNumber;
    data.stamps.forEach((stamp, index) => stamp && this.#snapshot.stamps.set(index, stamp));
    const shards = new Map<number, { rev: number; columns: EntryColumns<E> }>();
    for (const [index, rev, ids, seqs, entries] of data.shards) shards.set(index, { rev, columns: { ids, seqs, entries: entries as E[] } });
    return { shards, digest: data.digest };
  }

  /**
   * The digest at open: the snapshot's, then every segment written since (`changed`: its stamp differs, or it is
   * newer) folded in: documents the snapshot had seen (numbers up to its lastNumber) as 'replayed', the others
   * as new. Without a usable snapshot every segment is folded.
   */
  async #openDigest(changed: readonly number[], saved: unknown, opened: readonly OpenedShard<T, E>[], present: Set<string>): Promise<void> {
    const digest = this.#digest;
    if (!digest) return;
    const { spec } = digest;
    const state = saved === undefined ? undefined : spec.load(saved);
    if (state === undefined) {
      // no snapshot, or one whose digest does not load: fold everything (a snapshot without a digest was reported)
      this.#snapshot.lastNumber = 0;
      if (saved !== undefined) this.#report({ file: join(this.#dir, SNAPSHOT_FILE), problem: 'the digest in the snapshot is not readable', action: 'rebuilt-digest' });
    } else digest.state = state;
    const toFold = state === undefined ? [...new Set([...changed, ...this.#snapshot.stamps.keys()])].filter((i) => i >= 1 && i <= this.#lastSegment).sort((a, b) => a - b) : changed;
    const inMemory = new Map(opened.map((o) => [o.shard.index, o]));
    // a few segments at a time: a full rebuild never holds the whole history in memory
    for (let start = 0; start < toFold.length; start += OPEN_CONCURRENCY) {
      const chunk = toFold.slice(start, start + OPEN_CONCURRENCY);
      const read: OpenedShard<T, E>[] = [];
      await forEachLimit(chunk, this.#options.ioConcurrency, async (index) => void read.push(inMemory.get(index) ?? (await this.#openShard(index, present))));
      read.sort((a, b) => a.shard.index - b.shard.index);
      await this.#writeRebuilt(read.filter((o) => !inMemory.has(o.shard.index)));
      for (const { shard, columns } of read) {
        for (let i = 0; i < columns.ids.length; i++) {
          const id = columns.ids[i];
          spec.apply(digest.state, id, columns.entries[i], Number(id) <= this.#snapshot.lastNumber ? 'replayed' : undefined);
        }
        if (shard.index <= this.#snapshot.through) this.#snapshot.touched.add(shard.index);
      }
    }
    if (state === undefined) this.#snapshot.wanted = this.#lastSegment > 0;
    this.#evict();
  }

  /**
   * Writes the snapshot when enough has changed since the last (or, `force`, when anything has): the entries of
   * the shards in memory, the stamp of every shard file, and the digest. Taken only while no write is pending, in
   * flight or only in the journal, so it is exactly what the shard files hold; serialised a slice at a time, so a snapshot of
   * 100,000 contacts never holds up a call.
   */
  #snapshotWhenDue(force: boolean): void {
    const snap = this.#snapshot;
    // nothing pending, in flight or only in the journal: the snapshot is what the shard files hold, and an open
    // replays the journal on top of it
    if (snap.saving || this.#inFlight || this.#dirty.size || this.#waiters.length || this.#unmaterialized.size || this.#journalOps.size) return;
    const placement = this.#spec.placement;
    const through = placement.kind === 'hash' ? placement.shards - 1 : this.#lastSegment;
    const added = placement.kind === 'hash' ? 0 : through - snap.through;
    const changed = snap.wanted || added > 0 || snap.touched.size > 0;
    const due = force ? changed : snap.wanted || added >= SNAPSHOT_AFTER_SEGMENTS || snap.touched.size >= (placement.kind === 'hash' ? SNAPSHOT_AFTER_SHARDS : SNAPSHOT_AFTER_SEGMENTS);
    if (!due || !changed || through < 0) return;
    const stamps: Array<FileStamp | null> = [];
    for (let i = 0; i <= through; i++) stamps.push(snap.stamps.get(i) ?? null);
    const byShard = new Map<number, EntryColumns<E>>();
    // shards on disk with nothing in them too, so an open reads no file for them either
    for (const index of snap.stamps.keys()) if (this.#isResident(index)) byShard.set(index, { ids: [], seqs: [], entries: [] });
    for (const [id, record] of this.#records) {
      let columns = byShard.get(record.shard);
      if (!columns) byShard.set(record.shard, (columns = { ids: [], seqs: [], entries: [] }));
      columns.ids.push(id);
      columns.seqs.push(record.seq);
      columns.entries.push(record.entry);
    }
    const shards = [...byShard].map(([index, { ids, seqs, entries }]) => [index, this.#shardAt(index).rev, ids, seqs, entries]);
    const lastNumber = this.#lastNumber;
    const document: SnapshotDocument = {
      format: STORE_FORMAT,
      entriesVersion: this.#spec.entriesVersion ?? 0,
      digestVersion: this.#digest?.spec.version ?? null,
      through,
      lastNumber,
      stamps,
      shards: shards as SnapshotDocument['shards'],
      digest: this.#digest ? this.#digest.spec.save(this.#digest.state) : null,
    };
    const touched = [...snap.touched];
    // taken now (the columns are new arrays of entries nobody changes, the digest a copy), written in slices
    snap.saving = stringifyInSlices(document)
      .then((text) => this.#snapshotFile().writeText(text))
      .then(
        () => {
          snap.through = through;
          snap.lastNumber = lastNumber;
          snap.wanted = false;
          for (const index of touched) snap.touched.delete(index);
        },
        // only costs time at the next open (more files to read)
        (error: unknown) => this.#log?.warn({ collection: this.name, err: error }, 'store: snapshot not written'),
      )
      .finally(() => {
        snap.saving = undefined;
      });
  }

  #checkOpen(): void {
    if (this.#closed) throw new DesklineError('STORE_CLOSED', `collection ${this.name} is closed`);
  }
}

/** entries files read at once on open: enough to keep the main thread parsing while the thread pool reads */
const OPEN_CONCURRENCY = 32;
/** segments sealed (or older ones rewritten) after which the snapshot is written again: what an open reads at most */
const SNAPSHOT_AFTER_SEGMENTS = 16;
/** hash shards rewritten after which the snapshot is written again */
const SNAPSHOT_AFTER_SHARDS = 64;

interface SnapshotState {
  /** the snapshot on disk has the stamps of shards 0..through (-1: there is none) */
  through: number;
  /** and had folded the documents numbered up to lastNumber into its digest */
  lastNumber: number;
  /** the stamp of each shard file as last written or checked */
  stamps: Map<number, FileStamp>;
  /** shards written since the snapshot that it covers */
  touched: Set<number>;
  /** there is no usable snapshot: write one at the next chance */
  wanted: boolean;
  saving: Promise<void> | undefined;
}

/**
 * snapshot.json: what an open needs, in one file instead of one entries file per shard: the entries of the
 * shards in memory, the digest, and the stamp of every shard file they were taken from. A shard whose file no
 * longer has its stamp is read from its own entries file (and folded into the digest again).
 */
interface SnapshotDocument {
  format: typeof STORE_FORMAT;
  entriesVersion: number;
  digestVersion: number | null;
  through: number;
  lastNumber: number;
  /** stamps[i]: shard i (null: unknown, read again at open) */
  stamps: Array<FileStamp | null>;
  /** [index, rev, ids, seqs, entries] */
  shards: Array<[number, number, string[], number[], unknown[]]>;
  digest: unknown;
}

function isSnapshotDocument(value: unknown): value is SnapshotDocument {
  const v = value as Partial<SnapshotDocument> | null;
  if (typeof v !== 'object' || v === null || v.format !== STORE_FORMAT || !Number.isInteger(v.entriesVersion) || !Number.isInteger(v.through)) return false;
  if (!(v.digestVersion === null || Number.isInteger(v.digestVersion)) || !Number.isSafeInteger(v.lastNumber) || !Array.isArray(v.stamps) || !Array.isArray(v.shards)) return false;
  if (v.stamps.length !== (v.through as number) + 1) return false;
  return v.shards.every(
    (row) => Array.isArray(row) && Number.isInteger(row[0]) && Number.isInteger(row[1]) && Array.isArray(row[2]) && Array.isArray(row[3]) && Array.isArray(row[4]) &&
      row[2].length === row[3].length && row[2].length === row[4].length,
  );
}

const SNAPSHOT_CHECK = { is: isSnapshotDocument, shape: 'a store snapshot' };

const ENTRIES_CHECK = { is: isEntriesDocument, shape: 'an entries document' };

interface OpenedShard<T, E> {
  shard: Shard<T>;
  columns: EntryColumns<E>;
  /** why the entries were rebuilt from the shard */
  rebuild?: string;
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}

/** Runs fn over items with at most `limit` running at once; rejects with the first error after all have settled. */
async function forEachLimit<I>(items: readonly I[], limit: number, fn: (item: I) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}

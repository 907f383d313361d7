/**
 * The durable local store: one folder per collection under `dir`, each a set of lowdb JSON shard files
 * written atomically and fsynced (durable-file.ts), with compact entries files beside them so opening a
 * collection reads the entries, not the documents (collection.ts, shard-files.ts).
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { DesklineError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { FileCollection, type StoreCounters } from './collection.js';
import { syncDirectory } from './durable-file.js';
import { checkCollectionName, isPlacement, samePlacement } from './shard-files.js';
import type { Collection, CollectionSpec, Placement, RecoveryReport, Store, StoreStats } from './types.js';

export interface FileStoreOptions {
  /** the store's folder (e.g. <data>/store); created if missing */
  dir: string;
  log?: Logger;
  /** shards per collection kept in memory, not counting dirty ones and the newest sequence segment (default 64) */
  cacheShards?: number;
  /** shard files read or written at the same time per collection (default 8) */
  ioConcurrency?: number;
  /** journal bytes of a sequence collection after which its segments are written and the journal emptied (default 256 KiB) */
  journalLimit?: number;
  /** called for every repair as it happens (e.g. to publish `storeRecovered` on the bus) */
  onRecovery?(report: RecoveryReport): void;
}

export const DEFAULT_CACHE_SHARDS = 64;
export const DEFAULT_IO_CONCURRENCY = 8;
export const DEFAULT_JOURNAL_LIMIT = 256 * 1024;

export class FileStore implements Store {
  readonly #options: FileStoreOptions;
  readonly #dir: string;
  readonly #log: Logger | undefined;
  readonly #collections = new Map<string, { placement: Placement; opening: Promise<FileCollection<never, unknown>> }>();
  readonly #recoveries: RecoveryReport[] = [];
  readonly #counters: StoreCounters = { bytesWritten: 0, filesWritten: 0, flushes: 0 };
  #ready: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: FileStoreOptions) {
    this.#options = options;
    this.#dir = resolve(options.dir);
    this.#log = options.log?.child({ ns: 'store' });
  }

  collection<T extends { id: string }, E, S = undefined>(spec: CollectionSpec<T, E, S>): Promise<Collection<T, E, S>> {
    try {
      if (this.#closing) throw new DesklineError('STORE_CLOSED', 'the store is closed');
      checkCollectionName(spec.name);
      if (!isPlacement(spec.placement)) {
        throw new DesklineError('STORE_BAD_SPEC', `collection ${spec.name}: bad placement ${JSON.stringify(spec.placement)}`);
      }
      const open = this.#collections.get(spec.name);
      if (open) {
        if (!samePlacement(open.placement, spec.placement)) {
          throw new DesklineError('STORE_PLACEMENT_CHANGED', `collection ${spec.name} is already open with placement ${JSON.stringify(open.placement)}`);
        }
        return open.opening as unknown as Promise<Collection<T, E, S>>;
      }
      const opening = this.#open(spec);
      this.#collections.set(spec.name, { placement: spec.placement, opening: opening as unknown as Promise<FileCollection<never, unknown>> });
      // a failed open may be retried
      opening.catch(() => this.#collections.delete(spec.name));
      return opening;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  recoveries(): readonly RecoveryReport[] {
    return [...this.#recoveries];
  }

  stats(): StoreStats {
    return { ...this.#counters };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const opened = await Promise.allSettled([...this.#collections.values()].map((c) => c.opening));
      await Promise.all(opened.flatMap((result) => (result.status === 'fulfilled' ? [result.value.close()] : [])));
    })();
    return this.#closing;
  }

  async #open<T extends { id: string }, E, S>(spec: CollectionSpec<T, E, S>): Promise<FileCollection<T, E, S>> {
    this.#ready ??= ensureDirectory(this.#dir).catch((error: unknown) => {
      this.#ready = undefined; // let the next open try again
      throw error;
    });
    await this.#ready;
    const dir = join(this.#dir, spec.name);
    await ensureDirectory(dir);
    const started = performance.now();
    const collection = await FileCollection.open<T, E, S>({
      dir,
      spec,
      cacheShards: this.#options.cacheShards ?? DEFAULT_CACHE_SHARDS,
      ioConcurrency: this.#options.ioConcurrency ?? DEFAULT_IO_CONCURRENCY,
      journalLimit: this.#options.journalLimit ?? DEFAULT_JOURNAL_LIMIT,
      counters: this.#counters,
      report: (report) => this.#report(report),
      log: this.#log,
    });
    this.#log?.debug({ collection: spec.name, documents: collection.size, ms: Math.round(performance.now() - started) }, 'store: collection opened');
    return collection;
  }

  #report(report: RecoveryReport): void {
    this.#recoveries.push(report);
    this.#log?.warn({ ...report }, `store: ${report.action} (${report.problem})`);
    try {
      this.#options.onRecovery?.(report);
    } catch (error) {
      this.#log?.error({ err: error }, 'store: onRecovery listener failed');
    }
  }
}

/** mkdir -p, then fsync the parent of every folder it created so the new folders survive a power cut. */
async function ensureDirectory(path: string): Promise<void> {
  const first = await mkdir(path, { recursive: true });
  if (first === undefined) return;
  const top = dirname(first);
  for (let dir = path; dir !== top; ) {
    dir = dirname(dir);
    await syncDirectory(dir);
  }
}

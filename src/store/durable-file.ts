/**
 * A lowdb adapter that writes a JSON file atomically and durably, keeping the previous good copy.
 *
 * Why not lowdb's own JSONFile: its writer (steno) writes a temp file and renames it over the target
 * without fsync. After a power cut the rename can be on disk while the data blocks are not, leaving an
 * empty or partial file under the real name, and without a directory fsync the rename itself may be lost
 * after the caller was told "written". This adapter closes both gaps.
 *
 * Write protocol for `<dir>/<name>` (each step names what a crash right after it leaves behind):
 *  1. write `.<name>.tmp`, fsync it            -> crash: main and .bak untouched; the .tmp is partial or
 *                                                 complete but never named, removed on the next open.
 *  2. link `<name>` to `.<name>.bak.tmp`, rename it onto `<name>.bak`
 *                                              -> crash: `.bak` is the current (= last good) content, main
 *                                                 unchanged. Linking instead of renaming main away means
 *                                                 the main file exists at every instant.
 *  3. rename `.<name>.tmp` onto `<name>`       -> crash (process): main is the new, complete content.
 *                                                 crash (power): main is the old or the new content, both
 *                                                 complete, because the data was fsynced before the rename.
 *  4. fsync `<dir>`                            -> the renames are durable; only now may the write be
 *                                                 acknowledged. A caller writing many files in one batch
 *                                                 turns this off (`syncDirectory: false`) and calls
 *                                                 `syncDirectory(dir)` once for the batch.
 *
 * Reading: the main file is parsed and shape-checked; if it is missing or damaged the `.bak` is tried; a
 * good backup is restored as the main file ('restored-backup'); if neither is readable the damaged files
 * are moved aside as `<name>.corrupt-<timestamp>` (never deleted) and the file starts empty ('started-empty').
 */
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Adapter } from 'lowdb';
import { DesklineError, errorMessage } from '../core/errors.js';
import type { RecoveryReport } from './types.js';

/** What a read repaired (the caller adds which collection the file belongs to). */
export type FileRecovery = Omit<RecoveryReport, 'collection'> & { action: 'restored-backup' | 'started-empty' };

/** Identity of a written file, so a later reader can tell whether the file is still the one it knew. */
export interface FileStamp {
  ino: number;
  size: number;
  mtimeMs: number;
}

export interface WrittenFile extends FileStamp {
  /** bytes handed to the file system */
  bytes: number;
}

export type JsonRead<T> = { kind: 'ok'; data: T; text: string } | { kind: 'missing' } | { kind: 'damaged'; problem: string };

export interface DurableFileOptions<T> {
  /** The shape check for parsed content: what a good file holds. */
  is(value: unknown): value is T;
  /** Words for the shape, used in problems: 'a shard document' gives 'not a shard document'. */
  shape: string;
  /** Keep the previous good copy as `<name>.bak` (default true). Files that can be rebuilt from others need none. */
  keepBackup?: boolean;
  /** fsync the directory after every write (default true); false when the caller syncs once per batch. */
  syncDirectory?: boolean;
  /**
   * fsync the content before the rename (default true). Only files derived from others, whose loss or
   * damage after a power cut is detected and repaired by rebuilding them, go without.
   */
  syncData?: boolean;
  /** Called with what `read()` repaired (the lowdb `read()` has no other way to say it). */
  onRecovery?(recovery: FileRecovery): void;
  /** Called after every write with what was written (statistics). */
  onWrite?(written: WrittenFile): void;
}

export class DurableFile<T> implements Adapter<T> {
  readonly path: string;
  readonly backupPath: string;
  readonly #dir: string;
  readonly #tempPath: string;
  readonly #backupTempPath: string;
  readonly #options: DurableFileOptions<T>;
  /** writes (and restores) to this file run one at a time: they share the temp names */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string, options: DurableFileOptions<T>) {
    this.path = path;
    this.backupPath = `${path}.bak`;
    this.#dir = dirname(path);
    this.#tempPath = join(this.#dir, `.${basename(path)}.tmp`);
    this.#backupTempPath = join(this.#dir, `.${basename(path)}.bak.tmp`);
    this.#options = options;
  }

  /** lowdb Adapter: the content (recovered if need be), or null when there is none. */
  async read(): Promise<T | null> {
    const { data, recovery } = await this.readWithRecovery();
    if (recovery) this.#options.onRecovery?.(recovery);
    return data;
  }

  /** lowdb Adapter: replaces the content atomically and durably. */
  async write(data: T): Promise<void> {
    await this.writeText(JSON.stringify(data));
  }

  /** Writes already serialised content (which must satisfy `is` once parsed); resolves with the new file's stamp. */
  writeText(text: string): Promise<WrittenFile> {
    return this.#serialised(async () => {
      const written = await this.#writeTemp(text);
      if (this.#options.keepBackup ?? true) await this.#keepBackup();
      await rename(this.#tempPath, this.path);
      if (this.#options.syncDirectory ?? true) await syncDirectory(this.#dir);
      this.#options.onWrite?.(written);
      return written;
    });
  }

  /** Reads the file, falling back to (and restoring) the backup; says what it repaired. */
  readWithRecovery(): Promise<{ data: T | null; recovery?: FileRecovery }> {
    return this.#serialised(async () => {
      const main = await readJson(this.path, this.#options);
      if (main.kind === 'ok') return { data: main.data };
      const backup = (this.#options.keepBackup ?? true) ? await readJson(this.backupPath, this.#options) : ({ kind: 'missing' } as const);
      if (main.kind === 'missing' && backup.kind === 'missing') return { data: null };
      const problem = main.kind === 'missing' ? 'file missing' : main.problem;

      if (backup.kind === 'ok') {
        // Keep the damaged file for inspection, then give the good copy back its name (same protocol as a
        // write, without the backup step: the backup is the content). A crash in between leaves the .bak,
        // so the next open restores again.
        if (main.kind === 'damaged') await moveAside(this.path);
        const written = await this.#writeTemp(backup.text);
        await rename(this.#tempPath, this.path);
        await syncDirectory(this.#dir);
        this.#options.onWrite?.(written);
        return { data: backup.data, recovery: { file: this.path, problem, action: 'restored-backup' } };
      }

      if (main.kind === 'damaged') await moveAside(this.path);
      if (backup.kind === 'damaged') await moveAside(this.backupPath);
      await syncDirectory(this.#dir);
      const backupProblem = backup.kind === 'missing' ? 'no backup' : `backup: ${backup.problem}`;
      return { data: null, recovery: { file: this.path, problem: `${problem}; ${backupProblem}`, action: 'started-empty' } };
    });
  }

  async #writeTemp(text: string): Promise<WrittenFile> {
    const handle = await open(this.#tempPath, 'w', 0o644);
    try {
      await handle.writeFile(text, 'utf8');
      if (this.#options.syncData ?? true) await handle.sync();
      const st = await handle.stat();
      return { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, bytes: st.size };
    } finally {
      await handle.close();
    }
  }

  /** Step 2: the current main file becomes `.bak` (a second name for it; main keeps existing). */
  async #keepBackup(): Promise<void> {
    try {
      await link(this.path, this.#backupTempPath);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return; // first write: nothing to keep
      if (code !== 'EEXIST') throw error;
      // left over from a crash between link and rename
      await unlink(this.#backupTempPath);
      await link(this.path, this.#backupTempPath);
    }
    await rename(this.#backupTempPath, this.backupPath);
  }

  #serialised<R>(task: () => Promise<R>): Promise<R> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

/** Reads and shape-checks a JSON file. EIO counts as damage (the backup may still be readable); other errors throw. */
export async function readJson<T>(path: string, check: { is(value: unknown): value is T; shape: string }): Promise<JsonRead<T>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    if (code === 'EIO') return { kind: 'damaged', problem: errorMessage(error) };
    throw new DesklineError('STORE_READ_FAILED', `cannot read ${path}: ${errorMessage(error)}`, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { kind: 'damaged', problem: text.length === 0 ? 'empty file' : errorMessage(error) };
  }
  if (!check.is(value)) return { kind: 'damaged', problem: `not ${check.shape}` };
  return { kind: 'ok', data: value, text };
}

/** Makes the directory entries (creates, renames, unlinks) in `dir` durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Renames a damaged file to `<path>.corrupt-<timestamp>` (a free name); returns the new path. */
export async function moveAside(path: string): Promise<string> {
  const stamp = new Date().toISOString().replace(/[-:.]/g, '');
  for (let n = 0; ; n++) {
    const target = `${path}.corrupt-${stamp}${n === 0 ? '' : `-${n}`}`;
    if (!(await exists(target))) {
      await rename(path, target);
      return target;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * A small file written so that a crash leaves the old or the new content, never a torn one: temp file, fsync,
 * rename, directory fsync (steps 1, 3 and 4 of DurableFile's protocol, without the backup). For files that are
 * replaced whole and need no recovery of their own (upload progress, a device key, a certificate).
 */
export async function writeFileAtomic(path: string, content: string | Buffer, mode = 0o600): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const handle = await open(temp, 'w', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
  await syncDirectory(dirname(path));
}

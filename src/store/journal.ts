/**
 * The write-ahead journal of a sequence collection (the history): a batch of changes to the newest segments is
 * made durable by appending one line to `journal.log` and one fdatasync, instead of rewriting a segment file
 * (temp file, fsync, renames, directory fsync). The segments are written later, a few hundred batches at a
 * time, and then the journal is emptied.
 *
 * A line is `<crc32 of the JSON, 8 hex digits> <JSON: [[id, document or null], ...]>\n`. At open the lines are
 * read back up to the first one that is not whole and intact: a line cut short by a crash belongs to a batch
 * that was never acknowledged, and is cut off the file before anything is appended after it.
 */
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { syncDirectory } from './durable-file.js';

export type JournalOp<T> = [id: string, doc: T | null];

export interface JournalRead<T> {
  /** the intact batches, in order */
  batches: Array<Array<JournalOp<T>>>;
  /** bytes of intact lines (the file is cut to this length before appending) */
  intactBytes: number;
  /** what followed the intact lines, when something did: a torn last line, or damage */
  problem?: { atLine: number; lastLine: boolean; bytes: number };
}

function checksum(json: string): string {
  return crc32(json).toString(16).padStart(8, '0');
}

function journalLine(ops: ReadonlyArray<JournalOp<unknown>>): string {
  const json = JSON.stringify(ops);
  return `${checksum(json)} ${json}\n`;
}

function parseLine<T>(line: string): Array<JournalOp<T>> | undefined {
  if (line.length < 10 || line[8] !== ' ') return undefined;
  const json = line.slice(9);
  if (checksum(json) !== line.slice(0, 8)) return undefined;
  try {
    const ops = JSON.parse(json) as unknown;
    if (!Array.isArray(ops) || !ops.every((op) => Array.isArray(op) && op.length === 2 && typeof op[0] === 'string')) return undefined;
    return ops as Array<JournalOp<T>>;
  } catch {
    return undefined;
  }
}

export class Journal {
  #handle: FileHandle | undefined;
  #bytes = 0;

  constructor(readonly path: string) {}

  /** Bytes in the journal (what an open would read back). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Reads the journal (nothing when there is none), and cuts off what follows its intact lines. */
  async read<T>(): Promise<JournalRead<T>> {
    let buffer: Buffer;
    try {
      buffer = await readFile(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { batches: [], intactBytes: 0 };
      throw error;
    }
    const batches: Array<Array<JournalOp<T>>> = [];
    let offset = 0;
    let problem: JournalRead<T>['problem'];
    while (offset < buffer.length) {
      const end = buffer.indexOf(0x0a, offset);
      const ops = end < 0 ? undefined : parseLine<T>(buffer.toString('utf8', offset, end));
      if (!ops) {
        problem = { atLine: batches.length + 1, lastLine: end < 0 || end === buffer.length - 1, bytes: buffer.length - offset };
        break;
      }
      batches.push(ops);
      offset = end + 1;
    }
    this.#bytes = offset;
    if (problem) {
      const handle = await this.#open();
      await handle.truncate(offset);
      await handle.sync();
    }
    return { batches, intactBytes: offset, problem };
  }

  /** Appends one batch and makes it durable (fdatasync); on failure the journal is cut back to what it was. */
  async append(ops: ReadonlyArray<JournalOp<unknown>>): Promise<number> {
    const line = journalLine(ops);
    const handle = await this.#open();
    const before = this.#bytes;
    try {
      const { bytesWritten } = await handle.write(line);
      await handle.datasync();
      this.#bytes += bytesWritten;
      return bytesWritten;
    } catch (error) {
      await handle.truncate(before).catch(() => undefined);
      throw error;
    }
  }

  /** Empties the journal once everything in it is in the segment files (which must be durable by now). */
  async clear(): Promise<void> {
    if (this.#bytes === 0 && !this.#handle) return;
    const handle = await this.#open();
    await handle.truncate(0);
    await handle.sync();
    this.#bytes = 0;
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }

  async #open(): Promise<FileHandle> {
    if (this.#handle) return this.#handle;
    const existed = await stat(this.path).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return false;
        throw error;
      },
    );
    // append mode: every write goes to the end, whatever was cut off before
    const handle = await open(this.path, 'a+', 0o644);
    // a new file's name must be durable before a line in it is acknowledged
    if (!existed) await syncDirectory(dirname(this.path));
    this.#handle = handle;
    return handle;
  }
}

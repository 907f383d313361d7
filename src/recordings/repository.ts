import type { CallDirection } from '../core/events.js';
import type { Collection, CollectionSpec, Store } from '../store/types.js';
import { RecordingError } from './errors.js';

/** One call recording as indexed (the document and its in-memory entry are the same small record). */
export interface RecordingEntry {
  id: string;
  callId: string;
  lineId: string;
  /** file name relative to the recordings directory */
  file: string;
  /** wall time the recording started (ms since the epoch) */
  startedAt: number;
  /** false when `startedAt` was read before wall time was synchronised (it may be far off) */
  startedAtTrusted: boolean;
  /** audio length from the WAV's data size; 0 while recording */
  durationMs: number;
  /** file size; 0 while recording */
  bytes: number;
  /** hex SHA-256 of the whole file; '' while recording */
  sha256: string;
  /** true once the cloud confirmed it holds the file with this `sha256` (only then may quota delete it) */
  uploaded: boolean;
  /** wall time (ms) the upload was confirmed; null when wall time was not trusted then; absent in older entries */
  uploadedAt?: number | null;
  direction: CallDirection;
  /** the number as the line gave it ('' when unknown) */
  number: string;
  contactId: string | null;
  /**
   * 'recording': the file is being written, or was when the runtime stopped (indexed again at the next start);
   * 'saved': finished and indexed.
   */
  state: 'recording' | 'saved';
}

export const RECORDINGS_COLLECTION = 'recordings';
const SHARDS = 32;

function isRecordingEntry(doc: unknown): doc is RecordingEntry {
  const d = doc as Partial<RecordingEntry> | null;
  return (
    typeof d === 'object' && d !== null &&
    typeof d.id === 'string' && typeof d.callId === 'string' && typeof d.lineId === 'string' &&
    typeof d.file === 'string' && d.file.length > 0 && !d.file.includes('/') && !d.file.startsWith('.') &&
    typeof d.startedAt === 'number' && typeof d.startedAtTrusted === 'boolean' &&
    typeof d.durationMs === 'number' && typeof d.bytes === 'number' && typeof d.sha256 === 'string' &&
    typeof d.uploaded === 'boolean' && (d.uploadedAt === undefined || d.uploadedAt === null || typeof d.uploadedAt === 'number') &&
    (d.direction === 'inbound' || d.direction === 'outbound') &&
    typeof d.number === 'string' && (d.contactId === null || typeof d.contactId === 'string') &&
    (d.state === 'recording' || d.state === 'saved')
  );
}

export const recordingsSpec: CollectionSpec<RecordingEntry, RecordingEntry> = {
  name: RECORDINGS_COLLECTION,
  placement: { kind: 'hash', shards: SHARDS },
  entryOf: (doc) => ({ ...doc }),
  isValid: isRecordingEntry,
};

/** Older first: by start time, then id (a stable order for equal times). */
function byAge(a: RecordingEntry, b: RecordingEntry): number {
  return a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The index of call recordings over the store's 'recordings' collection. Every lookup reads memory only. */
export class RecordingsRepository {
  private constructor(private readonly collection: Collection<RecordingEntry, RecordingEntry>) {}

  static async open(store: Store): Promise<RecordingsRepository> {
    return new RecordingsRepository(await store.collection(recordingsSpec));
  }

  get size(): number {
    return this.collection.size;
  }

  async add(entry: RecordingEntry): Promise<void> {
    if (!isRecordingEntry(entry)) throw new RecordingError('RECORDING_BAD_REQUEST', `not a valid recording entry: ${JSON.stringify(entry)}`);
    if (this.collection.has(entry.id)) throw new RecordingError('RECORDING_BAD_REQUEST', `recording ${entry.id} exists`);
    await this.collection.put({ ...entry });
  }

  /** A recording in progress becomes a saved one with its measured size, length and hash. */
  async finish(id: string, measured: Pick<RecordingEntry, 'durationMs' | 'bytes' | 'sha256'>): Promise<RecordingEntry> {
    const updated = await this.collection.update(id, (doc) => ({ ...doc, ...measured, state: 'saved' }));
    if (!updated) throw new RecordingError('RECORDING_NOT_FOUND', `no recording ${id}`);
    return updated;
  }

  /**
   * Marks a saved recording uploaded. `confirmed` is what the cloud confirmed (the file uploader's result): a
   * checksum other than the recording's is refused, so a recording is never marked uploaded on a wrong copy.
   */
  async markUploaded(id: string, confirmed?: { sha256: string; at?: number | null }): Promise<RecordingEntry> {
    const entry = this.collection.entry(id);
    if (!entry) throw new RecordingError('RECORDING_NOT_FOUND', `no recording ${id}`);
    if (entry.state !== 'saved') throw new RecordingError('RECORDING_IN_PROGRESS', `recording ${id} is still being written`);
    if (confirmed && confirmed.sha256 !== entry.sha256) {
      throw new RecordingError('RECORDING_BAD_REQUEST', `recording ${id} has sha256 ${entry.sha256}, the cloud confirmed ${confirmed.sha256}`);
    }
    if (entry.uploaded) return { ...entry };
    const uploadedAt = confirmed?.at ?? null;
    const updated = await this.collection.update(id, (doc) => ({ ...doc, uploaded: true, uploadedAt }));
    if (!updated) throw new RecordingError('RECORDING_NOT_FOUND', `no recording ${id}`);
    return updated;
  }

  async delete(id: string): Promise<boolean> {
    return this.collection.delete(id);
  }

  get(id: string): RecordingEntry | undefined {
    const entry = this.collection.entry(id);
    return entry && { ...entry };
  }

  /** Saved recordings, newest first. */
  list(options: { limit?: number } = {}): RecordingEntry[] {
    const limit = options.limit ?? Infinity;
    return this.#all((e) => e.state === 'saved').sort((a, b) => byAge(b, a)).slice(0, limit);
  }

  /** Every recording of a call (a call's media restarted or recorded twice on demand has several), oldest first. */
  byCallId(callId: string): RecordingEntry[] {
    return this.#all((e) => e.callId === callId).sort(byAge);
  }

  byFile(file: string): RecordingEntry | undefined {
    return this.#all((e) => e.file === file)[0];
  }

  /** The oldest saved recording that was uploaded: the first one quota and retention may delete. */
  oldestUploaded(): RecordingEntry | undefined {
    return this.uploadedOldestFirst()[0];
  }

  /** Saved, uploaded recordings, oldest first. */
  uploadedOldestFirst(): RecordingEntry[] {
    return this.#all((e) => e.state === 'saved' && e.uploaded).sort(byAge);
  }

  /** Saved recordings the cloud has not confirmed yet, oldest first: what the uploader works through. */
  pendingUploads(): RecordingEntry[] {
    return this.#all((e) => e.state === 'saved' && !e.uploaded).sort(byAge);
  }

  /** Recordings whose file is (or was, before a restart) being written. */
  inProgress(): RecordingEntry[] {
    return this.#all((e) => e.state === 'recording').sort(byAge);
  }

  #all(keep: (entry: RecordingEntry) => boolean): RecordingEntry[] {
    const out: RecordingEntry[] = [];
    for (const [, entry] of this.collection.entries()) if (keep(entry)) out.push({ ...entry });
    return out;
  }
}

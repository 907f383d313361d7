/**
 * What the phone uploads to the cloud through the file uploader (files/uploader.ts): call recordings (each when
 * it is saved, when `cloud.upload.auto`; all pending ones on the `recordings.upload` command) and log snapshots
 * (`logs.upload`). One upload at a time, paused during calls unless `cloud.upload.duringCalls`; a recording is
 * marked uploaded only after the cloud confirmed its checksum. A failed upload is tried again later: the
 * uploader resends only the segments the cloud has not confirmed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, TimerHandle } from '../core/clock.js';
import { DesklineError, errorCode, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { RecordingEntry } from '../recordings/repository.js';
import type { FileUploader, UploadRequest } from './files/uploader.js';

/** What the uploads need of the recordings feature. */
export interface RecordingsSource {
  /** saved recordings not uploaded yet, oldest first */
  pendingUploads(): RecordingEntry[];
  get(id: string): RecordingEntry | undefined;
  markUploaded(id: string, confirmed: { sha256: string; at: number | null }): Promise<unknown>;
}

export interface CloudUploadsContext {
  uploader: FileUploader;
  clock: Clock;
  log: Logger;
  /** null while the recordings feature is not running */
  recordings(): RecordingsSource | null;
  recordingsDir: string;
  /** where log snapshots are written before they go up */
  spoolDir: string;
  /** the newest log lines (LogRing) */
  logText(): string;
  event(type: string, data: Record<string, unknown>): void;
  /** a failed upload is tried again after this long (default 60 s) */
  retryMs?: number;
}

type Job = { kind: 'recording'; id: string } | { kind: 'file'; request: UploadRequest };

export class CloudUploads {
  readonly #queue: Job[] = [];
  readonly #queuedRecordings = new Set<string>();
  #running = false;
  #stopped = false;
  #retry: TimerHandle | null = null;

  constructor(private readonly ctx: CloudUploadsContext) {}

  /** Queues recordings (by id, or every pending one) for upload; returns the ids queued now. */
  uploadRecordings(ids?: readonly string[]): string[] {
    const recordings = this.ctx.recordings();
    if (!recordings) throw new DesklineError('RECORDINGS_NOT_STARTED', 'the recordings service is not running');
    const wanted = ids ?? recordings.pendingUploads().map((r) => r.id);
    const queued: string[] = [];
    for (const id of wanted) {
      const entry = recordings.get(id);
      if (!entry) throw new DesklineError('RECORDING_NOT_FOUND', `no recording ${id}`);
      if (entry.uploaded || entry.state !== 'saved' || this.#queuedRecordings.has(id)) continue;
      this.#queuedRecordings.add(id);
      this.#queue.push({ kind: 'recording', id });
      queued.push(id);
    }
    this.#pump();
    return queued;
  }

  /** Writes the newest log lines to a file and queues it; returns its name and size. */
  async uploadLogs(): Promise<{ fileId: string; name: string; bytes: number }> {
    const text = this.ctx.logText();
    if (!text) throw new DesklineError('LOGS_EMPTY', 'there are no log lines to upload yet');
    const { clock } = this.ctx;
    const stamp = clock.wallTimeTrusted ? new Date(clock.now()).toISOString().replace(/[:.]/g, '-') : `boot-${Math.round(clock.monotonic())}`;
    const fileId = `logs-${stamp}`;
    const name = `${fileId}.jsonl`;
    await mkdir(this.ctx.spoolDir, { recursive: true, mode: 0o700 });
    const path = join(this.ctx.spoolDir, name);
    await writeFile(path, text, { mode: 0o600 });
    this.#queue.push({ kind: 'file', request: { fileId, path, name, userData: { kind: 'logs' } } });
    this.#pump();
    return { fileId, name, bytes: Buffer.byteLength(text) };
  }

  stop(): void {
    this.#stopped = true;
    this.ctx.clock.clear(this.#retry);
  }

  #pump(): void {
    if (this.#running || this.#stopped || this.#retry) return;
    const job = this.#queue[0];
    if (!job) return;
    this.#running = true;
    this.#run(job).then(() => {
      this.#queue.shift();
      if (job.kind === 'recording') this.#queuedRecordings.delete(job.id);
    }, (error: unknown) => {
      this.ctx.log.warn({ job: job.kind === 'recording' ? job.id : job.request.name, err: errorMessage(error), code: errorCode(error) }, 'upload failed: trying again later');
      this.ctx.event('upload.failed', { ...(job.kind === 'recording' ? { recordingId: job.id } : { name: job.request.name }), error: errorMessage(error) });
      // a file that can never go (gone, refused for its checksum) is dropped; anything else waits and is retried
      if (errorCode(error) === 'RECORDING_NOT_FOUND' || errorCode(error) === 'FILE_UPLOAD_REJECTED') {
        this.#queue.shift();
        if (job.kind === 'recording') this.#queuedRecordings.delete(job.id);
        return;
      }
      this.#retry = this.ctx.clock.setTimeout(() => {
        this.#retry = null;
        this.#pump();
      }, this.ctx.retryMs ?? 60_000);
    }).finally(() => {
      this.#running = false;
      this.#pump();
    });
  }

  async #run(job: Job): Promise<void> {
    const { uploader, clock } = this.ctx;
    if (job.kind === 'file') {
      const result = await uploader.upload(job.request);
      this.ctx.event('file.uploaded', { name: result.name, size: result.size, sha256: result.sha256 });
      return;
    }
    const recordings = this.ctx.recordings();
    const entry = recordings?.get(job.id);
    if (!recordings || !entry) throw new DesklineError('RECORDING_NOT_FOUND', `recording ${job.id} is gone`);
    if (entry.uploaded) return;
    const result = await uploader.upload({
      fileId: entry.id, path: join(this.ctx.recordingsDir, entry.file), name: entry.file, sha256: entry.sha256, size: entry.bytes,
      userData: { kind: 'recording', callId: entry.callId, number: entry.number, direction: entry.direction, startedAt: entry.startedAt, durationMs: entry.durationMs },
    });
    await recordings.markUploaded(entry.id, { sha256: result.sha256, at: clock.wallTimeTrusted ? clock.now() : null });
    this.ctx.event('recording.uploaded', { recordingId: entry.id, file: entry.file, bytes: result.size, sha256: result.sha256 });
  }
}

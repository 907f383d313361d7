/**
 * The device side of file upload over MQTT (protocol.ts): sends a file as init, segments and fin over the
 * `CloudLink`, and resolves only once the cloud has confirmed the whole file's SHA-256. The caller (recordings)
 * marks the file uploaded then, and not before.
 *
 * - Resumable: the segments the cloud confirmed are kept in `<stateDir>/<fileId>.json` (written to a temp file,
 *   fsynced, renamed), so a new link session, a new uploader or a restarted runtime sends only the rest. In the
 *   generic mode the receiver's init answer also lists what it already holds.
 * - Paced: a token bucket on the injected clock caps the bytes per second; at most `maxInFlight` segments wait
 *   for their confirmation at a time; `paused()` (the runtime: "a call is active") holds new segments back.
 * - Modes: 'generic' (any broker, a Deskline receiver confirms on `.../files/{fileId}/ack`) and 'emqx' (EMQX's
 *   `$file/...` commands, confirmed by the broker's PUBACK reason code, or by `$file-response/{clientId}` for the
 *   `$file-async/...` commands that an MQTT 3.1.1 session needs).
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, TimerHandle } from '../../core/clock.js';
import { errorCode, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { CloudLink, CloudMessage, PublishAck } from '../types.js';
import { writeFileAtomic } from '../../store/durable-file.js';
import {
  EMQX_REASON, FileTransferError, MAX_SEGMENT_BYTES, MIN_SEGMENT_BYTES, checkFileId, emqxFileTopics, emqxResponseTopic, fileAckFilter,
  fileNameProblem, fileTopics, isSha256Hex, parseEmqxResponse, parseFileAck, parseFileTopic, type FileAck, type FileInit,
} from './protocol.js';

export type UploadMode = 'generic' | 'emqx';

export interface FileUploaderOptions {
  link: CloudLink;
  clock: Clock;
  log: Logger;
  /** where per-file progress files live (created, mode 0700) */
  stateDir: string;
  /** default 'generic' */
  mode?: UploadMode;
  /**
   * emqx mode: 'sync' ($file/..., the result is the PUBACK reason code: MQTT 5 only), 'async' ($file-async/...,
   * the result comes on $file-response/{clientId}), or 'auto' (default): async when the session is MQTT 3.1.1.
   */
  emqxCommands?: 'sync' | 'async' | 'auto';
  /** bytes per segment (default 64 KiB; 1 KiB..1 MiB) */
  segmentSize?: number;
  /** segments sent but not yet confirmed, at most (default 4) */
  maxInFlight?: number;
  /** the bandwidth cap in bytes per second; null or 0 = none (default none) */
  bytesPerSecond?: number | null;
  /** while true no new segment is sent (in-flight ones finish); default never */
  paused?: () => boolean;
  /** how often a paused uploader looks at `paused()` again (default 1 s; `wake()` looks at once) */
  pauseCheckMs?: number;
  /** generic mode: a segment, init or fin not confirmed this long after the broker took it is sent again (default 30 s) */
  confirmTimeoutMs?: number;
  /** emqx: how long to hold back after "quota exceeded" (0x97) before sending again (default 5 s) */
  quotaPauseMs?: number;
  /** how often the cloud may ask to start over before the upload fails (default 5) */
  maxRestarts?: number;
}

export interface UploadRequest {
  /** one topic level, unique per file and never reused for another file (e.g. the recording id) */
  fileId: string;
  /** the local file */
  path: string;
  /** the name the cloud stores it under (no path separators) */
  name: string;
  /** the expected hex SHA-256 (e.g. from the recording's index): a differing file is refused, not uploaded */
  sha256?: string;
  /** the expected size in bytes */
  size?: number;
  /** EMQX's init `user_data`: free-form JSON stored with the file */
  userData?: Record<string, unknown>;
  /** wall time (ms) after which the cloud may delete the file; sent only while wall time is trusted */
  expireAt?: number;
  /** seconds the cloud keeps segments of an unfinished transfer */
  segmentsTtlS?: number;
}

export interface UploadResult {
  fileId: string;
  name: string;
  size: number;
  /** the SHA-256 the cloud confirmed */
  sha256: string;
  /** segments sent by this call (resends included) */
  segmentsSent: number;
  /** segments the cloud already had when this call started (sent by an earlier session) */
  segmentsResumed: number;
  segmentsTotal: number;
}

const DEFAULT_SEGMENT_BYTES = 64 * 1024;
const PROGRESS_VERSION = 1;

/** What the cloud said about one command. */
type Outcome =
  | { kind: 'ok' }
  /** send this command again (EIP-0021 0x80 for a segment, or no answer in time) */
  | { kind: 'retry'; reason: string }
  /** start over: init again, resend every segment the cloud lacks (EIP-0021 0x10, 0x80 for fin) */
  | { kind: 'restart'; reason: string }
  /** hold back, then send again (EIP-0021 0x97) */
  | { kind: 'pause'; reason: string }
  /** give up (EIP-0021 0x83, a refused publish, the receiver's `rejected`) */
  | { kind: 'rejected'; reason: string };

type InitOutcome = Outcome | { kind: 'initialised'; received: number[]; complete: boolean };
type FinOutcome = Outcome | { kind: 'verified'; checksum: string } | { kind: 'incomplete'; missing: number[] } | { kind: 'mismatch'; checksum: string };

/** The per-file progress file. */
interface Progress {
  version: number;
  fileId: string;
  mode: UploadMode;
  name: string;
  size: number;
  checksum: string;
  segmentSize: number;
  /** base64 bitmap: bit i set = segment i (offset i * segmentSize) is confirmed */
  confirmed: string;
}

/** One upload in progress. */
interface Transfer {
  request: UploadRequest;
  init: FileInit;
  size: number;
  checksum: string;
  segmentSize: number;
  segments: number;
  confirmed: Uint8Array;
  confirmedCount: number;
  sent: number;
  /** serialises progress writes; `dirty` asks for one more */
  saving: Promise<void> | null;
  dirty: boolean;
}

function hasBit(bits: Uint8Array, i: number): boolean {
  return (bits[i >> 3] & (1 << (i & 7))) !== 0;
}

/** Shared limits of all uploads of one uploader: in-flight slots, the byte-rate token bucket, pauses. */
class SendGate {
  #inFlight = 0;
  #tokens: number;
  #refilledAt: number;
  #heldUntil = 0;
  #timer: TimerHandle | null = null;
  #closed: Error | null = null;
  readonly #waiters: Array<{ bytes: number; resolve: () => void; reject: (error: Error) => void }> = [];

  constructor(
    private readonly clock: Clock,
    private readonly limits: { maxInFlight: number; bytesPerSecond: number; burstBytes: number; paused: () => boolean; pauseCheckMs: number },
  ) {
    this.#tokens = limits.burstBytes;
    this.#refilledAt = clock.monotonic();
  }

  /** Resolves when a segment of `bytes` may go: not paused, a slot free, enough tokens. Take a slot; give it back with release(). */
  acquire(bytes: number): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => {
      this.#waiters.push({ bytes, resolve, reject });
      this.pump();
    });
  }

  release(): void {
    this.#inFlight -= 1;
    this.pump();
  }

  /** Holds every upload back for `ms` (the broker's "quota exceeded"). */
  holdFor(ms: number): void {
    this.#heldUntil = Math.max(this.#heldUntil, this.clock.monotonic() + ms);
  }

  close(error: Error): void {
    this.#closed = error;
    this.clock.clear(this.#timer);
    this.#timer = null;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }

  get paused(): boolean {
    return this.limits.paused();
  }

  /** Lets waiters go as far as the limits allow; arms one timer for whatever they wait on next. */
  pump(): void {
    if (this.#closed) return;
    this.clock.clear(this.#timer);
    this.#timer = null;
    const { maxInFlight, bytesPerSecond, burstBytes } = this.limits;
    while (this.#waiters.length > 0) {
      const now = this.clock.monotonic();
      if (this.limits.paused()) return this.#wakeIn(this.limits.pauseCheckMs);
      if (now < this.#heldUntil) return this.#wakeIn(this.#heldUntil - now);
      if (this.#inFlight >= maxInFlight) return; // release() pumps again
      const waiter = this.#waiters[0];
      if (bytesPerSecond > 0) {
        // token bucket: refills at bytesPerSecond up to one burst (at least the segment asked for)
        const capacity = Math.max(burstBytes, waiter.bytes);
        this.#tokens = Math.min(capacity, this.#tokens + ((now - this.#refilledAt) * bytesPerSecond) / 1000);
        this.#refilledAt = now;
        if (this.#tokens < waiter.bytes) return this.#wakeIn(Math.ceil(((waiter.bytes - this.#tokens) * 1000) / bytesPerSecond));
        this.#tokens -= waiter.bytes;
      }
      this.#waiters.shift();
      this.#inFlight += 1;
      waiter.resolve();
    }
  }

  #wakeIn(ms: number): void {
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = null;
      this.pump();
    }, Math.max(1, ms));
  }
}

export class FileUploader {
  readonly #mode: UploadMode;
  readonly #segmentSize: number;
  readonly #confirmTimeoutMs: number;
  readonly #quotaPauseMs: number;
  readonly #maxRestarts: number;
  readonly #gate: SendGate;
  readonly #active = new Map<string, Transfer>();
  /** file ids with an upload call running (set before the file is even opened) */
  readonly #busy = new Set<string>();
  /** generic: answers awaited, by `${fileId} ${what}` (what: init | fin | the segment offset) */
  readonly #waiting = new Map<string, (outcome: InitOutcome | FinOutcome) => void>();
  /** emqx async: answers awaited, by command topic */
  readonly #responses = new Map<string, (reasonCode: number, description: string) => void>();
  #unsubscribe: Array<() => Promise<void>> = [];
  #started: Promise<void> | null = null;
  #closed = false;
  readonly #stopped: Promise<{ kind: 'stopped' }>;
  #stop: () => void = () => undefined;

  constructor(private readonly options: FileUploaderOptions) {
    this.#mode = options.mode ?? 'generic';
    this.#segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_BYTES;
    if (!Number.isInteger(this.#segmentSize) || this.#segmentSize < MIN_SEGMENT_BYTES || this.#segmentSize > MAX_SEGMENT_BYTES) {
      throw new FileTransferError('FILE_BAD_INPUT', `segmentSize must be an integer ${MIN_SEGMENT_BYTES}..${MAX_SEGMENT_BYTES}`);
    }
    const maxInFlight = options.maxInFlight ?? 4;
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new FileTransferError('FILE_BAD_INPUT', 'maxInFlight must be a positive integer');
    this.#confirmTimeoutMs = options.confirmTimeoutMs ?? 30_000;
    this.#quotaPauseMs = options.quotaPauseMs ?? 5000;
    this.#maxRestarts = options.maxRestarts ?? 5;
    this.#gate = new SendGate(options.clock, {
      maxInFlight,
      bytesPerSecond: options.bytesPerSecond ?? 0,
      burstBytes: this.#segmentSize,
      paused: options.paused ?? (() => false),
      pauseCheckMs: options.pauseCheckMs ?? 1000,
    });
    this.#stopped = new Promise((resolve) => (this.#stop = () => resolve({ kind: 'stopped' })));
  }

  /** Subscribes to the cloud's answers (done by the first upload otherwise). Resolves once the broker has the subscription. */
  start(): Promise<void> {
    this.#started ??= this.#subscribe().catch((error: unknown) => {
      this.#started = null; // the next upload tries again
      throw error;
    });
    return this.#started;
  }

  /** Looks at `paused()` again now (the runtime calls it when a call ends). */
  wake(): void {
    this.#gate.pump();
  }

  /** Stops: running uploads reject with FILE_UPLOAD_STOPPED and keep their progress for the next uploader. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#gate.close(new FileTransferError('FILE_UPLOAD_STOPPED', 'the uploader was closed'));
    this.#stop();
    for (const unsubscribe of this.#unsubscribe.splice(0)) await unsubscribe().catch(() => undefined);
  }

  /** Uploads a file; resolves once the cloud confirmed its SHA-256. */
  async upload(request: UploadRequest): Promise<UploadResult> {
    checkFileId(request.fileId);
    const nameProblem = fileNameProblem(request.name);
    if (nameProblem) throw new FileTransferError('FILE_BAD_INPUT', `upload of ${request.fileId}: ${nameProblem}`);
    if (this.#closed) throw new FileTransferError('FILE_UPLOAD_STOPPED', 'the uploader was closed');
    if (this.#busy.has(request.fileId)) throw new FileTransferError('FILE_UPLOAD_BUSY', `file ${request.fileId} is being uploaded already`);
    this.#busy.add(request.fileId);
    try {
      await this.start();
      const source = await open(request.path, 'r');
      try {
        const transfer = await this.#prepare(request, source);
        this.#active.set(request.fileId, transfer);
        try {
          return await this.#run(transfer, source);
        } finally {
          this.#active.delete(request.fileId);
          while (transfer.saving) await transfer.saving;
        }
      } finally {
        await source.close();
      }
    } finally {
      this.#busy.delete(request.fileId);
    }
  }

  // ---- one upload ------------------------------------------------------------------------------------------------

  async #prepare(request: UploadRequest, source: FileHandle): Promise<Transfer> {
    const { size } = await source.stat();
    if (request.size !== undefined && request.size !== size) {
      throw new FileTransferError('FILE_UPLOAD_SOURCE_CHANGED', `${request.path} has ${size} bytes, not the ${request.size} expected`);
    }
    const checksum = await sha256Of(source, size);
    if (request.sha256 !== undefined && request.sha256 !== checksum) {
      throw new FileTransferError('FILE_UPLOAD_SOURCE_CHANGED', `${request.path} is not the file expected (its sha256 is ${checksum})`);
    }
    const segments = Math.ceil(size / this.#segmentSize);
    const { clock } = this.options;
    const init: FileInit = {
      name: request.name,
      size,
      checksum,
      ...(request.expireAt !== undefined && clock.wallTimeTrusted ? { expire_at: Math.floor(request.expireAt / 1000) } : {}),
      ...(request.segmentsTtlS !== undefined ? { segments_ttl: request.segmentsTtlS } : {}),
      ...(request.userData !== undefined ? { user_data: request.userData } : {}),
      ...(this.#mode === 'generic' ? { segment_size: this.#segmentSize } : {}),
    };
    const transfer: Transfer = {
      request, init, size, checksum, segmentSize: this.#segmentSize, segments,
      confirmed: new Uint8Array(Math.ceil(segments / 8)), confirmedCount: 0, sent: 0, saving: null, dirty: false,
    };
    const saved = await this.#readProgress(request.fileId);
    if (saved && saved.mode === this.#mode && saved.name === request.name && saved.size === size && saved.checksum === checksum && saved.segmentSize === this.#segmentSize) {
      const bits = Buffer.from(saved.confirmed, 'base64');
      for (let i = 0; i < segments; i++) if (i >> 3 < bits.length && hasBit(bits, i)) this.#setConfirmed(transfer, i, true);
    } else if (saved) {
      this.options.log.info({ fileId: request.fileId }, 'upload progress is for another file: starting over');
    }
    return transfer;
  }

  async #run(transfer: Transfer, source: FileHandle): Promise<UploadResult> {
    const { log } = this.options;
    const { fileId } = transfer.request;
    const resumed = transfer.confirmedCount;
    let restarts = 0;
    let checksumFailures = 0;
    const startOver = (reason: string, clear: boolean) => {
      restarts += 1;
      if (restarts > this.#maxRestarts) {
        throw new FileTransferError('FILE_UPLOAD_NOT_ACCEPTED', `upload of ${fileId} restarted ${this.#maxRestarts} times, giving up (last: ${reason})`);
      }
      log.info({ fileId, reason, restarts }, 'file upload starts over');
      if (clear) this.#clearConfirmed(transfer);
    };
    log.info({ fileId, name: transfer.init.name, bytes: transfer.size, mode: this.#mode, resumedSegments: resumed, segments: transfer.segments }, 'file upload started');
    for (;;) {
      const init = await this.#init(transfer);
      if (init.kind === 'restart') {
        startOver(init.reason, true);
        continue;
      }
      let complete = false;
      if (init.kind === 'initialised') {
        for (const offset of init.received) this.#confirmOffset(transfer, offset);
        complete = init.complete;
      }
      if (!complete) {
        const segments = await this.#sendSegments(transfer, source);
        if (segments.kind === 'restart') {
          // generic: the receiver lost the transfer; init again and it lists what it still has. EMQX: resend all.
          startOver(segments.reason, true);
          continue;
        }
      }
      const fin = await this.#fin(transfer);
      if (fin.kind === 'verified') {
        if (fin.checksum !== transfer.checksum) throw new FileTransferError('FILE_UPLOAD_CHECKSUM_MISMATCH', `the cloud confirmed sha256 ${fin.checksum} for ${fileId}, not ${transfer.checksum}`);
        await this.#deleteProgress(transfer);
        log.info({ fileId, bytes: transfer.size, segmentsSent: transfer.sent, resumedSegments: resumed }, 'file uploaded and its sha256 confirmed');
        return {
          fileId, name: transfer.init.name, size: transfer.size, sha256: transfer.checksum,
          segmentsSent: transfer.sent, segmentsResumed: resumed, segmentsTotal: transfer.segments,
        };
      }
      if (fin.kind === 'incomplete') {
        startOver(`the cloud misses ${fin.missing.length} segment(s)`, false);
        for (const offset of fin.missing) this.#unconfirmOffset(transfer, offset);
        continue;
      }
      if (fin.kind === 'mismatch') {
        checksumFailures += 1;
        if (checksumFailures > 1) {
          throw new FileTransferError('FILE_UPLOAD_CHECKSUM_MISMATCH', `the cloud assembled ${fileId} with sha256 ${fin.checksum}, not ${transfer.checksum}, twice`);
        }
        startOver('the assembled file had another sha256', true);
        continue;
      }
      if (fin.kind === 'restart') startOver(fin.reason, true);
    }
  }

  /** Sends every unconfirmed segment, at most maxInFlight at a time, until all are confirmed or the cloud asks to start over. */
  async #sendSegments(transfer: Transfer, source: FileHandle): Promise<{ kind: 'done' } | { kind: 'restart'; reason: string }> {
    const pending: number[] = [];
    for (let i = 0; i < transfer.segments; i++) if (!hasBit(transfer.confirmed, i)) pending.push(i);
    const inFlight = new Set<Promise<void>>();
    // written by the segments' callbacks, read by the loop
    const stop: { restart: string | null; failure: unknown } = { restart: null, failure: null };
    while (stop.restart === null && stop.failure === null) {
      const index = pending.shift();
      if (index === undefined) {
        if (inFlight.size === 0) break;
        await Promise.race(inFlight);
        continue;
      }
      if (hasBit(transfer.confirmed, index)) continue;
      const offset = index * transfer.segmentSize;
      const bytes = Math.min(transfer.segmentSize, transfer.size - offset);
      await this.#gate.acquire(bytes);
      if (stop.restart !== null || stop.failure !== null || hasBit(transfer.confirmed, index)) {
        this.#gate.release();
        continue;
      }
      // read only once a slot is taken: at most maxInFlight segments are in memory
      const data = Buffer.alloc(bytes);
      const { bytesRead } = await source.read(data, 0, bytes, offset);
      if (bytesRead !== bytes) {
        this.#gate.release();
        stop.failure = new FileTransferError('FILE_UPLOAD_SOURCE_CHANGED', `${transfer.request.path} got shorter during the upload`);
        break;
      }
      transfer.sent += 1;
      const sending: Promise<void> = this.#segment(transfer, offset, data)
        .then((outcome) => {
          switch (outcome.kind) {
            case 'ok':
              this.#setConfirmed(transfer, index, true);
              break;
            case 'retry':
              this.options.log.debug({ fileId: transfer.request.fileId, offset, reason: outcome.reason }, 'segment to be sent again');
              if (!hasBit(transfer.confirmed, index)) pending.unshift(index);
              break;
            case 'pause':
              this.options.log.info({ fileId: transfer.request.fileId, reason: outcome.reason, pauseMs: this.#quotaPauseMs }, 'file upload held back by the broker');
              this.#gate.holdFor(this.#quotaPauseMs);
              if (!hasBit(transfer.confirmed, index)) pending.unshift(index);
              break;
            case 'restart':
              stop.restart = outcome.reason;
              break;
            case 'rejected':
              stop.failure = new FileTransferError('FILE_UPLOAD_REJECTED', `the cloud refused ${transfer.request.fileId}: ${outcome.reason}`);
              break;
          }
        }, (error: unknown) => {
          stop.failure = error;
        })
        .finally(() => {
          this.#gate.release();
          inFlight.delete(sending);
        });
      inFlight.add(sending);
    }
    await Promise.all(inFlight);
    if (stop.failure !== null) throw stop.failure;
    return stop.restart !== null ? { kind: 'restart', reason: stop.restart } : { kind: 'done' };
  }

  /** init until the cloud answers it (resending on timeouts and "try again"). */
  #init(transfer: Transfer): Promise<Exclude<InitOutcome, { kind: 'retry' | 'pause' | 'rejected' }>> {
    return this.#untilAnswered(transfer, () => (this.#mode === 'generic' ? this.#genericInit(transfer) : this.#emqxCommand('init', transfer)));
  }

  async #fin(transfer: Transfer): Promise<FinOutcome> {
    const outcome = await this.#untilAnswered(transfer, () => (this.#mode === 'generic' ? this.#genericFin(transfer) : this.#emqxCommand('fin', transfer)));
    // EIP-0021: a successful fin with the checksum in its topic means the broker verified the assembled file
    return outcome.kind === 'ok' ? { kind: 'verified', checksum: transfer.checksum } : outcome;
  }

  /** Sends a command until the cloud gives a final answer: waits out "quota exceeded", repeats "try again", throws on a refusal. */
  async #untilAnswered<O extends { kind: string }>(transfer: Transfer, send: () => Promise<O>): Promise<Exclude<O, { kind: 'retry' | 'pause' | 'rejected' }>> {
    for (;;) {
      const outcome = await send();
      if (outcome.kind === 'rejected') {
        throw new FileTransferError('FILE_UPLOAD_REJECTED', `the cloud refused ${transfer.request.fileId}: ${(outcome as { reason?: string }).reason ?? ''}`);
      }
      if (outcome.kind === 'pause') await this.#hold(this.#quotaPauseMs);
      else if (outcome.kind !== 'retry') return outcome as Exclude<O, { kind: 'retry' | 'pause' | 'rejected' }>;
    }
  }

  async #hold(ms: number): Promise<void> {
    this.#gate.holdFor(ms);
    await this.#gate.acquire(0);
    this.#gate.release();
  }

  #segment(transfer: Transfer, offset: number, data: Buffer): Promise<Outcome> {
    // EIP-0021: "Client MAY calculate SHA-256 checksum of the segment ... and send it as part of Topic Name";
    // the receiver (or EMQX) then refuses a damaged segment instead of storing it
    const checksum = createHash('sha256').update(data).digest('hex');
    if (this.#mode === 'emqx') return this.#emqxCommand('segment', transfer, { offset, data, checksum }) as Promise<Outcome>;
    return this.#genericCommand(transfer, String(offset), fileTopics(this.options.link.deviceId, transfer.request.fileId).segment(offset, checksum), data) as Promise<Outcome>;
  }

  // ---- generic mode: our receiver answers on .../files/{fileId}/ack -------------------------------------------

  #genericInit(transfer: Transfer): Promise<InitOutcome> {
    const topics = fileTopics(this.options.link.deviceId, transfer.request.fileId);
    return this.#genericCommand(transfer, 'init', topics.init, JSON.stringify(transfer.init)) as Promise<InitOutcome>;
  }

  #genericFin(transfer: Transfer): Promise<FinOutcome> {
    const topics = fileTopics(this.options.link.deviceId, transfer.request.fileId);
    return this.#genericCommand(transfer, 'fin', topics.fin(transfer.size, transfer.checksum), Buffer.alloc(0)) as Promise<FinOutcome>;
  }

  /**
   * Publishes one command and waits for the receiver's ack. The wait starts when the broker took the message
   * (PUBACK): while the link is down the publish waits in the link, and nothing is resent for nothing.
   */
  async #genericCommand(transfer: Transfer, what: string, topic: string, payload: string | Buffer): Promise<InitOutcome | FinOutcome> {
    const key = `${transfer.request.fileId} ${what}`;
    let answer: (outcome: InitOutcome | FinOutcome) => void = () => undefined;
    const answered = new Promise<InitOutcome | FinOutcome>((resolve) => (answer = resolve));
    this.#waiting.set(key, answer);
    let timer: TimerHandle | null = null;
    try {
      const published = await this.#publish(topic, payload);
      if (published) return published;
      timer = this.options.clock.setTimeout(() => answer({ kind: 'retry', reason: `no answer within ${this.#confirmTimeoutMs} ms` }), this.#confirmTimeoutMs);
      const outcome = await Promise.race([answered, this.#stopped]);
      if (outcome.kind === 'stopped') throw new FileTransferError('FILE_UPLOAD_STOPPED', 'the uploader was closed');
      return outcome;
    } finally {
      this.options.clock.clear(timer);
      if (this.#waiting.get(key) === answer) this.#waiting.delete(key);
    }
  }

  /** Publishes (QoS 1); returns an outcome when the broker refused the message, null when it took it. */
  async #publish(topic: string, payload: string | Buffer): Promise<Outcome | null> {
    const published = await Promise.race([
      this.options.link.publish(topic, payload, { qos: 1 }).then((ack) => ({ kind: 'acked' as const, ack }), (error: unknown) => ({ kind: 'failed' as const, error })),
      this.#stopped,
    ]);
    if (published.kind === 'stopped') throw new FileTransferError('FILE_UPLOAD_STOPPED', 'the uploader was closed');
    if (published.kind === 'failed') {
      if (errorCode(published.error) === 'CLOUD_PUBLISH_REFUSED') return { kind: 'rejected', reason: `the broker refused ${topic}: ${errorMessage(published.error)}` };
      throw new FileTransferError('FILE_UPLOAD_STOPPED', `publish to ${topic} failed: ${errorMessage(published.error)}`, { cause: published.error });
    }
    if (published.ack.reasonCode >= 0x80) return { kind: 'rejected', reason: `the broker refused ${topic} (reason code 0x${published.ack.reasonCode.toString(16)})` };
    return null;
  }

  #onAck(message: CloudMessage): void {
    const parsed = parseFileTopic(message.topic);
    if (!parsed || parsed.command !== 'ack' || parsed.deviceId !== this.options.link.deviceId) return;
    let ack: FileAck;
    try {
      ack = parseFileAck(message.payload);
    } catch (error) {
      this.options.log.warn({ topic: message.topic, err: errorMessage(error) }, 'ignored a malformed file ack');
      return;
    }
    const { fileId } = parsed;
    const answer = (what: string, outcome: InitOutcome | FinOutcome) => this.#waiting.get(`${fileId} ${what}`)?.(outcome);
    switch (ack.type) {
      case 'init':
        answer('init', { kind: 'initialised', received: ack.received, complete: ack.complete });
        break;
      case 'segment': {
        if (ack.status === 'ok') {
          // an ack for a segment sent before a timeout or a restart still counts
          const transfer = this.#active.get(fileId);
          if (transfer) this.#confirmOffset(transfer, ack.offset);
          answer(String(ack.offset), { kind: 'ok' });
        } else {
          answer(String(ack.offset), { kind: 'retry', reason: ack.reason ?? 'the receiver asked for it again' });
        }
        break;
      }
      case 'fin':
        if (ack.status === 'ok') answer('fin', { kind: 'verified', checksum: ack.checksum });
        else if (ack.status === 'incomplete') answer('fin', { kind: 'incomplete', missing: ack.missing });
        else answer('fin', { kind: 'mismatch', checksum: ack.checksum });
        break;
      case 'restart':
      case 'rejected': {
        // about the whole transfer: every command of this file waiting for an answer gets it
        const outcome: Outcome = ack.type === 'restart' ? { kind: 'restart', reason: ack.reason } : { kind: 'rejected', reason: `${ack.code}: ${ack.message}` };
        for (const [key, resolve] of this.#waiting) if (key.startsWith(`${fileId} `)) resolve(outcome);
        break;
      }
    }
  }

  // ---- emqx mode: EMQX answers in PUBACK reason codes or on $file-response/{clientId} ----------------------

  async #emqxCommand(command: 'init' | 'segment' | 'fin', transfer: Transfer, segment?: { offset: number; data: Buffer; checksum: string }): Promise<Outcome> {
    const asynchronous = await this.#emqxAsync();
    const topics = emqxFileTopics(transfer.request.fileId, { async: asynchronous });
    const topic = command === 'init' ? topics.init : command === 'fin' ? topics.fin(transfer.size, transfer.checksum) : topics.segment(segment!.offset, segment!.checksum);
    const payload = command === 'init' ? JSON.stringify(transfer.init) : command === 'fin' ? Buffer.alloc(0) : segment!.data;
    let reasonCode: number;
    let description = '';
    if (!asynchronous) {
      const result = await this.#publishForReason(topic, payload);
      reasonCode = result.reasonCode;
      description = result.reasonString ?? '';
    } else {
      // EIP-0021 "Asynchronous mode": a non-zero PUBACK is an immediate failure; otherwise the result comes as a
      // JSON document on $file-response/{clientId} whose `topic` names the command
      let respond: (code: number, text: string) => void = () => undefined;
      const responded = new Promise<{ code: number; text: string }>((resolve) => (respond = (code, text) => resolve({ code, text })));
      this.#responses.set(topic, respond);
      let timer: TimerHandle | null = null;
      try {
        const ack = await this.#publishForReason(topic, payload);
        if (ack.reasonCode !== 0) {
          reasonCode = ack.reasonCode;
          description = ack.reasonString ?? '';
        } else {
          timer = this.options.clock.setTimeout(() => respond(-1, `no $file-response within ${this.#confirmTimeoutMs} ms`), this.#confirmTimeoutMs);
          const response = await Promise.race([responded, this.#stopped]);
          if ('kind' in response) throw new FileTransferError('FILE_UPLOAD_STOPPED', 'the uploader was closed');
          if (response.code === -1) return { kind: 'retry', reason: response.text };
          reasonCode = response.code;
          description = response.text;
        }
      } finally {
        this.options.clock.clear(timer);
        if (this.#responses.get(topic) === respond) this.#responses.delete(topic);
      }
    }
    return this.#emqxOutcome(command, reasonCode, description, topic);
  }

  /** EIP-0021 "Reason codes" as the uploader acts on them. */
  #emqxOutcome(command: 'init' | 'segment' | 'fin', reasonCode: number, description: string, topic: string): Outcome {
    const why = `${topic}: reason code 0x${reasonCode.toString(16).padStart(2, '0')}${description ? ` (${description})` : ''}`;
    switch (reasonCode) {
      case EMQX_REASON.success:
        return { kind: 'ok' };
      case EMQX_REASON.noMatchingSubscribers:
        // "Server asks Client to retransmit all segments" (a broker without file transfer says the same)
        return { kind: 'restart', reason: why };
      case EMQX_REASON.unspecifiedError:
        // segment: "retransmit the segment"; fin: "retransmit all segments"
        return command === 'fin' ? { kind: 'restart', reason: why } : { kind: 'retry', reason: why };
      case EMQX_REASON.quotaExceeded:
        return { kind: 'pause', reason: why };
      default:
        // 0x83 "cancel the transfer", and any other refusal (0x87 not authorised, 0x90 bad topic, ...)
        return reasonCode < 0x80 ? { kind: 'ok' } : { kind: 'rejected', reason: why };
    }
  }

  /** Publishes and returns the PUBACK reason code, whether the link resolved it or rejected the publish with it. */
  async #publishForReason(topic: string, payload: string | Buffer): Promise<PublishAck> {
    const published = await Promise.race([
      this.options.link.publish(topic, payload, { qos: 1 }).then((ack) => ({ kind: 'acked' as const, ack }), (error: unknown) => ({ kind: 'failed' as const, error })),
      this.#stopped,
    ]);
    if (published.kind === 'stopped') throw new FileTransferError('FILE_UPLOAD_STOPPED', 'the uploader was closed');
    if (published.kind === 'acked') return published.ack;
    const reasonCode = (published.error as { details?: { reasonCode?: unknown } }).details?.reasonCode;
    if (errorCode(published.error) === 'CLOUD_PUBLISH_REFUSED' && typeof reasonCode === 'number') return { reasonCode, reasonString: errorMessage(published.error) };
    throw new FileTransferError('FILE_UPLOAD_STOPPED', `publish to ${topic} failed: ${errorMessage(published.error)}`, { cause: published.error });
  }

  async #emqxAsync(): Promise<boolean> {
    const choice = this.options.emqxCommands ?? 'auto';
    if (choice === 'async') return true;
    const version = this.options.link.protocolVersion ?? (await this.#firstConnect());
    if (version === 4 && choice === 'sync') {
      throw new FileTransferError('FILE_BAD_INPUT', "emqxCommands 'sync' needs MQTT 5 (an MQTT 3.1.1 PUBACK carries no reason code): use 'async' or 'auto'");
    }
    return version === 4;
  }

  #firstConnect(): Promise<4 | 5> {
    return new Promise((resolve) => {
      const off = this.options.link.on('connected', ({ protocolVersion }) => {
        off();
        resolve(protocolVersion);
      });
    });
  }

  #onEmqxResponse(message: CloudMessage): void {
    try {
      const response = parseEmqxResponse(message.payload);
      this.#responses.get(response.topic)?.(response.reason_code, response.reason_description);
    } catch (error) {
      this.options.log.warn({ topic: message.topic, err: errorMessage(error) }, 'ignored a malformed $file-response document');
    }
  }

  async #subscribe(): Promise<void> {
    await mkdir(this.options.stateDir, { recursive: true, mode: 0o700 });
    const { link } = this.options;
    if (this.#mode === 'generic') {
      this.#unsubscribe.push(await link.subscribe(fileAckFilter(link.deviceId), (message) => this.#onAck(message)));
    } else if ((this.options.emqxCommands ?? 'auto') !== 'sync') {
      // EIP-0021: "The client should subscribe to [the response topic] before sending the command"
      this.#unsubscribe.push(await link.subscribe(emqxResponseTopic(link.deviceId), (message) => this.#onEmqxResponse(message)));
    }
  }

  // ---- progress ----------------------------------------------------------------------------------------------------

  #confirmOffset(transfer: Transfer, offset: number): void {
    if (offset % transfer.segmentSize !== 0 || offset / transfer.segmentSize >= transfer.segments) return;
    this.#setConfirmed(transfer, offset / transfer.segmentSize, true);
  }

  #unconfirmOffset(transfer: Transfer, offset: number): void {
    if (offset % transfer.segmentSize !== 0 || offset / transfer.segmentSize >= transfer.segments) return;
    this.#setConfirmed(transfer, offset / transfer.segmentSize, false);
  }

  #clearConfirmed(transfer: Transfer): void {
    transfer.confirmed.fill(0);
    transfer.confirmedCount = 0;
    this.#saveProgress(transfer);
  }

  #setConfirmed(transfer: Transfer, index: number, confirmed: boolean): void {
    if (hasBit(transfer.confirmed, index) === confirmed) return;
    transfer.confirmed[index >> 3] ^= 1 << (index & 7);
    transfer.confirmedCount += confirmed ? 1 : -1;
    this.#saveProgress(transfer);
  }

  #progressPath(fileId: string): string {
    return join(this.options.stateDir, `${fileId}.json`);
  }

  /** Writes the progress file (coalescing: at most one write runs, one more follows when something changed meanwhile). */
  #saveProgress(transfer: Transfer): void {
    transfer.dirty = true;
    if (transfer.saving) return;
    const write = async () => {
      while (transfer.dirty) {
        transfer.dirty = false;
        const progress: Progress = {
          version: PROGRESS_VERSION, fileId: transfer.request.fileId, mode: this.#mode, name: transfer.init.name, size: transfer.size,
          checksum: transfer.checksum, segmentSize: transfer.segmentSize, confirmed: Buffer.from(transfer.confirmed).toString('base64'),
        };
        try {
          await writeFileAtomic(this.#progressPath(transfer.request.fileId), `${JSON.stringify(progress)}\n`);
        } catch (error) {
          this.options.log.warn({ fileId: transfer.request.fileId, err: errorMessage(error) }, 'upload progress not saved (a restart resends more)');
        }
      }
      transfer.saving = null;
    };
    transfer.saving = write();
  }

  async #readProgress(fileId: string): Promise<Progress | null> {
    let text: string;
    try {
      text = await readFile(this.#progressPath(fileId), 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return null;
      throw error;
    }
    try {
      const p = JSON.parse(text) as Partial<Progress>;
      if (p.version !== PROGRESS_VERSION || p.fileId !== fileId || typeof p.confirmed !== 'string' || !isSha256Hex(p.checksum)) return null;
      return p as Progress;
    } catch {
      this.options.log.warn({ fileId }, 'unreadable upload progress: starting over');
      return null;
    }
  }

  async #deleteProgress(transfer: Transfer): Promise<void> {
    while (transfer.saving) await transfer.saving;
    await unlink(this.#progressPath(transfer.request.fileId)).catch((error: unknown) => {
      if (errorCode(error) !== 'ENOENT') throw error;
    });
  }
}

/** Hex SHA-256 of the first `size` bytes of an open file. */
async function sha256Of(source: FileHandle, size: number): Promise<string> {
  const hash = createHash('sha256');
  const buffer = Buffer.alloc(Math.min(1024 * 1024, Math.max(1, size)));
  for (let position = 0; position < size;) {
    const { bytesRead } = await source.read(buffer, 0, Math.min(buffer.length, size - position), position);
    if (bytesRead === 0) throw new FileTransferError('FILE_UPLOAD_SOURCE_CHANGED', 'the file got shorter while it was read');
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  return hash.digest('hex');
}

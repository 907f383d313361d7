// Call recordings: decides per call whether its media is recorded (config `recording`: mode, rules by
// direction and contact tag), starts and stops on-demand recordings mid-call, indexes every finished file
// (length, size, SHA-256) in the store, keeps the recordings within the quota and the disk's free space,
// and plays recordings back through the handset.
//
// The life of one recording:
//   recordPathFor / startRecording  -> an entry in state 'recording' (durable before much audio exists)
//   media 'recordingStarted'        -> the notice (beep/announcement) is played to the far end
//   media 'recordingFinished'       -> measured, entry 'saved', `recordingSaved` on the bus, space checked
// A runtime that stopped mid-recording finds 'recording' entries at the next start and indexes the files
// as they are (the recorder keeps them valid up to the last second flushed).
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, stat, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { AudioDriver } from '../../drivers/audio/types.js';
import type { Config } from '../config/schema.js';
import type { ControlRegistry } from '../control/protocol.js';
import type { EventBus } from '../core/bus.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { errorCode, errorMessage } from '../core/errors.js';
import type { BusEvents, CallInfo } from '../core/events.js';
import type { Logger } from '../core/log.js';
import type { Service } from '../core/services.js';
import type { MediaEngine, MediaEngineEvents } from '../media/engine.js';
import { MAX_SOURCE_SAMPLES } from '../media/session.js';
import type { Store } from '../store/types.js';
import { RecordingError } from './errors.js';
import { PacedPlayback } from './playback.js';
import { recordingDecision, type RecordingDecision } from './policy.js';
import { RecordingsRepository, type RecordingEntry } from './repository.js';
import { WavFrameReader, measureWav, monoFromS16le, recordingBeep, sha256File, wavLayoutOf } from './wav.js';

const OWNER = 'recordings';
const MB = 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;
/** How often quota and retention are checked besides after each recording. */
const DEFAULT_CHECK_INTERVAL_MS = 5 * 60 * 1000;
/** After a call ended, how long its recordings may take to be reported closed before they are indexed as they are. */
const FINISH_GRACE_MS = 30_000;
const LIST_LIMIT_DEFAULT = 50;
const LIST_LIMIT_MAX = 1000;

type RecordingMediaEvent = 'recordingStarted' | 'recordingFinished';

/** What this service asks of the call media (the MediaEngine): recording a call and sending audio into it. */
export interface CallMedia {
  startRecording: MediaEngine['startRecording'];
  stopRecording: MediaEngine['stopRecording'];
  play: MediaEngine['play'];
  on<K extends RecordingMediaEvent>(event: K, listener: (...args: MediaEngineEvents[K]) => void): unknown;
  off<K extends RecordingMediaEvent>(event: K, listener: (...args: MediaEngineEvents[K]) => void): unknown;
}

export interface RecordingsContext {
  bus: EventBus<BusEvents>;
  clock: Clock;
  log: Logger;
  store: Store;
  config: () => Config['recording'];
  /** the recordings directory (created at start, mode 0700) */
  dir: string;
  /** played back through: this service owns the audio driver's playback */
  audio: AudioDriver;
  control: ControlRegistry;
  /** the calls' media; null when the phone has none (no SIP line): nothing is recorded then */
  media: CallMedia | null;
  /** tags of the contact with this number (E.164 when known, else as dialled); default none */
  contactTags?: (number: string) => readonly string[];
  /** free space of the file system holding `dir`; default fs.statfs */
  diskUsage?: (dir: string) => Promise<{ freeBytes: number }>;
  /** default 5 minutes */
  checkIntervalMs?: number;
}

export interface RecordingsStatus {
  /** bytes of the files in the recordings directory */
  usedBytes: number;
  quotaBytes: number;
  freeBytes: number | null;
  minFreeBytes: number;
  suspended: boolean;
  reason: string | null;
  recordings: number;
  notUploaded: number;
  /** calls being recorded now */
  recordingCalls: string[];
  playback: { recordingId: string; positionMs: number; durationMs: number } | null;
}

interface CallState {
  info: CallInfo;
  decision: RecordingDecision | null;
  /** someone asked to record it (on-demand): media (re)starts record */
  requested: boolean;
  /** someone stopped its recording: media restarts do not record again until asked */
  stoppedByUser: boolean;
  ended: boolean;
  /** recordings made for the call so far (file names: <callId>.wav, <callId>-2.wav, ...) */
  segments: number;
  contact: { id: string; tag: string | null } | null;
}

interface ActiveRecording {
  id: string;
  callId: string;
}

async function defaultDiskUsage(dir: string): Promise<{ freeBytes: number }> {
  const fs = await statfs(dir);
  return { freeBytes: fs.bavail * fs.bsize };
}

function fileNameFor(callId: string, segment: number): string {
  const safe = callId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 128) || 'call';
  return segment > 1 ? `${safe}-${segment}.wav` : `${safe}.wav`;
}

function mbText(bytes: number): string {
  return (bytes / MB).toFixed(bytes < 10 * MB ? 1 : 0);
}

function params(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function idParam(value: unknown, name: string): string {
  const id = params(value)[name];
  if (typeof id !== 'string' || !id || id.length > 256) throw new RecordingError('RECORDING_BAD_REQUEST', `'${name}' must be a non-empty string`);
  return id;
}

export class RecordingsService implements Service {
  #repo: RecordingsRepository | null = null;
  readonly #calls = new Map<string, CallState>();
  /** recordings whose file the media engine has (or was asked to) open, by absolute path */
  readonly #active = new Map<string, ActiveRecording>();
  readonly #unsubscribe: Array<() => void> = [];
  #checkTimer: TimerHandle | null = null;
  readonly #graceTimers = new Set<TimerHandle>();
  /** finishing recordings and space checks run one at a time, in order */
  #work: Promise<void> = Promise.resolve();
  #checkQueued = false;
  #suspendedReason: string | null = null;
  #lastUsage: { usedBytes: number; freeBytes: number | null } = { usedBytes: 0, freeBytes: null };
  #playback: { recordingId: string; durationMs: number; player: PacedPlayback } | null = null;
  #running = false;

  constructor(private readonly ctx: RecordingsContext) {}

  async start(): Promise<void> {
    const { bus, control, media, clock } = this.ctx;
    await mkdir(this.ctx.dir, { recursive: true, mode: 0o700 });
    this.#repo = await RecordingsRepository.open(this.ctx.store);
    this.#running = true;
    bus.on(OWNER, 'callStateChanged', (e) => this.#onCallState(e));
    bus.on(OWNER, 'screenPopped', (pop) => {
      const state = this.#calls.get(pop.callId);
      if (state && pop.contact) state.contact = { id: pop.contact.id, tag: pop.contact.tag };
    });
    if (media) {
      const started = (...[e]: MediaEngineEvents['recordingStarted']) => this.#onMediaRecordingStarted(e.callId, e.path);
      const finished = (...[e]: MediaEngineEvents['recordingFinished']) => this.#onMediaRecordingFinished(e);
      media.on('recordingStarted', started);
      media.on('recordingFinished', finished);
      this.#unsubscribe.push(() => media.off('recordingStarted', started), () => media.off('recordingFinished', finished));
    }
    this.#unsubscribe.push(
      control.register(OWNER, 'recordings.list', (p) => this.list({ limit: this.#limitParam(p) })),
      control.register(OWNER, 'recordings.play', (p) => this.play(idParam(p, 'id'))),
      control.register(OWNER, 'recordings.stop', async () => ({ stopped: await this.stopPlayback() })),
      control.register(OWNER, 'recordings.markUploaded', (p) => this.markUploaded(idParam(p, 'id'))),
      control.register(OWNER, 'recordings.status', () => this.status()),
      control.register(OWNER, 'recordings.startRecording', (p) => this.startRecording(idParam(p, 'callId'))),
      control.register(OWNER, 'recordings.stopRecording', async (p) => ({ stopped: await this.stopRecording(idParam(p, 'callId')) })),
    );
    // recordings the runtime was writing when it stopped
    for (const entry of this.#repo.inProgress()) this.#enqueue(() => this.#finish(entry.id, 'indexed after a restart'));
    this.#enqueue(() => this.#reportUnindexedFiles());
    this.#scheduleCheck();
    this.#checkTimer = clock.setInterval(() => this.#scheduleCheck(), this.ctx.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS);
    await this.#work;
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.ctx.clock.clear(this.#checkTimer);
    this.#checkTimer = null;
    this.ctx.bus.removeOwner(OWNER);
    for (const off of this.#unsubscribe.splice(0)) off();
    for (const timer of this.#graceTimers) this.ctx.clock.clear(timer);
    this.#graceTimers.clear();
    await this.stopPlayback();
    await this.#work;
  }

  /** Resolves once the recordings reported finished so far are indexed and queued space checks are done. */
  async idle(): Promise<void> {
    let seen: Promise<void> | null = null;
    while (seen !== this.#work) {
      seen = this.#work;
      await seen;
    }
  }

  /** The repository (lists, lookups); throws before start(). */
  get repository(): RecordingsRepository {
    if (!this.#repo) throw new RecordingError('RECORDING_UNAVAILABLE', 'the recordings service is not started');
    return this.#repo;
  }

  get suspended(): boolean {
    return this.#suspendedReason !== null;
  }

  // ---- the per-call decision ------------------------------------------------------------------------

  /**
   * Where to record this call's media now, or null not to record it. Called by the line each time the
   * call's media starts. Never throws: a recording problem must never cost a call its media.
   */
  recordPathFor(call: CallInfo): string | null {
    try {
      if (!this.#running) return null;
      const state = this.#callState(call);
      if (state.ended || state.stoppedByUser) return null;
      const decision = this.#decide(state);
      if (decision === 'off' || (decision === 'on-demand' && !state.requested)) return null;
      if (this.#suspendedReason !== null) {
        this.ctx.log.warn({ callId: call.callId, reason: this.#suspendedReason }, `call not recorded: recording is suspended (${this.#suspendedReason})`);
        return null;
      }
      return this.#begin(state).path;
    } catch (error) {
      this.ctx.log.error({ callId: call.callId, err: error }, `call not recorded: ${errorMessage(error)}`);
      return null;
    }
  }

  /**
   * Records a call from now on (an on-demand call, or a call whose recording was stopped). Before the
   * call's media runs, the wish is kept and recording starts with the media.
   */
  async startRecording(callId: string): Promise<{ callId: string; recordingId: string | null; file: string | null; waitingForMedia: boolean }> {
    const state = this.#calls.get(callId);
    if (!state || state.ended) throw new RecordingError('RECORDING_NOT_FOUND', `no call '${callId}' in progress`);
    if (this.#decide(state) === 'off') throw new RecordingError('RECORDING_UNAVAILABLE', `recording is off for call ${callId} (recording.mode / recording.rules)`);
    const current = [...this.#active.entries()].find(([, a]) => a.callId === callId);
    if (current) {
      const entry = this.repository.get(current[1].id);
      return { callId, recordingId: current[1].id, file: entry?.file ?? null, waitingForMedia: false };
    }
    if (this.#suspendedReason !== null) throw new RecordingError('RECORDING_SUSPENDED', `recording is suspended: ${this.#suspendedReason}`);
    const media = this.ctx.media;
    if (!media) throw new RecordingError('RECORDING_UNAVAILABLE', `call ${callId} has no media this phone can record`);
    state.requested = true;
    state.stoppedByUser = false;
    const { path, entry } = this.#begin(state);
    try {
      await media.startRecording(callId, { path, stereo: true });
      this.ctx.log.info({ callId, recordingId: entry.id, file: entry.file }, 'recording started on demand');
      return { callId, recordingId: entry.id, file: entry.file, waitingForMedia: false };
    } catch (error) {
      this.#active.delete(path);
      state.segments--;
      await this.repository.delete(entry.id).catch((e: unknown) => this.ctx.log.error({ err: e }, 'recording entry not removed'));
      // the call's media has not started yet: recordPathFor records it once it does
      if (errorCode(error) === 'MEDIA_NO_STREAM') return { callId, recordingId: null, file: null, waitingForMedia: true };
      state.requested = false;
      throw new RecordingError('RECORDING_IO', `recording of call ${callId} not started: ${errorMessage(error)}`, { cause: error });
    }
  }

  /** Stops recording a call (the call goes on); false when it was not being recorded. */
  async stopRecording(callId: string): Promise<boolean> {
    const state = this.#calls.get(callId);
    if (!state) throw new RecordingError('RECORDING_NOT_FOUND', `no call '${callId}' in progress`);
    const wasWaiting = state.requested;
    state.requested = false;
    state.stoppedByUser = true;
    const recording = [...this.#active.values()].some((a) => a.callId === callId);
    if (!recording || !this.ctx.media) return wasWaiting;
    try {
      await this.ctx.media.stopRecording(callId);
    } catch (error) {
      if (errorCode(error) !== 'MEDIA_NOT_RECORDING' && errorCode(error) !== 'MEDIA_NO_STREAM') throw new RecordingError('RECORDING_IO', `recording of call ${callId} not stopped: ${errorMessage(error)}`, { cause: error });
    }
    this.ctx.log.info({ callId }, 'recording stopped on demand');
    return true;
  }

  #callState(call: CallInfo): CallState {
    let state = this.#calls.get(call.callId);
    if (!state) {
      state = { info: { ...call }, decision: null, requested: false, stoppedByUser: false, ended: false, segments: 0, contact: null };
      this.#calls.set(call.callId, state);
    }
    return state;
  }

  /** Decided once per call, when first needed, with the config of that moment. */
  #decide(state: CallState): RecordingDecision {
    if (state.decision === null) {
      const config = this.ctx.config();
      const number = state.info.e164 || state.info.number;
      const tags = [...(number && this.ctx.contactTags ? this.ctx.contactTags(number) : []), ...(state.contact?.tag ? [state.contact.tag] : [])];
      state.decision = recordingDecision({ mode: config.mode, rules: config.rules }, { direction: state.info.direction, contactTags: tags });
      this.ctx.log.debug({ callId: state.info.callId, decision: state.decision, tags }, 'recording decision');
    }
    return state.decision;
  }

  /** A new recording of the call: its entry (state 'recording') and the file's absolute path. */
  #begin(state: CallState): { path: string; entry: RecordingEntry } {
    const { info } = state;
    const file = fileNameFor(info.callId, ++state.segments);
    const entry: RecordingEntry = {
      id: randomUUID(),
      callId: info.callId,
      lineId: info.lineId,
      file,
      startedAt: this.ctx.clock.now(),
      startedAtTrusted: this.ctx.clock.wallTimeTrusted,
      durationMs: 0,
      bytes: 0,
      sha256: '',
      uploaded: false,
      direction: info.direction,
      number: info.number,
      contactId: state.contact?.id ?? null,
      state: 'recording',
    };
    const path = join(this.ctx.dir, file);
    // applied to memory at once; a failed write is retried by the store with the next one
    this.repository.add(entry).catch((error: unknown) => this.ctx.log.error({ recordingId: entry.id, err: error }, `recording entry not stored: ${errorMessage(error)}`));
    this.#active.set(path, { id: entry.id, callId: info.callId });
    return { path, entry };
  }

  #onCallState(e: BusEvents['callStateChanged']): void {
    const { state: callState, at: _at, reason: _reason, ...info } = e;
    if (callState === 'dialing' || callState === 'active') void this.stopPlayback();
    if (callState !== 'ended') {
      const state = this.#callState(info);
      state.info = { ...state.info, ...info };
      return;
    }
    const state = this.#calls.get(e.callId);
    this.#calls.delete(e.callId);
    if (state) state.ended = true;
    const open = [...this.#active.entries()].filter(([, a]) => a.callId === e.callId);
    if (open.length === 0) return;
    // the media reports each file closed as the call's stream stops; should it never, index what is on disk
    const timer = this.ctx.clock.setTimeout(() => {
      this.#graceTimers.delete(timer);
      for (const [path, active] of open) {
        if (this.#active.get(path) !== active) continue;
        this.#active.delete(path);
        this.ctx.log.warn({ callId: e.callId, recordingId: active.id }, 'recording not reported closed after the call ended: indexing the file as it is');
        this.#enqueue(() => this.#finish(active.id, 'call ended'));
      }
    }, FINISH_GRACE_MS);
    this.#graceTimers.add(timer);
  }

  // ---- media events -----------------------------------------------------------------------------------

  #onMediaRecordingStarted(callId: string, path: string): void {
    if (!this.#active.has(path)) return;
    const notice = this.ctx.config().notice;
    if (notice === 'none' || !this.ctx.media) return;
    const media = this.ctx.media;
    this.noticeSamples()
      .then((samples) => samples && media.play(callId, samples))
      .catch((error: unknown) => this.ctx.log.warn({ callId, err: errorMessage(error) }, 'recording notice not played'));
  }

  #onMediaRecordingFinished(e: { callId: string; path: string; error: { code: string; message: string } | null }): void {
    const active = this.#active.get(e.path);
    if (!active) return;
    this.#active.delete(e.path);
    if (e.error) this.ctx.log.warn({ callId: e.callId, recordingId: active.id, code: e.error.code }, `recording ended early: ${e.error.message}`);
    this.#enqueue(() => this.#finish(active.id, e.error ? `ended early: ${e.error.code}` : null));
  }

  /**
   * The audio played to the far end when recording starts: the announcement file, else the beep; null for
   * notice 'none'. The media engine sends it in place of the call's outgoing audio (it is recorded too).
   */
  async noticeSamples(): Promise<Int16Array | null> {
    const { notice, announcementFile } = this.ctx.config();
    if (notice === 'none') return null;
    if (notice === 'announcement' && announcementFile) {
      try {
        return await loadAnnouncement(announcementFile);
      } catch (error) {
        this.ctx.log.warn({ file: announcementFile, err: errorMessage(error) }, 'recording announcement unusable: playing the beep');
      }
    }
    return recordingBeep();
  }

  // ---- indexing -----------------------------------------------------------------------------------------

  #enqueue(job: () => Promise<void>): void {
    this.#work = this.#work.then(job).catch((error: unknown) => this.ctx.log.error({ err: error }, `recordings: ${errorMessage(error)}`));
  }

  /** Measures a recording's file and saves its entry; an empty or missing file leaves nothing behind. */
  async #finish(id: string, note: string | null): Promise<void> {
    const repo = this.repository;
    const entry = repo.get(id);
    if (!entry || entry.state !== 'recording') return;
    const path = join(this.ctx.dir, entry.file);
    let measured;
    try {
      measured = await measureWav(path);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') {
        this.ctx.log.warn({ recordingId: id, callId: entry.callId }, 'recording file never written: entry removed');
        await repo.delete(id);
        return;
      }
      if (errorCode(error) !== 'RECORDING_FORMAT') throw error;
      // keep what is there (it is nobody's to delete before it is uploaded), measured as a plain file
      const bytes = await stat(path).then((s) => s.size, () => 0);
      this.ctx.log.error({ recordingId: id, err: errorMessage(error) }, 'recording is not a readable WAV: indexed without a length');
      measured = { bytes, durationMs: 0, sha256: await sha256File(path), layout: null };
    }
    if (measured.layout && measured.layout.dataBytes === 0) {
      await unlink(path).catch(() => undefined);
      await repo.delete(id);
      this.ctx.log.info({ recordingId: id, callId: entry.callId }, 'recording holds no audio: removed');
      return;
    }
    const saved = await repo.finish(id, { durationMs: measured.durationMs, bytes: measured.bytes, sha256: measured.sha256 });
    this.ctx.log.info({ recordingId: id, callId: saved.callId, file: saved.file, durationMs: saved.durationMs, bytes: saved.bytes, note }, 'recording saved');
    this.ctx.bus.emit('recordingSaved', { recordingId: id, callId: saved.callId, file: saved.file, durationMs: saved.durationMs, bytes: saved.bytes, sha256: saved.sha256 });
    this.#scheduleCheck();
  }

  async #reportUnindexedFiles(): Promise<void> {
    const repo = this.repository;
    const known = new Set(repo.list().map((e) => e.file).concat(repo.inProgress().map((e) => e.file)));
    const unknown = (await readdir(this.ctx.dir)).filter((name) => name.endsWith('.wav') && !known.has(name));
    if (unknown.length > 0) {
      this.ctx.log.warn({ dir: this.ctx.dir, count: unknown.length, files: unknown.slice(0, 10) }, 'WAV files in the recordings directory that are not indexed (they count against the quota and are never deleted)');
    }
  }

  // ---- quota, free space, retention -----------------------------------------------------------------------

  #scheduleCheck(): void {
    if (this.#checkQueued || !this.#running) return;
    this.#checkQueued = true;
    this.#enqueue(async () => {
      this.#checkQueued = false;
      await this.checkSpace();
    });
  }

  /**
   * Deletes uploaded recordings past retention, then the oldest uploaded ones while the recordings exceed
   * the quota or the disk's free space is under the minimum; when that is not enough, new calls are not
   * recorded (`recordingSuspendedChanged`) until space is back. Recordings not uploaded are never deleted.
   */
  async checkSpace(): Promise<RecordingsStatus> {
    const config = this.ctx.config();
    const repo = this.repository;
    const quotaBytes = config.quotaMb * MB;
    const minFreeBytes = config.minFreeMb * MB;

    if (config.retentionDays > 0 && this.ctx.clock.wallTimeTrusted) {
      const cutoff = this.ctx.clock.now() - config.retentionDays * DAY_MS;
      for (const entry of repo.uploadedOldestFirst()) {
        if (entry.startedAtTrusted && entry.startedAt < cutoff) await this.#delete(entry, `older than ${config.retentionDays} days`);
      }
    }

    let { usedBytes, freeBytes } = await this.#measureSpace();
    const short = () => usedBytes > quotaBytes || (freeBytes !== null && freeBytes < minFreeBytes);
    if (short()) {
      for (const entry of repo.uploadedOldestFirst()) {
        if (!short()) break;
        const freed = await this.#delete(entry, usedBytes > quotaBytes ? 'quota' : 'disk space');
        usedBytes -= freed;
        if (freeBytes !== null) freeBytes += freed;
      }
      ({ usedBytes, freeBytes } = await this.#measureSpace());
    }

    const reason = usedBytes > quotaBytes
      ? `recordings use ${mbText(usedBytes)} MB of the ${config.quotaMb} MB quota and none left to delete is uploaded`
      : freeBytes !== null && freeBytes < minFreeBytes
        ? `only ${mbText(freeBytes)} MB free on the disk (keeping ${config.minFreeMb} MB) and no uploaded recording left to delete`
        : null;
    this.#setSuspended(reason, usedBytes, quotaBytes, freeBytes);
    return this.status();
  }

  async #measureSpace(): Promise<{ usedBytes: number; freeBytes: number | null }> {
    let usedBytes = 0;
    for (const name of await readdir(this.ctx.dir)) {
      const s = await stat(join(this.ctx.dir, name)).catch(() => null);
      if (s?.isFile()) usedBytes += s.size;
    }
    let freeBytes: number | null = null;
    try {
      freeBytes = (await (this.ctx.diskUsage ?? defaultDiskUsage)(this.ctx.dir)).freeBytes;
    } catch (error) {
      this.ctx.log.warn({ dir: this.ctx.dir, err: errorMessage(error) }, 'free disk space unknown');
    }
    this.#lastUsage = { usedBytes, freeBytes };
    return this.#lastUsage;
  }

  /** Deletes an uploaded recording (file, then entry); returns the bytes freed. */
  async #delete(entry: RecordingEntry, why: string): Promise<number> {
    if (!entry.uploaded || entry.state !== 'saved') return 0; // never: only uploaded recordings are deleted
    const path = join(this.ctx.dir, entry.file);
    const bytes = await stat(path).then((s) => s.size, () => 0);
    try {
      await unlink(path);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') {
        this.ctx.log.error({ recordingId: entry.id, file: entry.file, err: errorMessage(error) }, 'uploaded recording could not be deleted');
        return 0;
      }
    }
    await this.repository.delete(entry.id);
    this.ctx.log.info({ recordingId: entry.id, file: entry.file, bytes, why }, `uploaded recording deleted (${why})`);
    return bytes;
  }

  #setSuspended(reason: string | null, usedBytes: number, quotaBytes: number, freeBytes: number | null): void {
    const was = this.#suspendedReason;
    this.#suspendedReason = reason;
    if ((was === null) === (reason === null)) return;
    const payload = { suspended: reason !== null, reason, usedBytes, quotaBytes, freeBytes };
    if (reason !== null) this.ctx.log.warn(payload, `new calls are not recorded: ${reason}`);
    else this.ctx.log.info(payload, 'recording resumed: space is available again');
    this.ctx.bus.emit('recordingSuspendedChanged', payload);
  }

  // ---- playback -------------------------------------------------------------------------------------------

  /** Plays a recording through the handset (stereo mixed to mono), replacing any playback. */
  async play(recordingId: string): Promise<{ recordingId: string; durationMs: number }> {
    const entry = this.repository.get(recordingId);
    if (!entry) throw new RecordingError('RECORDING_NOT_FOUND', `no recording '${recordingId}'`);
    if (entry.state !== 'saved') throw new RecordingError('RECORDING_IN_PROGRESS', `recording '${recordingId}' is still being written`);
    await this.stopPlayback();
    let reader: WavFrameReader;
    try {
      reader = await WavFrameReader.open(join(this.ctx.dir, entry.file));
    } catch (error) {
      if (error instanceof RecordingError) throw error;
      throw new RecordingError('RECORDING_IO', `recording '${recordingId}' cannot be read: ${errorMessage(error)}`, { cause: error });
    }
    const sampleRate = reader.layout.sampleRate;
    if (sampleRate !== 8000 && sampleRate !== 16000) {
      await reader.close();
      throw new RecordingError('RECORDING_FORMAT', `recording '${recordingId}' is ${sampleRate} Hz; the handset plays 8000 or 16000 Hz`);
    }
    let output;
    try {
      output = await this.ctx.audio.openPlayback('handset', { sampleRate });
    } catch (error) {
      await reader.close();
      throw error;
    }
    const player = new PacedPlayback({
      clock: this.ctx.clock, reader, output,
      onError: (error) => this.ctx.log.warn({ recordingId, err: errorMessage(error) }, 'playback failed'),
    });
    const playback = { recordingId, durationMs: reader.durationMs, player };
    this.#playback = playback;
    void player.done.then((end) => {
      if (this.#playback === playback) this.#playback = null;
      this.ctx.log.info({ recordingId, end, positionMs: player.positionMs }, `playback ${end}`);
    });
    this.ctx.log.info({ recordingId, file: entry.file, durationMs: reader.durationMs }, 'playing recording on the handset');
    return { recordingId, durationMs: reader.durationMs };
  }

  /** Stops playback; false when nothing was playing. Resolves once the handset's playback is closed. */
  async stopPlayback(): Promise<boolean> {
    const playback = this.#playback;
    if (!playback) return false;
    this.#playback = null;
    await playback.player.stop();
    return true;
  }

  /** Resolves when the current playback (if any) ends by itself or is stopped. */
  async playbackDone(): Promise<void> {
    await this.#playback?.player.done;
  }

  // ---- queries ----------------------------------------------------------------------------------------------

  list(options: { limit?: number } = {}): RecordingEntry[] {
    return this.repository.list({ limit: options.limit ?? LIST_LIMIT_DEFAULT });
  }

  async markUploaded(id: string): Promise<RecordingEntry> {
    const entry = await this.repository.markUploaded(id);
    // an uploaded recording may be what frees the space recording waits for
    if (this.#suspendedReason !== null) this.#scheduleCheck();
    return entry;
  }

  status(): RecordingsStatus {
    const config = this.ctx.config();
    const saved = this.repository.list();
    const playback = this.#playback;
    return {
      usedBytes: this.#lastUsage.usedBytes,
      quotaBytes: config.quotaMb * MB,
      freeBytes: this.#lastUsage.freeBytes,
      minFreeBytes: config.minFreeMb * MB,
      suspended: this.#suspendedReason !== null,
      reason: this.#suspendedReason,
      recordings: saved.length,
      notUploaded: saved.filter((e) => !e.uploaded).length,
      recordingCalls: [...new Set([...this.#active.values()].map((a) => a.callId))],
      playback: playback ? { recordingId: playback.recordingId, positionMs: playback.player.positionMs, durationMs: playback.durationMs } : null,
    };
  }

  #limitParam(value: unknown): number {
    const limit = params(value).limit;
    if (limit === undefined) return LIST_LIMIT_DEFAULT;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > LIST_LIMIT_MAX) {
      throw new RecordingError('RECORDING_BAD_REQUEST', `'limit' must be an integer from 1 to ${LIST_LIMIT_MAX}`);
    }
    return limit;
  }
}

/** An announcement WAV as the mono 8 kHz samples the call's G.711 media sends. */
async function loadAnnouncement(path: string): Promise<Int16Array> {
  const bytes = await readFile(path);
  const layout = wavLayoutOf(bytes, bytes.length, path);
  if (layout.sampleRate !== 8000) throw new RecordingError('RECORDING_FORMAT', `${path} is ${layout.sampleRate} Hz; calls need 8000 Hz`);
  const samples = monoFromS16le(bytes.subarray(layout.dataOffset, layout.dataOffset + layout.dataBytes), layout.channels);
  if (samples.length > MAX_SOURCE_SAMPLES) throw new RecordingError('RECORDING_FORMAT', `${path} is longer than ${MAX_SOURCE_SAMPLES / 8000} s`);
  return samples;
}

// Main-thread side of the media worker: starts/stops streams by message, relays worker events.
//
// Which file runs in the worker:
// - production (this module compiled to dist/src/media/engine.js): dist/src/media/worker.js, a plain
//   `new Worker(url)`, no loader.
// - from TypeScript sources (jest, tsx; this module's URL ends in .ts): the worker is a tiny eval
//   bootstrap that loads worker.ts through tsx's `tsImport` (tsx is a devDependency; `--import tsx` in
//   a worker's execArgv does not hook the worker's entry on Node 20). Nothing needs building first,
//   and the worker always runs the same sources as the test.
// - `worker` in the options overrides both.
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SystemClock, type Clock, type TimerHandle } from '../core/clock.js';
import { MediaError, type MediaErrorCode } from './errors.js';
import type { MediaEvent, RecordRequest, StartStreamRequest, StreamStarted, WorkerMessage, WorkerRequest } from './messages.js';
import type { SessionStats } from './session.js';

export type { StartStreamRequest, StreamStarted, MediaEvent, RecordRequest, RecordingFinished } from './messages.js';
export type { SessionStats } from './session.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type Request = DistributiveOmit<WorkerRequest, 'id'>;

export interface MediaEngineOptions {
  clock?: Clock;
  /** Per-request timeout (default 5000 ms). */
  requestTimeoutMs?: number;
  /** Override the worker entry (a module URL run as is). */
  worker?: URL;
}

export interface MediaEngineEvents {
  dtmfReceived: [Extract<MediaEvent, { type: 'dtmfReceived' }>];
  audio: [Extract<MediaEvent, { type: 'audio' }>];
  stats: [Extract<MediaEvent, { type: 'stats' }>];
  error: [Extract<MediaEvent, { type: 'error' }>];
  recordingStarted: [Extract<MediaEvent, { type: 'recordingStarted' }>];
  recordingFinished: [Extract<MediaEvent, { type: 'recordingFinished' }>];
}

/** The worker entry for the running build (see the header comment). */
export function defaultWorkerSpec(selfUrl: string = import.meta.url): { entry: URL | string; eval: boolean } {
  if (selfUrl.endsWith('.ts')) {
    const target = new URL('./worker.ts', selfUrl).href;
    // The ESM build of tsx's API (require.resolve picks the CommonJS one).
    const api = pathToFileURL(createRequire(selfUrl).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
    const code = `import(${JSON.stringify(api)}).then((m) => m.tsImport(${JSON.stringify(target)}, ${JSON.stringify(target)}));`;
    return { entry: code, eval: true };
  }
  return { entry: new URL('./worker.js', selfUrl), eval: false };
}

export class MediaEngine extends EventEmitter<MediaEngineEvents> {
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #workerUrl: URL | undefined;
  #worker: Worker | null = null;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: TimerHandle }>();

  constructor(options: MediaEngineOptions = {}) {
    super();
    this.#clock = options.clock ?? new SystemClock();
    this.#timeoutMs = options.requestTimeoutMs ?? 5000;
    this.#workerUrl = options.worker;
  }

  /** Spawns the worker. */
  async start(): Promise<void> {
    if (this.#worker) return;
    const spec = this.#workerUrl ? { entry: this.#workerUrl, eval: false } : defaultWorkerSpec();
    const worker = new Worker(spec.entry, { eval: spec.eval, name: 'deskline-media' });
    this.#worker = worker;
    worker.on('message', (m: WorkerMessage) => this.#onMessage(m));
    worker.on('error', (e) => this.#failAll('MEDIA_WORKER_EXITED', `media worker failed: ${e.message}`));
    worker.on('exit', (code) => {
      if (this.#worker === worker) this.#worker = null;
      this.#failAll('MEDIA_WORKER_EXITED', `media worker exited (${code})`);
    });
    await new Promise<void>((resolve, reject) => {
      worker.once('online', () => resolve());
      worker.once('error', reject);
    });
  }

  startStream(req: StartStreamRequest): Promise<StreamStarted> {
    return this.#request({ op: 'startStream', req }) as Promise<StreamStarted>;
  }
  async sendDtmf(callId: string, digits: string, durationMs?: number): Promise<void> {
    await this.#request({ op: 'sendDtmf', callId, digits, durationMs });
  }
  async play(callId: string, samples: Int16Array, loop = false): Promise<void> {
    await this.#request({ op: 'play', callId, samples, loop });
  }
  /**
   * Starts recording a running stream into a new file (mid-call). Rejects with MEDIA_NO_STREAM when the
   * call has no media, MEDIA_RECORDING_EXISTS when it is recorded already, or the file system's code.
   */
  async startRecording(callId: string, record: RecordRequest): Promise<void> {
    await this.#request({ op: 'startRecording', callId, record });
  }
  /** Stops a stream's recording (the call goes on); resolves once the file is closed. */
  async stopRecording(callId: string): Promise<void> {
    await this.#request({ op: 'stopRecording', callId });
  }
  getStats(callId: string): Promise<SessionStats> {
    return this.#request({ op: 'getStats', callId }) as Promise<SessionStats>;
  }
  /** Stops a stream (RTCP BYE, recording closed); resolves with its final statistics. */
  stopStream(callId: string): Promise<SessionStats> {
    return this.#request({ op: 'stopStream', callId }) as Promise<SessionStats>;
  }

  /** Stops every stream and ends the worker. */
  async stop(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    try {
      await this.#request({ op: 'shutdown' });
    } finally {
      this.#worker = null;
      await worker.terminate();
    }
  }

  #request(req: Request): Promise<unknown> {
    const worker = this.#worker;
    if (!worker) return Promise.reject(new MediaError('MEDIA_WORKER_EXITED', 'media engine not started'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        this.#pending.delete(id);
        reject(new MediaError('MEDIA_TIMEOUT', `media worker did not answer ${req.op} in ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      worker.postMessage({ ...req, id });
    });
  }

  #onMessage(m: WorkerMessage): void {
    if (m.type === 'reply') {
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      this.#clock.clear(p.timer);
      if (m.ok) p.resolve(m.value);
      else p.reject(new MediaError(m.code as MediaErrorCode, m.message));
      return;
    }
    switch (m.type) {
      case 'dtmfReceived':
        this.emit('dtmfReceived', m);
        break;
      case 'audio':
        this.emit('audio', m);
        break;
      case 'stats':
        this.emit('stats', m);
        break;
      case 'recordingStarted':
        this.emit('recordingStarted', m);
        break;
      case 'recordingFinished':
        this.emit('recordingFinished', m);
        break;
      case 'error':
        // An 'error' event without listeners would throw (EventEmitter): media errors are reports.
        if (this.listenerCount('error') > 0) this.emit('error', m);
        break;
    }
  }

  #failAll(code: MediaErrorCode, message: string): void {
    for (const [id, p] of this.#pending) {
      this.#clock.clear(p.timer);
      p.reject(new MediaError(code, message));
      this.#pending.delete(id);
    }
  }
}

/**
 * ALSA audio through alsa-utils: one `arecord` (capture) or `aplay` (playback) child process per
 * open stream, moving raw S16_LE mono PCM over a pipe, 20 ms periods, devices from the board file.
 *
 * Why child processes: there is no maintained ALSA addon for Node; arecord/aplay are the reference
 * ALSA clients and already recover from xruns themselves (snd_pcm_prepare after -EPIPE), printing
 * "overrun!!!" / "underrun!!!" on stderr. The driver
 * - frames arecord's stdout into whole periods (PeriodFramer),
 * - reports every xrun line as `xrunOccurred` (never fatal),
 * - restarts a process that exits unexpectedly, with exponential back-off on the injected timers,
 *   reporting `streamFailed` / `streamRestarted`,
 * - stops its processes by PID on close() and waits until they are gone.
 *
 * Command line (both tools): -D <pcm> -t raw -f S16_LE -r <rate> -c 1 --period-time=20000
 * --buffer-time=<bufferMs*1000> -v. With -v, alsa-utils dumps the PCM setup after set_params
 * ("Its setup is:"), which tells the driver that the device was opened and configured.
 * LC_ALL=C keeps alsa-utils' messages untranslated, so they can be parsed.
 *
 * aplay peeks at the first 26 bytes of its input (to tell AU/VOC/WAVE from raw) before it
 * configures the device, so every aplay is primed with one period of silence.
 */
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { DriverError } from '../common/errors.js';
import { silentLog, systemTimers, type DriverLog, type DriverTimers } from '../common/timers.js';
import { TypedEmitter } from '../common/typed-emitter.js';
import { periodBytes, PERIOD_MS, resolveFormat, s16leFromSamples, samplesFromS16le, checkFrame } from './format.js';
import { PeriodFramer } from './period-framer.js';
import {
  AUDIO_ENDPOINTS,
  type AudioCapture,
  type AudioDirection,
  type AudioDriver,
  type AudioDriverEvents,
  type AudioEndpoint,
  type AudioFormat,
  type AudioPlayback,
} from './types.js';

/** The process seam: node's spawn, or a test's fake arecord/aplay. */
export type SpawnFn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export interface AlsaAudioOptions {
  /** ALSA PCM name per endpoint (board file `audio.devices`), e.g. "plughw:0,0". Endpoints left out are not wired. */
  devices: Partial<Record<AudioEndpoint, string>>;
  /** Board id, for error messages. */
  board?: string;
  /** ALSA buffer per stream; default 80 ms (4 periods). */
  bufferMs?: number;
  /** Commands; default "arecord" / "aplay" on PATH. */
  arecord?: string;
  aplay?: string;
  spawn?: SpawnFn;
  /** back-off and stop-grace timers (the runtime's Clock fits) */
  timers?: DriverTimers;
  log?: DriverLog;
  /** How long open waits for the device set-up line before assuming success; default 3000 ms. */
  openTimeoutMs?: number;
  /** Grace between asking a process to stop and SIGKILL; default 2000 ms. */
  stopGraceMs?: number;
  /** Restart back-off: first delay, cap, and how long a process must run before the back-off resets. */
  restart?: { initialMs?: number; maxMs?: number; stableMs?: number };
  /** Capture periods kept for a slow reader before the oldest are dropped; default 25 (500 ms). */
  maxQueuedPeriods?: number;
  /** Playback periods buffered in the driver (beyond the pipe) before new ones are dropped; default 10 (200 ms). */
  maxPendingPeriods?: number;
}

export const ALSA_DEBIAN_PACKAGE = 'alsa-utils';

/** arecord/aplay: "overrun!!! (at least 12.345 ms long)" or, built without clock_gettime, "underrun !!!". */
const XRUN_LINE = /\b(?:under|over)run\s*!!!(?:\s*\(at least\s+([\d.]+)\s*ms long\))?/;
/** snd_pcm_dump after set_params (with -v): the device is open and configured. */
const SETUP_LINE = /^Its setup is:/;
/** set_rate_near landed elsewhere (a hw: device without the rate): the audio would play at the wrong speed. */
const RATE_WARNING = /rate is not accurate \(requested = (\d+)Hz, got = (\d+)Hz\)/;

const MAX_STDERR_LINE = 1024;
const STDERR_TAIL_LINES = 8;

interface Proc {
  /** null when spawn itself threw. */
  child: ChildProcess | null;
  ended: boolean;
  ready: boolean;
  /** Resolves once the process is gone and its output was read. */
  done: Promise<void>;
  resolveDone: () => void;
  stderrPartial: string;
  stderrTail: string[];
  /** Why the driver itself killed it, if it did. */
  fatal: string | null;
}

type Ctx = Required<Omit<AlsaAudioOptions, 'devices' | 'board' | 'restart'>> & {
  board: string;
  restart: { initialMs: number; maxMs: number; stableMs: number };
  emit: <K extends keyof AudioDriverEvents>(event: K, payload: AudioDriverEvents[K]) => void;
  release: (stream: AlsaStream) => void;
};

/** The real audio driver (board `audio.driver: "alsa"`). */
export class AlsaAudio extends TypedEmitter<AudioDriverEvents> implements AudioDriver {
  readonly #devices: Partial<Record<AudioEndpoint, string>>;
  readonly #ctx: Ctx;
  readonly #streams = new Map<string, AlsaStream>();

  constructor(options: AlsaAudioOptions) {
    super();
    for (const [endpoint, device] of Object.entries(options.devices)) {
      if (!(AUDIO_ENDPOINTS as readonly string[]).includes(endpoint)) throw new DriverError('DRIVER_INVALID_ARGUMENT', `unknown audio endpoint '${endpoint}'; endpoints are ${AUDIO_ENDPOINTS.join(', ')}`);
      if (typeof device !== 'string' || device.length === 0) throw new DriverError('DRIVER_INVALID_ARGUMENT', `audio endpoint '${endpoint}' needs an ALSA PCM name`);
    }
    const bufferMs = options.bufferMs ?? 4 * PERIOD_MS;
    if (!Number.isInteger(bufferMs) || bufferMs < 2 * PERIOD_MS || bufferMs > 1000) {
      throw new DriverError('DRIVER_INVALID_ARGUMENT', `bufferMs must be an integer from ${2 * PERIOD_MS} to 1000, got ${bufferMs}`);
    }
    this.#devices = { ...options.devices };
    this.#ctx = {
      board: options.board ?? 'this board',
      bufferMs,
      arecord: options.arecord ?? 'arecord',
      aplay: options.aplay ?? 'aplay',
      spawn: options.spawn ?? nodeSpawn,
      timers: options.timers ?? systemTimers,
      log: options.log ?? silentLog,
      openTimeoutMs: options.openTimeoutMs ?? 3000,
      stopGraceMs: options.stopGraceMs ?? 2000,
      restart: { initialMs: options.restart?.initialMs ?? 100, maxMs: options.restart?.maxMs ?? 5000, stableMs: options.restart?.stableMs ?? 10_000 },
      maxQueuedPeriods: options.maxQueuedPeriods ?? 25,
      maxPendingPeriods: options.maxPendingPeriods ?? 10,
      emit: (event, payload) => this.emit(event, payload),
      release: (stream) => {
        if (this.#streams.get(stream.key) === stream) this.#streams.delete(stream.key);
      },
    };
  }

  /** Endpoints this board wires. */
  get endpoints(): AudioEndpoint[] {
    return AUDIO_ENDPOINTS.filter((e) => this.#devices[e]);
  }

  /** PIDs of the running arecord/aplay processes (diagnostics, tests). */
  get pids(): number[] {
    return [...this.#streams.values()].map((s) => s.pid).filter((p): p is number => p !== null);
  }

  async openCapture(endpoint: AudioEndpoint, format?: Partial<AudioFormat>): Promise<AudioCapture> {
    const stream = await this.#open(endpoint, 'capture', format);
    return { format: stream.format, read: () => stream.read(), close: () => stream.close() };
  }

  async openPlayback(endpoint: AudioEndpoint, format?: Partial<AudioFormat>): Promise<AudioPlayback> {
    const stream = await this.#open(endpoint, 'playback', format);
    return { format: stream.format, write: async (frame) => stream.write(frame), close: () => stream.close() };
  }

  /** Close every open stream (shutdown). */
  async close(): Promise<void> {
    await Promise.all([...this.#streams.values()].map((s) => s.close()));
  }

  async #open(endpoint: AudioEndpoint, direction: AudioDirection, requested?: Partial<AudioFormat>): Promise<AlsaStream> {
    const format = resolveFormat(requested);
    const device = (AUDIO_ENDPOINTS as readonly string[]).includes(endpoint) ? this.#devices[endpoint] : undefined;
    if (!device) {
      throw new DriverError('DRIVER_INVALID_ARGUMENT', `board '${this.#ctx.board}' has no audio endpoint '${String(endpoint)}'; its endpoints are: ${this.endpoints.join(', ') || '(none)'}`);
    }
    const key = `${endpoint}/${direction}`;
    if (this.#streams.has(key)) throw new DriverError('DRIVER_INVALID_ARGUMENT', `${endpoint} ${direction} is already open; close it first`);
    const stream = new AlsaStream(this.#ctx, key, endpoint, direction, device, format);
    this.#streams.set(key, stream);
    try {
      await stream.start();
    } catch (error) {
      this.#ctx.release(stream);
      throw error;
    }
    return stream;
  }
}

/** One arecord or aplay stream, restarted when its process dies. */
class AlsaStream {
  #proc: Proc | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;
  /** Consecutive failures (reset once a process has run `stableMs`). */
  #attempt = 0;
  #xruns = 0;
  #restartTimer: unknown = null;
  #stableTimer: unknown = null;
  #readyTimer: unknown = null;
  #opening: { resolve: () => void; reject: (error: Error) => void } | null = null;
  // capture
  readonly #queue: Int16Array[] = [];
  readonly #waiters: Array<{ resolve: (frame: Int16Array) => void; reject: (error: Error) => void }> = [];
  // both: periods lost since last reported (slow reader, stalled device, process down)
  #dropped = 0;
  readonly #periodBytes: number;
  readonly #silence: Buffer;

  constructor(
    private readonly ctx: Ctx,
    readonly key: string,
    readonly endpoint: AudioEndpoint,
    readonly direction: AudioDirection,
    readonly device: string,
    readonly format: AudioFormat,
  ) {
    this.#periodBytes = periodBytes(format);
    this.#silence = Buffer.alloc(this.#periodBytes);
  }

  get pid(): number | null {
    return this.#proc && !this.#proc.ended ? (this.#proc.child?.pid ?? null) : null;
  }

  get #command(): string {
    return this.direction === 'capture' ? this.ctx.arecord : this.ctx.aplay;
  }

  get #logFields(): object {
    return { endpoint: this.endpoint, direction: this.direction, device: this.device };
  }

  /** Spawn the first process and wait until the device is configured; DRIVER_OPEN_FAILED otherwise. */
  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#opening = { resolve, reject };
      this.#proc = this.#spawn();
    });
  }

  // ---- capture ----------------------------------------------------------------------------------

  read(): Promise<Int16Array> {
    if (this.#closed) return Promise.reject(new DriverError('DRIVER_NOT_OPEN', `${this.endpoint} capture is closed`));
    const frame = this.#queue.shift();
    if (frame) {
      this.#reportDropped();
      return Promise.resolve(frame);
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  #period(bytes: Buffer): void {
    if (this.#closed) return;
    const frame = samplesFromS16le(bytes);
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#reportDropped();
      waiter.resolve(frame);
      return;
    }
    this.#queue.push(frame);
    if (this.#queue.length > this.ctx.maxQueuedPeriods) {
      this.#queue.shift();
      this.#dropped++;
    }
  }

  // ---- playback ---------------------------------------------------------------------------------

  write(frame: Int16Array): void {
    checkFrame(frame, this.format);
    if (this.#closed) throw new DriverError('DRIVER_NOT_OPEN', `${this.endpoint} playback is closed`);
    const stdin = this.#proc && !this.#proc.ended ? this.#proc.child?.stdin : null;
    // Never block the 20 ms heartbeat: a period that cannot be queued now is dropped and reported.
    if (!stdin || !stdin.writable || stdin.writableLength >= this.ctx.maxPendingPeriods * this.#periodBytes) {
      this.#dropped++;
      return;
    }
    this.#reportDropped();
    stdin.write(s16leFromSamples(frame));
  }

  #reportDropped(): void {
    if (this.#dropped === 0) return;
    const count = this.#dropped;
    this.#dropped = 0;
    this.ctx.log.warn({ ...this.#logFields, count }, 'audio periods dropped');
    this.ctx.emit('periodsDropped', { endpoint: this.endpoint, direction: this.direction, count });
  }

  // ---- process lifecycle ------------------------------------------------------------------------

  #args(): string[] {
    return [
      '-D', this.device,
      '-t', 'raw',
      '-f', 'S16_LE',
      '-r', String(this.format.sampleRate),
      '-c', '1',
      `--period-time=${PERIOD_MS * 1000}`,
      `--buffer-time=${this.ctx.bufferMs * 1000}`,
      '-v',
    ];
  }

  #spawn(): Proc {
    const capture = this.direction === 'capture';
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    let child: ChildProcess;
    try {
      child = this.ctx.spawn(this.#command, this.#args(), {
        stdio: capture ? ['ignore', 'pipe', 'pipe'] : ['pipe', 'ignore', 'pipe'],
        env: { ...process.env, LC_ALL: 'C' },
      });
    } catch (error) {
      const proc: Proc = { child: null, ended: false, ready: false, done, resolveDone, stderrPartial: '', stderrTail: [], fatal: null };
      queueMicrotask(() => this.#ended(proc, `could not start ${this.#command}: ${(error as Error).message}`));
      return proc;
    }
    const proc: Proc = { child, ended: false, ready: false, done, resolveDone, stderrPartial: '', stderrTail: [], fatal: null };
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (child.pid !== undefined && error.code !== 'ENOENT') {
        this.ctx.log.warn({ ...this.#logFields, err: error.message }, `${this.#command} process error`);
        return;
      }
      const reason = error.code === 'ENOENT'
        ? `${this.#command} not found: install the Debian package ${ALSA_DEBIAN_PACKAGE}`
        : `could not start ${this.#command}: ${error.message}`;
      this.#ended(proc, reason);
    });
    child.once('exit', (code, signal) => this.#ended(proc, signal ? `${this.#command} was killed by ${signal}` : `${this.#command} exited with code ${code}`));
    // 'close' comes after 'exit' once its pipes are drained: everything it printed has been seen.
    child.once('close', () => resolveDone());
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => this.#stderr(proc, text));
    if (capture && child.stdout) {
      const framer = new PeriodFramer(this.#periodBytes);
      framer.on('data', (period: Buffer) => {
        this.#ready(proc);
        this.#period(period);
      });
      child.stdout.on('error', () => undefined);
      child.stdout.pipe(framer);
    }
    if (!capture && child.stdin) {
      // EPIPE when aplay died: the exit handler reports it.
      child.stdin.on('error', (error) => this.ctx.log.debug({ ...this.#logFields, err: error.message }, 'aplay stdin error'));
      child.stdin.write(this.#silence);
    }
    this.ctx.timers.clear(this.#readyTimer);
    this.#readyTimer = this.ctx.timers.setTimeout(() => {
      this.#readyTimer = null;
      if (proc.ended || proc.ready) return;
      this.ctx.log.warn({ ...this.#logFields, pid: child.pid }, `no set-up line from ${this.#command} within ${this.ctx.openTimeoutMs} ms; assuming the device is open`);
      this.#ready(proc);
    }, this.ctx.openTimeoutMs);
    this.ctx.log.debug({ ...this.#logFields, pid: child.pid }, `${this.#command} started`);
    return proc;
  }

  #stderr(proc: Proc, text: string): void {
    const lines = (proc.stderrPartial + text).split(/\r?\n|\r/);
    proc.stderrPartial = (lines.pop() ?? '').slice(-MAX_STDERR_LINE);
    for (const raw of lines) {
      const line = raw.slice(0, MAX_STDERR_LINE).trim();
      if (!line) continue;
      const xrun = XRUN_LINE.exec(line);
      if (xrun) {
        this.#xruns++;
        const atLeastMs = xrun[1] === undefined ? null : Number(xrun[1]);
        this.ctx.log.debug({ ...this.#logFields, count: this.#xruns, atLeastMs }, line);
        this.ctx.emit('xrunOccurred', { endpoint: this.endpoint, direction: this.direction, count: this.#xruns, atLeastMs });
        continue;
      }
      proc.stderrTail.push(line);
      if (proc.stderrTail.length > STDERR_TAIL_LINES) proc.stderrTail.shift();
      const rate = RATE_WARNING.exec(line);
      if (rate && !proc.ended) {
        proc.fatal = `ALSA device '${this.device}' cannot run at ${rate[1]} Hz (it offered ${rate[2]} Hz); use a plughw: device, which converts the rate`;
        if (proc.child) this.#signal(proc.child, 'SIGKILL');
        continue;
      }
      if (SETUP_LINE.test(line)) this.#ready(proc);
      else this.ctx.log.debug({ ...this.#logFields }, line);
    }
  }

  #ready(proc: Proc): void {
    if (proc.ready || proc.ended || proc.fatal || proc !== this.#proc) return;
    proc.ready = true;
    this.ctx.timers.clear(this.#readyTimer);
    this.#readyTimer = null;
    this.ctx.timers.clear(this.#stableTimer);
    this.#stableTimer = this.ctx.timers.setTimeout(() => {
      this.#stableTimer = null;
      if (!proc.ended) this.#attempt = 0;
    }, this.ctx.restart.stableMs);
    if (this.#opening) {
      const { resolve } = this.#opening;
      this.#opening = null;
      this.ctx.log.info({ ...this.#logFields, pid: proc.child?.pid, format: this.format }, 'audio stream open');
      resolve();
    } else {
      this.ctx.log.info({ ...this.#logFields, pid: proc.child?.pid, attempt: this.#attempt }, 'audio stream restarted');
      const droppedPeriods = this.#dropped;
      this.#dropped = 0;
      this.ctx.emit('streamRestarted', { endpoint: this.endpoint, direction: this.direction, attempt: this.#attempt, droppedPeriods });
    }
  }

  #ended(proc: Proc, how: string): void {
    if (proc.ended) return;
    proc.ended = true;
    if (!proc.child?.pid) proc.resolveDone(); // never started: no 'close' will follow
    if (proc !== this.#proc) return;
    this.ctx.timers.clear(this.#readyTimer);
    this.ctx.timers.clear(this.#stableTimer);
    this.#readyTimer = this.#stableTimer = null;
    if (this.#closed) return;
    const output = proc.stderrTail.length ? `: ${proc.stderrTail.join(' | ')}` : '';
    const reason = proc.fatal ?? `${how}${output}`;
    if (this.#opening) {
      const { reject } = this.#opening;
      this.#opening = null;
      this.#closed = true;
      this.ctx.release(this);
      reject(new DriverError('DRIVER_OPEN_FAILED', `cannot open ${this.endpoint} ${this.direction} on ALSA device '${this.device}' (board '${this.ctx.board}'): ${reason}`));
      return;
    }
    this.#attempt++;
    const { initialMs, maxMs } = this.ctx.restart;
    const restartInMs = Math.min(maxMs, initialMs * 2 ** (this.#attempt - 1));
    this.ctx.log.warn({ ...this.#logFields, reason, attempt: this.#attempt, restartInMs }, 'audio stream failed; restarting');
    this.ctx.emit('streamFailed', { endpoint: this.endpoint, direction: this.direction, reason, attempt: this.#attempt, restartInMs });
    this.ctx.timers.clear(this.#restartTimer);
    this.#restartTimer = this.ctx.timers.setTimeout(() => {
      this.#restartTimer = null;
      if (!this.#closed) this.#proc = this.#spawn();
    }, restartInMs);
  }

  /** Stop the process by PID (playback: end of input first, so aplay plays out what it has) and wait until it is gone. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    for (const timer of [this.#restartTimer, this.#stableTimer, this.#readyTimer]) this.ctx.timers.clear(timer);
    this.#restartTimer = this.#stableTimer = this.#readyTimer = null;
    this.#queue.length = 0;
    if (this.#opening) {
      this.#opening.reject(new DriverError('DRIVER_NOT_OPEN', `${this.endpoint} ${this.direction} was closed while opening`));
      this.#opening = null;
    }
    for (const waiter of this.#waiters.splice(0)) waiter.reject(new DriverError('DRIVER_NOT_OPEN', `${this.endpoint} capture was closed`));
    const proc = this.#proc;
    try {
      const child = proc?.child;
      if (!proc || !child || proc.ended) return;
      const grace = this.ctx.stopGraceMs;
      if (this.direction === 'playback' && child.stdin?.writable) {
        child.stdin.end();
        if (await this.#within(proc.done, grace)) return;
      }
      this.#signal(child, 'SIGTERM');
      if (await this.#within(proc.done, grace)) return;
      this.ctx.log.warn({ ...this.#logFields, pid: child.pid }, `${this.#command} ignored SIGTERM; killing it`);
      this.#signal(child, 'SIGKILL');
      await proc.done;
    } finally {
      this.ctx.release(this);
      this.ctx.log.debug({ ...this.#logFields }, 'audio stream closed');
    }
  }

  #signal(child: ChildProcess, signal: NodeJS.Signals): void {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }

  /** true if `promise` settles within `ms` on the injected timers. */
  #within(promise: Promise<void>, ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = this.ctx.timers.setTimeout(() => resolve(false), ms);
      void promise.then(() => {
        this.ctx.timers.clear(timer);
        resolve(true);
      });
    });
  }
}

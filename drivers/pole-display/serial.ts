import type { SerialPortStream } from '@serialport/stream';
import type { SerialPort } from 'serialport';
import { DriverError } from '../common/errors.js';
import { silentLog, type DriverLog } from '../common/timers.js';
import { TypedEmitter } from '../common/typed-emitter.js';
import { concatBytes } from '../common/bytes.js';
import { checkGeometry, encodeInit, encodeScreen, fitLines, type PoleDisplayBrightness } from './commands.js';
import type { PoleDisplayDriver, PoleDisplayEvents, PoleDisplayTimer, PoleDisplayTimerHandle } from './types.js';

/** What serialport's list() reports per port (USB IDs as lowercase hex strings, e.g. '0403'). */
export type PortInfo = Awaited<ReturnType<typeof SerialPort.list>>[number];
/** A serialport binding (the platform's, or @serialport/binding-mock in tests). */
export type SerialBinding = SerialPortStream['settings']['binding'];

/** A board file `poleDisplay.match` entry: every given property must equal the port's; an empty entry matches any port. */
export interface PoleDisplayPortMatch {
  vendorId?: number;
  productId?: number;
}

export interface SerialPoleDisplayOptions {
  /** A fixed device (e.g. /dev/ttyS1 or a udev symlink); exactly one of `path` and `match`. */
  path?: string;
  /** USB-serial adapters to look for (VID/PID) in `list()`; the first listed port that matches is used. */
  match?: readonly PoleDisplayPortMatch[];
  baudRate: number;
  /** default 20 */
  columns?: number;
  /** default 2 */
  rows?: number;
  /** US X n, sent on every (re)connect; default: the display's own setting */
  brightness?: PoleDisplayBrightness;
  timer: PoleDisplayTimer;
  /** How often a missing display is looked for (and, with `match`, a present one checked); default 2000 ms. */
  pollIntervalMs?: number;
  /** A write not done in this time counts as a dead device; default 2000 ms. */
  writeTimeoutMs?: number;
  /** The port list seam; default SerialPort.list (udev: never lists ptys). */
  list?: () => Promise<PortInfo[]>;
  /** serialport binding (tests: @serialport/binding-mock); default the platform binding. */
  binding?: SerialBinding;
  log?: DriverLog;
}

/** serialport's list gives USB IDs as hex strings ('0403'); anything unparsable never matches. */
function hexId(value: string | undefined): number | null {
  if (value === undefined || !/^(0x)?[0-9a-f]{1,4}$/i.test(value)) return null;
  return Number.parseInt(value.replace(/^0x/i, ''), 16);
}

export function matchesPort(port: PortInfo, match: PoleDisplayPortMatch): boolean {
  return (
    (match.vendorId === undefined || match.vendorId === hexId(port.vendorId)) &&
    (match.productId === undefined || match.productId === hexId(port.productId))
  );
}

/** Node's own timers, for callers without a Clock (the CLI). */
export const systemPoleDisplayTimer: PoleDisplayTimer = (() => {
  const timers = new Map<number, NodeJS.Timeout>();
  let next = 1;
  const add = (t: NodeJS.Timeout): PoleDisplayTimerHandle => {
    const id = next++;
    timers.set(id, t.unref());
    return { id };
  };
  return {
    setInterval: (fn, ms) => add(setInterval(fn, ms)),
    setTimeout(fn, ms) {
      const handle = add(
        setTimeout(() => {
          timers.delete(handle.id);
          fn();
        }, ms),
      );
      return handle;
    },
    clear(handle) {
      const t = handle && timers.get(handle.id);
      if (!t || !handle) return;
      clearTimeout(t);
      clearInterval(t);
      timers.delete(handle.id);
    },
  };
})();

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * A customer pole display on a serial port or a USB-serial adapter (Epson ESC/POS customer-display
 * commands, commands.ts).
 * - `open` resolves whether or not the display is there; it is looked for every `pollIntervalMs`
 *   (with `match`, also checked that it is still listed) and opened as soon as it appears, on
 *   whatever path. On every (re)connect it is initialised and shown the last text again.
 * - Unplugging (the port closes or errors, or with `match` it leaves the list) emits
 *   `connectionChanged` false. `show` never throws: while disconnected it only keeps the text.
 * - One write in flight; texts shown meanwhile are coalesced (only the newest is written).
 * - `deviceError` once per failing path (or list failure, path null) until that path works again.
 */
export class SerialPoleDisplay extends TypedEmitter<PoleDisplayEvents> implements PoleDisplayDriver {
  readonly columns: number;
  readonly rows: number;
  readonly #options: SerialPoleDisplayOptions;
  readonly #pollMs: number;
  readonly #writeTimeoutMs: number;
  readonly #log: DriverLog;
  #running = false;
  #poll: PoleDisplayTimerHandle | null = null;
  #scanning: Promise<void> | null = null;
  #port: SerialPort | null = null;
  #portPath: string | null = null;
  #connected = false;
  /** the text as the display shows it (rows x columns) */
  #text: string[];
  /** the text changed since it was last written */
  #dirty = false;
  /** the port needs ESC @ ... before the next text (fresh connection) */
  #needInit = true;
  #writing: Promise<void> | null = null;
  /** paths (null: the port list) that failed and were reported; reported again only after working */
  readonly #failing = new Set<string | null>();

  constructor(options: SerialPoleDisplayOptions) {
    super();
    if ((options.path === undefined) === (options.match === undefined)) {
      throw new DriverError('DRIVER_INVALID_ARGUMENT', 'a pole display needs exactly one of `path` and `match`');
    }
    if (options.match && options.match.length === 0) throw new DriverError('DRIVER_INVALID_ARGUMENT', 'pole display `match` is empty');
    if (!Number.isInteger(options.baudRate) || options.baudRate <= 0) {
      throw new DriverError('DRIVER_INVALID_ARGUMENT', `pole display baud rate must be a positive integer, not ${options.baudRate}`);
    }
    this.columns = options.columns ?? 20;
    this.rows = options.rows ?? 2;
    checkGeometry(this);
    encodeInit({ brightness: options.brightness }); // validates the brightness now rather than on connect
    this.#options = options;
    this.#pollMs = Math.max(10, options.pollIntervalMs ?? 2000);
    this.#writeTimeoutMs = Math.max(1, options.writeTimeoutMs ?? 2000);
    this.#log = options.log ?? silentLog;
    this.#text = fitLines([], this);
  }

  connected(): boolean {
    return this.#connected;
  }

  /** The path of the open display, if any. */
  get path(): string | null {
    return this.#connected ? this.#portPath : null;
  }

  async open(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#poll = this.#options.timer.setInterval(() => void this.scan(), this.#pollMs);
    await this.scan();
  }

  async close(): Promise<void> {
    this.#running = false;
    this.#options.timer.clear(this.#poll);
    this.#poll = null;
    await this.#scanning;
    const port = this.#port;
    if (port) this.lost(port, null);
  }

  async show(lines: readonly string[]): Promise<void> {
    this.#text = fitLines(lines, this);
    this.#dirty = true;
    await this.flush();
  }

  /** Writes the newest text until none is pending or the port is gone; never throws. */
  private async flush(): Promise<void> {
    while (this.#dirty && this.#port) {
      if (this.#writing) {
        await this.#writing;
        continue;
      }
      this.#writing = this.writeNewest(this.#port).finally(() => (this.#writing = null));
      await this.#writing;
    }
  }

  private async writeNewest(port: SerialPort): Promise<void> {
    const parts = [encodeScreen(this.#text, this)];
    if (this.#needInit) parts.unshift(encodeInit({ brightness: this.#options.brightness }));
    this.#dirty = false;
    this.#needInit = false;
    try {
      await this.write(port, concatBytes(...parts));
    } catch (error) {
      this.lost(port, new DriverError(error instanceof DriverError ? error.code : 'DRIVER_IO', `pole display ${port.path}: write failed: ${message(error)}`, { cause: error }));
    }
  }

  private write(port: SerialPort, bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (error: Error | null | undefined) => {
        if (done) return;
        done = true;
        this.#options.timer.clear(timeout);
        if (error) reject(error);
        else resolve();
      };
      const timeout = this.#options.timer.setTimeout(
        () => finish(new DriverError('DRIVER_TIMEOUT', `no write completion within ${this.#writeTimeoutMs} ms`)),
        this.#writeTimeoutMs,
      );
      port.write(Buffer.from(bytes), (error) => (error ? finish(error) : port.drain(finish)));
    });
  }

  /** One poll: open the display if it is missing; with `match`, notice that it left the list. */
  private scan(): Promise<void> {
    this.#scanning ??= this.scanOnce().finally(() => (this.#scanning = null));
    return this.#scanning;
  }

  private async scanOnce(): Promise<void> {
    if (!this.#running) return;
    const { path, match } = this.#options;
    if (path !== undefined) {
      if (!this.#port) await this.attach(path);
      return;
    }
    let ports: PortInfo[];
    try {
      ports = await (this.#options.list ?? (await import('serialport')).SerialPort.list)();
    } catch (error) {
      this.report(null, new DriverError('DRIVER_IO', `cannot list serial ports: ${message(error)}`, { cause: error }));
      return;
    }
    this.#failing.delete(null);
    if (!this.#running) return;
    const candidates = ports.filter((p) => match!.some((m) => matchesPort(p, m))).map((p) => p.path);
    if (this.#port) {
      if (candidates.includes(this.#portPath!)) return;
      this.#log.info({ path: this.#portPath }, 'pole display left the port list');
      this.lost(this.#port, null);
    }
    for (const candidate of candidates) {
      if (await this.attach(candidate)) return;
      if (!this.#running) return;
    }
  }

  /** Opens `path`, initialises the display and shows the last text; true once connected. */
  private async attach(path: string): Promise<boolean> {
    let port: SerialPort;
    try {
      port = await this.openPort(path);
    } catch (error) {
      this.report(path, new DriverError('DRIVER_OPEN_FAILED', `cannot open pole display ${path}: ${message(error)}`, { cause: error }));
      return false;
    }
    if (!this.#running) {
      await closeQuietly(port);
      return false;
    }
    // A display sends nothing we need, but reading is how a hang-up (unplug) shows: serialport
    // closes the port on a read error. Data is dropped as it comes, so nothing accumulates.
    port.on('data', () => undefined);
    port.on('error', (error: Error) => this.lost(port, new DriverError('DRIVER_IO', `pole display ${path}: ${error.message}`, { cause: error })));
    port.on('close', () => this.lost(port, null));
    this.#port = port;
    this.#portPath = path;
    this.#needInit = true;
    this.#dirty = true;
    await this.flush();
    if (this.#port !== port) return false;
    this.#failing.delete(path);
    this.#connected = true;
    this.#log.info({ path }, 'pole display connected');
    this.emit('connectionChanged', { connected: true, path });
    return true;
  }

  private async openPort(path: string): Promise<SerialPort> {
    const { SerialPort } = await import('serialport');
    const options = { path, baudRate: this.#options.baudRate, autoOpen: false, ...(this.#options.binding ? { binding: this.#options.binding } : {}) };
    // SerialPort's options type leaves `binding` out, but its constructor takes one (it spreads the options)
    const port = new SerialPort(options as ConstructorParameters<typeof SerialPort>[0]);
    await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
    return port;
  }

  /** The port is gone (unplugged, failed, or closed by us): forget it; the text is kept for the next connection. */
  private lost(port: SerialPort, error: DriverError | null): void {
    if (this.#port !== port) return;
    const path = this.#portPath;
    const wasConnected = this.#connected;
    this.#port = null;
    this.#portPath = null;
    this.#connected = false;
    this.#needInit = true;
    this.#dirty = true;
    void closeQuietly(port);
    if (error) this.report(path, error);
    if (wasConnected) {
      this.#log.info({ path }, 'pole display disconnected');
      this.emit('connectionChanged', { connected: false, path });
    }
  }

  private report(path: string | null, error: DriverError): void {
    if (this.#failing.has(path)) return;
    this.#failing.add(path);
    this.#log.warn({ path, code: error.code, err: error.message }, 'pole display failed');
    this.emit('deviceError', { path, error });
  }
}

function closeQuietly(port: SerialPort): Promise<void> {
  return new Promise((resolve) => {
    if (!port.isOpen) return resolve();
    port.close(() => resolve());
  });
}

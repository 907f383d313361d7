/**
 * What the TCP, /dev/usb/lpN and USB receipt printers share: one byte connection at a time, opened
 * by a transport-specific connector, reconnected with back-off when it drops (a printer switched
 * off, unplugged, or its network gone), DLE EOT status through the StatusWaitress, and the
 * ReceiptPrinter events.
 *
 * - `open()` resolves once the first connection attempt is done, whether or not the printer was
 *   there: a printer that is off at start-up is normal in a shop; `connectionChanged` tells when it
 *   comes. Only a configuration or library problem fails open().
 * - Writes and status requests are queued on the connection, so a status request never lands
 *   inside the bytes of one `write` call.
 */
import { DriverError } from '../common/errors.js';
import { silentLog, systemTimers, type DriverLog, type DriverTimers } from '../common/timers.js';
import { TypedEmitter } from '../common/typed-emitter.js';
import { queryStatus, sameStatus, StatusByteDecoder, StatusWaitress } from './status.js';
import type { PrinterStatus, ReceiptPrinter, ReceiptPrinterEvents } from './types.js';

/** An open byte connection to a printer (a socket, a char device, a pair of USB bulk endpoints). */
export interface PrinterConnection {
  /** Resolves when the bytes were handed to the device; rejects when it is gone. */
  write(bytes: Uint8Array): Promise<void>;
  /** Bytes from the printer (status replies). */
  onData(listener: (bytes: Uint8Array) => void): void;
  /** The connection ended by itself (unplug, peer closed, I/O error); called at most once. */
  onClose(listener: (error?: Error) => void): void;
  close(): Promise<void>;
}

/**
 * The listener side of a PrinterConnection, which every transport needs alike: data fanned out to the listeners, and
 * one end of the connection. An end by itself (unplug, I/O error) tells the close listeners, once, and a listener
 * added later hears it at once; a deliberate `close()` ends it without telling them.
 */
export class ConnectionListeners {
  readonly #data: Array<(bytes: Uint8Array) => void> = [];
  readonly #close: Array<(error?: Error) => void> = [];
  #ended = false;
  #error: Error | undefined;

  get ended(): boolean {
    return this.#ended;
  }

  /** Bytes from the printer, to every data listener. */
  data(bytes: Uint8Array): void {
    for (const listener of this.#data) listener(bytes);
  }

  /** Marks the connection ended; `notify`: it ended by itself. False when it had ended already. */
  end(error?: Error, notify = true): boolean {
    if (this.#ended) return false;
    this.#ended = true;
    this.#error = error;
    if (notify) for (const listener of this.#close.splice(0)) listener(error);
    else this.#close.length = 0;
    return true;
  }

  readonly onData = (listener: (bytes: Uint8Array) => void): void => void this.#data.push(listener);

  readonly onClose = (listener: (error?: Error) => void): void => {
    if (this.#ended) listener(this.#error);
    else this.#close.push(listener);
  };
}

export interface PrinterConnector {
  /** For logs and errors, e.g. `tcp://10.0.0.5:9100`. */
  readonly description: string;
  /** Open a connection; rejects when the printer is not there (yet). */
  connect(): Promise<PrinterConnection>;
}

export interface BackoffOptions {
  /** first retry delay; default 500 ms */
  initialMs?: number;
  /** longest delay; default 30 000 ms */
  maxMs?: number;
  /** growth per failed attempt; default 2 */
  factor?: number;
}

export interface EscPosPrinterOptions {
  paperWidthMm: 58 | 80;
  timers?: DriverTimers;
  log?: DriverLog;
  /** reconnect delays */
  backoff?: BackoffOptions;
  /** per DLE EOT request; default 1000 ms */
  statusTimeoutMs?: number;
  /** poll the status this often while connected, emitting statusChanged on change; 0 = only when status() is called. Default 5000 ms */
  statusPollMs?: number;
}

export abstract class EscPosPrinter extends TypedEmitter<ReceiptPrinterEvents> implements ReceiptPrinter {
  readonly paperWidthMm: 58 | 80;
  protected readonly timers: DriverTimers;
  protected readonly log: DriverLog;
  readonly #connector: PrinterConnector;
  readonly #backoff: Required<BackoffOptions>;
  readonly #statusPollMs: number;
  readonly #decoder = new StatusByteDecoder();
  readonly #waitress: StatusWaitress;
  #connection: PrinterConnection | null = null;
  #open = false;
  #attempt = 0;
  #retryTimer: unknown = null;
  #pollTimer: unknown = null;
  #connecting: Promise<void> | null = null;
  #tx: Promise<unknown> = Promise.resolve();
  #lastStatus: PrinterStatus | null = null;
  #polling = false;

  constructor(connector: PrinterConnector, options: EscPosPrinterOptions) {
    super();
    this.#connector = connector;
    this.paperWidthMm = options.paperWidthMm;
    this.timers = options.timers ?? systemTimers;
    this.log = options.log ?? silentLog;
    this.#backoff = { initialMs: 500, maxMs: 30_000, factor: 2, ...options.backoff };
    this.#statusPollMs = options.statusPollMs ?? 5000;
    this.#waitress = new StatusWaitress({ timers: this.timers, timeoutMs: options.statusTimeoutMs ?? 1000 });
  }

  get connected(): boolean {
    return this.#connection !== null;
  }

  /** Parser and waitress counters, for diagnostics and tests. */
  get stats(): { parser: StatusByteDecoder['stats']; waitress: StatusWaitress['stats'] } {
    return { parser: this.#decoder.stats, waitress: this.#waitress.stats };
  }

  get description(): string {
    return this.#connector.description;
  }

  async open(): Promise<void> {
    if (this.#open) return;
    this.#open = true;
    await this.#tryConnect();
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    this.timers.clear(this.#retryTimer);
    this.timers.clear(this.#pollTimer);
    this.#retryTimer = this.#pollTimer = null;
    await this.#connecting?.catch(() => undefined);
    const connection = this.#connection;
    if (connection) {
      this.#drop(new DriverError('DRIVER_NOT_OPEN', `${this.description}: closed`));
      await connection.close().catch(() => undefined);
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    await this.#send(bytes);
  }

  async status(): Promise<PrinterStatus> {
    if (!this.#connection) throw this.#gone();
    const status = await queryStatus(this.#waitress, (bytes) => this.#send(bytes));
    if (!sameStatus(this.#lastStatus, status)) {
      this.#lastStatus = status;
      this.emit('statusChanged', { ...status });
    }
    return status;
  }

  /** Try to connect now instead of waiting for the back-off (hot-plug: the device just appeared). */
  retryNow(): void {
    if (!this.#open || this.#connection || this.#connecting) return;
    this.timers.clear(this.#retryTimer);
    this.#retryTimer = null;
    void this.#tryConnect();
  }

  #gone(): DriverError {
    return new DriverError('DRIVER_IO', `${this.description}: the printer is not connected`);
  }

  /** Queue bytes on the connection (one write call's bytes go out together). */
  #send(bytes: Uint8Array): Promise<void> {
    const run = async (): Promise<void> => {
      const connection = this.#connection;
      if (!this.#open) throw new DriverError('DRIVER_NOT_OPEN', `${this.description}: not open`);
      if (!connection) throw this.#gone();
      try {
        await connection.write(bytes);
      } catch (error) {
        const failure = error instanceof DriverError ? error : new DriverError('DRIVER_IO', `${this.description}: write failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        if (this.#connection === connection) {
          this.#drop(failure);
          void connection.close().catch(() => undefined);
        }
        throw failure;
      }
    };
    const result = this.#tx.then(run, run);
    this.#tx = result.catch(() => undefined);
    return result;
  }

  #tryConnect(): Promise<void> {
    this.#connecting ??= this.#connectOnce().finally(() => (this.#connecting = null));
    return this.#connecting;
  }

  async #connectOnce(): Promise<void> {
    let connection: PrinterConnection;
    try {
      connection = await this.#connector.connect();
    } catch (error) {
      if (this.#attempt === 0) this.log.info({ printer: this.description, err: error }, 'receipt printer not reachable; retrying');
      this.#scheduleRetry();
      return;
    }
    if (!this.#open) {
      await connection.close().catch(() => undefined);
      return;
    }
    this.#attempt = 0;
    this.#decoder.reset();
    this.#connection = connection;
    connection.onData((bytes) => {
      if (this.#connection === connection) this.#decoder.push(bytes, (b) => this.#waitress.handle(b));
    });
    connection.onClose((error) => {
      if (this.#connection !== connection) return;
      this.log.warn({ printer: this.description, err: error }, 'receipt printer connection lost');
      this.#drop(new DriverError('DRIVER_IO', `${this.description}: the printer went away${error ? `: ${error.message}` : ''}`, { cause: error }));
      void connection.close().catch(() => undefined);
    });
    this.log.info({ printer: this.description }, 'receipt printer connected');
    this.emit('connectionChanged', { connected: true });
    this.#schedulePoll(0);
  }

  /** Forget the connection, fail what waits on it, announce it, and start reconnecting. */
  #drop(error: DriverError): void {
    if (!this.#connection) return;
    this.#connection = null;
    this.timers.clear(this.#pollTimer);
    this.#pollTimer = null;
    this.#waitress.rejectAll(error);
    this.emit('connectionChanged', { connected: false });
    if (this.#open) this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (!this.#open || this.#retryTimer !== null) return;
    const { initialMs, maxMs, factor } = this.#backoff;
    const delay = Math.min(maxMs, initialMs * factor ** this.#attempt);
    this.#attempt++;
    this.#retryTimer = this.timers.setTimeout(() => {
      this.#retryTimer = null;
      if (this.#open && !this.#connection) void this.#tryConnect();
    }, delay);
  }

  #schedulePoll(delayMs: number): void {
    if (this.#statusPollMs <= 0 || !this.#open || !this.#connection) return;
    this.timers.clear(this.#pollTimer);
    this.#pollTimer = this.timers.setTimeout(() => {
      this.#pollTimer = null;
      void this.#poll();
    }, delayMs);
  }

  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      await this.status();
    } catch (error) {
      this.log.debug({ printer: this.description, err: error }, 'receipt printer status poll failed');
    } finally {
      this.#polling = false;
    }
    this.#schedulePoll(this.#statusPollMs);
  }
}

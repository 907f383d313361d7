import type { Readable } from 'node:stream';
import { SerialPort } from 'serialport';
import { DriverError } from '../common/errors.js';
import { TypedEmitter } from '../common/typed-emitter.js';
import { FskCallerIdStream, TextCallerIdStream } from './stream.js';
import type { CallerIdDecoderEvent, CallerIdSource, CallerIdSourceEvents } from './types.js';

/** Where the bytes come from: the serial port, or whatever a test feeds. */
export interface ByteSource {
  readonly stream: Readable;
  close(): Promise<void>;
}

export type OpenByteSource = (port: { path: string; baudRate: number }) => Promise<ByteSource>;

/** Opens a UART (8N1) with serialport. */
export const openSerialPort: OpenByteSource = async ({ path, baudRate }) => {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  return {
    stream: port,
    close: () => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
  };
};

export interface SerialCallerIdSourceOptions {
  path: string;
  baudRate: number;
  /** raw decoder-chip bytes (Bell 202 / V.23) or a text-line unit (NMBR = ..., caller-ID boxes) */
  format: 'fsk-raw' | 'text-lines';
  /** Quiet time after which a burst (or a text unit's message) counts as over; default 250 ms. */
  idleMs?: number;
  /** Byte-source seam; default openSerialPort. */
  openByteSource?: OpenByteSource;
}

/**
 * Caller ID from a decoder chip or a text-line unit on a serial port.
 * - Emits `callerIdReceived` only for messages that pass every check (checksum included);
 *   failures come as `callerIdRejected`, message-waiting messages as `messageWaitingChanged`.
 * - After `idleMs` without bytes the decoder ends the burst: an incomplete message is rejected as
 *   truncated, an open text message is completed.
 * - A read error or an unexpected close of the device emits `sourceFailed`; the source is closed then.
 */
export class SerialCallerIdSource extends TypedEmitter<CallerIdSourceEvents> implements CallerIdSource {
  readonly #options: Required<Omit<SerialCallerIdSourceOptions, 'openByteSource'>> & { openByteSource: OpenByteSource };
  #source: ByteSource | null = null;
  #decoder: FskCallerIdStream | TextCallerIdStream | null = null;
  #idle: NodeJS.Timeout | null = null;
  #opening: Promise<void> | null = null;

  constructor(options: SerialCallerIdSourceOptions) {
    super();
    if (options.format !== 'fsk-raw' && options.format !== 'text-lines') {
      throw new DriverError('DRIVER_INVALID_ARGUMENT', `caller-ID format must be 'fsk-raw' or 'text-lines', not '${String(options.format)}'`);
    }
    this.#options = { idleMs: 250, openByteSource: openSerialPort, ...options };
  }

  get isOpen(): boolean {
    return this.#source !== null;
  }

  open(): Promise<void> {
    if (this.#source) return Promise.resolve();
    this.#opening ??= this.doOpen().finally(() => (this.#opening = null));
    return this.#opening;
  }

  private async doOpen(): Promise<void> {
    const { path, baudRate, format, openByteSource } = this.#options;
    let source: ByteSource;
    try {
      source = await openByteSource({ path, baudRate });
    } catch (error) {
      throw new DriverError('DRIVER_OPEN_FAILED', `caller-ID decoder ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const decoder = format === 'fsk-raw' ? new FskCallerIdStream() : new TextCallerIdStream();
    decoder.on('data', (event: CallerIdDecoderEvent) => {
      if (this.#decoder === decoder) this.report(event);
    });
    source.stream.on('error', (error: Error) => {
      if (this.#source === source) void this.fail('DRIVER_IO', `caller-ID decoder ${path}: ${error.message}`);
    });
    source.stream.on('close', () => {
      if (this.#source === source) void this.fail('DRIVER_IO', `caller-ID decoder ${path} closed unexpectedly`);
    });
    source.stream.on('data', (chunk: Uint8Array) => {
      if (this.#source !== source) return;
      decoder.write(chunk);
      this.armIdle();
    });
    this.#source = source;
    this.#decoder = decoder;
  }

  async close(): Promise<void> {
    await this.#opening?.catch(() => undefined);
    await this.detach()?.close();
  }

  /** Stops decoding at once (nothing is emitted afterwards); returns the source to close, if open. */
  private detach(): ByteSource | null {
    const source = this.#source;
    this.#source = null;
    this.#decoder?.destroy();
    this.#decoder = null;
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = null;
    return source;
  }

  private armIdle(): void {
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = setTimeout(() => {
      this.#idle = null;
      this.#decoder?.endOfBurst();
    }, this.#options.idleMs);
  }

  private async fail(code: DriverError['code'], message: string): Promise<void> {
    const source = this.detach();
    if (!source) return;
    await source.close().catch(() => undefined);
    this.emit('sourceFailed', { code, message });
  }

  private report(event: CallerIdDecoderEvent): void {
    switch (event.type) {
      case 'callerId':
        this.emit('callerIdReceived', event.callerId);
        return;
      case 'messageWaiting':
        this.emit('messageWaitingChanged', { messageWaiting: event.messageWaiting, callerId: event.callerId });
        return;
      case 'rejected':
        this.emit('callerIdRejected', { reason: event.reason, code: event.code, bytes: event.bytes });
        return;
    }
  }
}

import { DriverError } from '../common/errors.js';
import { TypedEmitter } from '../common/typed-emitter.js';
import { encodeFrame, FLAG_RETRY, MAX_PAYLOAD, type McuFrame } from './frame.js';
import { McuFrameParser, type ParserStats } from './parser.js';
import {
  DEFAULT_POLICY, encodeAck, encodeNak, ERR, EVENT_POLICY, isEvent, isRequest, messageName, MSG, PayloadError, REQUEST_POLICY, type RetryPolicy,
} from './protocol.js';
import { silentLog, systemTimers, type McuLog, type McuTimers } from './timers.js';
import { attemptFlags, Waitress, type WaitressStats } from './waitress.js';

/**
 * One end of the MCU link (board/mcu-protocol.md §2): framing, sequence numbers, ACK/NAK,
 * duplicate suppression, stop-and-wait retransmission. The host driver (role 'host': sends
 * requests, serves events) and the simulated firmware (role 'mcu': sends events, serves requests)
 * both use it; what the messages mean is up to them.
 */

/**
 * The byte-stream seam: a node Duplex, a serialport SerialPort, or anything with the same three
 * methods. 'data' delivers received bytes; 'error' and 'close' are optional.
 */
export interface McuByteStream {
  write(chunk: Uint8Array): unknown;
  // `any` as in Node's own EventEmitter typings, so Duplex, SerialPort and EventEmitter fit.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: string, listener: (...args: any[]) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
}

/** Opens and closes the byte stream (a serial port, or a stream that is already there). */
export interface McuTransport {
  readonly description: string;
  open(): Promise<McuByteStream>;
  close(): Promise<void>;
}

/** A stream that exists already (in-memory pair, a socket); closing the link leaves it alone. */
export function streamTransport(stream: McuByteStream, description = 'stream'): McuTransport {
  return { description, open: async () => stream, close: async () => undefined };
}

/** How this end answers a message it serves. */
export type IncomingAnswer =
  /** ACK with reply data; `after` runs once the ACK was written (e.g. reset after FW_REBOOT). */
  | { ack?: Uint8Array; after?: () => void }
  | { nak: number; detail?: Uint8Array };
export type IncomingHandler = (frame: McuFrame) => IncomingAnswer | Promise<IncomingAnswer>;

export interface McuLinkEvents {
  [event: string]: unknown;
  /** Every valid frame received (tracing, tests). */
  received: McuFrame;
  /** Every frame written. */
  sent: McuFrame;
  /** The stream reported an error or closed by itself. */
  streamFailed: { error: Error | null };
}

export interface McuLinkStats {
  framesIn: number;
  framesOut: number;
  /** Retransmitted messages recognised and answered again without acting twice. */
  duplicates: number;
  naksSent: number;
  writeErrors: number;
  parser: ParserStats;
  waitress: WaitressStats;
}

export interface McuLinkOptions {
  transport: McuTransport;
  /** 'host' sends requests and serves events; 'mcu' the other way round. */
  role: 'host' | 'mcu';
  timers?: McuTimers;
  log?: McuLog;
  /** Timeout and retries per outgoing message type (defaults: §2.6). */
  policyFor?: (type: number) => RetryPolicy;
}

export class McuLink extends TypedEmitter<McuLinkEvents> {
  readonly #transport: McuTransport;
  readonly #timers: McuTimers;
  readonly #log: McuLog;
  readonly #policyFor: (type: number) => RetryPolicy;
  readonly #waitress: Waitress;
  readonly #parser = new McuFrameParser();
  #stream: McuByteStream | null = null;
  #opening: Promise<void> | null = null;
  #nextSeq = 0;
  /** Bumped by reset(): requests queued before it are dropped. */
  #epoch = 0;
  #queue: Promise<unknown> = Promise.resolve();
  /** The last message served, for duplicate suppression (§2.4). answer null = still being handled. */
  #lastServed: { seq: number; type: number; answer: Uint8Array | null } | null = null;
  #handler: IncomingHandler = () => ({ nak: ERR.UNKNOWN_MESSAGE });
  readonly #counters = { framesIn: 0, framesOut: 0, duplicates: 0, naksSent: 0, writeErrors: 0 };
  readonly #onData = (chunk: Uint8Array): void => void this.#parser.write(chunk);
  readonly #onError = (error: Error): void => this.emit('streamFailed', { error });
  readonly #onClose = (): void => {
    if (this.#stream) this.emit('streamFailed', { error: null });
  };

  constructor(private readonly options: McuLinkOptions) {
    super();
    this.#transport = options.transport;
    this.#timers = options.timers ?? systemTimers;
    this.#log = options.log ?? silentLog;
    this.#policyFor = options.policyFor ?? ((type) => (options.role === 'mcu' ? EVENT_POLICY : REQUEST_POLICY[type] ?? DEFAULT_POLICY));
    this.#waitress = new Waitress(this.#timers);
    this.#parser.on('data', (frame: McuFrame) => this.onFrame(frame));
  }

  get isOpen(): boolean {
    return this.#stream !== null;
  }
  get description(): string {
    return this.#transport.description;
  }
  get stats(): McuLinkStats {
    return { ...this.#counters, parser: { ...this.#parser.stats }, waitress: { ...this.#waitress.stats } };
  }

  /** Sets who answers incoming messages this end serves. */
  serve(handler: IncomingHandler): void {
    this.#handler = handler;
  }

  async open(): Promise<void> {
    if (this.#stream) return;
    this.#opening ??= (async () => {
      const stream = await this.#transport.open();
      this.#parser.reset();
      stream.on('data', this.#onData);
      stream.on('error', this.#onError);
      stream.on('close', this.#onClose);
      this.#stream = stream;
    })().finally(() => (this.#opening = null));
    await this.#opening;
  }

  async close(): Promise<void> {
    await this.#opening?.catch(() => undefined);
    const stream = this.#stream;
    if (!stream) return;
    this.#stream = null;
    this.reset(new DriverError('DRIVER_NOT_OPEN', `the MCU link ${this.description} was closed`));
    stream.removeListener('data', this.#onData);
    stream.removeListener('error', this.#onError);
    stream.removeListener('close', this.#onClose);
    await this.#transport.close();
  }

  /**
   * Forget every exchange in progress (the other end reset, or this end did): pending and queued
   * requests fail with `error`, duplicate suppression starts afresh. The link stays open.
   */
  reset(error: Error = new DriverError('DRIVER_IO', 'the MCU link was reset')): void {
    this.#epoch++;
    this.#lastServed = null;
    this.#waitress.rejectAll(error);
  }

  /** Restart sequence numbers at 0 (the firmware does so at boot, §2.4). */
  restartSequence(): void {
    this.#nextSeq = 0;
  }

  /**
   * Send a request (host) or event (MCU) and wait for its ACK; resolves with the reply data after
   * the answered-type byte. Stop-and-wait: one outstanding message per direction (§2.5), so calls
   * queue. Rejects with McuNakError (NAK), DRIVER_TIMEOUT (retries exhausted) or DRIVER_NOT_OPEN.
   */
  request(type: number, payload: Uint8Array = new Uint8Array(0), policy?: Partial<RetryPolicy>): Promise<Uint8Array> {
    if (!this.#stream) return Promise.reject(new DriverError('DRIVER_NOT_OPEN', `the MCU link ${this.description} is not open`));
    if (payload.length > MAX_PAYLOAD) {
      return Promise.reject(new DriverError('DRIVER_INVALID_ARGUMENT', `${messageName(type)} payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`));
    }
    const epoch = this.#epoch;
    const full = { ...this.#policyFor(type), ...policy };
    const run = (): Promise<Uint8Array> => {
      if (!this.#stream) return Promise.reject(new DriverError('DRIVER_NOT_OPEN', `the MCU link ${this.description} was closed`));
      if (epoch !== this.#epoch) return Promise.reject(new DriverError('DRIVER_IO', `${messageName(type)} dropped: the link was reset`));
      const seq = this.#nextSeq;
      this.#nextSeq = (seq + 1) & 0xff;
      return this.#waitress.exchange({ seq, type, policy: full, transmit: (attempt) => this.write({ type, seq, flags: attemptFlags(attempt), payload }) });
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  /** Write one frame (ACK/NAK or a message). Write errors are counted, not thrown: the retry path covers them. */
  write(frame: McuFrame): void {
    const stream = this.#stream;
    if (!stream) throw new DriverError('DRIVER_NOT_OPEN', `the MCU link ${this.description} is not open`);
    const wire = encodeFrame(frame);
    try {
      stream.write(wire);
      this.#counters.framesOut++;
      this.emit('sent', frame);
    } catch (error) {
      this.#counters.writeErrors++;
      this.#log.warn({ err: error, type: messageName(frame.type) }, 'MCU link write failed');
    }
  }

  private serves(type: number): boolean {
    return this.options.role === 'host' ? isEvent(type) : isRequest(type);
  }

  private onFrame(frame: McuFrame): void {
    this.#counters.framesIn++;
    this.emit('received', frame);
    if (frame.type === MSG.ACK || frame.type === MSG.NAK) {
      if (!this.#waitress.handle(frame)) this.#log.debug({ type: messageName(frame.type), seq: frame.seq }, 'MCU link: answer to nothing pending');
      return;
    }
    if (!this.#stream) return;
    if (!this.serves(frame.type)) {
      this.answer(frame, { nak: ERR.UNKNOWN_MESSAGE });
      return;
    }
    // Duplicate suppression (§2.4): a retransmission of the message served last is answered again
    // with the same bytes, not acted on twice. Without FLAG_RETRY a frame is always new.
    const last = this.#lastServed;
    if ((frame.flags & FLAG_RETRY) !== 0 && last && last.seq === frame.seq && last.type === frame.type) {
      this.#counters.duplicates++;
      if (last.answer) this.writeRaw(last.answer);
      return;
    }
    const served = { seq: frame.seq, type: frame.type, answer: null as Uint8Array | null };
    this.#lastServed = served;
    let answer: IncomingAnswer | Promise<IncomingAnswer>;
    try {
      answer = this.#handler(frame);
    } catch (error) {
      answer = failure(error, frame, this.#log);
    }
    if (answer instanceof Promise) {
      answer.then(
        (a) => this.answer(frame, a, served),
        (error: unknown) => this.answer(frame, failure(error, frame, this.#log), served),
      );
    } else {
      this.answer(frame, answer, served);
    }
  }

  private answer(frame: McuFrame, answer: IncomingAnswer, served?: { answer: Uint8Array | null }): void {
    if (!this.#stream) return;
    const reply: McuFrame = 'nak' in answer
      ? { type: MSG.NAK, seq: frame.seq, flags: 0, payload: encodeNak(frame.type, answer.nak, answer.detail) }
      : { type: MSG.ACK, seq: frame.seq, flags: 0, payload: encodeAck(frame.type, answer.ack) };
    if ('nak' in answer) this.#counters.naksSent++;
    const wire = encodeFrame(reply);
    if (served && this.#lastServed === served) served.answer = wire;
    this.writeRaw(wire, reply);
    if (!('nak' in answer)) answer.after?.();
  }

  private writeRaw(wire: Uint8Array, frame?: McuFrame): void {
    try {
      this.#stream?.write(wire);
      this.#counters.framesOut++;
      if (frame) this.emit('sent', frame);
    } catch (error) {
      this.#counters.writeErrors++;
      this.#log.warn({ err: error }, 'MCU link write failed');
    }
  }
}

function failure(error: unknown, frame: McuFrame, log: McuLog): IncomingAnswer {
  if (error instanceof PayloadError) return { nak: error.nakCode };
  log.warn({ err: error, type: messageName(frame.type) }, 'MCU link: handler failed');
  return { nak: ERR.HARDWARE };
}

/**
 * ESC/POS real-time status (Epson ESC/POS Command Reference, "DLE EOT — Transmit real-time status"):
 * reply decoding, a byte classifier that picks the status replies out of whatever else a printer
 * sends (Automatic Status Back, process-ID / printer-information blocks, line noise), and request/
 * reply matching with a per-request timeout.
 *
 * DLE EOT replies carry no request id, so requests go out one at a time and the next status byte
 * answers the oldest request. After a timeout a late answer could be taken for the next request's:
 * the waitress then waits a quiet period, dropping any status bytes, before it sends again.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { DriverError } from '../common/errors.js';
import type { DriverTimers } from '../common/timers.js';
import { realtimeStatusRequest, type StatusKind } from './escpos.js';
import type { PrinterStatus } from './types.js';

/** A DLE EOT reply has bits 0 and 7 off and bits 1 and 4 on: (b & 0x93) == 0x12 for every n. */
export function isStatusReply(b: number): boolean {
  return (b & 0x93) === 0x12;
}

/** n = 1, printer status. */
export interface PrinterStatusByte {
  /** bit 2: drawer kick-out connector pin 3 is high */
  drawerPin3High: boolean;
  /** bit 3: off-line */
  offline: boolean;
  /** bit 5: waiting for online recovery */
  waitingForRecovery: boolean;
  /** bit 6: paper feed button pressed */
  feedButtonPressed: boolean;
}

/** n = 2, off-line cause. */
export interface OfflineCauseByte {
  /** bit 2: cover open */
  coverOpen: boolean;
  /** bit 3: paper being fed by the feed button */
  feedingByButton: boolean;
  /** bit 5: printing stopped because the paper ran out (paper-end stop) */
  paperEndStop: boolean;
  /** bit 6: an error occurred */
  error: boolean;
}

/** n = 3, error cause. */
export interface ErrorCauseByte {
  /** bit 2: recoverable error */
  recoverable: boolean;
  /** bit 3: autocutter error */
  autocutter: boolean;
  /** bit 5: unrecoverable error */
  unrecoverable: boolean;
  /** bit 6: automatically recoverable error (e.g. print head overheated) */
  autoRecoverable: boolean;
}

/** n = 4, continuous (roll) paper sensor status. */
export interface PaperSensorByte {
  /** bits 2 and 3 (0x0C): roll paper near-end sensor — paper near end */
  nearEnd: boolean;
  /** bits 5 and 6 (0x60): roll paper end sensor — paper not present */
  paperOut: boolean;
}

function checked(b: number, n: StatusKind): number {
  if (!isStatusReply(b)) throw new DriverError('DRIVER_IO', `0x${b.toString(16).padStart(2, '0')} is not a DLE EOT ${n} reply`);
  return b;
}

export function decodePrinterStatus(b: number): PrinterStatusByte {
  checked(b, 1);
  return { drawerPin3High: (b & 0x04) !== 0, offline: (b & 0x08) !== 0, waitingForRecovery: (b & 0x20) !== 0, feedButtonPressed: (b & 0x40) !== 0 };
}

export function decodeOfflineCause(b: number): OfflineCauseByte {
  checked(b, 2);
  return { coverOpen: (b & 0x04) !== 0, feedingByButton: (b & 0x08) !== 0, paperEndStop: (b & 0x20) !== 0, error: (b & 0x40) !== 0 };
}

export function decodeErrorCause(b: number): ErrorCauseByte {
  checked(b, 3);
  return { recoverable: (b & 0x04) !== 0, autocutter: (b & 0x08) !== 0, unrecoverable: (b & 0x20) !== 0, autoRecoverable: (b & 0x40) !== 0 };
}

export function decodePaperSensor(b: number): PaperSensorByte {
  checked(b, 4);
  return { nearEnd: (b & 0x0c) !== 0, paperOut: (b & 0x60) !== 0 };
}

/** The ReceiptPrinter status from the replies to DLE EOT 1, 2 and 4. */
export function combineStatus(replies: { printer: number; offlineCause: number; paper: number }): PrinterStatus {
  const printer = decodePrinterStatus(replies.printer);
  const cause = decodeOfflineCause(replies.offlineCause);
  const paper = decodePaperSensor(replies.paper);
  return {
    online: !printer.offline,
    coverOpen: cause.coverOpen,
    paperNearEnd: paper.nearEnd && !paper.paperOut,
    paperOut: paper.paperOut || cause.paperEndStop,
  };
}

export function sameStatus(a: PrinterStatus | null, b: PrinterStatus): boolean {
  return a !== null && a.online === b.online && a.coverOpen === b.coverOpen && a.paperNearEnd === b.paperNearEnd && a.paperOut === b.paperOut;
}

// ---- incoming byte classification ----------------------------------------------------------------

export interface StatusParserStats {
  /** DLE EOT replies passed on */
  replies: number;
  /** Automatic Status Back blocks (GS a) skipped */
  asb: number;
  /** header-to-NUL blocks skipped (GS ( H process ID responses, GS I / GS ( E information blocks) */
  blocks: number;
  /** bytes that fit no known reply */
  droppedBytes: number;
}

/** Longest header…NUL block we follow before giving up on it (printer information is at most 80 bytes). */
const MAX_BLOCK = 96;

/**
 * Bytes in, DLE EOT reply bytes out. What else a printer may send, and how it is told apart:
 * - Automatic Status Back (GS a): 4 bytes; the first matches (b & 0x93) == 0x10, bytes 2..4 have
 *   bits 4 and 7 off ((b & 0x90) == 0). A status reply always has bit 4 on, so ASB bytes never pass
 *   for one.
 * - Header…NUL blocks: process ID response to GS ( H (header 0x37 0x22), other GS ( E / GS ( H
 *   replies (header 0x37), printer information B (GS I, header 0x5F): skipped up to the NUL.
 * - Anything else is dropped and counted, and the next byte is looked at afresh (resync).
 */
export class StatusByteDecoder {
  #asbLeft = 0;
  #inBlock = false;
  #blockLength = 0;
  readonly stats: StatusParserStats = { replies: 0, asb: 0, blocks: 0, droppedBytes: 0 };

  push(chunk: Uint8Array, onReply: (b: number) => void): void {
    for (const b of chunk) {
      if (this.#inBlock) {
        this.#blockLength++;
        if (b === 0x00) {
          this.#inBlock = false;
          this.stats.blocks++;
        } else if (this.#blockLength > MAX_BLOCK) {
          this.#inBlock = false;
          this.stats.droppedBytes += this.#blockLength;
        }
        continue;
      }
      if (this.#asbLeft > 0) {
        if ((b & 0x90) === 0) {
          if (--this.#asbLeft === 0) this.stats.asb++;
          continue;
        }
        // Not an ASB byte after all: the block was cut short; look at this byte afresh.
        this.stats.droppedBytes += 4 - this.#asbLeft;
        this.#asbLeft = 0;
      }
      if (isStatusReply(b)) {
        this.stats.replies++;
        onReply(b);
      } else if ((b & 0x93) === 0x10) {
        this.#asbLeft = 3;
      } else if (b === 0x37 || b === 0x5f) {
        this.#inBlock = true;
        this.#blockLength = 1;
      } else {
        this.stats.droppedBytes++;
      }
    }
  }

  reset(): void {
    this.#asbLeft = 0;
    this.#inBlock = false;
  }
}

/** The decoder as a Transform: bytes in, one-byte Buffers (each a DLE EOT reply) out. Never errors on input. */
export class StatusReplyParser extends Transform {
  readonly decoder = new StatusByteDecoder();
  constructor() {
    super({ readableObjectMode: true });
  }
  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk instanceof Uint8Array) this.decoder.push(chunk, (b) => this.push(b));
    callback();
  }
}

// ---- request / reply -----------------------------------------------------------------------------

export interface StatusWaitressOptions {
  timers: DriverTimers;
  /** per-request timeout; default 1000 ms */
  timeoutMs?: number;
  /** after a timeout: silence before the next request, during which late replies are dropped; default 200 ms */
  quietMs?: number;
}

export interface StatusWaitressStats {
  matched: number;
  timeouts: number;
  /** replies that arrived with no request pending, or during the quiet period after a timeout */
  unmatched: number;
}

interface Pending {
  n: StatusKind;
  transmit: (bytes: Uint8Array) => Promise<void>;
  resolve(b: number): void;
  reject(e: Error): void;
}

/**
 * One DLE EOT request at a time; `handle(b)` offers each reply byte from the StatusByteDecoder.
 * `request` resolves with the raw reply byte, or rejects with DRIVER_TIMEOUT.
 */
export class StatusWaitress {
  readonly #timers: DriverTimers;
  readonly #timeoutMs: number;
  readonly #quietMs: number;
  readonly #queue: Pending[] = [];
  #active: Pending | null = null;
  #timer: unknown = null;
  #quiet = false;
  readonly stats: StatusWaitressStats = { matched: 0, timeouts: 0, unmatched: 0 };

  constructor(options: StatusWaitressOptions) {
    this.#timers = options.timers;
    this.#timeoutMs = options.timeoutMs ?? 1000;
    this.#quietMs = options.quietMs ?? 200;
  }

  get pending(): number {
    return this.#queue.length + (this.#active ? 1 : 0);
  }

  /** Queue DLE EOT n; `transmit` puts the request on the wire when its turn comes. */
  request(n: StatusKind, transmit: (bytes: Uint8Array) => Promise<void>): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.#queue.push({ n, transmit, resolve, reject });
      this.#next();
    });
  }

  /** Offer a DLE EOT reply byte. Returns true when it answered the pending request. */
  handle(b: number): boolean {
    const active = this.#active;
    // A reply may overtake the write's completion callback, so no timer is needed to accept it.
    if (!active || this.#quiet) {
      this.stats.unmatched++;
      return false;
    }
    this.#finish();
    this.stats.matched++;
    active.resolve(b);
    return true;
  }

  /** Fail the pending and queued requests (connection lost, closed). */
  rejectAll(error: Error): void {
    const all = [...(this.#active ? [this.#active] : []), ...this.#queue.splice(0)];
    this.#finish();
    for (const p of all) p.reject(error);
  }

  #finish(): void {
    if (this.#timer !== null) this.#timers.clear(this.#timer);
    this.#timer = null;
    this.#active = null;
    if (!this.#quiet) queueMicrotask(() => this.#next());
  }

  #next(): void {
    if (this.#active || this.#quiet) return;
    const p = this.#queue.shift();
    if (!p) return;
    this.#active = p;
    p.transmit(realtimeStatusRequest(p.n)).then(
      () => {
        if (this.#active !== p) return;
        this.#timer = this.#timers.setTimeout(() => this.#onTimeout(p), this.#timeoutMs);
      },
      (error: unknown) => {
        if (this.#active !== p) return;
        this.#active = null;
        p.reject(error instanceof Error ? error : new Error(String(error)));
        this.#next();
      },
    );
  }

  #onTimeout(p: Pending): void {
    if (this.#active !== p) return;
    this.#timer = null;
    this.#active = null;
    this.stats.timeouts++;
    this.#quiet = true;
    this.#timers.setTimeout(() => {
      this.#quiet = false;
      this.#next();
    }, this.#quietMs);
    p.reject(new DriverError('DRIVER_TIMEOUT', `the printer did not answer DLE EOT ${p.n} within ${this.#timeoutMs} ms`));
  }
}

/** Ask DLE EOT 1, 2 and 4 in turn and combine the answers. */
export async function queryStatus(waitress: StatusWaitress, transmit: (bytes: Uint8Array) => Promise<void>): Promise<PrinterStatus> {
  const printer = await waitress.request(1, transmit);
  const offlineCause = await waitress.request(2, transmit);
  const paper = await waitress.request(4, transmit);
  return combineStatus({ printer, offlineCause, paper });
}

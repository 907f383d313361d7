// Streaming caller-ID decoders: bytes from a UART in any chunking, CallerIdDecoderEvents out.
//
// FSK (raw decoder-chip bytes, frame.ts): a message starts at a type byte (0x04, 0x06, 0x80, 0x82);
// every other byte before it (channel seizure 0x55, marks, line noise) is skipped. From a type byte the
// scanner waits for [len] and then for the whole message (at most 258 bytes). A candidate whose framing
// or checksum fails is reported as rejected and scanning resumes at the byte after its type byte, so a
// real message hidden behind a false start is still found. At the end of a burst (the line went idle,
// or the stream ended) a candidate still incomplete is reported as truncated and the bytes after its
// type byte are scanned again. The buffer holds at most FSK_BUFFER_BYTES.
//
// Text lines (text.ts): bytes are split at CR, LF or CRLF; a line longer than MAX_TEXT_LINE is
// reported once and dropped up to its line end.

import { Transform, type TransformCallback } from 'node:stream';
import { CallerIdError } from './errors.js';
import { MAX_MESSAGE_BYTES, decodeMessage, framingError, isMessageType } from './frame.js';
import { MAX_TEXT_LINE, TextLineCallerIdDecoder } from './text.js';
import type { CallerIdDecoderEvent } from './types.js';

/** The FSK scanner's buffer: room for a pending message plus at least as much new input. */
export const FSK_BUFFER_BYTES = 1024;

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'latin1');
  return new Uint8Array(0);
}

/** The pure FSK scanner under FskCallerIdStream (usable without streams). Never throws on input. */
export class FskMessageScanner {
  readonly #buf = new Uint8Array(FSK_BUFFER_BYTES);
  #len = 0;
  #highWater = 0;

  /** Bytes held (a message still arriving). */
  get buffered(): number {
    return this.#len;
  }

  /** Most bytes ever held (never above FSK_BUFFER_BYTES). */
  get highWater(): number {
    return this.#highWater;
  }

  push(chunk: Uint8Array): CallerIdDecoderEvent[] {
    const out: CallerIdDecoderEvent[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      // after a scan at most MAX_MESSAGE_BYTES - 1 bytes remain, so there is always room
      const n = Math.min(FSK_BUFFER_BYTES - this.#len, chunk.length - offset);
      this.#buf.set(chunk.subarray(offset, offset + n), this.#len);
      this.#len += n;
      offset += n;
      if (this.#len > this.#highWater) this.#highWater = this.#len;
      this.scan(out, false);
    }
    return out;
  }

  /** The burst is over: an incomplete message is truncated; what follows its type byte is scanned again. */
  endOfBurst(): CallerIdDecoderEvent[] {
    const out: CallerIdDecoderEvent[] = [];
    this.scan(out, true);
    return out;
  }

  private scan(out: CallerIdDecoderEvent[], final: boolean): void {
    const buf = this.#buf;
    const len = this.#len;
    let pos = 0;
    while (pos < len) {
      if (!isMessageType(buf[pos])) {
        pos++; // seizure, marks, noise
        continue;
      }
      const available = len - pos;
      const total = available >= 2 ? buf[pos + 1] + 3 : MAX_MESSAGE_BYTES;
      const candidate = buf.subarray(pos, pos + Math.min(available, total));
      const framing = framingError(candidate);
      if (framing) {
        out.push({ type: 'rejected', code: framing.code, reason: framing.message, bytes: candidate.slice() });
        pos++;
        continue;
      }
      if (available < total) {
        if (!final) break; // wait for the rest
        const error = new CallerIdError('CALLERID_TRUNCATED', `message ended after ${available} of ${available >= 2 ? total : 'at least 3'} bytes`);
        out.push({ type: 'rejected', code: error.code, reason: error.message, bytes: candidate.slice() });
        pos++;
        continue;
      }
      const result = decodeMessage(candidate);
      if (!result.ok) {
        out.push({ type: 'rejected', code: result.error.code, reason: result.error.message, bytes: candidate.slice() });
        pos++;
        continue;
      }
      const { message } = result;
      const bytes = candidate.slice();
      out.push(
        message.kind === 'call'
          ? { type: 'callerId', callerId: message.callerId, bytes }
          : { type: 'messageWaiting', messageWaiting: message.callerId.messageWaiting === true, callerId: message.callerId, bytes },
      );
      pos += total;
    }
    buf.copyWithin(0, pos, len);
    this.#len = len - pos;
  }
}

/**
 * Raw decoder-chip bytes in, CallerIdDecoderEvent objects out. Call `endOfBurst()` when the line has
 * been quiet for a while (an FSK burst is continuous); ending the stream does the same.
 */
export class FskCallerIdStream extends Transform {
  readonly scanner = new FskMessageScanner();

  constructor() {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    for (const event of this.scanner.push(toBytes(chunk))) this.push(event);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.endOfBurst();
    callback();
  }

  endOfBurst(): void {
    for (const event of this.scanner.endOfBurst()) this.push(event);
  }
}

/** Splits bytes into lines at CR, LF or CRLF, bounded to MAX_TEXT_LINE characters. */
export class TextLineSplitter {
  #line: number[] = [];
  #afterCr = false;
  #overlong = false;

  /** Bytes of the line still open. */
  get buffered(): number {
    return this.#line.length;
  }

  /** Complete lines; an over-long line is returned cut to MAX_TEXT_LINE + 1 characters (so it reads as too long). */
  push(chunk: Uint8Array): string[] {
    const lines: string[] = [];
    for (const b of chunk) {
      if (b === 0x0a && this.#afterCr) {
        this.#afterCr = false;
        continue;
      }
      this.#afterCr = b === 0x0d;
      if (b === 0x0a || b === 0x0d) {
        lines.push(this.take());
        continue;
      }
      if (this.#line.length <= MAX_TEXT_LINE) this.#line.push(b);
      else this.#overlong = true;
    }
    return lines;
  }

  /** The open line, if any, as a complete line (idle or end of input). */
  flush(): string[] {
    return this.#line.length || this.#overlong ? [this.take()] : [];
  }

  private take(): string {
    const bytes = Buffer.from(this.#line);
    const overlong = this.#overlong || bytes.length > MAX_TEXT_LINE;
    this.#line = [];
    this.#overlong = false;
    if (overlong) return bytes.toString('latin1'); // one character per byte: reads as too long
    const utf8 = bytes.toString('utf8');
    // units speak ASCII; 8-bit names are more likely Latin-1 than broken UTF-8
    return utf8.includes('\uFFFD') ? bytes.toString('latin1') : utf8;
  }
}

/** Text-line unit bytes in, CallerIdDecoderEvent objects out; `endOfBurst()` at idle ends an open message. */
export class TextCallerIdStream extends Transform {
  readonly splitter = new TextLineSplitter();
  readonly decoder = new TextLineCallerIdDecoder();

  constructor() {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    for (const line of this.splitter.push(toBytes(chunk))) for (const event of this.decoder.pushLine(line)) this.push(event);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.endOfBurst();
    callback();
  }

  endOfBurst(): void {
    for (const line of this.splitter.flush()) for (const event of this.decoder.pushLine(line)) this.push(event);
    for (const event of this.decoder.flush()) this.push(event);
  }
}

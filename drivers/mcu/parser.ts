import { Transform, type TransformCallback } from 'node:stream';
import { cobsDecode, DELIMITER, MAX_ENCODED_BODY, tryDecodeFrameBody, type McuFrame } from './frame.js';

/**
 * Bytes in, decoded frames out (board/mcu-protocol.md §2.1, §2.7 "Receiving").
 *
 * A frame ends at every 0x00. Whatever lies between two delimiters is COBS-decoded and CRC-checked;
 * anything that fails (line noise, a frame cut by a reset, a bad CRC) is dropped and counted, and
 * the next delimiter starts afresh, so the parser resyncs after garbage by construction.
 * Memory is bounded: at most MAX_ENCODED_BODY bytes are held; a longer run without a delimiter is
 * discarded up to the next delimiter.
 */

export interface ParserStats {
  /** Frames decoded and passed on. */
  frames: number;
  /** Frames whose CRC did not match. */
  crcErrors: number;
  /** Runs that were not valid COBS. */
  cobsErrors: number;
  /** Bodies shorter than a header + CRC. */
  shortFrames: number;
  /** Runs longer than the largest frame (discarded up to the next delimiter). */
  oversized: number;
  /** Bytes thrown away for any of the reasons above. */
  droppedBytes: number;
}

/** The decoding core, without the stream: feed bytes, get frames through the callback. */
export class FrameDecoder {
  readonly #buffer: Uint8Array;
  #length = 0;
  /** Skipping an oversized run until the next delimiter. */
  #discarding = false;
  #highWater = 0;
  readonly stats: ParserStats = { frames: 0, crcErrors: 0, cobsErrors: 0, shortFrames: 0, oversized: 0, droppedBytes: 0 };

  constructor(readonly maxEncodedBody = MAX_ENCODED_BODY) {
    this.#buffer = new Uint8Array(maxEncodedBody);
  }

  /** Bytes held right now (an unfinished frame). */
  get bufferedBytes(): number {
    return this.#length;
  }
  /** The most bytes ever held; never above maxEncodedBody. */
  get maxBufferedBytes(): number {
    return this.#highWater;
  }

  push(chunk: Uint8Array, onFrame: (frame: McuFrame) => void): void {
    let start = 0;
    while (start < chunk.length) {
      const end = chunk.indexOf(DELIMITER, start);
      const stop = end === -1 ? chunk.length : end;
      this.append(chunk, start, stop);
      if (end === -1) break;
      this.finishRun(onFrame);
      start = end + 1;
    }
  }

  /** Forget an unfinished frame (e.g. the port was reopened). */
  reset(): void {
    this.#length = 0;
    this.#discarding = false;
  }

  private append(chunk: Uint8Array, from: number, to: number): void {
    const n = to - from;
    if (n === 0) return;
    if (this.#discarding) {
      this.stats.droppedBytes += n;
      return;
    }
    if (this.#length + n > this.#buffer.length) {
      // Longer than any valid frame: drop what we have and the rest of this run.
      this.stats.oversized++;
      this.stats.droppedBytes += this.#length + n;
      this.#length = 0;
      this.#discarding = true;
      return;
    }
    this.#buffer.set(chunk.subarray(from, to), this.#length);
    this.#length += n;
    if (this.#length > this.#highWater) this.#highWater = this.#length;
  }

  private finishRun(onFrame: (frame: McuFrame) => void): void {
    const length = this.#length;
    const discarding = this.#discarding;
    this.#length = 0;
    this.#discarding = false;
    // Empty runs are the leading delimiter of the next frame (§2.1): not an error.
    if (discarding || length === 0) return;
    const body = cobsDecode(this.#buffer.subarray(0, length));
    if (!body) {
      this.stats.cobsErrors++;
      this.stats.droppedBytes += length;
      return;
    }
    const result = tryDecodeFrameBody(body);
    if (typeof result === 'string') {
      if (result === 'crc') this.stats.crcErrors++;
      else this.stats.shortFrames++;
      this.stats.droppedBytes += length;
      return;
    }
    this.stats.frames++;
    onFrame(result);
  }
}

/**
 * The decoder as a node:stream Transform: write bytes (Buffer/Uint8Array), read McuFrame objects.
 * Never errors on input: bad bytes are counted in `stats` and dropped.
 */
export class McuFrameParser extends Transform {
  readonly #decoder: FrameDecoder;

  constructor(options: { maxEncodedBody?: number } = {}) {
    super({ readableObjectMode: true, writableObjectMode: false });
    this.#decoder = new FrameDecoder(options.maxEncodedBody);
  }

  get stats(): ParserStats {
    return this.#decoder.stats;
  }
  get bufferedBytes(): number {
    return this.#decoder.bufferedBytes;
  }
  get maxBufferedBytes(): number {
    return this.#decoder.maxBufferedBytes;
  }
  reset(): void {
    this.#decoder.reset();
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk instanceof Uint8Array) this.#decoder.push(chunk, (frame) => this.push(frame));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    // An unfinished frame at the end of the stream is dropped (it never got its delimiter).
    if (this.#decoder.bufferedBytes > 0) this.#decoder.stats.droppedBytes += this.#decoder.bufferedBytes;
    this.#decoder.reset();
    callback();
  }
}

import { Transform, type TransformCallback } from 'node:stream';

/**
 * Cuts a raw PCM byte stream (arecord's stdout, which arrives in pipe-sized chunks that need not
 * line up with anything) into whole periods of `periodBytes`. A partial period is kept until the
 * next chunk completes it; whatever is left at the end of the stream is dropped (never a short
 * period). The readable side is in object mode: one Buffer per period, in order.
 */
export class PeriodFramer extends Transform {
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  constructor(readonly periodBytes: number) {
    super({ readableObjectMode: true });
    if (!Number.isInteger(periodBytes) || periodBytes <= 0) throw new RangeError(`periodBytes must be a positive integer, got ${periodBytes}`);
  }

  /** Bytes held back, waiting for the rest of their period. */
  get partialBytes(): number {
    return this.#pendingBytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let offset = 0;
    // Complete the held-back partial period first.
    if (this.#pendingBytes > 0) {
      const need = this.periodBytes - this.#pendingBytes;
      const take = Math.min(need, chunk.length);
      this.#pending.push(chunk.subarray(0, take));
      this.#pendingBytes += take;
      offset = take;
      if (this.#pendingBytes < this.periodBytes) return callback();
      this.push(Buffer.concat(this.#pending, this.periodBytes));
      this.#pending = [];
      this.#pendingBytes = 0;
    }
    // Whole periods straight from the chunk (copied: the consumer may keep them).
    while (chunk.length - offset >= this.periodBytes) {
      this.push(Buffer.from(chunk.subarray(offset, offset + this.periodBytes)));
      offset += this.periodBytes;
    }
    if (offset < chunk.length) {
      this.#pending.push(Buffer.from(chunk.subarray(offset)));
      this.#pendingBytes = chunk.length - offset;
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.#pending = [];
    this.#pendingBytes = 0;
    callback();
  }
}

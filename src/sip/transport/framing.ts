// Framing of SIP over a byte stream (TCP, TLS): RFC 3261 §18.3 — the header section ends at the
// first empty line and Content-Length (mandatory on streams) gives the body length in bytes.
// Keep-alives between messages (RFC 5626 §3.5.1/§4.4.1): a double CRLF is a ping, which the
// receiver answers with a single CRLF, the pong.

export type StreamFrame = { type: 'message'; text: string } | { type: 'ping' } | { type: 'pong' };

export interface StreamFramerOptions {
  /** upper bound of one message, header section + body, in bytes */
  maxMessageBytes: number;
  /** upper bound of the header section in bytes (default: min(16 KiB, maxMessageBytes)) */
  maxHeaderBytes?: number;
}

/** The stream cannot be framed any more (limit exceeded, no Content-Length): close it. */
export class FramingError extends Error {
  readonly code = 'SIP_FRAMING';
  constructor(message: string) {
    super(message);
    this.name = 'FramingError';
  }
}

const CRLF = Buffer.from('\r\n');
const CRLFCRLF = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /^(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*$/im;

export class SipStreamFramer {
  #buffer: Buffer = Buffer.alloc(0);
  readonly #maxMessage: number;
  readonly #maxHeader: number;

  constructor(options: StreamFramerOptions) {
    this.#maxMessage = options.maxMessageBytes;
    this.#maxHeader = Math.min(options.maxHeaderBytes ?? 16_384, options.maxMessageBytes);
  }

  /** Bytes held waiting for the rest of a message. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Feeds bytes; returns the complete frames. Throws FramingError when the stream is unusable. */
  push(chunk: Buffer): StreamFrame[] {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    const frames: StreamFrame[] = [];
    for (;;) {
      const buf = this.#buffer;
      if (buf.length === 0) break;
      if (buf[0] === 0x0d) {
        // keep-alives between messages
        if (buf.length >= 4 && buf.subarray(0, 4).equals(CRLFCRLF)) {
          frames.push({ type: 'ping' });
          this.#buffer = buf.subarray(4);
          continue;
        }
        if (buf.length >= 2 && buf.subarray(0, 2).equals(CRLF)) {
          // a lone CRLF at the end of what arrived is a pong; a CRLF followed by more than a CR is too
          if (buf.length === 2 || buf[2] !== 0x0d) {
            frames.push({ type: 'pong' });
            this.#buffer = buf.subarray(2);
            continue;
          }
          if (buf.length === 3) break; // "\r\n\r": wait for the rest of the ping
        }
        if (buf.length < 2) break;
      }
      const headEnd = buf.indexOf(CRLFCRLF);
      if (headEnd < 0) {
        if (buf.length > this.#maxHeader) throw new FramingError(`header section exceeds ${this.#maxHeader} bytes`);
        break;
      }
      if (headEnd > this.#maxHeader) throw new FramingError(`header section exceeds ${this.#maxHeader} bytes`);
      const head = buf.subarray(0, headEnd).toString('latin1');
      const m = CONTENT_LENGTH.exec(head);
      // §18.3: "In the case of stream-oriented transports such as TCP, the Content-Length header
      // field indicates the size of the body. ... MUST be used with stream oriented transports."
      if (!m) throw new FramingError('message on a stream without Content-Length');
      const bodyLength = Number(m[1]);
      const total = headEnd + 4 + bodyLength;
      if (!Number.isSafeInteger(bodyLength) || total > this.#maxMessage) {
        throw new FramingError(`message of ${total} bytes exceeds ${this.#maxMessage}`);
      }
      if (buf.length < total) break;
      frames.push({ type: 'message', text: buf.subarray(0, total).toString('utf8') });
      this.#buffer = buf.subarray(total);
    }
    // do not pin a large chunk for a small remainder
    if (this.#buffer.length && this.#buffer.byteOffset > 0) this.#buffer = Buffer.from(this.#buffer);
    return frames;
  }
}

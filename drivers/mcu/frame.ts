import { DriverError } from '../common/errors.js';

/**
 * MCU link framing (board/mcu-protocol.md §2 "Framing").
 *
 *   wire  = 00 COBS(body) 00
 *   body  = type u8 | seq u8 | flags u8 | payload (0..MAX_PAYLOAD bytes) | crc u16 (big-endian)
 *   crc   = CRC-16/CCITT-FALSE over type..payload
 *
 * Pure code: no I/O, no timers. The parser (parser.ts) and both ends of the link use it.
 */

/** Frame delimiter. COBS removes every 0x00 from the body, so 0x00 only ever ends a frame. */
export const DELIMITER = 0x00;
/** type, seq, flags (§2.2). */
export const HEADER_SIZE = 3;
export const CRC_SIZE = 2;
/** Largest payload either side may send (§2.3). The MCU may announce a smaller one in HELLO. */
export const MAX_PAYLOAD = 512;
/** Smallest valid body: header + CRC, empty payload. */
export const MIN_BODY = HEADER_SIZE + CRC_SIZE;
export const MAX_BODY = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE;
/** Largest COBS-encoded body (without delimiters): one code byte per started 254-byte run. */
export const MAX_ENCODED_BODY = cobsMaxEncodedLength(MAX_BODY);
/** Largest frame on the wire, both delimiters included. */
export const MAX_WIRE_FRAME = MAX_ENCODED_BODY + 2;

/** flags bit 0 (§2.4): this frame repeats an earlier one with the same seq and type. */
export const FLAG_RETRY = 0x01;

export interface McuFrame {
  /** Message id (protocol.ts MSG). */
  type: number;
  /** Sequence number 0..255 (§2.4). */
  seq: number;
  /** Bit field; only FLAG_RETRY is defined, receivers ignore the other bits. */
  flags: number;
  payload: Uint8Array;
}

export type FrameErrorReason = 'cobs' | 'short' | 'long' | 'crc' | 'range';

/** A frame that cannot be encoded or decoded. */
export class FrameError extends DriverError {
  constructor(
    readonly reason: FrameErrorReason,
    message: string,
  ) {
    super(reason === 'range' || reason === 'long' ? 'DRIVER_INVALID_ARGUMENT' : 'DRIVER_IO', message);
    this.name = 'FrameError';
  }
}

// ---- CRC ---------------------------------------------------------------------------------------

function crc16Table(): Uint16Array {
  const table = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    table[n] = c;
  }
  return table;
}
const CRC16_TABLE = crc16Table();

/**
 * CRC-16/CCITT-FALSE (RevEng: CRC-16/IBM-3740): poly 0x1021, init 0xFFFF, not reflected, xorout 0.
 * Check value: crc16("123456789") = 0x29B1. `crc` continues an earlier computation.
 */
export function crc16(data: Uint8Array, crc = 0xffff): number {
  for (let i = 0; i < data.length; i++) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ data[i]) & 0xff];
  return crc;
}

function crc32Table(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}
const CRC32_TABLE = crc32Table();

/**
 * CRC-32/ISO-HDLC (zlib's crc32, used for whole firmware images, §7): poly 0x04C11DB7 reflected,
 * init 0xFFFFFFFF, xorout 0xFFFFFFFF. Check value: crc32("123456789") = 0xCBF43926.
 * Pass the previous result as `crc` to continue over more data.
 */
export function crc32(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC32_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// ---- COBS --------------------------------------------------------------------------------------

/** Worst-case COBS output size for `length` input bytes (no delimiter). */
export function cobsMaxEncodedLength(length: number): number {
  return length + Math.max(1, Math.ceil(length / 254));
}

/**
 * Consistent Overhead Byte Stuffing (Cheshire & Baker 1999), §2.1: the output has no 0x00.
 * Each block is a code byte n (1..255) followed by n-1 non-zero bytes; a block with n < 255 stands
 * for its bytes plus one 0x00, except the last block. A run of exactly 254 non-zero bytes at the
 * very end is not followed by an extra 0x01 block (the decoder accepts either form).
 */
export function cobsEncode(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(cobsMaxEncodedLength(data.length));
  let codeAt = 0;
  let code = 1;
  let o = 1;
  for (let i = 0; i < data.length; i++) {
    const b = data[i];
    if (b === 0) {
      out[codeAt] = code;
      codeAt = o++;
      code = 1;
    } else {
      out[o++] = b;
      code++;
      if (code === 0xff && i !== data.length - 1) {
        out[codeAt] = code;
        codeAt = o++;
        code = 1;
      }
    }
  }
  out[codeAt] = code;
  return out.subarray(0, o);
}

/** Inverse of cobsEncode; null if the input is not valid COBS (a 0x00, or a block past the end). */
export function cobsDecode(data: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(data.length);
  let i = 0;
  let o = 0;
  while (i < data.length) {
    const code = data[i];
    if (code === 0 || i + code > data.length) return null;
    for (let k = 1; k < code; k++) {
      const b = data[i + k];
      if (b === 0) return null;
      out[o++] = b;
    }
    i += code;
    if (code !== 0xff && i < data.length) out[o++] = 0;
  }
  return out.subarray(0, o);
}

// ---- frames ------------------------------------------------------------------------------------

/** The body (header, payload, CRC) of a frame, before COBS. */
export function encodeFrameBody(frame: McuFrame): Uint8Array {
  const { type, seq, flags, payload } = frame;
  for (const [name, v] of [['type', type], ['seq', seq], ['flags', flags]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new FrameError('range', `frame ${name} must be 0..255, got ${v}`);
  }
  if (payload.length > MAX_PAYLOAD) throw new FrameError('long', `payload of ${payload.length} bytes exceeds the ${MAX_PAYLOAD}-byte maximum`);
  const body = new Uint8Array(HEADER_SIZE + payload.length + CRC_SIZE);
  body[0] = type;
  body[1] = seq;
  body[2] = flags;
  body.set(payload, HEADER_SIZE);
  const crc = crc16(body.subarray(0, HEADER_SIZE + payload.length));
  // The CRC is the one big-endian field (§2.2): CRC over the whole body then gives 0 (the residue).
  body[body.length - 2] = crc >> 8;
  body[body.length - 1] = crc & 0xff;
  return body;
}

/** A frame as sent on the wire: 00 COBS(body) 00. */
export function encodeFrame(frame: McuFrame): Uint8Array {
  const encoded = cobsEncode(encodeFrameBody(frame));
  const wire = new Uint8Array(encoded.length + 2);
  wire[0] = DELIMITER;
  wire.set(encoded, 1);
  wire[wire.length - 1] = DELIMITER;
  return wire;
}

/** Decodes a body (COBS already removed); returns the reason instead of throwing (parser hot path). */
export function tryDecodeFrameBody(body: Uint8Array): McuFrame | FrameErrorReason {
  if (body.length < MIN_BODY) return 'short';
  if (body.length > MAX_BODY) return 'long';
  const end = body.length - CRC_SIZE;
  const expected = (body[end] << 8) | body[end + 1];
  if (crc16(body.subarray(0, end)) !== expected) return 'crc';
  return { type: body[0], seq: body[1], flags: body[2], payload: body.slice(HEADER_SIZE, end) };
}

export function decodeFrameBody(body: Uint8Array): McuFrame {
  const result = tryDecodeFrameBody(body);
  if (typeof result === 'string') throw new FrameError(result, frameErrorText(result, body.length));
  return result;
}

/**
 * Decodes one frame given its COBS bytes, with or without the surrounding 0x00 delimiters.
 * Throws FrameError (reason cobs/short/long/crc).
 */
export function decodeFrame(wire: Uint8Array): McuFrame {
  let start = 0;
  let end = wire.length;
  while (start < end && wire[start] === DELIMITER) start++;
  while (end > start && wire[end - 1] === DELIMITER) end--;
  if (end - start > MAX_ENCODED_BODY) throw new FrameError('long', `encoded frame of ${end - start} bytes exceeds ${MAX_ENCODED_BODY}`);
  const body = cobsDecode(wire.subarray(start, end));
  if (!body) throw new FrameError('cobs', 'not valid COBS');
  return decodeFrameBody(body);
}

function frameErrorText(reason: FrameErrorReason, length: number): string {
  switch (reason) {
    case 'short': return `frame body of ${length} bytes is shorter than the ${MIN_BODY}-byte minimum`;
    case 'long': return `frame body of ${length} bytes exceeds the ${MAX_BODY}-byte maximum`;
    case 'crc': return 'frame CRC mismatch';
    default: return `bad frame (${reason})`;
  }
}

/** Lowercase hex with spaces, for logs and test vectors. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** Parses "01 0a ff" / "010aff" into bytes. */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/[\s:]/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(clean)) throw new FrameError('range', `not a hex string: ${hex}`);
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}

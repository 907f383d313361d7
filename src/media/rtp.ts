// RTP data packets, RFC 3550 section 5.1. Network input: every length is checked before it is read,
// and malformed packets throw a MediaError('RTP_MALFORMED'), never anything else.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P|X|  CC   |M|     PT      |       sequence number         |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                           timestamp                           |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |           synchronization source (SSRC) identifier            |
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  |            contributing source (CSRC) identifiers             |
//  |                             ....                              |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
import { MediaError } from './errors.js';

/** Largest datagram accepted or produced (an Ethernet MTU; G.711 20 ms needs 172 bytes). */
export const RTP_MAX_PACKET = 1500;
export const RTP_HEADER_BYTES = 12;

export interface RtpHeaderExtension {
  /** "defined by profile" 16 bits (RFC 3550 5.3.1; 0xBEDE for RFC 8285 one-byte headers). */
  profile: number;
  data: Uint8Array;
}

export interface RtpPacket {
  padding: boolean;
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  extension: RtpHeaderExtension | null;
  payload: Uint8Array;
}

export type RtpPacketInit = Partial<Pick<RtpPacket, 'marker' | 'csrcs' | 'extension'>> &
  Pick<RtpPacket, 'payloadType' | 'sequenceNumber' | 'timestamp' | 'ssrc' | 'payload'> & {
    /** Pad the packet with this many bytes (1..255, RFC 3550 5.1 "P"). */
    paddingBytes?: number;
  };

function malformed(message: string): MediaError {
  return new MediaError('RTP_MALFORMED', message);
}

/**
 * RFC 5761 section 4: on a shared port, a packet whose second byte is 192..223 (RTCP packet types
 * 200-204 collide with RTP PTs 72-76 with the marker set) is RTCP.
 */
export function looksLikeRtcp(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[1] >= 192 && buf[1] <= 223;
}

/** Parses one RTP packet. The payload is a view into `buf` (copy it if `buf` is reused). */
export function parseRtp(buf: Uint8Array): RtpPacket {
  if (!(buf instanceof Uint8Array)) throw malformed('not a byte array');
  if (buf.length > RTP_MAX_PACKET) throw new MediaError('RTP_TOO_LARGE', `RTP packet of ${buf.length} bytes > ${RTP_MAX_PACKET}`);
  if (buf.length < RTP_HEADER_BYTES) throw malformed(`RTP packet of ${buf.length} bytes is shorter than the 12-byte header`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const b0 = buf[0];
  const version = b0 >> 6;
  if (version !== 2) throw malformed(`RTP version ${version}, expected 2`);
  const padding = (b0 & 0x20) !== 0;
  const hasExtension = (b0 & 0x10) !== 0;
  const cc = b0 & 0x0f;
  const b1 = buf[1];
  let offset = RTP_HEADER_BYTES;
  if (buf.length < offset + cc * 4) throw malformed(`CSRC count ${cc} runs past the end`);
  const csrcs: number[] = [];
  for (let i = 0; i < cc; i++, offset += 4) csrcs.push(view.getUint32(offset));
  let extension: RtpHeaderExtension | null = null;
  if (hasExtension) {
    // RFC 3550 5.3.1: 16-bit profile, 16-bit length in 32-bit words excluding this 4-byte header.
    if (buf.length < offset + 4) throw malformed('header extension runs past the end');
    const profile = view.getUint16(offset);
    const words = view.getUint16(offset + 2);
    offset += 4;
    if (buf.length < offset + words * 4) throw malformed(`header extension of ${words} words runs past the end`);
    extension = { profile, data: buf.subarray(offset, offset + words * 4) };
    offset += words * 4;
  }
  let end = buf.length;
  if (padding) {
    // RFC 3550 5.1: the last octet of the padding counts how many padding octets to ignore, itself included.
    const count = buf[buf.length - 1];
    if (count === 0) throw malformed('padding count of 0');
    if (end - count < offset) throw malformed(`padding of ${count} bytes overlaps the header`);
    end -= count;
  }
  return {
    padding,
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
    csrcs,
    extension,
    payload: buf.subarray(offset, end),
  };
}

function checkUint(name: string, value: number, bits: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 2 ** bits - 1) {
    throw malformed(`${name} ${value} is not a ${bits}-bit unsigned integer`);
  }
}

export function serializeRtp(p: RtpPacketInit): Uint8Array {
  const csrcs = p.csrcs ?? [];
  if (csrcs.length > 15) throw malformed(`${csrcs.length} CSRCs > 15`);
  checkUint('payload type', p.payloadType, 7);
  checkUint('sequence number', p.sequenceNumber, 16);
  checkUint('timestamp', p.timestamp, 32);
  checkUint('SSRC', p.ssrc, 32);
  for (const c of csrcs) checkUint('CSRC', c, 32);
  const ext = p.extension ?? null;
  if (ext) {
    checkUint('extension profile', ext.profile, 16);
    if (ext.data.length % 4 !== 0 || ext.data.length / 4 > 0xffff) throw malformed('extension data must be whole 32-bit words');
  }
  const pad = p.paddingBytes ?? 0;
  if (pad !== 0) checkUint('padding', pad, 8);
  const size = RTP_HEADER_BYTES + csrcs.length * 4 + (ext ? 4 + ext.data.length : 0) + p.payload.length + pad;
  if (size > RTP_MAX_PACKET) throw new MediaError('RTP_TOO_LARGE', `RTP packet of ${size} bytes > ${RTP_MAX_PACKET}`);
  const buf = new Uint8Array(size);
  const view = new DataView(buf.buffer);
  buf[0] = 0x80 | (pad ? 0x20 : 0) | (ext ? 0x10 : 0) | csrcs.length;
  buf[1] = (p.marker ? 0x80 : 0) | p.payloadType;
  view.setUint16(2, p.sequenceNumber);
  view.setUint32(4, p.timestamp);
  view.setUint32(8, p.ssrc);
  let offset = RTP_HEADER_BYTES;
  for (const c of csrcs) {
    view.setUint32(offset, c);
    offset += 4;
  }
  if (ext) {
    view.setUint16(offset, ext.profile);
    view.setUint16(offset + 2, ext.data.length / 4);
    buf.set(ext.data, offset + 4);
    offset += 4 + ext.data.length;
  }
  buf.set(p.payload, offset);
  offset += p.payload.length;
  if (pad) buf[offset + pad - 1] = pad;
  return buf;
}

/**
 * Extends 16-bit sequence numbers (or, with bits = 32, RTP timestamps) to a monotonic-ish number line
 * by picking, for each new value, the candidate closest to the last extended value (RFC 3550 A.1
 * keeps a cycle count the same way). Reordered packets map to values below the maximum.
 */
export class Unwrapper {
  #last: number | null = null;
  readonly #modulus: number;
  constructor(bits: 16 | 32 = 16) {
    this.#modulus = 2 ** bits;
  }
  unwrap(value: number): number {
    const m = this.#modulus;
    if (this.#last === null) {
      // Start a few cycles up, so reordered packets before the first one stay positive.
      this.#last = m + value;
      return this.#last;
    }
    const lastLow = ((this.#last % m) + m) % m;
    let delta = value - lastLow;
    if (delta > m / 2) delta -= m;
    else if (delta < -m / 2) delta += m;
    this.#last += delta;
    return this.#last;
  }
  reset(): void {
    this.#last = null;
  }
}

/** Signed distance a - b between two 16-bit sequence numbers (RFC 1982 serial arithmetic). */
export function seqDelta(a: number, b: number): number {
  const d = (a - b) & 0xffff;
  return d >= 0x8000 ? d - 0x10000 : d;
}

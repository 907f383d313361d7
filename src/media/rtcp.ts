// RTCP, RFC 3550 section 6: sender reports (6.4.1), receiver reports (6.4.2), SDES CNAME (6.5.1),
// BYE (6.6), compound packets (6.1), and the receive statistics behind report blocks (A.1, A.3, A.8).
// Parsing is for network input: lengths are checked before reads, and anything malformed throws a
// MediaError('RTCP_MALFORMED'), never anything else.
import { MediaError } from './errors.js';

export const RTCP_MAX_PACKET = 1500;
export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
const SDES_CNAME = 1;
/** Seconds from 1900-01-01 (NTP era 0) to 1970-01-01. */
const NTP_UNIX_OFFSET = 2208988800;

export interface ReportBlock {
  ssrc: number;
  /** Fraction lost since the previous report, as the 8-bit fixed point value (x/256). */
  fractionLost: number;
  /** Cumulative packets lost, 24-bit signed (duplicates can make it negative). */
  cumulativeLost: number;
  extendedHighestSeq: number;
  /** Interarrival jitter, timestamp units. */
  jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last SR received from this source (0: none). */
  lastSr: number;
  /** Delay since that SR, 1/65536 s. */
  delaySinceLastSr: number;
}

export interface SenderInfo {
  ntpSeconds: number;
  ntpFraction: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
}

export type RtcpPacket =
  | { type: 'sr'; ssrc: number; sender: SenderInfo; reports: ReportBlock[] }
  | { type: 'rr'; ssrc: number; reports: ReportBlock[] }
  | { type: 'sdes'; chunks: Array<{ ssrc: number; cname: string | null }> }
  | { type: 'bye'; ssrcs: number[]; reason: string | null }
  | { type: 'other'; packetType: number };

function malformed(message: string): MediaError {
  return new MediaError('RTCP_MALFORMED', message);
}

/** Wall-clock ms (Unix epoch) to a 64-bit NTP timestamp (RFC 3550 4). */
export function ntpFromUnixMs(ms: number): { seconds: number; fraction: number } {
  const seconds = Math.floor(ms / 1000);
  const fraction = Math.floor(((ms - seconds * 1000) / 1000) * 2 ** 32);
  return { seconds: (seconds + NTP_UNIX_OFFSET) >>> 0, fraction: fraction >>> 0 };
}

/** The middle 32 bits of an NTP timestamp (used in LSR, 6.4.1), in 1/65536 s. */
export function ntpMiddle(seconds: number, fraction: number): number {
  return (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0;
}

// ---- serialisation ----

class Writer {
  readonly parts: Uint8Array[] = [];
  packet(count: number, packetType: number, body: Uint8Array): void {
    // 6.4.1: length in 32-bit words minus one, header included.
    const padded = Math.ceil(body.length / 4) * 4;
    const buf = new Uint8Array(4 + padded);
    buf[0] = 0x80 | count;
    buf[1] = packetType;
    new DataView(buf.buffer).setUint16(2, (4 + padded) / 4 - 1);
    buf.set(body, 4);
    this.parts.push(buf);
  }
  bytes(): Uint8Array {
    const total = this.parts.reduce((n, p) => n + p.length, 0);
    if (total > RTCP_MAX_PACKET) throw new MediaError('RTCP_TOO_LARGE', `RTCP compound packet of ${total} bytes`);
    const out = new Uint8Array(total);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

function writeReportBlock(view: DataView, o: number, r: ReportBlock): void {
  view.setUint32(o, r.ssrc >>> 0);
  // 24-bit signed cumulative lost, clamped (6.4.1).
  const cum = Math.max(-0x800000, Math.min(0x7fffff, r.cumulativeLost)) & 0xffffff;
  view.setUint32(o + 4, ((r.fractionLost & 0xff) << 24 | cum) >>> 0);
  view.setUint32(o + 8, r.extendedHighestSeq >>> 0);
  view.setUint32(o + 12, Math.min(0xffffffff, Math.max(0, Math.floor(r.jitter))) >>> 0);
  view.setUint32(o + 16, r.lastSr >>> 0);
  view.setUint32(o + 20, r.delaySinceLastSr >>> 0);
}

function reportBody(prefixBytes: number, reports: ReportBlock[]): { body: Uint8Array; view: DataView; offset: number } {
  if (reports.length > 31) throw malformed(`${reports.length} report blocks > 31`);
  const body = new Uint8Array(prefixBytes + reports.length * 24);
  const view = new DataView(body.buffer);
  let o = prefixBytes;
  for (const r of reports) {
    writeReportBlock(view, o, r);
    o += 24;
  }
  return { body, view, offset: prefixBytes };
}

/**
 * A compound packet (6.1): SR (when `sender` is given) or RR first, then SDES with the CNAME, then an
 * optional BYE.
 */
export function buildRtcpCompound(o: { ssrc: number; sender?: SenderInfo; reports?: ReportBlock[]; cname: string; bye?: { reason?: string } }): Uint8Array {
  const w = new Writer();
  const reports = o.reports ?? [];
  if (o.sender) {
    const { body, view } = reportBody(24, reports);
    view.setUint32(0, o.ssrc >>> 0);
    view.setUint32(4, o.sender.ntpSeconds >>> 0);
    view.setUint32(8, o.sender.ntpFraction >>> 0);
    view.setUint32(12, o.sender.rtpTimestamp >>> 0);
    view.setUint32(16, o.sender.packetCount >>> 0);
    view.setUint32(20, o.sender.octetCount >>> 0);
    w.packet(reports.length, RTCP_SR, body);
  } else {
    const { body, view } = reportBody(4, reports);
    view.setUint32(0, o.ssrc >>> 0);
    w.packet(reports.length, RTCP_RR, body);
  }
  // 6.5: chunk = SSRC, items (type, length, text), a null item, padded to 32 bits.
  const cname = new TextEncoder().encode(o.cname).subarray(0, 255);
  const chunkLen = Math.ceil((4 + 2 + cname.length + 1) / 4) * 4;
  const sdes = new Uint8Array(chunkLen);
  new DataView(sdes.buffer).setUint32(0, o.ssrc >>> 0);
  sdes[4] = SDES_CNAME;
  sdes[5] = cname.length;
  sdes.set(cname, 6);
  w.packet(1, RTCP_SDES, sdes);
  if (o.bye) {
    const reason = new TextEncoder().encode(o.bye.reason ?? '').subarray(0, 255);
    const bye = new Uint8Array(4 + (reason.length ? 1 + reason.length : 0));
    new DataView(bye.buffer).setUint32(0, o.ssrc >>> 0);
    if (reason.length) {
      bye[4] = reason.length;
      bye.set(reason, 5);
    }
    w.packet(1, RTCP_BYE, bye);
  }
  return w.bytes();
}

// ---- parsing ----

function readReportBlocks(view: DataView, o: number, count: number, end: number): ReportBlock[] {
  if (o + count * 24 > end) throw malformed(`${count} report blocks run past the packet`);
  const out: ReportBlock[] = [];
  for (let i = 0; i < count; i++, o += 24) {
    const word = view.getUint32(o + 4);
    let cum = word & 0xffffff;
    if (cum & 0x800000) cum -= 0x1000000;
    out.push({
      ssrc: view.getUint32(o),
      fractionLost: word >>> 24,
      cumulativeLost: cum,
      extendedHighestSeq: view.getUint32(o + 8),
      jitter: view.getUint32(o + 12),
      lastSr: view.getUint32(o + 16),
      delaySinceLastSr: view.getUint32(o + 20),
    });
  }
  return out;
}

/**
 * Parses a compound RTCP packet, with the validity checks of RFC 3550 A.2: version 2, the first
 * packet SR or RR without padding, padding only in the last packet, lengths adding up exactly.
 */
export function parseRtcp(buf: Uint8Array): RtcpPacket[] {
  if (!(buf instanceof Uint8Array)) throw malformed('not a byte array');
  if (buf.length > RTCP_MAX_PACKET) throw new MediaError('RTCP_TOO_LARGE', `RTCP packet of ${buf.length} bytes > ${RTCP_MAX_PACKET}`);
  if (buf.length < 4) throw malformed('shorter than an RTCP header');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: RtcpPacket[] = [];
  let o = 0;
  while (o < buf.length) {
    if (buf.length - o < 4) throw malformed('trailing bytes after the last packet');
    const b0 = buf[o];
    if (b0 >> 6 !== 2) throw malformed(`RTCP version ${b0 >> 6}, expected 2`);
    const padding = (b0 & 0x20) !== 0;
    const count = b0 & 0x1f;
    const pt = buf[o + 1];
    const len = (view.getUint16(o + 2) + 1) * 4;
    const end = o + len;
    if (end > buf.length) throw malformed(`packet length ${len} runs past the datagram`);
    if (o === 0 && pt !== RTCP_SR && pt !== RTCP_RR) throw malformed(`compound packet starts with type ${pt}, not SR/RR`);
    let bodyEnd = end;
    if (padding) {
      if (end !== buf.length) throw malformed('padding in a packet that is not the last');
      const pad = buf[end - 1];
      if (pad === 0 || pad > len - 4) throw malformed(`bad padding count ${pad}`);
      bodyEnd = end - pad;
    }
    const p = o + 4;
    switch (pt) {
      case RTCP_SR: {
        if (p + 24 > bodyEnd) throw malformed('SR shorter than its sender info');
        out.push({
          type: 'sr',
          ssrc: view.getUint32(p),
          sender: {
            ntpSeconds: view.getUint32(p + 4),
            ntpFraction: view.getUint32(p + 8),
            rtpTimestamp: view.getUint32(p + 12),
            packetCount: view.getUint32(p + 16),
            octetCount: view.getUint32(p + 20),
          },
          reports: readReportBlocks(view, p + 24, count, bodyEnd),
        });
        break;
      }
      case RTCP_RR: {
        if (p + 4 > bodyEnd) throw malformed('RR shorter than its SSRC');
        out.push({ type: 'rr', ssrc: view.getUint32(p), reports: readReportBlocks(view, p + 4, count, bodyEnd) });
        break;
      }
      case RTCP_SDES: {
        const chunks: Array<{ ssrc: number; cname: string | null }> = [];
        let c = p;
        for (let i = 0; i < count; i++) {
          if (c + 4 > bodyEnd) throw malformed('SDES chunk runs past the packet');
          const ssrc = view.getUint32(c);
          c += 4;
          let cname: string | null = null;
          // Items until a null octet, then padding to the next 32-bit boundary (6.5).
          for (;;) {
            if (c >= bodyEnd) throw malformed('SDES items run past the packet');
            const type = buf[c];
            if (type === 0) break;
            if (c + 2 > bodyEnd) throw malformed('SDES item header runs past the packet');
            const itemLen = buf[c + 1];
            if (c + 2 + itemLen > bodyEnd) throw malformed('SDES item runs past the packet');
            if (type === SDES_CNAME) cname = new TextDecoder('utf-8', { fatal: false }).decode(buf.subarray(c + 2, c + 2 + itemLen));
            c += 2 + itemLen;
          }
          c = o + Math.ceil((c + 1 - o) / 4) * 4;
          chunks.push({ ssrc, cname });
        }
        out.push({ type: 'sdes', chunks });
        break;
      }
      case RTCP_BYE: {
        if (p + count * 4 > bodyEnd) throw malformed('BYE SSRC list runs past the packet');
        const ssrcs: number[] = [];
        for (let i = 0; i < count; i++) ssrcs.push(view.getUint32(p + i * 4));
        let reason: string | null = null;
        const r = p + count * 4;
        if (r < bodyEnd) {
          const rl = buf[r];
          if (r + 1 + rl > bodyEnd) throw malformed('BYE reason runs past the packet');
          reason = new TextDecoder('utf-8', { fatal: false }).decode(buf.subarray(r + 1, r + 1 + rl));
        }
        out.push({ type: 'bye', ssrcs, reason });
        break;
      }
      default:
        out.push({ type: 'other', packetType: pt });
    }
    o = end;
  }
  return out;
}

// ---- statistics ----

const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
const MIN_SEQUENTIAL = 2;
const RTP_SEQ_MOD = 1 << 16;

/**
 * Receive statistics of one source (RFC 3550 A.1 sequence validation, A.3 loss, A.8 jitter), and the
 * LSR/DLSR bookkeeping for report blocks. Times are the caller's: `arrivalMs` monotonic ms.
 */
export class ReceiveStats {
  readonly ssrc: number;
  readonly #clockRate: number;
  #maxSeq = 0;
  #cycles = 0;
  #baseSeq = 0;
  #badSeq = RTP_SEQ_MOD + 1;
  #probation = MIN_SEQUENTIAL;
  #received = 0;
  #expectedPrior = 0;
  #receivedPrior = 0;
  #transit: number | null = null;
  #jitter = 0;
  #lastSr: { middle: number; atMs: number } | null = null;

  constructor(ssrc: number, seq: number, options: { clockRate?: number } = {}) {
    this.ssrc = ssrc;
    this.#clockRate = options.clockRate ?? 8000;
    this.#initSeq(seq);
    this.#maxSeq = seq - 1;
    this.#probation = MIN_SEQUENTIAL;
  }

  #initSeq(seq: number): void {
    this.#baseSeq = seq;
    this.#maxSeq = seq;
    this.#badSeq = RTP_SEQ_MOD + 1;
    this.#cycles = 0;
    this.#received = 0;
    this.#receivedPrior = 0;
    this.#expectedPrior = 0;
  }

  /** A.1 update_seq, then A.8 jitter. Returns false for a packet judged invalid (probation, big jump). */
  update(seq: number, rtpTimestamp: number, arrivalMs: number): boolean {
    const udelta = (seq - this.#maxSeq + RTP_SEQ_MOD) % RTP_SEQ_MOD;
    if (this.#probation) {
      if (seq === (this.#maxSeq + 1) % RTP_SEQ_MOD) {
        this.#probation--;
        this.#maxSeq = seq;
        if (this.#probation === 0) {
          this.#initSeq(seq);
          this.#received++;
          this.#jitterUpdate(rtpTimestamp, arrivalMs);
          return true;
        }
      } else {
        this.#probation = MIN_SEQUENTIAL - 1;
        this.#maxSeq = seq;
      }
      return false;
    } else if (udelta < MAX_DROPOUT) {
      if (seq < this.#maxSeq) this.#cycles += RTP_SEQ_MOD; // wrapped
      this.#maxSeq = seq;
    } else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
      // A very large jump: two sequential packets resync (the other side restarted).
      if (seq === this.#badSeq) {
        this.#initSeq(seq);
      } else {
        this.#badSeq = (seq + 1) & (RTP_SEQ_MOD - 1);
        return false;
      }
    }
    // else: duplicate or reordered packet, counted as received.
    this.#received++;
    this.#jitterUpdate(rtpTimestamp, arrivalMs);
    return true;
  }

  #jitterUpdate(rtpTimestamp: number, arrivalMs: number): void {
    // A.8: transit in timestamp units; J += (|D| - J)/16.
    const arrival = (arrivalMs * this.#clockRate) / 1000;
    const transit = arrival - rtpTimestamp;
    if (this.#transit !== null) {
      let d = transit - this.#transit;
      // RTP timestamps wrap at 2^32: bring d back near zero.
      d = ((d % 2 ** 32) + 2 ** 32 + 2 ** 31) % 2 ** 32 - 2 ** 31;
      this.#jitter += (Math.abs(d) - this.#jitter) / 16;
    }
    this.#transit = transit;
  }

  /** Notes a received SR from this source (for LSR/DLSR). */
  onSenderReport(sender: SenderInfo, arrivalMs: number): void {
    this.#lastSr = { middle: ntpMiddle(sender.ntpSeconds, sender.ntpFraction), atMs: arrivalMs };
  }

  get extendedHighestSeq(): number {
    return (this.#cycles + this.#maxSeq) >>> 0;
  }
  get received(): number {
    return this.#received;
  }
  get expected(): number {
    return this.#cycles + this.#maxSeq - this.#baseSeq + 1;
  }
  /** A.3: expected - received (negative with duplicates). */
  get cumulativeLost(): number {
    return this.#received === 0 ? 0 : this.expected - this.#received;
  }
  get jitter(): number {
    return this.#jitter;
  }
  get jitterMs(): number {
    return (this.#jitter * 1000) / this.#clockRate;
  }

  /** A report block about this source; advances the "prior" counters for the next fraction. */
  reportBlock(nowMs: number): ReportBlock {
    const expected = this.#received === 0 ? 0 : this.expected;
    const expectedInterval = expected - this.#expectedPrior;
    this.#expectedPrior = expected;
    const receivedInterval = this.#received - this.#receivedPrior;
    this.#receivedPrior = this.#received;
    const lostInterval = expectedInterval - receivedInterval;
    const fractionLost = expectedInterval === 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval << 8) / expectedInterval);
    const dlsr = this.#lastSr ? Math.round(((nowMs - this.#lastSr.atMs) / 1000) * 65536) >>> 0 : 0;
    return {
      ssrc: this.ssrc,
      fractionLost: Math.min(255, fractionLost),
      cumulativeLost: this.cumulativeLost,
      extendedHighestSeq: this.extendedHighestSeq,
      jitter: Math.floor(this.#jitter),
      lastSr: this.#lastSr?.middle ?? 0,
      delaySinceLastSr: dlsr,
    };
  }
}

/**
 * Round-trip time from a report block about our stream (6.4.1): A - LSR - DLSR, where A is the
 * middle 32 bits of the NTP time the report arrived. Null when the peer has not seen an SR of ours.
 */
export function roundTripMs(block: ReportBlock, arrivalWallMs: number): number | null {
  if (block.lastSr === 0) return null;
  const a = ntpFromUnixMs(arrivalWallMs);
  const rtt = (ntpMiddle(a.seconds, a.fraction) - block.lastSr - block.delaySinceLastSr) >>> 0;
  // A negative difference (clock skew) wraps to a huge value: treat > 1 hour as invalid.
  if (rtt > 3600 * 65536) return null;
  return (rtt / 65536) * 1000;
}

// A small reader for the classic libpcap files tcpdump writes (-w), enough for the benchmarks:
// IPv4/UDP datagrams with their capture timestamps, from Ethernet (lo on Linux), Linux cooked
// (SLL/SLL2, `-i any`) or BSD loopback link layers. Fragments and IPv6 are skipped.
//
// File header (24 bytes): magic 0xa1b2c3d4 (µs timestamps) or 0xa1b23c4d (ns), in the writer's
// byte order; version; thiszone; sigfigs; snaplen; linktype. Each record: ts_sec, ts_frac,
// incl_len, orig_len (16 bytes), then incl_len bytes of the frame.

export interface UdpPacket {
  /** capture time in ms (float, epoch-based; ns or µs resolution as the file has it) */
  timeMs: number;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  payload: Buffer;
  /** the datagram was cut by the snap length */
  truncated: boolean;
}

const LINKTYPE_NULL = 0;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_LINUX_SLL2 = 276;

/** Every IPv4/UDP datagram in a pcap file, in file order. */
export function readPcapUdp(file: Buffer): UdpPacket[] {
  if (file.length < 24) throw new Error('pcap: file shorter than its header');
  const magicLE = file.readUInt32LE(0);
  let le: boolean;
  let nano: boolean;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) {
    le = true;
    nano = magicLE === 0xa1b23c4d;
  } else {
    const magicBE = file.readUInt32BE(0);
    if (magicBE !== 0xa1b2c3d4 && magicBE !== 0xa1b23c4d) throw new Error(`pcap: unknown magic 0x${magicLE.toString(16)} (pcapng is not supported)`);
    le = false;
    nano = magicBE === 0xa1b23c4d;
  }
  const u32 = (at: number) => (le ? file.readUInt32LE(at) : file.readUInt32BE(at));
  const linktype = u32(20) & 0x0fffffff;
  const packets: UdpPacket[] = [];
  let at = 24;
  while (at + 16 <= file.length) {
    const sec = u32(at);
    const frac = u32(at + 4);
    const incl = u32(at + 8);
    const orig = u32(at + 12);
    at += 16;
    if (at + incl > file.length) break; // a record cut off by a killed writer
    const frame = file.subarray(at, at + incl);
    at += incl;
    const ipAt = ipOffset(frame, linktype);
    if (ipAt < 0) continue;
    const timeMs = sec * 1000 + (nano ? frac / 1e6 : frac / 1e3);
    const udp = parseIpv4Udp(frame, ipAt, timeMs, incl < orig);
    if (udp) packets.push(udp);
  }
  return packets;
}

/** Offset of the IPv4 header in a frame, or -1 when the frame is not IPv4. */
function ipOffset(frame: Buffer, linktype: number): number {
  switch (linktype) {
    case LINKTYPE_ETHERNET: {
      if (frame.length < 14) return -1;
      let type = frame.readUInt16BE(12);
      let at = 14;
      if (type === 0x8100 && frame.length >= 18) {
        type = frame.readUInt16BE(16); // one VLAN tag
        at = 18;
      }
      return type === 0x0800 ? at : -1;
    }
    case LINKTYPE_LINUX_SLL:
      return frame.length >= 16 && frame.readUInt16BE(14) === 0x0800 ? 16 : -1;
    case LINKTYPE_LINUX_SLL2:
      return frame.length >= 20 && frame.readUInt16BE(0) === 0x0800 ? 20 : -1;
    case LINKTYPE_NULL: {
      if (frame.length < 4) return -1;
      const family = frame.readUInt32LE(0) === 2 || frame.readUInt32BE(0) === 2;
      return family ? 4 : -1;
    }
    case LINKTYPE_RAW:
      return frame.length > 0 && frame[0] >> 4 === 4 ? 0 : -1;
    default:
      throw new Error(`pcap: link type ${linktype} is not supported`);
  }
}

function parseIpv4Udp(frame: Buffer, at: number, timeMs: number, truncated: boolean): UdpPacket | null {
  if (frame.length < at + 20 || frame[at] >> 4 !== 4) return null;
  const ihl = (frame[at] & 0x0f) * 4;
  const totalLength = frame.readUInt16BE(at + 2);
  const fragment = frame.readUInt16BE(at + 6);
  if ((fragment & 0x1fff) !== 0 || (fragment & 0x2000) !== 0) return null; // fragments: not needed here
  if (frame[at + 9] !== 17) return null;
  const u = at + ihl;
  if (frame.length < u + 8) return null;
  const udpLength = frame.readUInt16BE(u + 4);
  const end = Math.min(frame.length, u + Math.max(8, udpLength), at + totalLength);
  return {
    timeMs,
    src: `${frame[at + 12]}.${frame[at + 13]}.${frame[at + 14]}.${frame[at + 15]}`,
    dst: `${frame[at + 16]}.${frame[at + 17]}.${frame[at + 18]}.${frame[at + 19]}`,
    srcPort: frame.readUInt16BE(u),
    dstPort: frame.readUInt16BE(u + 2),
    payload: frame.subarray(u + 8, end),
    truncated: truncated || end < u + udpLength,
  };
}

// ---- SIP and RTP over the captured datagrams -----------------------------------------------------

export interface SipPacket {
  timeMs: number;
  srcPort: number;
  dstPort: number;
  /** request method, or null for a response */
  method: string | null;
  /** response status, or null for a request */
  status: number | null;
  callId: string;
  cseqMethod: string;
  /** the body (e.g. SDP), as text */
  body: string;
}

const COMPACT: Record<string, string> = { i: 'call-id' };

/** A datagram as a SIP message (first line, Call-ID, CSeq method, body), or null if it is none. */
export function parseSipPacket(p: UdpPacket): SipPacket | null {
  const text = p.payload.toString('latin1');
  const first = /^(?:SIP\/2\.0 (\d{3}) [^\r\n]*|([A-Z]+) \S+ SIP\/2\.0)\r?\n/.exec(text);
  if (!first) return null;
  const headEnd = text.search(/\r?\n\r?\n/);
  const head = headEnd >= 0 ? text.slice(0, headEnd) : text;
  let callId = '';
  let cseqMethod = '';
  for (const line of head.split(/\r?\n/).slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const raw = line.slice(0, colon).trim().toLowerCase();
    const name = COMPACT[raw] ?? raw;
    const value = line.slice(colon + 1).trim();
    if (name === 'call-id') callId = value;
    else if (name === 'cseq') cseqMethod = value.split(/\s+/)[1] ?? '';
  }
  if (!callId) return null;
  return {
    timeMs: p.timeMs,
    srcPort: p.srcPort,
    dstPort: p.dstPort,
    method: first[2] ?? null,
    status: first[1] ? Number(first[1]) : null,
    callId,
    cseqMethod,
    body: headEnd >= 0 ? text.slice(headEnd).replace(/^\r?\n\r?\n/, '') : '',
  };
}

/** The audio port of an SDP body (first m=audio line), or null. */
export function sdpAudioPort(body: string): number | null {
  const m = /^m=audio (\d+) /m.exec(body);
  return m ? Number(m[1]) : null;
}

/** Whether a datagram looks like RTP (version 2, not RTCP's payload types 72..76 with the marker). */
export function isRtp(payload: Buffer): boolean {
  if (payload.length < 12 || payload[0] >> 6 !== 2) return false;
  const pt = payload[1] & 0x7f;
  return !(pt >= 72 && pt <= 76);
}

export interface CallTimes {
  callId: string;
  invite: number;
  /** first 180 from the callee, if any */
  ringing?: number;
  /** first 2xx to the INVITE */
  answered?: number;
  /** first BYE (either direction) */
  bye?: number;
  /** the callee's first 2xx to a BYE */
  byeAnswered?: number;
  /** the callee's RTP port from its answer SDP */
  calleeRtpPort?: number;
}

/**
 * Per Call-ID: the first INVITE sent to the callee's SIP port, the callee's first 180 and 2xx
 * (retransmissions ignored: first occurrence counts), the first BYE, and the callee's RTP port.
 */
export function callTimes(packets: UdpPacket[], calleeSipPort: number): CallTimes[] {
  const calls = new Map<string, CallTimes>();
  for (const p of packets) {
    if (p.srcPort !== calleeSipPort && p.dstPort !== calleeSipPort) continue;
    const sip = parseSipPacket(p);
    if (!sip) continue;
    if (sip.method === 'INVITE' && sip.dstPort === calleeSipPort) {
      if (!calls.has(sip.callId)) calls.set(sip.callId, { callId: sip.callId, invite: sip.timeMs });
      continue;
    }
    const call = calls.get(sip.callId);
    if (!call) continue;
    if (sip.status !== null && sip.cseqMethod === 'INVITE' && sip.srcPort === calleeSipPort) {
      if (sip.status === 180 && call.ringing === undefined) call.ringing = sip.timeMs;
      if (sip.status >= 200 && sip.status < 300 && call.answered === undefined) {
        call.answered = sip.timeMs;
        call.calleeRtpPort = sdpAudioPort(sip.body) ?? undefined;
      }
    } else if (sip.status !== null && sip.cseqMethod === 'BYE' && sip.srcPort === calleeSipPort) {
      if (sip.status >= 200 && sip.status < 300 && call.byeAnswered === undefined) call.byeAnswered = sip.timeMs;
    } else if (sip.method === 'BYE' && call.bye === undefined) {
      call.bye = sip.timeMs;
    }
  }
  return [...calls.values()];
}

/**
 * Intervals (ms) between consecutive RTP packets each call's callee sent from its RTP port (from
 * its answer SDP), counted from the 2xx to the BYE (+200 ms) of that call, so a port reused by a
 * later call starts a new stream instead of showing the pause between calls as a gap.
 */
export function rtpSendIntervals(packets: UdpPacket[], calls: CallTimes[]): { intervals: number[]; packets: number; flows: number } {
  const byPort = new Map<number, CallTimes[]>();
  for (const c of calls) {
    if (c.calleeRtpPort === undefined || c.answered === undefined) continue;
    const list = byPort.get(c.calleeRtpPort) ?? [];
    list.push(c);
    byPort.set(c.calleeRtpPort, list);
  }
  const last = new Map<string, number>();
  const intervals: number[] = [];
  let count = 0;
  for (const p of packets) {
    const candidates = byPort.get(p.srcPort);
    if (!candidates || !isRtp(p.payload)) continue;
    const call = candidates.find((c) => p.timeMs >= c.answered! - 50 && p.timeMs <= (c.bye ?? Infinity) + 200);
    if (!call) continue;
    count++;
    const flow = `${call.callId} ${p.dst}:${p.dstPort}`;
    const prev = last.get(flow);
    if (prev !== undefined) intervals.push(p.timeMs - prev);
    last.set(flow, p.timeMs);
  }
  return { intervals, packets: count, flows: last.size };
}

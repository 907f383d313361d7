// Crafted RTP captures for sipp's play_pcap_audio (DESIGN.md "Test peers": this machine has no
// netem, so jitter, loss and reordering are whatever the pcap says).
//
// sipp 3.6 (prepare_pcap.c) reads libpcap files of link type Ethernet (DLT_EN10MB) or Linux
// cooked (DLT_LINUX_SLL) only, takes IPv4/IPv6 UDP packets, and sends each UDP payload from its
// media port to the far end's media port (destination port offsets relative to the lowest one in
// the file are kept). It replays packets in file order, each after the gap between its pcap
// timestamp and the previous one's (a packet stamped before its predecessor leaves with it), so
// the file holds the packets in send order with their send times. The RTP headers are sent as
// they are: sequence numbers and timestamps stay those of the original 20 ms stream.

import { seededRandom } from './random.js';

/** libpcap link type for Ethernet (the only one besides Linux cooked that sipp replays). */
export const LINKTYPE_ETHERNET = 1;

export interface PcapRecord {
  /** capture time, microseconds since the epoch */
  timeUs: number;
  /** link-layer frame */
  data: Buffer;
}

/** A classic libpcap file (microsecond timestamps, little endian). */
export function pcapFile(records: readonly PcapRecord[], linkType = LINKTYPE_ETHERNET): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0); // magic: microsecond resolution
  header.writeUInt16LE(2, 4); // version 2.4
  header.writeUInt16LE(4, 6);
  header.writeInt32LE(0, 8); // thiszone
  header.writeUInt32LE(0, 12); // sigfigs
  header.writeUInt32LE(65535, 16); // snaplen
  header.writeUInt32LE(linkType, 20);
  const parts: Buffer[] = [header];
  for (const r of records) {
    const h = Buffer.alloc(16);
    const sec = Math.floor(r.timeUs / 1e6);
    h.writeUInt32LE(sec, 0);
    h.writeUInt32LE(Math.round(r.timeUs - sec * 1e6), 4);
    h.writeUInt32LE(r.data.length, 8); // captured length = original length (sipp refuses truncated packets)
    h.writeUInt32LE(r.data.length, 12);
    parts.push(h, r.data);
  }
  return Buffer.concat(parts);
}

/** Parses a classic little-endian microsecond libpcap file (what pcapFile writes). */
export function parsePcap(buf: Buffer): { linkType: number; records: PcapRecord[] } {
  if (buf.length < 24 || buf.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error('not a little-endian microsecond pcap file');
  const linkType = buf.readUInt32LE(20);
  const records: PcapRecord[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const sec = buf.readUInt32LE(off);
    const usec = buf.readUInt32LE(off + 4);
    const caplen = buf.readUInt32LE(off + 8);
    if (off + 16 + caplen > buf.length) throw new Error(`pcap record at ${off} runs past the end`);
    records.push({ timeUs: sec * 1e6 + usec, data: buf.subarray(off + 16, off + 16 + caplen) });
    off += 16 + caplen;
  }
  return { linkType, records };
}

/** RFC 1071 one's complement sum of 16-bit words. */
function onesSum(buf: Buffer, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2) sum += buf[buf.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

function ipv4Bytes(address: string): Buffer {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${address}`);
  return Buffer.from(parts);
}

export interface UdpDatagram {
  src?: string;
  dst?: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

/** An Ethernet II / IPv4 / UDP frame carrying the payload, with valid IP and UDP checksums. */
export function ethernetUdpFrame(d: UdpDatagram, ipId = 0): Buffer {
  const src = ipv4Bytes(d.src ?? '127.0.0.1');
  const dst = ipv4Bytes(d.dst ?? '127.0.0.1');
  const eth = Buffer.from([0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00]); // dst MAC, src MAC, IPv4
  const udpLen = 8 + d.payload.length;
  const ip = Buffer.alloc(20);
  ip[0] = 0x45; // version 4, IHL 5
  ip.writeUInt16BE(20 + udpLen, 2);
  ip.writeUInt16BE(ipId & 0xffff, 4);
  ip.writeUInt16BE(0x4000, 6); // don't fragment
  ip[8] = 64; // TTL
  ip[9] = 17; // UDP
  src.copy(ip, 12);
  dst.copy(ip, 16);
  ip.writeUInt16BE(~onesSum(ip) & 0xffff, 10);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(d.srcPort, 0);
  udp.writeUInt16BE(d.dstPort, 2);
  udp.writeUInt16BE(udpLen, 4);
  const payload = Buffer.from(d.payload);
  const pseudo = Buffer.concat([src, dst, Buffer.from([0, 17]), Buffer.from([udpLen >> 8, udpLen & 0xff])]);
  const sum = ~onesSum(Buffer.concat([udp, payload]), onesSum(pseudo)) & 0xffff;
  udp.writeUInt16BE(sum === 0 ? 0xffff : sum, 6);
  return Buffer.concat([eth, ip, udp, payload]);
}

export interface RtpHeader {
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  marker?: boolean;
}

/** An RTP packet (RFC 3550 5.1: version 2, no padding, extension or CSRCs). */
export function rtpPacket(h: RtpHeader, payload: Uint8Array): Buffer {
  const b = Buffer.alloc(12 + payload.length);
  b[0] = 0x80;
  b[1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
  b.writeUInt16BE(h.sequenceNumber & 0xffff, 2);
  b.writeUInt32BE(h.timestamp >>> 0, 4);
  b.writeUInt32BE(h.ssrc >>> 0, 8);
  Buffer.from(payload).copy(b, 12);
  return b;
}

export interface ImpairmentOptions {
  seed: number;
  /** fraction of packets never sent (default 0.05), chosen away from the first and last `guard` */
  lossRate?: number;
  /** each packet's send time moves by a uniform offset in [-jitterMs, +jitterMs] (default 40) */
  jitterMs?: number;
  /** packets sent explicitly right after their successor (default 3) */
  swaps?: number;
  /** packets held back by `stragglerDelayMs` beyond their nominal time, so they come too late to play (default 0) */
  stragglers?: number;
  stragglerDelayMs?: number;
  /** packets at each end left alone (default 10) */
  guard?: number;
}

export interface ScheduledPacket {
  /** index in the original 20 ms stream (= sequence number offset) */
  index: number;
  /** send time, ms after the stream's nominal start (nominal: index * 20) */
  sendMs: number;
}

export interface ImpairedSchedule {
  /** the packets that are sent, in send order */
  sent: ScheduledPacket[];
  /** indices never sent */
  dropped: number[];
  /** indices swapped with their successor */
  swapped: number[];
  /** indices held back as stragglers */
  stragglers: number[];
  /** packets that arrive after one with a higher index (what a receiver counts as reordered) */
  reordered: number;
}

/** Picks `count` distinct indices in [lo, hi) with the generator. */
function pick(rand: () => number, lo: number, hi: number, count: number, taken: Set<number>): number[] {
  const out: number[] = [];
  for (let guard = 0; out.length < count && guard < 100 * count + 100; guard++) {
    const i = lo + Math.floor(rand() * (hi - lo));
    if (taken.has(i)) continue;
    taken.add(i);
    out.push(i);
  }
  if (out.length < count) throw new Error(`cannot pick ${count} indices in [${lo}, ${hi})`);
  return out.sort((a, b) => a - b);
}

/**
 * A seeded impairment of a 20 ms packet stream: which packets are dropped, and when (and so in
 * which order) the others are sent.
 */
export function impairSchedule(count: number, o: ImpairmentOptions): ImpairedSchedule {
  const rand = seededRandom(o.seed);
  const guard = o.guard ?? 10;
  const jitter = o.jitterMs ?? 40;
  if (count < 2 * guard + 10) throw new Error(`impairSchedule: ${count} packets are too few`);
  const taken = new Set<number>();
  const dropped = pick(rand, guard, count - guard, Math.round(count * (o.lossRate ?? 0.05)), taken);
  // a swapped packet and its successor are both sent; keep them clear of drops and other swaps
  const swapped: number[] = [];
  for (const i of pick(rand, guard, count - guard - 1, o.swaps ?? 3, new Set([...taken].flatMap((t) => [t, t - 1])))) {
    if (taken.has(i) || taken.has(i + 1)) continue;
    taken.add(i);
    taken.add(i + 1);
    swapped.push(i);
  }
  const stragglers = pick(rand, guard, count - guard, o.stragglers ?? 0, taken);
  const dropSet = new Set(dropped);
  const times = new Map<number, number>();
  for (let i = 0; i < count; i++) times.set(i, Math.max(0, i * 20 + (rand() * 2 - 1) * jitter));
  for (const i of swapped) times.set(i, Math.max(times.get(i)!, times.get(i + 1)!) + 1);
  for (const i of stragglers) times.set(i, i * 20 + (o.stragglerDelayMs ?? 400));
  const sent = [...times]
    .filter(([i]) => !dropSet.has(i))
    .map(([index, sendMs]) => ({ index, sendMs }))
    .sort((a, b) => a.sendMs - b.sendMs || a.index - b.index);
  let highest = -1;
  let reordered = 0;
  for (const p of sent) {
    if (p.index < highest) reordered++;
    else highest = p.index;
  }
  return { sent, dropped, swapped, stragglers, reordered };
}

export interface RtpPcapOptions {
  /** one payload per 20 ms packet (e.g. 160 bytes of G.711) */
  payloads: readonly Uint8Array[];
  payloadType: number;
  ssrc?: number;
  firstSequence?: number;
  firstTimestamp?: number;
  /** samples per packet (default 160) */
  samplesPerPacket?: number;
  /** default: every packet at index * 20 ms, in order */
  schedule?: readonly ScheduledPacket[];
  srcPort?: number;
  dstPort?: number;
  /** capture time of the stream's nominal start, µs (default 1 700 000 000 s) */
  startUs?: number;
}

/** A pcap of an RTP stream sent as the schedule says (Ethernet/IPv4/UDP, for play_pcap_audio). */
export function rtpPcap(o: RtpPcapOptions): Buffer {
  const ssrc = o.ssrc ?? 0x5eed0001;
  const seq0 = o.firstSequence ?? 1000;
  const ts0 = o.firstTimestamp ?? 160_000;
  const spp = o.samplesPerPacket ?? 160;
  const start = o.startUs ?? 1_700_000_000 * 1e6;
  const schedule = o.schedule ?? o.payloads.map((_, index) => ({ index, sendMs: index * 20 }));
  const records = schedule.map((p, n) => {
    const payload = o.payloads[p.index];
    if (!payload) throw new Error(`rtpPcap: no payload for packet ${p.index}`);
    const rtp = rtpPacket({ payloadType: o.payloadType, sequenceNumber: seq0 + p.index, timestamp: ts0 + p.index * spp, ssrc, marker: p.index === 0 }, payload);
    return { timeUs: start + Math.round(p.sendMs * 1000), data: ethernetUdpFrame({ srcPort: o.srcPort ?? 6000, dstPort: o.dstPort ?? 6000, payload: rtp }, n) };
  });
  return pcapFile(records);
}

/** Splits a byte stream (e.g. raw G.711) into 20 ms payloads; a short tail is padded with `fill`. */
export function packetize(bytes: Uint8Array, perPacket = 160, fill = 0xff): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < bytes.length; off += perPacket) {
    const p = new Uint8Array(perPacket).fill(fill);
    p.set(bytes.subarray(off, Math.min(bytes.length, off + perPacket)));
    out.push(p);
  }
  return out;
}

// The crafted-capture builder the sipp impairment test relies on (test/support/pcap.ts): valid
// libpcap/Ethernet/IPv4/UDP framing (sipp's prepare_pcap.c takes only that or Linux cooked), RTP
// headers the runtime's parser reads, and a seeded impairment that does what it says.

import { describe, expect, it } from '@jest/globals';
import { parseRtp } from '../../../src/media/rtp.js';
import { LINKTYPE_ETHERNET, ethernetUdpFrame, impairSchedule, packetize, parsePcap, pcapFile, rtpPacket, rtpPcap } from '../../support/pcap.js';

/** RFC 1071 sum folded to 16 bits. */
function sum16(buf: Buffer): number {
  let s = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) s += buf.readUInt16BE(i);
  if (buf.length % 2) s += buf[buf.length - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

describe('pcapFile / parsePcap', () => {
  it('writes a little-endian microsecond libpcap file that reads back', () => {
    const records = [
      { timeUs: 1_700_000_000_000_000, data: Buffer.from([1, 2, 3]) },
      { timeUs: 1_700_000_000_020_500, data: Buffer.from([4, 5]) },
    ];
    const buf = pcapFile(records);
    expect(buf.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect([buf.readUInt16LE(4), buf.readUInt16LE(6)]).toEqual([2, 4]);
    expect(buf.readUInt32LE(20)).toBe(LINKTYPE_ETHERNET);
    expect(buf.length).toBe(24 + 16 + 3 + 16 + 2);
    // second record: 1_700_000_000 s + 20 500 µs, caplen = len
    expect([buf.readUInt32LE(24 + 19), buf.readUInt32LE(24 + 19 + 4), buf.readUInt32LE(24 + 19 + 8), buf.readUInt32LE(24 + 19 + 12)]).toEqual([1_700_000_000, 20_500, 2, 2]);
    const back = parsePcap(buf);
    expect(back.linkType).toBe(LINKTYPE_ETHERNET);
    expect(back.records.map((r) => ({ timeUs: r.timeUs, data: [...r.data] }))).toEqual(records.map((r) => ({ timeUs: r.timeUs, data: [...r.data] })));
  });

  it('rejects what it cannot read', () => {
    expect(() => parsePcap(Buffer.alloc(10))).toThrow(/not a little-endian/);
    const cut = pcapFile([{ timeUs: 0, data: Buffer.alloc(40) }]).subarray(0, 60);
    expect(() => parsePcap(cut)).toThrow(/runs past the end/);
  });
});

describe('ethernetUdpFrame', () => {
  it('frames the payload with correct lengths and IPv4 and UDP checksums', () => {
    const payload = Buffer.from('hello, odd length');
    const f = ethernetUdpFrame({ src: '10.1.2.3', dst: '192.168.0.9', srcPort: 6000, dstPort: 6002, payload }, 7);
    expect(f.readUInt16BE(12)).toBe(0x0800);
    const ip = f.subarray(14, 34);
    expect(ip[0]).toBe(0x45);
    expect(ip.readUInt16BE(2)).toBe(20 + 8 + payload.length);
    expect(ip.readUInt16BE(4)).toBe(7);
    expect(ip[9]).toBe(17);
    expect([...ip.subarray(12, 16)]).toEqual([10, 1, 2, 3]);
    expect([...ip.subarray(16, 20)]).toEqual([192, 168, 0, 9]);
    expect(sum16(ip)).toBe(0xffff); // header checksum verifies
    const udp = f.subarray(34);
    expect([udp.readUInt16BE(0), udp.readUInt16BE(2), udp.readUInt16BE(4)]).toEqual([6000, 6002, 8 + payload.length]);
    const pseudo = Buffer.concat([ip.subarray(12, 20), Buffer.from([0, 17, 0, udp.length])]);
    expect(sum16(Buffer.concat([pseudo, udp]))).toBe(0xffff); // UDP checksum verifies
    expect(udp.subarray(8).toString()).toBe('hello, odd length');
  });

  it('refuses an address that is not IPv4', () => {
    expect(() => ethernetUdpFrame({ src: '::1', srcPort: 1, dstPort: 2, payload: new Uint8Array(0) })).toThrow(/not an IPv4/);
  });
});

describe('rtpPacket', () => {
  it('is an RTP v2 packet the runtime parses back', () => {
    const p = parseRtp(rtpPacket({ payloadType: 0, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef, marker: true }, new Uint8Array(160).fill(0x7f)));
    expect(p).toMatchObject({ payloadType: 0, marker: true, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef });
    expect(p.payload.length).toBe(160);
  });
});

describe('impairSchedule', () => {
  const o = { seed: 4, lossRate: 0.05, jitterMs: 40, swaps: 3, stragglers: 2, stragglerDelayMs: 400 };

  it('is the same for the same seed and differs for another', () => {
    expect(impairSchedule(300, o)).toEqual(impairSchedule(300, o));
    expect(impairSchedule(300, { ...o, seed: 5 }).dropped).not.toEqual(impairSchedule(300, o).dropped);
  });

  it('drops 5%, sends every other packet once, in send-time order, within the jitter', () => {
    const s = impairSchedule(300, o);
    expect(s.dropped).toHaveLength(15);
    expect(s.dropped.every((i) => i >= 10 && i < 290)).toBe(true);
    const sentIdx = s.sent.map((p) => p.index);
    expect(new Set(sentIdx).size).toBe(285);
    expect(sentIdx.some((i) => s.dropped.includes(i))).toBe(false);
    for (let n = 1; n < s.sent.length; n++) expect(s.sent[n].sendMs).toBeGreaterThanOrEqual(s.sent[n - 1].sendMs);
    const special = new Set([...s.swapped, ...s.stragglers]);
    for (const p of s.sent) {
      if (special.has(p.index)) continue;
      expect(Math.abs(p.sendMs - Math.max(0, p.index * 20))).toBeLessThanOrEqual(40);
    }
  });

  it('swaps each chosen packet behind its successor and holds stragglers back', () => {
    const s = impairSchedule(300, o);
    expect(s.swapped.length).toBeGreaterThan(0);
    const at = new Map(s.sent.map((p, n) => [p.index, n]));
    for (const i of s.swapped) expect(at.get(i)!).toBeGreaterThan(at.get(i + 1)!);
    expect(s.stragglers).toHaveLength(2);
    for (const i of s.stragglers) expect(s.sent.find((p) => p.index === i)!.sendMs).toBe(i * 20 + 400);
  });

  it('counts the packets that come after a later one, as a receiver would', () => {
    const s = impairSchedule(300, o);
    let highest = -1;
    let late = 0;
    for (const p of s.sent) {
      if (p.index < highest) late++;
      highest = Math.max(highest, p.index);
    }
    expect(s.reordered).toBe(late);
    expect(s.reordered).toBeGreaterThan(0);
    // no impairment, no reordering
    expect(impairSchedule(100, { seed: 1, lossRate: 0, jitterMs: 0, swaps: 0 }).reordered).toBe(0);
  });
});

describe('rtpPcap', () => {
  it('holds one RTP packet per scheduled send, stamped with its send time', () => {
    const payloads = packetize(new Uint8Array(160 * 3 + 10).fill(1));
    expect(payloads).toHaveLength(4);
    expect(payloads[3][10]).toBe(0xff); // padded tail
    const schedule = [
      { index: 1, sendMs: 15 },
      { index: 0, sendMs: 22.5 },
      { index: 3, sendMs: 60 },
    ];
    const { records } = parsePcap(rtpPcap({ payloads, payloadType: 8, ssrc: 42, firstSequence: 65534, firstTimestamp: 1000, schedule, dstPort: 7000, startUs: 1e15 }));
    expect(records.map((r) => r.timeUs - 1e15)).toEqual([15_000, 22_500, 60_000]);
    const rtp = records.map((r) => parseRtp(r.data.subarray(14 + 20 + 8)));
    expect(rtp.map((p) => [p.sequenceNumber, p.timestamp, p.payloadType, p.ssrc, p.marker])).toEqual([
      [65535, 1160, 8, 42, false],
      [65534, 1000, 8, 42, true],
      [1, 1480, 8, 42, false],
    ]);
    expect(records.every((r) => r.data.readUInt16BE(14 + 20 + 2) === 7000)).toBe(true);
  });
});

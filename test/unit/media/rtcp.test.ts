import { describe, expect, it } from '@jest/globals';
import { MediaError } from '../../../src/media/errors.js';
import { ReceiveStats, buildRtcpCompound, ntpFromUnixMs, ntpMiddle, parseRtcp, roundTripMs, type ReportBlock } from '../../../src/media/rtcp.js';

const block: ReportBlock = { ssrc: 0x11223344, fractionLost: 25, cumulativeLost: -3, extendedHighestSeq: 0x1_0005, jitter: 80, lastSr: 0xabcd1234, delaySinceLastSr: 16384 };

function malformed(buf: Uint8Array): string | undefined {
  try {
    parseRtcp(buf);
  } catch (e) {
    expect(e).toBeInstanceOf(MediaError);
    return (e as MediaError).code;
  }
  return undefined;
}

describe('RTCP (RFC 3550 6)', () => {
  it('round-trips a compound SR + SDES CNAME + BYE', () => {
    const sender = { ntpSeconds: 3_900_000_000, ntpFraction: 0x80000000, rtpTimestamp: 123456, packetCount: 500, octetCount: 80000 };
    const buf = buildRtcpCompound({ ssrc: 0xdeadbeef, sender, reports: [block], cname: 'deskline@phone-1', bye: { reason: 'bye' } });
    expect(buf.length % 4).toBe(0);
    expect(buf[1]).toBe(200);
    const ps = parseRtcp(buf);
    expect(ps).toEqual([
      { type: 'sr', ssrc: 0xdeadbeef, sender, reports: [block] },
      { type: 'sdes', chunks: [{ ssrc: 0xdeadbeef, cname: 'deskline@phone-1' }] },
      { type: 'bye', ssrcs: [0xdeadbeef], reason: 'bye' },
    ]);
  });

  it('round-trips an RR', () => {
    const ps = parseRtcp(buildRtcpCompound({ ssrc: 5, reports: [block, { ...block, ssrc: 6 }], cname: 'x' }));
    expect(ps[0]).toEqual({ type: 'rr', ssrc: 5, reports: [block, { ...block, ssrc: 6 }] });
  });

  it('rejects invalid compounds (A.2 checks) with a typed error', () => {
    const good = buildRtcpCompound({ ssrc: 5, reports: [block], cname: 'x' });
    expect(malformed(good)).toBeUndefined();
    expect(malformed(new Uint8Array(3))).toBe('RTCP_MALFORMED');
    expect(malformed(good.subarray(0, good.length - 4))).toBe('RTCP_MALFORMED'); // SDES cut
    const v1 = Uint8Array.from(good);
    v1[0] = 0x41;
    expect(malformed(v1)).toBe('RTCP_MALFORMED');
    const sdesFirst = good.subarray(32); // starts with the SDES packet
    expect(sdesFirst[1]).toBe(202);
    expect(malformed(sdesFirst)).toBe('RTCP_MALFORMED');
    const padFirst = Uint8Array.from(good);
    padFirst[0] |= 0x20;
    expect(malformed(padFirst)).toBe('RTCP_MALFORMED');
    const tooMany = Uint8Array.from(good);
    tooMany[0] = 0x80 | 5; // 5 report blocks claimed, 1 present
    expect(malformed(tooMany)).toBe('RTCP_MALFORMED');
    expect(malformed(new Uint8Array(1501))).toBe('RTCP_TOO_LARGE');
  });

  it('computes loss, extended sequence, jitter and LSR/DLSR for a known stream (A.1, A.3, A.8)', () => {
    // seq 65500.. across the wrap; 10 packets dropped; arrival alternates 0 / +10 ms around the nominal.
    const first = 65500;
    const stats = new ReceiveStats(42, first);
    const drop = new Set([10, 20, 30, 40, 50, 60, 70, 80, 90, 95]);
    let refJ = 0;
    let refTransit: number | null = null;
    for (let i = 0; i < 100; i++) {
      if (drop.has(i)) continue;
      const arrivalMs = i * 20 + (i % 2 ? 10 : 0);
      stats.update((first + i) & 0xffff, 1000 + i * 160, arrivalMs);
      // Reference A.8, from the second packet on (the first is in probation): transit in 1/8000 s.
      if (i === 0) continue;
      const transit = arrivalMs * 8 - (1000 + i * 160);
      if (refTransit !== null) refJ += (Math.abs(transit - refTransit) - refJ) / 16;
      refTransit = transit;
    }
    // A.1: the first packet is probation; the base is the second one.
    expect(stats.received).toBe(89);
    expect(stats.expected).toBe(99);
    expect(stats.cumulativeLost).toBe(10);
    expect(stats.extendedHighestSeq).toBe(0x1_0000 + ((first + 99) & 0xffff));
    expect(refJ).toBeGreaterThan(40);
    expect(stats.jitter).toBeCloseTo(refJ, 9);
    expect(stats.jitterMs).toBeCloseTo(refJ / 8, 9);

    stats.onSenderReport({ ntpSeconds: 0x12345678, ntpFraction: 0x9abcdef0, rtpTimestamp: 0, packetCount: 0, octetCount: 0 }, 2000);
    const rb = stats.reportBlock(2250);
    expect(rb.fractionLost).toBe(Math.floor((10 * 256) / 99));
    expect(rb.cumulativeLost).toBe(10);
    expect(rb.jitter).toBe(Math.floor(refJ));
    expect(rb.lastSr).toBe(0x56789abc);
    expect(rb.delaySinceLastSr).toBe(16384); // 250 ms in 1/65536 s
    // Next interval: 5 more packets, none lost.
    for (let i = 100; i < 105; i++) stats.update((first + i) & 0xffff, 1000 + i * 160, i * 20);
    expect(stats.reportBlock(2300).fractionLost).toBe(0);
  });

  it('computes the round trip from an RR (6.4.1: A - LSR - DLSR)', () => {
    const sentAt = Date.UTC(2026, 10, 24, 9, 30, 0);
    const ntp = ntpFromUnixMs(sentAt);
    const lsr = ntpMiddle(ntp.seconds, ntp.fraction);
    // The peer held our SR 250 ms; the RR arrives 290 ms after we sent the SR: RTT 40 ms.
    const rtt = roundTripMs({ ...block, lastSr: lsr, delaySinceLastSr: 16384 }, sentAt + 290);
    expect(rtt).not.toBeNull();
    expect(rtt!).toBeCloseTo(40, 0);
    expect(roundTripMs({ ...block, lastSr: 0 }, sentAt)).toBeNull();
    expect(ntpFromUnixMs(0).seconds).toBe(2208988800);
  });
});

import { describe, expect, it } from '@jest/globals';
import { MediaError } from '../../../src/media/errors.js';
import { RTP_MAX_PACKET, Unwrapper, looksLikeRtcp, parseRtp, seqDelta, serializeRtp } from '../../../src/media/rtp.js';

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

function expectMalformed(buf: Uint8Array, code = 'RTP_MALFORMED'): void {
  let caught: unknown;
  try {
    parseRtp(buf);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(MediaError);
  expect((caught as MediaError).code).toBe(code);
}

describe('RTP (RFC 3550 5.1)', () => {
  it('parses a hand-built packet: CSRCs, extension, padding, marker', () => {
    // V=2 P=1 X=1 CC=2 | M=1 PT=0 | seq 0x1234 | ts 0xdeadbeef | ssrc 0x01020304
    const buf = hex(`b2 80 1234 deadbeef 01020304
      0000000a 0000000b
      bede 0001 11223344
      aabbcc
      000003`);
    const p = parseRtp(buf);
    expect(p).toMatchObject({ padding: true, marker: true, payloadType: 0, sequenceNumber: 0x1234, timestamp: 0xdeadbeef, ssrc: 0x01020304, csrcs: [10, 11] });
    expect(p.extension?.profile).toBe(0xbede);
    expect([...p.extension!.data]).toEqual([0x11, 0x22, 0x33, 0x44]);
    expect([...p.payload]).toEqual([0xaa, 0xbb, 0xcc]);
  });

  it('round-trips through serialize/parse', () => {
    const payload = Uint8Array.from({ length: 160 }, (_, i) => i);
    const init = { payloadType: 101, marker: true, sequenceNumber: 65535, timestamp: 4294967295, ssrc: 0xcafebabe, csrcs: [1, 2, 3], extension: { profile: 0x1000, data: new Uint8Array(8).fill(7) }, payload, paddingBytes: 4 };
    const bytes = serializeRtp(init);
    expect(bytes.length).toBe(12 + 12 + 4 + 8 + 160 + 4);
    const p = parseRtp(bytes);
    expect(p.payloadType).toBe(101);
    expect(p.marker).toBe(true);
    expect(p.sequenceNumber).toBe(65535);
    expect(p.timestamp).toBe(4294967295);
    expect(p.ssrc).toBe(0xcafebabe);
    expect(p.csrcs).toEqual([1, 2, 3]);
    expect([...p.extension!.data]).toEqual(new Array(8).fill(7));
    expect([...p.payload]).toEqual([...payload]);
    const plain = parseRtp(serializeRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 2, ssrc: 3, payload: new Uint8Array(160) }));
    expect(plain).toMatchObject({ padding: false, marker: false, extension: null, csrcs: [] });
    expect(plain.payload).toHaveLength(160);
  });

  it('rejects malformed and truncated packets with a typed error', () => {
    expectMalformed(new Uint8Array(0));
    expectMalformed(hex('80 00 0001 00000001')); // 8 bytes
    expectMalformed(hex('40 00 0001 00000001 00000001')); // version 1
    expectMalformed(hex('83 00 0001 00000001 00000001 00000001')); // CC=3, one CSRC present
    expectMalformed(hex('90 00 0001 00000001 00000001 bede 0002 00000000')); // ext says 2 words, has 1
    expectMalformed(hex('90 00 0001 00000001 00000001 bede')); // ext header cut
    expectMalformed(hex('a0 00 0001 00000001 00000001 aa 00')); // padding count 0
    expectMalformed(hex('a0 00 0001 00000001 00000001 aa 09')); // padding into the header
    expectMalformed(new Uint8Array(RTP_MAX_PACKET + 1).fill(0x80), 'RTP_TOO_LARGE');
    expect(() => serializeRtp({ payloadType: 128, sequenceNumber: 0, timestamp: 0, ssrc: 0, payload: new Uint8Array(0) })).toThrow(MediaError);
    expect(() => serializeRtp({ payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0, payload: new Uint8Array(1500) })).toThrow(expect.objectContaining({ code: 'RTP_TOO_LARGE' }));
  });

  it('tells RTCP from RTP on a shared port (RFC 5761 4)', () => {
    expect(looksLikeRtcp(hex('80c8 0006'))).toBe(true); // SR
    expect(looksLikeRtcp(hex('8000 0001'))).toBe(false); // PCMU
    expect(looksLikeRtcp(hex('80e5 0001'))).toBe(false); // PT 101 + marker
  });

  it('extends sequence numbers across the wrap, reordered packets included', () => {
    const u = new Unwrapper(16);
    const seqs = [65533, 65534, 65535, 0, 65535, 1, 2, 65534, 3].map((s) => u.unwrap(s));
    const base = seqs[0];
    expect(seqs.map((s) => s - base)).toEqual([0, 1, 2, 3, 2, 4, 5, 1, 6]);
    const t = new Unwrapper(32);
    const a = t.unwrap(0xffffff00);
    expect(t.unwrap(0x00000060) - a).toBe(0x160);
    expect(seqDelta(0, 65535)).toBe(1);
    expect(seqDelta(65535, 0)).toBe(-1);
    expect(seqDelta(100, 50)).toBe(50);
  });
});

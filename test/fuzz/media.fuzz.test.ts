// Fuzz: seeded random and mutated datagrams through the RTP, RTCP and telephone-event parsers and a
// whole receive path. The only thing allowed to escape a parser is a MediaError.
import { describe, expect, it } from '@jest/globals';
import { MediaError } from '../../src/media/errors.js';
import { JitterBuffer } from '../../src/media/jitter-buffer.js';
import { DtmfReceiver, decodeTelephoneEvent } from '../../src/media/rfc4733.js';
import { buildRtcpCompound, parseRtcp } from '../../src/media/rtcp.js';
import { parseRtp, serializeRtp } from '../../src/media/rtp.js';
import { parseWav } from '../../src/media/wav-recorder.js';
import { seededRandom } from '../support/random.js';

type Rand = () => number;
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

function randomBytes(r: Rand, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = int(r, 0, 255);
  return b;
}

/** A valid packet, then 1-4 random byte flips / truncation / extension. */
function mutate(r: Rand, valid: Uint8Array): Uint8Array {
  let b = Uint8Array.from(valid);
  for (let k = int(r, 1, 4); k > 0; k--) {
    const op = int(r, 0, 3);
    if (op === 0 && b.length) b[int(r, 0, b.length - 1)] = int(r, 0, 255);
    else if (op === 1) b = b.subarray(0, int(r, 0, b.length));
    else if (op === 2) b = Uint8Array.from([...b, ...randomBytes(r, int(r, 1, 40))]);
    else if (b.length) b[int(r, 0, Math.min(3, b.length - 1))] ^= 1 << int(r, 0, 7);
  }
  return b;
}

function onlyTyped(fn: () => unknown): 'ok' | 'typed' {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (!(e instanceof MediaError)) throw e;
    return 'typed';
  }
}

describe('media parsers under fuzz', () => {
  it('RTP, RTCP, telephone-event and WAV parsers throw only MediaError (200k inputs, < 30 s)', () => {
    const started = Date.now();
    const r = seededRandom(0x4d45);
    const counts = { ok: 0, typed: 0 };
    const validRtp = () =>
      serializeRtp({ payloadType: int(r, 0, 127), marker: r() < 0.5, sequenceNumber: int(r, 0, 65535), timestamp: int(r, 0, 2 ** 32 - 1), ssrc: int(r, 0, 2 ** 32 - 1), csrcs: Array.from({ length: int(r, 0, 3) }, () => int(r, 0, 1000)), extension: r() < 0.3 ? { profile: 0xbede, data: randomBytes(r, 4 * int(r, 0, 3)) } : null, payload: randomBytes(r, int(r, 0, 200)), paddingBytes: r() < 0.2 ? int(r, 1, 8) : 0 });
    const validRtcp = () =>
      buildRtcpCompound({ ssrc: int(r, 0, 2 ** 32 - 1), sender: r() < 0.5 ? { ntpSeconds: 1, ntpFraction: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5 } : undefined, reports: Array.from({ length: int(r, 0, 3) }, () => ({ ssrc: int(r, 0, 2 ** 32 - 1), fractionLost: int(r, 0, 255), cumulativeLost: int(r, -100, 100), extendedHighestSeq: int(r, 0, 2 ** 32 - 1), jitter: int(r, 0, 1e6), lastSr: 0, delaySinceLastSr: 0 })), cname: 'c'.repeat(int(r, 0, 40)), bye: r() < 0.3 ? { reason: 'x' } : undefined });
    for (let i = 0; i < 50_000; i++) {
      const raw = randomBytes(r, int(r, 0, r() < 0.01 ? 1600 : 80));
      if (raw.length > 1) raw[0] = (raw[0] & 0x3f) | 0x80; // version 2 half the time, to get past the first check
      if (r() < 0.5) raw[0] = int(r, 0, 255);
      counts[onlyTyped(() => parseRtp(raw))]++;
      counts[onlyTyped(() => parseRtcp(raw))]++;
      counts[onlyTyped(() => decodeTelephoneEvent(raw))]++;
      counts[onlyTyped(() => parseRtp(mutate(r, validRtp())))]++;
      counts[onlyTyped(() => parseRtcp(mutate(r, validRtcp())))]++;
      if (i % 10 === 0) counts[onlyTyped(() => parseWav(mutate(r, Uint8Array.from([...Buffer.from('RIFF\0\0\0\0WAVEfmt ', 'latin1'), ...randomBytes(r, 40)]))))]++;
    }
    // Both outcomes happen: the fuzz reaches past the first checks.
    expect(counts.ok).toBeGreaterThan(10_000);
    expect(counts.typed).toBeGreaterThan(10_000);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('a jitter buffer and DTMF receiver fed garbage RTP keep producing frames', () => {
    const r = seededRandom(7);
    const jb = new JitterBuffer();
    const dtmf = new DtmfReceiver();
    let frames = 0;
    for (let t = 0; t < 20_000; t += 5) {
      const pkt = (() => {
        try {
          return parseRtp(randomBytes(r, int(r, 12, 200)).map((b, i) => (i === 0 ? 0x80 : b)));
        } catch {
          return null;
        }
      })();
      if (pkt) {
        if (pkt.payloadType === 101) onlyTyped(() => dtmf.push(pkt, t));
        else jb.push({ ssrc: pkt.ssrc & 3, sequenceNumber: pkt.sequenceNumber, timestamp: pkt.timestamp, samples: new Int16Array(pkt.payload.length) }, t);
      }
      if (t % 20 === 0) {
        expect(jb.pull(t)).toHaveLength(160);
        frames++;
        dtmf.poll(t);
      }
    }
    expect(frames).toBe(1000);
    const s = jb.stats;
    expect(Number.isFinite(s.jitterMs)).toBe(true);
    expect(s.targetDelayMs).toBeLessThanOrEqual(200);
  });
});

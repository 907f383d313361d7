import { describe, expect, it } from '@jest/globals';
import { codecForPayloadType, decodeG711, encodeG711, payloadTypeForCodec } from '../../../src/media/g711.js';
import { rms, tone } from './signal.js';

describe('G.711', () => {
  it('encodes known values (ITU-T G.711: silence is 0xFF in mu-law, 0xD5 in A-law)', () => {
    expect([...encodeG711('PCMU', new Int16Array([0]))]).toEqual([0xff]);
    expect([...encodeG711('PCMA', new Int16Array([0]))]).toEqual([0xd5]);
    expect(encodeG711('PCMU', new Int16Array(160))).toHaveLength(160);
  });

  it.each(['PCMU', 'PCMA'] as const)('%s round-trips a tone with > 30 dB SNR', (codec) => {
    const x = tone(1000, 0.1, 0.5);
    const y = decodeG711(codec, encodeG711(codec, x));
    expect(y).toBeInstanceOf(Int16Array);
    expect(y).toHaveLength(x.length);
    const err = x.map((v, i) => v - y[i]);
    expect(20 * Math.log10(rms(x) / rms(err))).toBeGreaterThan(30);
  });

  it('maps payload types (RFC 3551 table 4)', () => {
    expect(codecForPayloadType(0)).toBe('PCMU');
    expect(codecForPayloadType(8)).toBe('PCMA');
    expect(codecForPayloadType(18)).toBeNull();
    expect(payloadTypeForCodec('PCMA')).toBe(8);
  });
});

import { describe, it, expect } from '@jest/globals';
import { FramingError, SipStreamFramer } from '../../../../src/sip/transport/framing.js';

const msg = (body = '') =>
  `MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nCSeq: 1 MESSAGE\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

describe('SipStreamFramer (RFC 3261 §18.3, RFC 5626 keep-alives)', () => {
  it('frames by Content-Length in bytes across arbitrary chunk boundaries', () => {
    const a = msg('héllo 你好');
    const b = msg('');
    const all = Buffer.from(a + b);
    for (const size of [1, 2, 3, 7, 50, all.length]) {
      const f = new SipStreamFramer({ maxMessageBytes: 65_535 });
      const out = [];
      for (let i = 0; i < all.length; i += size) out.push(...f.push(all.subarray(i, i + size)));
      expect(out).toEqual([
        { type: 'message', text: a },
        { type: 'message', text: b },
      ]);
      expect(f.buffered).toBe(0);
    }
  });

  it('tells pings (CRLF CRLF) from pongs (CRLF) between messages', () => {
    const f = new SipStreamFramer({ maxMessageBytes: 65_535 });
    expect(f.push(Buffer.from('\r\n\r\n'))).toEqual([{ type: 'ping' }]);
    expect(f.push(Buffer.from('\r\n'))).toEqual([{ type: 'pong' }]);
    // a ping split in two arrives as one ping
    expect(f.push(Buffer.from('\r\n\r'))).toEqual([]);
    expect(f.push(Buffer.from('\n'))).toEqual([{ type: 'ping' }]);
    expect(f.push(Buffer.from(`\r\n\r\n${msg()}`))).toEqual([{ type: 'ping' }, { type: 'message', text: msg() }]);
  });

  it('refuses a message without Content-Length and one over the bound', () => {
    const f = new SipStreamFramer({ maxMessageBytes: 65_535 });
    expect(() => f.push(Buffer.from('OPTIONS sip:a SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n'))).toThrow(FramingError);
    const g = new SipStreamFramer({ maxMessageBytes: 1000 });
    expect(() => g.push(Buffer.from(msg().replace('Content-Length: 0', 'Content-Length: 5000')))).toThrow(/exceeds 1000/);
    const h = new SipStreamFramer({ maxMessageBytes: 65_535, maxHeaderBytes: 200 });
    expect(() => h.push(Buffer.from(`OPTIONS sip:a SIP/2.0\r\nX: ${'y'.repeat(300)}`))).toThrow(/header section exceeds 200/);
  });
});

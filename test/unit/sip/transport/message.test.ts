import { describe, it, expect } from '@jest/globals';
import {
  isKeepAlive,
  parseSipUriTarget,
  probeSipMessage,
  responseDestination,
  stampReceived,
} from '../../../../src/sip/transport/message.js';

const REGISTER =
  'REGISTER sip:127.0.0.1:5080 SIP/2.0\r\n' +
  'Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bKabc123;rport\r\n' +
  'Max-Forwards: 70\r\n' +
  'To: <sip:alice@127.0.0.1:5080>\r\n' +
  'From: "Alice" <sip:alice@127.0.0.1:5080>;tag=x1\r\n' +
  'Call-ID: reg-1@phone\r\n' +
  'CSeq: 2 REGISTER\r\n' +
  'Contact: <sip:a1@192.0.2.7:5062;transport=udp>;expires=600\r\n' +
  'Content-Length: 0\r\n\r\n';

function response(cseq: string, extra = ''): string {
  return (
    'SIP/2.0 200 OK\r\n' +
    'Via: SIP/2.0/UDP host.invalid;branch=z9hG4bKq1;rport=5062;received=192.0.2.7\r\n' +
    'To: <sip:alice@example.net>;tag=r\r\nFrom: <sip:alice@example.net>;tag=l\r\n' +
    `Call-ID: c1\r\nCSeq: ${cseq}\r\n${extra}Content-Length: 0\r\n\r\n`
  );
}

describe('probeSipMessage (the inbound guard)', () => {
  it('reads the routing headers of a request', () => {
    const r = probeSipMessage(REGISTER);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.probe).toMatchObject({
      kind: 'request',
      method: 'REGISTER',
      requestUri: 'sip:127.0.0.1:5080',
      branch: 'z9hG4bKabc123',
      cseq: { seq: 2, method: 'REGISTER' },
      callId: 'reg-1@phone',
      contentLength: 0,
    });
    expect(r.probe.via).toEqual({
      transport: 'UDP',
      host: '192.0.2.7',
      port: 5062,
      params: [
        ['branch', 'z9hG4bKabc123'],
        ['rport', null],
      ],
    });
    expect(REGISTER.slice(...r.probe.topViaRange)).toBe('SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bKabc123;rport');
  });

  it('refuses a response whose CSeq does not parse (it crashes sip.js 0.21)', () => {
    const r = probeSipMessage(response('x'));
    expect(r).toEqual({ ok: false, reason: 'bad CSeq "x"' });
    expect(probeSipMessage(response('1 INVITE')).ok).toBe(true);
    expect(probeSipMessage(response('99999999999 INVITE')).ok).toBe(false);
    expect(probeSipMessage(response('2147483648 INVITE')).ok).toBe(false);
    expect(probeSipMessage(response('1 INVITE', 'CSeq: 2 INVITE\r\n')).ok).toBe(false);
  });

  it('refuses what is not shaped like SIP', () => {
    const cases: Array<[string, RegExp]> = [
      ['hello world', /no end of the header section/],
      ['GET / HTTP/1.1\r\nHost: x\r\n\r\n', /not a SIP start line/],
      ['SIP/2.0 999 Nope\r\n\r\n', /not a SIP start line/],
      [REGISTER.replace('CSeq: 2 REGISTER\r\n', ''), /missing cseq/],
      [REGISTER.replace('Call-ID: reg-1@phone\r\n', ''), /missing call-id/],
      [REGISTER.replace('CSeq: 2 REGISTER', 'CSeq: 2 INVITE'), /differs/],
      [REGISTER.replace('Via: SIP/2.0/UDP 192.0.2.7:5062', 'Via: SIP/3.0/UDP 192.0.2.7:5062'), /bad Via/],
      [REGISTER.replace('192.0.2.7:5062;branch', '192.0.2.7:99999;branch'), /bad Via/],
      [REGISTER.replace('Content-Length: 0', 'Content-Length: 10'), /shorter than Content-Length/],
      [REGISTER.replace('Content-Length: 0', 'Content-Length: -1'), /bad Content-Length/],
      [REGISTER.replace('Max-Forwards: 70', 'Max Forwards 70'), /malformed header line/],
      ['REGISTER http://x SIP/2.0\r\nVia: a\r\n\r\n', /unsupported Request-URI/],
    ];
    for (const [text, reason] of cases) {
      const r = probeSipMessage(text);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(reason);
    }
  });

  it('bounds the size, in bytes', () => {
    const big = REGISTER.replace('Content-Length: 0\r\n\r\n', `Content-Length: 3000\r\n\r\n${'é'.repeat(1500)}`);
    expect(probeSipMessage(big).ok).toBe(true);
    const r = probeSipMessage(big, 3000);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/exceeds 3000/);
  });

  it('reads compact and folded headers and a multi-valued Via', () => {
    const text =
      'OPTIONS sip:bob@example.net SIP/2.0\r\n' +
      'v: SIP/2.0/TCP 10.0.0.1:5070\r\n ;branch=z9hG4bKfold, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKsecond\r\n' +
      'f: <sip:a@example.net>;tag=1\r\nt: <sip:bob@example.net>\r\ni: c-9\r\nCSeq: 7 OPTIONS\r\nl: 0\r\n' +
      'Route: <sip:proxy.example.net;lr>, <sip:other.example.net;lr>\r\n\r\n';
    const r = probeSipMessage(text);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.probe.via.transport).toBe('TCP');
    expect(r.probe.branch).toBe('z9hG4bKfold');
    expect(r.probe.route).toBe('<sip:proxy.example.net;lr>');
    expect(r.probe.callId).toBe('c-9');
  });

  it('never throws, whatever the bytes', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      const cut = REGISTER.split('');
      for (let j = 0; j < 4; j++) cut[Math.floor(rnd() * cut.length)] = String.fromCharCode(Math.floor(rnd() * 256));
      expect(() => probeSipMessage(cut.join(''))).not.toThrow();
    }
  });
});

describe('Via stamping and response routing (RFC 3261 §18.2, RFC 3581)', () => {
  it('adds received and fills rport for a request that asked for rport', () => {
    const r = probeSipMessage(REGISTER);
    if (!r.ok) throw new Error(r.reason);
    const { text, via } = stampReceived(REGISTER, r.probe, '203.0.113.9', 40123);
    expect(text).toContain('Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bKabc123;rport=40123;received=203.0.113.9\r\nMax-Forwards');
    expect(responseDestination(via)).toEqual({ host: '203.0.113.9', port: 40123 });
    expect(probeSipMessage(text).ok).toBe(true);
  });

  it('adds received only when sent-by differs, without rport', () => {
    const noRport = REGISTER.replace(';rport', '');
    const r = probeSipMessage(noRport);
    if (!r.ok) throw new Error(r.reason);
    expect(stampReceived(noRport, r.probe, '192.0.2.7', 5062).text).toBe(noRport);
    const moved = stampReceived(noRport, r.probe, '198.51.100.1', 6000);
    expect(moved.text).toContain(';branch=z9hG4bKabc123;received=198.51.100.1\r\n');
    // without rport the response goes to received at the sent-by port
    expect(responseDestination(moved.via)).toEqual({ host: '198.51.100.1', port: 5062 });
  });

  it('defaults the port by transport', () => {
    expect(responseDestination({ transport: 'UDP', host: 'a.example', port: null, params: [] })).toEqual({ host: 'a.example', port: 5060 });
    expect(responseDestination({ transport: 'TLS', host: 'a.example', port: null, params: [] })).toEqual({ host: 'a.example', port: 5061 });
  });

  it('parses request targets', () => {
    expect(parseSipUriTarget('sip:127.0.0.1:5080')).toEqual({ host: '127.0.0.1', port: 5080, transport: null, secure: false, lr: false });
    expect(parseSipUriTarget('<sip:alice@pbx.example.net;transport=tcp;lr>')).toMatchObject({ host: 'pbx.example.net', port: null, transport: 'TCP', lr: true });
    expect(parseSipUriTarget('sips:[2001:db8::1]:5061')).toMatchObject({ host: '2001:db8::1', port: 5061, secure: true });
    expect(parseSipUriTarget('http://x')).toBeNull();
  });

  it('knows CRLF keep-alives', () => {
    expect(isKeepAlive('\r\n\r\n')).toBe(true);
    expect(isKeepAlive('\r\n')).toBe(true);
    expect(isKeepAlive('\r\nX')).toBe(false);
    expect(isKeepAlive('')).toBe(false);
  });
});

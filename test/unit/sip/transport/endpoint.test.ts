// The transport in front of a real sip.js UserAgent on loopback: malformed input is dropped and
// logged (never crashes), requests get received/rport, responses go back by the Via, TCP
// keep-alive pings get pongs.
import { describe, it, expect, afterEach } from '@jest/globals';
import { connect } from 'node:net';
import { UserAgent } from 'sip.js';
import { createSipTransport, SipEndpoint } from '../../../../src/sip/transport/index.js';
import { FakeClock } from '../../../support/fake-clock.js';
import { captureLogger } from '../../../support/log.js';
import { udpPeer, type UdpPeer } from '../../../support/sip.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function phone() {
  const clock = new FakeClock();
  const { log, lines } = captureLogger('debug');
  const endpoint = new SipEndpoint({ clock, log, host: '127.0.0.1', port: 0 });
  const setup = await createSipTransport({ endpoint, protocol: 'UDP', server: { host: '127.0.0.1', port: 9 }, clock, log });
  const ua = new UserAgent({ uri: UserAgent.makeURI('sip:phone@127.0.0.1'), logBuiltinEnabled: false, ...setup.userAgentOptions });
  setup.applyContact(ua);
  await ua.start();
  cleanups.push(async () => {
    await ua.stop();
    await endpoint.close();
  });
  return { endpoint, ua, lines, port: endpoint.port };
}

async function peer(): Promise<UdpPeer> {
  const p = await udpPeer();
  cleanups.push(() => p.close());
  return p;
}

const options = (port: number, viaHost = '127.0.0.1', via = `SIP/2.0/UDP ${viaHost}:${port};branch=z9hG4bKo1;rport`) =>
  `OPTIONS sip:phone@127.0.0.1 SIP/2.0\r\nVia: ${via}\r\nMax-Forwards: 70\r\n` +
  `From: <sip:probe@127.0.0.1>;tag=p1\r\nTo: <sip:phone@127.0.0.1>\r\nCall-ID: opt-1\r\nCSeq: 5 OPTIONS\r\nContent-Length: 0\r\n\r\n`;

describe('SipEndpoint + DesklineTransport with sip.js', () => {
  it('drops a response with `CSeq: x` and other garbage without crashing, then still answers', async () => {
    const { endpoint, lines, port } = await phone();
    const p = await peer();
    const bad =
      'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP x.invalid;branch=z9hG4bKzz\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\n' +
      'Call-ID: c\r\nCSeq: x\r\nContent-Length: 0\r\n\r\n';
    for (const d of [bad, 'garbage', '\u0000\u0001\u0002', 'INVITE\r\n\r\n', '\r\n\r\n']) p.sock.send(d, port, '127.0.0.1');
    // an OPTIONS after the garbage is answered: the process and the user agent are alive
    p.sock.send(options(p.port), port, '127.0.0.1');
    const answer = await p.next();
    expect(answer).toMatch(/^SIP\/2\.0 200 /);
    expect(endpoint.stats.dropped).toBe(4);
    expect(endpoint.stats.keepAlivesReceived).toBe(1);
    const warned = lines().filter((l) => l.msg === 'malformed sip message dropped');
    expect(warned.map((l) => l.reason)).toContain('bad CSeq "x"');
    // the response went back by the Via, stamped with rport (RFC 3581)
    expect(answer).toContain(`Via: SIP/2.0/UDP 127.0.0.1:${p.port};branch=z9hG4bKo1;rport=${p.port};received=127.0.0.1`);
  });

  it('routes a response to received/rport when sent-by is unreachable (NAT)', async () => {
    const { port } = await phone();
    const p = await peer();
    // sent-by claims a private address and port; rport makes the answer come back to the source
    p.sock.send(options(p.port, '10.255.0.1', 'SIP/2.0/UDP 10.255.0.1:5999;branch=z9hG4bKnat;rport'), port, '127.0.0.1');
    const answer = await p.next();
    expect(answer).toMatch(/^SIP\/2\.0 200 /);
    expect(answer).toContain(`;rport=${p.port};received=127.0.0.1`);
  });

  it('survives a sip.js handler that throws: logged, not fatal', async () => {
    const { endpoint, ua, lines, port } = await phone();
    const p = await peer();
    ua.transport.onMessage = () => {
      throw new TypeError('boom inside sip.js');
    };
    p.sock.send(options(p.port), port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 100));
    expect(endpoint.stats.dispatchErrors).toBe(1);
    expect(lines().some((l) => l.msg === 'sip message dispatch threw; message dropped' && l.err === 'boom inside sip.js')).toBe(true);
  });

  it('over TCP: frames a split request, answers on the same connection, pongs a ping', async () => {
    const { port } = await phone();
    const sock = connect(port, '127.0.0.1');
    cleanups.push(() => void sock.destroy());
    await new Promise<void>((r) => sock.once('connect', () => r()));
    let got = '';
    sock.on('data', (d) => (got += d.toString()));
    const req = options(0).replace('SIP/2.0/UDP 127.0.0.1:0;', `SIP/2.0/TCP 127.0.0.1:${sock.localPort};`);
    sock.write('\r\n\r\n');
    sock.write(req.slice(0, 30));
    await new Promise((r) => setTimeout(r, 30));
    sock.write(req.slice(30));
    for (let i = 0; i < 50 && !got.includes('SIP/2.0 200'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(got.startsWith('\r\nSIP/2.0 200 ')).toBe(true); // pong first, then the answer
    expect(got).toContain(`rport=${sock.localPort};received=127.0.0.1`);
  });

  it('closes a TCP connection that sends a message without Content-Length', async () => {
    const { endpoint, port } = await phone();
    const sock = connect(port, '127.0.0.1');
    cleanups.push(() => void sock.destroy());
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.write(options(1).replace('Content-Length: 0\r\n', ''));
    await closed;
    expect(endpoint.stats.dropped).toBe(1);
  });
});

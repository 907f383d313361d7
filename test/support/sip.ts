// Minimal SIP over UDP for probes and harness checks (not a SIP stack).

import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';

export interface SipResponse {
  status: number;
  reason: string;
  /** header names lower-cased; first value wins */
  headers: Record<string, string>;
  raw: string;
}

/** Parses a SIP response's status line and headers; null if it is not a SIP/2.0 response. */
export function parseSipResponse(buf: Buffer | string): SipResponse | null {
  const raw = buf.toString();
  const head = raw.split('\r\n\r\n')[0];
  const [statusLine, ...lines] = head.split('\r\n');
  const m = /^SIP\/2\.0 (\d{3}) (.*)$/.exec(statusLine ?? '');
  if (!m) return null;
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i <= 0) continue;
    const name = l.slice(0, i).trim().toLowerCase();
    if (!(name in headers)) headers[name] = l.slice(i + 1).trim();
  }
  return { status: Number(m[1]), reason: m[2], headers, raw };
}

/** An out-of-dialog OPTIONS request from localPort to host:port. */
export function buildOptions(host: string, port: number, localPort: number, callId = randomBytes(8).toString('hex')): string {
  const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
  return (
    `OPTIONS sip:${host}:${port} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 127.0.0.1:${localPort};branch=${branch};rport\r\n` +
    `Max-Forwards: 70\r\n` +
    `From: <sip:probe@127.0.0.1:${localPort}>;tag=${randomBytes(4).toString('hex')}\r\n` +
    `To: <sip:${host}:${port}>\r\n` +
    `Call-ID: ${callId}\r\n` +
    `CSeq: 1 OPTIONS\r\n` +
    `Content-Length: 0\r\n\r\n`
  );
}

/** Sends OPTIONS over UDP and resolves with the final response to it, or null on timeout. */
export function sipOptions(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<SipResponse | null> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const callId = randomBytes(8).toString('hex');
    const done = (r: SipResponse | null) => {
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        /* closed */
      }
      resolve(r);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    sock.on('error', () => done(null));
    sock.on('message', (msg) => {
      const r = parseSipResponse(msg);
      if (r && r.status >= 200 && r.headers['call-id'] === callId) done(r);
    });
    sock.bind(0, '127.0.0.1', () => {
      sock.send(buildOptions(host, port, sock.address().port, callId), port, host);
    });
  });
}

/** A UDP socket playing a SIP peer: `next()` resolves with the next datagram (null after `ms`). */
export interface UdpPeer {
  sock: Socket;
  port: number;
  next(ms?: number): Promise<string | null>;
  close(): Promise<void>;
}

export async function udpPeer(address = '127.0.0.1'): Promise<UdpPeer> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, address, () => r()));
  const queue: string[] = [];
  const waiters: Array<(s: string) => void> = [];
  sock.on('message', (m) => {
    const w = waiters.shift();
    if (w) w(m.toString());
    else queue.push(m.toString());
  });
  return {
    sock,
    port: sock.address().port,
    next: (ms = 1000) =>
      new Promise((resolve) => {
        const q = queue.shift();
        if (q !== undefined) return resolve(q);
        const t = setTimeout(() => resolve(null), ms);
        waiters.push((s) => {
          clearTimeout(t);
          resolve(s);
        });
      }),
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}

// Free loopback ports, allocated at run time so suites (and colleagues' runs) can go in parallel.
// A port is found by binding port 0 on 127.0.0.1, reading it back and closing; ports one peer
// needs together are held open until all are found, so they are distinct.

import { createServer, type Server } from 'node:net';
import { createSocket, type Socket } from 'node:dgram';

export type PortKind = 'tcp' | 'udp' | 'both';

const HOST = '127.0.0.1';

function bindTcp(port: number, host = HOST): Promise<Server | null> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(null));
    srv.listen({ port, host, exclusive: true }, () => resolve(srv));
  });
}

function bindUdp(port: number, host = HOST): Promise<Socket | null> {
  return new Promise((resolve) => {
    const sock = createSocket({ type: 'udp4', reuseAddr: false });
    sock.unref();
    sock.once('error', () => {
      try {
        sock.close();
      } catch {
        /* never bound */
      }
      resolve(null);
    });
    sock.bind({ port, address: host, exclusive: true }, () => resolve(sock));
  });
}

interface Held {
  port: number;
  release(): Promise<void>;
}

function closeTcp(s: Server): Promise<void> {
  return new Promise((r) => s.close(() => r()));
}
function closeUdp(s: Socket): Promise<void> {
  return new Promise((r) => s.close(() => r()));
}

/** Binds a free port of the kind and keeps it bound until release(). */
async function holdFree(kind: PortKind, exclude: Set<number>, host = HOST): Promise<Held> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (kind === 'udp') {
      const u = await bindUdp(0, host);
      if (!u) continue;
      const port = u.address().port;
      if (exclude.has(port)) {
        await closeUdp(u);
        continue;
      }
      return { port, release: () => closeUdp(u) };
    }
    const t = await bindTcp(0, host);
    if (!t) continue;
    const addr = t.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    if (!port || exclude.has(port)) {
      await closeTcp(t);
      continue;
    }
    if (kind === 'tcp') return { port, release: () => closeTcp(t) };
    // both: the same number must be free for UDP too (SIP listens on UDP and TCP at one port)
    const u = await bindUdp(port, host);
    if (!u) {
      await closeTcp(t);
      continue;
    }
    return { port, release: async () => void (await Promise.all([closeTcp(t), closeUdp(u)])) };
  }
  throw new Error(`no free ${kind} port found on ${host} after 100 attempts`);
}

/** A free TCP port on 127.0.0.1. */
export async function freeTcpPort(): Promise<number> {
  return (await freePorts(1, 'tcp'))[0];
}

/** A free UDP port on 127.0.0.1. */
export async function freeUdpPort(): Promise<number> {
  return (await freePorts(1, 'udp'))[0];
}

/** A port number free for both TCP and UDP on 127.0.0.1 (e.g. a SIP listener). */
export async function freePort(): Promise<number> {
  return (await freePorts(1, 'both'))[0];
}

/** `count` distinct free ports of the kind, all held while searching so none repeats. */
export async function freePorts(count: number, kind: PortKind = 'both'): Promise<number[]> {
  const held: Held[] = [];
  try {
    const seen = new Set<number>();
    while (held.length < count) {
      const h = await holdFree(kind, seen);
      seen.add(h.port);
      held.push(h);
    }
    return held.map((h) => h.port);
  } finally {
    await Promise.all(held.map((h) => h.release()));
  }
}

/**
 * `count` consecutive free ports (e.g. an RTP range; `count` even keeps RTP on even ports).
 * Taken from 20000–32767, below Linux's default ephemeral range, so port-0 allocations of
 * other tests do not land in it while the peer runs.
 */
export async function freePortRange(count: number, kind: PortKind = 'udp'): Promise<{ first: number; last: number }> {
  const low = 20000;
  const high = 32767 - count;
  for (let attempt = 0; attempt < 200; attempt++) {
    const first = (low + Math.floor(Math.random() * (high - low))) & ~1;
    const held: Array<() => Promise<void>> = [];
    let ok = true;
    for (let p = first; p < first + count && ok; p++) {
      if (kind !== 'tcp') {
        const u = await bindUdp(p);
        if (u) held.push(() => closeUdp(u));
        else ok = false;
      }
      if (ok && kind !== 'udp') {
        const t = await bindTcp(p);
        if (t) held.push(() => closeTcp(t));
        else ok = false;
      }
    }
    await Promise.all(held.map((r) => r()));
    if (ok) return { first, last: first + count - 1 };
  }
  throw new Error(`no ${count} consecutive free ${kind} ports found`);
}

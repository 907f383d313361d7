// Proves the integration harness itself: every real peer starts on free loopback ports, does the
// one thing the suites rely on, and is gone (by PID) after stop.

import { describe, it, expect, afterAll } from '@jest/globals';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { SerialPort } from 'serialport';
import WebSocket from 'ws';
import { freePorts, freePortRange, freeTcpPort, freeUdpPort } from '../support/ports.js';
import {
  MissingPeerError,
  PeerStartError,
  descendants,
  processAlive,
  runningPeers,
  spawnPeer,
  stopAllPeers,
} from '../support/process.js';
import { buildOptions, parseSipResponse } from '../support/sip.js';
import { mqttConnack } from '../support/mqtt.js';
import {
  launchChromium,
  mosquittoPub,
  mosquittoSub,
  sippScenarioPath,
  SIPP_SCENARIOS,
  startBaresip,
  startKamailio,
  startMosquitto,
  startSipp,
  startSocatPtyPair,
} from '../support/peers/index.js';
import { openPort, closePort } from '../support/serial.js';

afterAll(stopAllPeers);

/** process.kill(pid, 0) must throw ESRCH: the PID no longer exists. */
function expectPidGone(pid: number): void {
  let code: string | undefined;
  try {
    process.kill(pid, 0);
  } catch (e) {
    code = (e as NodeJS.ErrnoException).code;
  }
  expect(code).toBe('ESRCH');
}



function readBytes(port: SerialPort, n: number, timeoutMs = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= n) {
        cleanup();
        resolve(Buffer.concat(chunks));
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`read ${got} of ${n} bytes: ${Buffer.concat(chunks).toString('hex')}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      port.off('data', onData);
    };
    port.on('data', onData);
  });
}

describe('harness basics', () => {
  it('allocates distinct free ports that can be bound', async () => {
    const both = await freePorts(6, 'both');
    expect(new Set(both).size).toBe(6);
    const [t, u] = [await freeTcpPort(), await freeUdpPort()];
    for (const p of [...both, t, u]) {
      expect(p).toBeGreaterThan(1023);
      expect(p).toBeLessThan(65536);
    }
    // a UDP port handed out is really bindable
    const sock = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(u, '127.0.0.1', () => resolve());
    });
    sock.close();
    const range = await freePortRange(10);
    expect(range.last - range.first).toBe(9);
    expect(range.first % 2).toBe(0);
  });

  it('names the Debian package when a peer binary is missing', async () => {
    const err = await spawnPeer({ name: 'ghost', command: 'deskline-no-such-peer', debianPackage: 'deskline-ghost-pkg' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MissingPeerError);
    expect((err as Error).message).toContain('deskline-ghost-pkg');
  });

  it('fails readiness with the peer output when it exits early or never gets ready', async () => {
    const port = await freeTcpPort();
    const early = await spawnPeer({
      name: 'early',
      command: 'sh',
      args: ['-c', 'echo boom-on-stdout; echo bang-on-stderr >&2; exit 3'],
      debianPackage: 'dash',
      ready: { tcp: port },
      readyTimeoutMs: 3000,
    }).catch((e: unknown) => e);
    expect(early).toBeInstanceOf(PeerStartError);
    expect((early as Error).message).toMatch(/exited before it was ready \(code 3/);
    expect((early as Error).message).toContain('boom-on-stdout');
    expect((early as Error).message).toContain('bang-on-stderr');

    const slow = await spawnPeer({
      name: 'slow',
      command: 'sh',
      args: ['-c', 'echo still-starting; exec sleep 30'],
      debianPackage: 'dash',
      ready: { tcp: port },
      readyTimeoutMs: 300,
    }).catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(PeerStartError);
    expect((slow as Error).message).toMatch(/not ready within 300 ms/);
    expect((slow as Error).message).toContain('still-starting');
    // the failed peer was stopped and unregistered
    expect(runningPeers()).toHaveLength(0);
  });

  it('stops a peer that ignores SIGTERM with SIGKILL, children included', async () => {
    const peer = await spawnPeer({
      name: 'stubborn',
      command: 'sh',
      args: ['-c', "trap '' TERM; sleep 30 & echo child-started; wait"],
      debianPackage: 'dash',
      ready: { line: /child-started/ },
      stopGraceMs: 300,
    });
    const kids = descendants(peer.pid);
    expect(kids.length).toBeGreaterThan(0);
    const exit = await peer.stop();
    expect(exit.signal).toBe('SIGKILL');
    expectPidGone(peer.pid);
    for (const k of kids) expect(processAlive(k.pid)).toBe(false);
  });
});

describe('socat pty pair + serialport', () => {
  it('carries all 256 byte values both ways', async () => {
    const pair = await startSocatPtyPair();
    expect(pair.devA).toMatch(/^\/dev\/pts\/\d+$/);
    expect(pair.devB).not.toBe(pair.devA);
    const a = await openPort(pair.a);
    const b = await openPort(pair.b);
    try {
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const atB = readBytes(b, 256);
      a.write(all);
      expect((await atB).equals(all)).toBe(true);

      const reversed = Buffer.from(all).reverse();
      const atA = readBytes(a, 256);
      b.write(reversed);
      expect((await atA).equals(reversed)).toBe(true);
    } finally {
      await closePort(a);
      await closePort(b);
    }
    await pair.stop();
    expectPidGone(pair.pid);
  }, 15_000);
});

describe('chromium via playwright-core', () => {
  let server: Server | undefined;
  afterAll(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  it('loads a page from a local http server and reads its text', async () => {
    const token = randomBytes(6).toString('hex');
    server = createHttpServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        `<!doctype html><title>harness</title><h1 id="static">Deskline ${token} 王力</h1>` +
          `<p id="dyn"></p><script>document.getElementById('dyn').textContent = 'path=' + location.pathname + ' sum=' + (6 * 7);</script>`,
      );
    });
    const port = await freeTcpPort();
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', () => r()));

    const chrome = await launchChromium();
    const tree = descendants(chrome.pid);
    expect(tree.length).toBeGreaterThan(0);
    try {
      const page = await chrome.browser.newPage();
      await page.goto(`http://127.0.0.1:${port}/phone`);
      expect(await page.textContent('#static')).toBe(`Deskline ${token} 王力`);
      expect(await page.textContent('#dyn')).toBe('path=/phone sum=42');
    } finally {
      await chrome.close();
    }
    expectPidGone(chrome.pid);
    for (const p of tree) expect(processAlive(p.pid)).toBe(false);
  }, 45_000);
});

describe('kamailio registrar', () => {
  it('answers SIP OPTIONS and accepts a digest-authenticated REGISTER from sipp', async () => {
    const kam = await startKamailio({ users: { alice: 'alicepw', '1000': 'secret1000' } });

    // OPTIONS over UDP with node:dgram
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const callId = `harness-${randomBytes(4).toString('hex')}`;
    const reply = new Promise<Buffer>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no reply to OPTIONS')), 3000);
      sock.once('message', (m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
    sock.send(buildOptions(kam.host, kam.port, sock.address().port, callId), kam.port, kam.host);
    const res = parseSipResponse(await reply);
    sock.close();
    expect(res).not.toBeNull();
    expect(res!.raw.startsWith('SIP/2.0 200 ')).toBe(true);
    expect(res!.headers['call-id']).toBe(callId);
    expect(res!.headers['cseq']).toBe('1 OPTIONS');

    const scenario = sippScenarioPath(SIPP_SCENARIOS.regAuth);
    const good = await startSipp([kam.domain, '-sf', scenario, '-s', 'alice', '-au', 'alice', '-ap', 'alicepw', '-m', '1'], {
      timeoutSec: 10,
    });
    const ok = await good.exited;
    expect({ code: ok.code, output: ok.code === 0 ? '' : ok.output }).toEqual({ code: 0, output: '' });
    expectPidGone(good.pid);

    // a wrong password gets a second 401, which the scenario does not expect: sipp fails
    const bad = await startSipp([kam.domain, '-sf', scenario, '-s', 'alice', '-au', 'alice', '-ap', 'wrong', '-m', '1'], {
      timeoutSec: 10,
    });
    expect((await bad.exited).code).not.toBe(0);

    await kam.stop();
    expectPidGone(kam.pid);
  }, 40_000);
});

describe('kamailio with WebSocket', () => {
  it('accepts a SIP WebSocket and answers OPTIONS over it', async () => {
    const kam = await startKamailio({ websocket: true });
    expect(kam.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const ws = new WebSocket(kam.wsUrl!, 'sip');
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      expect(ws.protocol).toBe('sip');
      const callId = `ws-${randomBytes(4).toString('hex')}`;
      const reply = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
      ws.send(
        `OPTIONS sip:${kam.host}:${kam.wsPort} SIP/2.0\r\n` +
          `Via: SIP/2.0/WS harness.invalid;branch=z9hG4bK${randomBytes(5).toString('hex')}\r\n` +
          `Max-Forwards: 70\r\nFrom: <sip:probe@harness.invalid>;tag=1\r\nTo: <sip:${kam.host}:${kam.wsPort}>\r\n` +
          `Call-ID: ${callId}\r\nCSeq: 7 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
      );
      const res = parseSipResponse(await reply);
      expect(res?.status).toBe(200);
      expect(res?.headers['call-id']).toBe(callId);
    } finally {
      ws.close();
    }
    await kam.stop();
    expectPidGone(kam.pid);
  }, 30_000);
});

describe('mosquitto broker', () => {
  it('authenticates against its password file and round-trips a publish', async () => {
    const broker = await startMosquitto({ users: { deskline: 'pw-123', cloud: 'pw-cloud' } });
    expect(await mqttConnack(broker.port, { username: 'deskline', password: 'pw-123' })).toBe(0);
    // 5 = not authorised (wrong password / anonymous refused)
    expect(await mqttConnack(broker.port, { username: 'deskline', password: 'nope' })).toBe(5);
    expect(await mqttConnack(broker.port)).toBe(5);

    const topic = `dl/v1/harness/${randomBytes(3).toString('hex')}`;
    const sub = mosquittoSub({ port: broker.port, username: 'cloud', password: 'pw-cloud', topic: 'dl/v1/harness/#', count: 1, timeoutMs: 8000 });
    await sub.subscribed;
    await mosquittoPub({ port: broker.port, username: 'deskline', password: 'pw-123', topic, message: 'hello 你好' });
    expect(await sub.messages).toEqual([`${topic} hello 你好`]);
    expectPidGone(sub.pid);

    await broker.stop();
    expectPidGone(broker.pid);
  }, 30_000);
});

describe('baresip far end', () => {
  it('answers ctrl_tcp commands', async () => {
    const far = await startBaresip();
    const reply = await far.command('reginfo');
    expect(reply.ok).toBe(true);
    expect(reply.data).toContain(`far@127.0.0.1:${far.sipPort}`);
    const unknown = await far.command('no-such-command-xyz');
    expect(unknown.ok).toBe(false);
    await far.stop();
    expectPidGone(far.pid);
  }, 30_000);
});

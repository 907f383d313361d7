// The phone's SIP account registers at a real Kamailio (digest auth) over UDP and TCP, Kamailio's
// location table routes requests to it, a wrong password backs off instead of hammering, short
// registrations are refreshed, and over UDP a lost REGISTER is retransmitted at T1.

import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { SystemClock, type Clock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/log.js';
import { SipAccount, type SipAccountOptions, type SipAccountState, type SipAccountStateChange } from '../../src/sip/registration/index.js';
import { startKamailio, stopAllPeers, type Kamailio } from '../support/index.js';
import { parseSipResponse } from '../support/sip.js';
import { FakeClock } from '../support/fake-clock.js';
import type { SipTransportKind } from '../../src/sip/transport/index.js';

interface Traced {
  direction: 'in' | 'out';
  transport: SipTransportKind;
  text: string;
  at: number;
}

const accounts: SipAccount[] = [];
let kam: Kamailio;
const clocks: SystemClock[] = [];

beforeAll(async () => {
  kam = await startKamailio({ minExpires: 10 });
}, 30_000);

afterAll(async () => {
  await Promise.all(accounts.map((a) => a.stop().catch(() => undefined)));
  for (const c of clocks) c.dispose();
  await stopAllPeers();
});

function makeAccount(o: Partial<SipAccountOptions> & { user: string; password: string }, clock?: Clock): { account: SipAccount; trace: Traced[]; states: SipAccountStateChange[] } {
  const trace: Traced[] = [];
  const states: SipAccountStateChange[] = [];
  let c = clock;
  if (!c) {
    const sys = new SystemClock('always');
    clocks.push(sys);
    c = sys;
  }
  const account = new SipAccount({
    domain: kam.domain,
    localHost: '127.0.0.1',
    localPort: 0,
    clock: c,
    log: silentLogger(),
    trace: (e) => trace.push({ direction: e.direction, transport: e.transport, text: e.text, at: Date.now() }),
    ...o,
  });
  account.on('stateChanged', (s) => states.push(s));
  accounts.push(account);
  return { account, trace, states };
}

function waitForState(account: SipAccount, state: SipAccountState, timeoutMs = 8000): Promise<SipAccountStateChange> {
  return new Promise((resolve, reject) => {
    if (account.state === state) {
      resolve({ account: account.id, state, previous: state, reason: account.reason });
      return;
    }
    const timer = setTimeout(() => {
      off();
      reject(new Error(`account ${account.id} did not reach ${state} within ${timeoutMs} ms (now ${account.state}, ${JSON.stringify(account.reason)})`));
    }, timeoutMs);
    const off = account.on('stateChanged', (s) => {
      if (s.state !== state) return;
      clearTimeout(timer);
      off();
      resolve(s);
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function header(text: string, name: string): string | undefined {
  const m = new RegExp(`^${name}[ \\t]*:[ \\t]*(.*)$`, 'im').exec(text.split('\r\n\r\n')[0]);
  return m?.[1].trim();
}
const registersSent = (trace: Traced[]) => trace.filter((t) => t.direction === 'out' && t.text.startsWith('REGISTER '));

/** Sends OPTIONS for the AOR user@domain to Kamailio (which looks the binding up); resolves the final status. */
async function optionsToAor(user: string, timeoutMs = 4000): Promise<number | null> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const local = sock.address().port;
  const callId = `aor-${randomBytes(6).toString('hex')}`;
  const msg =
    `OPTIONS sip:${user}@${kam.domain} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK${randomBytes(6).toString('hex')};rport\r\n` +
    `Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1:${local}>;tag=${randomBytes(4).toString('hex')}\r\n` +
    `To: <sip:${user}@${kam.domain}>\r\nCall-ID: ${callId}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
  try {
    return await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      sock.on('message', (m) => {
        const r = parseSipResponse(m);
        if (r && r.status >= 200 && r.headers['call-id'] === callId) {
          clearTimeout(timer);
          resolve(r.status);
        }
      });
      sock.send(msg, kam.port, kam.host);
    });
  } finally {
    sock.close();
  }
}

describe('SIP registration at Kamailio', () => {
  it('registers over UDP with digest auth; Kamailio routes the AOR to the phone; stop() removes the binding', async () => {
    const { account, trace } = makeAccount({ user: 'alice', password: 'alicepw', transport: 'udp', expires: 300 });
    const registered = new Promise<{ expires: number }>((r) => account.on('registered', r));
    await account.start();
    await waitForState(account, 'registered');
    expect((await registered).expires).toBe(300);

    // challenge, then the answer with credentials (RFC 3261 §22.2)
    const regs = registersSent(trace);
    expect(regs).toHaveLength(2);
    expect(header(regs[0].text, 'Authorization')).toBeUndefined();
    expect(header(regs[1].text, 'Authorization')).toMatch(/^Digest .*username="alice"/);
    expect(regs.map((r) => r.transport)).toEqual(['UDP', 'UDP']);
    // Via with rport (RFC 3581), Contact on our listening port
    expect(header(regs[1].text, 'Via')).toMatch(/^SIP\/2\.0\/UDP 127\.0\.0\.1;branch=z9hG4bK\S+;rport/);
    expect(header(regs[1].text, 'Contact')).toContain(`@127.0.0.1:${account.localPort};transport=udp>`);
    const challenged = trace.find((t) => t.direction === 'in' && t.text.startsWith('SIP/2.0 401'));
    expect(challenged).toBeDefined();
    // the password never travels
    expect(trace.some((t) => t.text.includes('alicepw'))).toBe(false);

    // Kamailio has the binding: an OPTIONS to the AOR reaches the phone, which answers 200
    expect(await optionsToAor('alice')).toBe(200);
    const inbound = trace.find((t) => t.direction === 'in' && t.text.startsWith('OPTIONS '));
    expect(inbound).toBeDefined();
    // it came from Kamailio's own socket, so Kamailio's Via needs no received= (§18.2.1)
    expect(header(inbound!.text, 'Via')).toMatch(new RegExp(`^SIP/2\\.0/UDP 127\\.0\\.0\\.1:${kam.port};branch=`));
    expect(header(inbound!.text, 'Via')).not.toContain('received=');

    await account.stop();
    expect(account.state).toBe('unregistered');
    expect(await optionsToAor('alice')).toBe(404);
  }, 30_000);

  it('registers over TCP; Kamailio reaches the phone over TCP', async () => {
    const { account, trace } = makeAccount({ user: 'bob', password: 'bobpw', transport: 'tcp', expires: 300 });
    await account.start();
    await waitForState(account, 'registered');
    const regs = registersSent(trace);
    expect(regs.map((r) => r.transport)).toEqual(['TCP', 'TCP']);
    expect(header(regs[1].text, 'Via')).toMatch(/^SIP\/2\.0\/TCP /);
    expect(header(regs[1].text, 'Contact')).toContain(`:${account.localPort};transport=tcp>`);
    expect(account.endpoint!.connectionCount).toBeGreaterThanOrEqual(1);

    expect(await optionsToAor('bob')).toBe(200);
    const inbound = trace.find((t) => t.direction === 'in' && t.text.startsWith('OPTIONS '));
    expect(inbound?.transport).toBe('TCP');
    await account.stop();
    expect(await optionsToAor('bob')).toBe(404);
  }, 30_000);

  it('a wrong password ends in auth-failed and backs off instead of hammering the registrar', async () => {
    const clock = new FakeClock();
    const { account, trace, states } = makeAccount({ user: '1000', password: 'not-the-password', transport: 'udp' }, clock);
    const before = (kam.process.output().match(/REQ REGISTER sip:/g) ?? []).length;
    await account.start();
    const failed = await waitForState(account, 'auth-failed');
    expect(failed.reason).toMatchObject({ code: 'auth-failed', statusCode: 401 });
    expect(failed.retryInMs).toBe(60_000);

    // a quiet window: nothing more goes out until the back-off elapses
    await sleep(2500);
    expect(registersSent(trace)).toHaveLength(2); // challenge + the wrong answer
    const atKamailio = (kam.process.output().match(/REQ REGISTER sip:/g) ?? []).length - before;
    expect(atKamailio).toBe(2);
    expect(account.state).toBe('auth-failed');

    // the back-off elapses (injected clock): one more try, then a doubled back-off
    clock.advance(60_000);
    await waitForState(account, 'registering', 2000).catch(() => undefined);
    await waitForCount(() => states.filter((s) => s.state === 'auth-failed').length, 2);
    expect(registersSent(trace)).toHaveLength(4);
    expect(states.filter((s) => s.state === 'auth-failed').map((s) => s.retryInMs)).toEqual([60_000, 120_000]);
    expect(states.some((s) => s.state === 'registered')).toBe(false);
    await account.stop();
  }, 30_000);

  it('refreshes a short registration before it expires', async () => {
    const { account, trace } = makeAccount({ user: '1000', password: 'secret1000', transport: 'udp', expires: 10, refreshPercent: 50 });
    const grants: Array<{ expires: number; refresh: boolean; at: number }> = [];
    account.on('registered', (r) => grants.push({ ...r, at: Date.now() }));
    await account.start();
    await waitForState(account, 'registered');
    const granted = grants[0].expires;
    // the harness starts Kamailio with min_expires 10
    expect(granted).toBe(10);
    await waitForCount(() => grants.length, 2, (granted * 0.5 + 5) * 1000);
    expect(grants[1].refresh).toBe(true);
    // refreshed at half the granted time, well before it lapsed
    const after = (grants[1].at - grants[0].at) / 1000;
    expect(after).toBeGreaterThan(granted * 0.5 - 1);
    expect(after).toBeLessThan(granted);
    expect(account.state).toBe('registered');
    // a refresh reuses the Call-ID with the next CSeq (RFC 3261 §10.2.4)
    const ok = registersSent(trace).filter((t) => header(t.text, 'Authorization'));
    expect(new Set(ok.map((t) => header(t.text, 'Call-ID'))).size).toBe(1);
    expect(await optionsToAor('1000')).toBe(200);
    await account.stop();
  }, 60_000);
});

async function waitForCount(count: () => number, n: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (count() < n) {
    if (Date.now() > deadline) throw new Error(`count stayed at ${count()} (wanted ${n}) for ${timeoutMs} ms`);
    await sleep(20);
  }
}

/**
 * A registrar's answer to a REGISTER (RFC 3261 §10.3): the Via with the source it saw
 * (received/rport, RFC 3581), and for a 2xx the binding with its expiry.
 */
function registerAnswer(register: string, status: string, seenFrom: { address: string; port: number }): string {
  const via = header(register, 'Via')!.replace(/;rport(?=;|$)/, `;rport=${seenFrom.port};received=${seenFrom.address}`);
  const binding = status.startsWith('2') ? `Contact: ${/<[^>]+>/.exec(header(register, 'Contact')!)![0]};expires=120\r\n` : '';
  return (
    `SIP/2.0 ${status}\r\nVia: ${via}\r\nFrom: ${header(register, 'From')}\r\nTo: ${header(register, 'To')};tag=reg1\r\n` +
    `Call-ID: ${header(register, 'Call-ID')}\r\nCSeq: ${header(register, 'CSeq')}\r\n${binding}Content-Length: 0\r\n\r\n`
  );
}

describe('UDP retransmission against a lossy registrar', () => {
  let registrar: Socket | undefined;
  let stopAccount: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await stopAccount?.();
    registrar?.close();
  });

  it('retransmits a REGISTER the registrar ignored at T1 and completes', async () => {
    registrar = createSocket('udp4');
    await new Promise<void>((r) => registrar!.bind(0, '127.0.0.1', () => r()));
    const port = registrar.address().port;
    const seen: Array<{ text: string; at: number }> = [];
    registrar.on('message', (m, rinfo) => {
      const text = m.toString();
      if (!text.startsWith('REGISTER ')) return;
      seen.push({ text, at: Date.now() });
      if (seen.length === 1) return; // the first one is "lost"
      registrar!.send(registerAnswer(text, '200 OK', { address: rinfo.address, port: rinfo.port }), rinfo.port, rinfo.address);
    });
    const { account } = makeAccount({
      user: 'carol',
      password: 'x',
      domain: `127.0.0.1:${port}`,
      transport: 'udp',
      timers: { t1: 100, t2: 400 },
    });
    stopAccount = () => account.stop();
    await account.start();
    await waitForState(account, 'registered', 3000);
    expect(seen).toHaveLength(2);
    // the same request again: same branch, same CSeq (RFC 3261 §17.1.2.2)
    expect(header(seen[1].text, 'Via')).toBe(header(seen[0].text, 'Via'));
    expect(header(seen[1].text, 'CSeq')).toBe(header(seen[0].text, 'CSeq'));
    // Timer E fired around T1 (100 ms), not at sip.js's 32 s Timer F; the exact
    // schedule is checked on a fake clock in test/unit/sip/transport
    const gap = seen[1].at - seen[0].at;
    expect(gap).toBeLessThan(2000);
    // after the 200 nothing more is retransmitted
    await sleep(500);
    expect(seen).toHaveLength(2);
    expect(account.endpoint!.reliability.stats.retransmissions).toBe(1);
    await account.stop();
  }, 15_000);
});

describe('behind NAT', () => {
  let registrar: Socket | undefined;
  let stopAccount: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await stopAccount?.();
    registrar?.close();
  });

  it('advertises the address:port the registrar saw (Via received/rport) in its Contact and re-registers once', async () => {
    registrar = createSocket('udp4');
    await new Promise<void>((r) => registrar!.bind(0, '127.0.0.1', () => r()));
    const port = registrar.address().port;
    const contacts: string[] = [];
    registrar.on('message', (m, rinfo) => {
      const text = m.toString();
      if (!text.startsWith('REGISTER ')) return;
      contacts.push(header(text, 'Contact')!);
      // a router in between: the registrar saw the request come from 203.0.113.7:40000
      registrar!.send(registerAnswer(text, '200 OK', { address: '203.0.113.7', port: 40000 }), rinfo.port, rinfo.address);
    });
    const { account } = makeAccount({ user: 'dave', password: 'x', domain: `127.0.0.1:${port}`, transport: 'udp' });
    stopAccount = () => account.stop();
    await account.start();
    await waitForCount(() => contacts.length, 2, 5000);
    expect(contacts[0]).toMatch(/@127\.0\.0\.1:\d+/);
    expect(contacts[0]).not.toMatch(/203\.0\.113\.7/);
    expect(contacts[1]).toMatch(/@203\.0\.113\.7:40000[;>]/);
    expect(account.publicAddress).toEqual({ address: '203.0.113.7', port: 40000 });
    expect(account.state).toBe('registered');
    // the mapping is stable: no further REGISTER
    await sleep(500);
    expect(contacts).toHaveLength(2);
  }, 15_000);
});

describe('registrar failover', () => {
  let primary: Socket | undefined;
  let stopAccount: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await stopAccount?.();
    primary?.close();
  });

  it('registers at the backup registrar while the registrar answers 503, and says where', async () => {
    primary = createSocket('udp4');
    await new Promise<void>((r) => primary!.bind(0, '127.0.0.1', () => r()));
    let refused = 0;
    primary.on('message', (m, rinfo) => {
      const text = m.toString();
      if (!text.startsWith('REGISTER ')) return;
      refused++;
      primary!.send(registerAnswer(text, '503 Service Unavailable', { address: rinfo.address, port: rinfo.port }), rinfo.port, rinfo.address);
    });
    const { account, states } = makeAccount({
      user: '1000', password: 'secret1000', transport: 'udp',
      registrar: `127.0.0.1:${primary.address().port}`, backupRegistrar: kam.domain,
      backoff: { initialMs: 100 },
    });
    stopAccount = () => account.stop();
    await account.start();
    await waitForState(account, 'registered', 8000);
    expect(refused).toBe(1);
    expect(states.find((s) => s.state === 'failed')?.reason?.statusCode).toBe(503);
    expect(account.registrar).toBe(`sip:${kam.domain}`);
    // Kamailio (the backup) routes the AOR to the phone
    expect(await optionsToAor('1000')).toBe(200);
  }, 20_000);
});

// Several accounts on one SIP endpoint: each inbound message reaches exactly one sip.js UserAgent
// (by Call-ID for dialogs and transactions it already has, by Request-URI user for new requests,
// else the first account), and INVITEs from sources the account does not admit get 403
// without reaching sip.js.
import { describe, it, expect, afterEach } from '@jest/globals';
import { UserAgent, type Invitation } from 'sip.js';
import { createSipTransport, SipEndpoint, probeSipMessage } from '../../../../src/sip/transport/index.js';
import { statelessResponse } from '../../../../src/sip/transport/message.js';
import { dtmfFromInfo } from '../../../../src/sip/line.js';
import { FakeClock } from '../../../support/fake-clock.js';
import { captureLogger } from '../../../support/log.js';
import type { Socket } from 'node:dgram';
import { udpPeer, type UdpPeer } from '../../../support/sip.js';
import { waitFor } from '../../../support/wait.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Account {
  ua: UserAgent;
  invites: Invitation[];
  options: string[];
}

async function sharedEndpoint(users: string[], admit?: (address: string) => boolean) {
  const clock = new FakeClock();
  const { log, lines } = captureLogger('debug');
  const endpoint = new SipEndpoint({ clock, log, host: '127.0.0.1', port: 0 });
  cleanups.push(() => endpoint.close());
  const accounts: Account[] = [];
  for (const user of users) {
    const setup = await createSipTransport({
      endpoint, protocol: 'UDP', server: { host: '127.0.0.1', port: 9 }, user, clock, log,
      admitInvite: admit ? (info) => admit(info.address) : undefined,
    });
    const account: Account = { ua: null as unknown as UserAgent, invites: [], options: [] };
    account.ua = new UserAgent({
      uri: UserAgent.makeURI(`sip:${user}@127.0.0.1`),
      logBuiltinEnabled: false,
      delegate: { onInvite: (i) => void account.invites.push(i) },
      ...setup.userAgentOptions,
    });
    setup.applyContact(account.ua);
    await account.ua.start();
    cleanups.push(() => account.ua.stop());
    accounts.push(account);
  }
  return { endpoint, accounts, lines, port: endpoint.port };
}

async function peer(address = '127.0.0.1'): Promise<UdpPeer> {
  const p = await udpPeer(address);
  cleanups.push(() => p.close());
  return p;
}

let seq = 0;
function invite(user: string, from: { address: string; port: number }, to = user): string {
  seq++;
  const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';
  return (
    `INVITE sip:${user}@127.0.0.1 SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP ${from.address}:${from.port};branch=z9hG4bKinv${seq};rport\r\nMax-Forwards: 70\r\n` +
    `From: <sip:caller@${from.address}>;tag=c${seq}\r\nTo: <sip:${to}@127.0.0.1>\r\nCall-ID: call-${seq}@test\r\nCSeq: 1 INVITE\r\n` +
    `Contact: <sip:caller@${from.address}:${from.port}>\r\nContent-Type: application/sdp\r\nContent-Length: ${sdp.length}\r\n\r\n${sdp}`
  );
}

function send(sock: Socket, text: string, port: number): Promise<void> {
  return new Promise((r) => sock.send(text, port, '127.0.0.1', () => r()));
}


describe('several accounts on one endpoint', () => {
  it('a new INVITE reaches the account named in its Request-URI, and only that one', async () => {
    const { accounts, port } = await sharedEndpoint(['alice', 'bob']);
    const caller = await peer();
    await send(caller.sock, invite('bob', { address: '127.0.0.1', port: caller.port }), port);
    await waitFor(() => accounts[1].invites.length === 1, "bob's INVITE");
    expect(accounts[0].invites).toHaveLength(0);
    await send(caller.sock, invite('alice', { address: '127.0.0.1', port: caller.port }), port);
    await waitFor(() => accounts[0].invites.length === 1, "alice's INVITE");
    expect(accounts[1].invites).toHaveLength(1);
  });

  it('routes by the Contact user sip.js registered (what a proxy puts in the Request-URI)', async () => {
    const { accounts, port } = await sharedEndpoint(['alice', 'bob']);
    const caller = await peer();
    const contactUser = accounts[1].ua.contact.uri.user!;
    expect(contactUser).not.toBe('bob');
    await send(caller.sock, invite(contactUser, { address: '127.0.0.1', port: caller.port }, 'bob'), port);
    await waitFor(() => accounts[1].invites.length === 1, "bob's INVITE");
    expect(accounts[0].invites).toHaveLength(0);
  });

  it('a request for nobody here reaches one account only, which answers 404 once', async () => {
    const { accounts, port } = await sharedEndpoint(['alice', 'bob']);
    const caller = await peer();
    await send(caller.sock, invite('frontdesk', { address: '127.0.0.1', port: caller.port }), port);
    expect(await caller.next()).toMatch(/^SIP\/2\.0 404 /);
    expect(await caller.next(300)).toBeNull();
    expect(accounts[0].invites).toHaveLength(0);
    expect(accounts[1].invites).toHaveLength(0);
  });

  it('follow-up requests of a dialog (CANCEL) reach the account that took the INVITE', async () => {
    const { accounts, port } = await sharedEndpoint(['alice', 'bob']);
    const caller = await peer();
    const inv = invite('bob', { address: '127.0.0.1', port: caller.port });
    await send(caller.sock, inv, port);
    await waitFor(() => accounts[1].invites.length === 1, "bob's INVITE");
    const cancel = inv
      .replace(/^INVITE /, 'CANCEL ')
      .replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL')
      .replace(/Content-Type:[^\r]*\r\n/, '')
      .replace(/Content-Length: \d+\r\n\r\n[\s\S]*$/, 'Content-Length: 0\r\n\r\n')
      // a CANCEL whose To names alice still belongs to bob's transaction (same Call-ID)
      .replace('To: <sip:bob@', 'To: <sip:alice@');
    let cancelled = false;
    accounts[1].invites[0].delegate = { onCancel: () => void (cancelled = true) };
    await send(caller.sock, cancel, port);
    await waitFor(() => cancelled, "the CANCEL at bob");
    expect(accounts[0].invites).toHaveLength(0);
  });

  it('responses reach the account that sent the request (by Call-ID)', async () => {
    const { accounts, endpoint, port } = await sharedEndpoint(['alice', 'bob']);
    const server = await peer();
    // bob sends OPTIONS to the peer; the peer answers; only bob's transaction completes
    const target = UserAgent.makeURI(`sip:probe@127.0.0.1:${server.port}`)!;
    const { Messager } = await import('sip.js');
    let accepted = 0;
    const messager = new Messager(accounts[1].ua, target, 'hello');
    await messager.message({ requestDelegate: { onAccept: () => void accepted++ } });
    const req = await server.next();
    expect(req).toMatch(/^MESSAGE /);
    const p = probeSipMessage(req!);
    if (!p.ok) throw new Error(p.reason);
    await send(server.sock, statelessResponse(req!, p.probe, 200, 'OK'), port);
    await waitFor(() => accepted === 1, "the 200 at bob");
    // a response nobody asked for is dropped, not handed to every account
    const dropped = endpoint.stats.dropped;
    const stray = req!.replace(/Call-ID: [^\r]+/, 'Call-ID: stray@x').replace(/branch=[^;\r]+/, 'branch=z9hG4bKstray');
    await send(server.sock, statelessResponse(stray, { ...p.probe, callId: 'stray@x' }, 200, 'OK'), port);
    await waitFor(() => endpoint.stats.dropped === dropped + 1, "the stray response dropped");
  });
});

describe('INVITE sources', () => {
  it('an INVITE from a source the account does not admit gets 403 and never rings', async () => {
    const { accounts, port, lines } = await sharedEndpoint(['alice'], (address) => address === '127.0.0.1');
    const scanner = await peer('127.0.0.2');
    await send(scanner.sock, invite('alice', { address: '127.0.0.2', port: scanner.port }), port);
    const answer = await scanner.next();
    expect(answer).toMatch(/^SIP\/2\.0 403 Forbidden\r\n/);
    // the response is a proper one: the caller's Via, From, Call-ID and CSeq, a To tag
    expect(answer).toMatch(/\r\nVia: SIP\/2\.0\/UDP 127\.0\.0\.2:\d+;branch=z9hG4bKinv\d+;rport=\d+;received=127\.0\.0\.2\r\n/);
    expect(answer).toMatch(/\r\nTo: <sip:alice@127\.0\.0\.1>;tag=[0-9a-f]+\r\n/);
    expect(answer).toMatch(/\r\nCSeq: 1 INVITE\r\n/);
    expect(accounts[0].invites).toHaveLength(0);
    expect(lines().some((l) => /not allowed: 403/.test(String(l.msg)))).toBe(true);
    // an admitted source rings
    const pbx = await peer('127.0.0.1');
    await send(pbx.sock, invite('alice', { address: '127.0.0.1', port: pbx.port }), port);
    await waitFor(() => accounts[0].invites.length === 1, "alice's INVITE");
  });

});

describe('DTMF in SIP INFO', () => {
  it('reads application/dtmf-relay and application/dtmf bodies', () => {
    expect(dtmfFromInfo('application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n')).toEqual({ digit: '5', durationMs: 160 });
    expect(dtmfFromInfo('Application/DTMF-Relay; charset=x', 'Signal= #\nDuration= 250')).toEqual({ digit: '#', durationMs: 250 });
    expect(dtmfFromInfo('application/dtmf-relay', 'Signal=10\r\nDuration=100')).toEqual({ digit: '*', durationMs: 100 });
    expect(dtmfFromInfo('application/dtmf-relay', 'Signal=11')).toEqual({ digit: '#', durationMs: 160 });
    expect(dtmfFromInfo('application/dtmf', ' a ')).toEqual({ digit: 'A', durationMs: 160 });
  });

  it('refuses what is not one DTMF digit', () => {
    expect(dtmfFromInfo('application/dtmf-relay', 'Signal=55\r\nDuration=160')).toBeNull();
    expect(dtmfFromInfo('application/dtmf-relay', 'Duration=160')).toBeNull();
    expect(dtmfFromInfo('application/dtmf', 'x')).toBeNull();
    expect(dtmfFromInfo('text/plain', 'Signal=5')).toBeNull();
    expect(dtmfFromInfo('application/dtmf-relay', 'Signal=5\r\nDuration=-3')).toEqual({ digit: '5', durationMs: 160 });
  });
});

// SIP over UDP retransmissions against sipp (issue #4: "Retransmission over UDP"). sipp scenarios
// leave the phone's first request unanswered for a while (a registrar that sits on the first
// REGISTER, a UAS that sits on the INVITE and on the BYE) or withhold the ACK to the phone's
// 200 OK; sipp's -trace_msg log timestamps every copy it receives. The phone (a SipLine with the
// default RFC 3261 timers, T1 = 500 ms) must resend at T1, then 2*T1 (Timers A and E, and the
// 2xx retransmission of RFC 3261 13.3.1.4 / RFC 6026 8.1), stop once answered (or ACKed), and the
// scenarios must complete.
//
// Timing windows are loose on purpose (a loaded 2-core machine delays timers by tens of ms):
// the first gap is about T1, the second about 2*T1 and clearly longer than the first.

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Call } from '../../src/calls/types.js';
import { SystemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/log.js';
import { MediaEngine } from '../../src/media/engine.js';
import type { SipAccountState } from '../../src/sip/registration/index.js';
import { SipLine, type SipCall, type SipLineSettings } from '../../src/sip/line.js';
import { DEFAULT_TIMERS } from '../../src/sip/transport/retransmit.js';
import {
  freePortRange,
  freeUdpPort,
  makeTempDir,
  readSippMessageLog,
  SIPP_SCENARIOS,
  sippListening,
  startSipp,
  stopAllPeers,
  writeSippScenario,
  writeTemplate,
  type Sipp,
  type SippTracedMessage,
} from '../support/index.js';
import { waitForValue } from '../support/wait.js';

const T1 = DEFAULT_TIMERS.t1;
/** How long a scenario sits on a request: the copies at 0, T1 and 3*T1 arrive, the next (7*T1) does not. */
const IGNORE_MS = 5 * T1;
/** Lateness a loaded machine may add to one timer (sipp's and ours). */
const SLACK_MS = 700;

let dir: string;
let engine: MediaEngine;
let clock: SystemClock;
const lines: SipLine[] = [];

beforeAll(async () => {
  dir = await makeTempDir('sip-sipp-retransmit');
  engine = new MediaEngine();
  await engine.start();
  clock = new SystemClock('always');
}, 20_000);

afterAll(async () => {
  for (const line of lines) await line.stop().catch(() => undefined);
  await engine?.stop().catch(() => undefined);
  clock?.dispose();
  await stopAllPeers();
}, 30_000);

// ---- helpers -----------------------------------------------------------------------------------


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One SIP message the phone sent or took in, as its transport's trace hook saw it. */
interface PhoneTraced {
  at: number;
  direction: 'in' | 'out';
  method: string;
  status: number | null;
  branch: string | null;
  text: string;
}

function describeSip(text: string): Pick<PhoneTraced, 'method' | 'status' | 'branch'> {
  const first = text.slice(0, text.indexOf('\r\n'));
  const status = /^SIP\/2\.0 (\d{3})/.exec(first);
  const cseq = /^(?:CSeq):\s*\d+\s+(\S+)/im.exec(text);
  return {
    method: status ? (cseq?.[1] ?? '') : first.split(' ')[0],
    status: status ? Number(status[1]) : null,
    branch: /^(?:Via|v):[^\r\n]*?;branch=([^;,\s]+)/im.exec(text)?.[1] ?? null,
  };
}

interface TestLine {
  line: SipLine;
  trace: PhoneTraced[];
  settings: SipLineSettings;
}

/** A SipLine on 127.0.0.1 whose calls go to `domainPort` and whose REGISTERs go to `registrarPort`. */
function makeLine(o: { domainPort: number; registrarPort: number; autoAnswer?: boolean }): TestLine {
  const trace: PhoneTraced[] = [];
  const settings: SipLineSettings = { autoAnswer: o.autoAnswer ?? false };
  const line = new SipLine({
    account: {
      user: 'alice', domain: `127.0.0.1:${o.domainPort}`, registrar: `127.0.0.1:${o.registrarPort}`, password: 'unused',
      transport: 'udp', localHost: '127.0.0.1', localPort: 0, expires: 3600,
    },
    engine, clock, log: silentLogger(), localAddress: '127.0.0.1', rtpBindAddress: '127.0.0.1',
    settings: () => settings,
    accountOverrides: {
      trace: (e) => void trace.push({ at: performance.now(), direction: e.direction, text: e.text, ...describeSip(e.text) }),
    },
  });
  lines.push(line);
  return { line, trace, settings };
}

function waitAccount(line: SipLine, state: SipAccountState, timeoutMs = 10_000): Promise<void> {
  return waitForValue(`account ${state} (now ${line.account?.state})`, () => line.account?.state === state, timeoutMs).then(() => undefined);
}

function waitState(call: Call, state: Call['state'], timeoutMs = 10_000): Promise<void> {
  return waitForValue(`call ${state} (now ${call.state})`, () => call.state === state, timeoutMs).then(() => undefined);
}

interface Peer {
  sipp: Sipp;
  log: string;
}

let scenarioCount = 0;

/** sipp running one of our scenarios as a server (registrar or UAS), tracing every message. */
async function startServer(template: string, vars: Record<string, string | number>): Promise<Peer> {
  const n = ++scenarioCount;
  const scenario = await writeTemplate(template, dir, vars, `${n}-${template}`);
  const port = await freeUdpPort();
  const media = await freePortRange(4);
  const log = join(dir, `${n}-messages.log`);
  const sipp = await startSipp(
    ['-sf', scenario, '-m', '1', '-p', String(port), '-mi', '127.0.0.1', '-mp', String(media.first), '-trace_msg', '-message_file', log],
    { ready: sippListening(port), timeoutSec: 60 },
  );
  return { sipp, log };
}

async function expectCompleted(peer: Peer): Promise<SippTracedMessage[]> {
  const result = await peer.sipp.exited;
  expect({ code: result.code, output: result.code === 0 ? '' : result.output }).toEqual({ code: 0, output: '' });
  return readSippMessageLog(peer.log);
}

/** The copies of the first message that matches, in arrival order (same branch, and byte-identical). */
function copiesOfFirst(log: SippTracedMessage[], match: (m: SippTracedMessage) => boolean): SippTracedMessage[] {
  const first = log.find(match);
  if (!first) throw new Error('no such message in the sipp trace');
  const copies = log.filter((m) => match(m) && m.branch === first.branch);
  for (const c of copies) expect(c.text).toBe(first.text);
  return copies;
}

/**
 * RFC 3261 17.1.1.2 / 17.1.2.2 (and 13.3.1.4 for a 2xx): the first retransmission after T1, the
 * next after 2*T1 — checked on arrival times at sipp, in windows no loaded machine misses.
 */
function expectDoublingFromT1(at: number[]): void {
  expect(at.length).toBeGreaterThanOrEqual(3);
  const gap1 = at[1] - at[0];
  const gap2 = at[2] - at[1];
  const shown = { gap1: Math.round(gap1), gap2: Math.round(gap2) };
  expect(shown.gap1).toBeGreaterThanOrEqual(0.8 * T1);
  expect(shown.gap1).toBeLessThanOrEqual(T1 + SLACK_MS);
  expect(shown.gap2).toBeGreaterThanOrEqual(1.6 * T1);
  expect(shown.gap2).toBeLessThanOrEqual(2 * T1 + SLACK_MS);
  // doubling: the second gap is clearly the longer one
  expect(shown.gap2 - shown.gap1).toBeGreaterThanOrEqual(T1 / 4);
}

/** The times the phone itself sent `match`ing messages, for cross-checking sipp's count. */
const phoneSent = (t: TestLine, match: (m: PhoneTraced) => boolean) => t.trace.filter((m) => m.direction === 'out' && match(m));

// ---- tests -------------------------------------------------------------------------------------

describe('UDP retransmissions at RFC 3261 intervals, seen by sipp', () => {
  it('a registrar that ignores the first REGISTER sees it again after T1 and 2*T1; the phone registers and unregisters', async () => {
    const registrar = await startServer(SIPP_SCENARIOS.registrarSlow, { PAUSE_MS: IGNORE_MS, EXPIRES: 3600 });
    const t = makeLine({ domainPort: registrar.sipp.localPort, registrarPort: registrar.sipp.localPort });
    await t.line.start();
    await waitAccount(t.line, 'registered', IGNORE_MS + 10_000);
    expect(t.line.account!.endpoint!.reliability.stats.retransmissions).toBeGreaterThanOrEqual(2);
    await t.line.stop();
    const log = await expectCompleted(registrar);

    const copies = copiesOfFirst(log, (m) => m.direction === 'received' && m.method === 'REGISTER' && m.status === null);
    expectDoublingFromT1(copies.map((c) => c.at));
    // the retransmissions stopped once the 200 OK arrived
    const ok = log.find((m) => m.direction === 'sent' && m.status === 200 && m.method === 'REGISTER')!;
    expect(copies.every((c) => c.at < ok.at)).toBe(true);
    // every copy the phone sent reached sipp
    expect(phoneSent(t, (m) => m.method === 'REGISTER' && m.branch === copies[0].branch)).toHaveLength(copies.length);
    // the un-REGISTER on stop was answered at once and so went out once
    const unregister = log.filter((m) => m.direction === 'received' && m.method === 'REGISTER' && m.branch !== copies[0].branch);
    expect(unregister).toHaveLength(1);
  }, 40_000);

  it('a UAS that ignores the INVITE and then the BYE sees each again after T1 and 2*T1; the call is set up and ended', async () => {
    const registrar = await startServer(SIPP_SCENARIOS.registrarSlow, { PAUSE_MS: 1, EXPIRES: 3600 });
    const uas = await startServer(SIPP_SCENARIOS.uasSlow, { INVITE_PAUSE_MS: IGNORE_MS, BYE_PAUSE_MS: IGNORE_MS });
    const t = makeLine({ domainPort: uas.sipp.localPort, registrarPort: registrar.sipp.localPort });
    await t.line.start();
    await waitAccount(t.line, 'registered');

    const call = (await t.line.placeCall('1000')) as SipCall;
    const states: string[] = [];
    call.on('stateChanged', ({ state, reason }) => void states.push(reason ? `${state}:${reason}` : state));
    await waitState(call, 'active', IGNORE_MS + 10_000);
    await call.hangup();
    await waitState(call, 'ended', IGNORE_MS + 10_000);
    expect(states).toEqual(['alerting', 'active', 'ended:local-hangup']);
    const log = await expectCompleted(uas);
    await t.line.stop();
    await expectCompleted(registrar);

    // Timer A: the INVITE at 0, T1, 3*T1; none after the first response
    const invites = copiesOfFirst(log, (m) => m.direction === 'received' && m.method === 'INVITE' && m.status === null);
    expectDoublingFromT1(invites.map((c) => c.at));
    const firstAnswer = log.find((m) => m.direction === 'sent' && m.method === 'INVITE' && m.status !== null)!;
    expect(invites.every((c) => c.at < firstAnswer.at)).toBe(true);
    expect(phoneSent(t, (m) => m.method === 'INVITE' && m.status === null)).toHaveLength(invites.length);

    // Timer E: the BYE at 0, T1, 3*T1; none after its 200 OK
    const byes = copiesOfFirst(log, (m) => m.direction === 'received' && m.method === 'BYE' && m.status === null);
    expectDoublingFromT1(byes.map((c) => c.at));
    const byeOk = log.find((m) => m.direction === 'sent' && m.method === 'BYE' && m.status === 200)!;
    expect(byes.every((c) => c.at < byeOk.at)).toBe(true);
    expect(phoneSent(t, (m) => m.method === 'BYE' && m.status === null)).toHaveLength(byes.length);
  }, 60_000);

  it('the phone as UAS resends its 200 OK after T1 and 2*T1 until the late ACK arrives, then stops', async () => {
    const registrar = await startServer(SIPP_SCENARIOS.registrarSlow, { PAUSE_MS: 1, EXPIRES: 3600 });
    const t = makeLine({ domainPort: registrar.sipp.localPort, registrarPort: registrar.sipp.localPort, autoAnswer: true });
    await t.line.start();
    await waitAccount(t.line, 'registered');

    const incoming = new Promise<Call>((resolve) => t.line.once('incomingCall', resolve));
    const scenario = await writeSippScenario(SIPP_SCENARIOS.uacLateAck, dir, { ACK_PAUSE_MS: IGNORE_MS });
    const media = await freePortRange(4);
    const log = join(dir, 'uac-late-ack-messages.log');
    const uac = await startSipp(
      [`127.0.0.1:${t.line.account!.localPort}`, '-sf', scenario, '-s', 'alice', '-m', '1', '-mi', '127.0.0.1', '-mp', String(media.first), '-trace_msg', '-message_file', log],
      { timeoutSec: 60 },
    );
    const call = await Promise.race([incoming, sleep(10_000).then(() => Promise.reject(new Error('no incoming call from sipp')))]);
    await waitState(call, 'active', 5000);
    const isOk = (m: PhoneTraced) => m.direction === 'out' && m.method === 'INVITE' && m.status === 200;
    const ack = await waitForValue('the ACK from sipp', () => t.trace.find((m) => m.direction === 'in' && m.method === 'ACK'), IGNORE_MS + 10_000);
    // without the ACK the next copy would follow the last one after 4*T1: wait that long and more
    const lastBeforeAck = t.trace.filter((m) => isOk(m) && m.at < ack.at).at(-1)!;
    await sleep(Math.max(0, lastBeforeAck.at + 4 * T1 + SLACK_MS - performance.now()));
    expect(t.trace.filter((m) => isOk(m) && m.at > ack.at)).toEqual([]);
    await call.hangup();
    await waitState(call, 'ended', 5000);
    const result = await uac.exited;
    expect({ code: result.code, output: result.code === 0 ? '' : result.output }).toEqual({ code: 0, output: '' });
    await t.line.stop();
    await expectCompleted(registrar);

    const sippLog = await readSippMessageLog(log);
    const oks = sippLog.filter((m) => m.direction === 'received' && m.method === 'INVITE' && m.status === 200);
    for (const c of oks) expect(c.text).toBe(oks[0].text);
    expectDoublingFromT1(oks.map((c) => c.at));
    const sentAck = sippLog.find((m) => m.direction === 'sent' && m.method === 'ACK')!;
    expect(oks.every((c) => c.at < sentAck.at)).toBe(true);
    expect(t.trace.filter(isOk)).toHaveLength(oks.length);
  }, 60_000);
});

import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { SessionState, type Session } from 'sip.js';
import { silentLogger } from '../../../src/core/log.js';
import type { CallInfo } from '../../../src/core/events.js';
import type { MediaEngine } from '../../../src/media/engine.js';
import { SipCall, reasonForStatus } from '../../../src/sip/line.js';
import { EngineMediaSession, RtpPortAllocator } from '../../../src/sip/media-session.js';
import type { MediaParams } from '../../../src/sip/sdp/negotiate.js';

describe('reasonForStatus', () => {
  it.each([
    [486, 'busy'],
    [600, 'busy'],
    [487, 'cancelled'],
    [408, 'no-answer'],
    [480, 'no-answer'],
    [403, 'rejected'],
    [404, 'rejected'],
    [603, 'rejected'],
    [500, 'failed'],
    [503, 'failed'],
  ])('%i -> %s', (status, reason) => {
    expect(reasonForStatus(status)).toBe(reason);
  });
});

describe('RtpPortAllocator', () => {
  it('hands out distinct even ports until released', async () => {
    const ports = new RtpPortAllocator('127.0.0.1');
    const got = await Promise.all([ports.allocate(), ports.allocate(), ports.allocate()]);
    for (const p of got) expect(p % 2).toBe(0);
    expect(ports.reservedCount).toBe(new Set(got).size);
    for (const p of got) ports.release(p);
    expect(ports.reservedCount).toBe(0);
  });
});

const params: MediaParams = {
  localAddress: '127.0.0.1',
  localPort: 40000,
  remoteAddress: '127.0.0.1',
  remotePort: 50000,
  remoteRtcpPort: 50001,
  codec: 'PCMU',
  payloadType: 0,
  clockRate: 8000,
  dtmfPayloadType: 101,
  dtmfReceivePayloadType: 101,
  ptime: 20,
  direction: 'both',
  localHold: false,
  remoteHold: false,
};

class FakeEngine extends EventEmitter {
  readonly calls: Array<[string, unknown]> = [];
  startStream(req: unknown) {
    this.calls.push(['startStream', req]);
    return Promise.resolve({ callId: 'x', localPort: 40000, localRtcpPort: 40001, localSsrc: 1 });
  }
  stopStream(callId: string) {
    this.calls.push(['stopStream', callId]);
    return Promise.resolve({});
  }
  sendDtmf(callId: string, digits: string, durationMs?: number) {
    this.calls.push(['sendDtmf', { callId, digits, durationMs }]);
    return Promise.resolve();
  }
}

describe('EngineMediaSession', () => {
  it('starts the stream on our port with recording, relays DTMF both ways, stops', async () => {
    const engine = new FakeEngine();
    const dtmf: string[] = [];
    const m = new EngineMediaSession({
      engine: engine as unknown as MediaEngine,
      callId: () => 'call-1',
      bindAddress: '127.0.0.1',
      recordPath: () => '/rec/call-1.wav',
      onDtmf: (e) => dtmf.push(e.digit),
      log: silentLogger(),
    });
    expect(m.sendDtmf('1', { durationMs: 100, gapMs: 70 })).toBe(false);
    await m.start(params);
    expect(engine.calls[0]).toEqual([
      'startStream',
      {
        callId: 'call-1',
        localPort: 40000,
        localAddress: '127.0.0.1',
        remote: { address: '127.0.0.1', port: 50000 },
        payloadType: 0,
        dtmfPayloadType: 101,
        record: { path: '/rec/call-1.wav', stereo: true },
      },
    ]);
    engine.emit('dtmfReceived', { type: 'dtmfReceived', callId: 'other', digit: '9', durationMs: 100, endLost: false });
    engine.emit('dtmfReceived', { type: 'dtmfReceived', callId: 'call-1', digit: '5', durationMs: 100, endLost: false });
    expect(dtmf).toEqual(['5']);
    expect(m.sendDtmf('#', { durationMs: 120, gapMs: 70 })).toBe(true);
    expect(engine.calls[1]).toEqual(['sendDtmf', { callId: 'call-1', digits: '#', durationMs: 120 }]);
    await m.update({ ...params, remoteHold: true, direction: 'send' });
    expect(engine.calls).toHaveLength(2);
    await m.update({ ...params, remotePort: 50002 });
    expect(engine.calls.slice(2).map((c) => c[0])).toEqual(['stopStream', 'startStream']);
    await m.stop();
    expect(engine.calls.at(-1)).toEqual(['stopStream', 'call-1']);
    engine.emit('dtmfReceived', { type: 'dtmfReceived', callId: 'call-1', digit: '7', durationMs: 100, endLost: false });
    expect(dtmf).toEqual(['5']);
  });
});

/** Just enough of a sip.js Invitation for SipCall. */
class FakeSession {
  state: SessionState = SessionState.Initial;
  delegate: Record<string, unknown> | undefined;
  readonly listeners: Array<(s: SessionState) => void> = [];
  readonly stateChange = { addListener: (fn: (s: SessionState) => void) => this.listeners.push(fn) };
  rejected: unknown[] = [];
  byes = 0;
  set(s: SessionState): void {
    this.state = s;
    for (const l of this.listeners) l(s);
  }
  accept(): Promise<void> {
    this.set(SessionState.Establishing);
    this.set(SessionState.Established);
    return Promise.resolve();
  }
  reject(o: unknown): Promise<void> {
    this.rejected.push(o);
    this.set(SessionState.Terminated);
    return Promise.resolve();
  }
  bye(): Promise<void> {
    this.byes++;
    this.set(SessionState.Terminating);
    this.set(SessionState.Terminated);
    return Promise.resolve();
  }
}

function inboundCall() {
  const session = new FakeSession();
  const info: CallInfo = { callId: 'c1', lineId: 'l', lineKind: 'sip', direction: 'inbound', number: 'bob', name: null };
  const ended: string[] = [];
  const call = new SipCall(info, 'ringing', session as unknown as Session, silentLogger(), (c) => ended.push(c.info.callId));
  const states: string[] = [];
  call.on('stateChanged', (s) => states.push(s.reason ? `${s.state}:${s.reason}` : s.state));
  return { session, call, states, ended };
}

describe('SipCall (inbound)', () => {
  it('answer -> active; remote BYE -> remote-hangup', async () => {
    const { session, call, states, ended } = inboundCall();
    await call.answer();
    expect(call.state).toBe('active');
    // the BYE gets its 200 OK (sip.js leaves that to a delegate's onBye)
    let accepted = 0;
    (session.delegate as { onBye(bye: { accept(): Promise<void> }): void }).onBye({ accept: async () => void accepted++ });
    session.set(SessionState.Terminated);
    expect(accepted).toBe(1);
    expect(states).toEqual(['active', 'ended:remote-hangup']);
    expect(ended).toEqual(['c1']);
    await expect(call.answer()).rejects.toThrow(/cannot be answered/);
  });

  it('hangup while ringing rejects with 603, or 486 for busy', async () => {
    const a = inboundCall();
    await a.call.hangup();
    expect(a.session.rejected).toEqual([{ statusCode: 603 }]);
    expect(a.states).toEqual(['ended:local-hangup']);
    const b = inboundCall();
    await b.call.hangup('busy');
    expect(b.session.rejected).toEqual([{ statusCode: 486 }]);
    expect(b.states).toEqual(['ended:busy']);
  });

  it('a remote CANCEL ends a ringing call as cancelled; an unanswered timeout as no-answer', () => {
    const a = inboundCall();
    (a.session.delegate as { onCancel(): void }).onCancel();
    a.session.set(SessionState.Terminated);
    expect(a.states).toEqual(['ended:cancelled']);
    const b = inboundCall();
    b.session.set(SessionState.Terminated);
    expect(b.states).toEqual(['ended:no-answer']);
  });

  it('local hangup of an active call sends BYE', async () => {
    const { session, call, states } = inboundCall();
    await call.answer();
    await call.hangup();
    expect(session.byes).toBe(1);
    expect(states).toEqual(['active', 'ended:local-hangup']);
  });
});

import { describe, expect, it } from '@jest/globals';
import { TypedEmitter } from '../../../drivers/common/typed-emitter.js';
import { CallService } from '../../../src/calls/service.js';
import { SimLine } from '../../../src/calls/sim-line.js';
import type { Call, CallEvents, Line, LineEvents } from '../../../src/calls/types.js';
import { EventBus } from '../../../src/core/bus.js';
import type { BusEvents, CallInfo, CallState } from '../../../src/core/events.js';
import { FakeClock } from '../../support/fake-clock.js';
import { captureLogger } from '../../support/log.js';

function setup(busyNumbers: string[] = []) {
  const clock = new FakeClock();
  const { log } = captureLogger();
  const bus = new EventBus<BusEvents>(log);
  const line = new SimLine({ clock, settings: () => ({ answerAfterMs: 2000, busyNumbers }) });
  const calls = new CallService({ bus, clock, log, lines: [line], country: () => 'US' });
  const states: string[] = [];
  const facts: BusEvents['callStateChanged'][] = [];
  bus.on('test', 'callStateChanged', (e) => {
    facts.push(e);
    states.push(`${e.direction}:${e.state}${e.reason ? `:${e.reason}` : ''}`);
  });
  return { clock, line, calls, states, facts };
}

describe('calls on the simulated line', () => {
  it('an outgoing call alerts, is answered after answerAfterMs, and ends locally', async () => {
    const { clock, calls, states } = setup();
    await calls.start();
    const info = await calls.placeCall('5551234');
    clock.advance(1999);
    expect(states).toEqual(['outbound:alerting']);
    clock.advance(1);
    expect(calls.activeCalls()).toEqual([expect.objectContaining({ callId: info.callId, state: 'active' })]);
    await calls.sendDtmf(info.callId, '1');
    await calls.hangup(info.callId);
    expect(states).toEqual(['outbound:alerting', 'outbound:active', 'outbound:ended:local-hangup']);
    expect(calls.activeCalls()).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('call facts carry the number in E.164 next to the digits as sent', async () => {
    const { calls, facts, line } = setup();
    await calls.start();
    await calls.placeCall('2125551234');
    line.injectIncoming({ number: '12345' });
    expect(facts.map((f) => [f.number, f.e164])).toEqual([['2125551234', '+12125551234'], ['12345', null]]);
  });

  it('busy numbers end with busy', async () => {
    const { clock, calls, states } = setup(['110']);
    await calls.start();
    await calls.placeCall('110');
    clock.advance(600);
    expect(states).toEqual(['outbound:alerting', 'outbound:ended:busy']);
  });

  it('incoming calls ring, can be answered, and the far end can hang up', async () => {
    const { line, calls, states } = setup();
    await calls.start();
    const call = line.injectIncoming({ number: '13800138000', name: 'Wang Li' });
    await calls.answer(call.info.callId);
    expect(line.remoteHangup()).toBe(true);
    expect(states).toEqual(['inbound:ringing', 'inbound:active', 'inbound:ended:remote-hangup']);
    expect(line.remoteHangup()).toBe(false);
  });

  it('refuses bad numbers and unknown calls with typed errors', async () => {
    const { calls } = setup();
    await calls.start();
    await expect(calls.placeCall('12; rm -rf')).rejects.toMatchObject({ code: 'CALL_BAD_NUMBER' });
    await expect(calls.answer('nope')).rejects.toMatchObject({ code: 'CALL_NOT_FOUND' });
    const none = new CallService({ bus: new EventBus<BusEvents>(captureLogger().log), clock: new FakeClock(), log: captureLogger().log, lines: [], country: () => 'US' });
    await expect(none.placeCall('123')).rejects.toMatchObject({ code: 'CALL_NO_LINE' });
  });

  it('an outgoing call cannot be answered locally', async () => {
    const { calls } = setup();
    await calls.start();
    const info = await calls.placeCall('123');
    await expect(calls.answer(info.callId)).rejects.toMatchObject({ code: 'CALL_INVALID_STATE' });
  });
});

/** A call whose far end sends DTMF (what a SIP call does with RFC 4733 events). */
class DtmfCall extends TypedEmitter<CallEvents> implements Call {
  state: CallState = 'ringing';
  constructor(readonly info: CallInfo) {
    super();
  }
  move(state: CallState): void {
    this.state = state;
    this.emit('stateChanged', { state });
  }
  farEndPresses(digit: string, durationMs: number): void {
    this.emit('dtmf', { digit, durationMs });
  }
  async answer(): Promise<void> {
    this.move('active');
  }
  async hangup(): Promise<void> {
    this.move('ended');
  }
  async sendDtmf(): Promise<void> {}
}

class DtmfLine extends TypedEmitter<LineEvents> implements Line {
  readonly id = 'desk';
  readonly kind = 'sip' as const;
  ring(callId: string): DtmfCall {
    const call = new DtmfCall({ callId, lineId: this.id, lineKind: 'sip', direction: 'inbound', number: '1000', name: null });
    this.emit('incomingCall', call);
    return call;
  }
  async placeCall(): Promise<Call> {
    throw new Error('not here');
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

describe('DTMF from the far end', () => {
  it('each digit a call reports becomes a dtmfReceived fact with its call and line, until the call ends', async () => {
    const { log } = captureLogger();
    const bus = new EventBus<BusEvents>(log);
    const line = new DtmfLine();
    const calls = new CallService({ bus, clock: new FakeClock(), log, lines: [line], country: () => 'US' });
    const got: BusEvents['dtmfReceived'][] = [];
    bus.on('test', 'dtmfReceived', (e) => void got.push(e));
    await calls.start();
    const call = line.ring('c1');
    await calls.answer('c1');
    call.farEndPresses('1', 280);
    call.farEndPresses('#', 100);
    await calls.hangup('c1');
    call.farEndPresses('9', 100); // after the end: not the phone's call any more
    expect(got).toEqual([
      { callId: 'c1', lineId: 'desk', digit: '1', durationMs: 280 },
      { callId: 'c1', lineId: 'desk', digit: '#', durationMs: 100 },
    ]);
    await calls.stop();
  });
});

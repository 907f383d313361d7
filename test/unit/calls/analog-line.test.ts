import { describe, expect, it } from '@jest/globals';
import { SimCallerIdSource } from '../../../drivers/callerid/sim.js';
import { SimAnalogLine } from '../../../drivers/mcu/sim.js';
import { AnalogLine, type AnalogLineSettings } from '../../../src/calls/analog-line.js';
import type { Call } from '../../../src/calls/types.js';
import { FakeClock } from '../../support/fake-clock.js';
import { captureLogger } from '../../support/log.js';

const SETTINGS: AnalogLineSettings = { ringTimeoutMs: 8000, dialToneTimeoutMs: 3000, answerSupervision: 'none', dtmfToneMs: 100, dtmfGapMs: 100, disconnectDebounceMs: 400 };

async function setup(overrides: Partial<AnalogLineSettings> = {}) {
  const clock = new FakeClock();
  const driver = new SimAnalogLine();
  const callerId = new SimCallerIdSource();
  const line = new AnalogLine({ line: driver, callerId, clock, log: captureLogger().log, settings: () => ({ ...SETTINGS, ...overrides }) });
  await line.start();
  const calls: Call[] = [];
  const log: string[] = [];
  line.on('incomingCall', (call) => {
    calls.push(call);
    call.on('stateChanged', ({ state, reason }) => log.push(`${state}${reason ? `:${reason}` : ''}`));
    call.on('identified', (info) => log.push(`identified:${info.number}:${info.name ?? ''}`));
  });
  const settle = () => new Promise((r) => setImmediate(r));
  return { clock, driver, callerId, line, calls, log, settle };
}

describe('analog line', () => {
  it('rings, is identified by caller ID between the rings, is answered by seizing and released on hang-up', async () => {
    const { driver, callerId, calls, log } = await setup();
    driver.injectRing(true);
    driver.injectRing(false);
    expect(calls).toHaveLength(1);
    expect(calls[0].info).toMatchObject({ direction: 'inbound', lineKind: 'analog', number: '' });
    callerId.inject({ number: '2125551234', name: 'ACME HARDWARE' });
    expect(calls[0].info).toMatchObject({ number: '2125551234', name: 'ACME HARDWARE' });
    driver.injectRing(true);
    expect(calls).toHaveLength(1);
    await calls[0].answer();
    expect(driver.seized).toBe(true);
    await calls[0].sendDtmf('5');
    await calls[0].hangup();
    expect(driver.actions).toEqual([{ action: 'seize' }, { action: 'dial', digits: '5' }, { action: 'release' }]);
    expect(log).toEqual(['identified:2125551234:ACME HARDWARE', 'active', 'ended:local-hangup']);
  });

  it('uses caller ID that came before the first ring (ETSI), and reports private callers', async () => {
    const { driver, callerId, calls } = await setup();
    callerId.inject({ number: null, numberAbsent: 'private', name: null, nameAbsent: 'private' });
    driver.injectRing(true);
    expect(calls[0].info).toMatchObject({ number: '', numberAbsent: 'private', nameAbsent: 'private' });
  });

  it('a call whose rings stop is missed; stale early caller ID is not used', async () => {
    const { driver, callerId, calls, log, clock } = await setup();
    callerId.inject({ number: '111' });
    clock.advance(11_000);
    driver.injectRing(true);
    expect(calls[0].info.number).toBe('');
    clock.advance(6000);
    driver.injectRing(true);
    clock.advance(7999);
    expect(log).toEqual([]);
    clock.advance(1);
    expect(log).toEqual(['ended:cancelled']);
    expect(driver.actions).toEqual([]);
  });

  it('the far end hanging up drops loop current: the call ends after the debounce', async () => {
    const { driver, calls, log, clock } = await setup();
    driver.injectRing(true);
    await calls[0].answer();
    driver.injectLoopCurrent(false);
    clock.advance(200);
    driver.injectLoopCurrent(true); // a short glitch does not end the call
    clock.advance(1000);
    expect(calls[0].state).toBe('active');
    driver.injectLoopCurrent(false);
    clock.advance(400);
    expect(log.at(-1)).toBe('ended:remote-hangup');
    expect(driver.seized).toBe(false);
  });

  it('outgoing: seizes, dials after the dial-tone wait, and is connected per supervision', async () => {
    const { driver, line, clock, settle } = await setup({ answerSupervision: 'polarity' });
    const call = await line.placeCall('5551234');
    const states: string[] = [];
    call.on('stateChanged', ({ state }) => void states.push(state));
    await settle();
    expect(driver.actions).toEqual([{ action: 'seize' }]);
    clock.advance(3000); // an MCU that never reported a tone: dial after the wait
    await settle();
    expect(driver.actions).toEqual([{ action: 'seize' }, { action: 'dial', digits: '5551234' }]);
    expect(states).toEqual(['alerting']);
    driver.injectPolarityReversal();
    expect(states).toEqual(['alerting', 'active']);
    await expect(line.placeCall('1')).rejects.toMatchObject({ code: 'LINE_BUSY' });
    await call.hangup();
    expect(driver.seized).toBe(false);
  });

  it('refuses numbers an analog line cannot dial', async () => {
    const { line } = await setup();
    await expect(line.placeCall('+8613800138000')).rejects.toMatchObject({ code: 'CALL_BAD_NUMBER' });
  });
});

describe('analog line: DTMF caller ID and message waiting', () => {
  it('DTMF caller ID heard before the first ring identifies the call; in-call digits do not', async () => {
    const clock = new FakeClock();
    const driver = new SimAnalogLine();
    const waiting: boolean[] = [];
    const callerId = new SimCallerIdSource();
    const line = new AnalogLine({ line: driver, callerId, clock, log: captureLogger().log, settings: () => SETTINGS, onMessageWaiting: (w) => void waiting.push(w) });
    await line.start();
    const calls: Call[] = [];
    line.on('incomingCall', (call) => void calls.push(call));
    for (const digit of 'D5551234C') {
      driver.injectDtmf(digit);
      clock.advance(80);
    }
    driver.injectRing(true);
    expect(calls[0].info.number).toBe('5551234');
    await calls[0].answer();
    for (const digit of 'A123#') driver.injectDtmf(digit);
    expect(calls[0].info.number).toBe('5551234');
    callerId.injectMessageWaiting(true);
    expect(waiting).toEqual([true]);
  });
});

describe('analog line: hanging up while the relay is still closing', () => {
  it('releases the line again', async () => {
    const { driver, calls } = await setup();
    driver.injectRing(true);
    const answering = calls[0].answer();
    await calls[0].hangup();
    await answering;
    expect(driver.seized).toBe(false);
    expect(driver.actions).toEqual([{ action: 'seize' }, { action: 'release' }]);
  });
});

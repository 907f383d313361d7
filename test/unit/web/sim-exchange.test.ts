import { describe, expect, it } from '@jest/globals';
import { SimCallerIdSource } from '../../../drivers/callerid/sim.js';
import { SimAnalogLine } from '../../../drivers/mcu/sim.js';
import { SimExchange } from '../../../src/web/sim-exchange.js';
import { FakeClock } from '../../support/fake-clock.js';

describe('SimExchange', () => {
  it('rings with the cadence, sends caller ID after the first ring, stops when the line is seized, and hangs up by dropping loop current', async () => {
    const clock = new FakeClock();
    const line = new SimAnalogLine();
    const callerId = new SimCallerIdSource();
    const events: string[] = [];
    line.on('ringDetected', ({ on }) => void events.push(`ring ${on} @${clock.monotonic()}`));
    line.on('loopCurrentChanged', ({ present }) => void events.push(`loop ${present}`));
    callerId.on('callerIdReceived', ({ number }) => void events.push(`cid ${number} @${clock.monotonic()}`));
    const exchange = new SimExchange(line, callerId, clock);
    exchange.ring({ number: '2125551234', name: null }, { onMs: 2000, offMs: 4000, maxRings: 5 });
    clock.advance(6000);
    expect(events).toEqual(['ring true @0', 'ring false @2000', 'cid 2125551234 @2000', 'ring true @6000']);
    await line.seize();
    expect(exchange.hangUp()).toBe(true); // answered: hanging up drops loop current even mid-cadence
    expect(events.at(-1)).toBe('loop false');
    clock.advance(8000);
    expect(exchange.ringing).toBe(false);
    expect(events.filter((e) => e.startsWith('ring true'))).toHaveLength(2);
  });

  it('gives up after maxRings and when asked', () => {
    const clock = new FakeClock();
    const line = new SimAnalogLine();
    const exchange = new SimExchange(line, new SimCallerIdSource(), clock);
    let rings = 0;
    line.on('ringDetected', ({ on }) => void (on && rings++));
    exchange.ring({ number: '1', name: null }, { onMs: 100, offMs: 100, maxRings: 3 });
    clock.advance(10_000);
    expect(rings).toBe(3);
    expect(exchange.ringing).toBe(false);
    exchange.ring({ number: '1', name: null });
    expect(exchange.hangUp()).toBe(true);
    expect(exchange.ringing).toBe(false);
    expect(exchange.hangUp()).toBe(false);
  });
});

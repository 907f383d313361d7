import { describe, expect, it } from '@jest/globals';
import { FLAG_RETRY, type McuFrame } from '../../../drivers/mcu/frame.js';
import { encodeAck, encodeNak, ERR, McuNakError, MSG } from '../../../drivers/mcu/protocol.js';
import { attemptFlags, Waitress } from '../../../drivers/mcu/waitress.js';
import type { McuTimers } from '../../../drivers/mcu/timers.js';
import { SystemClock } from '../../../src/core/clock.js';
import { FakeClock } from '../../support/fake-clock.js';

const ack = (seq: number, type: number, reply: number[] = []): McuFrame => ({ type: MSG.ACK, seq, flags: 0, payload: encodeAck(type, Uint8Array.from(reply)) });
const nak = (seq: number, type: number, code: number): McuFrame => ({ type: MSG.NAK, seq, flags: 0, payload: encodeNak(type, code) });

/** Lets promise callbacks run (settling is asynchronous even with fake time). */
const flush = () => new Promise((r) => setImmediate(r));

describe('Waitress', () => {
  it('resolves with the reply data of the ACK matching seq and answered type', async () => {
    const clock = new FakeClock();
    const waitress = new Waitress(clock);
    const sent: number[] = [];
    const reply = waitress.exchange({ seq: 4, type: MSG.PING, policy: { timeoutMs: 100, retries: 2 }, transmit: (a) => sent.push(a) });
    expect(sent).toEqual([0]);
    expect(waitress.handle(ack(4, MSG.GET_STATE))).toBe(false); // right seq, wrong type
    expect(waitress.handle(ack(5, MSG.PING))).toBe(false); // wrong seq
    expect(waitress.handle(ack(4, MSG.PING, [1, 2, 3]))).toBe(true);
    expect(Array.from(await reply)).toEqual([1, 2, 3]);
    expect(waitress.stats).toMatchObject({ matched: 1, unmatched: 2, retransmissions: 0 });
    expect(clock.pending).toBe(0);
  });

  it('retransmits after each timeout and fails with DRIVER_TIMEOUT after the last retry', async () => {
    const clock = new FakeClock();
    const waitress = new Waitress(clock);
    const sent: number[] = [];
    const reply = waitress.exchange({ seq: 9, type: MSG.LED, policy: { timeoutMs: 250, retries: 3 }, transmit: (a) => sent.push(a) });
    let error: unknown = null;
    reply.catch((e: unknown) => (error = e));
    clock.advance(249);
    expect(sent).toEqual([0]);
    clock.advance(1);
    expect(sent).toEqual([0, 1]);
    clock.advance(500);
    expect(sent).toEqual([0, 1, 2, 3]);
    await flush();
    expect(error).toBeNull();
    clock.advance(250);
    await flush();
    expect(error).toMatchObject({ code: 'DRIVER_TIMEOUT' });
    expect(String((error as Error).message)).toMatch(/LED \(seq 9\) after 4 attempts of 250 ms/);
    expect(waitress.stats).toMatchObject({ retransmissions: 3, timeouts: 1 });
    expect(waitress.pending).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('a late answer to an earlier attempt still completes the request', async () => {
    const clock = new FakeClock();
    const waitress = new Waitress(clock);
    const sent: number[] = [];
    const reply = waitress.exchange({ seq: 1, type: MSG.LINE_DIAL, policy: { timeoutMs: 100, retries: 1 }, transmit: (a) => sent.push(a) });
    clock.advance(100);
    expect(sent).toEqual([0, 1]);
    expect(waitress.handle(ack(1, MSG.LINE_DIAL))).toBe(true);
    await expect(reply).resolves.toHaveLength(0);
    clock.advance(1000);
    expect(sent).toEqual([0, 1]);
    // a second answer (to the retransmission) matches nothing
    expect(waitress.handle(ack(1, MSG.LINE_DIAL))).toBe(false);
  });

  it('rejects with McuNakError on NAK, carrying the protocol code', async () => {
    const waitress = new Waitress(new FakeClock());
    const reply = waitress.exchange({ seq: 2, type: MSG.LINE_DIAL, policy: { timeoutMs: 100, retries: 3 }, transmit: () => undefined });
    waitress.handle(nak(2, MSG.LINE_DIAL, ERR.BAD_STATE));
    const error = await reply.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McuNakError);
    expect(error).toMatchObject({ code: 'DRIVER_IO', mcuCode: 'BAD_STATE', nakCode: ERR.BAD_STATE, request: MSG.LINE_DIAL });
  });

  it('keeps several requests apart and fails them all on rejectAll', async () => {
    const clock = new FakeClock();
    const waitress = new Waitress(clock);
    const a = waitress.exchange({ seq: 1, type: MSG.LED, policy: { timeoutMs: 100, retries: 0 }, transmit: () => undefined });
    const b = waitress.exchange({ seq: 2, type: MSG.LED, policy: { timeoutMs: 100, retries: 0 }, transmit: () => undefined });
    expect(waitress.pending).toBe(2);
    waitress.handle(ack(2, MSG.LED));
    await expect(b).resolves.toBeDefined();
    waitress.rejectAll(new Error('closed'));
    await expect(a).rejects.toThrow('closed');
    expect(clock.pending).toBe(0);
  });

  it('fails at once if transmitting throws', async () => {
    const clock = new FakeClock();
    const waitress = new Waitress(clock);
    const reply = waitress.exchange({ seq: 1, type: MSG.PING, policy: { timeoutMs: 100, retries: 2 }, transmit: () => { throw new Error('port gone'); } });
    await expect(reply).rejects.toThrow('port gone');
    expect(waitress.pending).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('sets the RETRY flag on retransmissions only', () => {
    expect(attemptFlags(0)).toBe(0);
    expect(attemptFlags(1)).toBe(FLAG_RETRY);
    expect(attemptFlags(3)).toBe(FLAG_RETRY);
  });
});

describe('McuTimers', () => {
  it('the runtime Clock fits: a request times out on the real clock', async () => {
    const clock = new SystemClock('never');
    const timers: McuTimers = clock;
    const waitress = new Waitress(timers);
    const sent: number[] = [];
    const started = Date.now();
    await expect(waitress.exchange({ seq: 1, type: MSG.PING, policy: { timeoutMs: 20, retries: 1 }, transmit: (a) => sent.push(a) })).rejects.toMatchObject({ code: 'DRIVER_TIMEOUT' });
    expect(sent).toEqual([0, 1]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
    clock.dispose();
  });
});

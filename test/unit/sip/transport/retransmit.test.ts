import { describe, it, expect } from '@jest/globals';
import { UdpReliability } from '../../../../src/sip/transport/retransmit.js';
import { probeSipMessage, type SipProbe } from '../../../../src/sip/transport/message.js';
import { FakeClock } from '../../../support/fake-clock.js';

function req(method: string, branch = 'z9hG4bKc1', cseqMethod = method): SipProbe {
  const text =
    `${method} sip:bob@example.net SIP/2.0\r\nVia: SIP/2.0/UDP phone.invalid;branch=${branch};rport\r\n` +
    `From: <sip:a@example.net>;tag=1\r\nTo: <sip:bob@example.net>\r\nCall-ID: c1\r\nCSeq: 1 ${cseqMethod}\r\nContent-Length: 0\r\n\r\n`;
  const r = probeSipMessage(text);
  if (!r.ok) throw new Error(r.reason);
  return r.probe;
}
function res(status: number, method: string, branch = 'z9hG4bKc1'): SipProbe {
  const text =
    `SIP/2.0 ${status} X\r\nVia: SIP/2.0/UDP phone.invalid;branch=${branch};rport=5060\r\n` +
    `From: <sip:a@example.net>;tag=1\r\nTo: <sip:bob@example.net>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 ${method}\r\nContent-Length: 0\r\n\r\n`;
  const r = probeSipMessage(text);
  if (!r.ok) throw new Error(r.reason);
  return r.probe;
}

/** Runs the clock in 10 ms steps up to `until`, noting when `sends` grew. */
function timesOf(clock: FakeClock, sends: () => number, until: number): number[] {
  const at: number[] = [];
  let n = sends();
  while (clock.monotonic() < until) {
    clock.advance(10);
    while (sends() > n) {
      at.push(clock.monotonic());
      n++;
    }
  }
  return at;
}

describe('UdpReliability, client transactions (RFC 3261 §17.1)', () => {
  it('Timer E: a non-INVITE request is resent at T1, doubling to T2, until Timer F (64*T1)', () => {
    const clock = new FakeClock();
    const r = new UdpReliability({ clock });
    let sends = 0;
    r.requestSent(req('REGISTER'), () => sends++);
    const at = timesOf(clock, () => sends, 40_000);
    // 500, +1000, +2000, +4000, then every 4000 until 32 000
    expect(at).toEqual([500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    expect(r.stats.timeouts).toBe(1);
    expect(r.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('Timer E runs at T2 once a provisional came, and stops at the final; Timer K absorbs retransmitted finals', () => {
    const clock = new FakeClock();
    const r = new UdpReliability({ clock });
    let sends = 0;
    r.requestSent(req('OPTIONS'), () => sends++);
    clock.advance(600); // one retransmission at 500
    expect(sends).toBe(1);
    expect(r.responseReceived(res(100, 'OPTIONS'))).toBe(false);
    clock.advance(900); // the timer armed at 500 (1000 ms) fires at 1500
    expect(sends).toBe(2);
    clock.advance(3999);
    expect(sends).toBe(2); // next one is T2 = 4000 after 1500
    clock.advance(1);
    expect(sends).toBe(3);
    expect(r.responseReceived(res(200, 'OPTIONS'))).toBe(false); // the final goes up
    expect(r.responseReceived(res(200, 'OPTIONS'))).toBe(true); // its retransmission does not
    clock.advance(10_000);
    expect(sends).toBe(3);
    expect(r.size).toBe(0); // Timer K (T4) expired the entry
    expect(r.responseReceived(res(200, 'OPTIONS'))).toBe(false);
  });

  it('Timer A: an INVITE is resent at T1, 2*T1, 4*T1 ... until any response; Timer B gives up at 64*T1', () => {
    const clock = new FakeClock();
    const r = new UdpReliability({ clock });
    let sends = 0;
    r.requestSent(req('INVITE'), () => sends++);
    expect(timesOf(clock, () => sends, 40_000)).toEqual([500, 1500, 3500, 7500, 15500, 31500]);
    expect(r.stats.timeouts).toBe(1);

    const clock2 = new FakeClock();
    const r2 = new UdpReliability({ clock: clock2 });
    let sends2 = 0;
    r2.requestSent(req('INVITE', 'z9hG4bKi2'), () => sends2++);
    clock2.advance(600);
    expect(r2.responseReceived(res(180, 'INVITE', 'z9hG4bKi2'))).toBe(false);
    clock2.advance(60_000);
    expect(sends2).toBe(1); // a provisional stopped Timer A
  });

  it('answers a retransmitted non-2xx final with the ACK sip.js sent (Timer D)', () => {
    const clock = new FakeClock();
    const r = new UdpReliability({ clock });
    let invites = 0;
    let acks = 0;
    r.requestSent(req('INVITE', 'z9hG4bKi3'), () => invites++);
    expect(r.responseReceived(res(486, 'INVITE', 'z9hG4bKi3'))).toBe(false);
    r.requestSent(req('ACK', 'z9hG4bKi3'), () => acks++);
    expect(r.responseReceived(res(486, 'INVITE', 'z9hG4bKi3'))).toBe(true);
    expect(acks).toBe(1);
    clock.advance(40_000);
    expect(invites).toBe(0);
    expect(r.size).toBe(0);
  });

  it('a provisional stops Timer B too: a call ringing past 64*T1 is no timeout, and its late final still gets Timer D', () => {
    // §17.1.1.2: Timer B runs in the Calling state only; a ringing call may last minutes
    const clock = new FakeClock();
    const r = new UdpReliability({ clock });
    let invites = 0;
    let acks = 0;
    r.requestSent(req('INVITE', 'z9hG4bKring'), () => invites++);
    clock.advance(100);
    expect(r.responseReceived(res(180, 'INVITE', 'z9hG4bKring'))).toBe(false);
    clock.advance(100_000); // rings for well over 64*T1 = 32 s
    expect(r.stats.timeouts).toBe(0);
    expect(r.size).toBe(1);
    // the callee declines after all: the 486 starts Timer D, its retransmission gets the ACK again
    expect(r.responseReceived(res(486, 'INVITE', 'z9hG4bKring'))).toBe(false);
    r.requestSent(req('ACK', 'z9hG4bKring'), () => acks++);
    expect(r.responseReceived(res(486, 'INVITE', 'z9hG4bKring'))).toBe(true);
    expect(acks).toBe(1);
    expect(invites).toBe(0);
    clock.advance(40_000);
    expect(r.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('a client INVITE left in Proceeding (no final ever) is forgotten after a generous bound, not counted as a timeout', () => {
    const clock = new FakeClock();
    const r = new UdpReliability({ clock });
    r.requestSent(req('INVITE', 'z9hG4bKlost'), () => undefined);
    r.responseReceived(res(180, 'INVITE', 'z9hG4bKlost'));
    clock.advance(60 * 60_000);
    expect(r.size).toBe(0);
    expect(r.stats.timeouts).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('keeps a CANCEL apart from the INVITE it shares the branch with (§9.1)', () => {
    const clock = new FakeClock();
    const r = new UdpReliability({ clock });
    let invites = 0;
    let cancels = 0;
    r.requestSent(req('INVITE', 'z9hG4bKx'), () => invites++);
    r.responseReceived(res(180, 'INVITE', 'z9hG4bKx'));
    r.requestSent(req('CANCEL', 'z9hG4bKx'), () => cancels++);
    clock.advance(600);
    expect([invites, cancels]).toEqual([0, 1]);
    r.responseReceived(res(200, 'CANCEL', 'z9hG4bKx'));
    clock.advance(5000);
    expect([invites, cancels]).toEqual([0, 1]);
  });

  it('honours a configured T1/T2 and leaves RFC 2543 branches alone', () => {
    const clock = new FakeClock();
    const r = new UdpReliability({ clock, timers: { t1: 50, t2: 200 } });
    let sends = 0;
    r.requestSent(req('MESSAGE', 'z9hG4bKm'), () => sends++);
    expect(timesOf(clock, () => sends, 1000)).toEqual([50, 150, 350, 550, 750, 950]);
    let old = 0;
    r.requestSent(req('MESSAGE', 'oldstyle1'), () => old++);
    clock.advance(10_000);
    expect(old).toBe(0);
    expect(() => new UdpReliability({ clock, timers: { t1: 0 } })).toThrow(RangeError);
    expect(() => new UdpReliability({ clock, timers: { t1: 500, t2: 100 } })).toThrow(RangeError);
  });
});

describe('UdpReliability, server transactions (RFC 3261 §17.2)', () => {
  it('Timer G: a 4xx to an INVITE is resent at T1 doubling to T2 until the ACK; Timer I absorbs more ACKs', () => {
    const clock = new FakeClock();
    const r = new UdpReliability({ clock });
    let sends = 0;
    r.responseSent(res(486, 'INVITE', 'z9hG4bKs1'), () => sends++);
    expect(timesOf(clock, () => sends, 8000)).toEqual([500, 1500, 3500, 7500]);
    // a retransmitted INVITE gets the final again and is not passed up
    expect(r.requestReceived(req('INVITE', 'z9hG4bKs1'))).toBe(true);
    expect(sends).toBe(5);
    expect(r.requestReceived(req('ACK', 'z9hG4bKs1'))).toBe(false); // the ACK goes up once
    expect(r.requestReceived(req('ACK', 'z9hG4bKs1'))).toBe(true);
    clock.advance(20_000);
    expect(sends).toBe(5);
    expect(r.size).toBe(0);
  });

  it('Timer H gives up after 64*T1 without an ACK', () => {
    const clock = new FakeClock();
    const r = new UdpReliability({ clock });
    let sends = 0;
    r.responseSent(res(603, 'INVITE', 'z9hG4bKs2'), () => sends++);
    const at = timesOf(clock, () => sends, 40_000);
    expect(at[at.length - 1]).toBeLessThan(32_000);
    expect(r.stats.timeouts).toBe(1);
    expect(clock.pending).toBe(0);
  });

  it('does not track a 2xx to an INVITE (sip.js resends it until the ACK, §13.3.1.4)', () => {
    const clock = new FakeClock();
    const r = new UdpReliability({ clock });
    let sends = 0;
    r.responseSent(res(200, 'INVITE', 'z9hG4bKs3'), () => sends++);
    clock.advance(40_000);
    expect(sends).toBe(0);
    expect(r.size).toBe(0);
  });

  it('Timer J: a retransmitted non-INVITE request gets the cached final, for 64*T1', () => {
    const clock = new FakeClock();
    const r = new UdpReliability({ clock });
    let sends = 0;
    expect(r.requestReceived(req('MESSAGE', 'z9hG4bKs4'))).toBe(false);
    r.responseSent(res(100, 'MESSAGE', 'z9hG4bKs4'), () => sends++);
    expect(r.size).toBe(0); // provisionals are not cached
    r.responseSent(res(200, 'MESSAGE', 'z9hG4bKs4'), () => sends++);
    clock.advance(1000);
    expect(sends).toBe(0); // no timer-driven resends for non-INVITE
    expect(r.requestReceived(req('MESSAGE', 'z9hG4bKs4'))).toBe(true);
    expect(sends).toBe(1);
    clock.advance(32_000);
    expect(r.requestReceived(req('MESSAGE', 'z9hG4bKs4'))).toBe(false);
  });

  it('bounds the number of tracked transactions', () => {
    const clock = new FakeClock();
    const r = new UdpReliability({ clock, maxEntries: 10 });
    for (let i = 0; i < 100; i++) r.requestSent(req('OPTIONS', `z9hG4bKn${i}`), () => undefined);
    expect(r.size).toBe(10);
    r.clear();
    expect(r.size).toBe(0);
    expect(clock.pending).toBe(0);
  });
});

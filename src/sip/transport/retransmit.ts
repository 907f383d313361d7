// Transaction-layer reliability over UDP (RFC 3261 §17) that sip.js 0.21 leaves out: its
// transactions treat every transport as reliable (Timers A, E and G are FIXMEs; D, I, J and K
// are zero). This layer sits in the UDP transport, sees every message that sip.js sends and
// receives, and keys transactions by the top Via branch + CSeq method (§17.1.3, §17.2.3):
//
//   client INVITE       Timer A: resend at T1, 2*T1, 4*T1 ... until any response; Timer B: give
//                       up after 64*T1 without one (§17.1.1.2; a 1xx stops it too, the call may
//                       ring for minutes). After a 300-699 final, Timer D (64*T1) absorbs its
//                       retransmissions and answers each with the ACK sip.js sent.
//   client non-INVITE   Timer E: resend at T1, doubling up to T2, at T2 once a 1xx came, until a
//                       final; Timer F: give up after 64*T1 (§17.1.2.2). Timer K (T4) absorbs
//                       retransmitted finals.
//   server INVITE       a 300-699 final: Timer G resends it at T1 doubling up to T2 until the ACK
//                       (same branch), Timer H gives up after 64*T1 (§17.2.1); a retransmitted
//                       INVITE gets the final again; Timer I (T4) absorbs extra ACKs.
//                       2xx finals are the TU's (§13.3.1.4): sip.js's session dialog already
//                       resends them until the ACK, so they are not tracked here.
//   server non-INVITE   Timer J (64*T1): a retransmitted request gets the final again (§17.2.2)
//                       instead of reaching sip.js as a new request.
//
// sip.js keeps its own Timer B/F (32 s, for the 408 it reports); with the default T1 both agree.

import type { Clock, TimerHandle } from '../../core/clock.js';
import type { SipProbe } from './message.js';

export interface RetransmitTimers {
  /** RTT estimate, default 500 ms (§17.1.1.1) */
  t1: number;
  /** maximum retransmit interval for non-INVITE requests and INVITE responses, default 4 s */
  t2: number;
  /** maximum duration a message remains in the network, default 5 s */
  t4: number;
}

export const DEFAULT_TIMERS: RetransmitTimers = { t1: 500, t2: 4000, t4: 5000 };

/**
 * How long a client INVITE transaction in Proceeding (a 1xx came, no final yet) is kept. RFC 3261
 * has no transaction timer there (Timer C, > 3 min, is a proxy's); this only bounds the table.
 */
const INVITE_PROCEEDING_LIMIT_MS = 10 * 60_000;

/** RFC 3261 branches start with the magic cookie; older ones cannot key a transaction (§8.1.1.7). */
const MAGIC_COOKIE = 'z9hG4bK';

type Send = () => void;

interface Entry {
  side: 'client' | 'server';
  method: string;
  state: 'calling' | 'proceeding' | 'completed' | 'confirmed';
  resend: Send | null;
  /** client INVITE: the ACK for a non-2xx final, re-sent for each retransmission of that final */
  ack: Send | null;
  interval: number;
  retransmit: TimerHandle | null;
  expire: TimerHandle | null;
}

export interface ReliabilityStats {
  /** retransmissions sent (requests and responses) */
  retransmissions: number;
  /** inbound messages absorbed as retransmissions */
  absorbed: number;
  /** client transactions given up by Timer B/F, server ones by Timer H */
  timeouts: number;
}

export interface UdpReliabilityOptions {
  clock: Clock;
  timers?: Partial<RetransmitTimers>;
  /** upper bound of tracked transactions (oldest dropped first); default 1024 */
  maxEntries?: number;
  /** called on each retransmission (for logs and tests) */
  onRetransmit?: (info: { side: 'client' | 'server'; method: string; branch: string; interval: number }) => void;
}

export class UdpReliability {
  readonly timers: RetransmitTimers;
  readonly stats: ReliabilityStats = { retransmissions: 0, absorbed: 0, timeouts: 0 };
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  readonly #onRetransmit: UdpReliabilityOptions['onRetransmit'];

  constructor(options: UdpReliabilityOptions) {
    this.#clock = options.clock;
    this.timers = { ...DEFAULT_TIMERS, ...options.timers };
    if (!(this.timers.t1 > 0 && this.timers.t2 >= this.timers.t1 && this.timers.t4 > 0)) {
      throw new RangeError(`bad SIP timers ${JSON.stringify(this.timers)}: need 0 < T1 <= T2 and T4 > 0`);
    }
    this.#max = options.maxEntries ?? 1024;
    this.#onRetransmit = options.onRetransmit;
  }

  /** Transactions being tracked. */
  get size(): number {
    return this.#entries.size;
  }

  /** An outgoing request went to the network; `resend` sends the same bytes to the same place. */
  requestSent(p: SipProbe, resend: Send): void {
    if (!isRfc3261Branch(p.branch)) return;
    if (p.method === 'ACK') {
      // ACK for a non-2xx final has the INVITE's branch (§17.1.1.3): keep it for retransmitted finals
      const invite = this.#entries.get(key('client', p.branch, 'INVITE'));
      if (invite && invite.state === 'completed') invite.ack = resend;
      return;
    }
    const k = key('client', p.branch, p.method);
    this.#delete(k);
    const { t1 } = this.timers;
    const entry: Entry = { side: 'client', method: p.method, state: 'calling', resend, ack: null, interval: t1, retransmit: null, expire: null };
    this.#add(k, entry);
    // Timer B / Timer F: 64*T1
    entry.expire = this.#clock.setTimeout(() => {
      this.stats.timeouts++;
      this.#delete(k);
    }, 64 * t1);
    this.#schedule(k, entry, p.branch);
  }

  /** An outgoing response went to the network. */
  responseSent(p: SipProbe, resend: Send): void {
    if (!isRfc3261Branch(p.branch) || p.status === null || p.status < 200) return;
    const k = key('server', p.branch, p.method);
    const { t1, t2 } = this.timers;
    if (p.method === 'INVITE') {
      if (p.status < 300) return; // 2xx: the TU retransmits (§13.3.1.4), sip.js does
      this.#delete(k);
      const entry: Entry = { side: 'server', method: 'INVITE', state: 'completed', resend, ack: null, interval: t1, retransmit: null, expire: null };
      this.#add(k, entry);
      // Timer H: give up waiting for the ACK after 64*T1
      entry.expire = this.#clock.setTimeout(() => {
        this.stats.timeouts++;
        this.#delete(k);
      }, 64 * t1);
      // Timer G: T1, doubling up to T2
      this.#schedule(k, entry, p.branch, (i) => Math.min(2 * i, t2));
      return;
    }
    if (p.method === 'ACK') return;
    this.#delete(k);
    const entry: Entry = { side: 'server', method: p.method, state: 'completed', resend, ack: null, interval: 0, retransmit: null, expire: null };
    this.#add(k, entry);
    // Timer J: 64*T1 for unreliable transports
    entry.expire = this.#clock.setTimeout(() => this.#delete(k), 64 * t1);
  }

  /** An inbound request; true when it is a retransmission this layer answered (do not pass up). */
  requestReceived(p: SipProbe): boolean {
    if (!isRfc3261Branch(p.branch)) return false;
    if (p.method === 'ACK') {
      const k = key('server', p.branch, 'INVITE');
      const invite = this.#entries.get(k);
      if (!invite) return false; // ACK for a 2xx: a new transaction, for the dialog
      if (invite.state === 'confirmed') return this.#absorb();
      // Completed -> Confirmed: stop Timer G and H, Timer I absorbs further ACKs (§17.2.1)
      invite.state = 'confirmed';
      this.#clock.clear(invite.retransmit);
      this.#clock.clear(invite.expire);
      invite.retransmit = null;
      invite.expire = this.#clock.setTimeout(() => this.#delete(k), this.timers.t4);
      return false;
    }
    const entry = this.#entries.get(key('server', p.branch, p.method));
    if (!entry || entry.state !== 'completed' || !entry.resend) return false;
    // a retransmitted request in the Completed state gets the final response again
    entry.resend();
    this.stats.retransmissions++;
    return this.#absorb();
  }

  /** An inbound response; true when it is a retransmission to drop. */
  responseReceived(p: SipProbe): boolean {
    if (!isRfc3261Branch(p.branch) || p.status === null) return false;
    const k = key('client', p.branch, p.method);
    const entry = this.#entries.get(k);
    if (!entry) return false;
    const final = p.status >= 200;
    if (entry.state === 'completed') {
      if (entry.method === 'INVITE' && final && p.status >= 300 && entry.ack) {
        entry.ack(); // §17.1.1.2: each retransmitted final is answered with the ACK
        this.stats.retransmissions++;
      }
      return this.#absorb();
    }
    if (entry.method === 'INVITE') {
      // any response stops Timer A (§17.1.1.2)
      this.#clock.clear(entry.retransmit);
      entry.retransmit = null;
      if (!final) {
        // Proceeding: Timer B runs in the Calling state only (§17.1.1.2), so a call may ring for
        // minutes; keep the entry (a late 300-699 final still needs Timer D) under a loose bound
        // that is no timeout, re-armed by each provisional.
        entry.state = 'proceeding';
        this.#clock.clear(entry.expire);
        entry.expire = this.#clock.setTimeout(() => this.#delete(k), INVITE_PROCEEDING_LIMIT_MS);
        return false;
      }
      this.#clock.clear(entry.expire);
      if (p.status < 300) {
        // 2xx: the transaction is over; the dialog handles 2xx retransmissions and the ACK
        this.#delete(k);
        return false;
      }
      entry.state = 'completed';
      entry.resend = null;
      // Timer D: at least 32 s for unreliable transports; 64*T1 here (32 s with the default T1)
      entry.expire = this.#clock.setTimeout(() => this.#delete(k), 64 * this.timers.t1);
      return false;
    }
    if (!final) {
      // Proceeding: Timer E keeps running, and now fires every T2
      entry.state = 'proceeding';
      return false;
    }
    this.#clock.clear(entry.retransmit);
    this.#clock.clear(entry.expire);
    entry.retransmit = null;
    entry.state = 'completed';
    entry.resend = null;
    // Timer K: T4 for unreliable transports
    entry.expire = this.#clock.setTimeout(() => this.#delete(k), this.timers.t4);
    return false;
  }

  /** Stops every timer (transport closing). */
  clear(): void {
    for (const k of [...this.#entries.keys()]) this.#delete(k);
  }

  #schedule(k: string, entry: Entry, branch: string, next?: (interval: number) => number): void {
    const { t2 } = this.timers;
    const step =
      next ??
      (entry.method === 'INVITE'
        ? (i: number) => 2 * i // Timer A doubles without a cap
        : (i: number) => (entry.state === 'proceeding' ? t2 : Math.min(2 * i, t2))); // Timer E
    entry.retransmit = this.#clock.setTimeout(() => {
      entry.retransmit = null;
      if (this.#entries.get(k) !== entry || !entry.resend) return;
      entry.resend();
      this.stats.retransmissions++;
      this.#onRetransmit?.({ side: entry.side, method: entry.method, branch, interval: entry.interval });
      entry.interval = step(entry.interval);
      this.#schedule(k, entry, branch, next);
    }, entry.interval);
  }

  #absorb(): true {
    this.stats.absorbed++;
    return true;
  }

  #add(k: string, entry: Entry): void {
    this.#entries.set(k, entry);
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#delete(oldest);
    }
  }

  #delete(k: string): void {
    const entry = this.#entries.get(k);
    if (!entry) return;
    this.#clock.clear(entry.retransmit);
    this.#clock.clear(entry.expire);
    this.#entries.delete(k);
  }
}

function key(side: 'client' | 'server', branch: string, method: string): string {
  return `${side}\u0000${branch}\u0000${method}`;
}

function isRfc3261Branch(branch: string | null): branch is string {
  return branch !== null && branch.startsWith(MAGIC_COOKIE) && branch.length > MAGIC_COOKIE.length;
}

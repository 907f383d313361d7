import { DriverError } from '../common/errors.js';
import type { McuFrame } from './frame.js';
import { FLAG_RETRY } from './frame.js';
import { decodeNak, McuNakError, messageName, MSG, type RetryPolicy } from './protocol.js';
import type { McuTimers } from './timers.js';

/**
 * Request/reply matching for the MCU link (board/mcu-protocol.md §2.4–§2.6), in the manner of
 * zigbee-herdsman's "waitress": a request registers a waiter keyed by (seq, type); an incoming
 * ACK/NAK whose seq and answered type match resolves it. Each attempt has its own timeout; on
 * timeout the request is sent again with FLAG_RETRY and the same seq, up to `retries` times, then it
 * fails with DRIVER_TIMEOUT. A late answer to an earlier attempt still counts (same seq and type).
 */

export interface Exchange {
  seq: number;
  type: number;
  policy: RetryPolicy;
  /** Put the request on the wire; attempt 0 is the first transmission, >0 a retransmission. */
  transmit(attempt: number): void;
}

/** What a matched ACK carried: the reply data after the answered-type byte. */
export type ReplyBody = Uint8Array;

interface Waiter {
  seq: number;
  type: number;
  timer: unknown;
  resolve(frame: McuFrame): void;
  reject(error: Error): void;
}

export interface WaitressStats {
  matched: number;
  retransmissions: number;
  timeouts: number;
  /** ACK/NAK frames that answered nothing pending (late duplicates, stale seqs). */
  unmatched: number;
}

export class Waitress {
  readonly #waiters = new Set<Waiter>();
  readonly stats: WaitressStats = { matched: 0, retransmissions: 0, timeouts: 0, unmatched: 0 };

  constructor(private readonly timers: McuTimers) {}

  get pending(): number {
    return this.#waiters.size;
  }

  /** The first transmission happens synchronously; resolves with the reply body of the matching ACK. */
  exchange(x: Exchange): Promise<ReplyBody> {
    return new Promise<ReplyBody>((resolve, reject) => {
      let attempt = 0;
      const waiter: Waiter = {
        seq: x.seq,
        type: x.type,
        timer: null,
        resolve: (frame) => {
          this.settle(waiter);
          if (frame.type === MSG.ACK) {
            resolve(frame.payload.subarray(1));
          } else {
            const nak = decodeNak(frame.payload);
            reject(new McuNakError(x.type, nak.code, nak.detail));
          }
        },
        reject: (error) => {
          this.settle(waiter);
          reject(error);
        },
      };
      const send = (): void => {
        try {
          x.transmit(attempt);
        } catch (error) {
          waiter.reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        waiter.timer = this.timers.setTimeout(onTimeout, x.policy.timeoutMs);
      };
      const onTimeout = (): void => {
        waiter.timer = null;
        if (!this.#waiters.has(waiter)) return;
        if (attempt < x.policy.retries) {
          attempt++;
          this.stats.retransmissions++;
          send();
          return;
        }
        this.stats.timeouts++;
        waiter.reject(
          new DriverError('DRIVER_TIMEOUT', `no answer from the MCU to ${messageName(x.type)} (seq ${x.seq}) after ${attempt + 1} attempts of ${x.policy.timeoutMs} ms`),
        );
      };
      this.#waiters.add(waiter);
      send();
    });
  }

  /**
   * Offer an incoming ACK or NAK frame. Returns true if it answered a pending request. The answered
   * type (first payload byte) must match too, so a stale ACK for another message cannot resolve it.
   */
  handle(frame: McuFrame): boolean {
    if ((frame.type !== MSG.ACK && frame.type !== MSG.NAK) || frame.payload.length < (frame.type === MSG.NAK ? 2 : 1)) return false;
    const answered = frame.payload[0];
    for (const waiter of this.#waiters) {
      if (waiter.seq === frame.seq && waiter.type === answered) {
        this.stats.matched++;
        waiter.resolve(frame);
        return true;
      }
    }
    this.stats.unmatched++;
    return false;
  }

  /** Fail every pending request (link closed, MCU reset). */
  rejectAll(error: Error): void {
    for (const waiter of [...this.#waiters]) waiter.reject(error);
  }

  private settle(waiter: Waiter): void {
    this.#waiters.delete(waiter);
    if (waiter.timer !== null) this.timers.clear(waiter.timer);
    waiter.timer = null;
  }
}

/** The flags byte for an attempt (§2.4). */
export function attemptFlags(attempt: number): number {
  return attempt > 0 ? FLAG_RETRY : 0;
}

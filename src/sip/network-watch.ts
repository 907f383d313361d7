// Re-register on network change: a phone that moves to another network (DHCP renewal with a new
// address, the uplink coming back) must refresh its bindings at once rather than wait out the
// registration interval. Linux has no portable change event without netlink, so the watcher polls
// the interface addresses (cheap: one syscall) on the injected clock.

import { networkInterfaces } from 'node:os';
import type { Clock, TimerHandle } from '../core/clock.js';

/** The non-internal addresses of the board, sorted: what a change is measured on. */
export function externalAddresses(read: typeof networkInterfaces = networkInterfaces): string[] {
  const out: string[] = [];
  for (const [name, addresses] of Object.entries(read())) {
    for (const a of addresses ?? []) if (!a.internal) out.push(`${name}/${a.address}`);
  }
  return out.sort();
}

export interface NetworkWatchOptions {
  clock: Clock;
  /** how often the addresses are read; default 5 s */
  intervalMs?: number;
  /** called with the new and the previous address lists after a change */
  onChange: (now: string[], before: string[]) => void;
  /** the address source (tests) */
  read?: () => string[];
}

export class NetworkWatch {
  #timer: TimerHandle | null = null;
  #last: string[] = [];

  constructor(private readonly o: NetworkWatchOptions) {}

  start(): void {
    if (this.#timer) return;
    const read = this.o.read ?? (() => externalAddresses());
    this.#last = read();
    this.#timer = this.o.clock.setInterval(() => {
      const now = read();
      if (now.join(',') === this.#last.join(',')) return;
      const before = this.#last;
      this.#last = now;
      this.o.onChange(now, before);
    }, this.o.intervalMs ?? 5000);
  }

  stop(): void {
    this.o.clock.clear(this.#timer);
    this.#timer = null;
  }
}

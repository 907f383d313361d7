import type { Clock, TimerHandle } from '../../src/core/clock.js';

/** A clock for tests: time moves only when the test says so. */
export class FakeClock implements Clock {
  #wall: number;
  #mono = 0;
  #nextId = 1;
  #trusted: boolean;
  readonly #timers = new Map<number, { at: number; fn: () => void; every: number | null }>();
  readonly #trustWaiters = new Set<() => void>();

  constructor(options: { wall?: number; trusted?: boolean } = {}) {
    this.#wall = options.wall ?? Date.UTC(2026, 10, 24, 9, 30, 0);
    this.#trusted = options.trusted ?? true;
  }

  now(): number {
    return this.#wall + this.#mono;
  }
  monotonic(): number {
    return this.#mono;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#mono + Math.max(0, ms), fn, every: null });
    return { id };
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#mono + Math.max(1, ms), fn, every: Math.max(1, ms) });
    return { id };
  }
  clear(handle: TimerHandle | null | undefined): void {
    if (handle) this.#timers.delete(handle.id);
  }
  get wallTimeTrusted(): boolean {
    return this.#trusted;
  }
  onWallTimeTrusted(fn: () => void): () => void {
    if (this.#trusted) {
      fn();
      return () => undefined;
    }
    this.#trustWaiters.add(fn);
    return () => this.#trustWaiters.delete(fn);
  }
  /** Simulate time synchronisation (NTP). */
  trustWallTime(): void {
    this.#trusted = true;
    for (const fn of this.#trustWaiters) fn();
    this.#trustWaiters.clear();
  }
  /** Number of pending timers. */
  get pending(): number {
    return this.#timers.size;
  }
  /** Move time forward, firing due timers in order. */
  advance(ms: number): void {
    const target = this.#mono + ms;
    for (;;) {
      let nextId: number | null = null;
      let nextAt = Infinity;
      for (const [id, timer] of this.#timers) {
        if (timer.at <= target && timer.at < nextAt) {
          nextAt = timer.at;
          nextId = id;
        }
      }
      if (nextId === null) break;
      const timer = this.#timers.get(nextId)!;
      this.#mono = timer.at;
      if (timer.every) timer.at += timer.every;
      else this.#timers.delete(nextId);
      timer.fn();
    }
    this.#mono = target;
  }
}

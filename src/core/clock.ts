import { existsSync } from 'node:fs';

export type TimerHandle = { readonly id: number };

/**
 * Time for the runtime. Everything that waits or schedules uses this, so tests run on fake time.
 * The board has no battery-backed clock: until wall time is synchronised, `wallTimeTrusted` is false
 * and anything depending on wall time (quiet hours, reminders, expiry) must wait.
 */
export interface Clock {
  /** Wall time, ms since the epoch (may be wrong until `wallTimeTrusted`). */
  now(): number;
  /** Monotonic ms for durations (never jumps when the wall clock is set). */
  monotonic(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clear(handle: TimerHandle | null | undefined): void;
  readonly wallTimeTrusted: boolean;
  /** Called once when wall time becomes trusted (at once if it already is). Returns an unsubscribe. */
  onWallTimeTrusted(fn: () => void): () => void;
}

/** systemd-timesyncd creates this file once the clock was synchronised (systemd >= 239). */
export const TIMESYNC_FLAG = '/run/systemd/timesync/synchronized';

export class SystemClock implements Clock {
  #nextId = 1;
  readonly #timers = new Map<number, NodeJS.Timeout>();
  #trusted: boolean;
  readonly #waiting = new Set<() => void>();
  #poll: NodeJS.Timeout | null = null;

  /**
   * @param trust 'always' (a laptop or the sim board: the host keeps time), 'never' (tests),
   *   or 'timesync' (a device: trusted once systemd-timesyncd reports synchronisation).
   */
  constructor(private readonly trust: 'always' | 'never' | 'timesync' = 'always', private readonly flagPath = TIMESYNC_FLAG) {
    this.#trusted = trust === 'always' || (trust === 'timesync' && existsSync(flagPath));
  }

  now(): number {
    return Date.now();
  }
  monotonic(): number {
    return performance.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, setTimeout(() => { this.#timers.delete(id); fn(); }, ms));
    return { id };
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, setInterval(fn, ms));
    return { id };
  }
  clear(handle: TimerHandle | null | undefined): void {
    if (!handle) return;
    const timer = this.#timers.get(handle.id);
    if (timer) {
      clearTimeout(timer);
      clearInterval(timer);
      this.#timers.delete(handle.id);
    }
  }
  get wallTimeTrusted(): boolean {
    return this.#trusted;
  }
  onWallTimeTrusted(fn: () => void): () => void {
    if (this.#trusted) {
      fn();
      return () => undefined;
    }
    this.#waiting.add(fn);
    if (this.trust === 'timesync' && !this.#poll) {
      this.#poll = setInterval(() => {
        if (!existsSync(this.flagPath)) return;
        this.#trusted = true;
        this.stopPolling();
        for (const waiter of [...this.#waiting]) waiter();
        this.#waiting.clear();
      }, 2000);
      this.#poll.unref();
    }
    return () => {
      this.#waiting.delete(fn);
      if (this.#waiting.size === 0) this.stopPolling();
    };
  }
  private stopPolling(): void {
    if (this.#poll) clearInterval(this.#poll);
    this.#poll = null;
  }
  /** Cancel every pending timer (shutdown). */
  dispose(): void {
    for (const timer of this.#timers.values()) {
      clearTimeout(timer);
      clearInterval(timer);
    }
    this.#timers.clear();
    this.stopPolling();
  }
}

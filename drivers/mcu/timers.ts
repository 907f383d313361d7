/**
 * Timers injected into the MCU link, so timeouts, retries and heartbeats run on fake time in tests.
 * The runtime's Clock (src/core/clock.ts) fits this shape; drivers/ does not import it.
 */
export interface McuTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** Node's own timers. */
export const systemTimers: McuTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => {
    if (handle) clearTimeout(handle as NodeJS.Timeout);
  },
};

/** A pino-compatible subset for driver diagnostics. */
export interface McuLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export const silentLog: McuLog = { debug: () => undefined, info: () => undefined, warn: () => undefined };

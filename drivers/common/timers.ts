/**
 * What drivers take from the runtime: one-shot timers (so timeouts, retries and back-off run on
 * fake time in tests) and a pino-compatible log subset. The runtime's Clock and pino logger fit
 * these shapes; drivers/ does not import src/.
 */
export interface DriverTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** Node's own timers. */
export const systemTimers: DriverTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => {
    if (handle) clearTimeout(handle as NodeJS.Timeout);
  },
};

/** A pino-compatible subset for driver diagnostics. */
export interface DriverLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export const silentLog: DriverLog = { debug: () => undefined, info: () => undefined, warn: () => undefined };

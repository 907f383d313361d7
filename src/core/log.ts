import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Paths that never reach a log line: SIP passwords, keys, tokens, one-time codes.
 * pino censors them wherever a logged object carries them.
 */
const REDACT = [
  'password', '*.password', '*.*.password', '*.*.*.password', 'config.sip.accounts[*].password',
  'secret', '*.secret', 'key', '*.key', 'token', '*.token', 'setupCode', '*.setupCode',
];

/** The root logger: structured JSON to stdout (journald), namespaced by `ns` per service and driver. */
export function createLogger(options: { level?: LogLevel; destination?: DestinationStream } = {}): Logger {
  return pino(
    { level: options.level ?? 'info', base: { app: 'deskline' }, redact: { paths: REDACT, censor: '[secret]' } },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that writes nothing (tests, CLI one-shots). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

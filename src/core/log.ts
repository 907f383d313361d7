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

/**
 * The newest log lines in memory, bounded in bytes: what the cloud's `logs.upload` command sends (the device may
 * have no persistent journal). Lines are already redacted.
 */
export class LogRing {
  #lines: string[] = [];
  #bytes = 0;

  constructor(readonly maxBytes = 2 * 1024 * 1024) {}

  write(line: string): void {
    this.#lines.push(line);
    this.#bytes += line.length;
    if (this.#bytes <= this.maxBytes) return;
    let drop = 0;
    while (this.#bytes > this.maxBytes && drop < this.#lines.length - 1) this.#bytes -= this.#lines[drop++].length;
    this.#lines = this.#lines.slice(drop);
  }

  text(): string {
    return this.#lines.join('');
  }
}

/** The root logger: structured JSON to stdout (journald), namespaced by `ns` per service and driver; also into `ring` when given. */
export function createLogger(options: { level?: LogLevel; destination?: DestinationStream; ring?: LogRing } = {}): Logger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: false });
  return pino(
    { level: options.level ?? 'info', base: { app: 'deskline' }, redact: { paths: REDACT, censor: '[secret]' } },
    options.ring ? pino.multistream([{ level: 'trace', stream: destination }, { level: 'trace', stream: options.ring }]) : destination,
  );
}

/** A logger that writes nothing (tests, CLI one-shots). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

import { spawn, type ChildProcess } from 'node:child_process';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { Service } from '../core/services.js';

export interface SystemdNotifyContext {
  log: Logger;
  clock: Clock;
  env: NodeJS.ProcessEnv;
  /** The notifier binary; systemd-notify from the systemd package. */
  command?: string;
  /** A one-line status shown by `systemctl status`, read when ready. */
  status: () => string;
}

/**
 * sd_notify for systemd (Type=notify, NotifyAccess=all): READY=1 once every service has started,
 * WATCHDOG=1 every WATCHDOG_USEC/2 while the event loop runs, STOPPING=1 on shutdown.
 *
 * Node cannot open the AF_UNIX datagram socket itself, so a long-lived shell helper runs
 * systemd-notify for each line the runtime writes to it: the main thread never forks per ping.
 * Without NOTIFY_SOCKET (not under systemd) this service does nothing.
 */
export class SystemdNotifyService implements Service {
  #helper: ChildProcess | null = null;
  #watchdog: TimerHandle | null = null;

  constructor(private readonly ctx: SystemdNotifyContext) {}

  async start(): Promise<void> {
    const { env, log, clock } = this.ctx;
    if (!env.NOTIFY_SOCKET) return;
    const helper = spawn('/bin/sh', ['-c', 'while IFS= read -r line; do "$0" $line || echo "notify failed: $line" >&2; done', this.ctx.command ?? 'systemd-notify'], {
      stdio: ['pipe', 'ignore', 'pipe'],
      env,
    });
    helper.stderr?.on('data', (chunk: Buffer) => log.warn({ output: chunk.toString().trim() }, 'systemd-notify reported a problem'));
    helper.on('error', (error) => log.error({ err: error }, 'systemd notify helper failed'));
    helper.stdin?.on('error', () => undefined);
    this.#helper = helper;

    this.send(['READY=1', `STATUS=${this.ctx.status().replace(/\s+/g, '_').slice(0, 200)}`, `MAINPID=${process.pid}`]);
    const usec = Number(env.WATCHDOG_USEC);
    const watchdogPid = env.WATCHDOG_PID ? Number(env.WATCHDOG_PID) : process.pid;
    if (Number.isFinite(usec) && usec > 0 && watchdogPid === process.pid) {
      const everyMs = Math.max(100, Math.floor(usec / 2000));
      this.#watchdog = clock.setInterval(() => this.send(['WATCHDOG=1']), everyMs);
      log.info({ everyMs }, 'systemd watchdog armed');
    }
  }

  async stop(): Promise<void> {
    this.ctx.clock.clear(this.#watchdog);
    this.#watchdog = null;
    const helper = this.#helper;
    if (!helper) return;
    this.send(['STOPPING=1']);
    this.#helper = null;
    helper.stdin?.end();
    await new Promise<void>((resolve) => {
      if (helper.exitCode !== null) return resolve();
      const timer = setTimeout(() => {
        helper.kill('SIGKILL');
        resolve();
      }, 2000);
      helper.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** One helper line = one systemd-notify call with these assignments (no spaces inside values). */
  private send(assignments: string[]): void {
    this.#helper?.stdin?.write(`${assignments.join(' ')}\n`);
  }
}

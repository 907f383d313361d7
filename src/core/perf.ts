// Runtime health figures for benchmarks and `deskline` over the control socket: how late the main
// thread's event loop runs (perf_hooks.monitorEventLoopDelay), resident memory and CPU time.
// The media worker has its own event loop; its pacing shows in the RTP send intervals instead.

import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/**
 * Event-loop delay percentiles in milliseconds over the sampling window: how much later than due
 * the monitor's timer ran (Node's histogram holds whole timer intervals; the resolution is taken
 * off, so an idle loop reads ~0).
 */
export interface EventLoopDelayStats {
  p50: number;
  p99: number;
  max: number;
  mean: number;
  /** samples in the window */
  count: number;
}

export interface RuntimeStats {
  /** null while the monitor is not running */
  eventLoopDelay: EventLoopDelayStats | null;
  /** how long the event-loop window has been sampling, in ms */
  windowMs: number;
  /** resident set size of the whole process, bytes */
  rss: number;
  heapUsed: number;
  /** CPU time of the whole process (main thread and workers), seconds since it started */
  cpuUser: number;
  cpuSystem: number;
  /** process uptime, seconds */
  uptime: number;
  pid: number;
}

export interface RuntimeMonitorOptions {
  /** event-loop sampling resolution in ms (default 10; Node's minimum is 1) */
  resolutionMs?: number;
  /** monotonic milliseconds; default performance.now() */
  now?: () => number;
}

const NS_PER_MS = 1e6;

/** Samples the main thread's event-loop delay between start() and stop(). */
export class RuntimeMonitor {
  #histogram: IntervalHistogram | null = null;
  #windowStart = 0;
  readonly #now: () => number;
  readonly #resolutionMs: number;

  constructor(options: RuntimeMonitorOptions = {}) {
    this.#resolutionMs = Math.max(1, Math.round(options.resolutionMs ?? 10));
    this.#now = options.now ?? (() => performance.now());
  }

  get running(): boolean {
    return this.#histogram !== null;
  }

  start(): void {
    if (this.#histogram) return;
    const histogram = monitorEventLoopDelay({ resolution: this.#resolutionMs });
    histogram.enable();
    this.#histogram = histogram;
    this.#windowStart = this.#now();
  }

  stop(): void {
    this.#histogram?.disable();
    this.#histogram = null;
  }

  /** Starts a new event-loop window (e.g. when a benchmark phase begins). */
  reset(): void {
    this.#histogram?.reset();
    this.#windowStart = this.#now();
  }

  /** The figures now; with reset, the event-loop window starts afresh after reading. */
  stats(options: { reset?: boolean } = {}): RuntimeStats {
    const h = this.#histogram;
    // an empty histogram reports min/max as huge sentinels and mean NaN: report zeros instead
    const late = (ns: number) => Math.max(0, ns / NS_PER_MS - this.#resolutionMs);
    const eventLoopDelay = h
      ? h.count > 0
        ? { p50: late(h.percentile(50)), p99: late(h.percentile(99)), max: late(h.max), mean: late(h.mean), count: h.count }
        : { p50: 0, p99: 0, max: 0, mean: 0, count: 0 }
      : null;
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    const stats: RuntimeStats = {
      eventLoopDelay,
      windowMs: h ? this.#now() - this.#windowStart : 0,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      cpuUser: cpu.user / 1e6,
      cpuSystem: cpu.system / 1e6,
      uptime: process.uptime(),
      pid: process.pid,
    };
    if (options.reset) this.reset();
    return stats;
  }
}

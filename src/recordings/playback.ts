import type { AudioPlayback } from '../../drivers/audio/types.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { WavFrameReader } from './wav.js';

const PERIOD_MS = 20;
/** Periods written ahead of real time, so timer jitter never starves the device (ALSA queues up to 10). */
const LEAD_PERIODS = 3;
/** Behind by more than this (a stalled event loop): carry on from now instead of bursting to catch up. */
const MAX_LAG_MS = 200;

export type PlaybackEnd = 'finished' | 'stopped' | 'failed';

/**
 * One recording played to an audio endpoint in real time: period i is written at start + (i - 3) x 20 ms on
 * the injected clock. The ALSA driver never blocks a write (it drops what it cannot queue), and the sim
 * driver writes at once, so the pacing is ours.
 */
export class PacedPlayback {
  #stopped = false;
  #timer: TimerHandle | null = null;
  #wake: (() => void) | null = null;
  #periods = 0;
  readonly done: Promise<PlaybackEnd>;

  constructor(private readonly ctx: { clock: Clock; reader: WavFrameReader; output: AudioPlayback; onError: (error: unknown) => void }) {
    this.done = this.#run();
  }

  /** Audio played so far (ms). */
  get positionMs(): number {
    return this.#periods * PERIOD_MS;
  }

  /** Stops at the next period; resolves once the output is closed. */
  async stop(): Promise<PlaybackEnd> {
    this.#stopped = true;
    this.ctx.clock.clear(this.#timer);
    this.#wake?.();
    return this.done;
  }

  async #run(): Promise<PlaybackEnd> {
    const { clock, reader, output } = this.ctx;
    let end: PlaybackEnd = 'finished';
    try {
      let startedAt = clock.monotonic();
      for (let period = 0; ; period++) {
        const due = startedAt + Math.max(0, period - LEAD_PERIODS) * PERIOD_MS;
        const wait = due - clock.monotonic();
        if (wait > 0) await this.#sleep(wait);
        else if (-wait > MAX_LAG_MS) startedAt = clock.monotonic() - Math.max(0, period - LEAD_PERIODS) * PERIOD_MS;
        if (this.#stopped) break;
        const frame = await reader.next(output.format.frameSamples);
        if (!frame || this.#stopped) break;
        await output.write(frame);
        this.#periods++;
      }
      if (this.#stopped) end = 'stopped';
    } catch (error) {
      end = 'failed';
      this.ctx.onError(error);
    } finally {
      await Promise.allSettled([output.close(), reader.close()]);
    }
    return end;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = null;
        resolve();
      };
      this.#timer = this.ctx.clock.setTimeout(() => this.#wake?.(), ms);
    });
  }
}

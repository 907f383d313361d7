import type { SimCallerIdSource } from '../../drivers/callerid/sim.js';
import type { SimAnalogLine } from '../../drivers/mcu/sim.js';
import type { Clock, TimerHandle } from '../core/clock.js';

/**
 * The telephone exchange behind the sim board's analog line, for the virtual phone: rings with a
 * cadence, sends caller ID between the first and the second ring (Bell 202 timing), stops ringing
 * once the phone seizes the line, and hangs up by dropping loop current.
 */
export class SimExchange {
  #timer: TimerHandle | null = null;

  constructor(private readonly line: SimAnalogLine, private readonly callerId: SimCallerIdSource, private readonly clock: Clock) {}

  get ringing(): boolean {
    return this.#timer !== null;
  }

  /** Ring the phone: bursts of `onMs`, pauses of `offMs`, caller ID in the first pause; at most `maxRings`. */
  ring(caller: { number: string; name: string | null }, cadence = { onMs: 2000, offMs: 4000, maxRings: 10 }): void {
    this.stopRinging();
    let rings = 0;
    const burst = () => {
      if (this.line.seized || rings >= cadence.maxRings) return this.stopRinging();
      rings++;
      this.line.injectRing(true);
      this.#timer = this.clock.setTimeout(() => {
        this.line.injectRing(false);
        if (rings === 1) this.callerId.inject({ format: 'mdmf', number: caller.number, name: caller.name });
        this.#timer = this.clock.setTimeout(burst, cadence.offMs);
      }, cadence.onMs);
    };
    burst();
  }

  /** The caller gives up (while ringing) or hangs up (once answered). */
  hangUp(): boolean {
    const wasRinging = this.ringing;
    this.stopRinging();
    if (this.line.seized) {
      this.line.injectLoopCurrent(false);
      return true;
    }
    return wasRinging;
  }

  stopRinging(): void {
    this.clock.clear(this.#timer);
    this.#timer = null;
  }
}

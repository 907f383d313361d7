import { randomUUID } from 'node:crypto';
import { TypedEmitter } from '../../drivers/common/typed-emitter.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { DesklineError } from '../core/errors.js';
import type { CallEndReason, CallInfo, CallState } from '../core/events.js';
import type { Call, CallEvents, Line, LineEvents } from './types.js';

/** A call on the simulated line. */
class SimCall extends TypedEmitter<CallEvents> implements Call {
  #state: CallState;
  readonly dtmfSent: string[] = [];

  constructor(readonly info: CallInfo, initial: CallState, private readonly onEnd: (call: SimCall) => void) {
    super();
    this.#state = initial;
  }

  get state(): CallState {
    return this.#state;
  }

  transition(state: CallState, reason?: CallEndReason): void {
    if (this.#state === 'ended' || this.#state === state) return;
    this.#state = state;
    this.emit('stateChanged', reason ? { state, reason } : { state });
    if (state === 'ended') this.onEnd(this);
  }

  async answer(): Promise<void> {
    if (this.info.direction !== 'inbound' || this.#state !== 'ringing') {
      throw new DesklineError('CALL_INVALID_STATE', `call ${this.info.callId} cannot be answered while ${this.#state}`);
    }
    this.transition('active');
  }

  async hangup(reason: CallEndReason = 'local-hangup'): Promise<void> {
    this.transition('ended', reason);
  }

  async sendDtmf(digits: string): Promise<void> {
    if (this.#state !== 'active') throw new DesklineError('CALL_INVALID_STATE', `DTMF needs an active call, call is ${this.#state}`);
    this.dtmfSent.push(digits);
  }
}

export interface SimLineOptions {
  id?: string;
  clock: Clock;
  /** Read on each call, so config changes apply to the next call. */
  settings: () => { answerAfterMs: number; busyNumbers: readonly string[] };
}

/**
 * The simulated line: outgoing calls ring (alerting) and are answered after `answerAfterMs`, or get
 * busy for `busyNumbers`; incoming calls are injected by tests and the virtual phone.
 */
export class SimLine extends TypedEmitter<LineEvents> implements Line {
  readonly id: string;
  readonly kind = 'sim' as const;
  readonly #calls = new Map<string, { call: SimCall; timer: TimerHandle | null }>();

  constructor(private readonly options: SimLineOptions) {
    super();
    this.id = options.id ?? 'sim';
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    for (const { call } of [...this.#calls.values()]) call.transition('ended', 'failed');
  }

  async placeCall(number: string): Promise<Call> {
    const call = this.newCall({ direction: 'outbound', number, name: null }, 'dialing');
    call.transition('alerting');
    const { answerAfterMs, busyNumbers } = this.options.settings();
    const busy = busyNumbers.includes(number);
    const entry = this.#calls.get(call.info.callId)!;
    entry.timer = this.options.clock.setTimeout(() => {
      entry.timer = null;
      if (busy) call.transition('ended', 'busy');
      else call.transition('active');
    }, busy ? Math.min(answerAfterMs, 500) : answerAfterMs);
    return call;
  }

  /** Inject an incoming call from the far end. */
  injectIncoming(caller: { number: string; name?: string | null }): Call {
    const call = this.newCall({ direction: 'inbound', number: caller.number, name: caller.name ?? null }, 'ringing');
    this.emit('incomingCall', call);
    return call;
  }

  /** The far end hangs up (or cancels while ringing). */
  remoteHangup(callId?: string): boolean {
    const entry = callId ? this.#calls.get(callId) : [...this.#calls.values()][0];
    if (!entry) return false;
    entry.call.transition('ended', entry.call.state === 'ringing' ? 'cancelled' : 'remote-hangup');
    return true;
  }

  calls(): Call[] {
    return [...this.#calls.values()].map((e) => e.call);
  }

  private newCall(details: Pick<CallInfo, 'direction' | 'number' | 'name'>, initial: CallState): SimCall {
    const info: CallInfo = { callId: randomUUID(), lineId: this.id, lineKind: 'sim', ...details };
    const call = new SimCall(info, initial, (ended) => {
      const entry = this.#calls.get(ended.info.callId);
      this.options.clock.clear(entry?.timer);
      this.#calls.delete(ended.info.callId);
    });
    this.#calls.set(info.callId, { call, timer: null });
    return call;
  }
}

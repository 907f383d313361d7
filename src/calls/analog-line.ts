import { randomUUID } from 'node:crypto';
import { DtmfCallerIdCollector } from '../../drivers/callerid/dtmf.js';
import type { CallerId, CallerIdSource } from '../../drivers/callerid/types.js';
import { TypedEmitter } from '../../drivers/common/typed-emitter.js';
import type { AnalogLineDriver, LineTone } from '../../drivers/mcu/types.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { DesklineError, errorMessage } from '../core/errors.js';
import type { CallEndReason, CallInfo, CallState } from '../core/events.js';
import type { Logger } from '../core/log.js';
import type { Call, CallEvents, Line, LineEvents } from './types.js';

export interface AnalogLineSettings {
  ringTimeoutMs: number;
  dialToneTimeoutMs: number;
  answerSupervision: 'polarity' | 'none';
  dtmfToneMs: number;
  dtmfGapMs: number;
  disconnectDebounceMs: number;
}

export interface AnalogLineOptions {
  id?: string;
  line: AnalogLineDriver;
  callerId: CallerIdSource | null;
  clock: Clock;
  log: Logger;
  settings: () => AnalogLineSettings;
  /** The exchange's message-waiting indication (voicemail) changed. */
  onMessageWaiting?: (waiting: boolean) => void;
}

/** Caller ID that came before the first ring (ETSI) is kept this long for the call it announces. */
const EARLY_CALLER_ID_MS = 10_000;

class AnalogCall extends TypedEmitter<CallEvents> implements Call {
  #state: CallState;
  constructor(readonly info: CallInfo, initial: CallState, private readonly owner: AnalogLine) {
    super();
    this.#state = initial;
  }
  get state(): CallState {
    return this.#state;
  }
  /** Re-read after an await: the far end or the user may have ended the call meanwhile. */
  get ended(): boolean {
    return this.#state === 'ended';
  }
  /** Called by the line only. */
  move(state: CallState, reason?: CallEndReason): void {
    if (this.#state === 'ended' || this.#state === state) return;
    this.#state = state;
    this.emit('stateChanged', reason ? { state, reason } : { state });
  }
  identify(callerId: CallerId): void {
    this.info.number = callerId.number ?? '';
    this.info.name = callerId.name;
    this.info.numberAbsent = callerId.numberAbsent;
    this.info.nameAbsent = callerId.nameAbsent;
    this.emit('identified', { ...this.info });
  }
  answer(): Promise<void> {
    return this.owner.answerCall(this);
  }
  hangup(reason: CallEndReason = 'local-hangup'): Promise<void> {
    return this.owner.endCall(this, reason);
  }
  sendDtmf(digits: string): Promise<void> {
    return this.owner.sendDtmf(this, digits);
  }
}

/**
 * The analog line (FXO through the MCU). Call progress comes from line supervision, never from guesses:
 * - incoming: a ring burst announces the call; caller ID (before the first ring, ETSI, or between the
 *   first and second ring, Bell 202) identifies it; no ring burst for `ringTimeoutMs` = missed.
 * - answering and dialing seize the line; hanging up releases it.
 * - outgoing: seize, wait for dial tone, dial DTMF; a polarity reversal (with answerSupervision
 *   'polarity') means answered; busy tone means busy.
 * - the far end hanging up: loop current gone for `disconnectDebounceMs`, or busy/congestion tone
 *   while connected.
 */
export class AnalogLine extends TypedEmitter<LineEvents> implements Line {
  readonly id: string;
  readonly kind = 'analog' as const;
  #call: AnalogCall | null = null;
  #ringTimer: TimerHandle | null = null;
  #disconnectTimer: TimerHandle | null = null;
  #earlyCallerId: { callerId: CallerId; at: number } | null = null;
  #dialTone: { resolve: () => void; timer: TimerHandle } | null = null;
  readonly #off: Array<() => void> = [];
  /** Whether the MCU has ever reported a tone (one without tone detection: dial after the wait). */
  #toneSeen = false;
  readonly #dtmfCallerId = new DtmfCallerIdCollector();
  #dtmfQueue: Promise<void> = Promise.resolve();

  constructor(private readonly options: AnalogLineOptions) {
    super();
    this.id = options.id ?? 'analog';
  }

  async start(): Promise<void> {
    const { line, callerId } = this.options;
    this.#off.push(
      line.on('ringDetected', ({ on }) => this.onRing(on)),
      line.on('polarityReversed', () => this.onPolarityReversed()),
      line.on('loopCurrentChanged', ({ present }) => this.onLoopCurrent(present)),
    );
    this.#off.push(
      line.on('toneDetected', ({ tone }) => this.onTone(tone)),
      line.on('dtmfDetected', ({ digit }) => this.onDtmf(digit)),
    );
    if (callerId) {
      this.#off.push(
        callerId.on('callerIdReceived', (cid) => this.onCallerId(cid)),
        callerId.on('messageWaitingChanged', ({ messageWaiting }) => this.options.onMessageWaiting?.(messageWaiting)),
        callerId.on('callerIdRejected', ({ reason }) => this.options.log.warn({ reason }, 'caller ID rejected')),
        callerId.on('sourceFailed', ({ code, message }) => this.options.log.error({ code }, `caller-ID source failed: ${message}`)),
      );
      await callerId.open();
    }
  }

  async stop(): Promise<void> {
    for (const off of this.#off.splice(0)) off();
    if (this.#call) await this.endCall(this.#call, 'failed');
    await this.options.callerId?.close();
  }

  async placeCall(number: string): Promise<Call> {
    if (this.#call) throw new DesklineError('LINE_BUSY', 'the analog line already has a call');
    if (!/^[0-9*#]+$/.test(number)) throw new DesklineError('CALL_BAD_NUMBER', `the analog line dials digits, * and # only, not '${number}'`);
    const call = this.newCall('outbound', number, 'dialing');
    void this.dial(call, number);
    return call;
  }

  private async dial(call: AnalogCall, number: string): Promise<void> {
    const { line, log } = this.options;
    const settings = this.options.settings();
    try {
      await line.seize();
      if (call.ended) {
        if (line.seized) await line.release();
        return;
      }
      const heard = await this.waitForDialTone(settings.dialToneTimeoutMs);
      if (call.ended) return;
      if (!heard) {
        log.warn({ callId: call.info.callId }, 'no dial tone on the analog line');
        await this.endCall(call, 'failed');
        return;
      }
      await line.dialDtmf(number, { toneMs: settings.dtmfToneMs, gapMs: settings.dtmfGapMs });
      if (call.ended) return;
      call.move(settings.answerSupervision === 'none' ? 'active' : 'alerting');
    } catch (error) {
      log.error({ err: error, callId: call.info.callId }, `dialing failed: ${errorMessage(error)}`);
      await this.endCall(call, 'failed');
    }
  }

  /**
   * Resolves true once the MCU reports dial tone; false after the timeout. An MCU without tone
   * detection never reports one, so set dialToneTimeoutMs to how long the exchange needs.
   */
  private waitForDialTone(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = this.options.clock.setTimeout(() => {
        this.#dialTone = null;
        resolve(!this.#toneSeen);
      }, timeoutMs);
      this.#dialTone = {
        timer,
        resolve: () => {
          this.options.clock.clear(timer);
          this.#dialTone = null;
          resolve(true);
        },
      };
    });
  }


  async answerCall(call: AnalogCall): Promise<void> {
    if (call !== this.#call || call.state !== 'ringing') {
      throw new DesklineError('CALL_INVALID_STATE', `call ${call.info.callId} cannot be answered while ${call.state}`);
    }
    this.options.clock.clear(this.#ringTimer);
    await this.options.line.seize();
    // Hung up while the relay was closing: open it again.
    if (!call.ended) call.move('active');
    else if (this.options.line.seized) await this.options.line.release();
  }

  async endCall(call: AnalogCall, reason: CallEndReason): Promise<void> {
    if (call.state === 'ended') return;
    const { clock, line, log } = this.options;
    clock.clear(this.#ringTimer);
    clock.clear(this.#disconnectTimer);
    this.#ringTimer = this.#disconnectTimer = null;
    if (this.#call === call) this.#call = null;
    call.move('ended', reason);
    if (line.seized) await line.release().catch((error: unknown) => log.error({ err: error }, 'releasing the line failed'));
  }

  /** Digits pressed quickly go out one after the other: the MCU plays one DTMF string at a time. */
  sendDtmf(call: AnalogCall, digits: string): Promise<void> {
    if (call.state !== 'active') return Promise.reject(new DesklineError('CALL_INVALID_STATE', `DTMF needs an active call, call is ${call.state}`));
    const settings = this.options.settings();
    const send = this.#dtmfQueue.then(() => (call.ended ? undefined : this.options.line.dialDtmf(digits, { toneMs: settings.dtmfToneMs, gapMs: settings.dtmfGapMs })));
    this.#dtmfQueue = send.catch(() => undefined);
    return send;
  }

  private newCall(direction: 'inbound' | 'outbound', number: string, state: CallState): AnalogCall {
    const info: CallInfo = { callId: randomUUID(), lineId: this.id, lineKind: 'analog', direction, number, name: null };
    const call = new AnalogCall(info, state, this);
    this.#call = call;
    return call;
  }

  private onRing(on: boolean): void {
    const { clock } = this.options;
    if (!on) return;
    let call = this.#call;
    if (!call) {
      call = this.newCall('inbound', '', 'ringing');
      const early = this.#earlyCallerId;
      this.#earlyCallerId = null;
      if (early && clock.monotonic() - early.at <= EARLY_CALLER_ID_MS) call.identify(early.callerId);
      this.emit('incomingCall', call);
    }
    if (call.state !== 'ringing') return;
    // Each burst restarts the wait: when the bursts stop, the caller gave up.
    clock.clear(this.#ringTimer);
    const ringing = call;
    this.#ringTimer = clock.setTimeout(() => void this.endCall(ringing, 'cancelled'), this.options.settings().ringTimeoutMs);
  }

  private onCallerId(callerId: CallerId): void {
    const call = this.#call;
    if (call && call.info.direction === 'inbound' && call.state === 'ringing') call.identify(callerId);
    else if (!call) this.#earlyCallerId = { callerId, at: this.options.clock.monotonic() };
  }

  /**
   * DTMF caller ID (Nordics, India, Brazil, Taiwan...) comes through the MCU's DTMF detector before
   * or between the rings; digits heard during a connected call are the far end's, not caller ID.
   */
  private onDtmf(digit: string): void {
    if (this.#call && this.#call.state !== 'ringing') return;
    const callerId = this.#dtmfCallerId.push(digit, this.options.clock.monotonic());
    if (callerId) this.onCallerId(callerId);
  }

  private onPolarityReversed(): void {
    const call = this.#call;
    if (call?.info.direction === 'outbound' && call.state === 'alerting' && this.options.settings().answerSupervision === 'polarity') call.move('active');
  }

  private onLoopCurrent(present: boolean): void {
    const { clock } = this.options;
    clock.clear(this.#disconnectTimer);
    this.#disconnectTimer = null;
    const call = this.#call;
    if (present || !call || !this.options.line.seized) return;
    this.#disconnectTimer = clock.setTimeout(() => void this.endCall(call, 'remote-hangup'), this.options.settings().disconnectDebounceMs);
  }

  private onTone(tone: LineTone): void {
    this.#toneSeen = true;
    if (tone === 'dial') this.#dialTone?.resolve();
    const call = this.#call;
    // Busy or congestion tone ends an outgoing call being set up (busy) or any connected call (the far end hung up).
    if (!call || (call.info.direction !== 'outbound' && call.state !== 'active')) return;
    if (tone === 'busy' || tone === 'congestion') {
      void this.endCall(call, call.state === 'active' ? 'remote-hangup' : 'busy');
    }
  }
}

import type { Clock } from '../core/clock.js';
import type { EventBus } from '../core/bus.js';
import { DesklineError } from '../core/errors.js';
import type { BusEvents, CallEndReason, CallInfo, CallState } from '../core/events.js';
import type { Logger } from '../core/log.js';
import type { Service } from '../core/services.js';
import { normalizeNumber } from '../numbers/numbers.js';
import { DIALABLE, type Call, type CallControl, type Line, type LineStatus } from './types.js';

export interface CallServiceContext {
  bus: EventBus<BusEvents>;
  clock: Clock;
  log: Logger;
  lines: Line[];
  /** The line's country (config device.country), for normalising numbers to E.164. */
  country: () => string;
}


/**
 * The call service owns the lines: it is the one place that turns line and call events into
 * `callStateChanged` facts on the bus, and the one place other services ask to place, answer or
 * end calls.
 */
export class CallService implements Service, CallControl {
  readonly #calls = new Map<string, Call>();
  readonly #unsubscribe: Array<() => void> = [];
  readonly #lineStatus = new Map<string, LineStatus>();

  constructor(private readonly ctx: CallServiceContext) {}

  async start(): Promise<void> {
    for (const line of this.ctx.lines) {
      this.#unsubscribe.push(
        line.on('incomingCall', (call) => this.track(call)),
        line.on('statusChanged', ({ state, problem }) => {
          this.#lineStatus.set(line.id, { state, problem });
          this.ctx.log.info({ line: line.id, state, problem }, `line ${line.id} ${state}${problem ? `: ${problem}` : ''}`);
          this.ctx.bus.emit('lineStatusChanged', { lineId: line.id, lineKind: line.kind, state, problem });
        }),
      );
      await line.start();
    }
  }

  async stop(): Promise<void> {
    for (const off of this.#unsubscribe.splice(0)) off();
    for (const line of this.ctx.lines) await line.stop();
    this.#calls.clear();
  }

  async placeCall(number: string, lineId?: string): Promise<CallInfo> {
    if (!DIALABLE.test(number)) throw new DesklineError('CALL_BAD_NUMBER', `cannot dial '${number}': use digits, * and # (up to 64)`);
    const line = lineId ? this.ctx.lines.find((l) => l.id === lineId) : this.ctx.lines[0];
    if (!line) throw new DesklineError('CALL_NO_LINE', lineId ? `no line '${lineId}'` : 'no line is configured to place calls');
    const call = await line.placeCall(number);
    this.track(call);
    return call.info;
  }

  async answer(callId: string): Promise<void> {
    await this.find(callId).answer();
  }

  async hangup(callId: string, reason?: CallEndReason): Promise<void> {
    await this.find(callId).hangup(reason);
  }

  async sendDtmf(callId: string, digits: string): Promise<void> {
    await this.find(callId).sendDtmf(digits);
  }

  activeCalls(): Array<CallInfo & { state: CallState }> {
    return [...this.#calls.values()].map((call) => ({ ...call.info, state: call.state }));
  }

  lineStatuses(): Array<LineStatus & { lineId: string }> {
    return this.ctx.lines.map((line) => ({ lineId: line.id, ...(this.#lineStatus.get(line.id) ?? { state: 'ready' as const, problem: null }) }));
  }

  private find(callId: string): Call {
    const call = this.#calls.get(callId);
    if (!call) throw new DesklineError('CALL_NOT_FOUND', `no call '${callId}'`);
    return call;
  }

  private track(call: Call): void {
    this.#calls.set(call.info.callId, call);
    this.publish(call.info, call.state);
    const offIdentified = call.on('identified', (info) => this.ctx.bus.emit('callerIdReceived', this.normalized(info)));
    const offDtmf = call.on('dtmf', (e) => {
      this.ctx.log.info({ callId: call.info.callId, line: call.info.lineId, digit: e.digit, durationMs: e.durationMs }, 'dtmf received');
      this.ctx.bus.emit('dtmfReceived', { callId: call.info.callId, lineId: call.info.lineId, digit: e.digit, durationMs: e.durationMs });
    });
    const off = call.on('stateChanged', ({ state, reason }) => {
      this.publish(call.info, state, reason);
      if (state === 'ended') untrack();
    });
    const untrack = () => {
      off();
      offIdentified();
      offDtmf();
      this.#calls.delete(call.info.callId);
    };
    if (call.state === 'ended') untrack();
  }

  private publish(info: CallInfo, state: CallState, reason?: CallEndReason): void {
    this.ctx.log.info({ callId: info.callId, line: info.lineId, direction: info.direction, state, reason }, `call ${state}`);
    this.ctx.bus.emit('callStateChanged', { ...this.normalized(info), state, ...(reason ? { reason } : {}), at: this.ctx.clock.now() });
  }

  /** Every call fact carries the number in E.164 too; the digits as sent stay in `number` for display. */
  private normalized(info: CallInfo): CallInfo {
    return { ...info, e164: info.number ? normalizeNumber(info.number, this.ctx.country()).e164 : null };
  }
}

import type { TypedEmitter } from '../../drivers/common/typed-emitter.js';
import type { CallEndReason, CallInfo, CallState, LineKind } from '../core/events.js';

/** Numbers the phone dials: digits, * and #, an optional leading +. */
export const DIALABLE = /^\+?[0-9*#]{1,64}$/;

export interface CallEvents {
  [event: string]: unknown;
  stateChanged: { state: CallState; reason?: CallEndReason };
  /** The caller was identified after the call was announced (analog caller ID between rings). */
  identified: CallInfo;
  /** The far end sent a DTMF digit (SIP: RFC 4733 or INFO); lines that cannot hear DTMF never emit it. */
  dtmf: { digit: string; durationMs: number };
}

/**
 * One call on a line.
 * - `state` only moves forward: ringing|dialing -> alerting -> active -> ended (any state may end).
 * - `stateChanged` MUST be emitted exactly once per change; `ended` is final.
 */
export interface Call extends Pick<TypedEmitter<CallEvents>, 'on' | 'once'> {
  readonly info: CallInfo;
  readonly state: CallState;
  answer(): Promise<void>;
  hangup(reason?: CallEndReason): Promise<void>;
  sendDtmf(digits: string): Promise<void>;
}

/** Whether a line can carry calls, and if not, what a person should know (e.g. 'wrong password'). */
export interface LineStatus {
  state: 'ready' | 'connecting' | 'failed';
  problem: string | null;
}

export interface LineEvents {
  [event: string]: unknown;
  incomingCall: Call;
  /** Lines that register or connect (SIP) report it; a line without this event is always ready. */
  statusChanged: LineStatus;
}

/**
 * A line: the simulated line now, the analog line (FXO through the MCU) and SIP lines later.
 * Everything above the line (screen pop, recording, SMS, orders) works the same on every line.
 */
export interface Line extends Pick<TypedEmitter<LineEvents>, 'on' | 'once'> {
  readonly id: string;
  readonly kind: LineKind;
  placeCall(number: string): Promise<Call>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** What other services ask of the call service. */
export interface CallControl {
  placeCall(number: string, lineId?: string): Promise<CallInfo>;
  answer(callId: string): Promise<void>;
  hangup(callId: string, reason?: CallEndReason): Promise<void>;
  sendDtmf(callId: string, digits: string): Promise<void>;
  activeCalls(): Array<CallInfo & { state: CallState }>;
  /** The last status each line reported (lines that never reported are ready). */
  lineStatuses(): Array<LineStatus & { lineId: string }>;
}

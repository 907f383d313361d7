import type { PhoneKey } from '../../drivers/mcu/types.js';

/** Where a call runs. */
export type LineKind = 'sim' | 'analog' | 'sip';

export type CallDirection = 'inbound' | 'outbound';

/** Call progress as the line reports it. */
export type CallState = 'ringing' | 'dialing' | 'alerting' | 'active' | 'ended';

export type CallEndReason = 'local-hangup' | 'remote-hangup' | 'rejected' | 'busy' | 'no-answer' | 'cancelled' | 'failed';

export type AbsenceReason = 'private' | 'unavailable';

export interface CallInfo {
  callId: string;
  lineId: string;
  lineKind: LineKind;
  direction: CallDirection;
  /** Digits as the line gave them; '' while unknown (an analog call before its caller ID). */
  number: string;
  name: string | null;
  /** Why the caller's number or name is missing, when caller ID said so. */
  numberAbsent?: AbsenceReason | null;
  nameAbsent?: AbsenceReason | null;
  /** The number in E.164 (normalised with device.country) for lookups, or null when it cannot be. */
  e164?: string | null;
}

export type PhoneStateName = 'idle' | 'dialing' | 'ringing' | 'calling' | 'talking';

/** The bus's event map: every fact the runtime publishes, with its payload. */
export interface BusEvents {
  [event: string]: unknown;
  hookChanged: { offHook: boolean; source: 'handset' | 'hid' };
  keyPressed: { key: PhoneKey; long: boolean; source?: 'keypad' | 'hid' };
  /** A line became ready, is connecting, or failed (with what a person should know). */
  lineStatusChanged: { lineId: string; lineKind: LineKind; state: 'ready' | 'connecting' | 'failed'; problem: string | null };
  /** Voicemail waiting on a line (caller-ID message-waiting indication), or no longer. */
  messageWaitingChanged: { lineId: string; waiting: boolean };
  /** A USB peripheral came or went (HID handsets and headsets now; printers, scanners later). */
  peripheralChanged: { kind: 'hid'; id: string; attached: boolean; product: string | null };
  callStateChanged: CallInfo & { state: CallState; reason?: CallEndReason; at: number };
  /** Caller ID arrived (or changed) for a call that is already known. */
  callerIdReceived: CallInfo;
  /** The far end sent a DTMF digit during a call (SIP: RFC 4733 telephone-event), once per key press. */
  dtmfReceived: { callId: string; lineId: string; digit: string; durationMs: number };
  phoneStateChanged: { state: PhoneStateName; previous: PhoneStateName; call: CallInfo | null };
  /** The display's text model after each render (what a screen reader or the web UI shows). */
  displayChanged: { rows: string[] };
  ringerChanged: { ringing: boolean };
  serviceFailed: { service: string; phase: 'start' | 'stop'; error: string; code?: string };
  serviceStarted: { service: string };
}
